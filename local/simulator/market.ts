/**
 * The market: a seeded, deterministic buyer simulator that stands in for the outside world when the
 * system runs locally, and the benchmark's arena. Tools act on it (`apply`), weekly ticks answer
 * with pipeline signals (`advance`), and its hidden state (true stages, interest, trust, consensus,
 * vetoes) is only visible through `truth()` and `hidden()`.
 *
 * Model shape after simulator.md: user state (hidden interest/trust per stakeholder, stage,
 * consensus and veto per account; book.ts), a response (choice) model per touch (response.ts),
 * organic behaviour kept apart from responses to our actions (organic.ts, after RecoGym), true
 * progression (progression.ts), and weekly ticks drawn from a keyed counter-based RNG so one extra
 * draw never shifts the others. Every number comes from the scenario; this class only ties the
 * parts together and keeps the state.
 */
import * as z from 'zod';
import { type AccountState, type Action, type CommitteeRole, type PipelineSignal, Stage, type Stakeholder, stageRank } from '../../shared/domain/model.ts';
import { InvalidInputError, ToolRejectedError } from '../../shared/domain/errors.ts';
import type { ToolResult } from '../../shared/ports/index.ts';
import { generateBook, type GeneratedBook } from './book.ts';
import { drift, type OrganicDraws, organicWeek } from './organic.ts';
import { engagedRoles, progress } from './progression.ts';
import { blockerAnger, relevance, respond, type ResponseContext, TOUCHED_CHAMPION } from './response.ts';
import { draws } from './rng.ts';
import { defaultScenario, type Scenario } from './scenario.ts';
import { type Counters, MarketSnapshot, PendingTouch, type SimAccount, type SimStakeholder } from './snapshot.ts';
import { iso, WEEK_MS } from './tick.ts';

export { MarketSnapshot, PendingTouch } from './snapshot.ts';

const Iso = z.iso.datetime({ offset: true });

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
  /** A book to use instead of a generated one (an imported CRM book, see bookFromImport); `accounts` is then ignored. */
  readonly book?: GeneratedBook;
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
  /**
   * Forward moves among the open stages (unaware -> problem_aware -> solution_aware -> evaluating ->
   * committed) in total; an account can make several. Moves to no_decision or closed_lost are exits.
   */
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
  /** Stakeholder deliveries on the email channel (the denominator of open, click and unsubscribe rates). */
  readonly emailDeliveries: number;
  /** Signals so far of the response kinds (`open` includes machine opens). */
  readonly opens: number;
  readonly clicks: number;
  readonly replies: number;
  readonly meetingsBooked: number;
  /** Handoffs sales accepted (`meeting_accepted`). */
  readonly meetingsAccepted: number;
  /** Accounts that reached a decision: committed, no_decision or closed_lost. */
  readonly decided: number;
  /** Stakeholder deliveries that reached an account already decided (they did nothing). */
  readonly ignoredContacts: number;
}

/** One committee member's hidden state, for an oracle policy (a copy: changing it changes nothing). */
export interface HiddenMember {
  readonly id: string;
  readonly role: CommitteeRole;
  readonly interest: number;
  readonly trust: number;
  readonly openObjection: string | null;
  readonly activeBlocker: boolean;
  /** Engaged meaningfully within the engagement window (counts toward multi-threading and consensus). */
  readonly engaged: boolean;
  /** Known to the CRM (listed in `book()`, reachable by tools). */
  readonly known: boolean;
  /** Steps of a cold SDR sequence received so far. */
  readonly sdrSteps: number;
}

/** One account's hidden state, for an oracle policy (a copy). */
export interface HiddenAccount {
  readonly stage: Stage;
  /** What the CRM shows (lags `stage` by `progression.crmDelayWeeks`). */
  readonly publicStage: Stage;
  readonly inMarket: boolean;
  readonly consensus: number;
  readonly veto: boolean;
  readonly derisked: boolean;
  readonly salesAccepted: boolean;
  readonly momentum: number;
  readonly members: readonly HiddenMember[];
}

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
  private readonly touchChannels = new Map<string, string>();
  /** Relevance is a pure function of (type, role, topic) and topics repeat: computed once each. */
  private readonly relevanceCache = new Map<string, number>();

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
    const { accounts, stakeholders } = opts.book ?? generateBook(opts.seed, opts.accounts, scenario);
    return new Market(opts.seed, scenario, start, start, 0, accounts, stakeholders, [], [], {
      touches: 0,
      contacts: 0,
      violations: 0,
      unsubscribes: 0,
      emailDeliveries: 0,
      ignoredContacts: 0,
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
      accounts: this.accounts.map((a) => ({ ...a, stakeholderIds: [...a.stakeholderIds], stageReports: a.stageReports.map((r) => ({ ...r })) })),
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

  /**
   * What the CRM knows now: public stage and consent, account states at version 0, never hidden
   * state; only the people it knows (`book.knownContactShare`).
   */
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
      stakeholders: this.stakeholders.filter((s) => s.known).map((s) => ({
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
   * effects). Throws ToolRejectedError when the account or a targeted stakeholder is unknown (to
   * the world or to the CRM).
   */
  apply(action: Action, stakeholders: Stakeholder[], at: string): ToolResult {
    const account = this.accountsById.get(action.accountId);
    if (account === undefined) throw new ToolRejectedError(`unknown account ${action.accountId} (action ${action.id})`);
    const targets = action.stakeholderIds.length > 0 ? action.stakeholderIds : stakeholders.map((s) => s.id);
    for (const id of new Set([...targets, ...stakeholders.map((s) => s.id)])) {
      const known = this.stakeholdersById.get(id);
      if (known === undefined || !known.known) throw new ToolRejectedError(`unknown stakeholder ${id} (action ${action.id})`);
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
    this.touchChannels.set(touch.actionId, touch.channel);
    this.pending.push(touch);
    this.counters.touches += 1;
    this.counters.contacts += touch.stakeholderIds.length;
    if (touch.channel === 'email') this.counters.emailDeliveries += touch.stakeholderIds.length;
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

  /** The channel of an action that reached the world (undefined: it never did). */
  touchChannel(actionId: string): string | undefined {
    return this.touchChannels.get(actionId);
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
    this.tick += 1;
    const signals: PipelineSignal[] = [];
    const counts = this.counters.signals;
    const ctx: ResponseContext = {
      seed: this.seed,
      scenario: this.scenario,
      tick: this.tick,
      weeks: (toMs - fromMs) / WEEK_MS,
      fromMs,
      toMs,
      emit: (signal) => {
        signals.push(signal);
        counts[signal.kind] = (counts[signal.kind] ?? 0) + 1;
      },
      within: (ms) => iso(Math.min(toMs - 1, Math.max(fromMs, ms))),
      stakeholder: (id) => this.mustStakeholder(id),
      weeklyTouches: new Map(),
      counters: this.counters,
      relevance: (type, role, topic) => this.relevanceOf(type, role, topic),
      touchedRoles: this.scenario.blockers.angerOnChampionOnly > 0 && this.scenario.effects.mode === 'modelled' ? new Map() : undefined,
      advances: new Map(),
    };

    const touches = this.pending;
    this.pending = [];
    for (const touch of touches) {
      const account = this.accountsById.get(touch.accountId);
      if (account !== undefined) respond(ctx, touch, account);
    }
    if (ctx.touchedRoles !== undefined) {
      for (const [accountId, roles] of ctx.touchedRoles) {
        const account = this.accountsById.get(accountId);
        if (account !== undefined && roles === TOUCHED_CHAMPION) blockerAnger(ctx, account, this.members.get(accountId) ?? []);
      }
    }

    for (const account of this.accounts) {
      const u = draws(8, this.seed, 'organic', account.id, ctx.tick) as unknown as OrganicDraws; // draws(8) returns eight
      const members = this.members.get(account.id) ?? [];
      organicWeek(ctx, account, members, u, ctx.within(fromMs + u[7] * (toMs - fromMs)));
      progress(ctx, account, members, u[6], ctx.advances.get(account.id) ?? 0);
      drift(ctx, account, members);
    }

    this.clock = iso(toMs);
    return signals.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /**
   * How much an action's content matters to a person of this role (0..1): the scenario's matrix plus
   * a topic bonus. The null control (`effects.mode: uniform`) ignores it: every touch answers alike.
   */
  relevanceOf(type: string, role: CommitteeRole, topic: string): number {
    const key = `${type}\u001f${role}\u001f${topic}`;
    let r = this.relevanceCache.get(key);
    if (r === undefined) {
      if (this.relevanceCache.size >= 10_000) this.relevanceCache.clear(); // free-text topics must not grow it without bound
      r = relevance(this.scenario, type, role, topic);
      this.relevanceCache.set(key, r);
    }
    return r;
  }

  /** Forward stage moves so far: `truth().progressions` without the rest of truth's work (cheap enough to call weekly). */
  progressions(): number {
    let n = 0;
    for (const a of this.accounts) n += a.progressions;
    return n;
  }

  /** The scenario this world runs (shared, not copied: do not change it). */
  scenarioOf(): Readonly<Scenario> {
    return this.scenario;
  }

  /** One account's hidden state, for an oracle policy that reads what no real system could. */
  hidden(accountId: string): HiddenAccount {
    const a = this.accountsById.get(accountId);
    if (a === undefined) throw new InvalidInputError(`hidden(${accountId}): no such account`);
    const since = this.tick - this.scenario.hidden.engagementWindowWeeks;
    return {
      stage: a.stage,
      publicStage: a.publicStage,
      inMarket: a.inMarket,
      consensus: a.consensus,
      veto: a.veto,
      derisked: a.derisked,
      salesAccepted: a.salesAccepted,
      momentum: a.momentum,
      members: (this.members.get(a.id) ?? []).map((m) => ({
        id: m.id,
        role: m.role,
        interest: m.interest,
        trust: m.trust,
        openObjection: m.openObjection,
        activeBlocker: m.activeBlocker,
        engaged: m.engagedTick >= 0 && m.engagedTick > since,
        known: m.known,
        sdrSteps: m.sdrTouches,
      })),
    };
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
    const window = this.scenario.hidden.engagementWindowWeeks;
    for (const a of this.accounts) {
      stages[a.id] = a.stage;
      stageCounts[a.stage] += 1;
      if (stageRank(a.stage) > stageRank(a.startStage)) advanced += 1;
      progressions += a.progressions;
      if (a.inMarket) inMarket += 1;
      if (a.veto) vetoes += 1;
      roles += engagedRoles(this.members.get(a.id) ?? [], this.tick, window).size;
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
      emailDeliveries: this.counters.emailDeliveries,
      opens: this.counters.signals.open ?? 0,
      clicks: this.counters.signals.click ?? 0,
      replies: this.counters.signals.reply ?? 0,
      meetingsBooked: this.counters.signals.meeting_booked ?? 0,
      meetingsAccepted: this.counters.signals.meeting_accepted ?? 0,
      decided: stageCounts.committed + stageCounts.no_decision + stageCounts.closed_lost,
      ignoredContacts: this.counters.ignoredContacts,
    };
  }

  private mustStakeholder(id: string): SimStakeholder {
    const s = this.stakeholdersById.get(id);
    if (s === undefined) throw new Error(`market state is corrupt: stakeholder ${id} is missing`);
    return s;
  }
}
