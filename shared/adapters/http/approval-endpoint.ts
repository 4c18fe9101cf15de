/**
 * The approval endpoint over HTTP: routing, methods, body limits, security headers and status
 * codes. It turns a request into one of the approval use cases (shared/app/approval-decision.ts)
 * and the outcome into a page; it decides nothing itself.
 */
import {
  decideApproval,
  openApproval,
  recordAttempt,
  type ApprovalDeps,
  type Attempt,
  type Confirmation,
  type DecideOutcome,
  type OpenOutcome,
} from '../../app/approval-decision.ts';
import {
  renderAlreadyDecidedPage,
  renderApprovalPage,
  renderDecidedPage,
  renderErrorPage,
  renderExpiredPage,
  renderFormExpiredPage,
  renderInvalidLinkPage,
  renderNotYourApprovalPage,
  renderTooLatePage,
  renderInvalidUnsubscribePage,
  renderUnsubscribePage,
  renderUnsubscribedPage,
} from '../../app/approval-views.ts';
import { unsubscribe } from '../../app/unsubscribe.ts';
import { UNSUBSCRIBE_PATH, verifyUnsubscribeToken } from '../../domain/unsubscribe.ts';
import type { Approval } from '../../domain/model.ts';

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

/** The request header that marks the local demo's simulated reviewer. */
export const SIMULATED_REVIEWER_HEADER = 'x-amk-reviewer';

function lowerCaseKeys(headers: Readonly<Record<string, string | undefined>>): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(headers)) out[name.toLowerCase()] = value;
  return out;
}

const clip = (value: string | undefined, max: number): string | undefined => (value === undefined ? undefined : value.slice(0, max));

function respond(method: string, status: number, body: string, extra: Record<string, string> = {}): ApprovalHttpResponse {
  return { status, headers: { ...SECURITY_HEADERS, ...extra }, body: method === 'HEAD' ? '' : body };
}

const errorName = (err: unknown): string => (err instanceof Error ? err.name : typeof err);

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

/**
 * An unsubscribe link: GET/HEAD show the one button (a scanner that opens links unsubscribes no
 * one); a POST — the mailbox provider's one-click `List-Unsubscribe=One-Click`, or the button —
 * opts the person out at once. No CSRF token: RFC 8058's POST comes without one, and all a forged
 * POST could do is what the link's owner can do anyway.
 */
async function routeUnsubscribe(deps: ApprovalDeps, req: ApprovalHttpRequest, method: string, token: string): Promise<ApprovalHttpResponse> {
  const unsubscribeDeps = deps.unsubscribe;
  if (unsubscribeDeps === undefined) return respond(method, 404, renderErrorPage('Not found', 'There is no page at this address.'));
  if (method === 'GET' || method === 'HEAD') {
    // Nothing stored and nothing counted per visit: the page only offers the button.
    return verifyUnsubscribeToken(token, unsubscribeDeps.key) === undefined ? respond(method, 400, renderInvalidUnsubscribePage()) : respond(method, 200, renderUnsubscribePage());
  }
  if (method !== 'POST') return respond(method, 405, renderErrorPage('Method not allowed', 'Use the button on the page.'), { Allow: ALLOWED_METHODS });
  if (req.body !== undefined && Buffer.byteLength(req.body, 'utf8') > MAX_BODY_BYTES) return respond(method, 413, renderErrorPage('Request too large', 'Nothing was changed.'));
  const outcome = await unsubscribe(unsubscribeDeps, token);
  return outcome.kind === 'invalid' ? respond(method, 400, renderInvalidUnsubscribePage()) : respond(method, 200, renderUnsubscribedPage());
}

async function route(deps: ApprovalDeps, req: ApprovalHttpRequest, method: string): Promise<ApprovalHttpResponse> {
  const headers = lowerCaseKeys(req.headers);
  const token = new RegExp(`^${UNSUBSCRIBE_PATH}([A-Za-z0-9_.-]{1,600})/?$`).exec(req.path)?.[1];
  if (token !== undefined) return routeUnsubscribe(deps, req, method, token);
  const segment = /^\/approvals\/([^/]+)\/?$/.exec(req.path)?.[1];
  // Not an approval link (favicon, robots.txt, probes): nothing to audit.
  if (segment === undefined) return respond(method, 404, renderErrorPage('Not found', 'There is no page at this address.'));
  let approvalId: string | undefined;
  try {
    approvalId = decodeURIComponent(segment);
  } catch {
    approvalId = undefined;
  }
  const attempt: Attempt = {
    method: clip(method, 16) ?? method,
    sourceIp: req.sourceIp,
    userAgent: clip(headers['user-agent'], 256),
    approvalId: clip(approvalId ?? segment, 256),
  };

  if (method !== 'GET' && method !== 'HEAD' && method !== 'POST') {
    await recordAttempt(deps, attempt, 'method_not_allowed');
    return respond(method, 405, renderErrorPage('Method not allowed', 'Open the link from the email in a browser.'), { Allow: ALLOWED_METHODS });
  }
  if (method === 'POST' && req.body !== undefined && Buffer.byteLength(req.body, 'utf8') > MAX_BODY_BYTES) {
    await recordAttempt(deps, attempt, 'body_too_large');
    return respond(method, 413, renderErrorPage('Request too large', 'The submitted form was too large. Nothing was changed.'));
  }
  const link = { approvalId, query: req.query };
  if (method === 'GET' || method === 'HEAD') return pageOf(method, await openApproval(deps, link, attempt, req.query['decision'] !== undefined));
  const form = new URLSearchParams(req.body ?? '');
  const outcome = await decideApproval(deps, link, attempt, {
    csrf: form.get('csrf') ?? undefined,
    nonce: form.get('nonce') ?? undefined,
    decision: form.get('decision') ?? undefined,
    reason: form.get('reason') ?? '',
    fetchSite: headers['sec-fetch-site'],
    origin: headers['origin'],
    simulatedReviewer: headers[SIMULATED_REVIEWER_HEADER] === 'simulated',
  });
  return pageOf(method, outcome);
}

const decidedPage = (approval: Approval): string =>
  renderAlreadyDecidedPage({ status: approval.status, decidedBy: approval.decidedBy, decidedAt: approval.decidedAt, reviewerKind: approval.reviewerKind });

function confirmationPage(c: Confirmation, extra: { error?: string; reason?: string } = {}): string {
  return renderApprovalPage({
    approval: c.approval,
    accountName: c.accountName,
    stakeholderNames: c.stakeholderNames,
    approver: c.approver,
    expiresAt: c.expiresAt,
    ...c.form(),
    ...extra,
  });
}

/** The status and page of each outcome. */
function pageOf(method: string, outcome: OpenOutcome | DecideOutcome): ApprovalHttpResponse {
  switch (outcome.kind) {
    case 'invalid_link':
      return respond(method, outcome.reason === 'malformed' ? 400 : 403, renderInvalidLinkPage());
    case 'link_expired':
    case 'expired':
      return respond(method, 410, renderExpiredPage());
    case 'unknown_approval':
      return respond(method, 404, renderInvalidLinkPage());
    case 'not_your_approval':
      return respond(method, 403, renderNotYourApprovalPage());
    case 'not_pending':
      return respond(method, 409, renderAlreadyDecidedPage({ status: outcome.approval.status }));
    case 'decided':
      return 'approval' in outcome
        ? respond(method, 200, decidedPage(outcome.approval))
        : respond(method, 200, renderDecidedPage({ status: outcome.status, decidedBy: outcome.decidedBy, decidedAt: outcome.decidedAt, reviewerKind: outcome.reviewerKind }));
    case 'already_decided':
      return respond(method, 409, decidedPage(outcome.approval));
    case 'confirm':
      return respond(method, 200, confirmationPage(outcome.confirmation));
    case 'form_expired':
      return respond(method, 403, renderFormExpiredPage());
    case 'invalid_form':
      return respond(method, 400, confirmationPage(outcome.confirmation, { error: outcome.error, ...(outcome.reason !== undefined ? { reason: outcome.reason } : {}) }));
    case 'too_late':
      return respond(method, 409, renderTooLatePage());
    case 'not_delivered':
      return respond(
        method,
        502,
        renderErrorPage(
          'Decision recorded, workflow not reached',
          'Your decision was recorded, but the workflow could not be notified. The problem was logged for the campaign owner; if it is not resolved before the approval expires, nothing will run.',
        ),
      );
  }
}
