/**
 * Answering approval links: opening one (GET/HEAD) only shows the confirmation page's content and
 * changes nothing; deciding (POST with the page's CSRF token) decides once and completes the
 * waiting task. Each use case returns what happened as a typed outcome and audits it; the HTTP
 * adapter (shared/adapters/http/approval-endpoint.ts) turns outcomes into status codes and pages.
 *
 * Threat model (see design.md, "Governance and approvals"): mail security scanners fetch every
 * link and may run its JavaScript, so opening never decides; a decision needs a POST that echoes
 * the page's CSRF token. A link is bound to one approver and one approval, expires, and decides at
 * most once (conditional write). The task token never leaves the server.
 */
import type { UnsubscribeDeps } from './unsubscribe.ts';
import { randomBytes } from 'node:crypto';
import type { Approval, AuditEvent, ReviewerKind } from '../domain/model.ts';
import type { ApprovalRepository, AuditLog, TaskCallback } from '../ports/index.ts';
import type { ApprovalDecision } from './contracts.ts';
import { ApprovalAlreadyDecidedError, TaskNotWaitingError } from '../domain/errors.ts';
import { csrfToken, parseLinkQuery, verifyCsrf, verifyLink, type LinkRejection } from '../domain/approval-link.ts';
import { REASON_MAX_LENGTH, type ApprovalNames } from './approval-views.ts';

/** What answering approval links needs: read and decide approvals, audit, complete the waiting task. */
export interface ApprovalDeps {
  readonly approvals: Pick<ApprovalRepository, 'get' | 'decide'>;
  readonly audit: Pick<AuditLog, 'append'>;
  readonly callback: TaskCallback;
  /** HMAC key for links and CSRF tokens (from Secrets Manager in AWS). */
  readonly key: Buffer;
  /** The current time as ISO; injected so tests and replays are deterministic. */
  readonly clock: () => string;
  /** Origin (and optional path prefix) the links point to, without a trailing slash. */
  readonly baseUrl: string;
  /** Lets the local demo's labelled simulated reviewer decide (never set in AWS). */
  readonly allowSimulatedReviewer?: boolean;
  /** Resolves account and stakeholder names for the page; ids are shown when absent or failing. */
  readonly names?: (approval: Approval) => Promise<ApprovalNames>;
  /** Source of CSRF nonces; random by default. */
  readonly nonce?: () => string;
  /** Where unexpected failures are logged (the visitor only ever sees a generic page). */
  readonly log?: (entry: Record<string, unknown>) => void;
  /**
   * Counts a request that proved no valid link (anyone on the internet can send those): added to
   * one counter per hour and reason, never appended one by one, so anonymous traffic cannot grow
   * storage or the audit trail.
   */
  readonly refused: (r: { readonly at: string; readonly reason: string }) => Promise<void>;
  /** The marketing emails' unsubscribe links, served beside the approval links. @default - not served (404) */
  readonly unsubscribe?: UnsubscribeDeps;
}

/** Where a request came from, for the audit of refused attempts. */
export interface Attempt {
  readonly method: string;
  readonly sourceIp: string | undefined;
  readonly userAgent: string | undefined;
  readonly approvalId: string | undefined;
}

/** A link as it arrived: the approval id of its path and its query. */
export interface LinkRequest {
  readonly approvalId: string | undefined;
  readonly query: Readonly<Record<string, string | undefined>>;
}

/** Audit stream for link attempts that cannot be tied to a known approval. */
export const APPROVALS_STREAM = 'APPROVALS';

const SYSTEM_ACTOR = 'system:approvals';
const UNVERIFIED_ACTOR = 'unverified-link';
const DECIDED: ReadonlySet<Approval['status']> = new Set(['approved', 'rejected', 'expired', 'skipped']);

type AuditInput = Omit<AuditEvent, 'seq' | 'prevHash' | 'hash'>;
const runStream = (runId: string): string => `RUN#${runId}`;

/** Why an attempt was refused (or, for `viewed`, recorded), as the audit names it. */
export type AttemptReason =
  | LinkRejection
  | 'method_not_allowed'
  | 'body_too_large'
  | 'unknown_approval'
  | 'approver_mismatch'
  | 'already_decided'
  | 'not_pending'
  | 'decision_in_get'
  | 'viewed'
  | 'cross_site_post'
  | 'csrf_missing'
  | 'csrf_invalid'
  | 'bad_decision';

/** Audits an attempt (a refusal, or the view of a valid link); nothing else changes. */
export async function recordAttempt(
  deps: Pick<ApprovalDeps, 'audit' | 'clock'>,
  attempt: Attempt,
  reason: AttemptReason,
  options: { approval?: Approval | undefined; actor?: string; kind?: 'approval_link_rejected' | 'approval_link_opened' } = {},
): Promise<void> {
  const { approval } = options;
  // Attempts that did not prove knowledge of a valid link go to one shared stream: anyone can
  // send them, and they must not be able to grow (or contend on) a run's audit chain.
  const event: AuditInput = {
    stream: approval !== undefined ? runStream(approval.runId) : APPROVALS_STREAM,
    at: deps.clock(),
    kind: options.kind ?? 'approval_link_rejected',
    actor: options.actor ?? UNVERIFIED_ACTOR,
    data: {
      reason,
      method: attempt.method,
      sourceIp: attempt.sourceIp ?? null,
      userAgent: attempt.userAgent ?? null,
      approvalId: approval?.id ?? attempt.approvalId ?? null,
    },
    ...(approval !== undefined
      ? { runId: approval.runId, accountId: approval.accountId, agentId: approval.agentId, charterHash: approval.charterHash }
      : {}),
  };
  await deps.audit.append([event]);
}

/** The content of the confirmation page: what is asked, of whom, and a fresh CSRF token per render. */
export interface Confirmation extends ApprovalNames {
  readonly approval: Approval;
  readonly approver: string;
  readonly expiresAt: string;
  /** A fresh CSRF token and nonce for the page's form. */
  readonly form: () => { csrf: string; nonce: string };
}

/** Why a link leads nowhere (audited). */
export type LinkOutcome =
  | { readonly kind: 'invalid_link'; readonly reason: Exclude<LinkRejection, 'expired'> }
  | { readonly kind: 'link_expired' }
  | { readonly kind: 'unknown_approval' }
  | { readonly kind: 'not_your_approval' }
  | { readonly kind: 'not_pending'; readonly approval: Approval }
  | { readonly kind: 'expired'; readonly approval: Approval };

/** What opening a link showed. */
export type OpenOutcome = LinkOutcome | { readonly kind: 'decided'; readonly approval: Approval } | { readonly kind: 'confirm'; readonly confirmation: Confirmation };

/** What a decision came to. */
export type DecideOutcome =
  | LinkOutcome
  | { readonly kind: 'already_decided'; readonly approval: Approval }
  | { readonly kind: 'form_expired'; readonly reason: 'cross_site_post' | 'csrf_missing' | 'csrf_invalid' }
  | { readonly kind: 'invalid_form'; readonly confirmation: Confirmation; readonly error: string; readonly reason?: string }
  | { readonly kind: 'too_late' }
  | { readonly kind: 'not_delivered' }
  | { readonly kind: 'decided'; readonly status: 'approved' | 'rejected'; readonly decidedBy: string; readonly decidedAt: string; readonly reviewerKind: ReviewerKind };

/** A decision as posted. */
export interface DecisionForm {
  readonly csrf: string | undefined;
  readonly nonce: string | undefined;
  readonly decision: string | undefined;
  readonly reason: string;
  /** `Sec-Fetch-Site` and `Origin` of the request (defence in depth on top of the CSRF token). */
  readonly fetchSite: string | undefined;
  readonly origin: string | undefined;
  /** The request says it is the local demo's simulated reviewer (honoured only where allowed). */
  readonly simulatedReviewer: boolean;
}

type Verified = { readonly approval: Approval; readonly approver: string; readonly exp: number; readonly expiresAt: string };

async function namesFor(deps: ApprovalDeps, approval: Approval): Promise<ApprovalNames> {
  const fallback: ApprovalNames = { accountName: approval.accountId, stakeholderNames: approval.action.stakeholderIds };
  if (deps.names === undefined) return fallback;
  try {
    return await deps.names(approval);
  } catch (err) {
    // Names only decorate the page; a failing lookup must not keep an approver from deciding.
    deps.log?.({ level: 'ERROR', message: 'approval page names unavailable', error: err instanceof Error ? err.name : typeof err, cause: err instanceof Error ? err.message : String(err) });
    return fallback;
  }
}

async function confirmationOf(deps: ApprovalDeps, v: Verified): Promise<Confirmation> {
  const names = await namesFor(deps, v.approval);
  const claims = { approvalId: v.approval.id, approver: v.approver, exp: v.exp };
  return {
    ...names,
    approval: v.approval,
    approver: v.approver,
    expiresAt: v.expiresAt,
    form: () => {
      const nonce = deps.nonce?.() ?? randomBytes(18).toString('base64url');
      return { csrf: csrfToken(claims, deps.key, nonce), nonce };
    },
  };
}

/**
 * The checks every link goes through: a valid signature, a known approval of this approver, still
 * pending and unexpired. Refusals of authentic links are audited, others counted; a decided
 * approval is returned as such.
 */
async function verified(
  deps: ApprovalDeps,
  link: LinkRequest,
  attempt: Attempt,
): Promise<LinkOutcome | { readonly kind: 'decided'; readonly approval: Approval; readonly approver: string } | { readonly kind: 'ok'; readonly v: Verified }> {
  const now = deps.clock();
  const checked = verifyLink(parseLinkQuery(link.approvalId, link.query), deps.key, now);
  if (!checked.ok) {
    if (checked.reason !== 'expired') {
      // Not an authentic link: counted, not audited one by one.
      await deps.refused({ at: now, reason: checked.reason });
      return { kind: 'invalid_link', reason: checked.reason };
    }
    // Only an authentic link can be reported as expired, so it may be filed under its run.
    const approval = link.approvalId !== undefined ? await deps.approvals.get(link.approvalId) : undefined;
    await recordAttempt(deps, attempt, 'expired', { approval });
    return { kind: 'link_expired' };
  }
  const approval = await deps.approvals.get(checked.approvalId);
  if (approval === undefined) {
    await recordAttempt(deps, attempt, 'unknown_approval', { actor: checked.approver });
    return { kind: 'unknown_approval' };
  }
  // A link is bound to one approver: a valid link of one approver cannot decide another's approval.
  if (approval.approver !== checked.approver) {
    await recordAttempt(deps, attempt, 'approver_mismatch', { approval, actor: checked.approver });
    return { kind: 'not_your_approval' };
  }
  if (DECIDED.has(approval.status)) return { kind: 'decided', approval, approver: checked.approver };
  if (approval.status !== 'pending' || approval.taskToken === undefined) {
    await recordAttempt(deps, attempt, 'not_pending', { approval, actor: checked.approver });
    return { kind: 'not_pending', approval };
  }
  if (approval.expiresAt !== undefined && Date.parse(now) >= Date.parse(approval.expiresAt)) {
    await recordAttempt(deps, attempt, 'expired', { approval, actor: checked.approver });
    return { kind: 'expired', approval };
  }
  return { kind: 'ok', v: { approval, approver: checked.approver, exp: checked.exp, expiresAt: checked.expiresAt } };
}

/**
 * Opening a link (GET/HEAD): the confirmation page's content, or why there is none. Decides
 * nothing; who (or what: a mail scanner) opened it is recorded, and a GET that carries a decision
 * (a scanner following an "Approve" URL, a form replayed as a link) is recorded as an attempt.
 */
export async function openApproval(deps: ApprovalDeps, link: LinkRequest, attempt: Attempt, carriesDecision: boolean): Promise<OpenOutcome> {
  const checked = await verified(deps, link, attempt);
  if (checked.kind === 'decided') return { kind: 'decided', approval: checked.approval };
  if (checked.kind !== 'ok') return checked;
  const { approval, approver } = checked.v;
  const confirmation = await confirmationOf(deps, checked.v);
  if (carriesDecision) await recordAttempt(deps, attempt, 'decision_in_get', { approval, actor: approver });
  else await recordAttempt(deps, attempt, 'viewed', { approval, actor: approver, kind: 'approval_link_opened' });
  return { kind: 'confirm', confirmation };
}

/** True when a POST comes from another site (defence in depth on top of the CSRF token). */
function crossSite(form: DecisionForm, baseUrl: string): boolean {
  if (form.fetchSite === 'cross-site' || form.fetchSite === 'same-site') return true;
  // With Referrer-Policy no-referrer, browsers send `Origin: null` for our own form posts.
  if (form.origin === undefined || form.origin === 'null') return false;
  try {
    return form.origin !== new URL(baseUrl).origin;
  } catch {
    return false;
  }
}

/**
 * Deciding (POST): checks the link, the origin and the CSRF token, records the decision once
 * (conditional write), completes the waiting task and audits what came of it.
 */
export async function decideApproval(deps: ApprovalDeps, link: LinkRequest, attempt: Attempt, form: DecisionForm): Promise<DecideOutcome> {
  const checked = await verified(deps, link, attempt);
  if (checked.kind === 'decided') {
    // Reopening a decided link just shows the outcome; a second decision is an attempt.
    await recordAttempt(deps, attempt, 'already_decided', { approval: checked.approval, actor: checked.approver });
    return { kind: 'already_decided', approval: checked.approval };
  }
  if (checked.kind !== 'ok') return checked;
  const { approval, approver, exp } = checked.v;
  const refuseForm = async (reason: 'cross_site_post' | 'csrf_missing' | 'csrf_invalid'): Promise<DecideOutcome> => {
    await recordAttempt(deps, attempt, reason, { approval, actor: approver });
    return { kind: 'form_expired', reason };
  };
  if (crossSite(form, deps.baseUrl)) return refuseForm('cross_site_post');
  if (form.csrf === undefined || form.nonce === undefined || form.csrf === '' || form.nonce === '') return refuseForm('csrf_missing');
  if (!verifyCsrf({ approvalId: approval.id, approver, exp }, deps.key, form.nonce, form.csrf)) return refuseForm('csrf_invalid');
  const reason = form.reason.trim();
  if (form.decision !== 'approve' && form.decision !== 'reject') {
    await recordAttempt(deps, attempt, 'bad_decision', { approval, actor: approver });
    return { kind: 'invalid_form', confirmation: await confirmationOf(deps, checked.v), error: 'Choose Approve or Reject.', reason: reason.slice(0, REASON_MAX_LENGTH) };
  }
  // Input mistakes of the approver themself: show the form again, no audit (nothing suspicious).
  if (reason.length > REASON_MAX_LENGTH) {
    return {
      kind: 'invalid_form',
      confirmation: await confirmationOf(deps, checked.v),
      error: `The reason is longer than ${REASON_MAX_LENGTH} characters.`,
      reason: reason.slice(0, REASON_MAX_LENGTH),
    };
  }
  if (form.decision === 'reject' && reason === '') {
    return { kind: 'invalid_form', confirmation: await confirmationOf(deps, checked.v), error: 'A reason is required to reject.' };
  }

  const status = form.decision === 'approve' ? 'approved' : 'rejected';
  const reviewerKind: ReviewerKind = deps.allowSimulatedReviewer === true && form.simulatedReviewer ? 'simulated' : 'human';
  const decidedAt = deps.clock();
  let decided: Approval;
  try {
    decided = await deps.approvals.decide(approval.id, { status, at: decidedAt, by: approver, reviewerKind, ...(reason !== '' ? { reason } : {}) });
  } catch (err) {
    if (!(err instanceof ApprovalAlreadyDecidedError)) throw err;
    // Lost the race to another POST (double click, second tab), or the repository judged the
    // approval expired at `decidedAt`: show what actually holds.
    const winner = (await deps.approvals.get(approval.id)) ?? approval;
    if (winner.status === 'pending') {
      await recordAttempt(deps, attempt, 'expired', { approval: winner, actor: approver });
      return { kind: 'expired', approval: winner };
    }
    await recordAttempt(deps, attempt, 'already_decided', { approval: winner, actor: approver });
    return { kind: 'already_decided', approval: winner };
  }

  const output: ApprovalDecision = { approvalId: approval.id, status };
  const common = {
    stream: runStream(approval.runId),
    runId: approval.runId,
    accountId: approval.accountId,
    agentId: approval.agentId,
    charterHash: approval.charterHash,
    actor: approver,
  };
  const decisionData = {
    approvalId: approval.id,
    actionId: approval.action.id,
    actionDigest: approval.actionDigest,
    status,
    reviewerKind,
    reason: reason !== '' ? reason : null,
    // When it was asked for: the decision's age is what the approvals-by-approver query measures.
    requestedAt: approval.createdAt,
    sourceIp: attempt.sourceIp ?? null,
  };
  try {
    await deps.callback.succeed(decided.taskToken ?? approval.taskToken ?? '', output);
  } catch (err) {
    if (err instanceof TaskNotWaitingError) {
      // The record says decided, but the workflow stopped waiting first (its timeout path ran):
      // the audit must make clear that this decision never took effect.
      await deps.audit.append([{ ...common, at: deps.clock(), kind: 'approval_expired', data: { ...decisionData, delivered: false, errorName: err.vendorName } }]);
      return { kind: 'too_late' };
    }
    await deps.audit.append([
      {
        ...common,
        actor: SYSTEM_ACTOR,
        at: deps.clock(),
        kind: 'alert',
        data: { ...decisionData, alert: 'approval_decision_not_delivered', errorName: err instanceof Error ? err.name : typeof err },
      },
    ]);
    return { kind: 'not_delivered' };
  }
  await deps.audit.append([{ ...common, at: deps.clock(), kind: 'approval_decided', data: { ...decisionData, delivered: true } }]);
  return { kind: 'decided', status, decidedBy: approver, decidedAt, reviewerKind };
}
