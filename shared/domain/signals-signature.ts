/**
 * Signing of signal requests, modelled on Stripe's and Slack's webhook signatures. Pure: the key,
 * the clock and the raw body are injected.
 *
 * A sender puts the current unix time (seconds) in `x-amk-timestamp` and
 * `v1=<hex HMAC-SHA256 of "<timestamp>.<raw body>">` in `x-amk-signature`. The signature covers
 * the exact bytes of the body, so nothing may re-encode it on the way. Several `v1=` entries,
 * comma-separated, are accepted (any one matching is enough), so a sender can sign with an old
 * and a new key while the secret rotates. A request more than five minutes older or newer than
 * the receiver's clock is refused (stale), which together with the receiver refusing a signature
 * it has already seen (replay) makes a captured request worthless.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** Header carrying the unix time (seconds) the request was signed at. */
export const SIGNAL_TIMESTAMP_HEADER = 'x-amk-timestamp';
/** Header carrying `v1=<hex>` signatures. */
export const SIGNAL_SIGNATURE_HEADER = 'x-amk-signature';
/** The signature scheme: HMAC-SHA256 over `<timestamp>.<raw body>`, hex. */
export const SIGNATURE_SCHEME = 'v1';
/** How far a request's timestamp may be from the receiver's clock, either way. */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

/** Most `v1=` entries one header may carry (rotation needs two). */
const MAX_SIGNATURES = 5;
const HEX_SIGNATURE = /^[0-9a-f]{64}$/;
const TIMESTAMP = /^[0-9]{1,12}$/;

/** Why a request's signature was refused; `stale_timestamp` only for a request the key did sign. */
export type SignatureRejection = 'missing_signature' | 'malformed_signature' | 'bad_signature' | 'stale_timestamp';

/** The outcome of checking a request. */
export type SignatureVerification =
  | { readonly ok: true; readonly timestamp: number; readonly signature: string }
  | { readonly ok: false; readonly reason: SignatureRejection; readonly timestamp?: number; readonly signature?: string };

const toBytes = (body: Buffer | string): Buffer => (typeof body === 'string' ? Buffer.from(body, 'utf8') : body);

/** The hex HMAC-SHA256 of `<timestamp>.<body>` under `key`. */
export function signalSignature(key: Buffer, timestamp: number, body: Buffer | string): string {
  return createHmac('sha256', key).update(`${timestamp}.`, 'utf8').update(toBytes(body)).digest('hex');
}

/** The two headers of a request signed at `timestamp` (unix seconds). */
export function signalRequestHeaders(key: Buffer, timestamp: number, body: Buffer | string): Record<string, string> {
  return { [SIGNAL_TIMESTAMP_HEADER]: String(timestamp), [SIGNAL_SIGNATURE_HEADER]: `${SIGNATURE_SCHEME}=${signalSignature(key, timestamp, body)}` };
}

/** A signature's stable, non-secret name: the replay record's key and the audit's reference to it. */
export const signatureId = (signature: string): string => createHash('sha256').update(signature, 'utf8').digest('hex');

/**
 * Checks a request: well-formed headers, a `v1` signature the key made over this timestamp and
 * body (compared in constant time), then a timestamp within the tolerance of `nowMs`. The
 * signature is checked before the time, so only a holder of the key can learn that a request
 * was merely stale.
 */
export function verifySignalRequest(input: {
  readonly key: Buffer;
  readonly timestamp: string | undefined;
  readonly signature: string | undefined;
  readonly body: Buffer | string;
  readonly nowMs: number;
  readonly toleranceSeconds?: number;
}): SignatureVerification {
  if (input.timestamp === undefined || input.timestamp === '' || input.signature === undefined || input.signature === '') return { ok: false, reason: 'missing_signature' };
  const ts = input.timestamp.trim();
  if (!TIMESTAMP.test(ts)) return { ok: false, reason: 'malformed_signature' };
  const entries = input.signature.split(',').map((e) => e.trim()).filter((e) => e !== '');
  if (entries.length === 0 || entries.length > MAX_SIGNATURES) return { ok: false, reason: 'malformed_signature' };
  const presented: string[] = [];
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    const scheme = eq < 0 ? '' : entry.slice(0, eq);
    const value = eq < 0 ? '' : entry.slice(eq + 1).toLowerCase();
    // Unknown schemes are skipped (a later version may add one), malformed v1 values are not.
    if (scheme !== SIGNATURE_SCHEME) continue;
    if (!HEX_SIGNATURE.test(value)) return { ok: false, reason: 'malformed_signature' };
    presented.push(value);
  }
  if (presented.length === 0) return { ok: false, reason: 'malformed_signature' };
  const timestamp = Number(ts);
  const expected = Buffer.from(signalSignature(input.key, timestamp, input.body), 'hex');
  // Every entry is compared, whichever matches: the time taken does not tell which one did.
  let matched: string | undefined;
  for (const value of presented) if (timingSafeEqual(Buffer.from(value, 'hex'), expected) && matched === undefined) matched = value;
  if (matched === undefined) return { ok: false, reason: 'bad_signature' };
  const tolerance = input.toleranceSeconds ?? SIGNATURE_TOLERANCE_SECONDS;
  if (Math.abs(input.nowMs / 1000 - timestamp) > tolerance) return { ok: false, reason: 'stale_timestamp', timestamp, signature: matched };
  return { ok: true, timestamp, signature: matched };
}
