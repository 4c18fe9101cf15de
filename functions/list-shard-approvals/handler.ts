/** Lambda: ListShardApprovals — the approvals one shard queued. */
import { ShardDescriptor } from '../../shared/app/contracts.ts';
import { listShardApprovals } from '../../shared/app/campaign-run.ts';
import { defineStep } from '../../shared/adapters/lambda/step-handler.ts';

/** The step: `createHandler(deps)` for injected ports, `handler` for Lambda. */
export const { createHandler, handler } = defineStep(ShardDescriptor.pick({ runId: true, shard: true }), listShardApprovals);
