/**
 * A pinned digest of a short run of the default scenario: the book, every signal of every tick and
 * the hidden state at the end. It was taken before the simulator was split into modules and new
 * mechanics were added, so it fails if any of that changed what the default world does.
 */
import { hash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ACTION_CATALOG } from '../../shared/domain/catalog.ts';
import type { Action, ActionType, CommitteeRole, PipelineSignal, Stakeholder } from '../../shared/domain/model.ts';
import { Market } from '../../local/simulator/market.ts';
import { defaultScenario, type Scenario } from '../../local/simulator/scenario.ts';

const START = '2025-01-06T09:00:00.000Z';
const DAY_MS = 24 * 60 * 60 * 1000;
const weekEnd = (w: number): string => new Date(Date.parse(START) + w * 7 * DAY_MS).toISOString();
const sendAt = (w: number): string => new Date(Date.parse(START) + (w - 1) * 7 * DAY_MS + DAY_MS).toISOString();
const TERMINAL = new Set(['committed', 'closed_lost', 'no_decision']);

const action = (id: string, accountId: string, type: ActionType, stakeholderIds: string[], role: CommitteeRole): Action => {
  const spec = ACTION_CATALOG[type];
  return {
    id,
    runId: 'run-digest',
    accountId,
    agentId: 'agent-digest',
    type,
    tool: spec.tool,
    channel: spec.channel,
    stakeholderIds,
    content: { topic: spec.topic(role) },
    costUsd: spec.costUsd,
    rationale: 'digest script',
    expectedValue: 0,
    confidence: 0.5,
    subGoal: spec.subGoals[0] ?? 'educate_role',
  };
};

/** Every action type the default world knew before the split (sdr_email got its own model since). */
const ROTATION: readonly ActionType[] = [
  'role_content',
  'executive_briefing',
  'reference_call_offer',
  'objection_response',
  'sales_handoff',
  'ad_audience_add',
  'event_invite',
];

/** Keys of the persisted state as they were before the split (new fields are left out of the digest). */
const ACCOUNT_KEYS = [
  'id', 'name', 'domain', 'tier', 'industry', 'employees', 'timeZone', 'stakeholderIds', 'publicStage', 'startStage', 'stage',
  'inMarket', 'consensus', 'veto', 'derisked', 'momentum', 'handoffTick', 'handoffActionId', 'salesAccepted', 'progressions',
] as const;
const STAKEHOLDER_KEYS = [
  'id', 'accountId', 'name', 'email', 'title', 'role', 'seniority', 'timeZone', 'consent', 'doNotContact', 'interest',
  'interestBase', 'trust', 'engagedTick', 'genericTouches', 'concern', 'activeBlocker', 'openObjection',
] as const;
const TRUTH_KEYS = [
  'tick', 'now', 'stages', 'stageCounts', 'advancedSinceStart', 'progressions', 'committed', 'noDecision', 'closedLost',
  'inMarket', 'vetoes', 'touches', 'contacts', 'progressionsPer100Contacts', 'violations', 'unsubscribes',
  'engagedRolesPerAccount', 'meanTrust', 'meanInterest', 'meanConsensus', 'signals',
] as const;

const only = <K extends string>(o: object, keys: readonly K[]): Record<K, unknown> =>
  Object.fromEntries(keys.map((k) => [k, (o as Record<string, unknown>)[k]])) as Record<K, unknown>;

/**
 * A scripted policy over every pre-split action type that never touches a decided account (a touch
 * to a decided account does nothing now, and did something before).
 */
const run = (seed: string, accounts: number, weeks: number, scenario: Scenario = defaultScenario): string => {
  const market = Market.create({ seed, accounts, start: START, scenario });
  const book = market.book();
  const people = new Map<string, Stakeholder[]>();
  for (const s of book.stakeholders) people.set(s.accountId, [...(people.get(s.accountId) ?? []), s]);
  const signals: PipelineSignal[][] = [];
  for (let w = 1; w <= weeks; w += 1) {
    const stages = new Map(market.book().accounts.map((a) => [a.id, a.stage]));
    const consent = new Map(market.book().stakeholders.map((s) => [s.id, s.consent]));
    let k = 0;
    for (const [accountId, members] of people) {
      k += 1;
      if (TERMINAL.has(stages.get(accountId) ?? 'unaware')) continue;
      const reachable = members.filter((m) => consent.get(m.id) !== 'opted_out');
      if (reachable.length === 0) continue;
      if (w % 2 === 1) market.apply(action(`w${w}-${accountId}-n`, accountId, 'nurture_email', reachable.map((m) => m.id), 'influencer'), reachable, sendAt(w));
      const target = reachable[(w + k) % reachable.length];
      if (target === undefined) continue;
      const type = ROTATION[(w + k) % ROTATION.length] ?? 'role_content';
      market.apply(action(`w${w}-${accountId}-${type}`, accountId, type, [target.id], target.role), [target], sendAt(w));
      const lead = reachable.find((m) => m.role === 'champion') ?? reachable.find((m) => m.role === 'economic_buyer');
      if (stages.get(accountId) === 'evaluating' && lead !== undefined) {
        market.apply(action(`w${w}-${accountId}-h`, accountId, 'sales_handoff', [lead.id], lead.role), [lead], sendAt(w));
      }
      if (target.role !== 'blocker') {
        const blocker = reachable.find((m) => m.role === 'blocker');
        if (blocker !== undefined && w % 3 === 0) market.apply(action(`w${w}-${accountId}-b`, accountId, 'reference_call_offer', [blocker.id], 'blocker'), [blocker], sendAt(w));
      }
    }
    signals.push(market.advance(weekEnd(w)));
  }
  const snapshot = market.toJSON();
  const world = {
    book,
    signals,
    truth: only(market.truth(), TRUTH_KEYS),
    accounts: snapshot.accounts.map((a) => only(a, ACCOUNT_KEYS)),
    stakeholders: snapshot.stakeholders.map((s) => only(s, STAKEHOLDER_KEYS)),
  };
  return hash('sha256', JSON.stringify(world), 'hex');
};

/** The default scenario as it was when the digests were pinned (later calibration changed these). */
const pinnedDefault: Scenario = {
  ...defaultScenario,
  responses: { ...defaultScenario.responses, sdr: { ...defaultScenario.responses.sdr, unsubscribe: 0.005 } },
  progression: {
    ...defaultScenario.progression,
    noDecisionPerWeek: 0.05,
    momentumPerEngagement: { ...defaultScenario.progression.momentumPerEngagement, relevanceFloor: 0.25 },
  },
};

describe('the default world, pinned before the simulator was split', () => {
  it('generates the same book, signals and hidden state for the same seed and script as before', () => {
    // A hot book (everyone in market, late stages, aligned committees) reaches handoffs, commits and exits.
    const hot: Scenario = {
      ...pinnedDefault,
      book: {
        ...pinnedDefault.book,
        inMarketShare: 1,
        initialStage: { ...pinnedDefault.book.initialStage, inMarket: { problem_aware: 0.2, solution_aware: 0.8 } },
        consensus: { min: 0.4, max: 0.8 },
      },
    };
    expect([run('digest-1', 80, 10, pinnedDefault), run('digest-2', 60, 40, pinnedDefault), run('digest-3', 60, 30, hot)]).toEqual([
      '2187555f5c7cc2e7b24fbcbbb03d4b4b8d4df1ac91f9c3ab083bb18be47aca61',
      '3eaece98c8b5f7b524bd5939e398403fe0838f2c8241268eb286da0984b85515',
      '0dfa4826f6baec4b1c1f8c3a029a47ab8c1e826034b3ba624ea007aa6e0fdedd',
    ]);
  });
});
