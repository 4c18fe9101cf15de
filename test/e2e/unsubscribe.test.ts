/**
 * One-click unsubscribe as a recipient and a mailbox provider use it: every email a local run
 * sends to a prospect carries the RFC 8058 headers, a footer with the same link and the sender's
 * postal address. A GET of the link (what a mail scanner does) changes nothing; the provider's
 * one-click POST opts the person out at once, audited once however often it is posted, and no
 * later run mails them again. A link that is not authentic is refused and only counted.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readEml, type ParsedEml } from '../../local/outbox.ts';
import type { LocalRuntime } from '../../local/runtime.ts';
import { DEFAULT_POSTAL_ADDRESS } from '../../cdk/synth.ts';
import { runWeekWith, startTestRuntime } from '../integration/workflow-fixture.ts';

const prospectEmails = (runtime: LocalRuntime): Array<ParsedEml & { file: string }> => {
  const dir = join(runtime.outboxDir, 'prospects');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.eml'))
    .sort()
    .map((f) => ({ ...readEml(join(dir, f)), file: f }));
};

describe('one-click unsubscribe', () => {
  let env: Awaited<ReturnType<typeof startTestRuntime>>;
  let runtime: LocalRuntime;
  let firstWeek: Array<ParsedEml & { file: string }>;
  beforeAll(async () => {
    env = await startTestRuntime('config/campaigns/q1-committee-expansion.yaml', { seed: 'unsubscribe-test' });
    runtime = env.runtime;
    await runWeekWith(runtime, { approveRate: 1 });
    firstWeek = prospectEmails(runtime);
  }, 240_000);
  afterAll(async () => {
    await env?.stop();
  });

  it('puts the RFC 8058 headers, the link and the postal address in every email to a prospect, one person per email', () => {
    expect(firstWeek.length).toBeGreaterThan(5);
    for (const email of firstWeek) {
      expect(email.to, email.file).toHaveLength(1);
      const url = /^<(http:\/\/127\.0\.0\.1:\d+\/u\/[A-Za-z0-9_.-]+)>$/.exec(email.headers['list-unsubscribe'] ?? '')?.[1];
      expect(url, email.file).toBeDefined();
      expect(email.headers['list-unsubscribe-post'], email.file).toBe('List-Unsubscribe=One-Click');
      expect(email.text, email.file).toContain(url);
      expect(email.text, email.file).toContain(DEFAULT_POSTAL_ADDRESS);
      expect(email.html, email.file).toContain(DEFAULT_POSTAL_ADDRESS);
    }
  });

  it('opts the person out on the one-click POST (not on a GET), once, and never mails them again', async () => {
    const email = firstWeek[0] as ParsedEml;
    const url = /^<(.+)>$/.exec(email.headers['list-unsubscribe'] ?? '')?.[1] as string;
    const address = email.to[0]?.replace(/^.*<|>$/g, '') as string;
    const person = runtime.market.book().stakeholders.find((s) => s.email === address);
    expect(person).toBeDefined();
    const stored = async () => (await runtime.deps.accounts.listStakeholders(person?.accountId as string)).find((s) => s.id === person?.id);
    const before = await stored();
    expect(before?.consent).not.toBe('opted_out');

    // A scanner opening the link: a page with one button, nothing changed.
    const page = await fetch(url);
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/<form method="post">/);
    expect((await stored())?.consent).toBe(before?.consent);

    // The mailbox provider's one-click POST, delivered twice.
    for (let i = 0; i < 2; i += 1) {
      const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' });
      expect(r.status).toBe(200);
      expect(await r.text()).toMatch(/You are unsubscribed/);
    }
    expect((await stored())?.consent).toBe('opted_out');
    const audited = (await runtime.deps.audit.readStream(`ACCOUNT#${person?.accountId}`)).filter((e) => JSON.stringify(e.data).includes(person?.id as string) && JSON.stringify(e.data).includes('unsubscribe'));
    expect(audited).toHaveLength(1);

    // Weeks later: every email that went out went to someone else.
    await runWeekWith(runtime, { approveRate: 1 });
    await runWeekWith(runtime, { approveRate: 1 });
    const later = prospectEmails(runtime).filter((e) => !firstWeek.some((f) => f.file === e.file));
    expect(later.length).toBeGreaterThan(0);
    for (const e of later) expect(e.to.join(','), e.file).not.toContain(address);
  }, 240_000);

  it('refuses a link that is not authentic, changing nothing', async () => {
    const email = firstWeek[1] as ParsedEml;
    const url = /^<(.+)>$/.exec(email.headers['list-unsubscribe'] ?? '')?.[1] as string;
    const forged = `${url.slice(0, -4)}AAAA`;
    const r = await fetch(forged, { method: 'POST', body: 'List-Unsubscribe=One-Click', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(r.status).toBe(400);
    const address = email.to[0]?.replace(/^.*<|>$/g, '') as string;
    const person = runtime.market.book().stakeholders.find((s) => s.email === address);
    expect((await runtime.deps.accounts.listStakeholders(person?.accountId as string)).find((s) => s.id === person?.id)?.consent).not.toBe('opted_out');
  });
});
