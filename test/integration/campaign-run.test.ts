/**
 * A CampaignRun through the synthesized definitions (parent and child) on dynalite, with the real
 * handlers, the real approval page (followed from the .eml by the reviewer), the local Step
 * Functions callback endpoint and the market simulator. Every path of an action is exercised:
 * approve, reject, timeout with escalation, a retried tool failure, and a guardrail block.
 */
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { readEml } from '../../local/outbox.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../shared/domain/model.ts';
import { verifyChain } from '../../shared/adapters/dynamodb/audit-log.ts';
import { decisionsOfTurn } from '../../shared/domain/turn.ts';
import { BUSY_WEEKS, EVERY_NURTURE_ACTION, approvalsOfRun, runWeekWith, startTestRuntime, tempConfig } from './workflow-fixture.ts';
import { SimulatedReviewer } from '../../local/reviewer.ts';
import { RunSummary } from '../../shared/app/contracts.ts';

const n = (counters: Record<string, number>, key: string) => counters[key] ?? 0;

describe('a campaign run on the synthesized state machine', () => {
  // Two shards, so approvals queued by parallel AccountBatch executions are all waited for; every
  // nurture action needs approval, so that each week surely has some.
  const config = tempConfig({
    'campaigns/q1-committee-expansion.yaml': [[/^shards: \d+$/m, 'shards: 2']],
    'charters/nurture-agent.yaml': [EVERY_NURTURE_ACTION],
    'guardrails/default.yaml': BUSY_WEEKS,
  });
  let env: Awaited<ReturnType<typeof startTestRuntime>>;
  beforeAll(async () => {
    env = await startTestRuntime(config.campaignFile, { accounts: 30 });
  });
  afterAll(async () => {
    await env?.stop();
    config.cleanup();
  });

  // One week, the reviewer approving some requests and rejecting the others, and everyone at one
  // account opted out before it starts.
  let week: Awaited<ReturnType<typeof runWeekWith>>;
  let optedOutAccount = '';
  const decideByHash = (id: string): 'approve' | 'reject' => (createHash('sha256').update(id).digest()[0] as number) % 2 === 0 ? 'approve' : 'reject';
  beforeAll(async () => {
    const { runtime } = env;
    optedOutAccount = 'acc-0001';
    for (const s of await runtime.deps.accounts.listStakeholders(optedOutAccount)) await runtime.deps.accounts.putStakeholder({ ...s, consent: 'opted_out' });
    week = await runWeekWith(runtime, { decide: decideByHash });
  }, 120_000);

  it('executes an approved action once, only after every recorded approval it needs', async () => {
    const { runtime } = env;
    const { result, counters } = week;
    expect(n(counters, 'needsApproval')).toBeGreaterThan(0);
    const approvals = await approvalsOfRun(runtime, result.runId);
    // One request per required approver: two for an action under the two-person rule.
    expect(approvals.length).toBe(n(counters, 'approvalRequests'));
    const byAction = new Map<string, typeof approvals>();
    for (const a of approvals) byAction.set(a.action.id, [...(byAction.get(a.action.id) ?? []), a]);
    expect(byAction.size).toBe(n(counters, 'needsApproval'));
    const approvedActions = [...byAction].filter(([, group]) => group.every((a) => a.status === 'approved')).map(([id]) => id);
    expect(approvedActions.length).toBeGreaterThan(0);
    for (const approval of approvals) {
      expect(['approved', 'rejected']).toContain(approval.status);
      expect(approval.reviewerKind).toBe('simulated');
    }
    for (const id of approvedActions) expect(runtime.market.touchCount(id)).toBe(1);
    const runEvents = await runtime.deps.audit.readStream(`RUN#${result.runId}`);
    expect(runEvents.filter((e) => e.kind === 'approval_decided')).toHaveLength(approvals.length);
    expect(runEvents.filter((e) => e.kind === 'tool_call')).toHaveLength(approvedActions.length);
    expect(verifyChain(runEvents).ok).toBe(true);
    // Autonomous actions went out too, and every executed action touched the world exactly once.
    expect(n(counters, 'executed')).toBeGreaterThan(approvedActions.length);
    expect(runtime.market.totalTouches()).toBe(n(counters, 'executed'));
  });

  it('sends prospects only prospect-facing copy: no topic, objection note or rationale, one-line subjects', async () => {
    const { runtime } = env;
    const dir = join(runtime.outboxDir, 'prospects');
    const files = readdirSync(dir).filter((f) => f.endsWith('.eml'));
    expect(files.length).toBe(n(week.counters, 'executed'));
    for (const file of files) {
      const email = readEml(join(dir, file));
      const text = `${email.subject}\n${email.text}`;
      for (const internal of ['Objection:', 'Answer the open objection', 'Cover the missing', 'has worked', 'has not been tried', 'Nurture:']) expect(text, file).not.toContain(internal);
      expect(email.subject, file).not.toMatch(/[\r\n]/);
    }
  });

  it('records a rejection and never executes the rejected action', async () => {
    const { runtime } = env;
    const { result, counters } = week;
    const rejected = (await approvalsOfRun(runtime, result.runId)).filter((a) => a.status === 'rejected');
    expect(rejected.length).toBeGreaterThan(0);
    expect(n(counters, 'rejected')).toBe(rejected.length);
    for (const approval of rejected) {
      expect(approval.reason).toMatch(/Simulated reviewer/);
      expect(runtime.market.touchCount(approval.action.id)).toBe(0);
    }
  });

  it('never proposes to or contacts stakeholders who opted out: the agents plan within the guardrails', async () => {
    const { runtime } = env;
    const { result } = week;
    const optedOut = new Set((await runtime.deps.accounts.listStakeholders(optedOutAccount)).map((s) => s.id));
    const turns = (await runtime.deps.audit.readStream(`ACCOUNT#${optedOutAccount}`)).filter((e: AuditEvent) => e.kind === 'turn' && e.runId === result.runId);
    const decisions = turns.flatMap((e) => decisionsOfTurn(e));
    expect(decisions.filter((d) => d.action.stakeholderIds.some((id) => optedOut.has(id)))).toEqual([]);
    // The world counts every email or sales delivery to an opted-out or do-not-contact person.
    expect(runtime.market.truth().contacts).toBeGreaterThan(0);
    expect(runtime.market.truth().violations).toBe(0);
  });

});

describe('a tool failure during Act', () => {
  // The sample's one shard, so "the second tool call of the run" is the second call of the first
  // Act (with shards racing, it could be the first call of another shard's Act, with nothing to replay).
  const config = tempConfig();
  let env: Awaited<ReturnType<typeof startTestRuntime>>;
  beforeAll(async () => {
    // The second tool call of the run fails once with a transient error.
    env = await startTestRuntime(config.campaignFile, { accounts: 30, toolFaults: [2] });
  });
  afterAll(async () => {
    await env?.stop();
    config.cleanup();
  });

  it('is retried by the state machine without sending anything twice', async () => {
    const { runtime } = env;
    expect(runtime.bundle.campaign.shards).toBe(1);
    const { result, counters } = await runWeekWith(runtime, { decide: () => 'approve' });
    expect(result.stats.retries).toBeGreaterThanOrEqual(1);
    // The call before the failure was answered from the idempotency store on the retry.
    expect(n(counters, 'replayed')).toBeGreaterThanOrEqual(1);
    expect(runtime.toolGateway.callCount()).toBe(n(counters, 'executed') + 1);
    expect(runtime.market.totalTouches()).toBe(n(counters, 'executed'));
  });
});

describe('a shard that queues more approvals than a page', () => {
  // Every action of every agent needs the budget owner: one shard queues dozens of approvals.
  const config = tempConfig({
    // Every action waits for approval, and the run's budget holds what they reserve while they wait.
    'guardrails/default.yaml': [
      ...BUSY_WEEKS,
      ['when: { field: action.costUsd, op: gt, value: 250 }', 'when: { field: action.costUsd, op: gte, value: 0 }'],
      ['maxSpendPerRunUsd: 5000', 'maxSpendPerRunUsd: 500000'],
    ],
    'charters/executive-outreach-agent.yaml': [['spendPerMonthUsd: 5000', 'spendPerMonthUsd: 500000']],
    'charters/nurture-agent.yaml': [['spendPerMonthUsd: 2000', 'spendPerMonthUsd: 500000']],
  });
  let env: Awaited<ReturnType<typeof startTestRuntime>>;
  beforeAll(async () => {
    env = await startTestRuntime(config.campaignFile, { accounts: 60 });
  });
  afterAll(async () => {
    await env?.stop();
    config.cleanup();
  });

  it('splits them into pages of 40 that wait side by side, until every one is decided', { timeout: 120_000 }, async () => {
    const { runtime } = env;
    let pages = 0;
    const reviewer = new SimulatedReviewer(runtime.outboxDir, { seed: 'paging', decide: () => 'approve' }, 10);
    reviewer.start();
    const result = await runtime.runWeek({ onEvent: (e) => void (e.type === 'StateEntered' && e.state === 'ListApprovalPage' && (pages += 1)) }).finally(() => reviewer.stop());
    const counters = RunSummary.parse(result.summary).counters;
    expect(runtime.bundle.campaign.shards).toBe(1);
    expect(n(counters, 'approvalRequests')).toBeGreaterThan(40);
    expect(pages).toBe(Math.ceil(n(counters, 'approvalRequests') / 40));
    expect(n(counters, 'approved')).toBe(n(counters, 'needsApproval'));
    const approvals = await approvalsOfRun(runtime, result.runId);
    expect(approvals.every((a) => a.status === 'approved')).toBe(true);
  });
});

describe('an approval nobody decides', () => {
  // Links live ~2 s here (~14 s for the executive agent, whose CMO also holds a seat of every
  // two-person approval: the reviewer must get through those emails too before its escalations
  // expire); the executive agent escalates to the CMO, the nurture agent skips.
  const config = tempConfig({
    'charters/executive-outreach-agent.yaml': [['approvalTimeoutHours: 72', 'approvalTimeoutHours: 0.004']],
    'charters/nurture-agent.yaml': [['approvalTimeoutHours: 48', 'approvalTimeoutHours: 0.0005']],
  });
  let env: Awaited<ReturnType<typeof startTestRuntime>>;
  beforeAll(async () => {
    env = await startTestRuntime(config.campaignFile, { accounts: 30 });
  });
  afterAll(async () => {
    await env?.stop();
    config.cleanup();
  });

  it('expires, escalates to the charter\'s second approver, and runs once that approver approves', { timeout: 120_000 }, async () => {
    const { runtime } = env;
    // The first approvers never answer; the CMO approves escalations.
    const { result, counters } = await runWeekWith(runtime, {
      ignore: (_id, to) => !to.includes('cmo@example.com'),
      decide: () => 'approve',
    });
    expect(n(counters, 'needsApproval')).toBeGreaterThan(0);
    // Every first request timed out: escalated where the charter says so, expired otherwise.
    expect(n(counters, 'escalated')).toBeGreaterThan(0);
    expect(n(counters, 'escalated') + n(counters, 'expired')).toBe(n(counters, 'needsApproval'));
    expect(n(counters, 'approved')).toBe(n(counters, 'escalated'));
    const approvals = await approvalsOfRun(runtime, result.runId);
    const escalations = approvals.filter((a) => a.escalationOf);
    expect(escalations.length).toBe(n(counters, 'escalated'));
    for (const e of escalations) {
      expect(e.approver).toBe('cmo@example.com');
      expect(e.status).toBe('approved');
      expect(runtime.market.touchCount(e.action.id)).toBe(1);
    }
    for (const a of approvals.filter((x) => !x.escalationOf)) {
      // The CMO's own seat of a two-person approval was approved, but the other seat expired
      // (not escalated: the CMO holds the other seat), so that action never ran.
      if (a.quorum && a.approver === 'cmo@example.com') {
        expect(a.status).toBe('approved');
        expect(runtime.market.touchCount(a.action.id)).toBe(0);
        continue;
      }
      expect(['expired', 'skipped']).toContain(a.status);
      if (!escalations.some((e) => e.escalationOf === a.id)) expect(runtime.market.touchCount(a.action.id)).toBe(0);
    }
  });
});
