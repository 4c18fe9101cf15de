/** Lambda: ActApproved — executes an approved action exactly as approved. */
import { DecidedApprovalInput } from '../../shared/app/contracts.ts';
import { actApproved } from '../../shared/app/approval-outcomes.ts';
import { defineStep } from '../../shared/adapters/lambda/step-handler.ts';

/** The step: `createHandler(deps)` for injected ports, `handler` for Lambda. */
export const { createHandler, handler } = defineStep('act-approved', DecidedApprovalInput, actApproved);
