/**
 * The signals endpoint over HTTP: one route (`POST /signals`), a body limit, JSON responses and
 * the status of each named refusal. It decides nothing itself: the request goes to
 * receiveSignalRequest (shared/app/signals-http.ts).
 *
 * | outcome                     | status | body `error`           |
 * | --------------------------- | ------ | ---------------------- |
 * | stored                      | 200    | (the IngestResult)     |
 * | bad/missing signature       | 401    | SignalSignatureError   |
 * | timestamp out of tolerance  | 401    | StaleSignalError       |
 * | invalid batch               | 400    | SignalSchemaError      |
 * | signature seen before       | 409    | SignalReplayError      |
 * | body over 1 MiB             | 413    | BodyTooLargeError      |
 * | not POST                    | 405    | MethodNotAllowedError  |
 */
import { ErrorName, SignalSchemaError } from '../../domain/errors.ts';
import { SIGNAL_SIGNATURE_HEADER, SIGNAL_TIMESTAMP_HEADER } from '../../domain/signals-signature.ts';
import { receiveSignalRequest, type SignalsRequestDeps } from '../../app/signals-http.ts';

/** The endpoint's one path. */
export const SIGNALS_PATH = '/signals';

/** Largest body read: 500 signals of the longest fields fit (a Function URL would take 6 MB). */
export const MAX_SIGNALS_BODY_BYTES = 1024 * 1024;

/** A request as the endpoint sees it (decoded from the Function URL event; the body's raw bytes). */
export interface SignalsHttpRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: Buffer;
  readonly sourceIp?: string | undefined;
}

/** A response of the endpoint. */
export interface SignalsHttpResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** Headers on every response: JSON, never cached, never sniffed. */
export const SIGNALS_RESPONSE_HEADERS: Readonly<Record<string, string>> = {
  'Content-Type': 'application/json; charset=utf-8',
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
};

/** The endpoint's dependencies: the use case's, and where unexpected failures are logged. */
export interface SignalsEndpointDeps extends SignalsRequestDeps {
  readonly log?: (entry: Record<string, unknown>) => void;
}

const STATUS_OF: Readonly<Record<string, number>> = {
  [ErrorName.SignalSignature]: 401,
  [ErrorName.StaleSignal]: 401,
  [ErrorName.SignalSchema]: 400,
  [ErrorName.SignalReplay]: 409,
};

function respond(status: number, body: unknown, extra: Record<string, string> = {}): SignalsHttpResponse {
  return { status, headers: { ...SIGNALS_RESPONSE_HEADERS, ...extra }, body: JSON.stringify(body) };
}

function header(headers: Readonly<Record<string, string | undefined>>, name: string): string | undefined {
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === name) return value;
  return undefined;
}

/** Answers a request to the signals endpoint (see the module comment for the statuses). */
export async function handleSignalsRequest(deps: SignalsEndpointDeps, req: SignalsHttpRequest): Promise<SignalsHttpResponse> {
  const path = req.path.replace(/\/+$/, '');
  // Probes and typos: nothing to count or audit.
  if (path !== SIGNALS_PATH) return respond(404, { error: 'NotFoundError', message: `POST signed batches to ${SIGNALS_PATH}` });
  const at = deps.clock();
  if (req.method.toUpperCase() !== 'POST') {
    await deps.refused({ at, reason: 'signals_method_not_allowed' });
    return respond(405, { error: 'MethodNotAllowedError', message: `POST signed batches to ${SIGNALS_PATH}` }, { Allow: 'POST' });
  }
  if (req.body.length > MAX_SIGNALS_BODY_BYTES) {
    await deps.refused({ at, reason: 'signals_body_too_large' });
    return respond(413, { error: 'BodyTooLargeError', message: `a request carries at most ${MAX_SIGNALS_BODY_BYTES} bytes (500 signals)` });
  }
  try {
    const result = await receiveSignalRequest(deps, {
      timestamp: header(req.headers, SIGNAL_TIMESTAMP_HEADER),
      signature: header(req.headers, SIGNAL_SIGNATURE_HEADER),
      body: req.body,
      sourceIp: req.sourceIp,
      userAgent: header(req.headers, 'user-agent'),
    });
    return respond(200, result);
  } catch (err) {
    const status = err instanceof Error ? STATUS_OF[err.name] : undefined;
    if (err instanceof Error && status !== undefined) {
      return respond(status, { error: err.name, message: err.message, ...(err instanceof SignalSchemaError ? { issues: err.issues } : {}) });
    }
    // The cause (a missing grant, a throttled table) goes to the function's log only.
    deps.log?.({ level: 'ERROR', message: 'signals request failed', error: err instanceof Error ? err.name : typeof err, cause: err instanceof Error ? err.message : String(err) });
    return respond(500, { error: 'InternalError', message: 'the batch was not stored completely: send it again, signed anew (each signal is stored once, however often it arrives)' });
  }
}
