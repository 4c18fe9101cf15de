/** Lambda: Plan — the agents plan each observed account. */
import { ShardInput, ObserveOutput } from '../../shared/app/contracts.ts';
import { planShard } from '../../shared/app/campaign-run.ts';
import { defineStep } from '../../shared/adapters/lambda/step-handler.ts';

/** The step: `createHandler(deps)` for injected ports, `handler` for Lambda. */
export const { createHandler, handler } = defineStep('plan', ShardInput.extend({ observed: ObserveOutput }), planShard);
