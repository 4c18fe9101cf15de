/**
 * Organic behaviour, kept apart from responses to our actions (RecoGym): accounts enter and leave
 * the market, show intent and visit the website, active blockers surface concerns as a deal
 * matures, and hidden interest and momentum drift back between touches.
 */
import { stageRank } from '../../shared/domain/model.ts';
import { pick } from './rng.ts';
import type { SimAccount, SimStakeholder } from './snapshot.ts';
import { overWeeks, type Tick } from './tick.ts';

/** The organic uniforms of one account and tick, as one keyed block of eight (see Market.advance). */
export type OrganicDraws = readonly [
  uMarket: number,
  uIntent: number,
  uVisit: number,
  uNamed: number,
  uWho: number,
  uObjection: number,
  uProgress: number,
  uTime: number,
];

/** Market entry and exit, intent surges, web visits and organic objections for one account at `at`, before progression. */
export const organicWeek = (t: Tick, account: SimAccount, members: readonly SimStakeholder[], d: OrganicDraws, at: string): void => {
  const { tick, weeks } = t;
  const m = t.scenario.market;
  const [uMarket, uIntent, uVisit, uNamed, uWho, uObjection] = d;
  if (account.inMarket ? uMarket < overWeeks(m.exitPerWeek, weeks) : uMarket < overWeeks(m.enterPerWeek, weeks)) {
    account.inMarket = !account.inMarket;
  }
  if (uIntent < overWeeks(account.inMarket ? m.intentSurgeInMarket : m.intentSurgeOutOfMarket, weeks)) {
    t.emit({ id: `sig-${tick}-${account.id}-intent_surge`, accountId: account.id, kind: 'intent_surge', at, topic: m.categoryTopic });
  }
  if (uVisit < overWeeks(account.inMarket ? m.webVisitInMarket : m.webVisitOutOfMarket, weeks)) {
    // People the CRM does not know (cold-data) visit anonymously.
    const visitor = uNamed < m.knownVisitorShare ? pick(members, uWho) : undefined;
    t.emit({
      id: `sig-${tick}-${account.id}-web_visit`,
      accountId: account.id,
      kind: 'web_visit',
      at,
      ...(visitor === undefined || !visitor.known ? {} : { stakeholderId: visitor.id }),
    });
  }
  if (stageRank(account.stage) >= stageRank('solution_aware') && uObjection < overWeeks(t.scenario.objections.raiseOrganicActive, weeks)) {
    const blocker = members.find((b) => b.activeBlocker && account.veto && b.openObjection === null);
    if (blocker !== undefined && blocker.concern !== null) {
      blocker.openObjection = blocker.concern;
      t.emit({
        id: `sig-${tick}-${account.id}-objection_raised-${blocker.id}`,
        accountId: account.id,
        ...(blocker.known ? { stakeholderId: blocker.id } : {}),
        kind: 'objection_raised',
        at,
        topic: blocker.concern,
      });
    }
  }
};

/** Hidden drift after progression: interest reverts toward its base level; momentum fades. */
export const drift = (t: Tick, account: SimAccount, members: readonly SimStakeholder[]): void => {
  const reversion = overWeeks(t.scenario.hidden.interestReversion, t.weeks);
  for (const m of members) m.interest += reversion * (m.interestBase - m.interest);
  account.momentum *= Math.pow(t.scenario.progression.momentumDecay, t.weeks);
};
