/**
 * The market simulator: determinism, the CRM view it exports, how tool calls land, the signals it
 * answers with, persistence, and whether its baseline sits in published ranges (simulator.md).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { ToolFailedError, ToolRejectedError, InvalidInputError } from '../../shared/domain/errors.ts';
import {
  AccountState,
  PipelineSignal,
  Stakeholder,
  stageRank,
  type ActionType,
  type Stage,
} from '../../shared/domain/model.ts';
import { Market, type MarketTruth } from '../../local/simulator/market.ts';
import { draw, draws } from '../../local/simulator/rng.ts';
import { defaultScenario, Scenario, scenarioByName } from '../../local/simulator/scenario.ts';
import { SimulatedToolGateway } from '../../local/simulator/tool-gateway.ts';

import { START, action, committees, sendAt, weekEnd } from './market-fixture.ts';

/** A stateless weekly script (same calls whatever the world answered), so two worlds can replay it. */
const scriptedWeek = (market: Market, people: Map<string, Stakeholder[]>, w: number): string[] => {
  const ids: string[] = [];
  for (const [accountId, members] of people) {
    const reachable = members.filter((m) => m.consent !== 'opted_out');
    if (w % 2 === 1 && reachable.length > 0) {
      const a = action(`w${w}-${accountId}-nurture`, accountId, 'nurture_email', reachable.map((m) => m.id), 'influencer');
      market.apply(a, reachable, sendAt(w));
      ids.push(a.id);
    }
    const target = reachable[w % Math.max(1, reachable.length)];
    if (target !== undefined) {
      const type: ActionType = target.role === 'blocker' ? 'reference_call_offer' : target.role === 'economic_buyer' ? 'executive_briefing' : 'role_content';
      const a = action(`w${w}-${accountId}-${target.id}`, accountId, type, [target.id], target.role);
      market.apply(a, [target], sendAt(w));
      ids.push(a.id);
    }
  }
  return ids;
};

type Policy = 'none' | 'nurture' | 'targeted';

interface Observed {
  stage: Stage;
  engaged: Set<string>;
  objections: Set<string>;
  suppressed: Set<string>;
  lastTouched: Map<string, number>;
}

/**
 * Runs a policy that sees only what the system could see (the book and the signals).
 * nurture: the automation baseline's weekly email to every known contact, no role targeting.
 * targeted: at most 3 one-to-one actions per account a week: answer objections with a reference
 * call, hand off at evaluating once 3+ roles (economic buyer included) engaged, brief the economic
 * buyer, then cover roles that have not engaged, then keep engaged ones warm.
 */
const runPolicy = (policy: Policy, seed: string, accounts: number, weeks: number): MarketTruth => {
  const market = Market.create({ seed, accounts, start: START });
  const people = committees(market);
  const byId = new Map(market.book().stakeholders.map((s) => [s.id, s]));
  const observed = new Map<string, Observed>(
    market.book().accounts.map((a) => [
      a.id,
      {
        stage: a.stage,
        engaged: new Set(),
        objections: new Set(),
        suppressed: new Set((people.get(a.id) ?? []).filter((s) => s.consent === 'opted_out').map((s) => s.id)),
        lastTouched: new Map(),
      },
    ]),
  );
  for (let w = 1; w <= weeks; w += 1) {
    for (const [accountId, o] of observed) {
      const reachable = (people.get(accountId) ?? []).filter((s) => !o.suppressed.has(s.id));
      if (policy === 'nurture' && reachable.length > 0) {
        market.apply(action(`w${w}-${accountId}-nurture`, accountId, 'nurture_email', reachable.map((s) => s.id), 'influencer'), reachable, sendAt(w));
      }
      if (policy !== 'targeted' || stageRank(o.stage) < 0 || o.stage === 'committed') continue;
      const picks: Array<[ActionType, Stakeholder]> = [];
      const add = (type: ActionType, s: Stakeholder | undefined): void => {
        if (s !== undefined && !o.suppressed.has(s.id) && picks.length < 3 && !picks.some(([, p]) => p.id === s.id)) picks.push([type, s]);
      };
      const roles = new Set([...o.engaged].map((id) => byId.get(id)?.role));
      const buyer = reachable.find((s) => s.role === 'economic_buyer');
      for (const id of o.objections) add('reference_call_offer', byId.get(id));
      if (o.stage === 'evaluating' && roles.size >= 3 && roles.has('economic_buyer')) {
        add('sales_handoff', reachable.find((s) => s.role === 'champion') ?? buyer);
      }
      if (!roles.has('economic_buyer') && stageRank(o.stage) >= stageRank('solution_aware')) add('executive_briefing', buyer);
      const leastRecent = (x: Stakeholder, y: Stakeholder): number =>
        (o.lastTouched.get(x.id) ?? 0) - (o.lastTouched.get(y.id) ?? 0) || x.id.localeCompare(y.id);
      const fit = (s: Stakeholder): ActionType =>
        s.role === 'blocker' ? 'reference_call_offer' : s.role === 'economic_buyer' ? 'executive_briefing' : 'role_content';
      for (const s of reachable.filter((p) => !roles.has(p.role)).sort(leastRecent)) add(fit(s), s);
      for (const s of reachable.filter((p) => o.engaged.has(p.id)).sort(leastRecent)) add(fit(s), s);
      for (const [type, s] of picks) {
        o.lastTouched.set(s.id, w);
        market.apply(action(`w${w}-${accountId}-${s.id}-${type}`, accountId, type, [s.id], s.role), [s], sendAt(w));
      }
    }
    for (const s of market.advance(weekEnd(w))) {
      const o = observed.get(s.accountId);
      if (o === undefined) continue;
      if (s.kind === 'crm_stage_change' && s.stage !== undefined) o.stage = s.stage;
      if (s.stakeholderId === undefined) continue;
      if (s.kind === 'reply' || s.kind === 'content_consumed' || s.kind === 'meeting_booked') o.engaged.add(s.stakeholderId);
      if (s.kind === 'unsubscribe') o.suppressed.add(s.stakeholderId);
      if (s.kind === 'objection_raised') o.objections.add(s.stakeholderId);
      if (s.kind === 'objection_resolved') o.objections.delete(s.stakeholderId);
    }
  }
  return market.truth();
};

describe('keyed random draws', () => {
  it('gives the same number for the same seed and key, and different numbers for different keys', () => {
    expect(draw('s', 'acc-0001', 3)).toBe(draw('s', 'acc-0001', 3));
    expect(draw('s', 'acc-0001', 3)).not.toBe(draw('s', 'acc-0001', 4));
    expect(draw('s', 'acc-0001', 3)).not.toBe(draw('t', 'acc-0001', 3));
    expect(draws(20, 's', 'k')[0]).toBe(draw('s', 'k'));
    for (const u of draws(20, 's', 'k')) expect(u >= 0 && u < 1).toBe(true);
  });

  it('does not confuse keys whose joined text would be the same', () => {
    expect(draw('s', 'a-b', 'c')).not.toBe(draw('s', 'a', 'b-c'));
  });
});

describe('the default scenario', () => {
  it('parses with its own schema and is found by name', () => {
    expect(Scenario.parse(defaultScenario)).toEqual(defaultScenario);
    expect(scenarioByName('default')).toBe(defaultScenario);
    expect(() => scenarioByName('nope')).toThrow(/unknown scenario "nope"/);
  });
});

describe('Market.create and book()', () => {
  const market = Market.create({ seed: 'book', accounts: 300, start: START });
  const book = market.book();

  it('exports a CRM view that parses with the domain schemas and starts at version 0', () => {
    for (const a of book.accounts) {
      expect(AccountState.parse(a)).toEqual(a);
      expect(a).toMatchObject({ version: 0, engagedRoles: [], objections: [], consensus: 0, observedUntil: null });
    }
    for (const s of book.stakeholders) expect(Stakeholder.parse(s)).toEqual(s);
    expect(JSON.stringify(book)).not.toMatch(/interest|trust|veto|inMarket/);
  });

  it('numbers accounts acc-0001 onwards with invented names and unique .example domains', () => {
    expect(book.accounts[0]?.id).toBe('acc-0001');
    expect(book.accounts[299]?.id).toBe('acc-0300');
    expect(new Set(book.accounts.map((a) => a.domain)).size).toBe(300);
    for (const a of book.accounts) expect(a.domain.endsWith('.example')).toBe(true);
  });

  it('gives every account a committee of 4 to 12 with an economic buyer, emails at its domain', () => {
    const people = committees(market);
    for (const a of book.accounts) {
      const members = people.get(a.id) ?? [];
      expect(members.length).toBeGreaterThanOrEqual(4);
      expect(members.length).toBeLessThanOrEqual(12);
      expect(members.some((m) => m.role === 'economic_buyer')).toBe(true);
      for (const m of members) expect(m.email.endsWith(`@${a.domain}`)).toBe(true);
      expect(new Set(members.map((m) => m.email)).size).toBe(members.length);
    }
    const withChampion = book.accounts.filter((a) => (people.get(a.id) ?? []).some((m) => m.role === 'champion')).length;
    expect(withChampion / 300).toBeGreaterThan(0.6);
    expect(withChampion / 300).toBeLessThan(0.8);
  });

  it('mixes consent mostly opted in, some unknown and about 3% opted out', () => {
    const n = book.stakeholders.length;
    const share = (c: string): number => book.stakeholders.filter((s) => s.consent === c).length / n;
    expect(share('opted_in')).toBeGreaterThan(0.75);
    expect(share('unknown')).toBeGreaterThan(0.1);
    expect(share('opted_out')).toBeGreaterThan(0.015);
    expect(share('opted_out')).toBeLessThan(0.05);
  });

  it('starts accounts mostly unaware or problem_aware, a few solution_aware, in four main time zones', () => {
    const stages = book.accounts.map((a) => a.stage);
    const early = stages.filter((s) => s === 'unaware' || s === 'problem_aware').length;
    expect(early / 300).toBeGreaterThan(0.8);
    expect(stages.filter((s) => s === 'solution_aware').length).toBeGreaterThan(0);
    expect(stages.every((s) => stageRank(s) <= stageRank('solution_aware'))).toBe(true);
    const main = ['America/New_York', 'Europe/London', 'Europe/Berlin', 'Australia/Sydney'];
    const people = committees(market);
    const zoneOf = (accountId: string): string => people.get(accountId)?.[0]?.timeZone ?? '';
    expect(book.accounts.filter((a) => main.includes(zoneOf(a.id))).length / 300).toBeGreaterThan(0.85);
    expect(new Set(book.accounts.map((a) => a.tier))).toEqual(new Set([1, 2, 3]));
  });

  it('puts about 10% of accounts in market at the start (hidden)', () => {
    const inMarket = market.truth().inMarket / 300;
    expect(inMarket).toBeGreaterThan(0.06);
    expect(inMarket).toBeLessThan(0.14);
  });

  it('creates the same book from the same seed and a different one from another seed', () => {
    expect(Market.create({ seed: 'book', accounts: 300, start: START }).book()).toEqual(book);
    const other = Market.create({ seed: 'other', accounts: 300, start: START }).book();
    expect(other.accounts.map((a) => a.name)).not.toEqual(book.accounts.map((a) => a.name));
    expect(other.stakeholders.map((s) => s.email)).not.toEqual(book.stakeholders.map((s) => s.email));
  });
});

describe('Market.apply', () => {
  it('counts every tool call, a repeated action id included, with a deterministic external id', () => {
    const market = Market.create({ seed: 'apply', accounts: 5, start: START });
    const [s] = committees(market).get('acc-0001') ?? [];
    if (s === undefined) throw new Error('acc-0001 has no committee');
    const a = action('act-1', 'acc-0001', 'role_content', [s.id], s.role);
    const first = market.apply(a, [s], sendAt(1));
    const second = market.apply(a, [s], sendAt(1));
    expect(first.ok).toBe(true);
    expect(first.externalId).not.toBe(second.externalId);
    expect(market.touchCount('act-1')).toBe(2);
    expect(market.touchCount('act-unknown')).toBe(0);
    expect(market.totalTouches()).toBe(2);
    const again = Market.create({ seed: 'apply', accounts: 5, start: START });
    expect(again.apply(a, [s], sendAt(1)).externalId).toBe(first.externalId);
  });

  it('rejects a call that targets a stakeholder the market does not know, and counts nothing', () => {
    const market = Market.create({ seed: 'apply', accounts: 5, start: START });
    const ghost = action('act-ghost', 'acc-0001', 'role_content', ['stk-9999-01'], 'champion');
    expect(() => market.apply(ghost, [], sendAt(1))).toThrow(ToolRejectedError);
    const [other] = committees(market).get('acc-0002') ?? [];
    const wrongAccount = action('act-wrong', 'acc-0001', 'role_content', [other?.id ?? 'x'], 'champion');
    expect(() => market.apply(wrongAccount, [], sendAt(1))).toThrow(ToolRejectedError);
    expect(market.touchCount('act-ghost')).toBe(0);
    expect(market.totalTouches()).toBe(0);
  });

  it('records email sent to an opted-out contact as a governance violation', () => {
    const market = Market.create({ seed: 'book', accounts: 300, start: START });
    const optedOut = market.book().stakeholders.find((s) => s.consent === 'opted_out');
    if (optedOut === undefined) throw new Error('expected an opted-out contact in 300 accounts');
    market.apply(action('act-bad', optedOut.accountId, 'nurture_email', [optedOut.id], 'influencer'), [optedOut], sendAt(1));
    expect(market.truth().violations).toBe(1);
    expect(market.advance(weekEnd(1)).filter((s) => s.causedBy === 'act-bad')).toEqual([]);
  });
});

describe('Market.advance', () => {
  const simulate = (seed: string, weeks: number): { signals: PipelineSignal[][]; applied: Set<string>; market: Market } => {
    const market = Market.create({ seed, accounts: 100, start: START });
    const people = committees(market);
    const signals: PipelineSignal[][] = [];
    const applied = new Set<string>();
    for (let w = 1; w <= weeks; w += 1) {
      for (const id of scriptedWeek(market, people, w)) applied.add(id);
      signals.push(market.advance(weekEnd(w)));
    }
    return { signals, applied, market };
  };

  let det: ReturnType<typeof simulate>;
  beforeAll(() => {
    det = simulate('det', 4);
  });

  it('answers the same seed and the same calls with identical signals over four ticks', () => {
    const again = simulate('det', 4);
    expect(again.signals).toEqual(det.signals);
    expect(again.market.truth()).toEqual(det.market.truth());
    expect(det.signals.flat().length).toBeGreaterThan(100);
  });

  it('answers a different seed with different signals', () => {
    const ids = (s: PipelineSignal[][]): string[] => s.flat().map((x) => x.id);
    expect(ids(simulate('det-2', 4).signals)).not.toEqual(ids(det.signals));
  });

  it('emits valid signals within the week, with unique ids and the causing action on every response', () => {
    const { signals, applied } = det;
    const all = signals.flat();
    expect(new Set(all.map((s) => s.id)).size).toBe(all.length);
    signals.forEach((week, i) => {
      for (const s of week) {
        expect(PipelineSignal.parse(s)).toEqual(s);
        expect(s.at >= weekEnd(i)).toBe(true);
        expect(s.at < weekEnd(i + 1)).toBe(true);
      }
    });
    const responses = all.filter((s) => ['open', 'click', 'reply', 'meeting_booked', 'unsubscribe', 'content_consumed', 'objection_resolved'].includes(s.kind));
    expect(responses.length).toBeGreaterThan(0);
    for (const s of responses) {
      expect(s.causedBy !== undefined && applied.has(s.causedBy)).toBe(true);
      expect(s.stakeholderId).toBeDefined();
    }
    const kinds = new Set(all.map((s) => s.kind));
    for (const k of ['open', 'click', 'reply', 'content_consumed', 'intent_surge', 'web_visit']) expect(kinds).toContain(k);
  });

  it('reports true stage changes as crm_stage_change signals that match the hidden truth', () => {
    const { signals, market } = simulate('stages', 8);
    const last = new Map<string, Stage>();
    for (const s of signals.flat()) if (s.kind === 'crm_stage_change' && s.stage !== undefined) last.set(s.accountId, s.stage);
    expect(last.size).toBeGreaterThan(0);
    const truth = market.truth();
    for (const [accountId, stage] of last) expect(truth.stages[accountId]).toBe(stage);
    const book = new Map(market.book().accounts.map((a) => [a.id, a.stage]));
    for (const [accountId, stage] of last) expect(book.get(accountId)).toBe(stage);
  });

  it('moves the world clock to the end of the tick and refuses to go back', () => {
    const market = Market.create({ seed: 'clock', accounts: 3, start: START });
    expect(market.now()).toBe(START);
    market.advance(weekEnd(1));
    expect(market.now()).toBe(weekEnd(1));
    expect(() => market.advance(weekEnd(1))).toThrow(InvalidInputError);
  });

  it('raises unsubscribes and erodes trust when touches pile up above two per stakeholder a week', () => {
    const pressure = (perWeek: number): MarketTruth => {
      const market = Market.create({ seed: 'fatigue', accounts: 150, start: START });
      const people = committees(market);
      for (let w = 1; w <= 4; w += 1) {
        for (const [accountId, members] of people) {
          const reachable = members.filter((m) => m.consent !== 'opted_out');
          for (let k = 0; k < perWeek; k += 1) {
            market.apply(action(`w${w}-${accountId}-${k}`, accountId, 'nurture_email', reachable.map((m) => m.id), 'influencer'), reachable, sendAt(w));
          }
        }
        market.advance(weekEnd(w));
      }
      return market.truth();
    };
    const calm = pressure(1);
    const piled = pressure(4);
    expect(piled.unsubscribes / piled.contacts).toBeGreaterThan((2 * calm.unsubscribes) / calm.contacts);
    expect(piled.meanTrust).toBeLessThan(calm.meanTrust);
  });

  it('lets blockers raise objections and resolves them only through de-risking moves to the objector', () => {
    const market = Market.create({ seed: 'objections', accounts: 300, start: START });
    const people = committees(market);
    const byId = new Map(market.book().stakeholders.map((s) => [s.id, s]));
    const types = new Map<string, ActionType>();
    const raised = new Set<string>();
    let resolved = 0;
    for (let w = 1; w <= 8; w += 1) {
      for (const [accountId, members] of people) {
        const blocker = members.find((m) => m.role === 'blocker' && m.consent !== 'opted_out');
        if (blocker === undefined) continue;
        const type: ActionType = raised.has(blocker.id) ? 'reference_call_offer' : 'role_content';
        const a = action(`w${w}-${accountId}-${type}`, accountId, type, [blocker.id], 'blocker');
        types.set(a.id, type);
        market.apply(a, [blocker], sendAt(w));
      }
      for (const s of market.advance(weekEnd(w))) {
        if (s.kind === 'objection_raised' && s.stakeholderId !== undefined) raised.add(s.stakeholderId);
        if (s.kind === 'objection_resolved') {
          resolved += 1;
          expect(byId.get(s.stakeholderId ?? '')?.role).toBe('blocker');
          expect(types.get(s.causedBy ?? '')).toBe('reference_call_offer');
          expect(raised.has(s.stakeholderId ?? '')).toBe(true);
        }
      }
    }
    expect(raised.size).toBeGreaterThan(5);
    expect(resolved).toBeGreaterThan(0);
  });
});

describe('Market.toJSON / fromJSON', () => {
  it('round-trips mid-week and then continues exactly as the original world', () => {
    const original = Market.create({ seed: 'persist', accounts: 120, start: START });
    const people = committees(original);
    for (let w = 1; w <= 2; w += 1) {
      scriptedWeek(original, people, w);
      original.advance(weekEnd(w));
    }
    scriptedWeek(original, people, 3); // touches pending when the world is saved
    const restored = Market.fromJSON(JSON.parse(JSON.stringify(original.toJSON())));
    expect(restored.toJSON()).toEqual(original.toJSON());
    expect(restored.now()).toBe(original.now());
    expect(restored.totalTouches()).toBe(original.totalTouches());

    const continueFrom = (m: Market): PipelineSignal[] => {
      const out = m.advance(weekEnd(3));
      scriptedWeek(m, people, 4);
      return [...out, ...m.advance(weekEnd(4))];
    };
    expect(continueFrom(restored)).toEqual(continueFrom(original));
    expect(restored.truth()).toEqual(original.truth());
  });

  it('refuses a snapshot that is not one, naming what is wrong', () => {
    expect(() => Market.fromJSON({ format: 'amk-market/1', seed: 1 })).toThrow(InvalidInputError);
  });
});

describe('SimulatedToolGateway', () => {
  it('forwards tool calls to the market at the clock time', async () => {
    const market = Market.create({ seed: 'gw', accounts: 3, start: START });
    const [s] = committees(market).get('acc-0002') ?? [];
    if (s === undefined) throw new Error('acc-0002 has no committee');
    const gateway = new SimulatedToolGateway(market, () => sendAt(1));
    const result = await gateway.execute(action('act-gw', 'acc-0002', 'role_content', [s.id], s.role), [s]);
    expect(result.ok).toBe(true);
    expect(market.touchCount('act-gw')).toBe(1);
  });

  it('fails the configured calls with ToolFailedError before anything reaches the market, so a retry sends once', async () => {
    const market = Market.create({ seed: 'gw', accounts: 3, start: START });
    const [s] = committees(market).get('acc-0001') ?? [];
    if (s === undefined) throw new Error('acc-0001 has no committee');
    const gateway = new SimulatedToolGateway(market, () => sendAt(1), { faults: { failOnCall: [1] } });
    const a = action('act-retry', 'acc-0001', 'role_content', [s.id], s.role);
    await expect(gateway.execute(a, [s])).rejects.toBeInstanceOf(ToolFailedError);
    expect(market.touchCount('act-retry')).toBe(0);
    await gateway.execute(a, [s]);
    expect(market.touchCount('act-retry')).toBe(1);
    expect(market.totalTouches()).toBe(1);
  });

  it('passes a rejection from the market through unchanged', async () => {
    const market = Market.create({ seed: 'gw', accounts: 3, start: START });
    const gateway = new SimulatedToolGateway(market, () => sendAt(1));
    await expect(gateway.execute(action('act-x', 'acc-0001', 'role_content', ['stk-0404-01'], 'champion'), [])).rejects.toBeInstanceOf(ToolRejectedError);
  });
});

describe('baseline calibration (directional, paired seeds)', () => {
  const seeds = ['cal-1', 'cal-2', 'cal-3'];
  const ACCOUNTS = 200;
  const WEEKS = 12;
  let results: Record<Policy, MarketTruth[]>;
  beforeAll(() => {
    results = {
      none: seeds.map((seed) => runPolicy('none', seed, ACCOUNTS, WEEKS)),
      nurture: seeds.map((seed) => runPolicy('nurture', seed, ACCOUNTS, WEEKS)),
      targeted: seeds.map((seed) => runPolicy('targeted', seed, ACCOUNTS, WEEKS)),
    };
  });
  const advanced = (p: Policy): number => results[p].reduce((sum, t) => sum + t.advancedSinceStart, 0) / (seeds.length * ACCOUNTS);
  const rate = (p: Policy, kind: string): number =>
    results[p].reduce((sum, t) => sum + (t.signals[kind] ?? 0), 0) / results[p].reduce((sum, t) => sum + t.contacts, 0);

  it('advances few accounts with weekly generic nurture: more than doing nothing, under 30% in 12 weeks', () => {
    expect(advanced('nurture')).toBeGreaterThan(advanced('none'));
    expect(advanced('nurture')).toBeLessThan(0.3);
  });

  it('advances more accounts with role-targeted multi-threading than with nurture, by a credible margin not a multiple', () => {
    const lift = advanced('targeted') / advanced('nurture');
    expect(lift).toBeGreaterThan(1.05);
    expect(lift).toBeLessThan(2);
    const rolesEngaged = (p: Policy): number => results[p].reduce((sum, t) => sum + t.engagedRolesPerAccount, 0) / seeds.length;
    expect(rolesEngaged('targeted')).toBeGreaterThan(rolesEngaged('nurture'));
  });

  it('answers nurture with opens, clicks and unsubscribes near published rates (22%, 2.5%, 0.25%)', () => {
    expect(rate('nurture', 'open')).toBeGreaterThan(0.17);
    expect(rate('nurture', 'open')).toBeLessThan(0.27);
    expect(rate('nurture', 'click')).toBeGreaterThan(0.015);
    expect(rate('nurture', 'click')).toBeLessThan(0.035);
    expect(rate('nurture', 'unsubscribe')).toBeGreaterThan(0.001);
    expect(rate('nurture', 'unsubscribe')).toBeLessThan(0.006);
  });

  it('answers role-targeted touches with replies and meetings in the cold-outreach range (1–4%, ~0.7%)', () => {
    expect(rate('targeted', 'reply')).toBeGreaterThan(0.01);
    expect(rate('targeted', 'reply')).toBeLessThan(0.045);
    expect(rate('targeted', 'meeting_booked')).toBeGreaterThan(0.003);
    expect(rate('targeted', 'meeting_booked')).toBeLessThan(0.015);
    expect(rate('targeted', 'reply')).toBeGreaterThan(rate('nurture', 'reply'));
  });

  it('keeps hidden trust higher under relevant content than under repeated generic nurture', () => {
    const trust = (p: Policy): number => results[p].reduce((sum, t) => sum + t.meanTrust, 0) / seeds.length;
    expect(trust('targeted')).toBeGreaterThan(trust('nurture'));
  });
});
