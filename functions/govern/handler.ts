/** Lambda: Govern — guardrails and HITL thresholds give each action a verdict. */
import { ShardInput, ObserveOutput, PlanOutput } from '../../shared/app/contracts.ts';
import { governShard } from '../../shared/app/campaign-run.ts';
import { defineStep } from '../../shared/adapters/lambda/step-handler.ts';

/** The step: `createHandler(deps)` for injected ports, `handler` for Lambda. */
export const { createHandler, handler } = defineStep('govern', ShardInput.extend({ observed: ObserveOutput, planned: PlanOutput }), governShard);
