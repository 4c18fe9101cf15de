/**
 * RequestApproval as a workflow step: the approval use cases (approvals.ts) over the
 * application's ports, with account and stakeholder names looked up for the email and the page.
 */
import type { AppDeps } from './deps.ts';
import type { RequestApprovalInput } from './contracts.ts';
import { requestApproval, type ApprovalDeps } from './approvals.ts';
import type { Approval } from '../domain/model.ts';

/** Account and stakeholder names of an approval (ids when unknown). */
async function namesOf(deps: Pick<AppDeps, 'accounts'>, approval: Approval): Promise<{ accountName: string; stakeholderNames: string[] }> {
  const [account, stakeholders] = await Promise.all([deps.accounts.get(approval.accountId), deps.accounts.listStakeholders(approval.accountId)]);
  const byId = new Map(stakeholders.map((s) => [s.id, `${s.name} (${s.title || s.role})`]));
  return { accountName: account?.name ?? approval.accountId, stakeholderNames: approval.action.stakeholderIds.map((id) => byId.get(id) ?? id) };
}

/** The approval ports carved out of the application's ports. */
export function approvalDepsOf(deps: AppDeps): ApprovalDeps {
  return {
    approvals: deps.approvals,
    audit: deps.audit,
    mailer: deps.mailer,
    callback: deps.callback,
    key: deps.signingKey,
    clock: deps.clock,
    baseUrl: deps.approvalBaseUrl,
    from: deps.mailFrom,
    allowSimulatedReviewer: deps.allowSimulatedReviewer,
    names: (approval) => namesOf(deps, approval),
  };
}

/** Stores the token and emails the approver a signed link; the task then waits for a human. */
export async function requestApprovalStep(deps: AppDeps, input: RequestApprovalInput): Promise<{ approvalId: string; messageId: string }> {
  const approval = await deps.approvals.get(input.approvalId);
  const view = approval ? await namesOf(deps, approval) : { accountName: '', stakeholderNames: [] };
  const { approvalId, messageId } = await requestApproval(approvalDepsOf(deps), input, view);
  return { approvalId, messageId };
}
