/** Lambda: Observe — folds new signals into a page of accounts. */
import { ShardInput } from '../../shared/app/contracts.ts';
import { observeShard } from '../../shared/app/campaign-run.ts';
import { defineStep } from '../../shared/adapters/lambda/step-handler.ts';

/** The step: `createHandler(deps)` for injected ports, `handler` for Lambda. */
export const { createHandler, handler } = defineStep('observe', ShardInput, observeShard);
