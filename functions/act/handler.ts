/** Lambda: Act — executes autonomous actions (idempotent) and queues approvals. */
import { ShardInput, ObserveOutput, PlanOutput, GovernOutput } from '../../shared/app/contracts.ts';
import { actShard } from '../../shared/app/campaign-run.ts';
import { defineStep } from '../../shared/adapters/lambda/step-handler.ts';

/** The step: `createHandler(deps)` for injected ports, `handler` for Lambda. */
export const { createHandler, handler } = defineStep('act', ShardInput.extend({ observed: ObserveOutput, planned: PlanOutput, governed: GovernOutput }), actShard);
