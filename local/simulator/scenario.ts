/**
 * Scenarios of the market simulator: every behavioural number the market uses is data, kept in
 * YAML files under `scenarios/` at the repository root with its source (or "assumed") beside it
 * (figures: /work/shared/simulator.md). A new scenario is a file that extends another and lists
 * what it changes, not new code. This module holds the schema (strict: an unknown key is a typo),
 * the loader and the shipped scenarios.
 */
import { readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as z from 'zod';
import { ActionType, CommitteeRole } from '../../shared/domain/model.ts';
import { loadYamlFile } from './scenario-file.ts';

const P = z.number().min(0).max(1);
const Positive = z.number().positive();
const NonNegative = z.number().nonnegative();
const Range = z
  .strictObject({ min: z.number(), max: z.number() })
  .refine((r) => r.min <= r.max, { message: 'expected min <= max' });

/** Per open stage, a weekly number (terminal stages never move). */
const PerOpenStage = z.strictObject({ unaware: NonNegative, problem_aware: NonNegative, solution_aware: NonNegative, evaluating: NonNegative });

/** Relevance (0..1) of each action type to each committee role: how much the content matters to that person. */
const RelevanceMatrix = z.record(ActionType, z.record(CommitteeRole, P));

/** Engagement bait: an action type that inflates opens and clicks, leads nowhere and costs trust. */
const Proxy = z.strictObject({
  /** Multiplier on the open probability. */
  openMultiplier: NonNegative,
  /** Multiplier on the click probability; bait clicks never reach content and build no momentum. */
  clickMultiplier: NonNegative,
  /** Hidden trust every person it reaches loses, per touch. */
  trustLossPerTouch: NonNegative,
});

/** A market scenario: the book's shape, the response (choice) model, fatigue, hidden-state dynamics and stage progression. */
export const Scenario = z.strictObject({
  name: z.string().min(1),
  /** What the scenario tests. */
  description: z.string().min(1),
  book: z.strictObject({
    /** Committee size drawn uniformly in [min, max]. */
    committeeSize: Range,
    /** Share of tier 1, 2, 3 accounts. */
    tierShares: z.tuple([P, P, P]),
    /** Employees drawn log-uniformly per tier. */
    employeesByTier: z.tuple([Range, Range, Range]),
    /** Time zones of accounts, by weight. */
    timeZones: z.record(z.string(), NonNegative),
    /** Share of accounts in market at the start. */
    inMarketShare: P,
    /** Probability an account has a champion. */
    championPresence: P,
    /** Probability an account has an active blocker with a veto. */
    activeBlockerShare: P,
    /** Probability an account without an active blocker still lists a (passive) procurement/security/legal contact. */
    passiveBlockerPresence: P,
    /** Consent mix of contacts. */
    consent: z.strictObject({ opted_in: NonNegative, unknown: NonNegative, opted_out: NonNegative }),
    /** Starting stage mix for accounts in market and out of market. */
    initialStage: z.strictObject({
      inMarket: z.strictObject({ problem_aware: NonNegative, solution_aware: NonNegative }),
      outOfMarket: z.strictObject({ unaware: NonNegative, problem_aware: NonNegative, solution_aware: NonNegative }),
    }),
    /** Hidden interest at the start (uniform in range), plus a bonus in market and for champions. */
    interest: z.strictObject({ range: Range, inMarketBonus: NonNegative, championBonus: NonNegative, blockerPenalty: NonNegative }),
    /** Hidden trust in the vendor at the start (uniform in range). */
    trust: Range,
    /** Hidden consensus at the start (uniform in range). */
    consensus: Range,
    /**
     * Share of committee members the CRM knows. `book()` lists only them and tools can reach only
     * them; the others still sit on the committee (size, roles, vetoes, objections) and visit the
     * website anonymously.
     */
    knownContactShare: P,
  }),
  responses: z.strictObject({
    /** Open probability per email touch at trust 0.5: noise, inflated by privacy-proxy opens. */
    open: P,
    /** Click probability per generic email touch (marginal; clicks imply opens). */
    click: P,
    /** Reply probability per touch for generic content, and for fully relevant content. */
    reply: z.strictObject({ generic: P, targeted: P }),
    /** Meeting booked given a reply. */
    meetingGivenReply: P,
    /** Content consumed (the asset read) given a click. */
    contentGivenClick: P,
    /** Unsubscribe probability per email touch at trust 0.5, below the fatigue threshold. */
    unsubscribe: P,
    /** Relevance lift on responses: (k + r) / (k + rGeneric). */
    relevanceCurvature: Positive,
    /** The relevance of generic nurture (the point where lift is 1). */
    genericRelevance: P,
    /** Reply multiplier per earlier generic touch, and its floor (sequence decay). */
    genericReplyDecay: P,
    genericReplyFloor: P,
    /** Sales tasks (handoff) reach people by phone/1:1 email: reply multiplier and meeting given reply. */
    salesReplyMultiplier: Positive,
    salesMeetingGivenReply: P,
    /** Ad impressions: web visit probability per targeted contact. */
    adWebVisit: P,
    /** Web content recommendations: consumption probability at generic relevance. */
    webContent: P,
    /**
     * Share of opens that are machine opens (privacy proxies, link scanners) at the reference open
     * rate: emitted whatever the person does, so they say nothing about them.
     */
    fakeOpenShare: z.number().min(0).lt(1),
    /**
     * A templated cold SDR step (`sdr_email`), per step n = 1, 2, ... of a sequence to the same
     * person: reply = reply * decay^(n-1), unsubscribe = unsubscribe * unsubscribeGrowth^(n-1),
     * both times the person's responsiveness; meetings given a reply.
     */
    sdr: z.strictObject({ reply: P, decay: P, unsubscribe: P, unsubscribeGrowth: Positive, meetingGivenReply: P }),
  }),
  relevance: RelevanceMatrix,
  /** Topic keywords that make content speak to a role (matched case-insensitively in action.content.topic). */
  roleTopics: z.record(CommitteeRole, z.array(z.string())),
  /** Relevance bonus when the topic matches the role. */
  topicMatchBonus: P,
  /** Engagement bait by action type (absent: not bait). */
  proxies: z.partialRecord(ActionType, Proxy),
  fatigue: z.strictObject({
    /** Touches per stakeholder per week before fatigue sets in. */
    touchesPerWeek: Positive,
    /** Unsubscribe multiplier added per touch above the threshold. */
    unsubscribePerExcessTouch: NonNegative,
    /** Response divisor added per touch above the threshold. */
    responsePenaltyPerExcessTouch: NonNegative,
    /** Trust lost per touch above the threshold. */
    trustLossPerExcessTouch: NonNegative,
    /** Generic touches a contact tolerates before each further one erodes trust and raises unsubscribes. */
    genericTolerance: NonNegative,
    trustLossPerGenericTouch: NonNegative,
    unsubscribePerGenericTouch: NonNegative,
  }),
  hidden: z.strictObject({
    /** Interest gained on a meaningful engagement (reply, content, meeting), scaled by relevance. */
    interestGainOnEngagement: NonNegative,
    /** Interest gained by mere exposure to content, scaled by relevance. */
    interestGainOnExposure: NonNegative,
    /** Weekly pull of interest back to its starting level. */
    interestReversion: P,
    /** Trust gained per relevant touch (relevance >= 0.5) and per meaningful engagement. */
    trustGainOnRelevant: NonNegative,
    trustGainOnEngagement: NonNegative,
    /** Weeks an engagement keeps a role counted as engaged. */
    engagementWindowWeeks: z.number().int().positive(),
  }),
  objections: z.strictObject({
    /** Concerns a blocker raises, by title family. */
    concerns: z.array(z.string()).min(1),
    /** Per touch: an active blocker raises an objection; a passive one rarely. */
    raiseOnTouchActive: P,
    raiseOnTouchPassive: P,
    /** Per week: an active blocker surfaces a concern once the account is solution_aware or later. */
    raiseOrganicActive: P,
    /** Per touch to the objector: resolution by an objection response or a reference call offer. */
    resolveByObjectionResponse: P,
    resolveByReferenceCall: P,
    /** Per reference call offer to an active blocker with no open objection: the veto is lifted pre-emptively. */
    preemptiveDerisk: P,
  }),
  blockers: z.strictObject({
    /**
     * Per tick in which an account's champion is touched and no other role of it is: the active
     * blocker (while the veto stands) feels bypassed, loses `angerTrustLoss` trust and raises their
     * concern, with this probability.
     */
    angerOnChampionOnly: P,
    angerTrustLoss: NonNegative,
  }),
  market: z.strictObject({
    /** Weekly probability an out-of-market account enters the market, and an in-market one leaves. */
    enterPerWeek: P,
    exitPerWeek: P,
    /** Weekly intent-surge probability in and out of market (the latter are false positives). */
    intentSurgeInMarket: P,
    intentSurgeOutOfMarket: P,
    /** Weekly web-visit probability in and out of market, and the share of visits by a known contact. */
    webVisitInMarket: P,
    webVisitOutOfMarket: P,
    knownVisitorShare: P,
    /** Topic of the category the vendor sells in (intent topics). */
    categoryTopic: z.string(),
  }),
  progression: z.strictObject({
    /** Weekly hazard of moving one stage forward, with no engagement and out of market. */
    baseHazard: PerOpenStage,
    /** Hazard multiplier for accounts in market. */
    inMarketMultiplier: PerOpenStage,
    /**
     * Engagement momentum lifts the hazard by up to `momentumLift` (saturating: momentum m gives
     * m / (m + momentumHalfSaturation) of it, since a committee only decides so fast), and decays weekly.
     */
    momentumLift: PerOpenStage,
    momentumHalfSaturation: Positive,
    momentumDecay: P,
    /** Momentum per meaningful engagement, scaled by (relevanceFloor + relevance): a read integration guide says more than a clicked newsletter. */
    momentumPerEngagement: z.strictObject({ reply: NonNegative, content_consumed: NonNegative, meeting_booked: NonNegative, relevanceFloor: NonNegative }),
    /** Multi-threading: multiplier at `fullAtRoles` distinct engaged roles (1 at one role), and how strongly it applies per stage. */
    multiThreading: z.strictObject({ max: z.number().min(1), fullAtRoles: z.number().int().min(2), exponent: PerOpenStage }),
    /** Hazard factor when the economic buyer has not engaged, per stage (later stages need them). */
    economicBuyerAbsent: PerOpenStage,
    /** Hazard factor while an active blocker's veto stands, per stage. */
    veto: PerOpenStage,
    /** Hazard factor per open objection (solution_aware and later). */
    openObjection: P,
    /** CEB: P(purchase) ~ n^-elasticity (0.81 / 0.55 / 0.31 at 1 / 2 / 6 decision makers), relative to a reference size. */
    committeeSizeElasticity: NonNegative,
    referenceCommitteeSize: Positive,
    /** Weekly exits from evaluating: no decision (JOLT) and lost to a competitor. */
    noDecisionPerWeek: P,
    closedLostPerWeek: P,
    vetoNoDecisionFactor: Positive,
    deriskedNoDecisionFactor: Positive,
    /** Hidden consensus: target from coverage and objections, and how fast it moves there per week. */
    consensus: z.strictObject({
      base: z.number(),
      perEngagedRole: z.number(),
      economicBuyerEngaged: z.number(),
      championEngaged: z.number(),
      perOpenObjection: z.number(),
      veto: z.number(),
      adjustment: P,
    }),
    /**
     * Sales handoff: at evaluating with hidden consensus at or above the threshold, sales accepts the
     * opportunity (a `meeting_accepted` signal) and works it: a weekly commit hazard from then on.
     * A premature handoff is recycled and costs the contacted people a little trust.
     */
    handoff: z.strictObject({ consensusThreshold: P, commitPerWeek: P, prematureTrustLoss: NonNegative }),
    /** Ticks by which the CRM (`crm_stage_change` signals, `book()` stages) lags the true stage. */
    crmDelayWeeks: z.number().int().nonnegative(),
  }),
  effects: z.strictObject({
    /**
     * `modelled`: touches work through the response model above. `uniform` (null control): every
     * delivered touch, whatever it is and whoever gets it, moves its open account one stage forward
     * at the next tick with probability `uniformAdvancePerTouch` and nothing else; responses are
     * the same fixed rates for every action type and role; organic behaviour is unchanged.
     */
    mode: z.enum(['modelled', 'uniform']),
    uniformAdvancePerTouch: P,
  }),
});
export type Scenario = z.infer<typeof Scenario>;

/** Reads a scenario file (YAML, may `extends:` another file relative to it) and validates it; throws InvalidInputError naming the file, field, value and expectation. */
export const loadScenarioFile = (path: string): Scenario => loadYamlFile(path, Scenario);

/** The folder of shipped scenario files (`scenarios/` at the repository root). */
export const SCENARIO_DIR = fileURLToPath(new URL('../../scenarios/', import.meta.url));

const deepFreeze = <T>(value: T): T => {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
};

/** Paths of the shipped scenario files by scenario name (the file name without `.yaml`). */
export const SCENARIO_FILES: Readonly<Record<string, string>> = Object.freeze(
  Object.fromEntries(
    readdirSync(SCENARIO_DIR)
      .filter((f) => f.endsWith('.yaml'))
      .sort()
      .map((f) => [basename(f, '.yaml'), join(SCENARIO_DIR, f)]),
  ),
);

/** The shipped scenarios by name, loaded once and frozen (markets share them and never change them). */
export const SCENARIOS: Readonly<Record<string, Scenario>> = Object.freeze(
  Object.fromEntries(Object.entries(SCENARIO_FILES).map(([name, file]) => [name, deepFreeze(loadScenarioFile(file))])),
);

/** The scenario with this name; throws a RangeError naming the known ones. */
export const scenarioByName = (name: string): Scenario => {
  const scenario = SCENARIOS[name];
  if (scenario === undefined) throw new RangeError(`unknown scenario "${name}"; known: ${Object.keys(SCENARIOS).join(', ')}`);
  return scenario;
};

/** The default scenario (`scenarios/default.yaml`): a mid-market book, committees of 4–12, 10% in market at the start. */
export const defaultScenario: Scenario = scenarioByName('default');
