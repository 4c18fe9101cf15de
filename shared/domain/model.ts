/**
 * The vocabulary of the system as zod schemas: every boundary (Lambda input/output, HTTP, YAML,
 * CSV, DynamoDB items) parses with these. A schema and its type share one name.
 */
import * as z from 'zod';

/** Committee roles a stakeholder can hold in a buying committee. */
export const CommitteeRole = z.enum([
  'economic_buyer',
  'champion',
  'technical_evaluator',
  'end_user',
  'blocker',
  'influencer',
]);
export type CommitteeRole = z.infer<typeof CommitteeRole>;

/** Buying stages, in order of progression; closed_lost and no_decision are terminal. */
export const Stage = z.enum([
  'unaware',
  'problem_aware',
  'solution_aware',
  'evaluating',
  'committed',
  'closed_lost',
  'no_decision',
]);
export type Stage = z.infer<typeof Stage>;

/** The progression order of the open stages (terminal stages rank -1). */
export const STAGE_ORDER: readonly Stage[] = ['unaware', 'problem_aware', 'solution_aware', 'evaluating', 'committed'];

/** Rank of a stage in the progression (-1 for closed_lost / no_decision). */
export const stageRank = (stage: Stage): number => STAGE_ORDER.indexOf(stage);

/**
 * True for a forward move among the open stages (committed included): a progression. A move to
 * closed_lost or no_decision is an exit, never a progression.
 */
export const isProgression = (from: Stage, to: Stage): boolean => stageRank(from) >= 0 && stageRank(to) > stageRank(from);

/** Seniority of a stakeholder, used by threshold rules. */
export const Seniority = z.enum(['c_level', 'vp', 'director', 'manager', 'individual']);
export type Seniority = z.infer<typeof Seniority>;

/** Email consent of a stakeholder. */
export const Consent = z.enum(['opted_in', 'unknown', 'opted_out']);
export type Consent = z.infer<typeof Consent>;

const Iso = z.iso.datetime({ offset: true });

/** A contact at an account, with a committee role. */
export const Stakeholder = z.object({
  id: z.string().min(1),
  accountId: z.string().min(1),
  name: z.string().min(1),
  email: z.email(),
  title: z.string(),
  role: CommitteeRole,
  seniority: Seniority,
  timeZone: z.string().min(1).default('UTC'),
  consent: Consent.default('unknown'),
  doNotContact: z.boolean().default(false),
});
export type Stakeholder = z.infer<typeof Stakeholder>;

/** Account tiers: 1 is the most strategic. */
export const Tier = z.union([z.literal(1), z.literal(2), z.literal(3)]);
export type Tier = z.infer<typeof Tier>;

/** What the system believes about an account (never the simulator's hidden truth). */
export const AccountState = z.object({
  id: z.string().min(1),
  name: z.string().min(1),
  domain: z.string().min(1),
  tier: Tier,
  industry: z.string().default('unknown'),
  employees: z.number().int().nonnegative().default(0),
  stage: Stage,
  /** Roles that have engaged meaningfully (reply, meeting, content) at least once. */
  engagedRoles: z.array(CommitteeRole).default([]),
  objections: z.array(z.string()).default([]),
  /** 0..1: how aligned the committee seems, from the roles engaged and objections open. */
  consensus: z.number().min(0).max(1).default(0),
  lastMeaningfulInteraction: Iso.nullable().default(null),
  /** Time of the latest sign of research: an intent surge or a web visit (null: none seen). */
  lastIntentAt: Iso.nullable().optional(),
  /** ISO time of the last signal folded in, so Observe only reads newer signals. */
  observedUntil: Iso.nullable().default(null),
  /**
   * The observation that last moved observedUntil: which page of which run (its effect key), from
   * where, and the stage before it. A redelivered Observe of that page rebuilds the same
   * observation from it instead of finding no new signals.
   */
  observation: z.object({ by: z.string().min(1), since: Iso.nullable(), stage: Stage }).optional(),
  /** Optimistic-lock version, bumped on every write. */
  version: z.number().int().nonnegative().default(0),
});
export type AccountState = z.infer<typeof AccountState>;

/**
 * Kinds of pipeline signal. Opens, clicks and deliveries are recorded but never optimized for. A
 * bounce (a hard one: the address does not exist) and a complaint (the person marked an email as
 * spam) suppress the stakeholder: do-not-contact from then on (see observe.ts).
 */
export const SignalKind = z.enum([
  'open',
  'click',
  'delivery',
  'bounce',
  'complaint',
  'reply',
  'meeting_booked',
  'meeting_accepted',
  'unsubscribe',
  'content_consumed',
  'intent_surge',
  'crm_stage_change',
  'web_visit',
  'objection_raised',
  'objection_resolved',
]);
export type SignalKind = z.infer<typeof SignalKind>;

/** An observed input about an account (maybe about one stakeholder). */
export const PipelineSignal = z.object({
  id: z.string().min(1),
  accountId: z.string().min(1),
  stakeholderId: z.string().min(1).optional(),
  kind: SignalKind,
  at: Iso,
  /** The action that caused it, when known (for credit assignment). */
  causedBy: z.string().optional(),
  stage: Stage.optional(),
  topic: z.string().optional(),
});
export type PipelineSignal = z.infer<typeof PipelineSignal>;

/** Side-effecting connectors an action can use. */
export const Tool = z.enum(['email', 'sales_task', 'ad_audience', 'content_recommendation', 'webhook']);
export type Tool = z.infer<typeof Tool>;

/** Channels an action reaches a stakeholder through (for contact pressure). */
export const Channel = z.enum(['email', 'ads', 'sales', 'web']);
export type Channel = z.infer<typeof Channel>;

/** What an action does; each type has a fixed tool and channel (see ACTION_CATALOG). */
export const ActionType = z.enum([
  'nurture_email',
  'role_content',
  'objection_response',
  'executive_briefing',
  'reference_call_offer',
  'sales_handoff',
  'ad_audience_add',
  'event_invite',
  'sdr_email',
  'sdr_call',
]);
export type ActionType = z.infer<typeof ActionType>;

/** Sub-goals the planner decomposes a campaign goal into. */
export const SubGoalKind = z.enum(['cover_role', 'answer_objection', 'de_risk', 'educate_role', 'accelerate', 'hand_off']);
export type SubGoalKind = z.infer<typeof SubGoalKind>;

/** One per-account sub-goal, ordered by priority. */
export const SubGoal = z.object({
  kind: SubGoalKind,
  role: CommitteeRole.optional(),
  objection: z.string().optional(),
  why: z.string(),
});
export type SubGoal = z.infer<typeof SubGoal>;

/** One tool call the agent proposes. */
export const Action = z.object({
  id: z.string().min(1),
  runId: z.string().min(1),
  accountId: z.string().min(1),
  agentId: z.string().min(1),
  type: ActionType,
  tool: Tool,
  channel: Channel,
  stakeholderIds: z.array(z.string().min(1)),
  /**
   * The content or offer: a topic and, for email, a subject line, and the content library's
   * template it is worded from (pinned by digest; absent: the built-in copy of its type).
   */
  content: z.object({
    topic: z.string(),
    subject: z.string().optional(),
    template: z.object({ templateId: z.string().min(1), assetId: z.string().min(1).optional(), contentDigest: z.string().min(1) }).optional(),
  }),
  costUsd: z.number().nonnegative(),
  rationale: z.string().min(1),
  expectedValue: z.number(),
  confidence: z.number().min(0).max(1),
  subGoal: SubGoalKind,
  /**
   * When the action may reach its people at the earliest: set when the run's clock falls in a
   * stakeholder's quiet hours, to their next local business hour. Governance checks quiet hours
   * at this time, and the action is sent then, not before (absent: at the run's clock).
   */
  notBefore: Iso.optional(),
  /** The probability with which the policy chose this action among those it could have (off-policy evaluation). */
  propensity: z.number().min(0).max(1).optional(),
});
export type Action = z.infer<typeof Action>;

/** A scored plan for one account from one agent. */
export const Plan = z.object({
  accountId: z.string().min(1),
  agentId: z.string().min(1),
  subGoals: z.array(SubGoal),
  actions: z.array(Action),
  /** What the account's coordinator left out of this agent's proposals, and why (a few, for the audit). */
  notes: z.array(z.string()).optional(),
});
export type Plan = z.infer<typeof Plan>;

/** A threshold rule that fired, with the approvers it requires. */
export const FiredRule = z.object({
  ruleId: z.string(),
  source: z.string(),
  approvers: z.array(z.string()),
  minApprovals: z.number().int().min(1),
});
export type FiredRule = z.infer<typeof FiredRule>;

/** The governance outcome for one action. */
export const Verdict = z.discriminatedUnion('outcome', [
  z.object({ outcome: z.literal('autonomous'), actionId: z.string() }),
  z.object({
    outcome: z.literal('needs_approval'),
    actionId: z.string(),
    rules: z.array(FiredRule).min(1),
    approvers: z.array(z.string()).min(1),
  }),
  z.object({
    outcome: z.literal('blocked'),
    actionId: z.string(),
    guardrail: z.string(),
    reason: z.string(),
    /**
     * True when the pure checks granted the action and a shared reservation (touches or spend,
     * counting every shard and run) refused it: a replay of the decision's inputs grants it.
     */
    reservation: z.literal(true).optional(),
  }),
]);
export type Verdict = z.infer<typeof Verdict>;

/** Lifecycle of an approval request. */
export const ApprovalStatus = z.enum(['queued', 'pending', 'approved', 'rejected', 'expired', 'skipped']);
export type ApprovalStatus = z.infer<typeof ApprovalStatus>;

/** Who decided an approval: a person, or the labelled simulated reviewer of the demo. */
export const ReviewerKind = z.enum(['human', 'simulated']);
export type ReviewerKind = z.infer<typeof ReviewerKind>;

/**
 * Two-person rule: the approval requests of one action that must ALL end approved, by at least
 * `min` distinct people, before it executes. Each member is its own request (own link, own task).
 */
export const ApprovalQuorum = z.object({
  actionId: z.string().min(1),
  /** Every member's approval id, in approver order (an escalation stands in for the member it escalates). */
  approvalIds: z.array(z.string().min(1)).min(2),
  /** Distinct approvers required: the largest minApprovals of the rules that fired. */
  min: z.number().int().min(2),
});
export type ApprovalQuorum = z.infer<typeof ApprovalQuorum>;

/** An approval request for one needs_approval action. */
export const Approval = z.object({
  id: z.string().min(1),
  runId: z.string().min(1),
  shard: z.number().int().nonnegative(),
  accountId: z.string().min(1),
  agentId: z.string().min(1),
  action: Action,
  rules: z.array(FiredRule),
  approver: z.string(),
  /** The approval this one escalates (after the first approver let it expire). */
  escalationOf: z.string().optional(),
  /** Set on an expired approval that was escalated: the id of the escalation standing in for it. */
  escalatedTo: z.string().optional(),
  /** Present when the action needs several distinct approvers (absent: this approval alone decides). */
  quorum: ApprovalQuorum.optional(),
  /** sha256 of the canonical action: what the approver sees is what executes. */
  actionDigest: z.string(),
  charterHash: z.string(),
  status: ApprovalStatus,
  /** Lifetime of the link and of the waiting task, from the charter's escalation rule. */
  timeoutSeconds: z.number().int().positive(),
  createdAt: Iso,
  expiresAt: Iso.optional(),
  taskToken: z.string().optional(),
  decidedAt: Iso.optional(),
  decidedBy: z.string().optional(),
  reviewerKind: ReviewerKind.optional(),
  reason: z.string().optional(),
  /**
   * What the email will say, rendered when the approval was queued from the same template the
   * send renders (pinned by the action's content digest), with the claims it makes: the approver
   * reads the words, not a topic. Absent for actions that send no email.
   */
  preview: z
    .object({
      subject: z.string(),
      text: z.string(),
      claims: z.array(z.object({ statement: z.string(), source: z.string() })).default([]),
    })
    .optional(),
  version: z.number().int().nonnegative(),
});
export type Approval = z.infer<typeof Approval>;

/**
 * An autonomous action kept for sending at its time (its `notBefore`, in the send slot of a
 * shard of a run): Act stores it instead of executing it, and SendDeferred sends it in its slot.
 */
export const DeferredSend = z.object({
  runId: z.string().min(1),
  shard: z.number().int().nonnegative(),
  /** The send slot (ISO, on a quarter hour): when it is sent, at or after the action's notBefore. */
  slot: Iso,
  /** The run's clock: the week and month its touch and spend are reserved in. */
  runNow: Iso,
  action: Action,
  /** Content hash of the charter the action was planned and governed under. */
  charterHash: z.string(),
});
export type DeferredSend = z.infer<typeof DeferredSend>;

/** Kinds of audit event. */
export const AuditKind = z.enum([
  'run_started',
  /** An account's turn in a run: what was observed, each agent's plan, verdicts and tool results (turn.ts). */
  'turn',
  /** Written by versions before turns (one event per observation or decision); still readable. */
  'observation',
  'decision',
  'tool_call',
  'approval_requested',
  'approval_decided',
  'approval_expired',
  'approval_link_opened',
  'approval_link_rejected',
  /** Progress of a two-person approval: waiting for the other approver(s), or failed for good. */
  'approval_quorum',
  'alert',
  'run_summarized',
  /** A verification of the audit trail against the published digests (shared/app/audit-verification.ts). */
  'audit_verified',
]);
export type AuditKind = z.infer<typeof AuditKind>;

/** An append-only, hash-chained record of something the system decided or did. */
export const AuditEvent = z.object({
  /** Chain the event belongs to: `RUN#<runId>` or `ACCOUNT#<id>`. */
  stream: z.string().min(1),
  seq: z.number().int().nonnegative(),
  at: Iso,
  kind: AuditKind,
  runId: z.string().optional(),
  accountId: z.string().optional(),
  agentId: z.string().optional(),
  actor: z.string(),
  charterHash: z.string().optional(),
  /**
   * What the event records, independent of the attempt that wrote it (e.g. the turn of one account
   * on one page of one run). An event with a key is appended to its stream once, however often
   * the step that writes it is delivered.
   */
  key: z.string().min(1).max(1024).optional(),
  data: z.record(z.string(), z.unknown()),
  prevHash: z.string(),
  hash: z.string(),
});
export type AuditEvent = z.infer<typeof AuditEvent>;
