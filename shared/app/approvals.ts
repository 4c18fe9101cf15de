/**
 * Approval use cases: emailing a signed link when a workflow starts waiting, and answering the
 * requests that link produces.
 *
 * Threat model (see design.md, "Governance and approvals"): mail security scanners fetch every
 * link and may run its JavaScript, so GET and HEAD only ever render; a decision needs a POST
 * that echoes the page's CSRF token. A link is bound to one approver and one approval, expires,
 * and decides at most once (conditional write). The task token never leaves the server.
 */
import { randomBytes } from 'node:crypto';
import type { Approval, AuditEvent, ReviewerKind } from '../domain/model.ts';
import type { AccountRepository, ApprovalRepository, AuditLog, Mailer, TaskCallback } from '../ports/index.ts';
import type { ApprovalDecision, RequestApprovalInput } from './contracts.ts';
import {
  ApprovalAlreadyDecidedError,
  ApprovalNotFoundError,
  ErrorName,
  InvalidInputError,
  TaskNotWaitingError,
} from '../domain/errors.ts';
import {
  csrfToken,
  linkUrl,
  parseLinkQuery,
  signLink,
  verifyCsrf,
  verifyLink,
  type LinkRejection,
} from '../domain/approval-link.ts';
import {
  REASON_MAX_LENGTH,
  renderAlreadyDecidedPage,
  renderApprovalEmail,
  renderApprovalPage,
  renderDecidedPage,
  renderErrorPage,
  renderExpiredPage,
  renderFormExpiredPage,
  renderInvalidLinkPage,
  renderNotYourApprovalPage,
  renderTooLatePage,
  type ApprovalNames,
} from './approval-views.ts';

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
}

/** What mailing an approval link needs: mark the approval pending, email the approver, audit. */
export interface ApprovalRequestDeps {
  readonly approvals: Pick<ApprovalRepository, 'get' | 'markPending'>;
  readonly audit: Pick<AuditLog, 'append' | 'readStream'>;
  readonly mailer: Mailer;
  /** Sender address of approval emails. */
  readonly from: string;
  /** HMAC key for links (from Secrets Manager in AWS). */
  readonly key: Buffer;
  /** The current time as ISO. */
  readonly clock: () => string;
  /** Origin (and optional path prefix) the links point to, without a trailing slash. */
  readonly baseUrl: string;
}

/** An HTTP request as the approval endpoint sees it (already decoded from the Lambda event). */
export interface ApprovalHttpRequest {
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string | undefined>>;
  readonly headers: Readonly<Record<string, string | undefined>>;
  /** application/x-www-form-urlencoded for POST. */
  readonly body?: string | undefined;
  readonly sourceIp?: string | undefined;
}

/** An HTTP response of the approval endpoint. */
export interface ApprovalHttpResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** Headers on every approval response: never cached, never framed, no script, no referrer leak. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Type': 'text/html; charset=utf-8',
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'Strict-Transport-Security': 'max-age=63072000',
};

/** Methods the approval endpoint answers. */
export const ALLOWED_METHODS = 'GET, HEAD, POST';

/** Largest request body the endpoint reads (the form is a few hundred bytes). */
export const MAX_BODY_BYTES = 16 * 1024;

/** Audit stream for link attempts that cannot be tied to a known approval. */
export const APPROVALS_STREAM = 'APPROVALS';

/** The request header that marks the local demo's simulated reviewer. */
export const SIMULATED_REVIEWER_HEADER = 'x-amk-reviewer';

const SYSTEM_ACTOR = 'system:approvals';
const UNVERIFIED_ACTOR = 'unverified-link';
const DECIDED: ReadonlySet<Approval['status']> = new Set(['approved', 'rejected', 'expired', 'skipped']);

type AuditInput = Omit<AuditEvent, 'seq' | 'prevHash' | 'hash'>;

const runStream = (runId: string): string => `RUN#${runId}`;

function addSeconds(iso: string, seconds: number): string {
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms)) throw new InvalidInputError(`clock returned a non-ISO time: ${iso}`);
  return new Date(ms + seconds * 1000).toISOString();
}

function approvalLink(deps: Pick<ApprovalRequestDeps, 'baseUrl' | 'key'>, approval: Approval, expiresAt: string): string {
  return linkUrl(deps.baseUrl, signLink({ approvalId: approval.id, approver: approval.approver, expiresAt }, deps.key));
}

/** Finds the audit record of an email already sent for this pending approval (a retried task). */
async function earlierRequest(deps: Pick<ApprovalRequestDeps, 'audit'>, approval: Approval): Promise<{ messageId: string } | undefined> {
  const events = await deps.audit.readStream(runStream(approval.runId));
  for (const event of events) {
    const data = event.data;
    if (
      event.kind === 'approval_requested' &&
      data['approvalId'] === approval.id &&
      data['expiresAt'] === approval.expiresAt &&
      typeof data['messageId'] === 'string'
    ) {
      return { messageId: data['messageId'] };
    }
  }
  return undefined;
}

/**
 * Stores the task token with the link expiry, emails the approver a signed link, and audits the
 * request. A retried task with the same token does not send a second email.
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
  if (existing.status === 'pending' && existing.taskToken === input.taskToken && existing.expiresAt !== undefined) {
    // Same token: a retry of this very task. The audit event is written after the email, so
    // its presence (not the pending status) proves the email went out.
    const earlier = await earlierRequest(deps, existing);
    if (earlier !== undefined) {
      return { approvalId: existing.id, link: approvalLink(deps, existing, existing.expiresAt), messageId: earlier.messageId };
    }
    approval = existing;
  } else if (DECIDED.has(existing.status)) {
    throw new ApprovalAlreadyDecidedError(`approval ${input.approvalId} is already ${existing.status}`);
  } else {
    approval = await deps.approvals.markPending(input.approvalId, input.taskToken, addSeconds(deps.clock(), input.timeoutSeconds));
  }

  const expiresAt = approval.expiresAt;
  if (expiresAt === undefined) throw new InvalidInputError(`approval ${approval.id} was marked pending without an expiry`);
  const link = approvalLink(deps, approval, expiresAt);
  const email = renderApprovalEmail(approval, link, view.accountName, view.stakeholderNames);
  const { messageId } = await deps.mailer.send({ to: [approval.approver], from: deps.from, ...email });

  await deps.audit.append([
    {
      stream: runStream(approval.runId),
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

/** Where a request came from, for the audit of rejected attempts. */
interface Attempt {
  readonly method: string;
  readonly sourceIp: string | undefined;
  readonly userAgent: string | undefined;
  readonly approvalId: string | undefined;
}

function lowerCaseKeys(headers: Readonly<Record<string, string | undefined>>): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(headers)) out[name.toLowerCase()] = value;
  return out;
}

function clip(value: string | undefined, max: number): string | undefined {
  return value === undefined ? undefined : value.slice(0, max);
}

function respond(method: string, status: number, body: string, extra: Record<string, string> = {}): ApprovalHttpResponse {
  return { status, headers: { ...SECURITY_HEADERS, ...extra }, body: method === 'HEAD' ? '' : body };
}

/** Audits a refused attempt and answers with its page; nothing else changes. */
async function refuse(
  deps: ApprovalDeps,
  attempt: Attempt,
  outcome: {
    status: number;
    page: string;
    reason: string;
    approval?: Approval | undefined;
    actor?: string;
    extraHeaders?: Record<string, string>;
    /** A view of a valid link is recorded too, as `approval_link_opened`; everything else is a refusal. */
    kind?: 'approval_link_rejected' | 'approval_link_opened';
  },
): Promise<ApprovalHttpResponse> {
  const { approval } = outcome;
  // Attempts that did not prove knowledge of a valid link go to one shared stream: anyone can
  // send them, and they must not be able to grow (or contend on) a run's audit chain.
  const event: AuditInput = {
    stream: approval !== undefined ? runStream(approval.runId) : APPROVALS_STREAM,
    at: deps.clock(),
    kind: outcome.kind ?? 'approval_link_rejected',
    actor: outcome.actor ?? UNVERIFIED_ACTOR,
    data: {
      reason: outcome.reason,
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
  return respond(attempt.method, outcome.status, outcome.page, outcome.extraHeaders);
}

async function namesFor(deps: ApprovalDeps, approval: Approval): Promise<ApprovalNames> {
  const fallback: ApprovalNames = { accountName: approval.accountId, stakeholderNames: approval.action.stakeholderIds };
  if (deps.names === undefined) return fallback;
  try {
    return await deps.names(approval);
  } catch (err) {
    // Names only decorate the page; a failing lookup must not keep an approver from deciding.
    deps.log?.({ level: 'ERROR', message: 'approval page names unavailable', error: errorName(err), cause: err instanceof Error ? err.message : String(err) });
    return fallback;
  }
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

function newNonce(deps: ApprovalDeps): string {
  return deps.nonce?.() ?? randomBytes(18).toString('base64url');
}

function errorName(err: unknown): string {
  return err instanceof Error ? err.name : typeof err;
}

/** True when a POST comes from another site (defence in depth on top of the CSRF token). */
function crossSite(headers: Record<string, string | undefined>, baseUrl: string): boolean {
  const fetchSite = headers['sec-fetch-site'];
  if (fetchSite === 'cross-site' || fetchSite === 'same-site') return true;
  const origin = headers['origin'];
  // With Referrer-Policy no-referrer, browsers send `Origin: null` for our own form posts.
  if (origin === undefined || origin === 'null') return false;
  try {
    return origin !== new URL(baseUrl).origin;
  } catch {
    return false;
  }
}

/**
 * Answers a request to an approval link: GET/HEAD render the confirmation page and never change
 * state; a POST with the page's CSRF token decides once and completes the waiting task.
 */
export async function handleApprovalRequest(deps: ApprovalDeps, req: ApprovalHttpRequest): Promise<ApprovalHttpResponse> {
  const method = req.method.toUpperCase();
  try {
    return await route(deps, req, method);
  } catch (err) {
    // The cause (e.g. which grant was missing) goes to the function's own log only.
    deps.log?.({ level: 'ERROR', message: 'approval request failed', error: errorName(err), cause: err instanceof Error ? err.message : String(err), path: req.path, method });
    // No details: the page is public and the error may name tables or tokens.
    return respond(method, 500, renderErrorPage());
  }
}

async function route(deps: ApprovalDeps, req: ApprovalHttpRequest, method: string): Promise<ApprovalHttpResponse> {
  const headers = lowerCaseKeys(req.headers);
  const match = /^\/approvals\/([^/]+)\/?$/.exec(req.path);
  const segment = match?.[1];
  if (segment === undefined) {
    // Not an approval link (favicon, robots.txt, probes): nothing to audit.
    return respond(method, 404, renderErrorPage('Not found', 'There is no page at this address.'));
  }
  let id: string | undefined;
  try {
    id = decodeURIComponent(segment);
  } catch {
    id = undefined;
  }
  const attempt: Attempt = {
    method: clip(method, 16) ?? method,
    sourceIp: req.sourceIp,
    userAgent: clip(headers['user-agent'], 256),
    approvalId: clip(id ?? segment, 256),
  };

  if (method !== 'GET' && method !== 'HEAD' && method !== 'POST') {
    return refuse(deps, attempt, {
      status: 405,
      page: renderErrorPage('Method not allowed', 'Open the link from the email in a browser.'),
      reason: 'method_not_allowed',
      extraHeaders: { Allow: ALLOWED_METHODS },
    });
  }
  if (method === 'POST' && req.body !== undefined && Buffer.byteLength(req.body, 'utf8') > MAX_BODY_BYTES) {
    return refuse(deps, attempt, {
      status: 413,
      page: renderErrorPage('Request too large', 'The submitted form was too large. Nothing was changed.'),
      reason: 'body_too_large',
    });
  }

  const now = deps.clock();
  const link = verifyLink(parseLinkQuery(id, req.query), deps.key, now);
  if (!link.ok) return refuseLink(deps, attempt, link.reason, id);

  const approval = await deps.approvals.get(link.approvalId);
  if (approval === undefined) {
    return refuse(deps, attempt, { status: 404, page: renderInvalidLinkPage(), reason: 'unknown_approval', actor: link.approver });
  }
  // A link is bound to one approver: a valid link of one approver cannot decide another's approval.
  if (approval.approver !== link.approver) {
    return refuse(deps, attempt, {
      status: 403,
      page: renderNotYourApprovalPage(),
      reason: 'approver_mismatch',
      approval,
      actor: link.approver,
    });
  }

  const safe = method === 'GET' || method === 'HEAD';
  if (DECIDED.has(approval.status)) {
    const page = renderAlreadyDecidedPage({
      status: approval.status,
      decidedBy: approval.decidedBy,
      decidedAt: approval.decidedAt,
      reviewerKind: approval.reviewerKind,
    });
    // Reopening a decided link just shows the outcome; only a second decision is an attempt.
    if (safe) return respond(method, 200, page);
    return refuse(deps, attempt, { status: 409, page, reason: 'already_decided', approval, actor: link.approver });
  }
  if (approval.status !== 'pending' || approval.taskToken === undefined) {
    return refuse(deps, attempt, {
      status: 409,
      page: renderAlreadyDecidedPage({ status: approval.status }),
      reason: 'not_pending',
      approval,
      actor: link.approver,
    });
  }
  if (approval.expiresAt !== undefined && Date.parse(now) >= Date.parse(approval.expiresAt)) {
    return refuse(deps, attempt, { status: 410, page: renderExpiredPage(), reason: 'expired', approval, actor: link.approver });
  }

  const names = await namesFor(deps, approval);
  const claims = { approvalId: approval.id, approver: link.approver, exp: link.exp };
  const page = (extra: { error?: string; reason?: string } = {}): string => {
    const nonce = newNonce(deps);
    return renderApprovalPage({
      approval,
      ...names,
      approver: link.approver,
      expiresAt: link.expiresAt,
      csrf: csrfToken(claims, deps.key, nonce),
      nonce,
      ...extra,
    });
  };

  if (safe) {
    // A GET or HEAD that carries a decision (a scanner following an "Approve" or "Reject" URL,
    // or a form replayed as a link) decides nothing, but it is an attempt to decide: record it.
    if (req.query['decision'] !== undefined) {
      return refuse(deps, attempt, { status: 200, page: page(), reason: 'decision_in_get', approval, actor: link.approver });
    }
    // Opening the page decides nothing, but who (or what: a mail scanner) opened it is recorded.
    return refuse(deps, attempt, { status: 200, page: page(), reason: 'viewed', approval, actor: link.approver, kind: 'approval_link_opened' });
  }

  // POST: the only way to decide.
  if (crossSite(headers, deps.baseUrl)) {
    return refuse(deps, attempt, { status: 403, page: renderFormExpiredPage(), reason: 'cross_site_post', approval, actor: link.approver });
  }
  const form = new URLSearchParams(req.body ?? '');
  const csrf = form.get('csrf') ?? undefined;
  const nonce = form.get('nonce') ?? undefined;
  if (csrf === undefined || nonce === undefined || csrf === '' || nonce === '') {
    return refuse(deps, attempt, { status: 403, page: renderFormExpiredPage(), reason: 'csrf_missing', approval, actor: link.approver });
  }
  if (!verifyCsrf(claims, deps.key, nonce, csrf)) {
    return refuse(deps, attempt, { status: 403, page: renderFormExpiredPage(), reason: 'csrf_invalid', approval, actor: link.approver });
  }
  const choice = form.get('decision');
  const reason = (form.get('reason') ?? '').trim();
  if (choice !== 'approve' && choice !== 'reject') {
    return refuse(deps, attempt, {
      status: 400,
      page: page({ error: 'Choose Approve or Reject.', reason: reason.slice(0, REASON_MAX_LENGTH) }),
      reason: 'bad_decision',
      approval,
      actor: link.approver,
    });
  }
  // Input mistakes of the approver themself: re-show the form, no audit (nothing suspicious).
  if (reason.length > REASON_MAX_LENGTH) {
    return respond(method, 400, page({ error: `The reason is longer than ${REASON_MAX_LENGTH} characters.`, reason: reason.slice(0, REASON_MAX_LENGTH) }));
  }
  if (choice === 'reject' && reason === '') {
    return respond(method, 400, page({ error: 'A reason is required to reject.' }));
  }

  const status = choice === 'approve' ? 'approved' : 'rejected';
  const reviewerKind: ReviewerKind =
    deps.allowSimulatedReviewer === true && headers[SIMULATED_REVIEWER_HEADER] === 'simulated' ? 'simulated' : 'human';
  const decidedAt = deps.clock();

  let decided: Approval;
  try {
    decided = await deps.approvals.decide(approval.id, {
      status,
      at: decidedAt,
      by: link.approver,
      reviewerKind,
      ...(reason !== '' ? { reason } : {}),
    });
  } catch (err) {
    if (errorName(err) !== ErrorName.ApprovalAlreadyDecided) throw err;
    // Lost the race to another POST (double click, second tab), or the repository judged the
    // approval expired at `decidedAt`: show what actually holds.
    const winner = (await deps.approvals.get(approval.id)) ?? approval;
    if (winner.status === 'pending') {
      return refuse(deps, attempt, { status: 410, page: renderExpiredPage(), reason: 'expired', approval: winner, actor: link.approver });
    }
    return refuse(deps, attempt, {
      status: 409,
      page: renderAlreadyDecidedPage({
        status: winner.status,
        decidedBy: winner.decidedBy,
        decidedAt: winner.decidedAt,
        reviewerKind: winner.reviewerKind,
      }),
      reason: 'already_decided',
      approval: winner,
      actor: link.approver,
    });
  }

  const output: ApprovalDecision = { approvalId: approval.id, status };
  const common = {
    stream: runStream(approval.runId),
    runId: approval.runId,
    accountId: approval.accountId,
    agentId: approval.agentId,
    charterHash: approval.charterHash,
    actor: link.approver,
  };
  const decisionData = {
    approvalId: approval.id,
    actionId: approval.action.id,
    actionDigest: approval.actionDigest,
    status,
    reviewerKind,
    reason: reason !== '' ? reason : null,
    sourceIp: attempt.sourceIp ?? null,
  };
  try {
    await deps.callback.succeed(decided.taskToken ?? approval.taskToken, output);
  } catch (err) {
    if (err instanceof TaskNotWaitingError) {
      const name = err.vendorName;
      // The record says decided, but the workflow stopped waiting first (its timeout path ran):
      // the audit must make clear that this decision never took effect.
      await deps.audit.append([
        { ...common, at: deps.clock(), kind: 'approval_expired', data: { ...decisionData, delivered: false, errorName: name } },
      ]);
      return respond(method, 409, renderTooLatePage());
    }
    await deps.audit.append([
      {
        ...common,
        actor: SYSTEM_ACTOR,
        at: deps.clock(),
        kind: 'alert',
        data: { ...decisionData, alert: 'approval_decision_not_delivered', errorName: errorName(err) },
      },
    ]);
    return respond(
      method,
      502,
      renderErrorPage(
        'Decision recorded, workflow not reached',
        'Your decision was recorded, but the workflow could not be notified. The problem was logged for the campaign owner; if it is not resolved before the approval expires, nothing will run.',
      ),
    );
  }

  await deps.audit.append([{ ...common, at: deps.clock(), kind: 'approval_decided', data: { ...decisionData, delivered: true } }]);
  return respond(method, 200, renderDecidedPage({ status, decidedBy: link.approver, decidedAt, reviewerKind }));
}

async function refuseLink(
  deps: ApprovalDeps,
  attempt: Attempt,
  reason: LinkRejection,
  id: string | undefined,
): Promise<ApprovalHttpResponse> {
  if (reason !== 'expired') {
    const status = reason === 'malformed' ? 400 : 403;
    return refuse(deps, attempt, { status, page: renderInvalidLinkPage(), reason });
  }
  // Only an authentic link can be reported as expired, so it may be filed under its run.
  const approval = id !== undefined ? await deps.approvals.get(id) : undefined;
  return refuse(deps, attempt, { status: 410, page: renderExpiredPage(), reason, approval });
}
