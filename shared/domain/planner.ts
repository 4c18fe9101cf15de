/**
 * The agent: decompose the campaign goal into per-account sub-goals, propose catalog actions for
 * them, and score each by the sub-goal's value (raised by the account's fresh signals) times what
 * the agent has learned of the arm (posterior mean plus an exploration bonus for arms it knows
 * little), less the action's cost. Proposals only: the account's coordinator (orchestration.ts)
 * screens them with governance's own checks and merges every agent's into one plan.
 * Deterministic: the clock comes in as `now`, so any decision can be replayed from its inputs.
 */
import type { ObservedAccount, OutcomeModel, RecentTouch } from './memory.ts';
import { ACTION_CATALOG, roleLabel } from './catalog.ts';
import type { Campaign, Charter } from './config.ts';
import {
  ActionType,
  CommitteeRole,
  stageRank,
  type AccountState,
  type Action,
  type Plan,
  type Seniority,
  type Stakeholder,
  type SubGoal,
  type SubGoalKind,
} from './model.ts';
import { armOf } from './observe.ts';
import { stableId } from './random.ts';

/** Everything one planning turn for one account needs; nothing else is read. */
export interface PlannerInput {
  observed: ObservedAccount;
  charter: Charter;
  campaign: Campaign;
  model: OutcomeModel;
  runId: string;
  /** The run's clock (ISO). */
  now: string;
  seed: string;
}

/** Value of achieving each kind of sub-goal, the scale expected value is measured in. */
export const SUBGOAL_VALUE: Readonly<Record<SubGoalKind, number>> = {
  hand_off: 5,
  answer_objection: 3,
  cover_role: 3,
  accelerate: 2,
  educate_role: 1,
};

/** Days within which the same action type is not repeated to the same stakeholder. */
export const REPEAT_WINDOW_DAYS = 21;

/** Days within which an action a human rejected, or a tool refused, is not proposed again to the same person. */
export const REJECTION_WINDOW_DAYS = 28;

/** Roles worth covering when the campaign names no coverage for a stage: without them deals stall. */
const KEY_ROLES: readonly CommitteeRole[] = ['economic_buyer', 'champion', 'technical_evaluator'];

/** Consensus an account needs before it is handed to sales. */
const HANDOFF_CONSENSUS = 0.6;

/** How many posterior standard deviations take confidence from 1 (uniform prior gives ~0.42). */
const CONFIDENCE_SD_WEIGHT = 2;

/** Posterior standard deviations added to the mean: optimism for arms the agent knows little. */
const EXPLORATION_SD = 1;

/** Dollars that weigh as much as one unit of sub-goal value (an executive briefing at $150 costs 0.75). */
export const USD_PER_VALUE_UNIT = 200;

/** How much fresh signals raise an account's (or a person's) priority. */
const SIGNAL_PRIORITY = { intent_surge: 0.3, web_visit: 0.15, personEngaged: 0.25 } as const;

/** Memory kinds that do not mean the stakeholder received the action. */
const NOT_DELIVERED: ReadonlySet<string> = new Set(['action_blocked', 'action_rejected', 'action_failed', 'outcome']);
/** Memory kinds that mean "not this again, not now". */
const REFUSED: ReadonlySet<string> = new Set(['action_rejected', 'action_failed']);

const CONSENT_RANK: Record<Stakeholder['consent'], number> = { opted_in: 0, unknown: 1, opted_out: 2 };
const SENIORITY_RANK: Record<Seniority, number> = { c_level: 0, vp: 1, director: 2, manager: 3, individual: 4 };

const DAY_MS = 24 * 60 * 60 * 1000;

const plural = (role: CommitteeRole): string => `${roleLabel(role)}s`;

const round6 = (x: number): number => Math.round(x * 1e6) / 1e6;

/** True when the charter works with this role (an empty focus means every role). */
const inFocus = (charter: Charter, role: CommitteeRole): boolean =>
  charter.goal.roles.length === 0 || charter.goal.roles.includes(role);

/** True when a person can be reached at all: not opted out, not do-not-contact. */
export const reachable = (s: Stakeholder): boolean => s.consent !== 'opted_out' && !s.doNotContact;

/**
 * The stakeholder of a role to address: reachable first (consented before unknown), then most
 * senior. Nobody reachable: the role's people cannot be addressed, and no action is proposed.
 */
export function bestStakeholder(stakeholders: readonly Stakeholder[], role: CommitteeRole): Stakeholder | undefined {
  return stakeholders
    .filter((s) => s.role === role && reachable(s))
    .sort(
      (a, b) =>
        CONSENT_RANK[a.consent] - CONSENT_RANK[b.consent] ||
        SENIORITY_RANK[a.seniority] - SENIORITY_RANK[b.seniority] ||
        (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
    )[0];
}

/** The roles the campaign wants engaged at this stage (its coverage targets, else the key roles). */
export function coverageOf(campaign: Campaign, stage: AccountState['stage']): readonly CommitteeRole[] {
  const targets = (campaign.orchestration.coverage as Partial<Record<string, CommitteeRole[]>>)[stage];
  return targets ?? KEY_ROLES;
}

/** Ordered sub-goals for one account toward the campaign's target stage; empty when there is nothing to do. */
export function decomposeGoal(state: AccountState, stakeholders: readonly Stakeholder[], charter: Charter, campaign: Campaign): SubGoal[] {
  const rank = stageRank(state.stage);
  if (rank < 0 || rank >= stageRank(campaign.goal.toStage)) return [];
  if (charter.goal.roles.length > 0 && !stakeholders.some((s) => inFocus(charter, s.role))) return [];

  const goals: SubGoal[] = [];
  const engaged = (role: CommitteeRole): boolean => state.engagedRoles.includes(role);
  if (rank >= stageRank('evaluating') && state.consensus >= HANDOFF_CONSENSUS && engaged('champion')) {
    goals.push({
      kind: 'hand_off',
      why: `${state.name} is ${state.stage} with consensus ${state.consensus.toFixed(2)} and an engaged champion.`,
    });
  }
  for (const objection of state.objections) {
    goals.push({ kind: 'answer_objection', objection, why: `Objection "${objection}" is open at ${state.name}.` });
  }
  for (const role of coverageOf(campaign, state.stage)) {
    if (inFocus(charter, role) && !engaged(role) && stakeholders.some((s) => s.role === role)) {
      goals.push({ kind: 'cover_role', role, why: `No ${roleLabel(role)} has engaged yet at ${state.name} (${state.stage}), though one is known.` });
    }
  }
  for (const role of CommitteeRole.options) {
    if (inFocus(charter, role) && engaged(role)) {
      goals.push({ kind: 'educate_role', role, why: `The ${roleLabel(role)} at ${state.name} is engaged; keep educating them.` });
    }
  }
  if (rank >= stageRank('solution_aware')) {
    goals.push({ kind: 'accelerate', why: `${state.name} is ${state.stage}; shorten the path to a decision.` });
  }
  return goals;
}

/** One scored proposal of an agent, before the coordinator screens and selects. */
export interface Proposal {
  readonly action: Action;
  /** What the agent expects of it, net of cost: the score the coordinator selects by. */
  readonly score: number;
  readonly goalIndex: number;
  readonly role: CommitteeRole;
}

/** An agent's proposals for one account: its sub-goals and every scored candidate, best first. */
export interface Proposals {
  readonly accountId: string;
  readonly agentId: string;
  readonly subGoals: SubGoal[];
  readonly proposals: Proposal[];
}

function touchedWithin(recent: readonly RecentTouch[], kinds: (kind: string) => boolean, type: ActionType, stakeholderId: string, nowMs: number, days: number): boolean {
  const since = nowMs - days * DAY_MS;
  return recent.some((t) => {
    const at = Date.parse(t.at);
    return kinds(t.kind) && t.actionType === type && t.stakeholderIds.includes(stakeholderId) && at > since && at <= nowMs;
  });
}

/** The account's priority from fresh signals: intent and research raise it. */
function accountPriority(observed: ObservedAccount): { factor: number; why: string[] } {
  const kinds = new Set(observed.newSignals.map((s) => s.kind));
  let factor = 1;
  const why: string[] = [];
  if (kinds.has('intent_surge')) {
    factor += SIGNAL_PRIORITY.intent_surge;
    why.push('an intent surge');
  }
  if (kinds.has('web_visit')) {
    factor += SIGNAL_PRIORITY.web_visit;
    why.push('web visits');
  }
  return { factor, why };
}

/** People who just engaged (replied, read content, booked a meeting): following up with them pays. */
function freshlyEngaged(observed: ObservedAccount): ReadonlySet<string> {
  const ids = new Set<string>();
  for (const s of observed.newSignals) {
    if (s.stakeholderId !== undefined && (s.kind === 'reply' || s.kind === 'content_consumed' || s.kind === 'meeting_booked')) ids.add(s.stakeholderId);
  }
  return ids;
}

function rationale(goal: SubGoal, type: ActionType, role: CommitteeRole, s: Stakeholder, state: AccountState, trials: number, successes: number, signals: readonly string[]): string {
  const label = roleLabel(role);
  const evidence =
    trials > 0
      ? `${type} has worked ${successes} of ${trials} times with ${plural(role)} for this agent`
      : `${type} has not been tried with ${plural(role)} by this agent yet`;
  const because = signals.length > 0 ? `; prioritised for ${signals.join(' and ')}` : '';
  switch (goal.kind) {
    case 'hand_off':
      return `Hand ${state.name} off to sales through the ${label} ${s.name}: stage ${state.stage}, consensus ${state.consensus.toFixed(2)}, champion engaged; ${evidence}${because}.`;
    case 'answer_objection':
      return `Answer the open objection "${goal.objection ?? 'unspecified'}" at ${state.name} with the ${label} ${s.name}; ${evidence}${because}.`;
    case 'cover_role':
      return `Cover the missing ${label}: no ${role} engaged yet at ${state.name}, so reach ${s.name}; ${evidence}${because}.`;
    case 'educate_role':
      return `Educate the engaged ${label} ${s.name} at ${state.name}; ${evidence}${because}.`;
    case 'accelerate':
      return `Accelerate ${state.name} past ${state.stage} through the ${label} ${s.name}; ${evidence}${because}.`;
  }
}

/**
 * Every action this agent would consider for the account, scored, best first. Nothing is proposed
 * to someone who cannot be reached, again within the repeat window, or again after a human
 * rejected it (or its tool refused it) within the rejection window.
 */
export function proposeActions(input: PlannerInput): Proposals {
  const { observed, charter, campaign, model, runId } = input;
  const { state, stakeholders } = observed;
  const agentId = charter.id;
  if (charter.status === 'paused') return { accountId: state.id, agentId, subGoals: [], proposals: [] };

  const subGoals = decomposeGoal(state, stakeholders, charter, campaign);
  const nowMs = Date.parse(input.now);
  const priority = accountPriority(observed);
  const engagedNow = freshlyEngaged(observed);
  const byKey = new Map<string, Proposal>();

  subGoals.forEach((goal, goalIndex) => {
    const roles = goal.role ? [goal.role] : CommitteeRole.options.filter((r) => inFocus(charter, r));
    for (const type of ActionType.options) {
      const spec = ACTION_CATALOG[type];
      if (!charter.allowedActions.includes(type) || !charter.allowedTools.includes(spec.tool)) continue;
      if (!spec.subGoals.includes(goal.kind)) continue;
      for (const role of roles) {
        if (!spec.suits.includes(role)) continue;
        const stakeholder = bestStakeholder(stakeholders, role);
        if (!stakeholder) continue;
        if (touchedWithin(observed.recent, (k) => !NOT_DELIVERED.has(k), type, stakeholder.id, nowMs, REPEAT_WINDOW_DAYS)) continue;
        if (touchedWithin(observed.recent, (k) => REFUSED.has(k), type, stakeholder.id, nowMs, REJECTION_WINDOW_DAYS)) continue;

        const arm = armOf(type, role);
        const stats = model.arms[arm];
        // Stored counters are untrusted numbers: keep 0 <= successes <= trials so the Beta is valid.
        const trials = Math.max(0, Math.floor(stats?.trials ?? 0));
        const successes = Math.min(trials, Math.max(0, Math.floor(stats?.successes ?? 0)));
        const a = 1 + successes;
        const b = 1 + trials - successes;
        const mean = a / (a + b);
        const sd = Math.sqrt((a * b) / ((a + b) ** 2 * (a + b + 1)));
        const personal = engagedNow.has(stakeholder.id) ? 1 + SIGNAL_PRIORITY.personEngaged : 1;
        const value = SUBGOAL_VALUE[goal.kind] * priority.factor * personal;
        const score = round6(value * Math.min(1, mean + EXPLORATION_SD * sd) - spec.costUsd / USD_PER_VALUE_UNIT);
        const key = `${type}|${stakeholder.id}`;
        const prior = byKey.get(key);
        // One proposal per type and person: the sub-goal it serves best.
        if (prior !== undefined && prior.score >= score) continue;
        const signals = [...priority.why, ...(engagedNow.has(stakeholder.id) ? [`${stakeholder.name}'s fresh engagement`] : [])];
        const topic = goal.kind === 'answer_objection' && goal.objection ? `Objection: ${goal.objection}` : spec.topic(role);
        const subject = spec.subject?.(role, state.name);
        byKey.set(key, {
          goalIndex,
          role,
          score,
          action: {
            id: stableId(runId, state.id, agentId, type, stakeholder.id),
            runId,
            accountId: state.id,
            agentId,
            type,
            tool: spec.tool,
            channel: spec.channel,
            stakeholderIds: [stakeholder.id],
            content: subject === undefined ? { topic } : { topic, subject },
            costUsd: spec.costUsd,
            rationale: rationale(goal, type, role, stakeholder, state, trials, successes, signals),
            expectedValue: round6(value * mean),
            confidence: round6(Math.min(1, Math.max(0, 1 - CONFIDENCE_SD_WEIGHT * sd))),
            subGoal: goal.kind,
          },
        });
      }
    }
  });

  const typeOrder = (t: ActionType): number => ActionType.options.indexOf(t);
  const proposals = [...byKey.values()].sort(
    (x, y) =>
      y.score - x.score ||
      x.goalIndex - y.goalIndex ||
      typeOrder(x.action.type) - typeOrder(y.action.type) ||
      ((x.action.stakeholderIds[0] ?? '') < (y.action.stakeholderIds[0] ?? '') ? -1 : (x.action.stakeholderIds[0] ?? '') > (y.action.stakeholderIds[0] ?? '') ? 1 : 0),
  );
  return { accountId: state.id, agentId, subGoals, proposals };
}

/**
 * One agent's plan for one account on its own (no coordinator, no screening): the best proposals
 * with positive score, one per person, at most actionsPerAccountPerRun.
 */
export function planAccount(input: PlannerInput): Plan {
  const { accountId, agentId, subGoals, proposals } = proposeActions(input);
  const used = new Set<string>();
  const actions: Action[] = [];
  for (const p of proposals) {
    if (actions.length >= input.charter.budgets.actionsPerAccountPerRun || p.score <= 0) break;
    const who = p.action.stakeholderIds[0] ?? '';
    if (used.has(who)) continue;
    used.add(who);
    actions.push(p.action);
  }
  return { accountId, agentId, subGoals, actions };
}
