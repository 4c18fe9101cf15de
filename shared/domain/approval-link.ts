/**
 * Signed approval links and the CSRF token of the confirmation page. Pure: the HMAC key is
 * injected, nothing reads the environment or the clock.
 *
 * A link carries only an opaque approval id, the approver it was issued to, an expiry and an
 * HMAC-SHA256 signature over all three. It never carries the Step Functions task token (that
 * stays in the approval record), and it never decides anything by itself: a GET only renders a
 * page, and a decision needs a POST that echoes the page's CSRF token.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** What a link is issued for. */
export interface LinkClaims {
  readonly approvalId: string;
  readonly approver: string;
  /** ISO time after which the link no longer opens the page (floored to whole seconds). */
  readonly expiresAt: string;
}

/** A signed link: approval id, approver, expiry in unix seconds and a base64url HMAC. */
export interface SignedLink {
  readonly id: string;
  readonly approver: string;
  readonly exp: number;
  readonly sig: string;
}

/** The untrusted parts of a link as they arrive in a request (path id + query). */
export interface LinkParams {
  readonly id?: string | undefined;
  /** The approver, base64url-encoded UTF-8. */
  readonly a?: string | undefined;
  /** Expiry, unix seconds. */
  readonly exp?: string | undefined;
  readonly sig?: string | undefined;
}

/** Why a link was refused; deliberately coarse so a page can stay generic. */
export type LinkRejection = 'malformed' | 'bad_signature' | 'expired';

/** The outcome of checking a link. */
export type LinkVerification =
  | { readonly ok: true; readonly approvalId: string; readonly approver: string; readonly expiresAt: string; readonly exp: number }
  | { readonly ok: false; readonly reason: LinkRejection };

/** The parts of a verified link a CSRF token is bound to. */
export interface CsrfClaims {
  readonly approvalId: string;
  readonly approver: string;
  readonly exp: number;
}

// Distinct purpose labels keep a link signature from ever being replayable as a CSRF token
// (and vice versa), even though both use the same key.
const LINK_PURPOSE = 'amk.approval-link.v1';
const CSRF_PURPOSE = 'amk.approval-csrf.v1';

const MAX_ID_LENGTH = 256;
const MAX_APPROVER_LENGTH = 320;
/** base64url of a 32-byte HMAC-SHA256, unpadded. */
const SIG_PATTERN = /^[A-Za-z0-9_-]{43}$/;
const B64URL_PATTERN = /^[A-Za-z0-9_-]+$/;
const NONCE_PATTERN = /^[A-Za-z0-9_-]{16,128}$/;
// Control characters and "/" cannot appear in an id: it lives in one path segment.
const ID_FORBIDDEN = /[\u0000-\u001f\u007f/]/;
const CONTROL = /[\u0000-\u001f\u007f]/;

/** A field separator that cannot occur inside any field, so the canonical string is unambiguous. */
const SEP = '\n';

function hmac(key: Buffer, parts: readonly string[]): Buffer {
  return createHmac('sha256', key).update(parts.join(SEP), 'utf8').digest();
}

function sameBytes(expected: Buffer, presented: string): boolean {
  const got = Buffer.from(presented, 'base64url');
  // timingSafeEqual throws on a length mismatch; the length of a MAC is public anyway.
  return got.length === expected.length && timingSafeEqual(got, expected);
}

/** Encodes a string as unpadded base64url of its UTF-8 bytes. */
export function toBase64Url(value: string): string {
  return Buffer.from(value, 'utf8').toString('base64url');
}

/** Decodes unpadded base64url to a string, or undefined when it is not canonical base64url UTF-8. */
export function fromBase64Url(value: string): string | undefined {
  if (!B64URL_PATTERN.test(value)) return undefined;
  const decoded = Buffer.from(value, 'base64url').toString('utf8');
  // Round-tripping rejects non-canonical encodings and invalid UTF-8 (which decodes to U+FFFD).
  return toBase64Url(decoded) === value ? decoded : undefined;
}

function validId(id: string): boolean {
  return id.length > 0 && id.length <= MAX_ID_LENGTH && !ID_FORBIDDEN.test(id);
}

function validApprover(approver: string): boolean {
  return approver.length > 0 && approver.length <= MAX_APPROVER_LENGTH && !CONTROL.test(approver);
}

/** Signs a link for one approval and one approver; the expiry is floored to whole seconds. */
export function signLink(claims: LinkClaims, key: Buffer): SignedLink {
  const ms = Date.parse(claims.expiresAt);
  if (!Number.isFinite(ms)) throw new RangeError(`signLink: expiresAt is not an ISO time: ${claims.expiresAt}`);
  if (!validId(claims.approvalId)) throw new RangeError('signLink: approvalId is empty, too long or has forbidden characters');
  if (!validApprover(claims.approver)) throw new RangeError('signLink: approver is empty, too long or has control characters');
  // Flooring means the link never outlives the approval (and the waiting task) it was made for.
  const exp = Math.floor(ms / 1000);
  const sig = hmac(key, [LINK_PURPOSE, claims.approvalId, claims.approver, String(exp)]).toString('base64url');
  return { id: claims.approvalId, approver: claims.approver, exp, sig };
}

/** Checks a link's shape, signature and expiry (in that order) against the key and `now` (ISO). */
export function verifyLink(params: LinkParams, key: Buffer, now: string): LinkVerification {
  const { id, a, exp, sig } = params;
  if (id === undefined || a === undefined || exp === undefined || sig === undefined) return { ok: false, reason: 'malformed' };
  if (!validId(id) || !/^\d{1,12}$/.test(exp) || !SIG_PATTERN.test(sig)) return { ok: false, reason: 'malformed' };
  const approver = fromBase64Url(a);
  if (approver === undefined || !validApprover(approver)) return { ok: false, reason: 'malformed' };
  const expSeconds = Number(exp);
  // "0123" and "123" would sign differently; only the canonical form is ever issued.
  if (String(expSeconds) !== exp) return { ok: false, reason: 'malformed' };
  const expected = hmac(key, [LINK_PURPOSE, id, approver, exp]);
  if (!sameBytes(expected, sig)) return { ok: false, reason: 'bad_signature' };
  // Expiry is judged only for authentic links, so a forged expiry can never be told apart.
  const nowMs = Date.parse(now);
  if (!Number.isFinite(nowMs)) throw new RangeError(`verifyLink: now is not an ISO time: ${now}`);
  if (nowMs >= expSeconds * 1000) return { ok: false, reason: 'expired' };
  return { ok: true, approvalId: id, approver, exp: expSeconds, expiresAt: new Date(expSeconds * 1000).toISOString() };
}

/** Builds `${baseUrl}/approvals/<id>?a=<approver b64url>&exp=<unix seconds>&sig=<sig>`. */
export function linkUrl(baseUrl: string, signed: SignedLink): string {
  const base = baseUrl.replace(/\/+$/, '');
  return `${base}${linkPath(signed)}`;
}

/** The path and query of a signed link (what the confirmation form posts back to). */
export function linkPath(signed: SignedLink): string {
  return `/approvals/${encodeURIComponent(signed.id)}?${linkQuery(signed)}`;
}

/** The query string of a signed link, without the leading `?`. */
export function linkQuery(signed: Pick<SignedLink, 'approver' | 'exp' | 'sig'>): string {
  return `a=${toBase64Url(signed.approver)}&exp=${signed.exp}&sig=${signed.sig}`;
}

/** Reads the link parameters from a parsed query object (path id given separately). */
export function parseLinkQuery(id: string | undefined, query: Readonly<Record<string, string | undefined>>): LinkParams {
  return { id, a: query['a'], exp: query['exp'], sig: query['sig'] };
}

/** Reads the link parameters from a full link URL, or undefined when it is not an approval link. */
export function parseLinkUrl(url: string): LinkParams | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  const match = /\/approvals\/([^/]+)$/.exec(parsed.pathname);
  const segment = match?.[1];
  if (segment === undefined) return undefined;
  let id: string;
  try {
    id = decodeURIComponent(segment);
  } catch {
    return undefined;
  }
  const q = parsed.searchParams;
  return { id, a: q.get('a') ?? undefined, exp: q.get('exp') ?? undefined, sig: q.get('sig') ?? undefined };
}

/** Mints the CSRF token a confirmation page embeds; the POST must echo it with the same nonce. */
export function csrfToken(claims: CsrfClaims, key: Buffer, nonce: string): string {
  if (!NONCE_PATTERN.test(nonce)) throw new RangeError('csrfToken: nonce must be 16-128 base64url characters');
  return hmac(key, [CSRF_PURPOSE, claims.approvalId, claims.approver, String(claims.exp), nonce]).toString('base64url');
}

/** Checks a CSRF token and nonce echoed by a POST against the link they were minted for. */
export function verifyCsrf(claims: CsrfClaims, key: Buffer, nonce: string | undefined, token: string | undefined): boolean {
  if (nonce === undefined || token === undefined) return false;
  if (!NONCE_PATTERN.test(nonce) || !SIG_PATTERN.test(token)) return false;
  return sameBytes(hmac(key, [CSRF_PURPOSE, claims.approvalId, claims.approver, String(claims.exp), nonce]), token);
}
