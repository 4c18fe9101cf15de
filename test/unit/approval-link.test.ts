import { describe, expect, it } from 'vitest';
import {
  csrfToken,
  fromBase64Url,
  linkUrl,
  parseLinkQuery,
  parseLinkUrl,
  signLink,
  toBase64Url,
  verifyCsrf,
  verifyLink,
  type LinkParams,
} from '../../shared/domain/approval-link.ts';

const key = Buffer.from('k'.repeat(32));
const otherKey = Buffer.from('o'.repeat(32));
const claims = { approvalId: 'apr-1', approver: 'dana@example.com', expiresAt: '2030-01-01T00:00:00.900Z' };
const before = '2029-12-31T23:59:59.000Z';

function params(): LinkParams {
  const signed = signLink(claims, key);
  const parsed = parseLinkUrl(linkUrl('https://approve.example.com', signed));
  if (parsed === undefined) throw new Error('link did not parse');
  return parsed;
}

describe('approval links', () => {
  it('verifies a link it signed and returns the approval, approver and expiry', () => {
    const result = verifyLink(params(), key, before);
    expect(result).toEqual({
      ok: true,
      approvalId: 'apr-1',
      approver: 'dana@example.com',
      exp: 1893456000,
      expiresAt: '2030-01-01T00:00:00.000Z',
    });
  });

  it('builds the documented URL shape with the approver in base64url and the expiry in unix seconds', () => {
    const url = linkUrl('https://approve.example.com/', signLink(claims, key));
    expect(url).toMatch(/^https:\/\/approve\.example\.com\/approvals\/apr-1\?a=[A-Za-z0-9_-]+&exp=1893456000&sig=[A-Za-z0-9_-]{43}$/);
    expect(new URL(url).searchParams.get('a')).toBe(toBase64Url('dana@example.com'));
  });

  it('floors the expiry so a link never outlives its approval', () => {
    const { exp } = signLink(claims, key);
    expect(exp * 1000).toBeLessThanOrEqual(Date.parse(claims.expiresAt));
  });

  it.each([
    ['id', { id: 'apr-2' }],
    ['approver', { a: toBase64Url('eve@example.com') }],
    ['expiry', { exp: '1893456060' }],
    ['signature', { sig: `${'A'.repeat(42)}B` }],
  ])('rejects a link whose %s was changed as a bad signature', (_field, change) => {
    expect(verifyLink({ ...params(), ...change }, key, before)).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('rejects a link signed with another key', () => {
    expect(verifyLink(params(), otherKey, before)).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('rejects an authentic link at and after its expiry', () => {
    expect(verifyLink(params(), key, '2030-01-01T00:00:00.000Z')).toEqual({ ok: false, reason: 'expired' });
    expect(verifyLink(params(), key, '2031-01-01T00:00:00.000Z')).toEqual({ ok: false, reason: 'expired' });
  });

  it('reports a tampered expired link as a bad signature, not as expired', () => {
    const tampered = { ...params(), a: toBase64Url('eve@example.com') };
    expect(verifyLink(tampered, key, '2031-01-01T00:00:00.000Z')).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it.each([
    ['a missing signature', { sig: undefined }],
    ['a missing approver', { a: undefined }],
    ['a missing id', { id: undefined }],
    ['a non-numeric expiry', { exp: '12abc' }],
    ['an expiry with a leading zero', { exp: '01893456000' }],
    ['a short signature', { sig: 'abc' }],
    ['an approver that is not base64url', { a: 'dana@example.com' }],
    ['an id with a slash', { id: 'a/b' }],
    ['an id with a newline', { id: 'a\nb' }],
  ])('rejects a link with %s as malformed', (_what, change) => {
    expect(verifyLink({ ...params(), ...change }, key, before)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('reads link parameters from a query object', () => {
    expect(parseLinkQuery('x', { a: 'A', exp: '1', sig: 'S', other: 'ignored' })).toEqual({ id: 'x', a: 'A', exp: '1', sig: 'S' });
  });

  it('round-trips non-ASCII approvers through base64url and refuses non-canonical encodings', () => {
    expect(fromBase64Url(toBase64Url('zoë@exämple.com'))).toBe('zoë@exämple.com');
    expect(fromBase64Url('ZG=')).toBeUndefined();
    expect(fromBase64Url('_w')).toBeUndefined();
  });

  it('refuses to sign an expiry that is not an ISO time', () => {
    expect(() => signLink({ ...claims, expiresAt: 'tomorrow' }, key)).toThrow(RangeError);
  });
});

describe('CSRF tokens', () => {
  const csrfClaims = { approvalId: 'apr-1', approver: 'dana@example.com', exp: 1893456000 };
  const nonce = 'n0nce-n0nce-n0nce-n0nce';

  it('accepts the token minted for the same link and nonce', () => {
    expect(verifyCsrf(csrfClaims, key, nonce, csrfToken(csrfClaims, key, nonce))).toBe(true);
  });

  it('rejects a missing token or nonce', () => {
    expect(verifyCsrf(csrfClaims, key, undefined, csrfToken(csrfClaims, key, nonce))).toBe(false);
    expect(verifyCsrf(csrfClaims, key, nonce, undefined)).toBe(false);
  });

  it.each([
    ['another approval', { approvalId: 'apr-2' }],
    ['another approver', { approver: 'eve@example.com' }],
    ['another expiry', { exp: 1893456001 }],
  ])('rejects a token minted for %s', (_what, change) => {
    expect(verifyCsrf({ ...csrfClaims, ...change }, key, nonce, csrfToken(csrfClaims, key, nonce))).toBe(false);
  });

  it('rejects a token echoed with another nonce or checked with another key', () => {
    const token = csrfToken(csrfClaims, key, nonce);
    expect(verifyCsrf(csrfClaims, key, 'another-nonce-value', token)).toBe(false);
    expect(verifyCsrf(csrfClaims, otherKey, nonce, token)).toBe(false);
  });

  it('never accepts a link signature as a CSRF token', () => {
    const { sig } = signLink(claims, key);
    expect(verifyCsrf(csrfClaims, key, nonce, sig)).toBe(false);
  });
});
