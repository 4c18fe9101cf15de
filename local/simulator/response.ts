/**
 * The response (choice) model: how each person a touch reaches answers it (opens, clicks, content,
 * replies, meetings, unsubscribes, objections) and what it does to their hidden interest and trust
 * and the account's momentum. Relevance of an action to a role drives most of it (RecSim's
 * user-choice model); fatigue and repeated generic content wear people down; engagement bait
 * inflates opens and clicks while it erodes trust; a cold SDR sequence answers less with every step.
 * In the null control (`effects.mode: uniform`) every touch instead gets the same fixed responses
 * and the same chance to move its account, and changes nothing else.
 */
import type { CommitteeRole, SignalKind } from '../../shared/domain/model.ts';
import { draw, draws } from './rng.ts';
import type { Scenario } from './scenario.ts';
import type { Counters, PendingTouch, SimAccount, SimStakeholder } from './snapshot.ts';
import { clamp01, HOUR_MS, isDecided, lerp, MINUTE_MS, type Tick } from './tick.ts';

/** Bit of `ResponseContext.touchedRoles`: the champion was touched. */
export const TOUCHED_CHAMPION = 1;
/** Bit of `ResponseContext.touchedRoles`: someone other than the champion was touched. */
export const TOUCHED_OTHER = 2;

const DE_RISKING = new Set(['objection_response', 'reference_call_offer']);

/** How much an action's content matters to this person: the role matrix, plus a bonus when the topic speaks to the role. */
export const relevance = (scenario: Scenario, type: string, role: CommitteeRole, topic: string): number => {
  const row = (scenario.relevance as Record<string, Record<CommitteeRole, number>>)[type];
  const base = row?.[role] ?? scenario.responses.genericRelevance;
  const t = topic.toLowerCase();
  const matches = scenario.roleTopics[role].some((k) => t.includes(k));
  // Generic nurture stays generic whatever its subject: the bonus rewards targeting, not keywords.
  return type === 'nurture_email' || !matches ? base : clamp01(base + scenario.topicMatchBonus);
};

/** What answering one touch needs besides the tick: the people, this tick's touch counts, the totals, relevance. */
export interface ResponseContext extends Tick {
  readonly stakeholder: (id: string) => SimStakeholder;
  /** Touches per stakeholder so far this tick (fatigue). */
  readonly weeklyTouches: Map<string, number>;
  readonly counters: Counters;
  readonly relevance: (type: string, role: CommitteeRole, topic: string) => number;
  /** Roles touched per account id this tick (TOUCHED_* bits), kept only when blocker anger is on. */
  readonly touchedRoles: Map<string, number> | undefined;
  /** Null control: stage moves won per account id this tick, applied by progression. */
  readonly advances: Map<string, number>;
}

/**
 * The probability of a machine open per email delivery that makes `share` of all opens machine
 * opens at the reference human open rate `open`: m / (m + (1 - m) * open) = share.
 */
const machineOpenProbability = (share: number, open: number): number => (share * open) / (1 - share + share * open);

/** One touch: each person it reaches answers or not, and their hidden state moves. A decided account ignores it. */
export const respond = (t: ResponseContext, touch: PendingTouch, account: SimAccount): void => {
  if (isDecided(account.stage)) {
    t.counters.ignoredContacts += touch.stakeholderIds.length;
    return;
  }
  if (t.scenario.effects.mode === 'uniform') {
    respondUniformly(t, touch, account);
    return;
  }
  const sc = t.scenario;
  const r = sc.responses;
  const f = sc.fatigue;
  const h = sc.hidden;
  const { tick, weeks, fromMs, toMs } = t;
  const generic = touch.type === 'nurture_email';
  const sdr = touch.type === 'sdr_email' ? r.sdr : undefined;
  const bait = sc.proxies[touch.type as keyof Scenario['proxies']];
  const touchMs = Math.min(toMs - 1, Math.max(fromMs, Date.parse(touch.at)));
  const personal = touch.channel === 'email' || touch.channel === 'sales';
  const machineOpen = touch.channel === 'email' && r.fakeOpenShare > 0 ? machineOpenProbability(r.fakeOpenShare, r.open) : 0;
  const touched = t.touchedRoles;

  for (const sid of touch.stakeholderIds) {
    const s = t.stakeholder(sid);
    // A suppressed contact gets nothing out of it (the violation was counted on arrival).
    if (personal && (s.consent === 'opted_out' || s.doNotContact)) continue;
    const [uOpen, uClick, uContent, uReply, uMeeting, uUnsub, uObjection, uTime] = draws(
      8, t.seed, 'touch', touch.actionId, touch.occurrence, sid,
    ) as [number, number, number, number, number, number, number, number];
    const nth = (t.weeklyTouches.get(sid) ?? 0) + 1;
    t.weeklyTouches.set(sid, nth);
    const excess = Math.max(0, nth - f.touchesPerWeek * Math.max(1, weeks));
    const rel = t.relevance(touch.type, s.role, touch.topic);
    const lift = (r.relevanceCurvature + rel) / (r.relevanceCurvature + r.genericRelevance);
    const relT = clamp01((rel - r.genericRelevance) / (1 - r.genericRelevance));
    // Interested, trusting people respond more; ~1 at the typical starting interest 0.25 and trust 0.5.
    const responsiveness = ((0.6 + 1.6 * s.interest) * (0.5 + s.trust)) / (1 + f.responsePenaltyPerExcessTouch * excess);
    const overGeneric = generic ? Math.max(0, s.genericTouches - f.genericTolerance) : 0;
    const sequenceDecay = generic ? Math.max(r.genericReplyFloor, Math.pow(r.genericReplyDecay, s.genericTouches)) : 1;
    const base = touchMs + uTime * (toMs - touchMs) * 0.5;
    const sig = signalsOf(t, touch, account, sid, base);

    if (touched !== undefined) touched.set(account.id, (touched.get(account.id) ?? 0) | (s.role === 'champion' ? TOUCHED_CHAMPION : TOUCHED_OTHER));
    // The n-th step of a cold SDR sequence to this person.
    const step = sdr === undefined ? 0 : s.sdrTouches;
    let engaged = 0;
    let replied = false;
    let meeting = false;
    if (touch.channel === 'email') {
      const pOpen = clamp01(r.open * (0.5 + s.trust) * (bait?.openMultiplier ?? 1));
      const opened = uOpen < pOpen;
      // A machine open (privacy proxy, link scanner) happens whatever the person does, on its own keyed draw.
      const machine = machineOpen > 0 && draw(t.seed, 'machine-open', touch.actionId, touch.occurrence, sid) < machineOpen;
      if (opened || machine) sig('open', 0);
      const pClick = r.click * lift * responsiveness * (bait?.clickMultiplier ?? 1);
      const clicked = opened && uClick < pClick / pOpen; // clicks imply opens: keep the click marginal at pClick
      if (clicked) sig('click', 5 * MINUTE_MS);
      // Bait clicks lead nowhere: no asset read, no momentum.
      if (clicked && bait === undefined && uContent < r.contentGivenClick) {
        sig('content_consumed', 10 * MINUTE_MS, touch.topic);
        engaged += sc.progression.momentumPerEngagement.content_consumed;
      }
      if (sdr !== undefined) {
        replied = uReply < sdr.reply * Math.pow(sdr.decay, step) * responsiveness;
        meeting = replied && uMeeting < sdr.meetingGivenReply;
      } else {
        replied = uReply < lerp(r.reply.generic, r.reply.targeted, relT) * responsiveness * sequenceDecay;
        meeting = replied && uMeeting < r.meetingGivenReply;
      }
    } else if (touch.channel === 'sales') {
      replied = uReply < lerp(r.reply.generic, r.reply.targeted, relT) * r.salesReplyMultiplier * responsiveness;
      meeting = replied && uMeeting < r.salesMeetingGivenReply;
    } else if (touch.channel === 'ads') {
      if (uClick < r.adWebVisit * lift * responsiveness * (bait?.clickMultiplier ?? 1)) sig('web_visit', HOUR_MS);
    } else if (bait === undefined && uContent < r.webContent * lift * responsiveness) {
      sig('content_consumed', 10 * MINUTE_MS, touch.topic);
      engaged += sc.progression.momentumPerEngagement.content_consumed;
    }
    if (replied) {
      sig('reply', HOUR_MS);
      engaged += sc.progression.momentumPerEngagement.reply;
      if (touch.type === 'reference_call_offer') account.derisked = true;
    }
    if (meeting) {
      sig('meeting_booked', HOUR_MS + MINUTE_MS);
      engaged += sc.progression.momentumPerEngagement.meeting_booked;
    }

    // Blockers: objections arise when they are pushed, and only de-risking moves resolve them.
    if (s.role === 'blocker') {
      const o = sc.objections;
      const trusting = 0.5 + s.trust;
      if (DE_RISKING.has(touch.type)) {
        if (s.openObjection !== null) {
          const p = (touch.type === 'objection_response' ? o.resolveByObjectionResponse : o.resolveByReferenceCall) * trusting;
          if (uObjection < p) {
            sig('objection_resolved', 2 * HOUR_MS, s.openObjection);
            s.openObjection = null;
            if (s.activeBlocker) account.veto = false;
            account.derisked = true;
          }
        } else if (s.activeBlocker && account.veto && touch.type === 'reference_call_offer' && uObjection < o.preemptiveDerisk * trusting) {
          account.veto = false;
          account.derisked = true;
        }
      } else if (s.openObjection === null && s.concern !== null) {
        const p = s.activeBlocker && account.veto ? o.raiseOnTouchActive : o.raiseOnTouchPassive;
        if (uObjection < p) {
          s.openObjection = s.concern;
          sig('objection_raised', 2 * HOUR_MS, s.concern);
        }
      }
    }

    const pUnsub =
      (sdr === undefined ? r.unsubscribe : sdr.unsubscribe * Math.pow(sdr.unsubscribeGrowth, step)) *
      (1 + f.unsubscribePerExcessTouch * excess) *
      (1 + f.unsubscribePerGenericTouch * overGeneric) *
      (1.5 - s.trust);
    if (personal && !replied && !meeting && uUnsub < pUnsub) {
      sig('unsubscribe', 30 * MINUTE_MS);
      s.consent = 'opted_out';
      t.counters.unsubscribes += 1;
    }

    // Hidden state: relevance builds interest and trust; pressure and repeated generic content erode trust.
    s.interest = clamp01(s.interest + h.interestGainOnExposure * rel);
    if (rel >= 0.5) s.trust += h.trustGainOnRelevant;
    s.trust -= f.trustLossPerExcessTouch * excess;
    s.trust -= f.trustLossPerGenericTouch * (overGeneric > 0 ? 1 : 0);
    if (bait !== undefined) s.trust -= bait.trustLossPerTouch;
    if (engaged > 0) {
      s.engagedTick = tick;
      s.interest = clamp01(s.interest + h.interestGainOnEngagement * (0.5 + rel));
      s.trust += h.trustGainOnEngagement;
      account.momentum += engaged * (sc.progression.momentumPerEngagement.relevanceFloor + rel);
    }
    s.trust = clamp01(s.trust);
    if (generic) s.genericTouches += 1;
    if (sdr !== undefined) s.sdrTouches += 1;
    if (touch.type === 'sales_handoff') {
      account.handoffTick = tick;
      account.handoffActionId = touch.actionId;
    }
  }
};

/** Emits the signals one person gives to one touch, `offsetMs` after the moment they looked at it. */
const signalsOf =
  (t: ResponseContext, touch: PendingTouch, account: SimAccount, sid: string, base: number) =>
  (kind: SignalKind, offsetMs: number, topic?: string): void =>
    t.emit({
      id: `sig-${t.tick}-${touch.actionId}-${touch.occurrence}-${sid}-${kind}`,
      accountId: account.id,
      stakeholderId: sid,
      kind,
      at: t.within(base + offsetMs),
      causedBy: touch.actionId,
      ...(topic === undefined ? {} : { topic }),
    });

/**
 * The null control's response to a touch: the same fixed rates for every action type, channel and
 * role (no relevance, topic, fatigue, trust or objections), the same chance to move the account one
 * stage forward at this tick, and no change to anything hidden. Organic behaviour then runs exactly
 * as in an untouched world, so every touch has the same true effect.
 */
const respondUniformly = (t: ResponseContext, touch: PendingTouch, account: SimAccount): void => {
  const r = t.scenario.responses;
  const pAdvance = t.scenario.effects.uniformAdvancePerTouch;
  const machineOpen = r.fakeOpenShare > 0 ? machineOpenProbability(r.fakeOpenShare, r.open) : 0;
  const { tick, fromMs, toMs } = t;
  const touchMs = Math.min(toMs - 1, Math.max(fromMs, Date.parse(touch.at)));
  const personal = touch.channel === 'email' || touch.channel === 'sales';
  for (const sid of touch.stakeholderIds) {
    const s = t.stakeholder(sid);
    if (personal && (s.consent === 'opted_out' || s.doNotContact)) continue;
    const [uOpen, uClick, uContent, uReply, uMeeting, uUnsub, , uTime] = draws(8, t.seed, 'touch', touch.actionId, touch.occurrence, sid) as [
      number, number, number, number, number, number, number, number,
    ];
    const base = touchMs + uTime * (toMs - touchMs) * 0.5;
    const sig = signalsOf(t, touch, account, sid, base);
    const opened = uOpen < r.open;
    const machine = machineOpen > 0 && draw(t.seed, 'machine-open', touch.actionId, touch.occurrence, sid) < machineOpen;
    if (opened || machine) sig('open', 0);
    const clicked = opened && uClick < r.click / r.open;
    if (clicked) sig('click', 5 * MINUTE_MS);
    if (clicked && uContent < r.contentGivenClick) sig('content_consumed', 10 * MINUTE_MS, touch.topic);
    const replied = uReply < r.reply.generic;
    if (replied) sig('reply', HOUR_MS);
    if (replied && uMeeting < r.meetingGivenReply) sig('meeting_booked', HOUR_MS + MINUTE_MS);
    if (!replied && uUnsub < r.unsubscribe) {
      sig('unsubscribe', 30 * MINUTE_MS);
      s.consent = 'opted_out';
      t.counters.unsubscribes += 1;
    }
    // Keyed by the person and their n-th touch of the tick, not by the action: two policies that
    // reach the same person in the same week share the draw (common random numbers), so their
    // difference measures the policies, not the dice.
    const nth = (t.weeklyTouches.get(sid) ?? 0) + 1;
    t.weeklyTouches.set(sid, nth);
    if (pAdvance > 0 && draw(t.seed, 'advance', account.id, tick, sid, nth) < pAdvance) {
      t.advances.set(account.id, (t.advances.get(account.id) ?? 0) + 1);
    }
  }
};

/**
 * A blocker bypassed: in a tick where the account's champion was touched and nobody else of it
 * was, the active blocker (while the veto stands) loses trust and raises their concern, with
 * `blockers.angerOnChampionOnly` probability (one keyed draw per account and tick).
 */
export const blockerAnger = (t: Tick, account: SimAccount, members: readonly SimStakeholder[]): void => {
  const b = t.scenario.blockers;
  if (!account.veto) return;
  const blocker = members.find((m) => m.activeBlocker);
  if (blocker === undefined || draw(t.seed, 'anger', account.id, t.tick) >= b.angerOnChampionOnly) return;
  blocker.trust = clamp01(blocker.trust - b.angerTrustLoss);
  if (blocker.openObjection !== null || blocker.concern === null) return;
  blocker.openObjection = blocker.concern;
  t.emit({
    id: `sig-${t.tick}-${account.id}-blocker_anger-${blocker.id}`,
    accountId: account.id,
    ...(blocker.known ? { stakeholderId: blocker.id } : {}),
    kind: 'objection_raised',
    at: t.within(t.toMs - 3),
    topic: blocker.concern,
  });
};
