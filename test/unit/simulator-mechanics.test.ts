/**
 * The scenario mechanics beyond the default world: engagement bait (proxy-rich), the bypassed
 * blocker (strong-blocker), unknown contacts, machine opens and a lagging CRM (cold-data), the
 * uniform null control, the cold SDR sequence, and touches to decided accounts doing nothing.
 */
import { describe, expect, it } from 'vitest';
import { ToolRejectedError } from '../../shared/domain/errors.ts';
import type { ActionType, CommitteeRole, PipelineSignal, Stage, Stakeholder } from '../../shared/domain/model.ts';
import { Market } from '../../local/simulator/market.ts';
import { deepMerge } from '../../local/simulator/scenario-file.ts';
import { defaultScenario, Scenario, scenarioByName } from '../../local/simulator/scenario.ts';

import { START, action, committees, sendAt, weekEnd } from './market-fixture.ts';

/** The default scenario with some parameters changed (a test-only variant). */
const tweak = (changes: object): Scenario => Scenario.parse(deepMerge(defaultScenario, { name: 'test', ...changes }));

/** Sends `type` to every reachable known contact of every account each week (one call per account). */
const blanket = (market: Market, weeks: number, types: readonly ActionType[]): PipelineSignal[] => {
  const people = committees(market);
  const out: PipelineSignal[] = [];
  const suppressed = new Set<string>();
  for (let w = 1; w <= weeks; w += 1) {
    for (const [accountId, members] of people) {
      const reachable = members.filter((m) => m.consent !== 'opted_out' && !suppressed.has(m.id));
      if (reachable.length === 0) continue;
      for (const type of types) market.apply(action(`w${w}-${accountId}-${type}`, accountId, type, reachable.map((m) => m.id), 'influencer'), reachable, sendAt(w));
    }
    for (const s of market.advance(weekEnd(w))) {
      out.push(s);
      if (s.kind === 'unsubscribe' && s.stakeholderId !== undefined) suppressed.add(s.stakeholderId);
    }
  }
  return out;
};

const count = (signals: readonly PipelineSignal[], kind: string, causedBy?: (id: string) => boolean): number =>
  signals.filter((s) => s.kind === kind && (causedBy === undefined || (s.causedBy !== undefined && causedBy(s.causedBy)))).length;

describe('engagement bait (proxy-rich)', () => {
  const run = (scenario: Scenario): { signals: PipelineSignal[]; market: Market } => {
    const market = Market.create({ seed: 'bait', accounts: 150, start: START, scenario });
    return { signals: blanket(market, 6, ['nurture_email', 'event_invite']), market };
  };
  const plain = run(defaultScenario);
  const bait = run(scenarioByName('proxy-rich'));

  it('about doubles opens and clicks on bait actions', () => {
    const openRatio = bait.market.truth().opens / plain.market.truth().opens;
    const clickRatio = bait.market.truth().clicks / plain.market.truth().clicks;
    expect(openRatio).toBeGreaterThan(1.6);
    expect(openRatio).toBeLessThan(2.1);
    expect(clickRatio).toBeGreaterThan(1.5);
    expect(clickRatio).toBeLessThan(2.3);
  });

  it('never turns a bait click into content consumed, and erodes hidden trust with every touch', () => {
    expect(count(plain.signals, 'content_consumed')).toBeGreaterThan(20);
    expect(count(bait.signals, 'content_consumed', (id) => id.endsWith('nurture_email') || id.endsWith('event_invite'))).toBe(0);
    expect(bait.market.truth().meanTrust).toBeLessThan(plain.market.truth().meanTrust - 0.03);
    expect(bait.market.truth().progressions).toBeLessThanOrEqual(plain.market.truth().progressions);
  });

  it('answers non-bait actions exactly as the default world does', () => {
    const roleContent = (scenario: Scenario): PipelineSignal[] => blanket(Market.create({ seed: 'bait', accounts: 60, start: START, scenario }), 3, ['role_content']);
    expect(roleContent(scenarioByName('proxy-rich'))).toEqual(roleContent(defaultScenario));
  });
});

describe('the bypassed blocker (blockers.angerOnChampionOnly)', () => {
  const angry = tweak({ book: { activeBlockerShare: 1, championPresence: 1 }, blockers: { angerOnChampionOnly: 1 } });
  const touch = (scenario: Scenario, roles: readonly CommitteeRole[]): { raised: PipelineSignal[]; accounts: number; market: Market } => {
    const market = Market.create({ seed: 'anger', accounts: 80, start: START, scenario });
    for (const [accountId, members] of committees(market)) {
      for (const role of roles) {
        const m = members.find((p) => p.role === role && p.consent !== 'opted_out');
        if (m !== undefined) market.apply(action(`a-${accountId}-${role}`, accountId, 'role_content', [m.id], role), [m], sendAt(1));
      }
    }
    const raised = market.advance(weekEnd(1)).filter((s) => s.kind === 'objection_raised' && s.id.includes('blocker_anger'));
    return { raised, accounts: market.size, market };
  };

  it('makes the active blocker raise their concern and lose trust when only the champion is touched', () => {
    const { raised, market } = touch(angry, ['champion']);
    expect(raised.length).toBeGreaterThan(60); // all but accounts whose champion opted out
    for (const s of raised) {
      const h = market.hidden(s.accountId);
      const blocker = h.members.find((m) => m.activeBlocker);
      expect(blocker?.id).toBe(s.stakeholderId);
      expect(blocker?.openObjection).toBe(s.topic);
    }
  });

  it('leaves the blocker calm when another role of the account is touched in the same tick, or when the mechanic is off', () => {
    expect(touch(angry, ['champion', 'technical_evaluator']).raised.length).toBeLessThan(3);
    expect(touch(tweak({ book: { activeBlockerShare: 1, championPresence: 1 } }), ['champion']).raised).toEqual([]);
  });

  it('is on in strong-blocker, with big committees and a veto in most accounts', () => {
    const s = scenarioByName('strong-blocker');
    expect(s.blockers.angerOnChampionOnly).toBeGreaterThan(0);
    const market = Market.create({ seed: 'strong', accounts: 200, start: START, scenario: s });
    expect(market.truth().vetoes / 200).toBeGreaterThan(0.7);
    for (const members of committees(market).values()) {
      expect(members.length).toBeGreaterThanOrEqual(8);
      expect(members.length).toBeLessThanOrEqual(20);
    }
  });
});

describe('cold data', () => {
  const cold = scenarioByName('cold-data');

  it('lists only the ~30% of people the CRM knows, refuses tool calls to the others, and keeps them on the committee', () => {
    const market = Market.create({ seed: 'cold', accounts: 200, start: START, scenario: cold });
    const known = market.book().stakeholders;
    const all = market.book().accounts.flatMap((a) => market.hidden(a.id).members);
    expect(known.length / all.length).toBeGreaterThan(0.25);
    expect(known.length / all.length).toBeLessThan(0.35);
    const knownIds = new Set(known.map((s) => s.id));
    for (const m of all) expect(m.known).toBe(knownIds.has(m.id));
    const stranger = all.find((m) => !m.known);
    if (stranger === undefined) throw new Error('expected unknown people in cold-data');
    const accountId = stranger.id.replace('stk-', 'acc-').replace(/-\d+$/, '');
    expect(() => market.apply(action('act-stranger', accountId, 'role_content', [stranger.id], stranger.role), [], sendAt(1))).toThrow(ToolRejectedError);
    expect(market.totalTouches()).toBe(0);
  });

  it('names only known people in signals (unknown visitors stay anonymous), and about half of the opens are machine opens', () => {
    const market = Market.create({ seed: 'cold', accounts: 200, start: START, scenario: cold });
    const knownIds = new Set(market.book().stakeholders.map((s) => s.id));
    const signals = blanket(market, 4, ['nurture_email']);
    expect(signals.filter((s) => s.kind === 'web_visit').length).toBeGreaterThan(20);
    for (const s of signals) if (s.stakeholderId !== undefined) expect(knownIds.has(s.stakeholderId)).toBe(true);
    const warm = Market.create({ seed: 'cold', accounts: 200, start: START });
    blanket(warm, 4, ['nurture_email']);
    const openRate = (m: Market): number => m.truth().opens / m.truth().emailDeliveries;
    // Machine opens m with m / (m + (1 - m) * 0.22) = 0.5: about 0.36 of deliveries open.
    expect(openRate(market)).toBeGreaterThan(0.32);
    expect(openRate(market)).toBeLessThan(0.4);
    expect(openRate(warm)).toBeLessThan(0.25);
    expect(market.truth().clicks / market.truth().emailDeliveries).toBeLessThan(0.035); // machines do not click
  });

  it('shows stage changes in the CRM crmDelayWeeks ticks after they happen', () => {
    const hot = Scenario.parse(deepMerge(cold, { progression: { baseHazard: { unaware: 0.2, problem_aware: 0.2, solution_aware: 0.2, evaluating: 0.2 } } }));
    const market = Market.create({ seed: 'lag', accounts: 60, start: START, scenario: hot });
    const trueStages: Array<Record<string, Stage>> = [market.truth().stages];
    const reported: Array<{ week: number; signal: PipelineSignal }> = [];
    for (let w = 1; w <= 10; w += 1) {
      for (const s of market.advance(weekEnd(w))) if (s.kind === 'crm_stage_change') reported.push({ week: w, signal: s });
      trueStages.push(market.truth().stages);
      const book = new Map(market.book().accounts.map((a) => [a.id, a.stage]));
      // The CRM shows the true stage of three ticks ago.
      for (const [id, stage] of book) expect(stage).toBe(trueStages[Math.max(0, w - 3)]?.[id]);
    }
    expect(reported.length).toBeGreaterThan(20);
    for (const { week, signal } of reported) {
      expect(week).toBeGreaterThan(3);
      expect(trueStages[week - 3]?.[signal.accountId]).toBe(signal.stage);
      expect(trueStages[week - 4]?.[signal.accountId]).not.toBe(signal.stage);
    }
  });
});

describe('the null control (effects.mode: uniform)', () => {
  const P = 0.01;
  const uniform = Scenario.parse(deepMerge(scenarioByName('null-control'), { effects: { uniformAdvancePerTouch: P } }));
  type Script = (market: Market, people: Map<string, Stakeholder[]>, w: number) => void;
  const nurtureAll: Script = (market, people, w) => {
    for (const [accountId, members] of people) {
      const reachable = members.filter((m) => m.consent !== 'opted_out');
      if (reachable.length > 0) market.apply(action(`n${w}-${accountId}`, accountId, 'nurture_email', reachable.map((m) => m.id), 'influencer'), reachable, sendAt(w));
    }
  };
  const targeted: Script = (market, people, w) => {
    for (const [accountId, members] of people) {
      const h = market.hidden(accountId);
      // An "oracle" that picks in-market accounts and their most interested people with the best-fitting action.
      if (!h.inMarket && w % 2 === 0) continue;
      const best = [...members].filter((m) => m.consent !== 'opted_out').sort((a, b) => (h.members.find((x) => x.id === b.id)?.interest ?? 0) - (h.members.find((x) => x.id === a.id)?.interest ?? 0));
      for (const m of best.slice(0, 3)) {
        const type: ActionType = m.role === 'blocker' ? 'reference_call_offer' : m.role === 'economic_buyer' ? 'executive_briefing' : 'role_content';
        market.apply(action(`t${w}-${m.id}`, accountId, type, [m.id], m.role), [m], sendAt(w));
      }
    }
  };
  const run = (script: Script | undefined, weeks = 8): Market => {
    const market = Market.create({ seed: 'null', accounts: 300, start: START, scenario: uniform });
    const people = committees(market);
    for (let w = 1; w <= weeks; w += 1) {
      script?.(market, people, w);
      market.advance(weekEnd(w));
    }
    return market;
  };
  const none = run(undefined);

  it('gives every delivered touch the same chance to move its account, whoever and whatever it is', () => {
    for (const script of [nurtureAll, targeted]) {
      const m = run(script);
      const delivered = m.truth().contacts - m.truth().ignoredContacts;
      const expected = P * delivered;
      const extra = m.truth().progressions - none.truth().progressions;
      // Binomial noise plus the small knock-on of a moved account's later organic hazard.
      expect(Math.abs(extra - expected)).toBeLessThan(4 * Math.sqrt(expected) + 0.1 * expected);
    }
  });

  it('changes nothing hidden but stages and consent: organic behaviour runs as in the untouched world', () => {
    const touched = run(targeted);
    const a = none.toJSON();
    const b = touched.toJSON();
    const hidden = (s: (typeof a.stakeholders)[number]): unknown => [s.interest, s.trust, s.engagedTick, s.genericTouches, s.sdrTouches];
    expect(b.stakeholders.map(hidden)).toEqual(a.stakeholders.map(hidden));
    const acct = (x: (typeof a.accounts)[number]): unknown => [x.inMarket, x.veto, x.derisked, x.momentum, x.salesAccepted, x.handoffTick];
    expect(b.accounts.map(acct)).toEqual(a.accounts.map(acct));
    expect(touched.truth().engagedRolesPerAccount).toBe(0);
  });

  it('answers every action type and role with the same responses', () => {
    const answers = (type: ActionType): string[] => {
      const market = Market.create({ seed: 'same', accounts: 120, start: START, scenario: uniform });
      for (const [accountId, members] of committees(market)) {
        const reachable = members.filter((m) => m.consent !== 'opted_out');
        market.apply(action(`x-${accountId}`, accountId, type, reachable.map((m) => m.id), 'champion'), reachable, sendAt(1));
      }
      return market
        .advance(weekEnd(1))
        .filter((s) => s.causedBy !== undefined)
        .map((s) => `${s.id} ${s.at}`);
    };
    const nurture = answers('nurture_email');
    expect(nurture.length).toBeGreaterThan(100);
    for (const type of ['executive_briefing', 'reference_call_offer', 'sales_handoff', 'sdr_email'] as const) expect(answers(type)).toEqual(nurture);
  });
});

describe('cold SDR sequences (sdr_email)', () => {
  it('get fewer replies and more unsubscribes with each step to the same person', () => {
    const market = Market.create({ seed: 'sdr', accounts: 1200, start: START });
    const people = committees(market);
    const sent = [0, 0, 0, 0, 0];
    const replies = [0, 0, 0, 0, 0];
    const unsubs = [0, 0, 0, 0, 0];
    const gone = new Set<string>();
    for (let step = 1; step <= 5; step += 1) {
      for (const [accountId, members] of people) {
        for (const m of members) {
          if (m.consent === 'opted_out' || gone.has(m.id)) continue;
          market.apply(action(`sdr${step}-${m.id}`, accountId, 'sdr_email', [m.id], m.role), [m], sendAt(step));
          sent[step - 1] = (sent[step - 1] ?? 0) + 1;
        }
      }
      for (const s of market.advance(weekEnd(step))) {
        if (s.kind === 'reply' && s.stakeholderId !== undefined) {
          replies[step - 1] = (replies[step - 1] ?? 0) + 1;
          gone.add(s.stakeholderId); // a reply ends the sequence
        }
        if (s.kind === 'unsubscribe' && s.stakeholderId !== undefined) {
          unsubs[step - 1] = (unsubs[step - 1] ?? 0) + 1;
          gone.add(s.stakeholderId);
        }
      }
    }
    const rate = (xs: number[], i: number): number => (xs[i] ?? 0) / (sent[i] ?? 1);
    // simulator.md: per-step reply 1.2% -> 0.2% by step 5; unsubscribes 0.4-2% and rising.
    expect(rate(replies, 0)).toBeGreaterThan(0.008);
    expect(rate(replies, 0)).toBeLessThan(0.016);
    expect(rate(replies, 4)).toBeGreaterThan(0.0005);
    expect(rate(replies, 4)).toBeLessThan(0.004);
    expect(rate(replies, 0)).toBeGreaterThan(rate(replies, 2));
    expect(rate(replies, 2)).toBeGreaterThan(rate(replies, 4));
    expect(rate(unsubs, 0)).toBeGreaterThan(0.003);
    expect(rate(unsubs, 4)).toBeGreaterThan(1.8 * rate(unsubs, 0));
    expect(rate(unsubs, 4)).toBeLessThan(0.02);
    // Over the sequence, the share of prospects who reply sits in the cold-email range (~3%).
    const prospects = sent[0] ?? 1;
    expect(replies.reduce((a, b) => a + b, 0) / prospects).toBeGreaterThan(0.02);
    expect(replies.reduce((a, b) => a + b, 0) / prospects).toBeLessThan(0.04);
    expect(market.hidden('acc-0001').members.some((m) => m.sdrSteps > 0)).toBe(true);
  });
});

describe('touches to a decided account', () => {
  it('do nothing: no response, no hidden change, counted as ignored contacts', () => {
    const fast = tweak({
      book: { inMarketShare: 1 },
      progression: { baseHazard: { unaware: 0.5, problem_aware: 0.5, solution_aware: 0.5, evaluating: 0.5 } },
    });
    const world = (): Market => {
      const m = Market.create({ seed: 'decided', accounts: 40, start: START, scenario: fast });
      for (let w = 1; w <= 6; w += 1) m.advance(weekEnd(w));
      return m;
    };
    const quiet = world();
    const touched = world();
    const decided = touched.book().accounts.filter((a) => ['committed', 'no_decision', 'closed_lost'].includes(a.stage));
    expect(decided.length).toBeGreaterThan(5);
    const people = committees(touched);
    let delivered = 0;
    for (const a of decided) {
      const members = (people.get(a.id) ?? []).filter((m) => m.consent !== 'opted_out');
      delivered += members.length;
      touched.apply(action(`late-${a.id}`, a.id, 'role_content', members.map((m) => m.id), 'champion'), members, sendAt(7));
    }
    const after = touched.advance(weekEnd(7));
    expect(after.filter((s) => s.causedBy?.startsWith('late-'))).toEqual([]);
    expect(after).toEqual(quiet.advance(weekEnd(7)));
    expect(touched.toJSON().stakeholders).toEqual(quiet.toJSON().stakeholders);
    expect(touched.truth().ignoredContacts).toBe(delivered);
  });
});
