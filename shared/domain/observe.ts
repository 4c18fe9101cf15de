/**
 * Observe, the pure part: fold new pipeline signals into the account state and the committee, and
 * credit the outcomes of executed actions to the arms that chose them (what the planner learns from).
 */
import {
  isProgression,
  stageRank,
  type AccountState,
  type ActionType,
  type CommitteeRole,
  type PipelineSignal,
  type SignalKind,
  type Stakeholder,
} from './model.ts';

/** The learning arm of an action type aimed at a role: `"<actionType>:<role>"`. */
export function armOf(actionType: ActionType, role: CommitteeRole): string {
  return `${actionType}:${role}`;
}

/** An action executed earlier, whose outcomes this observation may credit. */
export interface ExecutedAction {
  actionId: string;
  agentId: string;
  arm: string;
}

/** Trials and successes per arm, per agent (the deltas MemoryRepository.addOutcomes takes). */
export type Credits = Record<string, Record<string, { trials: number; successes: number }>>;

/** Input of foldSignals. */
export interface FoldInput {
  state: AccountState;
  stakeholders: Stakeholder[];
  signals: PipelineSignal[];
  /** Actions executed since the last observation, each passed once: each is one trial. */
  executed: ExecutedAction[];
  /** The run's clock: signals after it are left for a later run. */
  now: string;
  /**
   * The outcomes that credit an action (the guardrails' pipelineQuality.credits): signal kinds, and
   * `stage_advance` for a forward stage change. @default every pipeline outcome
   */
  credits?: readonly string[];
}

/** Output of foldSignals. */
export interface FoldResult {
  state: AccountState;
  stakeholders: Stakeholder[];
  /** Stakeholders whose record changed (e.g. consent after an unsubscribe), to write back. */
  changedStakeholders: Stakeholder[];
  credits: Credits;
  stageAdvanced: boolean;
}

/** Roles whose engagement makes up the consensus estimate. */
export const CONSENSUS_ROLES: readonly CommitteeRole[] = ['economic_buyer', 'champion', 'technical_evaluator', 'blocker', 'end_user'];

/** Signals that show a stakeholder engaged meaningfully (opens and clicks never do). */
const ENGAGEMENT: ReadonlySet<SignalKind> = new Set(['reply', 'meeting_booked', 'meeting_accepted', 'content_consumed']);

/** What credits an action when the guardrails do not say: every pipeline outcome, never an open or a click. */
const DEFAULT_CREDITS: readonly string[] = ['stage_advance', 'meeting_accepted', 'meeting_booked', 'reply', 'content_consumed', 'objection_resolved'];

/** The consensus estimate: share of key roles engaged, less 0.1 per open objection, in [0, 1]. */
export function consensusOf(engagedRoles: readonly CommitteeRole[], openObjections: number): number {
  const engaged = CONSENSUS_ROLES.filter((r) => engagedRoles.includes(r)).length;
  const raw = engaged / CONSENSUS_ROLES.length - 0.1 * openObjections;
  // Round away float noise (0.6000000000000001) so thresholds like ">= 0.6" behave as people expect.
  return Math.min(1, Math.max(0, Math.round(raw * 1e9) / 1e9));
}

/**
 * What a signal about a stakeholder does to whether they may be contacted: an unsubscribe opts
 * them out; a complaint (they marked an email as spam) opts them out and marks them
 * do-not-contact; a hard bounce (the address does not exist) marks them do-not-contact, leaving
 * consent as it was (a dead address says nothing about what the person wants). The changed
 * record, or undefined when the signal changes nothing (other kinds, or already so). One rule for
 * Observe's fold and for the ingestion that suppresses at once.
 */
export function suppressedBy(stakeholder: Stakeholder, kind: SignalKind): Stakeholder | undefined {
  const consent = kind === 'unsubscribe' || kind === 'complaint' ? 'opted_out' : stakeholder.consent;
  const doNotContact = kind === 'bounce' || kind === 'complaint' ? true : stakeholder.doNotContact;
  return consent === stakeholder.consent && doNotContact === stakeholder.doNotContact ? undefined : { ...stakeholder, consent, doNotContact };
}

/** Folds signals newer than state.observedUntil into the state, committee and arm credits; version is left to the repository. */
export function foldSignals(input: FoldInput): FoldResult {
  const { state } = input;
  const sinceMs = state.observedUntil === null ? -Infinity : Date.parse(state.observedUntil);
  const nowMs = Date.parse(input.now);
  // Signals after the run's clock wait for a later run, so replaying a run at the same `now` folds
  // the same signals. Oldest first (ties by id) so stage changes and objections apply in order.
  const signals = input.signals
    .filter((s) => s.accountId === state.id && Date.parse(s.at) > sinceMs && Date.parse(s.at) <= nowMs)
    .map((s) => ({ s, ms: Date.parse(s.at) }))
    .sort((a, b) => a.ms - b.ms || (a.s.id < b.s.id ? -1 : a.s.id > b.s.id ? 1 : 0));

  const byId = new Map(input.stakeholders.map((s) => [s.id, s]));
  const changed = new Map<string, Stakeholder>();
  const executed = new Map(input.executed.map((e) => [e.actionId, e]));
  const succeeded = new Set<string>();
  const credited = new Set(input.credits ?? DEFAULT_CREDITS);

  let stage = state.stage;
  const engaged = [...state.engagedRoles];
  const objections = [...state.objections];
  let lastMeaningful = state.lastMeaningfulInteraction;
  let lastMeaningfulMs = lastMeaningful === null ? -Infinity : Date.parse(lastMeaningful);
  let observedUntil = state.observedUntil;
  let lastIntentAt = state.lastIntentAt ?? null;

  for (const { s, ms } of signals) {
    const stageBefore = stage;
    const stakeholder = s.stakeholderId === undefined ? undefined : (changed.get(s.stakeholderId) ?? byId.get(s.stakeholderId));

    if (s.kind === 'crm_stage_change' && s.stage !== undefined) stage = s.stage;
    if (ENGAGEMENT.has(s.kind) && stakeholder) {
      if (!engaged.includes(stakeholder.role)) engaged.push(stakeholder.role);
      if (ms > lastMeaningfulMs) {
        lastMeaningful = s.at;
        lastMeaningfulMs = ms;
      }
    }
    if ((s.kind === 'intent_surge' || s.kind === 'web_visit') && (lastIntentAt === null || ms > Date.parse(lastIntentAt))) lastIntentAt = s.at;
    const after = stakeholder === undefined ? undefined : suppressedBy(stakeholder, s.kind);
    if (stakeholder !== undefined && after !== undefined) changed.set(stakeholder.id, after);
    if (s.kind === 'objection_raised' && s.topic !== undefined && !objections.includes(s.topic)) objections.push(s.topic);
    if (s.kind === 'objection_resolved' && s.topic !== undefined) {
      const i = objections.indexOf(s.topic);
      if (i >= 0) objections.splice(i, 1);
    }

    const forward = s.kind === 'crm_stage_change' && s.stage !== undefined && isProgression(stageBefore, s.stage);
    const success = forward ? credited.has('stage_advance') : s.kind !== 'crm_stage_change' && credited.has(s.kind);
    if (s.causedBy !== undefined && executed.has(s.causedBy) && success) succeeded.add(s.causedBy);
    observedUntil = s.at; // signals are sorted, so the last one folded is the latest
  }

  const credits: Credits = {};
  // Keyed by action id above, so an action listed twice is still one trial.
  for (const e of executed.values()) {
    const arms = (credits[e.agentId] ??= {});
    const arm = (arms[e.arm] ??= { trials: 0, successes: 0 });
    arm.trials += 1;
    if (succeeded.has(e.actionId)) arm.successes += 1;
  }

  const nextState: AccountState = {
    ...state,
    stage,
    engagedRoles: engaged,
    objections,
    consensus: consensusOf(engaged, objections.length),
    lastMeaningfulInteraction: lastMeaningful,
    ...(lastIntentAt === null ? {} : { lastIntentAt }),
    observedUntil,
  };
  return {
    state: nextState,
    stakeholders: input.stakeholders.map((s) => changed.get(s.id) ?? s),
    changedStakeholders: [...changed.values()],
    credits,
    stageAdvanced: stageRank(stage) > stageRank(state.stage),
  };
}
