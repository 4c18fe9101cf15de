/**
 * The webhook connector: POSTs an action as signed JSON to the customer's HTTPS endpoint.
 *
 * Signing follows the scheme of the signals endpoint (shared/domain/signals-signature.ts,
 * modelled on Stripe's and Slack's): `X-Amk-Timestamp: <unix seconds>` and
 * `X-Amk-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>`, verified in
 * constant time and within five minutes of the receiver's clock. `Idempotency-Key` is the
 * action id, the same on every retry of a call and every redelivery of the step, so a receiver
 * that keeps the keys it has seen applies each action once. The body's own `id` is that key too.
 */
import { InvalidConfigError, ToolRejectedError } from '../../domain/errors.ts';
import type { Action, Stakeholder, Tool } from '../../domain/model.ts';
import { signalSignature, SIGNATURE_TOLERANCE_SECONDS, verifySignalRequest, type SignatureVerification } from '../../domain/signals-signature.ts';
import type { ToolAccount, ToolGateway, ToolResult } from '../../ports/index.ts';
import { postJson, realSleep, requireHttpsUrl, type FetchLike, type Sleep } from './http.ts';

/** Header carrying the unix time (seconds) the request was signed at. */
export const WEBHOOK_TIMESTAMP_HEADER = 'X-Amk-Timestamp';
/** Header carrying `v1=<hex>`. */
export const WEBHOOK_SIGNATURE_HEADER = 'X-Amk-Signature';
/** Header carrying the action id: the same on every retry and redelivery. */
export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';
/** The `type` of every event the connector sends. */
export const WEBHOOK_EVENT_TYPE = 'amk.action';

/** The JSON body of a webhook call. */
export interface WebhookEvent {
  readonly id: string;
  readonly type: typeof WEBHOOK_EVENT_TYPE;
  readonly occurredAt?: string;
  readonly action: Pick<Action, 'id' | 'runId' | 'accountId' | 'agentId' | 'type' | 'tool' | 'channel' | 'subGoal' | 'costUsd' | 'content'>;
  readonly account: ToolAccount;
  readonly stakeholders: ReadonlyArray<Pick<Stakeholder, 'id' | 'name' | 'role' | 'email'>>;
}

/** Properties of WebhookConnector. */
export interface WebhookConnectorProps {
  /** The receiver: https (plain http only for 127.0.0.1 or localhost). */
  readonly url: string;
  /** The HMAC key shared with the receiver (the caller reads it from Secrets Manager). */
  readonly secret: Buffer | string;
  /** @default the global fetch */
  readonly fetch?: FetchLike;
  /** Limit of each attempt. @default 5000 */
  readonly timeoutMs?: number;
  /** Attempts after the first. @default 3 */
  readonly retries?: number;
  /** @default a real timer */
  readonly sleep?: Sleep;
  /** ISO time now: the event's occurredAt and the signature's timestamp. @default the system clock */
  readonly clock?: () => string;
  /** The tools this endpoint takes; any other is refused with ToolRejectedError. @default ['webhook'] */
  readonly tools?: readonly Tool[];
}

const keyBytes = (secret: Buffer | string): Buffer => (typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret);

/** The `X-Amk-Signature` value of a body signed at `timestamp` (unix seconds): `v1=<hex>`. */
export function signWebhook(secret: Buffer | string, timestamp: number, body: Buffer | string): string {
  return `v1=${signalSignature(keyBytes(secret), timestamp, body)}`;
}

/** Headers as a receiver may hold them: a fetch Headers, or Node's lower-cased IncomingHttpHeaders. */
export type ReceivedHeaders = Headers | Readonly<Record<string, string | readonly string[] | undefined>>;

function header(headers: ReceivedHeaders, name: string): string | undefined {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== wanted) continue;
    return typeof value === 'string' ? value : value?.join(',');
  }
  return undefined;
}

/**
 * Checks a received webhook call for a receiver: a `v1` signature the secret made over this
 * timestamp and raw body (constant-time compare), then a timestamp within `toleranceSeconds` of
 * `nowSeconds`. Pure.
 */
export function verifyWebhookSignature(
  secret: Buffer | string,
  headers: ReceivedHeaders,
  body: Buffer | string,
  nowSeconds: number,
  toleranceSeconds = SIGNATURE_TOLERANCE_SECONDS,
): SignatureVerification {
  return verifySignalRequest({
    key: keyBytes(secret),
    timestamp: header(headers, WEBHOOK_TIMESTAMP_HEADER),
    signature: header(headers, WEBHOOK_SIGNATURE_HEADER),
    body,
    nowMs: nowSeconds * 1000,
    toleranceSeconds,
  });
}

/** The event a webhook call carries for an action (pure). */
export function webhookEvent(action: Action, stakeholders: readonly Stakeholder[], account: ToolAccount, occurredAt?: string): WebhookEvent {
  return {
    id: action.id,
    type: WEBHOOK_EVENT_TYPE,
    ...(occurredAt !== undefined ? { occurredAt } : {}),
    action: {
      id: action.id,
      runId: action.runId,
      accountId: action.accountId,
      agentId: action.agentId,
      type: action.type,
      tool: action.tool,
      channel: action.channel,
      subGoal: action.subGoal,
      costUsd: action.costUsd,
      content: action.content,
    },
    account: { id: account.id, name: account.name },
    stakeholders: stakeholders.map((p) => ({ id: p.id, name: p.name, role: p.role, email: p.email })),
  };
}

/** The headers of a webhook call of `body` signed at `timestamp` (pure). */
export function webhookHeaders(secret: Buffer | string, idempotencyKey: string, timestamp: number, body: string): Record<string, string> {
  return {
    'Content-Type': 'application/json',
    [IDEMPOTENCY_KEY_HEADER]: idempotencyKey,
    [WEBHOOK_TIMESTAMP_HEADER]: String(timestamp),
    [WEBHOOK_SIGNATURE_HEADER]: signWebhook(secret, timestamp, body),
  };
}

/** A ToolGateway that delivers each action to one signed HTTPS webhook. */
export class WebhookConnector implements ToolGateway {
  private readonly url: string;
  private readonly secret: Buffer;
  private readonly fetch: FetchLike;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly sleep: Sleep;
  private readonly clock: () => string;
  private readonly tools: ReadonlySet<Tool>;

  constructor(props: WebhookConnectorProps) {
    this.url = requireHttpsUrl(props.url, 'WebhookConnector', 'url').toString();
    this.secret = keyBytes(props.secret);
    if (this.secret.length === 0) throw new InvalidConfigError('WebhookConnector', [{ path: 'secret', message: 'must not be empty' }]);
    this.timeoutMs = props.timeoutMs ?? 5000;
    this.retries = props.retries ?? 3;
    if (!(this.timeoutMs > 0)) throw new InvalidConfigError('WebhookConnector', [{ path: 'timeoutMs', message: 'must be positive' }]);
    if (!Number.isInteger(this.retries) || this.retries < 0) throw new InvalidConfigError('WebhookConnector', [{ path: 'retries', message: 'must be a non-negative integer' }]);
    this.fetch = props.fetch ?? ((url, init) => fetch(url, init));
    this.sleep = props.sleep ?? realSleep;
    this.clock = props.clock ?? (() => new Date().toISOString());
    this.tools = new Set(props.tools ?? ['webhook']);
  }

  async execute(action: Action, stakeholders: Stakeholder[], account: ToolAccount): Promise<ToolResult> {
    if (!this.tools.has(action.tool)) throw new ToolRejectedError(`The webhook connector does not take tool "${action.tool}" (action ${action.id})`);
    const now = this.clock();
    const timestamp = Math.floor(Date.parse(now) / 1000);
    const body = JSON.stringify(webhookEvent(action, stakeholders, account, now));
    const response = await postJson({
      url: this.url,
      headers: webhookHeaders(this.secret, action.id, timestamp, body),
      body,
      timeoutMs: this.timeoutMs,
      retries: this.retries,
      sleep: this.sleep,
      fetch: this.fetch,
      service: 'Webhook',
      secrets: [this.secret.toString('utf8')],
    });
    const id = (response.json as { id?: unknown } | undefined)?.id;
    const externalId = typeof id === 'string' && id !== '' ? id : typeof id === 'number' ? String(id) : action.id;
    return { ok: true, externalId, detail: `delivered (${response.status})` };
  }
}
