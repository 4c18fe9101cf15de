/**
 * What the HTTP connectors (webhook, HubSpot, Salesforce) share: one small caller over an injected
 * `fetch`, and the sales-team summary of an action that both CRM connectors write.
 *
 * The caller gives every attempt its own timeout (AbortSignal), retries what is worth retrying
 * (5xx, 429, network errors and timeouts) with exponential backoff through an injected `sleep`,
 * and translates the outcome into the two tool errors the workflow knows: a refusal (a 4xx other
 * than 429, or a redirect) is ToolRejectedError and is never retried; retries exhausted is
 * ToolFailedError, which Step Functions retries later. Error messages name the service, method,
 * the URL's origin and path (never its query, which may carry an email) and the status, with a
 * short excerpt of the body from which every secret passed in `secrets` has been cut out. Headers
 * (where tokens and signatures travel) never appear in a message.
 */
import { InvalidConfigError, ToolFailedError, ToolRejectedError } from '../../domain/errors.ts';
import type { Action, ActionType, Stakeholder } from '../../domain/model.ts';
import { roleLabel } from '../../domain/catalog.ts';
import type { ToolAccount } from '../../ports/index.ts';

/** The subset of the global `fetch` the connectors use (injectable for tests). */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

/** Waits `ms` milliseconds (injectable so tests do not wait). */
export type Sleep = (ms: number) => Promise<void>;

/** The real sleep. */
export const realSleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Longest body excerpt put in an error message. */
export const MAX_ERROR_EXCERPT_CHARS = 200;
/** Most bytes of a response body read; the rest is dropped (a connector reads small JSON answers). */
export const MAX_RESPONSE_BYTES = 1024 * 1024;
/** First backoff delay; each retry doubles it. */
export const DEFAULT_BASE_DELAY_MS = 200;
/** Longest wait between two attempts, whatever the backoff or a Retry-After header asks. */
export const MAX_DELAY_MS = 10_000;

/** One HTTP call, its limits and its dependencies. */
export interface HttpCall {
  readonly url: string;
  /** @default 'POST' */
  readonly method?: string;
  readonly headers: Readonly<Record<string, string>>;
  /**
   * The body: a string is sent byte for byte (a signed body must not be re-encoded), anything
   * else as JSON; undefined sends none.
   */
  readonly body?: unknown;
  /** Limit of each attempt, body read included. */
  readonly timeoutMs: number;
  /** Attempts after the first. */
  readonly retries: number;
  readonly sleep: Sleep;
  readonly fetch: FetchLike;
  /** The service's name in error messages ("HubSpot"). @default the URL's host */
  readonly service?: string;
  /** Values cut out of any body excerpt put in an error message (tokens, secrets). */
  readonly secrets?: readonly string[];
  /**
   * False for a call that is not idempotent on the service's side (a plain create): a timeout or
   * a 5xx may have applied it, so only a 429 (refused before processing) is retried in-process;
   * anything else surfaces as ToolFailedError at once, and the step's retry starts over with its
   * own duplicate check. @default true
   */
  readonly replaySafe?: boolean;
  /** @default DEFAULT_BASE_DELAY_MS */
  readonly baseDelayMs?: number;
}

/** A refusal (a 4xx but 429 and the retried ones, or a 3xx): permanent, with its status (a connector may renew its token on a 401). */
export class HttpRefusedError extends ToolRejectedError {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** A 2xx (or accepted) answer: its status, headers, the body text and the body as JSON if it is JSON. */
export interface HttpResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  /** The parsed body, or undefined when it is empty or not JSON. */
  readonly json: unknown;
}

type Attempt =
  | { readonly kind: 'response'; readonly response: HttpResponse }
  | { readonly kind: 'error'; readonly reason: string; readonly cause: unknown };

/** The delay before retry number `retry` (0-based): base·2^retry, or what Retry-After asks if longer, capped. */
export function backoffDelay(retry: number, baseDelayMs: number, retryAfter?: string | null): number {
  const exponential = baseDelayMs * 2 ** retry;
  const asked = retryAfterMs(retryAfter);
  return Math.min(MAX_DELAY_MS, Math.max(exponential, asked ?? 0));
}

/** Retry-After as milliseconds (delta-seconds or an HTTP date), or undefined. */
function retryAfterMs(value: string | null | undefined): number | undefined {
  if (value === null || value === undefined || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/**
 * The gist of a JSON error body, code first: HubSpot's `{ category, message }`, Salesforce's
 * `[{ errorCode, message }]`, or a receiver's `{ error }`; undefined when there is none.
 */
function errorGist(text: string): string | undefined {
  const json = parseJson(text);
  const first: unknown = Array.isArray(json) ? json[0] : json;
  if (typeof first !== 'object' || first === null) return undefined;
  const o = first as Record<string, unknown>;
  const code = [o.category, o.errorCode, o.code, o.error].find((v): v is string => typeof v === 'string' && v !== '');
  const message = typeof o.message === 'string' ? o.message : undefined;
  if (code === undefined && message === undefined) return undefined;
  return [code, message].filter((v) => v !== undefined).join(': ');
}

/** A body excerpt safe for an error message: its gist, secrets cut out, whitespace collapsed, size capped. */
export function errorExcerpt(text: string, secrets: readonly string[] = []): string {
  let safe = errorGist(text) ?? text;
  for (const secret of secrets) if (secret.length > 0) safe = safe.split(secret).join('[redacted]');
  safe = safe.replace(/\s+/g, ' ').trim();
  return safe.length > MAX_ERROR_EXCERPT_CHARS ? `${safe.slice(0, MAX_ERROR_EXCERPT_CHARS)}…` : safe;
}

/**
 * The URL as messages show it: the origin only. A webhook's path often carries its credential
 * (`/services/T…/B…/xyz`, `/hooks/catch/…`), and messages reach the audit trail and the logs.
 */
function where(url: URL): string {
  return url.origin;
}

async function readCapped(response: Response): Promise<string> {
  if (response.body === null) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    const room = MAX_RESPONSE_BYTES - size;
    chunks.push(value.byteLength > room ? value.subarray(0, room) : value);
    size += Math.min(value.byteLength, room);
    if (size >= MAX_RESPONSE_BYTES) {
      await reader.cancel();
      break;
    }
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Worth another try: too many requests, a request timeout, too early, locked, or the server's own failure. */
const isRetryableStatus = (status: number): boolean => status === 408 || status === 423 || status === 425 || status === 429 || status >= 500;

/** What a failed attempt was, for the message (a network error keeps its code, never its stack). */
function describeFailure(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) return `timed out after ${timeoutMs} ms`;
  const cause = err instanceof Error ? (err as { cause?: unknown }).cause : undefined;
  const code = cause instanceof Error ? ((cause as { code?: unknown }).code ?? cause.name) : undefined;
  return `network error${typeof code === 'string' ? ` (${code})` : ''}`;
}

/**
 * Sends one JSON request with a timeout per attempt and retries; returns the 2xx answer. Throws
 * ToolRejectedError on a refusal (4xx but 429, 3xx) and ToolFailedError once retries run out.
 */
export async function postJson(call: HttpCall): Promise<HttpResponse> {
  const method = call.method ?? 'POST';
  const url = new URL(call.url);
  const service = call.service ?? url.host;
  const replaySafe = call.replaySafe ?? true;
  const baseDelayMs = call.baseDelayMs ?? DEFAULT_BASE_DELAY_MS;
  const body = call.body === undefined ? undefined : typeof call.body === 'string' ? call.body : JSON.stringify(call.body);
  const attempts = 1 + Math.max(0, Math.floor(call.retries));
  let last: Attempt | undefined;
  let made = 0;
  for (let attempt = 0; attempt < attempts; attempt += 1) {
    if (attempt > 0) {
      const retryAfter = last?.kind === 'response' ? last.response.headers.get('retry-after') : undefined;
      await call.sleep(backoffDelay(attempt - 1, baseDelayMs, retryAfter));
    }
    last = await attemptOnce(call, method, body);
    made += 1;
    if (last.kind === 'response') {
      const { status } = last.response;
      if (status >= 200 && status < 300) return last.response;
      if (!isRetryableStatus(status)) {
        throw new HttpRefusedError(`${service} refused ${method} ${where(url)} with ${status}: ${errorExcerpt(last.response.text, call.secrets) || '(empty body)'}`, status);
      }
      if (!replaySafe && status !== 429) break;
    } else if (!replaySafe) {
      break;
    }
  }
  // The loop only ends here after a retryable failure: `last` is set.
  const failure = last as Attempt;
  const what =
    failure.kind === 'response'
      ? `status ${failure.response.status}: ${errorExcerpt(failure.response.text, call.secrets) || '(empty body)'}`
      : failure.reason;
  throw new ToolFailedError(`${service} ${method} ${where(url)} failed after ${made} attempt(s), last ${what}`, {
    cause: failure.kind === 'error' ? failure.cause : undefined,
  });
}

async function attemptOnce(call: HttpCall, method: string, body: string | undefined): Promise<Attempt> {
  const signal = AbortSignal.timeout(call.timeoutMs);
  try {
    // A redirect is answered, not followed: a POST must not be replayed elsewhere (or turned into a GET).
    const response = await call.fetch(call.url, { method, headers: { ...call.headers }, body, signal, redirect: 'manual' });
    const text = await readCapped(response);
    return { kind: 'response', response: { status: response.status, headers: response.headers, text, json: parseJson(text) } };
  } catch (err) {
    return { kind: 'error', reason: describeFailure(err, call.timeoutMs), cause: err };
  }
}

/**
 * Refuses a URL that is not https, but for plain http on this machine (the local stand-ins), with
 * InvalidConfigError naming the owner and the prop (never the URL: it may carry credentials).
 */
export function requireHttpsUrl(value: string, owner: string, prop: string): URL {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (url === undefined) throw new InvalidConfigError(owner, [{ path: prop, message: 'not a URL' }]);
  const local = url.hostname === '127.0.0.1' || url.hostname === 'localhost';
  if (url.protocol === 'https:' || (url.protocol === 'http:' && local)) return url;
  throw new InvalidConfigError(owner, [{ path: prop, message: 'must be an https URL (plain http only for 127.0.0.1 or localhost)' }]);
}

/** Human labels of action types, for the seller's CRM. */
export const ACTION_TYPE_LABEL: Readonly<Record<ActionType, string>> = {
  nurture_email: 'Nurture email',
  role_content: 'Role content',
  objection_response: 'Objection response',
  executive_briefing: 'Executive briefing',
  reference_call_offer: 'Reference call offer',
  sales_handoff: 'Sales hand-off',
  ad_audience_add: 'Ad audience',
  event_invite: 'Event invitation',
  sdr_email: 'SDR email',
  sdr_call: 'SDR call',
};

/** A sales task's title and notes. */
export interface SalesTaskSummary {
  readonly subject: string;
  readonly body: string;
}

/** Longest task subject written (Salesforce's Task.Subject holds 255). */
export const MAX_TASK_SUBJECT_CHARS = 255;

/**
 * The summary of an action for the sales team, as both CRM connectors write it: what to do (the
 * action type and topic), for which account and people, and why (the planner's rationale: this
 * text stays in the seller's CRM, it is never sent to a prospect). `suffix` ends the subject
 * (a connector's duplicate marker) and is never cut off.
 */
export function salesTaskSummary(action: Action, stakeholders: readonly Stakeholder[], account: ToolAccount, suffix = ''): SalesTaskSummary {
  const label = ACTION_TYPE_LABEL[action.type];
  const head = `${label}: ${action.content.topic} (${account.name})`;
  const room = MAX_TASK_SUBJECT_CHARS - suffix.length;
  const subject = `${head.length > room ? `${head.slice(0, Math.max(0, room - 1))}…` : head}${suffix}`;
  const people = stakeholders.length === 0 ? ['- (none named)'] : stakeholders.map((p) => `- ${p.name}, ${roleLabel(p.role)} (${p.email})`);
  const body = [
    `${label} for ${account.name}`,
    `Topic: ${action.content.topic}`,
    `People:`,
    ...people,
    `Why: ${action.rationale}`,
    `Sub-goal: ${action.subGoal.replace(/_/g, ' ')}`,
    `Action ${action.id} (run ${action.runId}, agent ${action.agentId})`,
  ].join('\n');
  return { subject, body };
}
