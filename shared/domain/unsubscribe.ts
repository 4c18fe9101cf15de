/**
 * One-click unsubscribe (RFC 8058) for every marketing email: a signed link per recipient, the
 * `List-Unsubscribe` and `List-Unsubscribe-Post` headers that carry it, and the footer with the
 * link and the sender's postal address. Pure: the HMAC key is injected.
 *
 * The link names only the account and the person (opaque ids) and an HMAC over both, under a
 * purpose label of its own, so that an approval link's signature can never pass as one. It does
 * not expire: a person must be able to leave a list from an old email. A GET of the link only
 * shows a page with a button (mail scanners open links); the mailbox provider's one-click POST
 * (`List-Unsubscribe=One-Click`) or the button's POST opts the person out.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { fromBase64Url, toBase64Url } from './approval-link.ts';

/** Who an unsubscribe link is for. */
export interface UnsubscribeClaims {
  readonly accountId: string;
  readonly stakeholderId: string;
}

/** Path prefix of unsubscribe links on the approval endpoint. */
export const UNSUBSCRIBE_PATH = '/u/';

/** The body a mailbox provider POSTs for a one-click unsubscribe (RFC 8058 §3.1). */
export const ONE_CLICK_BODY = 'List-Unsubscribe=One-Click';

const PURPOSE = 'amk.unsubscribe.v1';
const MAX_TOKEN_LENGTH = 600;
const ID = /^[A-Za-z0-9._:-]{1,200}$/;

const mac = (key: Buffer, payload: string): string => createHmac('sha256', key).update(`${PURPOSE}\n${payload}`).digest('base64url');

/** The token of a recipient's link: base64url(account id "\n" person id) "." HMAC. */
export function unsubscribeToken(claims: UnsubscribeClaims, key: Buffer): string {
  if (!ID.test(claims.accountId) || !ID.test(claims.stakeholderId)) throw new TypeError(`unsubscribe ids must match ${ID}, got "${claims.accountId}", "${claims.stakeholderId}"`);
  const payload = toBase64Url(`${claims.accountId}\n${claims.stakeholderId}`);
  return `${payload}.${mac(key, payload)}`;
}

/** The claims of an authentic token, or undefined (malformed or not signed with `key`). */
export function verifyUnsubscribeToken(token: string | undefined, key: Buffer): UnsubscribeClaims | undefined {
  if (token === undefined || token.length > MAX_TOKEN_LENGTH) return undefined;
  const [payload, sig, ...rest] = token.split('.');
  if (payload === undefined || sig === undefined || rest.length > 0) return undefined;
  const expected = Buffer.from(mac(key, payload));
  const actual = Buffer.from(sig);
  if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) return undefined;
  const decoded = fromBase64Url(payload);
  const [accountId, stakeholderId, ...more] = (decoded ?? '').split('\n');
  if (accountId === undefined || stakeholderId === undefined || more.length > 0 || !ID.test(accountId) || !ID.test(stakeholderId)) return undefined;
  return { accountId, stakeholderId };
}

/** The recipient's unsubscribe URL on the endpoint at `baseUrl`. */
export const unsubscribeUrl = (baseUrl: string, claims: UnsubscribeClaims, key: Buffer): string =>
  `${baseUrl.replace(/\/+$/, '')}${UNSUBSCRIBE_PATH}${unsubscribeToken(claims, key)}`;

/** The RFC 8058 headers of an email whose one-click unsubscribe URL is `url` (HTTPS in AWS). */
export const unsubscribeHeaders = (url: string): Readonly<Record<string, string>> => ({
  'List-Unsubscribe': `<${url}>`,
  'List-Unsubscribe-Post': ONE_CLICK_BODY,
});

/** What every marketing email ends with: how to leave, and who sent it from where. */
export interface EmailFooter {
  readonly text: string;
  readonly html: string;
}

const escapeHtml = (value: string): string =>
  value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

/** The footer: the unsubscribe link and the sender's name and postal address. */
export function emailFooter(input: { readonly unsubscribeUrl: string; readonly senderName: string; readonly postalAddress: string }): EmailFooter {
  const who = `${input.senderName}, ${input.postalAddress}`;
  return {
    text: ['--', `You receive this email from ${who}.`, `Unsubscribe (one click): ${input.unsubscribeUrl}`].join('\n'),
    html:
      `<hr><p style="font-size:12px;color:#555">You receive this email from ${escapeHtml(who)}.<br>` +
      `<a href="${escapeHtml(input.unsubscribeUrl)}">Unsubscribe</a> (one click).</p>`,
  };
}
