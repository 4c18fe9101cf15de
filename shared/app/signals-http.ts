/**
 * The signed signals endpoint's use case: a request proves it knows the key (HMAC over its
 * timestamp and raw body, shared/domain/signals-signature.ts), is fresh (five minutes either way)
 * and new (a signature is accepted once), and carries a valid batch; then its signals are stored
 * through ingestSignals. Each refusal is a named error the HTTP adapter turns into a status.
 *
 * Who can grow what (anonymous traffic must not grow storage): a request that did not prove the
 * key is only counted (one counter item per hour and reason); one that did is also audited, once
 * per signature (a keyed event), so even a captured request replayed a million times adds one
 * event. The replay record is keyed by the signature's hash, written (one conditional PutItem)
 * only after the signature checked out, and expires (TTL) once the request would be stale anyway.
 *
 * A request that fails after its replay record was written (a throttled table) is answered 500
 * and is not accepted again as it is: the sender signs it again (a new timestamp, a new
 * signature), and the ledger stores each of its signals once, whatever the first attempt stored.
 */
import { SignalReplayError, SignalSchemaError, SignalSignatureError, StaleSignalError } from '../domain/errors.ts';
import { describeIssues, parseSignalBatchText, type SignalIssue } from '../domain/signals-batch.ts';
import { SIGNATURE_TOLERANCE_SECONDS, signatureId, verifySignalRequest, type SignatureRejection } from '../domain/signals-signature.ts';
import type { AuditLog } from '../ports/index.ts';
import type { ReplayGuard } from '../ports/signal-ledger.ts';
import { ingestSignals, type IngestResult, type SignalsIngestDeps } from './signals-ingest.ts';

/** What the endpoint needs: the key, the replay records, storing signals, and counting refusals. */
export interface SignalsRequestDeps extends SignalsIngestDeps {
  /** HMAC key of signal requests (Secrets Manager in AWS). */
  readonly signalsKey: Buffer;
  readonly replayGuard: ReplayGuard;
  readonly audit: Pick<AuditLog, 'appendOnce'>;
  /**
   * Counts a refused request in its hour, by reason (anyone on the internet can send those): one
   * counter per hour and reason, so refusals cannot grow storage.
   */
  readonly refused: (r: { readonly at: string; readonly reason: string }) => Promise<void>;
}

/** A request as the endpoint sees it: the two headers, the raw body bytes, where it came from. */
export interface SignalRequest {
  readonly timestamp: string | undefined;
  readonly signature: string | undefined;
  readonly body: Buffer;
  readonly sourceIp?: string | undefined;
  readonly userAgent?: string | undefined;
}

/** Why a request was refused, as it is counted (prefixed: the counters are shared with the approval page). */
export type SignalRefusal = `signals_${SignatureRejection | 'replayed' | 'schema_invalid' | 'method_not_allowed' | 'body_too_large'}`;

/** Audit stream of refused signal requests that proved the key (none is about a known account or run). */
export const SIGNALS_STREAM = 'SIGNALS';

/** Who stores what the endpoint accepts (the audit's actor). */
export const SIGNALS_HTTP_ACTOR = 'signals-http';

/** Key of a request's replay record: its signature's hash (written only for verified requests). */
export const replayKey = (signature: string): string => `signals-request#${signatureId(signature)}`;

const clip = (value: string | undefined, max: number): string | null => (value === undefined ? null : value.slice(0, max));

async function auditRefused(deps: SignalsRequestDeps, req: SignalRequest, signature: string, timestamp: number, reason: SignalRefusal, issues?: readonly SignalIssue[]): Promise<void> {
  const id = signatureId(signature);
  await deps.audit.appendOnce([
    {
      stream: SIGNALS_STREAM,
      key: `signals-request#${id}#${reason}`,
      at: deps.clock(),
      kind: 'alert',
      actor: 'signed-request',
      // The signature's hash, never the signature (the logs must not carry one).
      data: { alert: 'signals_refused', reason, signatureId: id, timestamp, sourceIp: clip(req.sourceIp, 64), userAgent: clip(req.userAgent, 256), ...(issues ? { issues: issues.slice(0, 10) } : {}) },
    },
  ]);
}

/**
 * Answers one request: its signals stored (how many new, repeated, conflicting, who was
 * suppressed), or a named error: SignalSignatureError (missing, malformed or wrong signature),
 * StaleSignalError, SignalSchemaError (nothing of the batch stored) or SignalReplayError.
 */
export async function receiveSignalRequest(deps: SignalsRequestDeps, req: SignalRequest): Promise<IngestResult> {
  const now = deps.clock();
  const checked = verifySignalRequest({ key: deps.signalsKey, timestamp: req.timestamp, signature: req.signature, body: req.body, nowMs: Date.parse(now) });
  if (!checked.ok) {
    const reason: SignalRefusal = `signals_${checked.reason}`;
    await deps.refused({ at: now, reason });
    if (checked.reason === 'stale_timestamp' && checked.signature !== undefined && checked.timestamp !== undefined) {
      await auditRefused(deps, req, checked.signature, checked.timestamp, reason);
      throw new StaleSignalError(`the request was signed at ${new Date(checked.timestamp * 1000).toISOString()}, more than 5 minutes from ${now}: sign it again with the current time`);
    }
    throw new SignalSignatureError(
      checked.reason === 'missing_signature'
        ? 'the request needs the x-amk-timestamp and x-amk-signature headers'
        : checked.reason === 'malformed_signature'
          ? 'x-amk-timestamp must be unix seconds and x-amk-signature "v1=<64 hex digits>"'
          : 'the signature does not match this timestamp and body under the key',
    );
  }
  const parsed = parseSignalBatchText(req.body.toString('utf8'));
  if (!parsed.ok) {
    await deps.refused({ at: now, reason: 'signals_schema_invalid' });
    await auditRefused(deps, req, checked.signature, checked.timestamp, 'signals_schema_invalid', parsed.issues);
    throw new SignalSchemaError(`nothing was stored: ${describeIssues(parsed.issues)}`, parsed.issues);
  }
  // Kept until the request is stale both ways round (and a margin): past then, staleness refuses it.
  const expiresAt = new Date((checked.timestamp + 2 * SIGNATURE_TOLERANCE_SECONDS) * 1000).toISOString();
  if (!(await deps.replayGuard.firstSeen(replayKey(checked.signature), expiresAt))) {
    await deps.refused({ at: now, reason: 'signals_replayed' });
    await auditRefused(deps, req, checked.signature, checked.timestamp, 'signals_replayed');
    throw new SignalReplayError('this signature was accepted before (to send the signals again, sign them again with the current time: each signal is stored once per id)');
  }
  return ingestSignals(deps, parsed.signals, SIGNALS_HTTP_ACTOR);
}
