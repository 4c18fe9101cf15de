/** Lambda: Record — audit, memory and run counters for a page. */
import { RecordInput } from '../../shared/app/contracts.ts';
import { recordShard } from '../../shared/app/campaign-run.ts';
import { defineStep } from '../../shared/adapters/lambda/step-handler.ts';

/** The step: `createHandler(deps)` for injected ports, `handler` for Lambda. */
export const { createHandler, handler } = defineStep('record', RecordInput, recordShard);
