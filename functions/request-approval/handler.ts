/** Lambda: RequestApproval — stores the task token server-side and emails the approver a signed link. */
import { RequestApprovalInput } from '../../shared/app/contracts.ts';
import { requestApprovalStep } from '../../shared/app/request-approval-step.ts';
import { defineStep } from '../../shared/adapters/lambda/step-handler.ts';

/** The step: `createHandler(deps)` for injected ports, `handler` for Lambda. */
export const { createHandler, handler } = defineStep('request-approval', RequestApprovalInput, requestApprovalStep);
