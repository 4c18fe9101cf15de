import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { signLink } from '../../shared/domain/approval-link.ts';
import { ONE_CLICK_BODY, emailFooter, unsubscribeHeaders, unsubscribeToken, unsubscribeUrl, verifyUnsubscribeToken } from '../../shared/domain/unsubscribe.ts';

const key = Buffer.alloc(32, 7);
const other = Buffer.alloc(32, 8);
const who = { accountId: 'acc-0001', stakeholderId: 'acc-0001-st-2' };

describe('unsubscribe links', () => {
  it('verify for the person they were issued to, and only with the key that signed them', () => {
    const token = unsubscribeToken(who, key);
    expect(verifyUnsubscribeToken(token, key)).toEqual(who);
    expect(verifyUnsubscribeToken(token, other)).toBeUndefined();
  });

  it('refuse any change to the token, and junk of any shape', () => {
    const token = unsubscribeToken(who, key);
    const forged = `${Buffer.from('acc-0001\nacc-0001-st-3').toString('base64url')}.${token.split('.')[1]}`;
    expect(verifyUnsubscribeToken(forged, key)).toBeUndefined();
    fc.assert(
      fc.property(fc.string({ maxLength: 700 }), (junk) => {
        expect(verifyUnsubscribeToken(junk, key)).toBeUndefined();
      }),
    );
    expect(verifyUnsubscribeToken(undefined, key)).toBeUndefined();
  });

  it('cannot be made from an approval link signature (a purpose label of their own)', () => {
    const link = signLink({ approvalId: 'acc-0001', approver: 'acc-0001-st-2', expiresAt: '2030-01-01T00:00:00Z' }, key);
    const payload = Buffer.from('acc-0001\nacc-0001-st-2').toString('base64url');
    expect(verifyUnsubscribeToken(`${payload}.${link.sig}`, key)).toBeUndefined();
  });

  it('go in the RFC 8058 headers as an angle-bracketed URL, with the one-click POST body', () => {
    const url = unsubscribeUrl('https://abc.lambda-url.us-east-1.on.aws/', who, key);
    expect(url).toMatch(/^https:\/\/abc\.lambda-url\.us-east-1\.on\.aws\/u\/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(unsubscribeHeaders(url)).toEqual({ 'List-Unsubscribe': `<${url}>`, 'List-Unsubscribe-Post': ONE_CLICK_BODY });
  });

  it('end every email with the link and the sender’s postal address, escaped in HTML', () => {
    const footer = emailFooter({ unsubscribeUrl: 'https://x.example/u/a.b', senderName: 'Northwind <Analytics>', postalAddress: '1 Example St, London' });
    expect(footer.text).toContain('https://x.example/u/a.b');
    expect(footer.text).toContain('1 Example St, London');
    expect(footer.html).toContain('Northwind &lt;Analytics&gt;');
    expect(footer.html).toContain('href="https://x.example/u/a.b"');
  });
});
