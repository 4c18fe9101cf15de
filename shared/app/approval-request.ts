/**
 * Requesting an approval: when a workflow starts waiting, store the task token server-side with the
 * link expiry, email the approver a signed link (never the token), and audit the request.
 */
import type { Approval } from '../domain/model.ts';
import type { AccountRepository, ApprovalRepository, AuditLog, IdempotentRunner, Mailer, TaskCallback } from '../ports/index.ts';
import { EffectKeys } from '../domain/effects.ts';
import type { RequestApprovalInput } from './contracts.ts';
import { ApprovalAlreadyDecidedError, ApprovalNotFoundError, InvalidInputError, TaskNotWaitingError } from '../domain/errors.ts';
import { linkUrl, signLink } from '../domain/approval-link.ts';
import { renderApprovalEmail, type ApprovalNames } from './approval-views.ts';

/** What mailing an approval link needs: mark the approval pending, email the approver, audit. */
export interface ApprovalRequestDeps {
  readonly approvals: Pick<ApprovalRepository, 'get' | 'markPending'>;
  readonly audit: Pick<AuditLog, 'appendOnce'>;
  readonly mailer: Mailer;
  /** Keeps the email to one per request (approval and link expiry), however often the task is delivered. */
  readonly idempotent: IdempotentRunner;
  /** Completes the waiting task at once when its approval was decided while no task waited for it. */
  readonly callback: TaskCallback;
  /** Sender address of approval emails. */
  readonly from: string;
  /** HMAC key for links (from Secrets Manager in AWS). */
  readonly key: Buffer;
  /** The current time as ISO. */
  readonly clock: () => string;
  /** Origin (and optional path prefix) the links point to, without a trailing slash. */
  readonly baseUrl: string;
}

const SYSTEM_ACTOR = 'system:approvals';
const DECIDED: ReadonlySet<Approval['status']> = new Set(['approved', 'rejected', 'expired', 'skipped']);
const runStream = (runId: string): string => `RUN#${runId}`;

function addSeconds(iso: string, seconds: number): string {
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms)) throw new InvalidInputError(`clock returned a non-ISO time: ${iso}`);
  return new Date(ms + seconds * 1000).toISOString();
}

function approvalLink(deps: Pick<ApprovalRequestDeps, 'baseUrl' | 'key'>, approval: Approval, expiresAt: string): string {
  return linkUrl(deps.baseUrl, signLink({ approvalId: approval.id, approver: approval.approver, expiresAt }, deps.key));
}

/**
 * Stores the task token with the link expiry, emails the approver a signed link, and audits the
 * request. A retried task with the same token sends no second email and records no second request.
 */
export async function requestApproval(
  deps: ApprovalRequestDeps,
  input: RequestApprovalInput,
  view: { readonly accountName: string; readonly stakeholderNames: readonly string[] },
): Promise<{ approvalId: string; link: string; messageId: string }> {
  const existing = await deps.approvals.get(input.approvalId);
  if (existing === undefined) throw new ApprovalNotFoundError(`approval ${input.approvalId} does not exist`);
  if (existing.runId !== input.runId) {
    throw new InvalidInputError(`approval ${input.approvalId} belongs to run ${existing.runId}, not ${input.runId}`);
  }
  if (!/^[^\s@<>]+@[^\s@<>]+$/.test(existing.approver)) {
    throw new InvalidInputError(`approval ${input.approvalId} has no approver email address`);
  }

  let approval: Approval;
  if (existing.taskToken === input.taskToken && existing.expiresAt !== undefined && (existing.status === 'pending' || DECIDED.has(existing.status))) {
    // Same token: a retry of this very task (perhaps after the approver already answered the
    // link it mailed). The email and its audit event are keyed by the request, so what already
    // went out is not sent or recorded again.
    approval = existing;
  } else if (existing.status === 'approved' || existing.status === 'rejected') {
    // Decided while no task waited for it (the run was down, or this is its retry with a new
    // token): the decision stands and goes to this task at once; nobody is asked again.
    try {
      await deps.callback.succeed(input.taskToken, { approvalId: existing.id, status: existing.status });
    } catch (err) {
      // A second delivery of this very task: the first one completed it already.
      if (!(err instanceof TaskNotWaitingError)) throw err;
    }
    await deps.audit.appendOnce([
      {
        stream: runStream(existing.runId),
        key: EffectKeys.approval(existing.id, 'decision-resumed'),
        at: deps.clock(),
        kind: 'approval_decided',
        runId: existing.runId,
        accountId: existing.accountId,
        agentId: existing.agentId,
        actor: SYSTEM_ACTOR,
        charterHash: existing.charterHash,
        data: { approvalId: existing.id, actionId: existing.action.id, status: existing.status, decidedBy: existing.decidedBy ?? null, decidedAt: existing.decidedAt ?? null, resumed: true },
      },
    ]);
    return { approvalId: existing.id, link: '', messageId: '' };
  } else if (DECIDED.has(existing.status)) {
    throw new ApprovalAlreadyDecidedError(`approval ${input.approvalId} is already ${existing.status}`);
  } else {
    // Queued, or pending on a task that no longer exists (a retried or resumed request): wait with
    // this task's token, and mail a link with its expiry.
    approval = await deps.approvals.markPending(input.approvalId, input.taskToken, addSeconds(deps.clock(), input.timeoutSeconds));
  }

  const expiresAt = approval.expiresAt;
  if (expiresAt === undefined) throw new InvalidInputError(`approval ${approval.id} was marked pending without an expiry`);
  const link = approvalLink(deps, approval, expiresAt);
  const email = renderApprovalEmail(approval, link, view.accountName, view.stakeholderNames);
  const once = EffectKeys.approval(approval.id, `requested#${expiresAt}`);
  const { value: sent } = await deps.idempotent(once, () => deps.mailer.send({ to: [approval.approver], from: deps.from, ...email }));
  const { messageId } = sent;

  await deps.audit.appendOnce([
    {
      stream: runStream(approval.runId),
      key: once,
      at: deps.clock(),
      kind: 'approval_requested',
      runId: approval.runId,
      accountId: approval.accountId,
      agentId: approval.agentId,
      actor: SYSTEM_ACTOR,
      charterHash: approval.charterHash,
      // Never the task token: the audit trail is widely readable, the token completes the task.
      data: {
        approvalId: approval.id,
        actionId: approval.action.id,
        approver: approval.approver,
        rules: approval.rules,
        actionDigest: approval.actionDigest,
        expiresAt,
        messageId,
      },
    },
  ]);
  return { approvalId: approval.id, link, messageId };
}

/** Resolves page names from the accounts table: the account's name and the action's stakeholders. */
export function accountNames(accounts: Pick<AccountRepository, 'get' | 'listStakeholders'>): (approval: Approval) => Promise<ApprovalNames> {
  return async (approval) => {
    const [state, stakeholders] = await Promise.all([accounts.get(approval.accountId), accounts.listStakeholders(approval.accountId)]);
    const byId = new Map(stakeholders.map((s) => [s.id, s]));
    return {
      accountName: state?.name ?? approval.accountId,
      stakeholderNames: approval.action.stakeholderIds.map((id) => {
        const s = byId.get(id);
        if (s === undefined) return id;
        return s.title !== '' ? `${s.name} (${s.title})` : s.name;
      }),
    };
  };
}
