/**
 * Scenarios of the market simulator: every behavioural number the market uses lives here as data,
 * so a new scenario (proxy-rich, strong-blocker, cold-data, null-control; see
 * /work/shared/simulator.md) is a parameter set, not new code. Figures cite simulator.md; "assumed"
 * marks numbers with no public source, which benchmarks should vary.
 */
import * as z from 'zod';
import { ActionType, CommitteeRole } from '../../shared/domain/model.ts';

const P = z.number().min(0).max(1);
const Positive = z.number().positive();
const NonNegative = z.number().nonnegative();
const Range = z
  .object({ min: z.number(), max: z.number() })
  .refine((r) => r.min <= r.max, { message: 'min must not exceed max' });

/** Per open stage, a weekly number (terminal stages never move). */
const PerOpenStage = z.object({ unaware: NonNegative, problem_aware: NonNegative, solution_aware: NonNegative, evaluating: NonNegative });

/** Relevance (0..1) of each action type to each committee role: how much the content matters to that person. */
const RelevanceMatrix = z.record(ActionType, z.record(CommitteeRole, P));

/** A market scenario: the book's shape, the response (choice) model, fatigue, hidden-state dynamics and stage progression. */
export const Scenario = z.object({
  name: z.string().min(1),
  description: z.string(),
  book: z.object({
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
    consent: z.object({ opted_in: NonNegative, unknown: NonNegative, opted_out: NonNegative }),
    /** Starting stage mix for accounts in market and out of market. */
    initialStage: z.object({
      inMarket: z.object({ problem_aware: NonNegative, solution_aware: NonNegative }),
      outOfMarket: z.object({ unaware: NonNegative, problem_aware: NonNegative, solution_aware: NonNegative }),
    }),
    /** Hidden interest at the start (uniform in range), plus a bonus in market and for champions. */
    interest: z.object({ range: Range, inMarketBonus: NonNegative, championBonus: NonNegative, blockerPenalty: NonNegative }),
    /** Hidden trust in the vendor at the start (uniform in range). */
    trust: Range,
    /** Hidden consensus at the start (uniform in range). */
    consensus: Range,
  }),
  responses: z.object({
    /** Open probability per email touch at trust 0.5: noise, inflated by privacy-proxy opens. */
    open: P,
    /** Click probability per generic email touch (marginal; clicks imply opens). */
    click: P,
    /** Reply probability per touch for generic content, and for fully relevant content. */
    reply: z.object({ generic: P, targeted: P }),
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
  }),
  relevance: RelevanceMatrix,
  /** Topic keywords that make content speak to a role (matched case-insensitively in action.content.topic). */
  roleTopics: z.record(CommitteeRole, z.array(z.string())),
  /** Relevance bonus when the topic matches the role. */
  topicMatchBonus: P,
  fatigue: z.object({
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
  hidden: z.object({
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
  objections: z.object({
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
  market: z.object({
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
  progression: z.object({
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
    momentumPerEngagement: z.object({ reply: NonNegative, content_consumed: NonNegative, meeting_booked: NonNegative, relevanceFloor: NonNegative }),
    /** Multi-threading: multiplier at `fullAtRoles` distinct engaged roles (1 at one role), and how strongly it applies per stage. */
    multiThreading: z.object({ max: z.number().min(1), fullAtRoles: z.number().int().min(2), exponent: PerOpenStage }),
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
    consensus: z.object({
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
    handoff: z.object({ consensusThreshold: P, commitPerWeek: P, prematureTrustLoss: NonNegative }),
  }),
});
export type Scenario = z.infer<typeof Scenario>;

/** The default scenario: a mid-market book, committees of 4–12, 10% in market at the start (simulator.md "Scenarios"). */
export const defaultScenario: Scenario = Scenario.parse({
  name: 'default',
  description: 'Mid-market book, committees of 4-12, 10% of accounts in market at the start.',
  book: {
    // Gartner 6–10, CEB 5.4–10.2; the default scenario asks for 4–12 (mean 8).
    committeeSize: { min: 4, max: 12 },
    tierShares: [0.15, 0.35, 0.5], // assumed: a mid-market book with a strategic top slice
    employeesByTier: [
      { min: 2000, max: 20000 },
      { min: 500, max: 5000 },
      { min: 100, max: 1000 },
    ],
    timeZones: {
      'America/New_York': 0.45,
      'Europe/London': 0.2,
      'Europe/Berlin': 0.18,
      'Australia/Sydney': 0.1,
      'America/Chicago': 0.04,
      'America/Los_Angeles': 0.03,
    },
    inMarketShare: 0.1, // default scenario: 10% in market at the start (95:5 says ~5%/quarter)
    championPresence: 0.7, // assumed ~0.7 ("present in most but not all accounts")
    activeBlockerShare: 0.3, // assumed ~0.3 ("active in a minority, with a veto")
    passiveBlockerPresence: 0.5, // assumed: procurement/legal often listed without opposing
    consent: { opted_in: 0.82, unknown: 0.15, opted_out: 0.03 }, // assumed: "mostly opted in, ~3% opted out"
    initialStage: {
      // In market means a live problem: at least problem_aware.
      inMarket: { problem_aware: 0.55, solution_aware: 0.45 },
      outOfMarket: { unaware: 0.6, problem_aware: 0.35, solution_aware: 0.05 },
    },
    interest: { range: { min: 0.05, max: 0.35 }, inMarketBonus: 0.25, championBonus: 0.15, blockerPenalty: 0.05 },
    trust: { min: 0.4, max: 0.6 },
    consensus: { min: 0.05, max: 0.3 },
  },
  responses: {
    open: 0.22, // opted-in nurture ~22% open, inflated by privacy-proxy opens: noise
    click: 0.025, // nurture ~2.5–2.9% click
    reply: { generic: 0.01, targeted: 0.03 }, // "reply ~1–3% depending on relevance" (cold/SDR 3.1–3.4%)
    meetingGivenReply: 0.23, // ~0.7% meeting per touch at a ~3% reply rate
    contentGivenClick: 0.6, // assumed: most clicks reach the asset, some bounce
    unsubscribe: 0.0025, // nurture ~0.25% unsubscribe
    relevanceCurvature: 0.3, // lift (0.3 + r) / 0.4: generic 1x, fully relevant ~3x ("1–3%")
    genericRelevance: 0.1,
    // Assumed: softer than the SDR sequence decay (per-step reply 1.2% -> 0.2% by step 5, i.e. x0.64)
    // because nurture does not ask for a reply; the floor keeps a long tail of late replies.
    genericReplyDecay: 0.85,
    genericReplyFloor: 0.3,
    salesReplyMultiplier: 3, // assumed: 1:1 sales outreach to a warmed account
    salesMeetingGivenReply: 0.5, // assumed
    adWebVisit: 0.02, // assumed (ad-audience effects have no good source)
    webContent: 0.03, // assumed
  },
  // Assumed: role-targeted content beats generic nurture; each de-risking move speaks to the
  // people who carry the risk (simulator.md "Only de-risking moves ... lower indecision").
  relevance: {
    nurture_email: { economic_buyer: 0.1, champion: 0.1, technical_evaluator: 0.1, end_user: 0.1, blocker: 0.1, influencer: 0.1 },
    role_content: { economic_buyer: 0.7, champion: 0.75, technical_evaluator: 0.75, end_user: 0.7, blocker: 0.6, influencer: 0.65 },
    objection_response: { economic_buyer: 0.4, champion: 0.4, technical_evaluator: 0.6, end_user: 0.25, blocker: 0.85, influencer: 0.3 },
    executive_briefing: { economic_buyer: 0.9, champion: 0.5, technical_evaluator: 0.3, end_user: 0.15, blocker: 0.3, influencer: 0.45 },
    reference_call_offer: { economic_buyer: 0.7, champion: 0.6, technical_evaluator: 0.6, end_user: 0.3, blocker: 0.8, influencer: 0.4 },
    sales_handoff: { economic_buyer: 0.7, champion: 0.75, technical_evaluator: 0.5, end_user: 0.35, blocker: 0.3, influencer: 0.5 },
    ad_audience_add: { economic_buyer: 0.1, champion: 0.1, technical_evaluator: 0.1, end_user: 0.1, blocker: 0.1, influencer: 0.1 },
    // Assumed: a generic webinar invitation and a templated SDR step are barely more relevant than nurture.
    event_invite: { economic_buyer: 0.15, champion: 0.2, technical_evaluator: 0.15, end_user: 0.2, blocker: 0.1, influencer: 0.25 },
    sdr_email: { economic_buyer: 0.15, champion: 0.2, technical_evaluator: 0.15, end_user: 0.15, blocker: 0.1, influencer: 0.15 },
  },
  // Keywords match the catalog's wording (shared/domain/catalog.ts) and plain role names.
  roleTopics: {
    economic_buyer: ['economic buyer', 'economic_buyer', 'business case', 'return on investment', 'roi', 'budget', 'executive'],
    champion: ['champion', 'internal case', 'case for change', 'rollout', 'playbook'],
    technical_evaluator: ['technical evaluator', 'technical_evaluator', 'architecture', 'integration', 'api', 'implementation'],
    end_user: ['end user', 'end_user', 'workflow', 'productivity', 'day-to-day', 'how-to'],
    blocker: ['blocker', 'security', 'compliance', 'privacy', 'legal', 'procurement', 'pricing', 'risk'],
    influencer: ['influencer', 'industry trends', 'peer practices', 'benchmark', 'trend report'],
  },
  topicMatchBonus: 0.15,
  fatigue: {
    touchesPerWeek: 2, // assumed (no source for a touches-per-week threshold)
    unsubscribePerExcessTouch: 1.5, // unsubscribes rise with pressure; >2% signals fatigue
    responsePenaltyPerExcessTouch: 0.5,
    trustLossPerExcessTouch: 0.03,
    genericTolerance: 4, // assumed: a month of weekly nurture before it grates
    trustLossPerGenericTouch: 0.005, // assumed: a year of weekly newsletters wears trust down, not to zero
    unsubscribePerGenericTouch: 0.1, // sequences: "replies fall ... while unsubscribes rise"
  },
  hidden: {
    interestGainOnEngagement: 0.15,
    interestGainOnExposure: 0.01,
    interestReversion: 0.05,
    trustGainOnRelevant: 0.01,
    trustGainOnEngagement: 0.03,
    engagementWindowWeeks: 13, // a quarter
  },
  objections: {
    concerns: ['security', 'pricing', 'data_privacy', 'implementation_risk'],
    raiseOnTouchActive: 0.25, // assumed
    raiseOnTouchPassive: 0.02, // assumed
    raiseOrganicActive: 0.15, // assumed
    resolveByObjectionResponse: 0.4, // assumed
    resolveByReferenceCall: 0.5, // assumed: de-risking moves work best (JOLT)
    preemptiveDerisk: 0.25, // assumed
  },
  market: {
    enterPerWeek: 0.004, // ~5% of accounts in market per quarter (95:5): 1 - 0.95^(1/13)
    exitPerWeek: 0.04, // assumed: a buying window of ~6 months
    intentSurgeInMarket: 0.3, // assumed (intent precision has no good source)
    intentSurgeOutOfMarket: 0.01, // assumed false positives
    webVisitInMarket: 0.5, // buyers research before talking to sales (57–70% of the journey)
    webVisitOutOfMarket: 0.05,
    knownVisitorShare: 0.3,
    categoryTopic: 'account-based marketing automation',
  },
  progression: {
    // Assumed weekly hazards, tuned so a quiet book advances ~5% of accounts in 12 weeks (mostly the
    // ~10% in market) and weekly generic nurture only a little more (mid-market cycles 30–90 days).
    baseHazard: { unaware: 0.004, problem_aware: 0.003, solution_aware: 0.002, evaluating: 0.004 },
    inMarketMultiplier: { unaware: 6, problem_aware: 6, solution_aware: 5, evaluating: 2 },
    // Assumed: tuned so weekly generic nurture lifts 12-week progression ~+35% over doing nothing, and
    // role-targeted multi-threading another ~+20–25% over nurture ("credible lift +10–30%").
    momentumLift: { unaware: 1.6, problem_aware: 1.3, solution_aware: 1.1, evaluating: 0.8 },
    momentumHalfSaturation: 0.4,
    momentumDecay: 0.6,
    momentumPerEngagement: { reply: 1, content_consumed: 0.6, meeting_booked: 2, relevanceFloor: 0.25 },
    // 58% win rate with 4+ contacts engaged; public magnitudes are weak: 1.5–3x (assumed 2.5x).
    multiThreading: { max: 2.5, fullAtRoles: 4, exponent: { unaware: 0, problem_aware: 0.5, solution_aware: 1, evaluating: 1 } },
    economicBuyerAbsent: { unaware: 1, problem_aware: 1, solution_aware: 0.5, evaluating: 0.3 },
    veto: { unaware: 1, problem_aware: 1, solution_aware: 0.7, evaluating: 0.25 },
    openObjection: 0.6,
    committeeSizeElasticity: 0.54, // fits CEB 0.81 / 0.55 / 0.31 at 1 / 2 / 6 decision makers
    referenceCommitteeSize: 8,
    // Competing weekly exits from evaluating (mean dwell ~5–10 weeks: mid-market cycles 30–90 days).
    // A deal nobody works ends in no decision ~60% of the time (JOLT: 40–60%); a deal sales accepted
    // at high consensus wins about half the time, less with a standing veto or no economic buyer
    // (opportunity->won 15–35%, enterprise 10–20%).
    noDecisionPerWeek: 0.05,
    closedLostPerWeek: 0.025,
    vetoNoDecisionFactor: 1.5,
    deriskedNoDecisionFactor: 0.6, // only de-risking moves lower indecision
    consensus: {
      base: 0.1,
      perEngagedRole: 0.12,
      economicBuyerEngaged: 0.15,
      championEngaged: 0.1,
      perOpenObjection: -0.25,
      veto: -0.15,
      adjustment: 0.5,
    },
    handoff: { consensusThreshold: 0.55, commitPerWeek: 0.08, prematureTrustLoss: 0.02 },
  },
});

/** Scenarios by name; add a parameter set here to ship a new one. */
export const SCENARIOS: Readonly<Record<string, Scenario>> = { default: defaultScenario };

/** The scenario with this name; throws a RangeError naming the known ones. */
export const scenarioByName = (name: string): Scenario => {
  const scenario = SCENARIOS[name];
  if (scenario === undefined) throw new RangeError(`unknown scenario "${name}"; known: ${Object.keys(SCENARIOS).join(', ')}`);
  return scenario;
};
