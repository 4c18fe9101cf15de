/**
 * The agent: decompose the campaign goal into per-account sub-goals, propose catalog actions for
 * them, score each by sub-goal value times a Thompson sample of the arm's success rate, and keep
 * the best few. Deterministic: the sample is keyed by (seed, run, account, agent, arm) and the
 * clock comes in as `now`, so any decision can be replayed from its inputs.
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
import { betaSample, stableId } from './random.ts';

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

/** Roles worth covering first: without them deals stall. */
const KEY_ROLES: readonly CommitteeRole[] = ['economic_buyer', 'champion', 'technical_evaluator'];

/** Consensus an account needs before it is handed to sales. */
const HANDOFF_CONSENSUS = 0.6;

/** How many posterior standard deviations take confidence from 1 (uniform prior gives ~0.42). */
const CONFIDENCE_SD_WEIGHT = 2;

/** Memory kinds that do not mean the stakeholder received (or was refused) the action. */
const NOT_DELIVERED: ReadonlySet<string> = new Set(['action_blocked', 'outcome']);

const CONSENT_RANK: Record<Stakeholder['consent'], number> = { opted_in: 0, unknown: 1, opted_out: 2 };
const SENIORITY_RANK: Record<Seniority, number> = { c_level: 0, vp: 1, director: 2, manager: 3, individual: 4 };

const DAY_MS = 24 * 60 * 60 * 1000;

const plural = (role: CommitteeRole): string => `${roleLabel(role)}s`;

const round6 = (x: number): number => Math.round(x * 1e6) / 1e6;

/** True when the charter works with this role (an empty focus means every role). */
const inFocus = (charter: Charter, role: CommitteeRole): boolean =>
  charter.goal.roles.length === 0 || charter.goal.roles.includes(role);

/**
 * The stakeholder of a role to address: consented first, then not do-not-contact, then most senior.
 * Opted-out people are still eligible when nobody better exists: blocking them is governance's job,
 * and its verdict is what the audit trail should show.
 */
export function bestStakeholder(stakeholders: readonly Stakeholder[], role: CommitteeRole): Stakeholder | undefined {
  return stakeholders
    .filter((s) => s.role === role)
    .sort(
      (a, b) =>
        CONSENT_RANK[a.consent] - CONSENT_RANK[b.consent] ||
        Number(a.doNotContact) - Number(b.doNotContact) ||
        SENIORITY_RANK[a.seniority] - SENIORITY_RANK[b.seniority] ||
        (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
    )[0];
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
  for (const role of KEY_ROLES) {
    if (inFocus(charter, role) && !engaged(role) && stakeholders.some((s) => s.role === role)) {
      goals.push({ kind: 'cover_role', role, why: `No ${roleLabel(role)} has engaged yet at ${state.name}, though one is known.` });
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

/** One scored proposal before selection. */
interface Candidate {
  goalIndex: number;
  goal: SubGoal;
  type: ActionType;
  role: CommitteeRole;
  stakeholder: Stakeholder;
  expectedValue: number;
  confidence: number;
  trials: number;
  successes: number;
}

function recentlyDone(recent: readonly RecentTouch[], type: ActionType, stakeholderId: string, nowMs: number): boolean {
  const since = nowMs - REPEAT_WINDOW_DAYS * DAY_MS;
  return recent.some((t) => {
    const at = Date.parse(t.at);
    return !NOT_DELIVERED.has(t.kind) && t.actionType === type && t.stakeholderIds.includes(stakeholderId) && at > since && at <= nowMs;
  });
}

function rationale(c: Candidate, state: AccountState): string {
  const { goal, type, role, stakeholder: s, trials, successes } = c;
  const label = roleLabel(role);
  const evidence =
    trials > 0
      ? `${type} has worked ${successes} of ${trials} times with ${plural(role)} for this agent.`
      : `${type} has not been tried with ${plural(role)} by this agent yet.`;
  switch (goal.kind) {
    case 'hand_off':
      return `Hand ${state.name} off to sales through the ${label} ${s.name}: stage ${state.stage}, consensus ${state.consensus.toFixed(2)}, champion engaged; ${evidence}`;
    case 'answer_objection':
      return `Answer the open objection "${goal.objection ?? 'unspecified'}" at ${state.name} with the ${label} ${s.name}; ${evidence}`;
    case 'cover_role':
      return `Cover the missing ${label}: no ${role} engaged yet at ${state.name}, so reach ${s.name}; ${evidence}`;
    case 'educate_role':
      return `Educate the engaged ${label} ${s.name} at ${state.name}; ${evidence}`;
    case 'accelerate':
      return `Accelerate ${state.name} past ${state.stage} through the ${label} ${s.name}; ${evidence}`;
  }
}

/** The agent's scored plan for one account: at most actionsPerAccountPerRun actions, distinct stakeholders, positive value. */
export function planAccount(input: PlannerInput): Plan {
  const { observed, charter, campaign, model, runId, seed } = input;
  const { state, stakeholders } = observed;
  const agentId = charter.id;
  const empty: Plan = { accountId: state.id, agentId, subGoals: [], actions: [] };
  if (charter.status === 'paused') return empty;

  const subGoals = decomposeGoal(state, stakeholders, charter, campaign);
  const nowMs = Date.parse(input.now);
  const candidates: Candidate[] = [];

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

        const arm = armOf(type, role);
        const stats = model.arms[arm];
        // Stored counters are untrusted numbers: keep 0 <= successes <= trials so the Beta is valid.
        const trials = Math.max(0, Math.floor(stats?.trials ?? 0));
        const successes = Math.min(trials, Math.max(0, Math.floor(stats?.successes ?? 0)));
        const a = 1 + successes;
        const b = 1 + trials - successes;
        const p = betaSample(a, b, seed, runId, state.id, agentId, arm);
        const sd = Math.sqrt((a * b) / ((a + b) ** 2 * (a + b + 1)));
        const repeated = recentlyDone(observed.recent, type, stakeholder.id, nowMs);
        candidates.push({
          goalIndex,
          goal,
          type,
          role,
          stakeholder,
          expectedValue: repeated ? 0 : round6(SUBGOAL_VALUE[goal.kind] * p),
          confidence: round6(Math.min(1, Math.max(0, 1 - CONFIDENCE_SD_WEIGHT * sd))),
          trials,
          successes,
        });
      }
    }
  });

  const typeOrder = (t: ActionType): number => ActionType.options.indexOf(t);
  candidates.sort(
    (x, y) =>
      y.expectedValue - x.expectedValue ||
      x.goalIndex - y.goalIndex ||
      typeOrder(x.type) - typeOrder(y.type) ||
      (x.stakeholder.id < y.stakeholder.id ? -1 : x.stakeholder.id > y.stakeholder.id ? 1 : 0),
  );

  const chosen: Candidate[] = [];
  const used = new Set<string>();
  for (const c of candidates) {
    if (chosen.length >= charter.budgets.actionsPerAccountPerRun || c.expectedValue <= 0) break;
    if (used.has(c.stakeholder.id)) continue;
    used.add(c.stakeholder.id);
    chosen.push(c);
  }

  const actions: Action[] = chosen.map((c) => {
    const spec = ACTION_CATALOG[c.type];
    const topic = c.goal.kind === 'answer_objection' && c.goal.objection ? `Objection: ${c.goal.objection}` : spec.topic(c.role);
    const subject = spec.subject?.(c.role, state.name);
    return {
      id: stableId(runId, state.id, agentId, c.type, c.stakeholder.id),
      runId,
      accountId: state.id,
      agentId,
      type: c.type,
      tool: spec.tool,
      channel: spec.channel,
      stakeholderIds: [c.stakeholder.id],
      content: subject === undefined ? { topic } : { topic, subject },
      costUsd: spec.costUsd,
      rationale: rationale(c, state),
      expectedValue: c.expectedValue,
      confidence: c.confidence,
      subGoal: c.goal.kind,
    };
  });

  return { accountId: state.id, agentId, subGoals, actions };
}
