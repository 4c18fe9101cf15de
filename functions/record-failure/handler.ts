/** Lambda: RecordFailure — a failed shard or approval branch, alerted in the audit and counted for the summary. */
import { RecordFailureInput } from '../../shared/app/contracts.ts';
import { recordFailure } from '../../shared/app/campaign-run.ts';
import { defineStep } from '../../shared/adapters/lambda/step-handler.ts';

/** The step: `createHandler(deps)` for injected ports, `handler` for Lambda. */
export const { createHandler, handler } = defineStep('record-failure', RecordFailureInput, recordFailure);
