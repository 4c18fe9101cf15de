/** Lambda: ListShardApprovals — the next page of approvals one shard queued. */
import { ListShardApprovalsInput } from '../../shared/app/contracts.ts';
import { listShardApprovals } from '../../shared/app/campaign-run.ts';
import { defineStep } from '../../shared/adapters/lambda/step-handler.ts';

/** The step: `createHandler(deps)` for injected ports, `handler` for Lambda. */
export const { createHandler, handler } = defineStep('list-shard-approvals', ListShardApprovalsInput, listShardApprovals);
