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
import { EMAIL_ACTION_TYPES, pickTemplate, type ContentChoice, type ContentLibrary } from './content.ts';
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
import { renderProspectEmail } from './prospect-email.ts';
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
  /** The campaign's content library: an email action is worded from the template that fits it best. */
  content?: ContentLibrary;
}

/** Value of achieving each kind of sub-goal, the scale expected value is measured in. */
export const SUBGOAL_VALUE: Readonly<Record<SubGoalKind, number>> = {
  hand_off: 5,
  answer_objection: 3,
  de_risk: 3,
  cover_role: 3,
  accelerate: 2,
  educate_role: 1,
};

/** Days within which the same action type is not repeated to the same stakeholder. */
export const REPEAT_WINDOW_DAYS = 7;

/**
 * Days within which generic content (the same for every reader: a newsletter) is not sent again to
 * someone whose role has not engaged: repeated generic mail is what wears people down into
 * unsubscribing, and newsletters go out every few weeks, not weekly.
 */
export const GENERIC_REPEAT_DAYS = 21;

/** Days within which an action a human rejected, or a tool refused, is not proposed again to the same person. */
export const REJECTION_WINDOW_DAYS = 28;

/**
 * Days a de-risking move (a reference call, an answered objection) keeps a deal de-risked in the
 * planner's eyes; after that, or before any, a deal near its decision gets a de_risk sub-goal.
 */
export const DE_RISK_WINDOW_DAYS = 28;

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

/** Touches within the memory window after which a person whose role has not engaged is rested. */
export const REST_AFTER_TOUCHES = 3;
/** The window of REST_AFTER_TOUCHES, in days. */
export const REST_WINDOW_DAYS = 28;

/** How much fresh signals raise an account's (or a person's) priority. */
const SIGNAL_PRIORITY = { personEngaged: 0.25 } as const;

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
export function decomposeGoal(
  state: AccountState,
  stakeholders: readonly Stakeholder[],
  charter: Charter,
  campaign: Campaign,
  /** Whether a de-risking move reached the account within DE_RISK_WINDOW_DAYS. */
  deRisked = false,
): SubGoal[] {
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
  // Most deals that reach a decision end in none (JOLT: 40-60%), and only de-risking moves lower
  // indecision: a deal past solution_aware gets one unless a recent one reached it.
  if (rank >= stageRank('solution_aware') && !deRisked) {
    goals.push({ kind: 'de_risk', why: `${state.name} is ${state.stage} and no de-risking move reached it in the last ${DE_RISK_WINDOW_DAYS} days; deals this far mostly end in no decision unless deciding is made safe.` });
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

/** Placeholder of a proposal's id and rationale until it is chosen (Proposal.id and .rationale write them). */
const PENDING = '(proposed)';

/** One scored proposal of an agent, before the coordinator screens and selects. */
export interface Proposal {
  readonly action: Action;
  /** What the agent expects of it, net of cost: the score the coordinator selects by. */
  readonly score: number;
  readonly goalIndex: number;
  readonly role: CommitteeRole;
  /** The action's rationale, written out only for the proposals that are chosen. */
  readonly rationale: () => string;
  /** The action's id (a hash), computed only for the proposals that are chosen. */
  readonly id: () => string;
}

/** An agent's proposals for one account: its sub-goals and every scored candidate, best first. */
export interface Proposals {
  readonly accountId: string;
  readonly agentId: string;
  readonly subGoals: SubGoal[];
  readonly proposals: Proposal[];
}

/** What memory says about the people of an account, read once per planning turn. */
interface MemoryIndex {
  /** Latest delivery and latest refusal (rejected, failed) per `type|person`, in ms. */
  readonly delivered: ReadonlyMap<string, number>;
  readonly refused: ReadonlyMap<string, number>;
  /** Deliveries per person within REST_WINDOW_DAYS. */
  readonly recentTouches: ReadonlyMap<string, number>;
}

function indexMemory(recent: readonly RecentTouch[], nowMs: number): MemoryIndex {
  const delivered = new Map<string, number>();
  const refused = new Map<string, number>();
  const recentTouches = new Map<string, number>();
  const restSince = nowMs - REST_WINDOW_DAYS * DAY_MS;
  for (const t of recent) {
    const at = Date.parse(t.at);
    if (!(at <= nowMs)) continue;
    const into = REFUSED.has(t.kind) ? refused : NOT_DELIVERED.has(t.kind) ? undefined : delivered;
    for (const id of t.stakeholderIds) {
      if (into !== undefined && t.actionType !== undefined) {
        const key = `${t.actionType}|${id}`;
        if (at > (into.get(key) ?? -Infinity)) into.set(key, at);
      }
      if (t.kind === 'action_executed' && at > restSince) recentTouches.set(id, (recentTouches.get(id) ?? 0) + 1);
    }
  }
  return { delivered, refused, recentTouches };
}

/** True when the charter allows a non-generic action type that serves `kind` for `role`. */
const hasRoleSpecific = (charter: Charter, kind: SubGoalKind, role: CommitteeRole): boolean =>
  ActionType.options.some((t) => {
    const spec = ACTION_CATALOG[t];
    return !spec.generic && charter.allowedActions.includes(t) && charter.allowedTools.includes(spec.tool) && spec.subGoals.includes(kind) && spec.suits.includes(role);
  });

/** True when a de-risking action (catalog `deRisking`) reached the account within `days`. */
const deRiskedWithin = (recent: readonly RecentTouch[], nowMs: number, days: number): boolean =>
  recent.some((t) => {
    const at = Date.parse(t.at);
    return t.kind === 'action_executed' && t.actionType !== undefined && (ACTION_CATALOG as Readonly<Record<string, { deRisking: boolean } | undefined>>)[t.actionType]?.deRisking === true && at <= nowMs && at > nowMs - days * DAY_MS;
  });

/** True when `type` reached (or was refused for) the person within `days`. */
const within = (index: ReadonlyMap<string, number>, type: ActionType, stakeholderId: string, nowMs: number, days: number): boolean =>
  (index.get(`${type}|${stakeholderId}`) ?? -Infinity) > nowMs - days * DAY_MS;

/** Days a sign of research (intent surge, web visit) keeps an account warm. */
export const WARM_DAYS = 28;

/**
 * The account's priority: research (an intent surge or web visit within WARM_DAYS, fresher is
 * warmer), engagement already under way, or a later stage raise it; a cold account (none of these)
 * gets a fraction of the effort, since touches there rarely move anything.
 */
export function accountPriority(observed: ObservedAccount, nowMs: number): { factor: number; why: string[] } {
  const { state } = observed;
  const why: string[] = [];
  const kinds = new Set(observed.newSignals.map((s) => s.kind));
  const intentAt = state.lastIntentAt === null || state.lastIntentAt === undefined ? Number.NaN : Date.parse(state.lastIntentAt);
  const intentAge = Number.isNaN(intentAt) ? Infinity : (nowMs - intentAt) / DAY_MS;
  let factor = WARMTH.cold;
  if (intentAge <= WARM_DAYS) {
    factor += WARMTH.intent * (1 - intentAge / (2 * WARM_DAYS));
    why.push(kinds.has('intent_surge') ? 'an intent surge' : kinds.has('web_visit') ? 'web visits' : 'recent research');
  }
  if (state.engagedRoles.length > 0) {
    factor += WARMTH.engaged;
    if (why.length === 0) why.push('engagement under way');
  }
  if (stageRank(state.stage) >= stageRank('solution_aware')) factor += WARMTH.lateStage;
  return { factor: Math.min(factor, WARMTH.max), why };
}

/** Priority weights: a cold account, and what research, engagement and a later stage add. */
const WARMTH = { cold: 0.35, intent: 1, engaged: 0.4, lateStage: 0.4, max: 1.8 } as const;

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
    case 'de_risk':
      return `De-risk the decision at ${state.name} (${state.stage}) through the ${label} ${s.name}; ${evidence}${because}.`;
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

  const nowMs = Date.parse(input.now);
  const subGoals = decomposeGoal(state, stakeholders, charter, campaign, deRiskedWithin(observed.recent, nowMs, DE_RISK_WINDOW_DAYS));
  const priority = accountPriority(observed, nowMs);
  const engagedNow = freshlyEngaged(observed);
  const memory = indexMemory(observed.recent, nowMs);
  const byKey = new Map<string, Proposal>();

  subGoals.forEach((goal, goalIndex) => {
    const roles = goal.role ? [goal.role] : CommitteeRole.options.filter((r) => inFocus(charter, r));
    for (const type of ActionType.options) {
      const spec = ACTION_CATALOG[type];
      if (!charter.allowedActions.includes(type) || !charter.allowedTools.includes(spec.tool)) continue;
      if (!spec.subGoals.includes(goal.kind)) continue;
      for (const role of roles) {
        if (!spec.suits.includes(role)) continue;
        // Generic content (a newsletter) only covers a role the agent has nothing written for.
        if (spec.generic && goal.kind === 'cover_role' && hasRoleSpecific(charter, goal.kind, role)) continue;
        const stakeholder = bestStakeholder(stakeholders, role);
        if (!stakeholder) continue;
        const repeatDays = spec.generic && !state.engagedRoles.includes(role) ? GENERIC_REPEAT_DAYS : REPEAT_WINDOW_DAYS;
        if (within(memory.delivered, type, stakeholder.id, nowMs, repeatDays)) continue;
        if (within(memory.refused, type, stakeholder.id, nowMs, REJECTION_WINDOW_DAYS)) continue;
        // Someone reached again and again whose role never engaged is rested for a while.
        if (spec.channel !== 'ads' && !state.engagedRoles.includes(role) && (memory.recentTouches.get(stakeholder.id) ?? 0) >= REST_AFTER_TOUCHES) continue;

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
        const signals = engagedNow.has(stakeholder.id) ? [...priority.why, `${stakeholder.name}'s fresh engagement`] : priority.why;
        const topic = goal.kind === 'answer_objection' && goal.objection ? `Objection: ${goal.objection}` : spec.topic(role);
        const worded = wording(input.content, type, stakeholder, state, goal);
        if (worded === undefined) continue;
        const subject = worded.subject ?? spec.subject?.(role, state.name);
        byKey.set(key, {
          goalIndex,
          role,
          score,
          rationale: () => rationale(goal, type, role, stakeholder, state, trials, successes, signals),
          id: () => stableId(runId, state.id, agentId, type, stakeholder.id),
          action: {
            id: PENDING,
            runId,
            accountId: state.id,
            agentId,
            type,
            tool: spec.tool,
            channel: spec.channel,
            stakeholderIds: [stakeholder.id],
            content: { topic, ...(subject === undefined ? {} : { subject }), ...(worded.template === undefined ? {} : { template: worded.template }) },
            costUsd: spec.costUsd,
            rationale: PENDING,
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
/**
 * How an email action is worded: the library template that fits it (its subject rendered for the
 * person), the built-in copy (no library, or none fits and the library falls back to it), or
 * undefined — the library fits nothing and allows no fallback, so the action is not proposed.
 */
function wording(
  library: ContentLibrary | undefined,
  type: ActionType,
  person: Stakeholder,
  state: AccountState,
  goal: SubGoal,
): { subject?: string; template?: ContentChoice } | undefined {
  if (library === undefined || !EMAIL_ACTION_TYPES.includes(type)) return {};
  const choice = pickTemplate(library, { type, role: person.role, stage: state.stage, ...(goal.objection === undefined ? {} : { topic: goal.objection }) });
  if (choice === undefined) return library.fallback === 'builtin' ? {} : undefined;
  const rendered = renderProspectEmail({ type, content: { topic: '', template: choice } }, person, state.name, library);
  return 'refused' in rendered ? undefined : { subject: rendered.subject, template: choice };
}

export function planAccount(input: PlannerInput): Plan {
  const { accountId, agentId, subGoals, proposals } = proposeActions(input);
  const used = new Set<string>();
  const actions: Action[] = [];
  for (const p of proposals) {
    if (actions.length >= input.charter.budgets.actionsPerAccountPerRun || p.score <= 0) break;
    const who = p.action.stakeholderIds[0] ?? '';
    if (used.has(who)) continue;
    used.add(who);
    actions.push({ ...p.action, id: p.id(), rationale: p.rationale() });
  }
  return { accountId, agentId, subGoals, actions };
}
