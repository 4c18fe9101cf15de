/**
 * Blast radius of one, on the synthesized state machines with the real handlers on dynalite: a
 * tool that keeps failing becomes that action's recorded failure and the rest of its page is
 * recorded; a shard or an approval branch that fails is alerted and the rest of the run completes,
 * Summarize included.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decisionsOfTurn } from '../../shared/domain/turn.ts';
import { BUSY_WEEKS, EVERY_NURTURE_ACTION, approvalsOfRun, runWeekWith, startTestRuntime, tempConfig } from './workflow-fixture.ts';

const n = (counters: Record<string, number>, key: string) => counters[key] ?? 0;

describe('a tool call that fails on every retry', () => {
  const config = tempConfig({ 'guardrails/default.yaml': BUSY_WEEKS });
  let env: Awaited<ReturnType<typeof startTestRuntime>>;
  beforeAll(async () => {
    // Act's second tool call fails, and so does the same call on each of its three retries and in the settling Act.
    env = await startTestRuntime(config.campaignFile, { accounts: 20, toolFaultsOf: { act: [2, 3, 4, 5, 6] } });
  }, 60_000);
  afterAll(async () => {
    await env?.stop();
    config.cleanup();
  });

  it('is recorded as that action\'s failed result, and the rest of the page goes out and is recorded', async () => {
    const { runtime } = env;
    const { result, counters } = await runWeekWith(runtime, { decide: () => 'approve' });
    expect(counters).toMatchObject({ toolFailures: 1 });
    expect(n(counters, 'executed')).toBeGreaterThan(0);
    // Everything executed was recorded, and touched the world once.
    expect(runtime.market.totalTouches()).toBe(n(counters, 'executed'));
    const failed: string[] = [];
    for (let i = 1; i <= 20; i++) {
      const id = `acc-${String(i).padStart(4, '0')}`;
      for (const e of await runtime.deps.audit.readStream(`ACCOUNT#${id}`)) {
        if (e.runId !== result.runId) continue;
        for (const d of decisionsOfTurn(e)) if (d.toolResult && !d.toolResult.ok) failed.push(`${d.action.id}: ${d.toolResult.detail ?? ''}`);
      }
    }
    expect(failed).toHaveLength(1);
    expect(failed[0]).toContain("failed after the workflow's retries");
  });
});

describe('a shard that fails, and an approval branch that fails', () => {
  const config = tempConfig({
    'campaigns/q1-committee-expansion.yaml': [[/^shards: \d+$/m, 'shards: 2']],
    'charters/nurture-agent.yaml': [EVERY_NURTURE_ACTION],
    'guardrails/default.yaml': BUSY_WEEKS,
  });
  let env: Awaited<ReturnType<typeof startTestRuntime>>;
  let week: Awaited<ReturnType<typeof runWeekWith>>;
  beforeAll(async () => {
    // The first Plan of the run fails (its shard's execution fails), and the first RecordDecision.
    env = await startTestRuntime(config.campaignFile, { accounts: 24, stepFaults: { plan: [1], 'record-decision': [1] } });
    week = await runWeekWith(env.runtime, { decide: (id) => (id.charCodeAt(id.length - 1) % 2 === 0 ? 'approve' : 'reject') });
  }, 120_000);
  afterAll(async () => {
    await env?.stop();
    config.cleanup();
  });

  it('completes the run and its summary, counting one failed shard and one failed approval branch', () => {
    expect(n(week.counters, 'failed.shard')).toBe(1);
    expect(n(week.counters, 'failed.approval')).toBe(1);
    // The other shard did its work.
    expect(n(week.counters, 'accounts')).toBeGreaterThan(0);
    expect(n(week.counters, 'executed')).toBeGreaterThan(0);
  });

  it('alerts both in the run\'s audit stream, with the error, and summarizes the run', async () => {
    const events = await env.runtime.deps.audit.readStream(`RUN#${week.result.runId}`);
    const alerts = events.filter((e) => e.kind === 'alert');
    expect(alerts.map((e) => e.data['alert']).sort()).toEqual(['approval_failed', 'shard_failed']);
    expect(JSON.stringify(alerts)).toContain('InjectedFault');
    expect(events.filter((e) => e.kind === 'run_summarized')).toHaveLength(1);
  });

  it('still decides every approval the run queued, the failed branch aside', async () => {
    const approvals = await approvalsOfRun(env.runtime, week.result.runId);
    expect(approvals.length).toBeGreaterThan(0);
    for (const a of approvals) expect(['approved', 'rejected']).toContain(a.status);
  });
});
