/**
 * The benchmark's rates are pooled over seeds. A mean of per-seed rates counted a seed without a
 * decided deal as a 0% no-decision rate, so the policy that brought fewer deals to a decision
 * looked better; the lift not per touch says how much of the per-touch lift is volume.
 */
import { describe, expect, it } from 'vitest';
import type { EpisodeMetrics } from '../../bench/episode.ts';
import { summarize, type SeedResult } from '../../bench/run.ts';
import { POLICY_NAMES, type PolicyName } from '../../bench/types.ts';
import { defaultScenario } from '../../local/simulator/scenario.ts';

const episode = (policy: PolicyName, seed: string, x: Partial<EpisodeMetrics> = {}): EpisodeMetrics => ({
  policy,
  seed,
  progressions: 10,
  progressionByWeek: [10],
  touches: 100,
  emailDeliveries: 100,
  unsubscribes: 0,
  opens: 0,
  clicks: 0,
  replies: 0,
  violations: 0,
  approvalsRequested: 0,
  proposed: 0,
  blocked: 0,
  blockedBy: {},
  stages: {},
  accountsAdvanced: 0,
  multiThreading: 0,
  decided: 0,
  noDecision: 0,
  byType: {},
  mqls: 0,
  sqls: 0,
  withPropensity: 0,
  executed: 0,
  ...x,
});

const seedOf = (seed: string, over: Partial<Record<PolicyName, Partial<EpisodeMetrics>>>): SeedResult => ({
  seed,
  episodes: Object.fromEntries(POLICY_NAMES.map((p) => [p, episode(p, seed, over[p])])) as Record<PolicyName, EpisodeMetrics>,
});

const result = (rows: SeedResult[]) => summarize({ scenario: defaultScenario, file: 'scenarios/default.yaml', rows, accounts: 10, weeks: 1, elapsedMs: 0 });

describe('the benchmark\'s rates', () => {
  it('pool decided deals over seeds: a seed where nothing was decided is not a 0% no-decision rate', () => {
    // The agent: 1 of 2 deals in seed a, none decided in seed b. The baseline: 1 of 2 in both.
    const r = result([
      seedOf('a', { agent: { decided: 2, noDecision: 1 }, baseline: { decided: 2, noDecision: 1 } }),
      seedOf('b', { agent: { decided: 0, noDecision: 0 }, baseline: { decided: 2, noDecision: 1 } }),
    ]);
    expect(r.policies.agent.noDecisionRate.estimate).toBe(0.5);
    expect(r.policies.baseline.noDecisionRate.estimate).toBe(0.5);
    // Nothing decided anywhere: no rate at all, not 0.
    expect(r.policies.none.noDecisionRate.estimate).toBeNaN();
  });

  it('weigh unsubscribes by the emails each seed sent', () => {
    const r = result([
      seedOf('a', { agent: { emailDeliveries: 900, unsubscribes: 9 } }),
      seedOf('b', { agent: { emailDeliveries: 100, unsubscribes: 0 } }),
    ]);
    expect(r.policies.agent.unsubscribeRate.estimate).toBeCloseTo(0.009, 12);
  });

  it('give the lift without the per-touch denominator, and the touch ratio that separates the two', () => {
    // Agent +6 progressions over the untouched market with 100 touches; baseline +3 with 300.
    const rows = ['a', 'b'].map((s) =>
      seedOf(s, { agent: { progressions: 16, touches: 100 }, baseline: { progressions: 13, touches: 300 }, none: { progressions: 10, touches: 0 } }),
    );
    const r = result(rows);
    expect(r.absoluteLift.estimate).toBeCloseTo(2, 12);
    expect(r.touchRatio.estimate).toBeCloseTo(1 / 3, 12);
    expect(r.lift.estimate).toBeCloseTo(r.absoluteLift.estimate / r.touchRatio.estimate, 12);
  });
});
