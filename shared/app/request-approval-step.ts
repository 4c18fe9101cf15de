/**
 * RequestApproval as a workflow step: the approval use case (approvals.ts) over the step's ports,
 * with account and stakeholder names looked up for the email and the page.
 */
import type { RequestApprovalInput } from './contracts.ts';
import type { StepDeps } from './steps.ts';
import { accountNames, requestApproval } from './approval-request.ts';

/** Stores the token and emails the approver a signed link; the task then waits for a human. */
export async function requestApprovalStep(
  deps: StepDeps<'request-approval'>,
  input: RequestApprovalInput,
): Promise<{ approvalId: string; messageId: string }> {
  const approval = await deps.approvals.get(input.approvalId);
  const view = approval ? await accountNames(deps.accounts)(approval) : { accountName: '', stakeholderNames: [] };
  const { approvalId, messageId } = await requestApproval(
    { approvals: deps.approvals, audit: deps.audit, mailer: deps.mailer, idempotent: deps.idempotent, callback: deps.callback, from: deps.mailFrom, key: deps.signingKey, clock: deps.clock, baseUrl: deps.approvalBaseUrl },
    input,
    view,
  );
  return { approvalId, messageId };
}
