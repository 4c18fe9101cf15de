/**
 * One episode: one policy on one seeded market for a number of weekly runs, in process (no
 * database). Each week does what a CampaignRun does, through the same pure functions: fold the
 * week's signals into what the CRM knows (foldSignals, crediting executed actions), plan (the
 * policy), govern every account's plans (governAccount), execute what is granted at its send
 * time, let a simulated reviewer decide what needs approval, and remember what happened.
 */
import { bookFromImport, type ImportedBook } from '../local/simulator/book.ts';
import type { CampaignBundle, Charter, Guardrails } from '../shared/domain/config.ts';
import { governAccount, sendTimeBlock, sendTimeOf, spendMonthOf, type SpentSoFar } from '../shared/domain/governance.ts';
import type { ObservedAccount, OutcomeModel, RecentTouch } from '../shared/domain/memory.ts';
import { ACTION_CATALOG } from '../shared/domain/catalog.ts';
import { Stage, type AccountState, type Action, type ActionType, type PipelineSignal, type Stakeholder } from '../shared/domain/model.ts';
import { armOf, foldSignals, type ExecutedAction } from '../shared/domain/observe.ts';
import { keyedRandom } from '../shared/domain/random.ts';
import { Market } from '../local/simulator/market.ts';
import type { Scenario } from '../local/simulator/scenario.ts';
import { agentPolicy, baselinePolicy, nonePolicy, oraclePolicy, randomPolicy, type Policy, type PolicyConfig } from './policies.ts';
import type { PolicyName } from './types.ts';

const WEEK_MS = 7 * 86_400_000;
const DAY_MS = 86_400_000;
const MEMORY_WINDOW_DAYS = 28;

/** The simulated reviewer's approval rate (assumed: reviewers approve most of what reaches them). */
export const REVIEWER_APPROVAL_RATE = 0.85;

/** What one episode is run with. */
export interface EpisodeOptions {
  readonly scenario: Scenario;
  readonly seed: string;
  readonly accounts: number;
  readonly weeks: number;
  /** ISO time of the first weekly run. */
  readonly start: string;
  readonly policy: PolicyName;
  readonly config: Omit<PolicyConfig, 'seed'>;
  /** A team's imported book: its accounts and people, hidden state drawn from the scenario (`accounts` is then its size). */
  readonly book?: ImportedBook;
}

/** Deliveries and responses per action type (calibration reads them). */
export interface TypeCounts {
  deliveries: number;
  opens: number;
  clicks: number;
  replies: number;
  unsubscribes: number;
}

/** Everything measured in one episode. */
export interface EpisodeMetrics {
  readonly policy: PolicyName;
  readonly seed: string;
  /** Forward stage moves (truth) plus accepted meetings, as pipelineQuality defines progress. */
  readonly progressions: number;
  readonly progressionByWeek: number[];
  /** Stakeholder deliveries on every channel. */
  readonly touches: number;
  readonly emailDeliveries: number;
  readonly unsubscribes: number;
  readonly opens: number;
  readonly clicks: number;
  readonly replies: number;
  readonly violations: number;
  readonly approvalsRequested: number;
  readonly proposed: number;
  readonly blocked: number;
  readonly blockedBy: Record<string, number>;
  readonly stages: Record<string, number>;
  readonly accountsAdvanced: number;
  readonly multiThreading: number;
  readonly decided: number;
  readonly noDecision: number;
  readonly byType: Record<string, TypeCounts>;
  readonly mqls: number;
  readonly sqls: number;
  /** Actions whose propensity was logged, out of those executed. */
  readonly withPropensity: number;
  readonly executed: number;
}

const iso = (ms: number): string => new Date(ms).toISOString();

const pushTo = <K, V>(map: Map<K, V[]>, key: K, value: V): void => {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
};

/** One account as the CRM and agent memory know it in the episode. */
interface Known {
  state: AccountState;
  stakeholders: Stakeholder[];
  memory: RecentTouch[];
  executed: ExecutedAction[];
}

function policyOf(name: PolicyName, config: PolicyConfig, market: Market): Policy & { funnel?: () => { mqls: number; sqls: number } } {
  switch (name) {
    case 'agent':
      return agentPolicy(config);
    case 'baseline':
      return baselinePolicy(config);
    case 'random':
      return randomPolicy(config);
    case 'oracle':
      return oraclePolicy(config, market);
    case 'none':
      return nonePolicy();
  }
}

/** Runs one policy for `weeks` weekly runs on a market made from `seed`. */
export function runEpisode(options: EpisodeOptions): EpisodeMetrics {
  const { scenario, seed, weeks } = options;
  const startMs = Date.parse(options.start);
  const market = options.book
    ? Market.create({ seed, accounts: 0, start: options.start, scenario, book: bookFromImport(seed, scenario, options.book) })
    : Market.create({ seed, accounts: options.accounts, start: options.start, scenario });
  const config: PolicyConfig = { ...options.config, seed };
  const policy = policyOf(options.policy, config, market);
  const guardrails: Guardrails = config.guardrails;
  const credits = guardrails.pipelineQuality.credits;
  const charters = new Map(policy.charters.map((c) => [c.charter.id, c] as const));
  const charterOf = (agentId: string): { charter: Charter; hash: string } => {
    const c = charters.get(agentId);
    if (c === undefined) throw new Error(`policy ${policy.name} planned for an agent it has no charter for: ${agentId}`);
    return c;
  };

  const book = market.book();
  const byAccount = new Map<string, Stakeholder[]>();
  for (const s of book.stakeholders) pushTo(byAccount, s.accountId, s);
  const known: Known[] = book.accounts.map((state) => ({ state, stakeholders: byAccount.get(state.id) ?? [], memory: [], executed: [] }));
  const knownById = new Map(known.map((k) => [k.state.id, k]));
  const models = new Map<string, { trials: number; successes: number }>();
  const arms = (agentId: string): OutcomeModel => {
    const out: Record<string, { trials: number; successes: number }> = {};
    for (const [key, v] of models) if (key.startsWith(`${agentId}|`)) out[key.slice(agentId.length + 1)] = { ...v };
    return { agentId, arms: out, version: 0 };
  };
  const typeOf = new Map<string, string>();
  const byType: Record<string, TypeCounts> = {};
  const typeCounts = (type: string): TypeCounts => (byType[type] ??= { deliveries: 0, opens: 0, clicks: 0, replies: 0, unsubscribes: 0 });
  let monthSpent: Record<string, number> = {};
  let month = spendMonthOf(options.start);
  let approvalsRequested = 0;
  let proposed = 0;
  let blocked = 0;
  let executedCount = 0;
  let withPropensity = 0;
  let meetingsAccepted = 0;
  const blockedBy: Record<string, number> = {};
  const progressionByWeek: number[] = [];

  const execute = (action: Action, k: Known, now: string): void => {
    const targets = k.stakeholders.filter((s) => action.stakeholderIds.includes(s.id));
    const at = iso(sendTimeOf(action, Date.parse(now)));
    market.apply(action, targets, at);
    typeOf.set(action.id, action.type);
    if (action.channel !== 'ads') typeCounts(action.type).deliveries += targets.length;
    k.memory.push({ at: now, agentId: action.agentId, kind: 'action_executed', actionType: action.type, stakeholderIds: action.stakeholderIds, topic: action.content.topic });
    const role = targets[0]?.role ?? 'influencer';
    k.executed.push({ actionId: action.id, agentId: action.agentId, arm: armOf(action.type, role) });
    const key = `${action.agentId}|${armOf(action.type, role)}`;
    const m = models.get(key) ?? { trials: 0, successes: 0 };
    models.set(key, { trials: m.trials + 1, successes: m.successes });
    monthSpent[action.agentId] = (monthSpent[action.agentId] ?? 0) + action.costUsd;
    executedCount += 1;
    if (action.propensity !== undefined) withPropensity += 1;
    policy.executed?.(action);
  };

  const countSignal = (s: PipelineSignal): void => {
    if (s.kind === 'meeting_accepted') meetingsAccepted += 1;
    const type = s.causedBy === undefined ? undefined : typeOf.get(s.causedBy);
    if (type === undefined) return;
    const c = typeCounts(type);
    if (s.kind === 'open') c.opens += 1;
    else if (s.kind === 'click') c.clicks += 1;
    else if (s.kind === 'reply') c.replies += 1;
    else if (s.kind === 'unsubscribe') c.unsubscribes += 1;
  };

  for (let week = 0; week <= weeks; week += 1) {
    const nowMs = startMs + week * WEEK_MS;
    const now = iso(nowMs);
    const signals = week === 0 ? [] : market.advance(now);
    if (week > 0) {
      for (const s of signals) countSignal(s);
      progressionByWeek.push(market.truth().progressions + meetingsAccepted);
    }
    if (week === weeks) break;
    policy.observe?.(signals);
    const thisMonth = spendMonthOf(now);
    if (thisMonth !== month) {
      month = thisMonth;
      monthSpent = {};
    }
    // The run header's snapshot: every account of the run plans with these.
    const snapshot = new Map(policy.charters.map((c) => [c.charter.id, arms(c.charter.id)] as const));

    // Observe: fold the week's signals, credit last week's actions.
    const signalsOf = new Map<string, PipelineSignal[]>();
    for (const s of signals) pushTo(signalsOf, s.accountId, s);
    const since = nowMs - MEMORY_WINDOW_DAYS * DAY_MS;
    const observed: ObservedAccount[] = [];
    for (const k of known) {
      const fresh = signalsOf.get(k.state.id) ?? [];
      const previousStage = k.state.stage;
      if (fresh.length > 0 || k.executed.length > 0) {
        const folded = foldSignals({ state: k.state, stakeholders: k.stakeholders, signals: fresh, executed: k.executed, now, credits });
        k.state = folded.state;
        k.stakeholders = folded.stakeholders;
        for (const [agentId, byArm] of Object.entries(folded.credits)) {
          for (const [arm, d] of Object.entries(byArm)) {
            const key = `${agentId}|${arm}`;
            const m = models.get(key) ?? { trials: 0, successes: 0 };
            models.set(key, { trials: m.trials, successes: m.successes + d.successes });
          }
        }
        k.executed = [];
      }
      if (k.memory.length > 0 && Date.parse(k.memory[0]?.at ?? now) <= since) k.memory = k.memory.filter((t) => Date.parse(t.at) > since);
      observed.push({ state: k.state, stakeholders: k.stakeholders, recent: k.memory, newSignals: fresh, previousStage });
    }

    // Plan, govern, act.
    const runId = `bench-${String(week + 1).padStart(2, '0')}`;
    const plans = policy.plan({ week, runId, now, accounts: observed, models: snapshot, monthSpent: { ...monthSpent } });
    const plansOf = new Map<string, typeof plans>();
    for (const p of plans) pushTo(plansOf, p.accountId, p);
    let spent: SpentSoFar = { run: 0, month: { ...monthSpent } };
    for (const [accountId, accountPlans] of plansOf) {
      const k = knownById.get(accountId);
      if (k === undefined) continue;
      const governed = governAccount(accountPlans, { account: k.state, stakeholders: k.stakeholders, guardrails, recent: k.memory, now, charterOf, spent });
      spent = governed.spent;
      const actions = accountPlans.flatMap((p) => p.actions);
      actions.forEach((action, i) => {
        const verdict = governed.verdicts[i];
        proposed += 1;
        if (verdict === undefined || verdict.outcome === 'blocked') {
          blocked += 1;
          const g = verdict?.outcome === 'blocked' ? verdict.guardrail : 'none';
          blockedBy[g] = (blockedBy[g] ?? 0) + 1;
          return;
        }
        if (verdict.outcome === 'needs_approval') {
          approvalsRequested += verdict.approvers.length;
          const approved = keyedRandom(seed, 'reviewer', action.id) < REVIEWER_APPROVAL_RATE;
          if (!approved) {
            k.memory.push({ at: now, agentId: action.agentId, kind: 'action_rejected', actionType: action.type, stakeholderIds: action.stakeholderIds, topic: action.content.topic, detail: 'Not now (simulated reviewer).' });
            return;
          }
          // Checked again at the moment it is sent, as ActApproved does.
          const sendAt = iso(sendTimeOf(action, nowMs));
          if (sendTimeBlock(action, { account: k.state, stakeholders: k.stakeholders, guardrails, now: sendAt }) !== undefined) {
            blocked += 1;
            blockedBy.blocked_at_send = (blockedBy.blocked_at_send ?? 0) + 1;
            return;
          }
        }
        execute(action, k, now);
      });
    }
  }

  const truth = market.truth();
  const funnel = policy.funnel?.() ?? { mqls: 0, sqls: 0 };
  const stages = Object.fromEntries(Stage.options.map((s) => [s, truth.stageCounts[s]]));
  return {
    policy: options.policy,
    seed,
    progressions: truth.progressions + meetingsAccepted,
    progressionByWeek,
    touches: truth.contacts,
    emailDeliveries: Object.entries(byType).reduce((sum, [t, c]) => sum + (isEmail(t) ? c.deliveries : 0), 0),
    unsubscribes: truth.unsubscribes,
    opens: truth.signals.open ?? 0,
    clicks: truth.signals.click ?? 0,
    replies: truth.signals.reply ?? 0,
    violations: truth.violations,
    approvalsRequested,
    proposed,
    blocked,
    blockedBy,
    stages,
    accountsAdvanced: options.accounts === 0 ? 0 : truth.advancedSinceStart / options.accounts,
    multiThreading: truth.engagedRolesPerAccount,
    decided: truth.committed + truth.noDecision + truth.closedLost,
    noDecision: truth.noDecision,
    byType,
    mqls: funnel.mqls,
    sqls: funnel.sqls,
    withPropensity,
    executed: executedCount,
  };
}

const isEmail = (type: string): boolean => ACTION_CATALOG[type as ActionType]?.channel === 'email';

/** The bundle parts an episode needs, loaded once per process. */
export type EpisodeConfig = EpisodeOptions['config'];
export type { CampaignBundle };
