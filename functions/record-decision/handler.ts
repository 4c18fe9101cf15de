/** Lambda: RecordDecision — records a rejection. */
import { DecidedApprovalInput } from '../../shared/app/contracts.ts';
import { recordDecision } from '../../shared/app/approval-outcomes.ts';
import { defineStep } from '../../shared/adapters/lambda/step-handler.ts';

/** The step: `createHandler(deps)` for injected ports, `handler` for Lambda. */
export const { createHandler, handler } = defineStep('record-decision', DecidedApprovalInput, recordDecision);
