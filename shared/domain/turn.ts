/**
 * An account's turn in a run, as the audit trail records it: one event per account and page with
 * what was observed and, per agent, the sub-goals, every proposed action, its verdict and the
 * tool's result. One event per account rather than one per action keeps the trail's writes (the
 * largest cost of a run) per account, and the ids the event carries once (run, account, agent,
 * action) are not repeated inside it. `decisionsOfTurn` gives the full actions and verdicts back.
 */
import * as z from 'zod';
import { decisionInputDigest, digestOfInputs, type AccountInputs } from './decision-input.ts';
import { AccountState, Action, FiredRule, PipelineSignal, SubGoal, type Plan, type Verdict } from './model.ts';

/** A verdict inside a turn: its action is the decision's own. */
export const TurnVerdict = z.discriminatedUnion('outcome', [
  z.object({ outcome: z.literal('autonomous') }),
  z.object({ outcome: z.literal('needs_approval'), rules: z.array(FiredRule).min(1), approvers: z.array(z.string()).min(1) }),
  z.object({ outcome: z.literal('blocked'), guardrail: z.string(), reason: z.string(), reservation: z.literal(true).optional() }),
]);
export type TurnVerdict = z.infer<typeof TurnVerdict>;

/** What the tool said about an executed action. */
export const TurnToolResult = z.object({
  ok: z.boolean(),
  externalId: z.string().optional(),
  detail: z.string().optional(),
  /** True when a retried step got the stored result instead of calling the tool again. */
  replayed: z.boolean(),
});
export type TurnToolResult = z.infer<typeof TurnToolResult>;

/** One proposed action with its verdict and, when it ran, the tool's result. */
export const TurnDecision = z.object({
  action: Action.omit({ runId: true, accountId: true, agentId: true }),
  verdict: TurnVerdict.nullable(),
  toolResult: TurnToolResult.nullable(),
});
export type TurnDecision = z.infer<typeof TurnDecision>;

/** One agent's plan for the account. */
export const TurnPlan = z.object({
  agentId: z.string().min(1),
  /** Content hash of the charter the agent planned and was governed under. */
  charterHash: z.string().min(1),
  subGoals: z.array(SubGoal),
  decisions: z.array(TurnDecision),
  /** What the coordinator left out of the agent's proposals, and why. */
  notes: z.array(z.string()).optional(),
});
export type TurnPlan = z.infer<typeof TurnPlan>;

/** The signals folded into the account in this turn, and what they changed. */
export const TurnObservation = z.object({
  signals: z.array(PipelineSignal.pick({ id: true, kind: true, at: true, stakeholderId: true, causedBy: true, stage: true })),
  stageBefore: AccountState.shape.stage,
  stageAfter: AccountState.shape.stage,
  engagedRoles: AccountState.shape.engagedRoles,
  consensus: AccountState.shape.consensus,
});
export type TurnObservation = z.infer<typeof TurnObservation>;

/**
 * What the turn's decisions were made from (shared/domain/decision-input.ts): the digest of the
 * full input (the run's inputs and the account's), and the account's inputs.
 */
export const TurnInputs = z.object({
  /** Digest of the decision's full input: `decisionInputDigest(run inputs digest, account.digest)`. */
  digest: z.string().min(1),
  /** The account's inputs (parsed as AccountInputs when replayed), and their digest. */
  account: z.object({ value: z.unknown(), digest: z.string().min(1) }),
});
export type TurnInputs = z.infer<typeof TurnInputs>;

/** A turn's inputs: the account's packed, and the digest of the decision's full input. */
export function turnInputsOf(runInputsDigest: string, account: AccountInputs): TurnInputs {
  const digest = digestOfInputs(account);
  return { digest: decisionInputDigest(runInputsDigest, digest), account: { value: account, digest } };
}

/** The `data` of a `turn` audit event. */
export const TurnData = z.object({
  observed: TurnObservation.optional(),
  plans: z.array(TurnPlan),
  /** Absent on turns recorded before decisions were replayable. */
  input: TurnInputs.optional(),
});
export type TurnData = z.infer<typeof TurnData>;

/** What the turn of one account is built from (Record's view of the page). */
export interface TurnInput {
  readonly observed?: TurnObservation;
  readonly plans: ReadonlyArray<{
    readonly plan: Plan;
    readonly charterHash: string;
  }>;
  readonly verdictOf: (actionId: string) => Verdict | undefined;
  readonly toolResultOf: (actionId: string) => TurnToolResult | undefined;
  /** What the decisions were made from. */
  readonly input?: TurnInputs;
}

/**
 * The data of an account's turn, or undefined when there is nothing to record (no new signal and
 * no proposed action). Plans without sub-goals or actions are left out.
 */
export function turnDataOf(input: TurnInput): TurnData | undefined {
  const plans: TurnPlan[] = input.plans
    .filter(({ plan }) => plan.actions.length > 0 || plan.subGoals.length > 0)
    .map(({ plan, charterHash }) => ({
      agentId: plan.agentId,
      charterHash,
      subGoals: plan.subGoals,
      ...(plan.notes === undefined || plan.notes.length === 0 ? {} : { notes: plan.notes }),
      decisions: plan.actions.map((action) => {
        const { runId: _runId, accountId: _accountId, agentId: _agentId, ...rest } = action;
        const verdict = input.verdictOf(action.id);
        const result = input.toolResultOf(action.id);
        return {
          action: rest,
          verdict: verdict === undefined ? null : turnVerdictOf(verdict),
          toolResult: result === undefined ? null : { ok: result.ok, replayed: result.replayed, ...(result.externalId === undefined ? {} : { externalId: result.externalId }), ...(result.detail === undefined ? {} : { detail: result.detail }) },
        };
      }),
    }));
  const proposed = plans.some((p) => p.decisions.length > 0);
  if (input.observed === undefined && !proposed) return undefined;
  return { ...(input.observed === undefined ? {} : { observed: input.observed }), plans, ...(input.input === undefined ? {} : { input: input.input }) };
}

function turnVerdictOf(verdict: Verdict): TurnVerdict {
  switch (verdict.outcome) {
    case 'autonomous':
      return { outcome: 'autonomous' };
    case 'needs_approval':
      return { outcome: 'needs_approval', rules: verdict.rules, approvers: verdict.approvers };
    case 'blocked':
      return { outcome: 'blocked', guardrail: verdict.guardrail, reason: verdict.reason, ...(verdict.reservation ? { reservation: true as const } : {}) };
  }
}

/** One decision of a turn, whole again: the action and verdict as the agent and governance made them. */
export interface TurnDecisionView {
  readonly agentId: string;
  readonly charterHash: string;
  readonly subGoals: readonly SubGoal[];
  readonly action: Action;
  readonly verdict: Verdict | null;
  readonly toolResult: TurnToolResult | null;
  /** Digest of the full input the decision was made from (absent on older turns). */
  readonly inputDigest?: string;
}

/** Every decision of a `turn` event, with the ids the event holds once put back in. */
export function decisionsOfTurn(event: { runId?: string; accountId?: string; data: unknown }): TurnDecisionView[] {
  const data = TurnData.parse(event.data);
  const runId = event.runId ?? '';
  const accountId = event.accountId ?? '';
  return data.plans.flatMap((plan) =>
    plan.decisions.map((d) => ({
      agentId: plan.agentId,
      charterHash: plan.charterHash,
      subGoals: plan.subGoals,
      action: Action.parse({ ...d.action, runId, accountId, agentId: plan.agentId }),
      verdict: d.verdict === null ? null : ({ ...d.verdict, actionId: d.action.id } as Verdict),
      toolResult: d.toolResult,
      ...(data.input === undefined ? {} : { inputDigest: data.input.digest }),
    })),
  );
}
