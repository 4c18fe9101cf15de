/** Lambda: ApprovalTimedOut — applies the charter's escalation rule. */
import { ApprovalTimedOutInput } from '../../shared/app/contracts.ts';
import { approvalTimedOut } from '../../shared/app/approval-outcomes.ts';
import { defineStep } from '../../shared/adapters/lambda/step-handler.ts';

/** The step: `createHandler(deps)` for injected ports, `handler` for Lambda. */
export const { createHandler, handler } = defineStep('approval-timed-out', ApprovalTimedOutInput, approvalTimedOut);
