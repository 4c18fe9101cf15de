/**
 * The market: a seeded, deterministic buyer simulator that stands in for the outside world when the
 * system runs locally, and the benchmark's arena. Tools act on it (`apply`), weekly ticks answer
 * with pipeline signals (`advance`), and its hidden state (true stages, interest, trust, consensus,
 * vetoes) is only visible through `truth()`.
 *
 * Model shape after simulator.md: user state (hidden interest/trust per stakeholder, stage,
 * consensus and veto per account), a response (choice) model per touch, organic behaviour kept
 * apart from responses to our actions (RecoGym), and weekly ticks drawn from a keyed
 * counter-based RNG so one extra draw never shifts the others. Every number comes from the scenario.
 */
import * as z from 'zod';
import {
  AccountState,
  CommitteeRole,
  Consent,
  Seniority,
  Stage,
  STAGE_ORDER,
  Stakeholder,
  stageRank,
  type Action,
  type PipelineSignal,
  type SignalKind,
  type Tier,
} from '../../shared/domain/model.ts';
import { InvalidInputError, ToolRejectedError } from '../../shared/domain/errors.ts';
import type { ToolResult } from '../../shared/ports/index.ts';
import { draws, intBetween, pick, pickWeighted } from './rng.ts';
import { defaultScenario, Scenario } from './scenario.ts';

const WEEK_MS = 7 * 24 * 60 * 60 * 1000;
const HOUR_MS = 60 * 60 * 1000;
const MINUTE_MS = 60 * 1000;
/** Open stages that can still move forward (committed is won; the terminal stages never move). */
type MovingStage = 'unaware' | 'problem_aware' | 'solution_aware' | 'evaluating';

const Iso = z.iso.datetime({ offset: true });

/** A stakeholder as the world knows them: the CRM fields plus hidden state. */
const SimStakeholder = z.object({
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
});
type SimStakeholder = z.infer<typeof SimStakeholder>;

/** An account as the world knows it: the CRM fields plus hidden state. */
const SimAccount = z.object({
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
  progressions: z.number().int().nonnegative(),
});
type SimAccount = z.infer<typeof SimAccount>;

/** One tool call waiting for the next tick's response draw. */
const PendingTouch = z.object({
  actionId: z.string(),
  occurrence: z.number().int().positive(),
  accountId: z.string(),
  type: z.string(),
  channel: z.string(),
  topic: z.string(),
  stakeholderIds: z.array(z.string()),
  at: Iso,
});
type PendingTouch = z.infer<typeof PendingTouch>;

const Counters = z.object({
  touches: z.number().int().nonnegative(),
  contacts: z.number().int().nonnegative(),
  violations: z.number().int().nonnegative(),
  unsubscribes: z.number().int().nonnegative(),
  signals: z.record(z.string(), z.number().int().nonnegative()),
});
type Counters = z.infer<typeof Counters>;

/** The persisted world (`.data/market.json`): everything needed to continue identically. */
export const MarketSnapshot = z.object({
  format: z.literal('amk-market/1'),
  seed: z.string(),
  scenario: Scenario,
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

/** Options of `Market.create`. */
export interface MarketOptions {
  /** Seed of every random draw; the same seed gives the same world. */
  readonly seed: string;
  /** Number of accounts in the book. */
  readonly accounts: number;
  /** ISO start of the world clock. */
  readonly start: string;
  /** @default defaultScenario */
  readonly scenario?: Scenario;
}

/** Hidden-state metrics for reports and benchmarks (never shown to the agent). */
export interface MarketTruth {
  readonly tick: number;
  readonly now: string;
  /** True stage per account id. */
  readonly stages: Record<string, Stage>;
  /** Accounts per true stage. */
  readonly stageCounts: Record<Stage, number>;
  /** Accounts whose true stage ranks above where they started (terminal stages do not count). */
  readonly advancedSinceStart: number;
  /** Forward stage moves in total (an account can make several). */
  readonly progressions: number;
  readonly committed: number;
  readonly noDecision: number;
  readonly closedLost: number;
  readonly inMarket: number;
  /** Accounts whose active blocker's veto still stands. */
  readonly vetoes: number;
  /** Tool calls received (`apply` calls) and stakeholder deliveries they made. */
  readonly touches: number;
  readonly contacts: number;
  /** Forward stage moves per 100 stakeholder deliveries (the primary metric's denominator in contacts). */
  readonly progressionsPer100Contacts: number;
  /** Email/sales deliveries to opted-out or do-not-contact stakeholders (governance violations: must be 0). */
  readonly violations: number;
  readonly unsubscribes: number;
  /** Mean distinct roles engaged in the engagement window, per account. */
  readonly engagedRolesPerAccount: number;
  readonly meanTrust: number;
  readonly meanInterest: number;
  /** Mean hidden committee consensus (0..1). */
  readonly meanConsensus: number;
  /** Signals emitted so far, per kind (opens and clicks are reported, never scored). */
  readonly signals: Record<string, number>;
}

const COMPANY_PREFIXES = [
  'Northwind', 'Bluefin', 'Ironbark', 'Cobalt', 'Harbor', 'Juniper', 'Larkspur', 'Meridian', 'Nimbus', 'Oakridge',
  'Pinecrest', 'Quillon', 'Redwater', 'Silverline', 'Tidewell', 'Umbra', 'Valemont', 'Westmark', 'Yarrow', 'Zephyr',
  'Ashgrove', 'Brightfield', 'Cedarpoint', 'Driftwood', 'Emberly', 'Foxhollow', 'Granite', 'Highmoor', 'Inkwell', 'Kestrel',
  'Lumen', 'Mosswood', 'Northgate', 'Orchid', 'Pebblestone', 'Quarry', 'Riverbend', 'Stonecroft', 'Thornbury', 'Upland',
  'Vantage', 'Willowby', 'Amberlight', 'Blackthorn', 'Copperleaf', 'Dunmore', 'Eastlake', 'Fernhill', 'Goldcrest', 'Hollowell',
];
const COMPANY_SUFFIXES = [
  'Analytics', 'Systems', 'Logistics', 'Labs', 'Holdings', 'Dynamics', 'Networks', 'Health', 'Robotics', 'Foods',
  'Energy', 'Capital', 'Software', 'Materials', 'Partners', 'Industries', 'Works', 'Digital', 'Freight', 'Biotech',
];
const INDUSTRIES = [
  'Software', 'Manufacturing', 'Financial Services', 'Healthcare', 'Logistics', 'Retail', 'Professional Services',
  'Telecommunications', 'Energy', 'Education',
];
const LEGAL_FORM: Record<string, string> = {
  'Europe/London': 'Ltd',
  'Europe/Berlin': 'GmbH',
  'Australia/Sydney': 'Pty Ltd',
};
const FIRST_NAMES = [
  'Avery', 'Blake', 'Camila', 'Dev', 'Elena', 'Farah', 'Gabriel', 'Hana', 'Ines', 'Jonas', 'Keiko', 'Liam', 'Maya', 'Nikhil',
  'Olivia', 'Priya', 'Quentin', 'Rosa', 'Samir', 'Tessa', 'Umar', 'Vera', 'Wes', 'Xin', 'Yara', 'Zane', 'Amara', 'Bruno',
  'Chloe', 'Dmitri', 'Esther', 'Felix', 'Greta', 'Hugo', 'Isla', 'Jamal', 'Kira', 'Lukas', 'Mei', 'Noah',
];
const LAST_NAMES = [
  'Abbott', 'Bergstrom', 'Castillo', 'Duarte', 'Eriksen', 'Fischer', 'Goldberg', 'Hayashi', 'Ivanova', 'Jensen', 'Kowalski',
  'Lindqvist', 'Moreau', 'Nakamura', 'Okafor', 'Petrov', 'Quinn', 'Rahman', 'Schneider', 'Tanaka', 'Ueda', 'Vasquez',
  'Whitfield', 'Xu', 'Yilmaz', 'Zimmermann', 'Achebe', 'Brennan', 'Carvalho', 'Dubois', 'Engel', 'Farouk', 'Gallagher',
  'Holm', 'Iqbal', 'Joshi', 'Keller', 'Larsen', 'Mbeki', 'Novak',
];
/** Titles per role, each with the seniority it implies. */
const TITLES: Record<CommitteeRole, ReadonlyArray<readonly [Seniority, string]>> = {
  economic_buyer: [
    ['c_level', 'Chief Marketing Officer'], ['c_level', 'Chief Revenue Officer'], ['c_level', 'Chief Financial Officer'],
    ['vp', 'VP Marketing'], ['vp', 'VP Revenue Operations'], ['vp', 'VP Finance'],
  ],
  champion: [
    ['director', 'Director of Marketing Operations'], ['director', 'Director of Demand Generation'],
    ['manager', 'Revenue Operations Manager'], ['manager', 'ABM Program Manager'], ['vp', 'VP Growth'],
  ],
  technical_evaluator: [
    ['director', 'Director of IT'], ['director', 'Head of Data Engineering'], ['manager', 'Marketing Technology Manager'],
    ['individual', 'Solutions Architect'], ['individual', 'Salesforce Administrator'], ['individual', 'Data Engineer'],
  ],
  end_user: [
    ['manager', 'Demand Generation Manager'], ['manager', 'SDR Team Lead'], ['individual', 'Marketing Operations Specialist'],
    ['individual', 'Campaign Manager'], ['individual', 'Account Executive'], ['individual', 'Content Marketer'],
  ],
  blocker: [['manager', 'Procurement Manager']],
  influencer: [
    ['vp', 'VP Sales'], ['vp', 'VP Customer Success'], ['director', 'Director of Sales Operations'],
    ['director', 'Head of Brand'], ['manager', 'Product Marketing Manager'],
  ],
};
/** Blocker titles follow the concern they carry (procurement / security / legal). */
const BLOCKER_TITLES: Record<string, ReadonlyArray<readonly [Seniority, string]>> = {
  security: [['c_level', 'Chief Information Security Officer'], ['director', 'Director of Information Security'], ['individual', 'Security Architect']],
  pricing: [['director', 'Head of Procurement'], ['manager', 'Procurement Manager'], ['manager', 'Strategic Sourcing Manager']],
  data_privacy: [['director', 'General Counsel'], ['manager', 'Data Protection Officer'], ['individual', 'Legal Counsel']],
  implementation_risk: [['director', 'Director of IT Risk'], ['manager', 'IT Governance Manager']],
};
/** Roles that fill a committee after the fixed seats (economic buyer, champion, blocker, evaluator). */
const FILL_ROLES: Readonly<Record<'technical_evaluator' | 'end_user' | 'influencer', number>> = {
  technical_evaluator: 0.3,
  end_user: 0.4,
  influencer: 0.3,
};
const DE_RISKING = new Set(['objection_response', 'reference_call_offer']);

const clamp01 = (x: number): number => (x < 0 ? 0 : x > 1 ? 1 : x);
const lerp = (a: number, b: number, t: number): number => a + (b - a) * t;
/** A weekly probability over `weeks` weeks. */
const overWeeks = (p: number, weeks: number): number => (weeks === 1 ? p : 1 - Math.pow(1 - clamp01(p), weeks));
const slug = (s: string): string => s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
const iso = (ms: number): string => new Date(ms).toISOString();
const parseIso = (value: string, what: string): number => {
  const r = Iso.safeParse(value);
  if (!r.success) throw new InvalidInputError(`${what}: expected an ISO date-time with offset, got ${JSON.stringify(value)}`);
  return Date.parse(value);
};

/** The simulated outside world: a book of accounts with buying committees that answer tool calls with signals. */
export class Market {
  private readonly accountsById = new Map<string, SimAccount>();
  private readonly stakeholdersById = new Map<string, SimStakeholder>();
  /** Committee members per account id, resolved once (the hot loop of a tick walks every account). */
  private readonly members = new Map<string, SimStakeholder[]>();
  private readonly touchCounts: Map<string, number>;

  private constructor(
    private readonly seed: string,
    private readonly scenario: Scenario,
    private readonly start: string,
    private clock: string,
    private tick: number,
    private readonly accounts: SimAccount[],
    private readonly stakeholders: SimStakeholder[],
    private pending: PendingTouch[],
    touchCounts: Iterable<readonly [string, number]>,
    private readonly counters: Counters,
  ) {
    for (const a of accounts) this.accountsById.set(a.id, a);
    for (const s of stakeholders) this.stakeholdersById.set(s.id, s);
    for (const a of accounts) this.members.set(a.id, a.stakeholderIds.map((id) => this.mustStakeholder(id)));
    this.touchCounts = new Map(touchCounts);
  }

  /** Generates a book of fictional B2B accounts and their buying committees from a seed. */
  static create(opts: MarketOptions): Market {
    const scenario = opts.scenario ?? defaultScenario;
    if (!Number.isInteger(opts.accounts) || opts.accounts < 0) {
      throw new InvalidInputError(`accounts: expected a non-negative integer, got ${opts.accounts}`);
    }
    parseIso(opts.start, 'start');
    const start = iso(Date.parse(opts.start));
    const b = scenario.book;
    const width = Math.max(4, String(opts.accounts).length);
    const usedNames = new Map<string, number>();
    const accounts: SimAccount[] = [];
    const stakeholders: SimStakeholder[] = [];

    for (let n = 1; n <= opts.accounts; n += 1) {
      const id = `acc-${String(n).padStart(width, '0')}`;
      const [uTier, uIndustry, uEmployees, uZone, uMarket, uStage, uChampion, uBlocker, uPassive, uPrefix, uSuffix, uSize, uConsensus, uConcern] =
        draws(14, opts.seed, 'account', id) as [number, number, number, number, number, number, number, number, number, number, number, number, number, number];
      const tier = (uTier < b.tierShares[0] ? 1 : uTier < b.tierShares[0] + b.tierShares[1] ? 2 : 3) as Tier;
      const employeeRange = b.employeesByTier[tier - 1] ?? { min: 100, max: 1000 };
      // Log-uniform: company sizes are heavy-tailed.
      const employees = Math.round(employeeRange.min * Math.pow(employeeRange.max / employeeRange.min, uEmployees));
      const timeZone = pickWeighted(b.timeZones, uZone);
      const inMarket = uMarket < b.inMarketShare;
      const stage: Stage = inMarket ? pickWeighted(b.initialStage.inMarket, uStage) : pickWeighted(b.initialStage.outOfMarket, uStage);
      const baseName = `${pick(COMPANY_PREFIXES, uPrefix)} ${pick(COMPANY_SUFFIXES, uSuffix)}`;
      const seen = (usedNames.get(baseName) ?? 0) + 1;
      usedNames.set(baseName, seen);
      const uniqueName = seen === 1 ? baseName : `${baseName} ${seen}`;
      const legal = LEGAL_FORM[timeZone] ?? 'Inc';
      const domain = `${slug(uniqueName)}.example`; // RFC 2606: .example can never be a real company's domain
      const hasChampion = uChampion < b.championPresence;
      const activeBlocker = uBlocker < b.activeBlockerShare;
      const hasBlocker = activeBlocker || uPassive < b.passiveBlockerPresence;
      const size = intBetween(b.committeeSize.min, b.committeeSize.max, uSize);
      const concern = pick(scenario.objections.concerns, uConcern);

      const seats: CommitteeRole[] = ['economic_buyer'];
      if (hasChampion) seats.push('champion');
      if (hasBlocker) seats.push('blocker');
      seats.push('technical_evaluator');
      const stakeholderIds: string[] = [];
      const usedEmails = new Set<string>();
      for (let j = 0; j < Math.max(size, seats.length); j += 1) {
        const sid = `${id.replace('acc-', 'stk-')}-${String(j + 1).padStart(2, '0')}`;
        const [uFirst, uLast, uTitle, uConsent, uInterest, uTrust, uFill] = draws(7, opts.seed, 'stakeholder', sid) as [
          number, number, number, number, number, number, number,
        ];
        const role: CommitteeRole = seats[j] ?? pickWeighted(FILL_ROLES, uFill);
        const titles = role === 'blocker' ? (BLOCKER_TITLES[concern] ?? TITLES.blocker) : TITLES[role];
        const [seniority, title] = pick(titles, uTitle);
        const first = pick(FIRST_NAMES, uFirst);
        const last = pick(LAST_NAMES, uLast);
        let local = `${first}.${last}`.toLowerCase();
        for (let k = 2; usedEmails.has(local); k += 1) local = `${first}.${last}${k}`.toLowerCase();
        usedEmails.add(local);
        let interest = lerp(b.interest.range.min, b.interest.range.max, uInterest);
        if (inMarket) interest += b.interest.inMarketBonus;
        if (role === 'champion') interest += b.interest.championBonus;
        if (role === 'blocker') interest -= b.interest.blockerPenalty;
        interest = clamp01(interest);
        stakeholders.push({
          id: sid,
          accountId: id,
          name: `${first} ${last}`,
          email: `${local}@${domain}`,
          title,
          role,
          seniority,
          timeZone,
          consent: pickWeighted(b.consent, uConsent),
          doNotContact: false,
          interest,
          interestBase: interest,
          trust: lerp(b.trust.min, b.trust.max, uTrust),
          engagedTick: -1,
          genericTouches: 0,
          concern: role === 'blocker' ? concern : null,
          activeBlocker: role === 'blocker' && activeBlocker,
          openObjection: null,
        });
        stakeholderIds.push(sid);
      }
      accounts.push({
        id,
        name: `${uniqueName} ${legal}`,
        domain,
        tier,
        industry: pick(INDUSTRIES, uIndustry),
        employees,
        timeZone,
        stakeholderIds,
        publicStage: stage,
        startStage: stage,
        stage,
        inMarket,
        consensus: lerp(b.consensus.min, b.consensus.max, uConsensus),
        veto: activeBlocker,
        derisked: false,
        momentum: 0,
        handoffTick: -1,
        handoffActionId: null,
        salesAccepted: false,
        progressions: 0,
      });
    }
    return new Market(opts.seed, scenario, start, start, 0, accounts, stakeholders, [], [], {
      touches: 0,
      contacts: 0,
      violations: 0,
      unsubscribes: 0,
      signals: {},
    });
  }

  /** Restores a world saved with `toJSON()`; it continues exactly as the original would. */
  static fromJSON(json: unknown): Market {
    const r = MarketSnapshot.safeParse(json);
    if (!r.success) {
      throw new InvalidInputError(`market snapshot: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
    }
    const s = r.data;
    return new Market(s.seed, s.scenario, s.start, s.now, s.tick, s.accounts, s.stakeholders, s.pending, s.touchCounts, s.counters);
  }

  /** The full world, hidden state included, as plain JSON. */
  toJSON(): MarketSnapshot {
    return {
      format: 'amk-market/1',
      seed: this.seed,
      scenario: structuredClone(this.scenario),
      start: this.start,
      now: this.clock,
      tick: this.tick,
      accounts: this.accounts.map((a) => ({ ...a, stakeholderIds: [...a.stakeholderIds] })),
      stakeholders: this.stakeholders.map((s) => ({ ...s })),
      pending: this.pending.map((p) => ({ ...p, stakeholderIds: [...p.stakeholderIds] })),
      touchCounts: [...this.touchCounts.entries()],
      counters: { ...this.counters, signals: { ...this.counters.signals } },
    };
  }

  /** The world clock (ISO): the start, then the end of the last tick. */
  now(): string {
    return this.clock;
  }

  /** Accounts in the book. */
  get size(): number {
    return this.accounts.length;
  }

  /** What the CRM knows now: public stage and consent, account states at version 0, never hidden state. */
  book(): { accounts: AccountState[]; stakeholders: Stakeholder[] } {
    return {
      accounts: this.accounts.map((a) => ({
        id: a.id,
        name: a.name,
        domain: a.domain,
        tier: a.tier,
        industry: a.industry,
        employees: a.employees,
        stage: a.publicStage,
        engagedRoles: [],
        objections: [],
        consensus: 0,
        lastMeaningfulInteraction: null,
        observedUntil: null,
        version: 0,
      })),
      stakeholders: this.stakeholders.map((s) => ({
        id: s.id,
        accountId: s.accountId,
        name: s.name,
        email: s.email,
        title: s.title,
        role: s.role,
        seniority: s.seniority,
        timeZone: s.timeZone,
        consent: s.consent,
        doNotContact: s.doNotContact,
      })),
    };
  }

  /**
   * A tool call arriving in the world: records one touch per call for the next tick's response draw.
   * Every call counts, duplicates included (idempotency is the caller's job and tests count side
   * effects). Throws ToolRejectedError when the account or a targeted stakeholder is unknown.
   */
  apply(action: Action, stakeholders: Stakeholder[], at: string): ToolResult {
    const account = this.accountsById.get(action.accountId);
    if (account === undefined) throw new ToolRejectedError(`unknown account ${action.accountId} (action ${action.id})`);
    const targets = action.stakeholderIds.length > 0 ? action.stakeholderIds : stakeholders.map((s) => s.id);
    for (const id of new Set([...targets, ...stakeholders.map((s) => s.id)])) {
      const known = this.stakeholdersById.get(id);
      if (known === undefined) throw new ToolRejectedError(`unknown stakeholder ${id} (action ${action.id})`);
      if (known.accountId !== account.id) {
        throw new ToolRejectedError(`stakeholder ${id} belongs to ${known.accountId}, not ${account.id} (action ${action.id})`);
      }
    }
    // Date.parse, not the zod schema: apply sits on the hot path of a 10,000-account run.
    const atMs = Date.parse(at);
    if (Number.isNaN(atMs)) throw new InvalidInputError(`at: expected an ISO date-time, got ${JSON.stringify(at)}`);
    const occurrence = (this.touchCounts.get(action.id) ?? 0) + 1;
    const touch: PendingTouch = {
      actionId: action.id,
      occurrence,
      accountId: account.id,
      type: action.type,
      channel: action.channel,
      topic: action.content.topic,
      stakeholderIds: [...new Set(targets)],
      at: iso(atMs),
    };
    this.record(touch);
    // The journal first: a touch the world received survives a crash of the run that sent it.
    this.onTouch?.(touch);
    return { ok: true, externalId: `sim-${action.tool}-${action.id}-${occurrence}` };
  }

  /** Told of every touch as it arrives (the runtime journals it before the tool call returns). */
  onTouch: ((touch: PendingTouch) => void) | undefined;

  /**
   * A touch taken from the journal (one that arrived after the last snapshot): the world as it was
   * when the run that sent it was killed.
   */
  replay(json: unknown): void {
    this.record(PendingTouch.parse(json));
  }

  private record(touch: PendingTouch): void {
    this.touchCounts.set(touch.actionId, touch.occurrence);
    this.pending.push(touch);
    this.counters.touches += 1;
    this.counters.contacts += touch.stakeholderIds.length;
    if (touch.channel === 'email' || touch.channel === 'sales') {
      for (const id of touch.stakeholderIds) {
        const s = this.stakeholdersById.get(id);
        if (s !== undefined && (s.consent === 'opted_out' || s.doNotContact)) this.counters.violations += 1;
      }
    }
  }

  /** How many times a tool call with this action id arrived. */
  touchCount(actionId: string): number {
    return this.touchCounts.get(actionId) ?? 0;
  }

  /** Every action id that reached the world, with how many times it arrived (duplicates are counted from here). */
  touchesByAction(): ReadonlyMap<string, number> {
    return this.touchCounts;
  }

  /** How many tool calls arrived in total. */
  totalTouches(): number {
    return this.counters.touches;
  }

  /**
   * One tick (usually a week) up to `to`: responses to the touches received since the last tick,
   * organic behaviour, hidden-state drift and true stage progression. Returns the signals, ordered by time.
   */
  advance(to: string): PipelineSignal[] {
    const fromMs = Date.parse(this.clock);
    const toMs = parseIso(to, 'to');
    if (toMs <= fromMs) throw new InvalidInputError(`advance(${to}): the world clock is already at ${this.clock}`);
    const weeks = (toMs - fromMs) / WEEK_MS;
    this.tick += 1;
    const tick = this.tick;
    const signals: PipelineSignal[] = [];
    const emit = (signal: PipelineSignal): void => {
      signals.push(signal);
      this.counters.signals[signal.kind] = (this.counters.signals[signal.kind] ?? 0) + 1;
    };
    const within = (ms: number): string => iso(Math.min(toMs - 1, Math.max(fromMs, ms)));

    const touches = this.pending;
    this.pending = [];
    const weeklyTouches = new Map<string, number>();
    for (const touch of touches) this.respond(touch, tick, weeks, fromMs, toMs, weeklyTouches, emit, within);

    const sc = this.scenario;
    for (const account of this.accounts) {
      const [uMarket, uIntent, uVisit, uKnown, uWho, uObjection, uProgress, uTime] = draws(8, this.seed, 'organic', account.id, tick) as [
        number, number, number, number, number, number, number, number,
      ];
      const at = within(fromMs + uTime * (toMs - fromMs));
      const members = this.members.get(account.id) ?? [];

      // Organic behaviour (RecoGym: kept apart from responses to our actions).
      if (account.inMarket ? uMarket < overWeeks(sc.market.exitPerWeek, weeks) : uMarket < overWeeks(sc.market.enterPerWeek, weeks)) {
        account.inMarket = !account.inMarket;
      }
      if (uIntent < overWeeks(account.inMarket ? sc.market.intentSurgeInMarket : sc.market.intentSurgeOutOfMarket, weeks)) {
        emit({ id: `sig-${tick}-${account.id}-intent_surge`, accountId: account.id, kind: 'intent_surge', at, topic: sc.market.categoryTopic });
      }
      if (uVisit < overWeeks(account.inMarket ? sc.market.webVisitInMarket : sc.market.webVisitOutOfMarket, weeks)) {
        const visitor = uKnown < sc.market.knownVisitorShare ? pick(members, uWho) : undefined;
        emit({
          id: `sig-${tick}-${account.id}-web_visit`,
          accountId: account.id,
          kind: 'web_visit',
          at,
          ...(visitor === undefined ? {} : { stakeholderId: visitor.id }),
        });
      }
      const rank = stageRank(account.stage);
      if (rank >= stageRank('solution_aware') && uObjection < overWeeks(sc.objections.raiseOrganicActive, weeks)) {
        const blocker = members.find((m) => m.activeBlocker && account.veto && m.openObjection === null);
        if (blocker !== undefined && blocker.concern !== null) {
          blocker.openObjection = blocker.concern;
          emit({
            id: `sig-${tick}-${account.id}-objection_raised-${blocker.id}`,
            accountId: account.id,
            stakeholderId: blocker.id,
            kind: 'objection_raised',
            at,
            topic: blocker.concern,
          });
        }
      }

      this.progress(account, members, tick, weeks, uProgress, toMs, emit);

      // Hidden drift: interest reverts toward its base level; momentum fades.
      for (const m of members) m.interest += overWeeks(sc.hidden.interestReversion, weeks) * (m.interestBase - m.interest);
      account.momentum *= Math.pow(sc.progression.momentumDecay, weeks);
    }

    this.clock = iso(toMs);
    return signals.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** Hidden-state metrics for reports and benchmarks. */
  truth(): MarketTruth {
    const stages: Record<string, Stage> = {};
    const stageCounts = Object.fromEntries(Stage.options.map((s) => [s, 0])) as Record<Stage, number>;
    let advanced = 0;
    let progressions = 0;
    let inMarket = 0;
    let vetoes = 0;
    let roles = 0;
    for (const a of this.accounts) {
      stages[a.id] = a.stage;
      stageCounts[a.stage] += 1;
      if (stageRank(a.stage) > stageRank(a.startStage)) advanced += 1;
      progressions += a.progressions;
      if (a.inMarket) inMarket += 1;
      if (a.veto) vetoes += 1;
      roles += this.engagedRoles(this.members.get(a.id) ?? [], this.tick).size;
    }
    const n = this.stakeholders.length || 1;
    const contacts = this.counters.contacts;
    return {
      tick: this.tick,
      now: this.clock,
      stages,
      stageCounts,
      advancedSinceStart: advanced,
      progressions,
      committed: stageCounts.committed,
      noDecision: stageCounts.no_decision,
      closedLost: stageCounts.closed_lost,
      inMarket,
      vetoes,
      touches: this.counters.touches,
      contacts,
      progressionsPer100Contacts: contacts === 0 ? 0 : (100 * progressions) / contacts,
      violations: this.counters.violations,
      unsubscribes: this.counters.unsubscribes,
      engagedRolesPerAccount: this.accounts.length === 0 ? 0 : roles / this.accounts.length,
      meanTrust: this.stakeholders.reduce((sum, s) => sum + s.trust, 0) / n,
      meanInterest: this.stakeholders.reduce((sum, s) => sum + s.interest, 0) / n,
      meanConsensus: this.accounts.length === 0 ? 0 : this.accounts.reduce((sum, a) => sum + a.consensus, 0) / this.accounts.length,
      signals: { ...this.counters.signals },
    };
  }

  private mustStakeholder(id: string): SimStakeholder {
    const s = this.stakeholdersById.get(id);
    if (s === undefined) throw new Error(`market state is corrupt: stakeholder ${id} is missing`);
    return s;
  }

  /** How much an action's content matters to this person: the role matrix, plus a bonus when the topic speaks to the role. */
  private relevance(type: string, role: CommitteeRole, topic: string): number {
    const row = (this.scenario.relevance as Record<string, Record<CommitteeRole, number>>)[type];
    const base = row?.[role] ?? this.scenario.responses.genericRelevance;
    const t = topic.toLowerCase();
    const matches = this.scenario.roleTopics[role].some((k) => t.includes(k));
    // Generic nurture stays generic whatever its subject: the bonus rewards targeting, not keywords.
    return type === 'nurture_email' || !matches ? base : clamp01(base + this.scenario.topicMatchBonus);
  }

  /** The response (choice) model: one touch, each targeted stakeholder answers or not. */
  private respond(
    touch: PendingTouch,
    tick: number,
    weeks: number,
    fromMs: number,
    toMs: number,
    weeklyTouches: Map<string, number>,
    emit: (s: PipelineSignal) => void,
    within: (ms: number) => string,
  ): void {
    const sc = this.scenario;
    const r = sc.responses;
    const f = sc.fatigue;
    const h = sc.hidden;
    const account = this.accountsById.get(touch.accountId);
    if (account === undefined) return;
    const generic = touch.type === 'nurture_email';
    const touchMs = Math.min(toMs - 1, Math.max(fromMs, Date.parse(touch.at)));
    const relevanceByRole = new Map<CommitteeRole, number>();

    for (const sid of touch.stakeholderIds) {
      const s = this.mustStakeholder(sid);
      const personal = touch.channel === 'email' || touch.channel === 'sales';
      // A suppressed contact gets nothing out of it (the violation was counted on arrival).
      if (personal && (s.consent === 'opted_out' || s.doNotContact)) continue;
      const [uOpen, uClick, uContent, uReply, uMeeting, uUnsub, uObjection, uTime] = draws(
        8, this.seed, 'touch', touch.actionId, touch.occurrence, sid,
      ) as [number, number, number, number, number, number, number, number];
      const nth = (weeklyTouches.get(sid) ?? 0) + 1;
      weeklyTouches.set(sid, nth);
      const excess = Math.max(0, nth - f.touchesPerWeek * Math.max(1, weeks));
      let rel = relevanceByRole.get(s.role);
      if (rel === undefined) {
        rel = this.relevance(touch.type, s.role, touch.topic);
        relevanceByRole.set(s.role, rel);
      }
      const lift = (r.relevanceCurvature + rel) / (r.relevanceCurvature + r.genericRelevance);
      const relT = clamp01((rel - r.genericRelevance) / (1 - r.genericRelevance));
      // Interested, trusting people respond more; ~1 at the typical starting interest 0.25 and trust 0.5.
      const responsiveness = ((0.6 + 1.6 * s.interest) * (0.5 + s.trust)) / (1 + f.responsePenaltyPerExcessTouch * excess);
      const overGeneric = generic ? Math.max(0, s.genericTouches - f.genericTolerance) : 0;
      const sequenceDecay = generic ? Math.max(r.genericReplyFloor, Math.pow(r.genericReplyDecay, s.genericTouches)) : 1;
      const base = touchMs + uTime * (toMs - touchMs) * 0.5;
      const sig = (kind: SignalKind, offsetMs: number, topic?: string): void =>
        emit({
          id: `sig-${tick}-${touch.actionId}-${touch.occurrence}-${sid}-${kind}`,
          accountId: account.id,
          stakeholderId: sid,
          kind,
          at: within(base + offsetMs),
          causedBy: touch.actionId,
          ...(topic === undefined ? {} : { topic }),
        });

      let engaged = 0;
      let replied = false;
      let meeting = false;
      if (touch.channel === 'email') {
        const pOpen = clamp01(r.open * (0.5 + s.trust));
        const opened = uOpen < pOpen;
        if (opened) sig('open', 0);
        const pClick = r.click * lift * responsiveness;
        const clicked = opened && uClick < pClick / pOpen; // clicks imply opens: keep the click marginal at pClick
        if (clicked) sig('click', 5 * MINUTE_MS);
        if (clicked && uContent < r.contentGivenClick) {
          sig('content_consumed', 10 * MINUTE_MS, touch.topic);
          engaged += sc.progression.momentumPerEngagement.content_consumed;
        }
        replied = uReply < lerp(r.reply.generic, r.reply.targeted, relT) * responsiveness * sequenceDecay;
        meeting = replied && uMeeting < r.meetingGivenReply;
      } else if (touch.channel === 'sales') {
        replied = uReply < lerp(r.reply.generic, r.reply.targeted, relT) * r.salesReplyMultiplier * responsiveness;
        meeting = replied && uMeeting < r.salesMeetingGivenReply;
      } else if (touch.channel === 'ads') {
        if (uClick < r.adWebVisit * lift * responsiveness) sig('web_visit', HOUR_MS);
      } else if (uContent < r.webContent * lift * responsiveness) {
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
        r.unsubscribe *
        (1 + f.unsubscribePerExcessTouch * excess) *
        (1 + f.unsubscribePerGenericTouch * overGeneric) *
        (1.5 - s.trust);
      if (personal && !replied && !meeting && uUnsub < pUnsub) {
        sig('unsubscribe', 30 * MINUTE_MS);
        s.consent = 'opted_out';
        this.counters.unsubscribes += 1;
      }

      // Hidden state: relevance builds interest and trust; pressure and repeated generic content erode trust.
      s.interest = clamp01(s.interest + h.interestGainOnExposure * rel);
      if (rel >= 0.5) s.trust += h.trustGainOnRelevant;
      s.trust -= f.trustLossPerExcessTouch * excess;
      s.trust -= f.trustLossPerGenericTouch * (overGeneric > 0 ? 1 : 0);
      if (engaged > 0) {
        s.engagedTick = tick;
        s.interest = clamp01(s.interest + h.interestGainOnEngagement * (0.5 + rel));
        s.trust += h.trustGainOnEngagement;
        account.momentum += engaged * (sc.progression.momentumPerEngagement.relevanceFloor + rel);
      }
      s.trust = clamp01(s.trust);
      if (generic) s.genericTouches += 1;
      if (touch.type === 'sales_handoff') {
        account.handoffTick = tick;
        account.handoffActionId = touch.actionId;
      }
    }
  }

  /** Sales looks at a handed-off account: accepts it when the committee is aligned, recycles it otherwise. */
  private receiveHandoff(account: SimAccount, members: SimStakeholder[], toMs: number, emit: (s: PipelineSignal) => void): void {
    const h = this.scenario.progression.handoff;
    if (account.consensus >= h.consensusThreshold) {
      account.salesAccepted = true;
      emit({
        id: `sig-${this.tick}-${account.id}-meeting_accepted`,
        accountId: account.id,
        kind: 'meeting_accepted',
        at: iso(toMs - 2),
        ...(account.handoffActionId === null ? {} : { causedBy: account.handoffActionId }),
      });
      return;
    }
    // A premature handoff: sales pushes for a meeting the committee is not ready for.
    for (const m of members) if (m.role === 'champion' || m.role === 'economic_buyer') m.trust = clamp01(m.trust - h.prematureTrustLoss);
  }

  /** Distinct roles that engaged meaningfully within the engagement window. */
  private engagedRoles(members: SimStakeholder[], tick: number): Set<CommitteeRole> {
    const roles = new Set<CommitteeRole>();
    const since = tick - this.scenario.hidden.engagementWindowWeeks;
    for (const m of members) if (m.engagedTick >= 0 && m.engagedTick > since) roles.add(m.role);
    return roles;
  }

  /** True stage progression: one weekly hazard draw per account (and the exits from evaluating). */
  private progress(
    account: SimAccount,
    members: SimStakeholder[],
    tick: number,
    weeks: number,
    u: number,
    toMs: number,
    emit: (s: PipelineSignal) => void,
  ): void {
    const p = this.scenario.progression;
    const roles = this.engagedRoles(members, tick);
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
    if (stage === 'committed' || stage === 'closed_lost' || stage === 'no_decision') return;
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

    let next: Stage | undefined;
    if (s === 'evaluating') {
      if (account.handoffTick === tick && !account.salesAccepted) this.receiveHandoff(account, members, toMs, emit);
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
      if (u < commit) next = 'committed';
      else if (u < commit + noDecision) next = 'no_decision';
      else if (u < commit + noDecision + lost) next = 'closed_lost';
    } else if (u < overWeeks(hazard, weeks)) {
      next = STAGE_ORDER[stageRank(s) + 1];
    }
    if (next === undefined) return;
    if (stageRank(next) > stageRank(s)) account.progressions += 1;
    account.stage = next;
    account.publicStage = next;
    emit({
      id: `sig-${tick}-${account.id}-crm_stage_change`,
      accountId: account.id,
      kind: 'crm_stage_change',
      at: iso(toMs - 1),
      stage: next,
    });
  }
}
