/**
 * What prospects receive: prospect-facing copy only (never the planning topic, a CRM objection
 * note or the agent's rationale), merge fields escaped, and every header value one line.
 */
import { describe, expect, it } from 'vitest';
import { verifyUnsubscribeToken } from '../../shared/domain/unsubscribe.ts';
import { ConnectorToolGateway } from '../../shared/adapters/email-connector.ts';
import { builtInEmail, oneLine } from '../../shared/domain/prospect-email.ts';
import { ToolRejectedError } from '../../shared/domain/errors.ts';
import type { OutgoingEmail } from '../../shared/ports/index.ts';
import { anAction, aStakeholder } from './builders.ts';


const SENDER = { from: 'agents@corp.example', name: 'Corp', postalAddress: '1 Corp Way, Corptown', unsubscribeBaseUrl: 'https://approvals.example', linkKey: Buffer.alloc(32, 3) };

describe('the email a prospect receives', () => {
  const hostile = 'Acme\r\nBcc: everyone@evil.example <script>alert(1)</script>';

  it('keeps a header value on one line and bounded', () => {
    expect(oneLine('a\r\nb\nc\u2028d\u0000e')).toBe('a b c d e');
    expect(oneLine('x'.repeat(300), 10)).toHaveLength(10);
  });

  it('puts the account name into the subject on one line, and escapes it in the HTML', () => {
    const email = builtInEmail('executive_briefing', [{ name: 'Dana Buyer' }], hostile);
    expect(email?.subject).not.toMatch(/[\r\n]/);
    expect(email?.subject).toContain('Acme Bcc: everyone@evil.example');
    expect(email?.html).not.toContain('<script>');
    expect(email?.html).toContain('&lt;script&gt;');
    expect(email?.text.startsWith('Hello Dana,')).toBe(true);
  });

  it("keeps a $ in the account's name as written (no replacement pattern)", () => {
    const email = builtInEmail('executive_briefing', [{ name: 'Dana Buyer' }], "Cash$& Co $'");
    expect(email?.subject).toContain("Cash$& Co $'");
    expect(email?.html).toContain('Cash$&amp; Co $&#39;');
  });

  it('sends nothing internal: not the topic with the CRM objection note, not the rationale', async () => {
    const sent: OutgoingEmail[] = [];
    const gateway = new ConnectorToolGateway({ send: async (e) => (sent.push(e), { messageId: 'm-1' }) }, SENDER);
    const action = anAction({
      type: 'objection_response',
      content: { topic: 'Objection: they think our price is a rip-off (CRM note by Sam)', subject: `Your questions about our fit for ${hostile}` },
      rationale: 'Answer the open objection "pricing" with the blocker; internal scoring 0.42',
    });
    const out = await gateway.execute(action, [aStakeholder({ name: 'Olivia Farouk' })], { id: action.accountId, name: hostile });
    expect(out).toEqual({ ok: true, externalId: 'm-1' });
    const email = sent[0] as OutgoingEmail;
    const everything = `${email.subject}\n${email.text}\n${email.html}`;
    for (const internal of ['Objection:', 'rip-off', 'CRM note', 'open objection', 'internal scoring', '0.42']) expect(everything).not.toContain(internal);
    expect(email.subject).not.toMatch(/[\r\n]/);
    expect(email.tags).toEqual({ 'amk-kind': 'prospect', 'amk-account': 'acc-1', 'amk-stakeholder': 'st-1', 'amk-action': 'act-1' });
  });

  it('gives every person their own email with a signed one-click unsubscribe link (RFC 8058 headers and footer) and the postal address', async () => {
    const sent: OutgoingEmail[] = [];
    let n = 0;
    const gateway = new ConnectorToolGateway({ send: async (e) => (sent.push(e), { messageId: `m-${(n += 1)}` }) }, SENDER);
    const people = [aStakeholder({ id: 'st-1', email: 'one@acme.example' }), aStakeholder({ id: 'st-2', email: 'two@acme.example', name: 'Two Person' })];
    const out = await gateway.execute(anAction({ stakeholderIds: ['st-1', 'st-2'] }), people, { id: 'acc-1', name: 'Acme' });
    expect(out).toEqual({ ok: true, externalId: 'm-1,m-2' });
    expect(sent.map((e) => e.to)).toEqual([['one@acme.example'], ['two@acme.example']]);
    for (const [i, email] of sent.entries()) {
      const url = /^<(.+)>$/.exec(email.headers?.['List-Unsubscribe'] ?? '')?.[1] ?? '';
      expect(email.headers?.['List-Unsubscribe-Post']).toBe('List-Unsubscribe=One-Click');
      expect(url.startsWith('https://approvals.example/u/')).toBe(true);
      expect(verifyUnsubscribeToken(url.slice('https://approvals.example/u/'.length), SENDER.linkKey)).toEqual({ accountId: 'acc-1', stakeholderId: `st-${i + 1}` });
      expect(email.text).toContain(url);
      expect(email.text).toContain(SENDER.postalAddress);
      expect(email.html).toContain(SENDER.postalAddress);
      expect(email.tags?.['amk-stakeholder']).toBe(`st-${i + 1}`);
    }
  });

  it('refuses an email action it has no prospect-facing copy for, rather than send the topic', async () => {
    const gateway = new ConnectorToolGateway({ send: async () => ({ messageId: 'm' }) }, SENDER);
    // ad_audience_add is not an email: the connector refuses tools it does not carry.
    await expect(gateway.execute(anAction({ type: 'ad_audience_add' }), [aStakeholder()], { id: 'a', name: 'A' })).rejects.toBeInstanceOf(ToolRejectedError);
  });
});
