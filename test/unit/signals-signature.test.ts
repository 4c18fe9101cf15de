/** The signature of signal requests, pure: what signs, what verifies, and why a request is refused. */
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  SIGNAL_SIGNATURE_HEADER,
  SIGNAL_TIMESTAMP_HEADER,
  signalRequestHeaders,
  signalSignature,
  signatureId,
  verifySignalRequest,
} from '../../shared/domain/signals-signature.ts';

const KEY = Buffer.from('signals-test-key-signals-test-key-0123456789');
const OTHER_KEY = Buffer.from('another-key-another-key-another-key-987654');
const NOW_MS = Date.parse('2027-01-04T14:00:00.000Z');
const TS = NOW_MS / 1000;
const BODY = '{"signals":[{"id":"s1","accountId":"acc-1","kind":"web_visit","at":"2027-01-04T13:00:00Z"}]}';

const verify = (over: Partial<Parameters<typeof verifySignalRequest>[0]> = {}) =>
  verifySignalRequest({ key: KEY, timestamp: String(TS), signature: `v1=${signalSignature(KEY, TS, BODY)}`, body: BODY, nowMs: NOW_MS, ...over });

describe('signing a signal request', () => {
  it('is the hex HMAC-SHA256 of "<timestamp>.<raw body>", as `openssl dgst -sha256 -hmac` computes it', () => {
    const expected = createHmac('sha256', KEY).update(`${TS}.${BODY}`).digest('hex');
    expect(signalSignature(KEY, TS, BODY)).toBe(expected);
    expect(signalRequestHeaders(KEY, TS, BODY)).toEqual({ [SIGNAL_TIMESTAMP_HEADER]: String(TS), [SIGNAL_SIGNATURE_HEADER]: `v1=${expected}` });
  });

  it('covers the exact bytes: the same JSON re-encoded (other spacing) no longer verifies', () => {
    const respaced = JSON.stringify(JSON.parse(BODY), null, 1);
    expect(verify({ body: respaced })).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('names a signature by a hash that does not reveal it', () => {
    const sig = signalSignature(KEY, TS, BODY);
    expect(signatureId(sig)).toMatch(/^[0-9a-f]{64}$/);
    expect(signatureId(sig)).not.toContain(sig);
  });
});

describe('verifying a signal request', () => {
  it('accepts a request signed with the key within five minutes either way, and returns the signature that matched', () => {
    for (const skew of [-300, -1, 0, 1, 300]) {
      const ts = TS + skew;
      const out = verify({ timestamp: String(ts), signature: `v1=${signalSignature(KEY, ts, BODY)}` });
      expect(out, `skew ${skew}`).toEqual({ ok: true, timestamp: ts, signature: signalSignature(KEY, ts, BODY) });
    }
  });

  it('refuses a request signed more than five minutes before or after the clock as stale, but only once its signature checked out', () => {
    for (const skew of [-301, 301, -86_400]) {
      const ts = TS + skew;
      expect(verify({ timestamp: String(ts), signature: `v1=${signalSignature(KEY, ts, BODY)}` }), `skew ${skew}`).toMatchObject({ ok: false, reason: 'stale_timestamp' });
      // A stale timestamp with a wrong signature says nothing about time: just a bad signature.
      expect(verify({ timestamp: String(ts), signature: `v1=${signalSignature(OTHER_KEY, ts, BODY)}` })).toEqual({ ok: false, reason: 'bad_signature' });
    }
  });

  it('refuses a signature made with another key, over another timestamp or over another body', () => {
    expect(verify({ signature: `v1=${signalSignature(OTHER_KEY, TS, BODY)}` })).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verify({ signature: `v1=${signalSignature(KEY, TS - 1, BODY)}` })).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verify({ signature: `v1=${signalSignature(KEY, TS, `${BODY} `)}` })).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('refuses missing and malformed headers without computing anything', () => {
    expect(verify({ signature: undefined })).toEqual({ ok: false, reason: 'missing_signature' });
    expect(verify({ timestamp: '' })).toEqual({ ok: false, reason: 'missing_signature' });
    for (const timestamp of ['-5', '1.5', '2027-01-04T14:00:00Z', '9999999999999', 'abc']) expect(verify({ timestamp }), timestamp).toEqual({ ok: false, reason: 'malformed_signature' });
    for (const signature of ['v1=', 'v1=xyz', `v1=${'a'.repeat(63)}`, 'sha256=abc', signalSignature(KEY, TS, BODY), Array(6).fill(`v1=${'0'.repeat(64)}`).join(',')]) {
      expect(verify({ signature }), signature).toEqual({ ok: false, reason: 'malformed_signature' });
    }
  });

  it('accepts any one matching v1 entry among several (key rotation), skipping schemes it does not know', () => {
    const good = signalSignature(KEY, TS, BODY);
    const out = verify({ signature: `v0=deadbeef, v1=${signalSignature(OTHER_KEY, TS, BODY)},v1=${good.toUpperCase()}` });
    expect(out).toEqual({ ok: true, timestamp: TS, signature: good });
  });
});
