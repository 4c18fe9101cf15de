/**
 * The attacker's view of approval links, against the real local server of a running CampaignRun:
 * scanners (HEAD, GET, a script-running browser, every "Approve"/"Reject" URL), forged POSTs,
 * tampered and expired links, replays, and one approver's link used on another's approval. None
 * may decide anything; every refused attempt to decide must leave an `approval_link_rejected`
 * audit event. At the end the approvals are decided properly, so the week finishes.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyChain } from '../../shared/adapters/dynamodb/audit-log.ts';
import { APPROVALS_STREAM } from '../../shared/app/approval-decision.ts';
import { TIER2_BRIEFINGS_NEED_MARKETING_OPS } from '../integration/workflow-fixture.ts';
import { linkUrl, signLink, toBase64Url } from '../../shared/domain/approval-link.ts';
import type { Approval, AuditEvent } from '../../shared/domain/model.ts';
import {
  approvalsOfRun,
  formFields,
  launchChromium,
  mustGetApproval,
  rejectedAttempts,
  soleApprovalEmails,
  startWaitingWeek,
  type ApprovalEmail,
  type WaitingWeek,
} from './e2e-fixture.ts';

const MARKETING_OPS = 'marketing-ops@example.com';

describe('attacks on the approval links of a running campaign week', () => {
  let week: WaitingWeek;
  /** The approval under attack: every attack below leaves it pending. */
  let victim: ApprovalEmail;
  let victimBefore: Approval;
  /** An approval of another approver (marketing ops), for the cross-approver attacks. */
  let other: ApprovalEmail;
  let otherBefore: Approval;
  /** Another approval of marketing ops, decided once during the suite, then replayed. */
  let replayed: ApprovalEmail;

  beforeAll(async () => {
    // An executive briefing at a tier-2 account needs marketing ops (a guardrail rule for every
    // agent): the same week then holds approvals of two different approvers (marketing ops, and the
    // account director's for tier-1 VPs).
    week = await startWaitingWeek({
      accounts: 30,
      edits: { 'guardrails/default.yaml': TIER2_BRIEFINGS_NEED_MARKETING_OPS },
    });
    // Requests that alone decide their action (a two-person rule would add a second request per
    // action), so the final, proper decisions below settle each one.
    let sole: ApprovalEmail[] = [];
    await week.waitForApprovalEmails(async (all) => {
      sole = await soleApprovalEmails(week.runtime, all);
      return sole.some((e) => !e.to.includes(MARKETING_OPS)) && sole.filter((e) => e.to.includes(MARKETING_OPS)).length >= 2;
    });
    victim = sole.find((e) => !e.to.includes(MARKETING_OPS)) as ApprovalEmail;
    [other, replayed] = sole.filter((e) => e.to.includes(MARKETING_OPS)) as [ApprovalEmail, ApprovalEmail];
    victimBefore = await mustGetApproval(week.runtime, victim.approvalId);
    otherBefore = await mustGetApproval(week.runtime, other.approvalId);
    expect(victimBefore.status).toBe('pending');
    expect(victimBefore.approver).not.toBe(MARKETING_OPS);
    expect(otherBefore).toMatchObject({ status: 'pending', approver: MARKETING_OPS });
  });

  afterAll(async () => {
    await week?.stop();
  });

  const runStream = () => `RUN#${victimBefore.runId}`;

  /** Sends one request as a named attacker; the User-Agent ties the audit event to the case. */
  async function send(
    url: string,
    ua: string,
    init: { method?: string; form?: Record<string, string>; headers?: Record<string, string> } = {},
  ): Promise<{ status: number; body: string }> {
    const method = init.method ?? 'GET';
    const headers: Record<string, string> = { 'user-agent': ua, ...init.headers };
    let body: string | undefined;
    if (init.form !== undefined) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(init.form).toString();
    }
    const res = await fetch(url, { method, headers, ...(body !== undefined ? { body } : {}) });
    return { status: res.status, body: await res.text() };
  }

  /** The page's hidden CSRF fields, as a legitimate GET of the link shows them. */
  async function pageForm(link: string): Promise<{ csrf: string; nonce: string }> {
    const res = await fetch(link);
    const form = formFields(await res.text());
    if (form === undefined) throw new Error(`no form on ${link} (HTTP ${res.status})`);
    return form;
  }

  /** The approval is untouched: still pending on the same task token, no decision, nothing ran. */
  async function expectUndecided(before: Approval): Promise<void> {
    const now = await mustGetApproval(week.runtime, before.id);
    expect(now.status).toBe('pending');
    expect(now.version).toBe(before.version);
    expect(now.taskToken).toBe(before.taskToken);
    expect(now.decidedAt).toBeUndefined();
    expect(now.decidedBy).toBeUndefined();
    const decided = (await week.runtime.deps.audit.readStream(`RUN#${before.runId}`)).filter(
      (e) => e.kind === 'approval_decided' && e.data['approvalId'] === before.id,
    );
    expect(decided).toEqual([]);
    expect(week.runtime.market.touchCount(before.action.id)).toBe(0);
  }

  /** The refused attempts a given attacker (User-Agent) left in a stream. */
  async function attemptsBy(stream: string, ua: string): Promise<AuditEvent[]> {
    return (await rejectedAttempts(week.runtime, stream)).filter((e) => e.data['userAgent'] === ua);
  }

  /** The page views a given User-Agent left in a stream (`approval_link_opened`). */
  async function viewsBy(stream: string, ua: string): Promise<AuditEvent[]> {
    return (await week.runtime.deps.audit.readStream(stream)).filter((e) => e.kind === 'approval_link_opened' && e.data['userAgent'] === ua);
  }

  it('HEAD of the link renders nothing and decides nothing', async () => {
    const ua = 'attack/head';
    const res = await send(victim.link, ua, { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(res.body).toBe('');
    await expectUndecided(victimBefore);
    // Reading a valid link is what the approver does too: not a refused attempt, but recorded.
    expect(await attemptsBy(runStream(), ua)).toEqual([]);
    expect(await viewsBy(runStream(), ua)).toHaveLength(1);
  });

  it('GET of the link (a mail scanner) only renders the confirmation page', async () => {
    const ua = 'attack/get';
    for (let i = 0; i < 3; i++) {
      const res = await send(victim.link, ua);
      expect(res.status).toBe(200);
      expect(res.body).toContain('<form method="post">');
    }
    await expectUndecided(victimBefore);
    expect(await attemptsBy(runStream(), ua)).toEqual([]);
    expect(await viewsBy(runStream(), ua)).toHaveLength(3);
  });

  it('a headless Chromium that runs the page\'s scripts and follows every link decides nothing', async () => {
    const ua = 'attack/chromium-scanner';
    const browser = await launchChromium({ userAgent: ua });
    try {
      const page = await browser.context.newPage();
      const res = await page.goto(victim.link, { waitUntil: 'networkidle' });
      expect(res?.status()).toBe(200);
      await expect(page.getByRole('button', { name: 'Approve' }).isVisible()).resolves.toBe(true);
      // The page ships no script, and the CSP would block any that were injected.
      expect(await page.locator('script').count()).toBe(0);
      // Follow every link on the page, as a link-checking scanner would.
      const hrefs: string[] = [];
      for (const a of await page.locator('a[href]').all()) hrefs.push(new URL((await a.getAttribute('href')) ?? '', page.url()).href);
      for (const href of hrefs) await page.goto(href).catch(() => undefined);
      await page.waitForTimeout(300);
    } finally {
      await browser.close();
    }
    await expectUndecided(victimBefore);
    expect(await attemptsBy(runStream(), ua)).toEqual([]);
    expect((await viewsBy(runStream(), ua)).length).toBeGreaterThanOrEqual(1);
  });

  it('fetching the "Approve" and "Reject" URLs (a decision in the query) decides nothing and is audited', async () => {
    const ua = 'attack/decision-in-query';
    const form = await pageForm(victim.link);
    const requests: Array<{ method: string; decision: string; withToken: boolean }> = [];
    for (const decision of ['approve', 'reject']) {
      for (const method of ['GET', 'HEAD']) requests.push({ method, decision, withToken: false });
      // The page's form turned into a link, token included: still only a GET.
      requests.push({ method: 'GET', decision, withToken: true });
    }
    for (const r of requests) {
      const url = new URL(victim.link);
      url.searchParams.set('decision', r.decision);
      if (r.withToken) {
        url.searchParams.set('csrf', form.csrf);
        url.searchParams.set('nonce', form.nonce);
        url.searchParams.set('reason', 'scanner');
      }
      const res = await send(url.href, ua, { method: r.method });
      expect(res.status).toBe(200);
    }
    await expectUndecided(victimBefore);
    const events = await attemptsBy(runStream(), ua);
    expect(events.map((e) => [e.data['method'], e.data['reason'], e.data['approvalId']])).toEqual(
      requests.map((r) => [r.method, 'decision_in_get', victim.approvalId]),
    );
  });

  it('a POST without a CSRF token, with a wrong one, or with another approval\'s token decides nothing', async () => {
    const cases: Array<{ ua: string; form: Record<string, string>; reason: string }> = [];
    cases.push({ ua: 'attack/post-no-csrf', form: { decision: 'approve' }, reason: 'csrf_missing' });
    const own = await pageForm(victim.link);
    cases.push({ ua: 'attack/post-bad-csrf', form: { decision: 'approve', nonce: own.nonce, csrf: randomBytes(32).toString('base64url') }, reason: 'csrf_invalid' });
    cases.push({ ua: 'attack/post-csrf-no-nonce', form: { decision: 'approve', csrf: own.csrf }, reason: 'csrf_missing' });
    const foreign = await pageForm(replayed.link);
    cases.push({ ua: 'attack/post-foreign-csrf', form: { decision: 'approve', ...foreign }, reason: 'csrf_invalid' });
    for (const c of cases) {
      const res = await send(victim.link, c.ua, { method: 'POST', form: c.form });
      expect(res.status, c.ua).toBe(403);
      const events = await attemptsBy(runStream(), c.ua);
      expect(events.map((e) => [e.data['method'], e.data['reason'], e.data['approvalId']]), c.ua).toEqual([['POST', c.reason, victim.approvalId]]);
    }
    await expectUndecided(victimBefore);
  });

  it('a cross-site POST carrying the page\'s valid token decides nothing', async () => {
    const ua = 'attack/cross-site-post';
    const form = await pageForm(victim.link);
    const res = await send(victim.link, ua, {
      method: 'POST',
      form: { decision: 'approve', ...form },
      headers: { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
    });
    expect(res.status).toBe(403);
    await expectUndecided(victimBefore);
    const events = await attemptsBy(runStream(), ua);
    expect(events.map((e) => [e.data['method'], e.data['reason']])).toEqual([['POST', 'cross_site_post']]);
  });

  it('a tampered id, signature, approver or expiry is refused on GET and POST', async () => {
    const valid = new URL(victim.link);
    const form = await pageForm(victim.link);
    const tamper = (edit: (u: URL) => void): string => {
      const u = new URL(valid.href);
      edit(u);
      return u.href;
    };
    const sig = valid.searchParams.get('sig') ?? '';
    const exp = Number(valid.searchParams.get('exp'));
    const cases: Array<{ ua: string; url: string; approvalId: string }> = [
      // Another approval's id under this link's signature.
      { ua: 'attack/tampered-id', url: tamper((u) => (u.pathname = `/approvals/${encodeURIComponent(other.approvalId)}`)), approvalId: other.approvalId },
      // The first character carries 6 whole bits of the MAC (the last one has 2 padding bits).
      { ua: 'attack/tampered-sig', url: tamper((u) => u.searchParams.set('sig', (sig.startsWith('A') ? 'B' : 'A') + sig.slice(1))), approvalId: victim.approvalId },
      { ua: 'attack/tampered-approver', url: tamper((u) => u.searchParams.set('a', toBase64Url('mallory@evil.example'))), approvalId: victim.approvalId },
      { ua: 'attack/tampered-expiry', url: tamper((u) => u.searchParams.set('exp', String(exp + 30 * 86_400))), approvalId: victim.approvalId },
    ];
    // Anyone can send these: they are counted per hour and reason (one item), never appended to
    // an audit stream one by one, so a flood cannot grow storage or any chain.
    const hour = () => week.runtime.clock().slice(0, 13);
    const auditBefore = (await week.runtime.deps.audit.readStream(APPROVALS_STREAM)).length;
    for (const c of cases) {
      const before = await week.runtime.deps.runs.refusedIn(hour());
      const get = await send(c.url, c.ua);
      expect(get.status, c.ua).toBe(403);
      expect(get.body, c.ua).toContain('This link is not valid');
      // Even with a valid form token of the real link.
      const post = await send(c.url, c.ua, { method: 'POST', form: { decision: 'approve', ...form } });
      expect(post.status, c.ua).toBe(403);
      const after = await week.runtime.deps.runs.refusedIn(hour());
      expect((after['bad_signature'] ?? 0) - (before['bad_signature'] ?? 0), c.ua).toBe(2);
      expect(await attemptsBy(runStream(), c.ua)).toEqual([]);
    }
    expect((await week.runtime.deps.audit.readStream(APPROVALS_STREAM)).length).toBe(auditBefore);
    await expectUndecided(victimBefore);
    await expectUndecided(otherBefore);
  });

  it('an expired link, authentically signed, is refused on GET and POST', async () => {
    const ua = 'attack/expired';
    const { runtime } = week;
    const expiresAt = new Date(Date.parse(runtime.clock()) - 3_600_000).toISOString();
    const url = linkUrl(runtime.approvalUrl, signLink({ approvalId: victim.approvalId, approver: victimBefore.approver, expiresAt }, runtime.deps.signingKey));
    const form = await pageForm(victim.link);
    const get = await send(url, ua);
    expect(get.status).toBe(410);
    expect(get.body).toContain('This link has expired');
    const post = await send(url, ua, { method: 'POST', form: { decision: 'approve', ...form } });
    expect(post.status).toBe(410);
    await expectUndecided(victimBefore);
    const events = await attemptsBy(runStream(), ua);
    expect(events.map((e) => [e.data['method'], e.data['reason'], e.data['approvalId']])).toEqual([
      ['GET', 'expired', victim.approvalId],
      ['POST', 'expired', victim.approvalId],
    ]);
  });

  it('a link of one approver cannot decide another approver\'s approval', async () => {
    const { runtime } = week;
    // Validly signed for marketing ops (the real approver of `other`), but for the victim's approval,
    // and the other way round.
    const expiresAt = otherBefore.expiresAt ?? '';
    const crossed = [
      {
        ua: 'attack/cross-approver-ops-on-victim',
        target: victimBefore,
        actor: MARKETING_OPS,
        url: linkUrl(runtime.approvalUrl, signLink({ approvalId: victim.approvalId, approver: MARKETING_OPS, expiresAt }, runtime.deps.signingKey)),
      },
      {
        ua: 'attack/cross-approver-victim-on-ops',
        target: otherBefore,
        actor: victimBefore.approver,
        url: linkUrl(runtime.approvalUrl, signLink({ approvalId: other.approvalId, approver: victimBefore.approver, expiresAt }, runtime.deps.signingKey)),
      },
    ];
    for (const c of crossed) {
      const get = await send(c.url, c.ua);
      expect(get.status, c.ua).toBe(403);
      expect(get.body, c.ua).toContain('This link cannot decide this approval');
      expect(formFields(get.body), c.ua).toBeUndefined();
      const post = await send(c.url, c.ua, { method: 'POST', form: { decision: 'approve' } });
      expect(post.status, c.ua).toBe(403);
      const events = await attemptsBy(`RUN#${c.target.runId}`, c.ua);
      expect(events.map((e) => [e.data['method'], e.data['reason'], e.data['approvalId'], e.actor]), c.ua).toEqual([
        ['GET', 'approver_mismatch', c.target.id, c.actor],
        ['POST', 'approver_mismatch', c.target.id, c.actor],
      ]);
    }
    await expectUndecided(victimBefore);
    await expectUndecided(otherBefore);
  });

  it('decides exactly once: a double submit and a replayed POST after the decision change nothing', async () => {
    const ua = 'attack/replay';
    const { runtime } = week;
    const before = await mustGetApproval(runtime, replayed.approvalId);
    expect(before.status).toBe('pending');
    const form = { decision: 'reject', reason: 'Not this account this week.', ...(await pageForm(replayed.link)) };
    // The legitimate decision, double-submitted at once: exactly one wins.
    const first = await Promise.all([send(replayed.link, ua, { method: 'POST', form }), send(replayed.link, ua, { method: 'POST', form })]);
    expect(first.map((r) => r.status).sort()).toEqual([200, 409]);
    const decided = await mustGetApproval(runtime, replayed.approvalId);
    expect(decided).toMatchObject({ status: 'rejected', reason: 'Not this account this week.', decidedBy: MARKETING_OPS, reviewerKind: 'human' });
    // Replays later: the same form, and the same form flipped to approve.
    const replay = await send(replayed.link, ua, { method: 'POST', form });
    expect(replay.status).toBe(409);
    expect(replay.body).toContain('already rejected');
    const flipped = await send(replayed.link, ua, { method: 'POST', form: { ...form, decision: 'approve' } });
    expect(flipped.status).toBe(409);

    const after = await mustGetApproval(runtime, replayed.approvalId);
    expect(after).toEqual(decided);
    const runEvents = await runtime.deps.audit.readStream(`RUN#${before.runId}`);
    expect(runEvents.filter((e) => e.kind === 'approval_decided' && e.data['approvalId'] === before.id)).toHaveLength(1);
    const refused = (await attemptsBy(`RUN#${before.runId}`, ua)).map((e) => [e.data['method'], e.data['reason'], e.data['approvalId']]);
    expect(refused).toEqual([
      ['POST', 'already_decided', before.id],
      ['POST', 'already_decided', before.id],
      ['POST', 'already_decided', before.id],
    ]);
    expect(runtime.market.touchCount(before.action.id)).toBe(0);
    await expectUndecided(victimBefore);
  });

  it('after all that, the approvals are decided properly once and the week finishes', async () => {
    const { runtime } = week;
    const { result, counters } = await week.finish('reject');
    expect(result.runId).toBe(victimBefore.runId);
    expect(counters['needsApproval']).toBeGreaterThanOrEqual(3);
    expect(counters['rejected']).toBeGreaterThanOrEqual(3);
    expect(counters['approved'] ?? 0).toBe(0);
    // Nothing that needed approval ran: no approval ended approved, no approved action touched anyone.
    const approvals = await approvalsOfRun(runtime, result.runId);
    expect(approvals.length).toBeGreaterThanOrEqual(counters['needsApproval'] ?? 0);
    for (const a of approvals) {
      expect(['rejected', 'skipped'], a.id).toContain(a.status);
      expect(runtime.market.touchCount(a.action.id), a.id).toBe(0);
    }
    const victimAfter = await mustGetApproval(runtime, victim.approvalId);
    expect(victimAfter).toMatchObject({ status: 'rejected', decidedBy: victimBefore.approver, reviewerKind: 'simulated' });
    expect(await mustGetApproval(runtime, other.approvalId)).toMatchObject({ status: 'rejected', decidedBy: MARKETING_OPS });
    const runEvents = await runtime.deps.audit.readStream(`RUN#${result.runId}`);
    for (const id of [victim.approvalId, other.approvalId, replayed.approvalId]) {
      expect(runEvents.filter((e) => e.kind === 'approval_decided' && e.data['approvalId'] === id), id).toHaveLength(1);
      expect(runtime.market.touchCount((await mustGetApproval(runtime, id)).action.id)).toBe(0);
    }
    // The refused attempts sit in the run's chain, which is still intact.
    expect(runEvents.filter((e) => e.kind === 'approval_link_rejected').length).toBeGreaterThanOrEqual(15);
    expect(verifyChain(runEvents).ok).toBe(true);
    expect(verifyChain(await runtime.deps.audit.readStream(APPROVALS_STREAM)).ok).toBe(true);
  });
});
