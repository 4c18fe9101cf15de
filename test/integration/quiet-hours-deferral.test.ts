/**
 * Quiet hours defer instead of block, on the synthesized state machines: a run at Monday 14:00
 * UTC is 01:00 in Sydney, so every action for a Sydney stakeholder waits for 07:00 there (20:00
 * UTC) in its send slot. The CampaignRun's Wait takes no real time locally (the world's clock is
 * simulated) and SendDeferred runs at the slot's time: the market receives each touch then, once,
 * with Act, ListSendSlots, SendDeferred and Record each delivered twice. An action approved in the
 * middle of their night waits in its approval branch for their morning the same way.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CampaignRunStates } from '../../cdk/constructs/campaign-workflow.ts';
import { SimulatedReviewer } from '../../local/reviewer.ts';
import type { LocalRunResult } from '../../local/runtime.ts';
import { RunSummary } from '../../shared/app/contracts.ts';
import { DEFERRED_SENDS_PER_PAGE } from '../../shared/app/deferred-sends.ts';
import { decisionsOfTurn } from '../../shared/domain/turn.ts';
import { EVERY_NURTURE_ACTION, approvalsOfRun, startTestRuntime, tempConfig } from './workflow-fixture.ts';

const NO_THRESHOLDS: [RegExp, string] = [/^thresholds:\n[\s\S]*?(?=^escalation:)/m, 'thresholds: []\n'];
/** 07:00 on Tuesday in Sydney (AEDT, UTC+11). */
const SYDNEY_MORNING = '2027-01-04T20:00:00.000Z';

const sydneyHour = (at: string): number => Number(new Intl.DateTimeFormat('en-US', { timeZone: 'Australia/Sydney', hour: '2-digit', hourCycle: 'h23' }).format(Date.parse(at)));

describe('a run at 14:00 UTC for stakeholders in Sydney', () => {
  // No approval rules: every action the agents plan is autonomous (and so sent by the workflow itself).
  const config = tempConfig({
    'charters/nurture-agent.yaml': [NO_THRESHOLDS],
    'charters/executive-outreach-agent.yaml': [NO_THRESHOLDS],
    'guardrails/default.yaml': [[/^approvalRules:\n[\s\S]*?(?=^\S)/m, 'approvalRules: []\n']],
  });
  let env: Awaited<ReturnType<typeof startTestRuntime>>;
  let result: LocalRunResult;
  let counters: Record<string, number>;
  const entered: Record<string, number> = {};
  let lambdas: Record<string, number> = {};

  beforeAll(async () => {
    env = await startTestRuntime(config.campaignFile, { accounts: 24, duplicateDelivery: ['act', 'record', 'list-send-slots', 'send-deferred'] });
    const { runtime } = env;
    // Everyone moves to Sydney (a CRM update the run observes).
    for (const account of runtime.market.book().accounts) {
      for (const s of await runtime.deps.accounts.listStakeholders(account.id)) await runtime.deps.accounts.putStakeholder({ ...s, timeZone: 'Australia/Sydney' });
    }
    result = await runtime.runWeek({
      onEvent: (e) => {
        if (e.type === 'StateEntered' && e.state !== undefined) entered[e.state] = (entered[e.state] ?? 0) + 1;
      },
    });
    counters = RunSummary.parse(result.summary).counters;
    const byLogicalId = new Map([...runtime.template.functions.values()].map((f) => [f.logicalId, f.name]));
    lambdas = Object.fromEntries(Object.entries(result.stats.lambdas).map(([id, u]) => [byLogicalId.get(id) ?? id, u.invocations]));
  }, 180_000);
  afterAll(async () => {
    await env?.stop();
    config.cleanup();
  });

  /** Every touch the world received, from its own journal. */
  const touches = () =>
    readFileSync(join(env.dataDir, 'market-touches.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => (JSON.parse(l) as { touch: { actionId: string; at: string } }).touch);

  it('defers every action to 07:00 in Sydney and blocks none for quiet hours', () => {
    expect(counters.proposed).toBeGreaterThan(0);
    expect(counters.deferred).toBe(counters.proposed);
    expect(Object.keys(counters).filter((k) => k.includes('quiet_hours'))).toEqual([]);
    expect(counters.blockedAtSend ?? 0).toBe(0);
  });

  it('delivers each deferred action to the market at its send time, not at the run\'s clock, once', async () => {
    const { runtime } = env;
    const turns = (await runtime.deps.audit.readRun(result.runId)).filter((e) => e.kind === 'turn');
    const deferred = turns.flatMap((e) => decisionsOfTurn(e)).filter((d) => d.verdict?.outcome === 'autonomous');
    expect(deferred.length).toBe(counters.deferred);
    for (const d of deferred) {
      expect(d.action.notBefore).toBe(SYDNEY_MORNING);
      expect(d.toolResult).toBeNull();
      expect(runtime.market.touchCount(d.action.id), d.action.id).toBe(1);
    }
    const arrived = touches();
    expect(arrived).toHaveLength(deferred.length);
    for (const t of arrived) {
      // Sent at the slot's time (plus the moments the sending takes), 07:00 in Sydney.
      expect(Date.parse(t.at)).toBeGreaterThanOrEqual(Date.parse(SYDNEY_MORNING));
      expect(Date.parse(t.at)).toBeLessThan(Date.parse(SYDNEY_MORNING) + 5 * 60_000);
      expect(sydneyHour(t.at)).toBe(7);
    }
    // Booked as executed once sent, each by one keyed tool_call event in the run's stream.
    expect(counters.executed).toBe(deferred.length);
    expect(counters.replayed ?? 0).toBe(0);
    const calls = (await runtime.deps.audit.readStream(`RUN#${result.runId}`)).filter((e) => e.kind === 'tool_call');
    expect(calls.map((e) => e.data['actionId']).sort()).toEqual(deferred.map((d) => d.action.id).sort());
    expect(calls.every((e) => e.data['deferredTo'] === SYDNEY_MORNING)).toBe(true);
  });

  it('waits once per send slot, not per account or action, and sends a slot in pages', () => {
    // One shard, one slot (everyone is in one time zone), so one listing, one Wait and as many
    // SendDeferred pages as the slot needs (each invocation delivered twice by the runtime).
    const pages = Math.ceil((counters.deferred ?? 0) / DEFERRED_SENDS_PER_PAGE);
    expect(entered[CampaignRunStates.ListSendSlots]).toBe(1);
    expect(entered[CampaignRunStates.WaitForSendTime]).toBe(1);
    expect(entered[CampaignRunStates.SendDeferred]).toBe(pages);
    expect(pages).toBeGreaterThan(1);
    expect(lambdas['send-deferred']).toBe(pages);
    expect(lambdas['list-send-slots']).toBe(1);
    expect(env.runtime.faults.snapshot().duplicateDeliveries).toBeGreaterThan(2 * pages);
    // No approvals: their branch of the shard's follow-ups ends at once.
    expect(entered[CampaignRunStates.NoApprovals]).toBe(1);
    expect(entered[CampaignRunStates.ListShardApprovals]).toBeUndefined();
    // Standard transitions: LoadCampaign, Accounts, Summarize; ProcessShard and ShardProgress? per
    // child execution; ShardFollowUps, HasApprovals?, NoApprovals, HasDeferredSends?,
    // ListSendSlots, SendSlots; per slot WaitForSendTime and SlotSent; per page SendDeferred and
    // MoreDeferred?. Nothing in it counts accounts or actions, only slots and pages of 25.
    const slots = 1;
    expect(result.stats.transitions.STANDARD).toBe(3 + 2 * result.stats.executions.EXPRESS + 6 + 2 * slots + 2 * pages);
  });
});

describe('an action approved at 14:00 UTC for a stakeholder in Sydney', () => {
  // Every nurture action needs marketing ops' approval; the executive agent's own rules stay.
  const config = tempConfig({ 'charters/nurture-agent.yaml': [EVERY_NURTURE_ACTION] });
  let env: Awaited<ReturnType<typeof startTestRuntime>>;
  let week: { result: LocalRunResult; counters: Record<string, number> };
  const entered: Record<string, number> = {};
  beforeAll(async () => {
    env = await startTestRuntime(config.campaignFile, { accounts: 12, duplicateDelivery: ['act-approved'] });
    const { runtime } = env;
    for (const account of runtime.market.book().accounts) {
      for (const s of await runtime.deps.accounts.listStakeholders(account.id)) await runtime.deps.accounts.putStakeholder({ ...s, timeZone: 'Australia/Sydney' });
    }
    const reviewer = new SimulatedReviewer(runtime.outboxDir, { seed: 'night', decide: () => 'approve' }, 10);
    reviewer.start();
    try {
      const result = await runtime.runWeek({ onEvent: (e) => void (e.type === 'StateEntered' && e.state !== undefined && (entered[e.state] = (entered[e.state] ?? 0) + 1)) });
      week = { result, counters: RunSummary.parse(result.summary).counters };
    } finally {
      await reviewer.stop();
    }
  }, 180_000);
  afterAll(async () => {
    await env?.stop();
    config.cleanup();
  });

  it('waits for 07:00 there and is sent then, once, instead of being blocked at send', async () => {
    const { runtime } = env;
    const { result, counters } = week;
    expect(counters.approved).toBeGreaterThan(0);
    expect(counters.approved).toBe(counters.needsApproval);
    expect(counters.blockedAtSend ?? 0).toBe(0);
    expect(entered[CampaignRunStates.WaitForApprovedSendTime]).toBeGreaterThan(0);
    const approved = new Set((await approvalsOfRun(runtime, result.runId)).filter((a) => a.status === 'approved').map((a) => a.action.id));
    const arrived = readFileSync(join(env.dataDir, 'market-touches.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => (JSON.parse(l) as { touch: { actionId: string; at: string } }).touch)
      .filter((t) => approved.has(t.actionId));
    expect(arrived).toHaveLength(approved.size);
    for (const t of arrived) {
      expect(Date.parse(t.at)).toBeGreaterThanOrEqual(Date.parse(SYDNEY_MORNING));
      expect(sydneyHour(t.at)).toBe(7);
    }
    const calls = (await runtime.deps.audit.readStream(`RUN#${result.runId}`)).filter((e) => e.kind === 'tool_call' && approved.has(String(e.data['actionId'])));
    expect(calls).toHaveLength(approved.size);
    expect(calls.every((e) => e.data['deferredTo'] === '2027-01-04T20:00:00Z')).toBe(true);
  });
});

