/**
 * The persisted state of the market as zod schemas: what `.data/market.json` holds and
 * `Market.fromJSON` validates. The live world uses the same shapes (plain objects mutated in
 * place), so saving is a copy and restoring continues exactly where the original stood.
 */
import * as z from 'zod';
import { CommitteeRole, Consent, Seniority, Stage } from '../../shared/domain/model.ts';
import { deepMerge } from './scenario-file.ts';
import { defaultScenario, Scenario } from './scenario.ts';

const Iso = z.iso.datetime({ offset: true });

/** A stakeholder as the world knows them: the CRM fields plus hidden state. */
export const SimStakeholder = z.object({
  id: z.string(),
  accountId: z.string(),
  name: z.string(),
  email: z.string(),
  title: z.string(),
  role: CommitteeRole,
  seniority: Seniority,
  timeZone: z.string(),
  consent: Consent,
  doNotContact: z.boolean(),
  /** Hidden: 0..1 interest in the category, and the level it drifts back to. */
  interest: z.number(),
  interestBase: z.number(),
  /** Hidden: 0..1 trust in the vendor; engagement bait erodes it. */
  trust: z.number(),
  /** Tick of the last meaningful engagement (reply, content, meeting); -1 if never. */
  engagedTick: z.number().int(),
  /** Generic (nurture) touches received so far: drives sequence decay and fatigue. */
  genericTouches: z.number().int().nonnegative(),
  /** For blockers: the concern they raise, whether they hold the account's veto, and the objection open now. */
  concern: z.string().nullable(),
  activeBlocker: z.boolean(),
  openObjection: z.string().nullable(),
  /** Whether the CRM knows this person: only known people are in `book()` and reachable by tools. */
  known: z.boolean().default(true),
  /** Templated SDR steps received so far: the next one is step sdrTouches + 1 of their sequence. */
  sdrTouches: z.number().int().nonnegative().default(0),
});
export type SimStakeholder = z.infer<typeof SimStakeholder>;

/** An account as the world knows it: the CRM fields plus hidden state. */
export const SimAccount = z.object({
  id: z.string(),
  name: z.string(),
  domain: z.string(),
  tier: z.union([z.literal(1), z.literal(2), z.literal(3)]),
  industry: z.string(),
  employees: z.number().int().nonnegative(),
  timeZone: z.string(),
  stakeholderIds: z.array(z.string()),
  /** What the CRM shows; equal to the true stage in the default scenario (no reporting delay). */
  publicStage: Stage,
  startStage: Stage,
  /** Hidden: the true stage. */
  stage: Stage,
  inMarket: z.boolean(),
  /** Hidden: 0..1 committee alignment. */
  consensus: z.number(),
  /** Hidden: an active blocker's veto stands until de-risked. */
  veto: z.boolean(),
  /** Hidden: a de-risking move landed (lowers indecision). */
  derisked: z.boolean(),
  /** Hidden: decayed sum of recent meaningful engagement. */
  momentum: z.number(),
  /** The last sales handoff received: its tick (-1 if never) and action id, for the acceptance signal. */
  handoffTick: z.number().int(),
  handoffActionId: z.string().nullable(),
  /** Hidden: sales accepted the opportunity and works it. */
  salesAccepted: z.boolean(),
  /** Forward moves among the open stages (moves to no_decision or closed_lost are exits, not progressions). */
  progressions: z.number().int().nonnegative(),
  /** True stage changes the CRM has not shown yet (`progression.crmDelayWeeks`): shown at tick `due`, oldest first. */
  stageReports: z.array(z.object({ due: z.number().int().positive(), stage: Stage })).default([]),
});
export type SimAccount = z.infer<typeof SimAccount>;

/** One tool call waiting for the next tick's response draw. */
export const PendingTouch = z.object({
  actionId: z.string(),
  occurrence: z.number().int().positive(),
  accountId: z.string(),
  type: z.string(),
  channel: z.string(),
  topic: z.string(),
  stakeholderIds: z.array(z.string()),
  at: Iso,
});
export type PendingTouch = z.infer<typeof PendingTouch>;

/** Running totals of what reached the world and what it answered. */
export const Counters = z.object({
  touches: z.number().int().nonnegative(),
  contacts: z.number().int().nonnegative(),
  violations: z.number().int().nonnegative(),
  unsubscribes: z.number().int().nonnegative(),
  /** Stakeholder deliveries on the email channel (suppressed people included, as in `contacts`). */
  emailDeliveries: z.number().int().nonnegative().default(0),
  /** Stakeholder deliveries that reached an account already decided: they do nothing. */
  ignoredContacts: z.number().int().nonnegative().default(0),
  signals: z.record(z.string(), z.number().int().nonnegative()),
});
export type Counters = z.infer<typeof Counters>;

/**
 * The persisted world (`.data/market.json`): everything needed to continue identically. Fields added
 * since the format was introduced have defaults, so older snapshots still load.
 */
export const MarketSnapshot = z.object({
  format: z.literal('amk-market/1'),
  seed: z.string(),
  /** Snapshots saved before a parameter existed take it from the default scenario (its neutral value). */
  scenario: z.preprocess((v) => deepMerge(defaultScenario, v), Scenario),
  start: Iso,
  now: Iso,
  tick: z.number().int().nonnegative(),
  accounts: z.array(SimAccount),
  stakeholders: z.array(SimStakeholder),
  pending: z.array(PendingTouch),
  touchCounts: z.array(z.tuple([z.string(), z.number().int().positive()])),
  counters: Counters,
});
export type MarketSnapshot = z.infer<typeof MarketSnapshot>;
