/**
 * One benchmark episode, per policy, on the default scenario and on every shipped scenario (small
 * books): governance holds for every policy, every executed action logged the probability it was
 * chosen with, the untouched market is untouched, tool calls reach only people the CRM knows on
 * their own account, and opens and clicks never steer the agent. Tool calls are recorded where
 * they reach the world (`Market.apply`, passed through unchanged), so the test sees what every
 * policy really sent rather than what it reported.
 */
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { runEpisode, type EpisodeConfig, type EpisodeMetrics } from '../../bench/episode.ts';
import { BENCH_START, loadBenchConfig } from '../../bench/run.ts';
import { POLICY_NAMES, type PolicyName } from '../../bench/types.ts';
import { Guardrails } from '../../shared/domain/config.ts';
import type { Action, PipelineSignal, Stakeholder } from '../../shared/domain/model.ts';
import { Market } from '../../local/simulator/market.ts';
import { SCENARIOS, type Scenario } from '../../local/simulator/scenario.ts';

/** One tool call as it reached the world. */
interface Delivery {
  readonly market: Market;
  readonly action: Action;
  readonly stakeholders: readonly Stakeholder[];
  readonly at: string;
}

interface Recorded {
  readonly metrics: EpisodeMetrics;
  readonly deliveries: readonly Delivery[];
}

/** Small books keep the file quick; default gets a longer, larger run since the blocked-share claim is about it. */
const sizeOf = (name: string): { accounts: number; weeks: number } => (name === 'default' ? { accounts: 100, weeks: 13 } : { accounts: 60, weeks: 8 });

let config: EpisodeConfig;
beforeAll(() => {
  config = loadBenchConfig();
});
afterEach(() => {
  vi.restoreAllMocks();
});

/**
 * Runs one episode recording every tool call; with `stripOpensAndClicks`, the week's open and click
 * signals never reach the episode (the market itself is untouched: it counted them already).
 */
function record(scenario: Scenario, policy: PolicyName, seed: string, opts: { stripOpensAndClicks?: boolean } = {}): Recorded {
  const { accounts, weeks } = sizeOf(scenario.name);
  const apply = vi.spyOn(Market.prototype, 'apply');
  if (opts.stripOpensAndClicks === true) {
    const advance = Market.prototype.advance;
    vi.spyOn(Market.prototype, 'advance').mockImplementation(function (this: Market, to: string): PipelineSignal[] {
      return advance.call(this, to).filter((s) => s.kind !== 'open' && s.kind !== 'click');
    });
  }
  try {
    const metrics = runEpisode({ scenario, seed, accounts, weeks, start: BENCH_START, policy, config });
    const deliveries = apply.mock.calls.map(([action, stakeholders, at], i) => ({ market: apply.mock.contexts[i] as Market, action, stakeholders, at }));
    return { metrics, deliveries };
  } finally {
    vi.restoreAllMocks();
  }
}

/** What a policy did, in order: when, which action, to whom. */
const decisions = (r: Recorded): string[] => r.deliveries.map((d) => `${d.at} ${d.action.id} ${d.action.type} ${d.action.stakeholderIds.join(',')}`);

/** Opens and clicks the episode was shown in response to its own actions. */
const responsesSeen = (r: Recorded): number => Object.values(r.metrics.byType).reduce((n, c) => n + c.opens + c.clicks, 0);

const SCENARIO_NAMES = Object.keys(SCENARIOS);

describe.each(SCENARIO_NAMES)('an episode on %s', (name) => {
  const scenario = SCENARIOS[name] as Scenario;
  const runs = {} as Record<PolicyName, Recorded>;
  beforeAll(() => {
    for (const policy of POLICY_NAMES) runs[policy] = record(scenario, policy, `${name}-1`);
  });

  it('has no governance violation for any policy', () => {
    const violations = Object.fromEntries(POLICY_NAMES.map((p) => [p, runs[p].metrics.violations]));
    expect(violations).toEqual(Object.fromEntries(POLICY_NAMES.map((p) => [p, 0])));
  });

  it.each(['agent', 'random'] as const)('logs a propensity in (0, 1] on every action %s executed', (policy) => {
    const { metrics, deliveries } = runs[policy];
    expect(metrics.executed).toBeGreaterThan(0);
    expect(metrics.withPropensity).toBe(metrics.executed);
    expect(deliveries).toHaveLength(metrics.executed);
    const bad = deliveries.filter((d) => !(typeof d.action.propensity === 'number' && d.action.propensity > 0 && d.action.propensity <= 1));
    expect(bad.map((d) => `${d.action.id}: ${String(d.action.propensity)}`)).toEqual([]);
  });

  it.each(['baseline', 'oracle'] as const)('logs propensity 1 on every action %s executed (it is deterministic)', (policy) => {
    const { metrics, deliveries } = runs[policy];
    expect(metrics.executed).toBeGreaterThan(0);
    expect(metrics.withPropensity).toBe(metrics.executed);
    expect(deliveries).toHaveLength(metrics.executed);
    expect(new Set(deliveries.map((d) => d.action.propensity))).toEqual(new Set([1]));
  });

  it('leaves the market untouched under none: no proposal, no tool call, no delivery', () => {
    const { metrics, deliveries } = runs.none;
    expect(deliveries).toEqual([]);
    expect({ proposed: metrics.proposed, executed: metrics.executed, touches: metrics.touches, emailDeliveries: metrics.emailDeliveries, approvalsRequested: metrics.approvalsRequested }).toEqual({
      proposed: 0,
      executed: 0,
      touches: 0,
      emailDeliveries: 0,
      approvalsRequested: 0,
    });
  });

  it.each(POLICY_NAMES.filter((p) => p !== 'none'))('sends %s tool calls only to accounts of the book and to people the CRM knows on that account', (policy) => {
    const { deliveries, metrics } = runs[policy];
    const books = new Map<Market, { accounts: Set<string>; people: Map<string, string> }>();
    const bookOf = (m: Market): { accounts: Set<string>; people: Map<string, string> } => {
      let b = books.get(m);
      if (b === undefined) {
        const book = m.book();
        b = { accounts: new Set(book.accounts.map((a) => a.id)), people: new Map(book.stakeholders.map((s) => [s.id, s.accountId])) };
        books.set(m, b);
      }
      return b;
    };
    const problems: string[] = [];
    for (const d of deliveries) {
      const book = bookOf(d.market);
      if (!book.accounts.has(d.action.accountId)) problems.push(`${d.action.id}: no account ${d.action.accountId}`);
      if (d.action.stakeholderIds.length === 0) problems.push(`${d.action.id}: targets nobody`);
      for (const id of d.action.stakeholderIds) {
        const owner = book.people.get(id);
        if (owner !== d.action.accountId) problems.push(`${d.action.id}: ${id} ${owner === undefined ? 'is unknown to the CRM' : `belongs to ${owner}`}`);
      }
      // Every targeted person was resolved to a CRM record, so the episode counted the delivery it made.
      if (d.stakeholders.map((s) => s.id).join(',') !== d.action.stakeholderIds.join(',')) problems.push(`${d.action.id}: resolved ${d.stakeholders.length} of ${d.action.stakeholderIds.length} targets`);
    }
    expect(problems).toEqual([]);
    expect(books.size).toBe(1);
    expect(metrics.touches).toBe(deliveries.reduce((n, d) => n + d.action.stakeholderIds.length, 0));
  });
});

describe('opens and clicks', () => {
  it.each(['default', 'proxy-rich', 'cold-data'])('never change what the agent does on %s: the same tool calls with open and click signals stripped', (name) => {
    const scenario = SCENARIOS[name] as Scenario;
    const seen = record(scenario, 'agent', `${name}-1`);
    const blind = record(scenario, 'agent', `${name}-1`, { stripOpensAndClicks: true });
    expect(seen.deliveries.length).toBeGreaterThan(0);
    // The agent saw opens and clicks of its own emails in one run and none in the other.
    expect(responsesSeen(seen)).toBeGreaterThan(0);
    expect(responsesSeen(blind)).toBe(0);
    expect(decisions(blind)).toEqual(decisions(seen));
    expect(blind.metrics.progressions).toBe(seen.metrics.progressions);
  });

  it('do change what the baseline does (its lead score counts them), so stripping them is a real change', () => {
    const scenario = SCENARIOS.default as Scenario;
    const seen = record(scenario, 'baseline', 'default-1');
    const blind = record(scenario, 'baseline', 'default-1', { stripOpensAndClicks: true });
    expect(seen.metrics.mqls).toBeGreaterThan(0);
    expect(blind.metrics.mqls).toBe(0);
    expect(decisions(blind)).not.toEqual(decisions(seen));
  });

  it.each(['open', 'click'])('cannot be made to credit an action: the guardrails schema rejects pipelineQuality.credits [%s]', (kind) => {
    const base = { id: 'g', consent: { blockOptedOut: true }, contactPressure: { maxTouchesPerStakeholderPerWeek: 2, maxTouchesPerAccountPerWeek: 5 }, budget: { maxSpendPerRunUsd: 100 } };
    expect(Guardrails.safeParse({ ...base, pipelineQuality: { credits: ['reply'] } }).success).toBe(true);
    const r = Guardrails.safeParse({ ...base, pipelineQuality: { credits: ['reply', kind] } });
    expect(r.success).toBe(false);
    expect(r.error?.issues.map((i) => i.path.join('.'))).toEqual(['pipelineQuality.credits.1']);
  });
});

describe('the agent on default', () => {
  it.each(['default-1', 'default-2'])('has governance block at most a tenth of what it proposes (seed %s)', (seed) => {
    const metrics = runEpisode({ scenario: SCENARIOS.default as Scenario, seed, ...sizeOf('default'), start: BENCH_START, policy: 'agent', config });
    expect(metrics.proposed).toBeGreaterThan(0);
    const share = metrics.blocked / metrics.proposed;
    expect(share, `blocked ${metrics.blocked} of ${metrics.proposed}: ${JSON.stringify(metrics.blockedBy)}`).toBeLessThanOrEqual(0.1);
  });
});
