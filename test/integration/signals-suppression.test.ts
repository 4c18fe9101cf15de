/**
 * Signals in, on the embedded default (every function with its synthesized environment and IAM):
 * a hard bounce and a complaint that SES publishes about a prospect email suppress the address at
 * once, so the next run mails neither person; a bounce that arrives while an action for that
 * person waits for its approval keeps the approved action from being sent; the signed endpoint
 * and `amk signals ingest` go through signals-http as a sender would.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postSignals, readSignalFile, renderProblems } from '../../local/cli/signals.ts';
import { sesEventOf } from '../../local/engine/ses-events.ts';
import type { LocalRuntime } from '../../local/runtime.ts';
import { GUARDRAIL } from '../../shared/domain/governance.ts';
import { signalRequestHeaders } from '../../shared/domain/signals-signature.ts';
import { BUSY_WEEKS, EVERY_NURTURE_ACTION, runWeekWith, startTestRuntime, tempConfig } from './workflow-fixture.ts';

const unix = (iso: string) => Math.floor(Date.parse(iso) / 1000);

/** Signs and POSTs one batch to the runtime's signals endpoint. */
async function postBatch(runtime: LocalRuntime, signals: unknown[]): Promise<{ status: number; json: Record<string, unknown> }> {
  const body = JSON.stringify({ signals });
  const res = await fetch(`${runtime.signals.url}/signals`, { method: 'POST', headers: { 'content-type': 'application/json', ...signalRequestHeaders(runtime.deps.signalsKey, unix(runtime.clock()), body) }, body });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

describe('a bounce and a complaint from SES suppress the address before the next run', () => {
  const config = tempConfig({ 'guardrails/default.yaml': BUSY_WEEKS });
  let env: Awaited<ReturnType<typeof startTestRuntime>>;
  beforeAll(async () => {
    env = await startTestRuntime(config.campaignFile, { accounts: 12 });
  }, 60_000);
  afterAll(async () => {
    await env?.stop();
    config.cleanup();
  });

  it('marks both people do-not-contact at once (the complaint opted out too), and the next run sends them nothing', async () => {
    const { runtime } = env;
    await runWeekWith(runtime, { approveRate: 1 });
    const sent = runtime.signals.sentProspectEmails.filter((e) => e.to.length === 1);
    const [bounced, complained] = [sent[0], sent.find((e) => e.to[0] !== sent[0]?.to[0])];
    if (bounced === undefined || complained === undefined) throw new Error('the first week sent fewer than two prospect emails to two people');
    const results = await runtime.putEvents([sesEventOf(bounced, 'bounce', { at: runtime.clock() }), sesEventOf(complained, 'complaint', { at: runtime.clock() })]);
    // Each event reached ses-events once (through the template's rule) and suppressed its person.
    expect(results.map((r) => r.deliveries.map((d) => [d.error, (d.result as { ingested?: { suppressed: unknown[] } }).ingested?.suppressed.length]))).toEqual([[[undefined, 1]], [[undefined, 1]]]);
    const personOf = async (email: typeof bounced) => {
      const accountId = email.tags['amk-account'] as string;
      return (await runtime.deps.accounts.listStakeholders(accountId)).find((s) => s.email === email.to[0]);
    };
    const [b, c] = [await personOf(bounced), await personOf(complained)];
    expect(b).toMatchObject({ doNotContact: true });
    expect(c).toMatchObject({ doNotContact: true, consent: 'opted_out' });

    const before = runtime.signals.sentProspectEmails.length;
    await runWeekWith(runtime, { approveRate: 1 });
    const after = runtime.signals.sentProspectEmails.slice(before);
    expect(after.length).toBeGreaterThan(0);
    const addresses = new Set(after.flatMap((e) => e.to));
    expect(addresses.has(bounced.to[0] as string)).toBe(false);
    expect(addresses.has(complained.to[0] as string)).toBe(false);
    // The account's audit trail says who was suppressed, why, by id (never by address).
    const alerts = (await runtime.deps.audit.readStream(`ACCOUNT#${bounced.tags['amk-account']}`)).filter((e) => e.data['alert'] === 'stakeholder_suppressed');
    expect(alerts.map((e) => [e.data['stakeholderId'], e.data['signalKind'], e.actor])).toContainEqual([b?.id, 'bounce', 'system:ses-events']);
    expect(JSON.stringify(alerts)).not.toContain(bounced.to[0]);
  }, 120_000);

  it('stores what a sender POSTs, signed with the local key, once; and amk signals ingest validates a whole file first, naming line, field and value', async () => {
    const { runtime } = env;
    const account = runtime.market.book().accounts[0];
    if (!account) throw new Error('no account in the book');
    const signals = [
      { id: 'crm-1', accountId: account.id, kind: 'crm_stage_change', stage: 'evaluating', at: runtime.clock() },
      { id: 'web-1', accountId: account.id, kind: 'web_visit', at: runtime.clock() },
    ];
    expect(await postBatch(runtime, signals)).toMatchObject({ status: 200, json: { stored: 2 } });

    const dir = mkdtempSync(join(tmpdir(), 'amk-signals-file-'));
    try {
      const bad = join(dir, 'bad.jsonl');
      writeFileSync(bad, `${JSON.stringify(signals[0])}\n\n{"id":"x","accountId":"${account.id}","kind":"opne","at":"2027-01-01T00:00:00Z"}\nnot json\n`);
      const read = readSignalFile(bad);
      expect(read.problems.map((p) => [p.line, p.path, p.value])).toEqual([
        [3, 'kind', '"opne"'],
        [4, '(line)', 'not json'],
      ]);
      expect(renderProblems('bad.jsonl', read.problems)).toContain('line 3, kind: got "opne", Invalid option: expected one of');

      const good = join(dir, 'good.jsonl');
      writeFileSync(good, [...signals, { id: 'web-2', accountId: account.id, kind: 'web_visit', at: runtime.clock() }].map((s) => JSON.stringify(s)).join('\n'));
      const file = readSignalFile(good);
      expect(file.problems).toEqual([]);
      const summary = await postSignals(runtime, 'good.jsonl', file.signals);
      expect(summary).toMatchObject({ signals: 3, requests: 1, stored: 1, duplicates: 2, conflicts: [] });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const stored = (await runtime.deps.accounts.listSignalsSince(account.id, null)).filter((s) => ['crm-1', 'web-1', 'web-2'].includes(s.id));
    expect(stored.map((s) => s.id).sort()).toEqual(['crm-1', 'web-1', 'web-2']);
  }, 60_000);
});

describe('a bounce while an action waits for approval keeps the approved action from being sent', () => {
  const config = tempConfig({ 'guardrails/default.yaml': BUSY_WEEKS, 'charters/nurture-agent.yaml': [EVERY_NURTURE_ACTION] });
  let env: Awaited<ReturnType<typeof startTestRuntime>>;
  beforeAll(async () => {
    env = await startTestRuntime(config.campaignFile, { accounts: 12 });
  }, 60_000);
  afterAll(async () => {
    await env?.stop();
    config.cleanup();
  });

  it('blocks the approved action at send (consent), mails nobody it was for, and audits why', async () => {
    const { runtime } = env;
    const suppressed = new Map<string, string>();
    const { result } = await runWeekWith(runtime, {
      decide: () => 'approve',
      // Before the reviewer approves the first approval, its person's address bounces (a signal
      // a sender POSTs, signed; the same use case as SES's events).
      ignore: async (approvalId) => {
        if (suppressed.size > 0) return false;
        const approval = await runtime.deps.approvals.get(approvalId);
        const stakeholderId = approval?.action.stakeholderIds[0];
        if (approval === undefined || stakeholderId === undefined) return false;
        const out = await postBatch(runtime, [{ id: `bounce-${approvalId}`, accountId: approval.accountId, stakeholderId, kind: 'bounce', at: runtime.clock() }]);
        expect(out).toMatchObject({ status: 200, json: { suppressed: [{ stakeholderId }] } });
        suppressed.set(approval.action.id, stakeholderId);
        return false;
      },
    });
    expect(suppressed.size).toBe(1);
    const [actionId, stakeholderId] = [...suppressed][0] ?? [];
    const events = await runtime.deps.audit.readStream(`RUN#${result.runId}`);
    const blocked = events.filter((e) => e.kind === 'alert' && e.data['alert'] === 'blocked_at_send' && e.data['actionId'] === actionId);
    expect(blocked.map((e) => e.data['guardrail'])).toEqual([GUARDRAIL.consent]);
    expect(events.filter((e) => e.kind === 'tool_call' && e.data['actionId'] === actionId)).toEqual([]);
    const person = (await runtime.deps.accounts.listStakeholders(blocked[0]?.accountId ?? '')).find((s) => s.id === stakeholderId);
    expect(runtime.signals.sentProspectEmails.flatMap((e) => e.to)).not.toContain(person?.email);
  }, 120_000);
});
