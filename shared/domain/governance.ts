/**
 * Governance: hard guardrails first (any one blocks), then HITL threshold rules (any one that holds
 * asks a human). Pure: the clock, the memory of recent touches, the run's spend and the agent's
 * spend this month come in through GovernContext, so a verdict can be replayed from its audit record.
 */
import type { RecentTouch } from './memory.ts';
import type { Plan } from './model.ts';
import { ACTION_CATALOG } from './catalog.ts';
import type { Charter, Guardrails } from './config.ts';
import { ActionType, type AccountState, type Action, type FiredRule, type Stakeholder, type Verdict } from './model.ts';
import { firedRules, type SourcedRule } from './rules.ts';

/** Everything governance needs besides the action itself. */
export interface GovernContext {
  account: AccountState;
  stakeholders: Stakeholder[];
  charter: Charter;
  charterHash: string;
  guardrails: Guardrails;
  /** Touches of ALL agents at this account, from memory. */
  recent: RecentTouch[];
  /** The run's clock (ISO). */
  now: string;
  /** What the run already spent before this batch. */
  spentThisRunUsd: number;
  /**
   * What this agent already spent in the calendar month (UTC) of `now` before this batch, for the
   * charter's `budgets.spendPerMonthUsd` (see spendMonthOf).
   */
  spentThisMonthUsd: number;
}

/** Stable ids of the blocking guardrails, in the order they are checked. */
export const GUARDRAIL = {
  charterTools: 'charter.tools',
  charterActions: 'charter.actions',
  catalog: 'catalog',
  unknownAccount: 'unknown_account',
  unknownStakeholder: 'unknown_stakeholder',
  consent: 'consent',
  suppression: 'suppression',
  contactPressure: 'contact_pressure',
  quietHours: 'quiet_hours',
  budget: 'budget',
  agentPaused: 'agent_paused',
  /** Checked after the threshold rules: a two-person rule that names too few distinct approvers. */
  approvalQuorum: 'approval_quorum',
} as const;
/** One of the GUARDRAIL ids a blocked verdict carries. */
export type GuardrailId = (typeof GUARDRAIL)[keyof typeof GUARDRAIL];

/** Memory kinds that record something that did not reach anyone, so they are not touches. */
const NOT_TOUCHES: ReadonlySet<string> = new Set(['action_blocked', 'action_rejected', 'action_failed', 'outcome']);

const WEEK_MS = 7 * 24 * 60 * 60 * 1000;

/** The calendar month (UTC, `YYYY-MM`) a spend at `at` counts toward: from the run's clock, never the wall clock. */
/**
 * The ISO week (`YYYY-Www`, UTC) of a time: the window touch reservations are held in. Runs of
 * one week share it, so overlapping runs count each other's touches.
 */
export function isoWeekOf(at: string): string {
  const ms = Date.parse(at);
  if (Number.isNaN(ms)) throw new RangeError(`not an ISO timestamp: ${at}`);
  const d = new Date(ms);
  const day = (d.getUTCDay() + 6) % 7; // Monday 0
  const thursday = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() - day + 3));
  const year = thursday.getUTCFullYear();
  // The week's Thursday decides its year; weeks count from that year's first Thursday.
  const week = 1 + Math.floor((thursday.getTime() - Date.UTC(year, 0, 1)) / (7 * 86_400_000));
  return `${year}-W${String(week).padStart(2, '0')}`;
}

export function spendMonthOf(at: string): string {
  const ms = Date.parse(at);
  if (Number.isNaN(ms)) throw new RangeError(`not an ISO timestamp: ${at}`);
  return new Date(ms).toISOString().slice(0, 7);
}

/** What earlier non-blocked actions of the same batch have used up. */
interface BatchUsage {
  touchesByStakeholder: Map<string, number>;
  accountTouches: number;
  spendUsd: number;
}

type Block = { guardrail: GuardrailId; reason: string };

const who = (s: Stakeholder): string => `${s.name} (${s.id})`;

/** Whether an action on this channel reaches a person (and counts toward contact pressure). */
export const isTouchChannel = (channel: Action['channel']): boolean => channel !== 'ads';

/**
 * True when a remembered entry reached someone through a channel that counts as contact. Unknown
 * kinds count: over-counting only makes governance stricter, never looser.
 */
function isTouch(t: RecentTouch): boolean {
  if (NOT_TOUCHES.has(t.kind)) return false;
  const type = ActionType.safeParse(t.actionType);
  return !(type.success && !isTouchChannel(ACTION_CATALOG[type.data].channel));
}

function withinLastWeek(at: string, nowMs: number): boolean {
  const t = Date.parse(at);
  return t > nowMs - WEEK_MS && t <= nowMs;
}

const minutesOf = (hhmm: string): number => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

// Formatters are costly to build and time zones are few, so keep one per zone (null: invalid zone).
const formatters = new Map<string, Intl.DateTimeFormat | null>();

// Answers per zone and minute: the same few send times are asked about for every stakeholder.
const minutesCache = new Map<string, number | undefined>();
const MINUTES_CACHE_MAX = 50_000;

/** Minutes since local midnight at `atMs` in the IANA zone, or undefined for an unknown zone. */
function localMinutes(atMs: number, timeZone: string): number | undefined {
  const key = `${timeZone}|${Math.floor(atMs / 60_000)}`;
  if (minutesCache.has(key)) return minutesCache.get(key);
  if (minutesCache.size >= MINUTES_CACHE_MAX) minutesCache.clear();
  const value = computeLocalMinutes(atMs, timeZone);
  minutesCache.set(key, value);
  return value;
}

function computeLocalMinutes(atMs: number, timeZone: string): number | undefined {
  let f = formatters.get(timeZone);
  if (f === undefined) {
    try {
      f = new Intl.DateTimeFormat('en-US', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    } catch {
      f = null;
    }
    formatters.set(timeZone, f);
  }
  if (f === null) return undefined;
  let hour = 0;
  let minute = 0;
  for (const p of f.formatToParts(atMs)) {
    if (p.type === 'hour') hour = Number(p.value) % 24;
    if (p.type === 'minute') minute = Number(p.value);
  }
  return hour * 60 + minute;
}

/** True when local time `t` (minutes) falls in [start, end); a window with start > end wraps midnight. */
function inWindow(t: number, start: number, end: number): boolean {
  if (start === end) return false;
  return start < end ? t >= start && t < end : t >= start || t < end;
}

function domainMatches(emailDomain: string, suppressed: string): boolean {
  const d = suppressed.toLowerCase().replace(/^@/, '');
  return emailDomain === d || emailDomain.endsWith(`.${d}`);
}

// The suppression list as a set, built once per guardrails object (they are immutable once loaded).
const suppressionSets = new WeakMap<Guardrails['suppression'], ReadonlySet<string>>();
function suppressedEmailsOf(guardrails: Pick<Guardrails, 'suppression'>): ReadonlySet<string> {
  let set = suppressionSets.get(guardrails.suppression);
  if (set === undefined) {
    set = new Set(guardrails.suppression.emails.map((e) => e.toLowerCase()));
    suppressionSets.set(guardrails.suppression, set);
  }
  return set;
}

/** The action's people as the account knows them, or the consent or suppression guardrail they hit. */
function peopleBlock(action: Action, ctx: Pick<GovernContext, 'account' | 'stakeholders' | 'guardrails'>): Block | { targets: Stakeholder[] } {
  const { guardrails } = ctx;
  const targets: Stakeholder[] = [];
  for (const id of action.stakeholderIds) {
    const s = ctx.stakeholders.find((x) => x.id === id && x.accountId === action.accountId);
    if (!s) {
      return { guardrail: GUARDRAIL.unknownStakeholder, reason: `Stakeholder ${id} is not known at ${ctx.account.name}.` };
    }
    targets.push(s);
  }

  for (const s of targets) {
    if (s.doNotContact) return { guardrail: GUARDRAIL.consent, reason: `${who(s)} is marked do-not-contact.` };
    if (s.consent === 'opted_out') return { guardrail: GUARDRAIL.consent, reason: `${who(s)} has opted out.` };
    if (s.consent === 'unknown' && action.channel === 'email' && guardrails.consent.blockUnknownForEmail) {
      return { guardrail: GUARDRAIL.consent, reason: `${who(s)} has unknown email consent and the guardrails require it for email.` };
    }
  }

  const suppressedEmails = suppressedEmailsOf(guardrails);
  const accountDomain = ctx.account.domain.toLowerCase();
  const domainHit = guardrails.suppression.domains.find((d) => domainMatches(accountDomain, d));
  if (domainHit !== undefined) {
    return { guardrail: GUARDRAIL.suppression, reason: `The account domain ${ctx.account.domain} is suppressed (${domainHit}).` };
  }
  for (const s of targets) {
    const email = s.email.toLowerCase();
    if (suppressedEmails.has(email)) return { guardrail: GUARDRAIL.suppression, reason: `The address of ${who(s)} is suppressed.` };
    const emailDomain = email.slice(email.lastIndexOf('@') + 1);
    const hit = guardrails.suppression.domains.find((d) => domainMatches(emailDomain, d));
    if (hit !== undefined) {
      return { guardrail: GUARDRAIL.suppression, reason: `The email domain of ${who(s)} is suppressed (${hit}).` };
    }
  }

  return { targets };
}

/** The quiet-hours guardrail, in each target's own time zone, at `nowMs`. */
function quietHoursBlock(action: Action, targets: readonly Stakeholder[], guardrails: Guardrails, nowMs: number): Block | undefined {
  const quiet = guardrails.quietHours;
  if (quiet && (action.channel === 'email' || action.channel === 'sales')) {
    const start = minutesOf(quiet.start);
    const end = minutesOf(quiet.end);
    for (const s of targets) {
      const local = localMinutes(nowMs, s.timeZone);
      // Without a valid zone nobody can vouch that it is not the middle of the night there.
      if (local === undefined) {
        return { guardrail: GUARDRAIL.quietHours, reason: `${who(s)} has an unknown time zone "${s.timeZone}", so quiet hours cannot be checked.` };
      }
      if (inWindow(local, start, end)) {
        return {
          guardrail: GUARDRAIL.quietHours,
          reason: `It is within quiet hours (${quiet.start}-${quiet.end}) in ${s.timeZone} for ${who(s)}.`,
        };
      }
    }
  }

  return undefined;
}

/** How far an action may be deferred past the run's clock (to a stakeholder's next business hour). */
export const MAX_DEFERRAL_MS = 24 * 60 * 60 * 1000;

/** When an action will be sent: its notBefore when later than `nowMs`, else `nowMs`. */
export function sendTimeOf(action: Pick<Action, 'notBefore'>, nowMs: number): number {
  const at = action.notBefore === undefined ? Number.NaN : Date.parse(action.notBefore);
  return Number.isNaN(at) || at < nowMs ? nowMs : at;
}

const QUARTER_HOUR_MS = 15 * 60 * 1000;

/**
 * The earliest time at or after `nowMs`, on a quarter hour, at which none of these people is in
 * quiet hours (in their own time zones), within MAX_DEFERRAL_MS; `nowMs` itself when nobody is,
 * or undefined when no such time exists (an unknown zone, a window that never opens).
 */
export function nextSendTime(nowMs: number, people: readonly Pick<Stakeholder, 'timeZone'>[], guardrails: Pick<Guardrails, 'quietHours'>): number | undefined {
  const quiet = guardrails.quietHours;
  if (!quiet) return nowMs;
  const start = minutesOf(quiet.start);
  const end = minutesOf(quiet.end);
  const quietAt = (ms: number): boolean | undefined => {
    for (const s of people) {
      const local = localMinutes(ms, s.timeZone);
      if (local === undefined) return undefined;
      if (inWindow(local, start, end)) return true;
    }
    return false;
  };
  const first = quietAt(nowMs);
  if (first === undefined) return undefined;
  if (!first) return nowMs;
  const firstSlot = Math.ceil(nowMs / QUARTER_HOUR_MS) * QUARTER_HOUR_MS;
  for (let ms = firstSlot; ms <= nowMs + MAX_DEFERRAL_MS; ms += QUARTER_HOUR_MS) if (quietAt(ms) === false) return ms;
  return undefined;
}

/**
 * The guardrails that can change while an action waits for its approval — the people's consent
 * and do-not-contact, suppression lists, and quiet hours at the moment of sending — checked again
 * just before an approved action executes. Pure, like govern.
 */
export function sendTimeBlock(
  action: Action,
  ctx: Pick<GovernContext, 'account' | 'stakeholders' | 'guardrails' | 'now'>,
): { guardrail: GuardrailId; reason: string } | undefined {
  const people = peopleBlock(action, ctx);
  if ('guardrail' in people) return people;
  return quietHoursBlock(action, people.targets, ctx.guardrails, Date.parse(ctx.now));
}

function findBlock(action: Action, ctx: GovernContext, batch: BatchUsage): Block | undefined {
  const { charter, guardrails } = ctx;

  if (!charter.allowedTools.includes(action.tool)) {
    return { guardrail: GUARDRAIL.charterTools, reason: `Charter ${charter.id} does not allow the ${action.tool} tool.` };
  }
  if (!charter.allowedActions.includes(action.type)) {
    return { guardrail: GUARDRAIL.charterActions, reason: `Charter ${charter.id} does not allow ${action.type} actions.` };
  }
  // Contact pressure and quiet hours trust the channel, so it must be the one the type really uses.
  const spec = ACTION_CATALOG[action.type];
  if (spec.tool !== action.tool || spec.channel !== action.channel) {
    return {
      guardrail: GUARDRAIL.catalog,
      reason: `${action.type} runs through the ${spec.tool} tool on the ${spec.channel} channel, not ${action.tool} on ${action.channel}.`,
    };
  }
  if (action.accountId !== ctx.account.id) {
    return { guardrail: GUARDRAIL.unknownAccount, reason: `Action is for account ${action.accountId}, not ${ctx.account.id}.` };
  }

  const people = peopleBlock(action, ctx);
  if ('guardrail' in people) return people;
  const targets = people.targets;

  const nowMs = Date.parse(ctx.now);
  if (isTouchChannel(action.channel)) {
    // One pass over memory: the account's touches in the last 7 days, and each target's.
    let accountTouches = 0;
    const byTarget = new Map<string, number>();
    for (const t of ctx.recent) {
      if (!isTouch(t) || !withinLastWeek(t.at, nowMs)) continue;
      accountTouches += 1;
      for (const s of targets) if (t.stakeholderIds.includes(s.id)) byTarget.set(s.id, (byTarget.get(s.id) ?? 0) + 1);
    }
    const perStakeholder = Math.min(
      charter.budgets.touchesPerStakeholderPerWeek,
      guardrails.contactPressure.maxTouchesPerStakeholderPerWeek,
    );
    const perAccount = Math.min(charter.budgets.touchesPerAccountPerWeek, guardrails.contactPressure.maxTouchesPerAccountPerWeek);
    for (const s of targets) {
      const count = (byTarget.get(s.id) ?? 0) + (batch.touchesByStakeholder.get(s.id) ?? 0);
      if (count + 1 > perStakeholder) {
        return {
          guardrail: GUARDRAIL.contactPressure,
          reason: `${who(s)} was already touched ${count} time(s) in the last 7 days; the limit is ${perStakeholder} per week.`,
        };
      }
    }
    const accountCount = accountTouches + batch.accountTouches;
    if (accountCount + 1 > perAccount) {
      return {
        guardrail: GUARDRAIL.contactPressure,
        reason: `${ctx.account.name} was already touched ${accountCount} time(s) in the last 7 days; the limit is ${perAccount} per week.`,
      };
    }
  }

  // A deferred action is checked at the time it will be sent, which may not be later than a day.
  const sendMs = sendTimeOf(action, nowMs);
  if (sendMs > nowMs + MAX_DEFERRAL_MS) {
    return {
      guardrail: GUARDRAIL.quietHours,
      reason: `The action is deferred to ${action.notBefore}, more than ${MAX_DEFERRAL_MS / 3_600_000} hours after the run's clock ${ctx.now}.`,
    };
  }
  const quiet = quietHoursBlock(action, targets, guardrails, sendMs);
  if (quiet) return quiet;

  const total = ctx.spentThisRunUsd + batch.spendUsd + action.costUsd;
  if (total > guardrails.budget.maxSpendPerRunUsd) {
    return {
      guardrail: GUARDRAIL.budget,
      reason: `Spending $${action.costUsd} would bring this run to $${total}, above the $${guardrails.budget.maxSpendPerRunUsd} limit.`,
    };
  }
  // A free action spends nothing, so an exhausted month (approvals executed late can overshoot it)
  // does not stop it.
  const monthTotal = ctx.spentThisMonthUsd + batch.spendUsd + action.costUsd;
  if (action.costUsd > 0 && monthTotal > charter.budgets.spendPerMonthUsd) {
    return {
      guardrail: GUARDRAIL.budget,
      reason: `Spending $${action.costUsd} would bring agent ${charter.id} to $${monthTotal} in ${spendMonthOf(ctx.now)}, above the charter's budgets.spendPerMonthUsd of $${charter.budgets.spendPerMonthUsd}.`,
    };
  }

  if (charter.status === 'paused') {
    return { guardrail: GUARDRAIL.agentPaused, reason: `Agent ${charter.id} is paused.` };
  }
  return undefined;
}

function verdictFor(action: Action, ctx: GovernContext, batch: BatchUsage): Verdict {
  const block = findBlock(action, ctx, batch);
  if (block) return { outcome: 'blocked', actionId: action.id, ...block };

  const rules: SourcedRule[] = [
    ...ctx.charter.thresholds.map((rule) => ({ rule, source: `charter:${ctx.charter.id}` })),
    ...ctx.guardrails.approvalRules.map((rule) => ({ rule, source: `guardrails:${ctx.guardrails.id}` })),
  ];
  const fired = firedRules(rules, action, ctx.account, ctx.stakeholders, ctx.charter.status);
  if (fired.length === 0) return { outcome: 'autonomous', actionId: action.id };
  // A two-person rule that cannot gather its people must not fall back to one approver, let alone
  // to none: the action is blocked until the rule is fixed.
  for (const rule of fired) {
    const people = distinctApprovers(rule.approvers);
    if (people.length < rule.minApprovals) {
      return {
        outcome: 'blocked',
        actionId: action.id,
        guardrail: GUARDRAIL.approvalQuorum,
        reason: `Rule ${rule.ruleId} (${rule.source}) needs ${rule.minApprovals} distinct approvers but names ${people.length} (${people.join(', ') || 'none'}).`,
      };
    }
  }
  const approvers = [...new Set(fired.flatMap((r) => r.approvers))];
  return { outcome: 'needs_approval', actionId: action.id, rules: fired, approvers };
}

/** Email addresses compare case-insensitively: `CMO@x` and `cmo@x` are one person. */
export const samePerson = (a: string, b: string): boolean => a.trim().toLowerCase() === b.trim().toLowerCase();

/** The approvers of a list, one per person, first spelling kept, in order. */
export function distinctApprovers(approvers: readonly string[]): string[] {
  const out: string[] = [];
  for (const a of approvers) if (!out.some((b) => samePerson(a, b))) out.push(a);
  return out;
}

/** Who must approve a needs_approval action, and how many distinct people that takes. */
export interface ApprovalPlan {
  /** One approval request per approver; every one must end approved. */
  readonly approvers: readonly string[];
  /** Distinct approvers required (1: a single approval decides). */
  readonly min: number;
}

/**
 * The approval requests a needs_approval verdict asks for. One rule needing one approval: the
 * first approver alone (as always). With a two-person rule among the fired rules: the first
 * approver, plus each such rule's own approvers (in order) until that rule has `minApprovals`
 * distinct people of its own list; so every two-person rule is met by people it names. Returns
 * undefined when a rule cannot be met (governance blocks such verdicts; this re-checks a verdict
 * read back from a workflow payload).
 */
export function approvalPlanOf(verdict: { rules: readonly FiredRule[]; approvers: readonly string[] }): ApprovalPlan | undefined {
  const first = verdict.approvers[0];
  if (first === undefined) return undefined;
  const min = Math.max(1, ...verdict.rules.map((r) => r.minApprovals));
  if (min === 1) return { approvers: [first], min };
  const members = [first];
  for (const rule of verdict.rules) {
    if (rule.minApprovals < 2) continue;
    const own = distinctApprovers(rule.approvers);
    let have = own.filter((a) => members.some((m) => samePerson(a, m))).length;
    for (const a of own) {
      if (have >= rule.minApprovals) break;
      if (members.some((m) => samePerson(a, m))) continue;
      members.push(a);
      have += 1;
    }
    if (have < rule.minApprovals) return undefined;
  }
  return { approvers: members, min };
}

/** Governs a batch in order; earlier non-blocked actions count toward contact pressure and spend. */
export function governActions(actions: readonly Action[], ctx: GovernContext): Verdict[] {
  const batch: BatchUsage = { touchesByStakeholder: new Map(), accountTouches: 0, spendUsd: 0 };
  return actions.map((action) => {
    const verdict = verdictFor(action, ctx, batch);
    // needs_approval counts too: it may still execute once a human approves it.
    if (verdict.outcome !== 'blocked') {
      batch.spendUsd += action.costUsd;
      if (isTouchChannel(action.channel)) {
        batch.accountTouches += 1;
        for (const id of action.stakeholderIds) batch.touchesByStakeholder.set(id, (batch.touchesByStakeholder.get(id) ?? 0) + 1);
      }
    }
    return verdict;
  });
}

/** The verdict for one action: blocked by the first guardrail that applies, else needs_approval or autonomous. */
export function govern(action: Action, ctx: GovernContext): Verdict {
  return verdictFor(action, ctx, { touchesByStakeholder: new Map(), accountTouches: 0, spendUsd: 0 });
}

/** What is committed before an account is governed: the run's spend and each agent's in the month. */
export interface SpentSoFar {
  readonly run: number;
  readonly month: Readonly<Record<string, number>>;
}

/**
 * Governs every agent's plan for one account, plans in order: each plan's checks see the touches
 * and spend earlier plans were granted (needs_approval counts too: it may still execute). Pure:
 * the Govern step adds the reservations that see every shard and run; the benchmark uses it as is.
 */
export function governAccount(
  plans: readonly Plan[],
  ctx: Omit<GovernContext, 'charter' | 'charterHash' | 'spentThisRunUsd' | 'spentThisMonthUsd'> & {
    readonly charterOf: (agentId: string) => { charter: Charter; hash: string };
    readonly spent: SpentSoFar;
  },
): { verdicts: Verdict[]; spent: SpentSoFar } {
  const { charterOf, spent, ...base } = ctx;
  let run = spent.run;
  const month: Record<string, number> = { ...spent.month };
  const granted: RecentTouch[] = [];
  const verdicts: Verdict[] = [];
  for (const plan of plans) {
    const { charter, hash } = charterOf(plan.agentId);
    const planVerdicts = governActions(plan.actions, {
      ...base,
      charter,
      charterHash: hash,
      recent: [...base.recent, ...granted],
      spentThisRunUsd: run,
      spentThisMonthUsd: month[plan.agentId] ?? 0,
    });
    plan.actions.forEach((action, i) => {
      const verdict = planVerdicts[i] as Verdict;
      verdicts.push(verdict);
      if (verdict.outcome === 'blocked') return;
      run += action.costUsd;
      month[plan.agentId] = (month[plan.agentId] ?? 0) + action.costUsd;
      if (isTouchChannel(action.channel)) {
        granted.push({ at: base.now, agentId: plan.agentId, kind: 'action_executed', actionType: action.type, stakeholderIds: action.stakeholderIds, topic: action.content.topic });
      }
    });
  }
  return { verdicts, spent: { run, month } };
}
