/** Lambda: Act — executes autonomous actions (idempotent) and queues approval requests. */
import { ActInput } from '../../shared/app/contracts.ts';
import { actShard } from '../../shared/app/campaign-run.ts';
import { defineStep } from '../../shared/adapters/lambda/step-handler.ts';

/** The step: `createHandler(deps)` for injected ports, `handler` for Lambda. */
export const { createHandler, handler } = defineStep('act', ActInput, actShard);
