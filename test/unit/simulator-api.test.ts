/**
 * What the benchmark reads from the market: the extended truth() and progressions(), an oracle's
 * hidden() view, relevanceOf() and scenarioOf(); determinism and persistence in every shipped scenario; and
 * snapshots saved before the new fields existed still loading.
 */
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../shared/domain/errors.ts';
import { type ActionType, type PipelineSignal, type Stakeholder, stageRank } from '../../shared/domain/model.ts';
import { Market } from '../../local/simulator/market.ts';
import { deepMerge } from '../../local/simulator/scenario-file.ts';
import { defaultScenario, Scenario, SCENARIOS, scenarioByName } from '../../local/simulator/scenario.ts';

import { START, action, committees, sendAt, weekEnd } from './market-fixture.ts';

const ROTATION: readonly ActionType[] = ['role_content', 'executive_briefing', 'reference_call_offer', 'ad_audience_add', 'event_invite', 'sdr_email', 'sales_handoff'];

/** A stateless weekly script over every action type: weekly nurture and one rotating one-to-one action per account. */
const script = (market: Market, people: Map<string, Stakeholder[]>, w: number): void => {
  let k = 0;
  for (const [accountId, members] of people) {
    k += 1;
    const reachable = members.filter((m) => m.consent !== 'opted_out');
    if (reachable.length === 0) continue;
    market.apply(action(`w${w}-${accountId}-n`, accountId, 'nurture_email', reachable.map((m) => m.id), 'influencer'), reachable, sendAt(w));
    const target = reachable[(w + k) % reachable.length];
    const type = ROTATION[(w + k) % ROTATION.length] ?? 'role_content';
    if (target !== undefined) market.apply(action(`w${w}-${accountId}-${type}`, accountId, type, [target.id], target.role), [target], sendAt(w));
  }
};

/** A book that moves fast: everyone in market, high hazards, so deals reach evaluating, handoffs and exits within weeks. */
const hot: Scenario = Scenario.parse(
  deepMerge(defaultScenario, {
    name: 'hot',
    book: { inMarketShare: 1, consensus: { min: 0.5, max: 0.9 } },
    progression: { baseHazard: { unaware: 0.1, problem_aware: 0.1, solution_aware: 0.1, evaluating: 0.05 } },
  }),
);

describe('truth()', () => {
  const market = Market.create({ seed: 'truth', accounts: 80, start: START, scenario: hot });
  const people = committees(market);
  const signals: PipelineSignal[] = [];
  for (let w = 1; w <= 12; w += 1) {
    script(market, people, w);
    for (const [accountId, members] of people) {
      const lead = members.find((m) => m.role === 'champion' && m.consent !== 'opted_out');
      if (lead !== undefined && market.hidden(accountId).stage === 'evaluating') {
        market.apply(action(`h${w}-${accountId}`, accountId, 'sales_handoff', [lead.id], lead.role), [lead], sendAt(w));
      }
    }
    signals.push(...market.advance(weekEnd(w)));
  }
  const t = market.truth();

  it('counts response signals, email deliveries and decided accounts', () => {
    const kind = (k: string): number => signals.filter((s) => s.kind === k).length;
    expect(t.opens).toBe(kind('open'));
    expect(t.clicks).toBe(kind('click'));
    expect(t.replies).toBe(kind('reply'));
    expect(t.meetingsBooked).toBe(kind('meeting_booked'));
    expect(t.meetingsAccepted).toBe(kind('meeting_accepted'));
    expect(t.meetingsAccepted).toBeGreaterThan(0);
    expect(t.decided).toBe(t.committed + t.noDecision + t.closedLost);
    expect(t.decided).toBeGreaterThan(5);
    // Handoffs (sales), reference calls (sales) and ad audiences reach people on other channels.
    expect(t.emailDeliveries).toBeGreaterThan(0);
    expect(t.emailDeliveries).toBeLessThan(t.contacts);
  });

  it('counts as progressions only forward moves among open stages, never exits to no_decision or closed_lost', () => {
    const forward = signals.filter((s) => s.kind === 'crm_stage_change' && s.stage !== undefined && stageRank(s.stage) >= 0).length;
    const exits = signals.filter((s) => s.kind === 'crm_stage_change' && (s.stage === 'no_decision' || s.stage === 'closed_lost')).length;
    expect(exits).toBeGreaterThan(0);
    expect(t.progressions).toBe(forward);
    expect(market.progressions()).toBe(t.progressions);
  });

  it('counts email deliveries per stakeholder on the email channel only', () => {
    const m = Market.create({ seed: 'email', accounts: 3, start: START });
    const [a, b] = committees(m).get('acc-0001') ?? [];
    if (a === undefined || b === undefined) throw new Error('acc-0001 needs two people');
    m.apply(action('e1', 'acc-0001', 'nurture_email', [a.id, b.id], 'influencer'), [a, b], sendAt(1));
    m.apply(action('e2', 'acc-0001', 'ad_audience_add', [a.id], a.role), [a], sendAt(1));
    m.apply(action('e3', 'acc-0001', 'reference_call_offer', [b.id], b.role), [b], sendAt(1));
    expect(m.truth()).toMatchObject({ emailDeliveries: 2, contacts: 4, touches: 3 });
  });
});

describe('hidden(), relevanceOf() and scenarioOf()', () => {
  it("shows an oracle one account's hidden state as a copy, with engagement inside the window", () => {
    const market = Market.create({ seed: 'oracle', accounts: 50, start: START });
    const people = committees(market);
    let engaged: { accountId: string; stakeholderId: string } | undefined;
    for (let w = 1; w <= 6 && engaged === undefined; w += 1) {
      script(market, people, w);
      const s = market.advance(weekEnd(w)).find((x) => x.kind === 'reply' && x.stakeholderId !== undefined);
      if (s?.stakeholderId !== undefined) engaged = { accountId: s.accountId, stakeholderId: s.stakeholderId };
    }
    if (engaged === undefined) throw new Error('expected a reply within six weeks');
    const h = market.hidden(engaged.accountId);
    expect(h.members.find((m) => m.id === engaged?.stakeholderId)?.engaged).toBe(true);
    expect(h.members.length).toBe(people.get(engaged.accountId)?.length);
    expect(h.members.every((m) => m.known)).toBe(true);
    expect(h.stage).toBe(market.truth().stages[engaged.accountId]);
    expect(Object.keys(h).sort()).toEqual(['consensus', 'derisked', 'inMarket', 'members', 'momentum', 'publicStage', 'salesAccepted', 'stage', 'veto']);
    (h.members[0] as { trust: number }).trust = -5;
    expect(market.hidden(engaged.accountId).members[0]?.trust).not.toBe(-5);
    // Engagement falls out of the window after engagementWindowWeeks quiet ticks.
    for (let w = 7; w <= 7 + defaultScenario.hidden.engagementWindowWeeks; w += 1) market.advance(weekEnd(w));
    expect(market.hidden(engaged.accountId).members.find((m) => m.id === engaged?.stakeholderId)?.engaged).toBe(false);
    expect(() => market.hidden('acc-9999')).toThrow(InvalidInputError);
  });

  it('reports relevance as the response model uses it: the role matrix plus a bonus for a topic that speaks to the role', () => {
    const market = Market.create({ seed: 'rel', accounts: 1, start: START });
    expect(market.relevanceOf('executive_briefing', 'economic_buyer', 'weather')).toBe(defaultScenario.relevance.executive_briefing.economic_buyer);
    expect(market.relevanceOf('role_content', 'technical_evaluator', 'An integration guide')).toBeCloseTo(
      defaultScenario.relevance.role_content.technical_evaluator + defaultScenario.topicMatchBonus,
    );
    expect(market.relevanceOf('nurture_email', 'blocker', 'security and compliance')).toBe(defaultScenario.relevance.nurture_email.blocker);
    expect(market.scenarioOf()).toBe(defaultScenario);
  });
});

describe('every shipped scenario', () => {
  const run = (scenario: Scenario, seed: string, weeks: number, saveAt?: number): { signals: PipelineSignal[]; market: Market } => {
    let market = Market.create({ seed, accounts: 60, start: START, scenario });
    const people = committees(market);
    const signals: PipelineSignal[] = [];
    for (let w = 1; w <= weeks; w += 1) {
      script(market, people, w);
      if (w === saveAt) market = Market.fromJSON(JSON.parse(JSON.stringify(market.toJSON())));
      signals.push(...market.advance(weekEnd(w)));
    }
    return { signals, market };
  };

  for (const [name, scenario] of Object.entries(SCENARIOS)) {
    it(`${name}: answers the same seed and calls identically, also across a save and restore mid-run`, () => {
      const a = run(scenario, `det-${name}`, 8);
      expect(a.signals.length).toBeGreaterThan(200);
      expect(run(scenario, `det-${name}`, 8).signals).toEqual(a.signals);
      const restored = run(scenario, `det-${name}`, 8, 5);
      expect(restored.signals).toEqual(a.signals);
      expect(restored.market.truth()).toEqual(a.market.truth());
      expect(restored.market.toJSON()).toEqual(a.market.toJSON());
    });
  }

  it('keeps delayed CRM updates across a save and restore (cold-data)', () => {
    const cold = Scenario.parse(deepMerge(scenarioByName('cold-data'), { progression: { baseHazard: { unaware: 0.3, problem_aware: 0.3 } } }));
    const market = Market.create({ seed: 'lagged', accounts: 30, start: START, scenario: cold });
    for (let w = 1; w <= 2; w += 1) market.advance(weekEnd(w));
    const pending = market.toJSON().accounts.filter((a) => a.stageReports.length > 0).length;
    expect(pending).toBeGreaterThan(0);
    const restored = Market.fromJSON(JSON.parse(JSON.stringify(market.toJSON())));
    expect(restored.advance(weekEnd(3))).toEqual(market.advance(weekEnd(3)));
    expect(restored.advance(weekEnd(4))).toEqual(market.advance(weekEnd(4)));
  });
});

describe('a snapshot saved before the new fields existed', () => {
  it('still loads, takes the new parameters from the default scenario and continues like the original', () => {
    const original = Market.create({ seed: 'legacy', accounts: 40, start: START });
    const people = committees(original);
    script(original, people, 1);
    original.advance(weekEnd(1));
    script(original, people, 2);
    const legacy = JSON.parse(JSON.stringify(original.toJSON())) as Record<string, unknown> & {
      scenario: Record<string, Record<string, unknown>>;
      accounts: Array<Record<string, unknown>>;
      stakeholders: Array<Record<string, unknown>>;
      counters: Record<string, unknown>;
    };
    for (const k of ['proxies', 'blockers', 'effects']) delete legacy.scenario[k];
    delete legacy.scenario.book?.knownContactShare;
    delete legacy.scenario.responses?.fakeOpenShare;
    delete legacy.scenario.responses?.sdr;
    delete legacy.scenario.progression?.crmDelayWeeks;
    for (const a of legacy.accounts) delete a.stageReports;
    for (const s of legacy.stakeholders) {
      delete s.known;
      delete s.sdrTouches;
    }
    delete legacy.counters.emailDeliveries;
    delete legacy.counters.ignoredContacts;
    const restored = Market.fromJSON(legacy);
    expect(restored.scenarioOf()).toEqual(defaultScenario);
    expect(restored.advance(weekEnd(2))).toEqual(original.advance(weekEnd(2)));
    expect(restored.book()).toEqual(original.book());
  });
});
