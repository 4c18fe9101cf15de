/**
 * True stage progression, once per account and tick: hidden consensus moves toward what the
 * engaged roles and open objections support, a weekly hazard (stage, in market, momentum,
 * multi-threading, economic buyer, veto, objections) moves the account one stage forward, sales
 * takes or recycles handoffs, and deals in evaluating commit or exit (no decision, lost). The CRM
 * hears of each change at once or `crmDelayWeeks` later.
 */
import { type CommitteeRole, type Stage, STAGE_ORDER, stageRank } from '../../shared/domain/model.ts';
import type { SimAccount, SimStakeholder } from './snapshot.ts';
import { clamp01, isDecided, iso, type MovingStage, overWeeks, type Tick } from './tick.ts';

/** Distinct roles that engaged meaningfully within the engagement window ending at `tick`. */
export const engagedRoles = (members: readonly SimStakeholder[], tick: number, windowWeeks: number): Set<CommitteeRole> => {
  const roles = new Set<CommitteeRole>();
  const since = tick - windowWeeks;
  for (const m of members) if (m.engagedTick >= 0 && m.engagedTick > since) roles.add(m.role);
  return roles;
};

/** Sales looks at a handed-off account: accepts it when the committee is aligned, recycles it otherwise. */
const receiveHandoff = (t: Tick, account: SimAccount, members: readonly SimStakeholder[]): void => {
  const h = t.scenario.progression.handoff;
  if (account.consensus >= h.consensusThreshold) {
    account.salesAccepted = true;
    t.emit({
      id: `sig-${t.tick}-${account.id}-meeting_accepted`,
      accountId: account.id,
      kind: 'meeting_accepted',
      at: iso(t.toMs - 2),
      ...(account.handoffActionId === null ? {} : { causedBy: account.handoffActionId }),
    });
    return;
  }
  // A premature handoff: sales pushes for a meeting the committee is not ready for.
  for (const m of members) if (m.role === 'champion' || m.role === 'economic_buyer') m.trust = clamp01(m.trust - h.prematureTrustLoss);
};

/** The CRM learns of a true stage change: now, or `crmDelayWeeks` ticks later. */
const report = (t: Tick, account: SimAccount, stage: Stage): void => {
  const delay = t.scenario.progression.crmDelayWeeks;
  if (delay === 0) {
    account.publicStage = stage;
    t.emit({ id: `sig-${t.tick}-${account.id}-crm_stage_change`, accountId: account.id, kind: 'crm_stage_change', at: iso(t.toMs - 1), stage });
  } else {
    account.stageReports.push({ due: t.tick + delay, stage });
  }
};

/** Delayed CRM updates that fall due this tick: the public stage catches up and one signal goes out. */
const deliverReports = (t: Tick, account: SimAccount): void => {
  const reports = account.stageReports;
  let stage: Stage | undefined;
  while (reports.length > 0 && (reports[0]?.due ?? Infinity) <= t.tick) stage = reports.shift()?.stage;
  if (stage === undefined) return;
  account.publicStage = stage;
  t.emit({ id: `sig-${t.tick}-${account.id}-crm_stage_change`, accountId: account.id, kind: 'crm_stage_change', at: iso(t.toMs - 1), stage });
};

/**
 * One tick of true progression for one account, from its organic progress draw `u`, then the
 * null control's touch-won moves (`advances`, one open stage each, never past committed).
 */
export const progress = (t: Tick, account: SimAccount, members: readonly SimStakeholder[], u: number, advances = 0): void => {
  if (account.stageReports.length > 0) deliverReports(t, account);
  const before = account.stage;
  let next = organicMove(t, account, members, u) ?? before;
  if (stageRank(next) > stageRank(before)) account.progressions += 1;
  for (let k = 0; k < advances && !isDecided(next); k += 1) {
    next = STAGE_ORDER[stageRank(next) + 1] ?? next;
    account.progressions += 1;
  }
  if (next === before) return;
  account.stage = next;
  report(t, account, next);
};

/** Consensus drift and the organic stage draw: the stage this account moves to, or undefined. */
const organicMove = (t: Tick, account: SimAccount, members: readonly SimStakeholder[], u: number): Stage | undefined => {
  const { tick, weeks } = t;
  const p = t.scenario.progression;
  const roles = engagedRoles(members, tick, t.scenario.hidden.engagementWindowWeeks);
  const openObjections = members.filter((m) => m.openObjection !== null).length;
  const c = p.consensus;
  const target = clamp01(
    c.base +
      c.perEngagedRole * Math.min(roles.size, p.multiThreading.fullAtRoles + 1) +
      (roles.has('economic_buyer') ? c.economicBuyerEngaged : 0) +
      (roles.has('champion') ? c.championEngaged : 0) +
      c.perOpenObjection * openObjections +
      (account.veto ? c.veto : 0),
  );
  account.consensus = clamp01(account.consensus + overWeeks(c.adjustment, weeks) * (target - account.consensus));

  const stage = account.stage;
  if (stage === 'committed' || stage === 'closed_lost' || stage === 'no_decision') return undefined;
  const s: MovingStage = stage;
  const mt = 1 + (p.multiThreading.max - 1) * clamp01((roles.size - 1) / (p.multiThreading.fullAtRoles - 1));
  const hazard = Math.min(
    0.95,
    p.baseHazard[s] *
      (account.inMarket ? p.inMarketMultiplier[s] : 1) *
      (1 + (p.momentumLift[s] * account.momentum) / (account.momentum + p.momentumHalfSaturation)) *
      Math.pow(mt, p.multiThreading.exponent[s]) *
      (roles.has('economic_buyer') ? 1 : p.economicBuyerAbsent[s]) *
      (account.veto ? p.veto[s] : 1) *
      (stageRank(s) >= stageRank('solution_aware') ? Math.pow(p.openObjection, openObjections) : 1),
  );

  if (s !== 'evaluating') return u < overWeeks(hazard, weeks) ? STAGE_ORDER[stageRank(s) + 1] : undefined;
  if (account.handoffTick === tick && !account.salesAccepted) receiveHandoff(t, account, members);
  // CEB: bigger committees decide less often.
  const sizeFactor = Math.pow(members.length / p.referenceCommitteeSize, -p.committeeSizeElasticity);
  const worked = !account.salesAccepted
    ? 0
    : p.handoff.commitPerWeek *
      (roles.has('economic_buyer') ? 1 : p.economicBuyerAbsent.evaluating) *
      (account.veto ? p.veto.evaluating : 1) *
      Math.pow(p.openObjection, openObjections);
  const commit = clamp01(overWeeks(hazard * sizeFactor, weeks) + overWeeks(worked * sizeFactor, weeks));
  const noDecision = overWeeks(
    p.noDecisionPerWeek * (account.veto ? p.vetoNoDecisionFactor : 1) * (account.derisked ? p.deriskedNoDecisionFactor : 1),
    weeks,
  );
  const lost = overWeeks(p.closedLostPerWeek, weeks);
  if (u < commit) return 'committed';
  if (u < commit + noDecision) return 'no_decision';
  if (u < commit + noDecision + lost) return 'closed_lost';
  return undefined;
};
