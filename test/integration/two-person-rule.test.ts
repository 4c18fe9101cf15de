/**
 * The two-person rule on the real runtime: the synthesized state machines on dynalite, the real
 * handlers, the approval page followed from the emails by the simulated reviewer, and the market.
 * The sample charter's two-person rule (account director AND CMO) is widened to every executive
 * briefing so that the first week surely has such actions.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Approval } from '../../shared/domain/model.ts';
import { approvalsOfRun, runWeekWith, startTestRuntime, tempConfig, type ConfigEdits } from './workflow-fixture.ts';

const DIRECTOR = 'account-director@example.com';
const CMO = 'cmo@example.com';
const EXECUTIVE_AGENT = 'executive-outreach-agent';

/** The two-person rule of the sample charter, made to hold for every executive briefing. */
const EVERY_BRIEFING: ConfigEdits[string] = [
  [
    /when:\n      all:\n        - \{ field: account\.tier, op: eq, value: 1 \}\n(?:        .*\n)+?    approvers: \[account-director@example\.com, cmo@example\.com\]/,
    'when: { field: action.type, op: eq, value: executive_briefing }\n    approvers: [account-director@example.com, cmo@example.com]',
  ],
];


/** The two-person approvals of a run, grouped by action: each group is [director's, CMO's]. */
function twoPersonGroups(approvals: Approval[]): Map<string, Approval[]> {
  const groups = new Map<string, Approval[]>();
  for (const a of approvals.filter((x) => x.quorum && !x.escalationOf)) groups.set(a.action.id, [...(groups.get(a.action.id) ?? []), a]);
  return groups;
}

describe('a two-person approval with only the first approver answering', () => {
  // Links live ~29 s: the CMO's unanswered requests expire within the test, while the reviewer
  // (one email at a time, every link of the week arriving at once) has ample time for the
  // director's even on a loaded 2-core CI machine (11 s was seen to be too short there).
  const config = tempConfig({
    'charters/executive-outreach-agent.yaml': [...EVERY_BRIEFING, ['approvalTimeoutHours: 72', 'approvalTimeoutHours: 0.008']],
  });
  let env: Awaited<ReturnType<typeof startTestRuntime>>;
  beforeAll(async () => {
    env = await startTestRuntime(config.campaignFile, { accounts: 24 });
  });
  afterAll(async () => {
    await env?.stop();
    config.cleanup();
  });

  it('does not execute the action, and does not escalate the expired seat to the CMO who holds the other one', { timeout: 150_000 }, async () => {
    const { runtime } = env;
    const { result } = await runWeekWith(runtime, { ignore: (_id, to) => to.includes(CMO), decide: () => 'approve' });
    const approvals = await approvalsOfRun(runtime, result.runId);
    const groups = twoPersonGroups(approvals);
    // The widened rule really produced two-person approvals this week.
    expect(groups.size).toBeGreaterThan(0);
    for (const [actionId, group] of groups) {
      expect(group.map((a) => a.approver).sort()).toEqual([DIRECTOR, CMO].sort());
      const director = group.find((a) => a.approver === DIRECTOR);
      const cmo = group.find((a) => a.approver === CMO);
      expect(director?.status).toBe('approved');
      expect(director?.quorum?.min).toBe(2);
      expect(['expired', 'skipped']).toContain(cmo?.status);
      expect(cmo?.escalatedTo).toBeUndefined();
      expect(runtime.market.touchCount(actionId)).toBe(0);
    }
    // Escalating the CMO's seat (to the CMO, the charter's escalateTo) would let one person approve twice.
    expect(approvals.filter((a) => a.escalationOf && groups.has(a.action.id))).toEqual([]);
    const events = await runtime.deps.audit.readStream(`RUN#${result.runId}`);
    const waited = events.filter((e) => e.kind === 'approval_quorum' && e.data['state'] === 'waiting');
    expect(waited.length).toBeGreaterThanOrEqual(groups.size);
    const refused = events.filter((e) => e.kind === 'approval_expired' && typeof e.data['escalationRefused'] === 'string');
    expect(refused.length).toBeGreaterThanOrEqual(groups.size);
    const executed = events.filter((e) => e.kind === 'tool_call' && groups.has(String(e.data['actionId'])));
    expect(executed).toEqual([]);
  });
});

describe('a two-person approval both approvers approve', () => {
  const config = tempConfig({ 'charters/executive-outreach-agent.yaml': EVERY_BRIEFING });
  let env: Awaited<ReturnType<typeof startTestRuntime>>;
  beforeAll(async () => {
    env = await startTestRuntime(config.campaignFile, { accounts: 24 });
  });
  afterAll(async () => {
    await env?.stop();
    config.cleanup();
  });

  it('executes the action exactly once, after the second distinct approval', async () => {
    const { runtime } = env;
    const { result, counters } = await runWeekWith(runtime, { decide: () => 'approve' });
    const approvals = await approvalsOfRun(runtime, result.runId);
    const groups = twoPersonGroups(approvals);
    expect(groups.size).toBeGreaterThan(0);
    const events = await runtime.deps.audit.readStream(`RUN#${result.runId}`);
    for (const [actionId, group] of groups) {
      expect(group).toHaveLength(2);
      expect(group.every((a) => a.status === 'approved')).toBe(true);
      expect(new Set(group.map((a) => a.decidedBy))).toEqual(new Set([DIRECTOR, CMO]));
      expect(runtime.market.touchCount(actionId)).toBe(1);
      const calls = events.filter((e) => e.kind === 'tool_call' && e.data['actionId'] === actionId);
      expect(calls).toHaveLength(1);
      expect(calls[0]?.data['approvedBy']).toEqual(expect.arrayContaining([DIRECTOR, CMO]));
    }
    // Counted once per action, not per approver.
    expect(counters['approved']).toBe(counters['needsApproval']);
    expect(counters['approvalRequests']).toBe((counters['needsApproval'] ?? 0) + groups.size);
    // Spend is kept per agent and month too (the charter's monthly budget reads it).
    const month = result.now.slice(0, 7);
    const spent = await Promise.all(runtime.bundle.charters.map((c) => runtime.deps.runs.getAgentSpend(c.charter.id, month)));
    expect(spent.reduce((a, b) => a + b, 0)).toBe(counters['spendUsd']);
    expect(await runtime.deps.runs.getAgentSpend(EXECUTIVE_AGENT, month)).toBeGreaterThan(0);
  });
});
