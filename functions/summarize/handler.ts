/** Lambda: Summarize — the run's figures, recorded and mailed to the owner. */
import { SummarizeInput } from '../../shared/app/contracts.ts';
import { summarizeRun } from '../../shared/app/campaign-run.ts';
import { defineStep } from '../../shared/adapters/lambda/step-handler.ts';

/** The step: `createHandler(deps)` for injected ports, `handler` for Lambda. */
export const { createHandler, handler } = defineStep('summarize', SummarizeInput, summarizeRun);
