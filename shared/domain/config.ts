/**
 * Schemas of the files humans write: agent operating charters, campaigns and guardrails (YAML in
 * git), and the small typed threshold-rule language they share. Data, never code: no `eval`.
 */
import * as z from 'zod';
import { ContentLibrary } from './content.ts';
import { ActionType, Channel, CommitteeRole, Seniority, Stage, Tool } from './model.ts';

/** Fields a threshold rule may compare, with the values each accepts. */
/** A time of day, HH:MM on a 24-hour clock. */
const CLOCK_TIME = /^([01]\d|2[0-3]):[0-5]\d$/;

export const RULE_FIELDS = {
  'action.type': ActionType,
  'action.tool': Tool,
  'action.channel': Channel,
  'action.costUsd': z.number(),
  'stakeholder.role': CommitteeRole,
  'stakeholder.seniority': Seniority,
  'account.tier': z.number().int(),
  'account.stage': Stage,
  'decision.confidence': z.number(),
  'agent.status': z.enum(['active', 'probation', 'paused']),
} as const;

/** A field a threshold rule can read. */
export const RuleField = z.enum(Object.keys(RULE_FIELDS) as [keyof typeof RULE_FIELDS, ...(keyof typeof RULE_FIELDS)[]]);
export type RuleField = z.infer<typeof RuleField>;

/** Comparison operators of the rule language. */
export const RuleOp = z.enum(['eq', 'neq', 'gt', 'gte', 'lt', 'lte', 'in']);
export type RuleOp = z.infer<typeof RuleOp>;

const Scalar = z.union([z.string(), z.number(), z.boolean()]);

/** One comparison: `{ field, op, value }`. */
export const Comparison = z
  .object({ field: RuleField, op: RuleOp, value: z.union([Scalar, z.array(Scalar)]) })
  .strict()
  .superRefine((c, ctx) => {
    const values = c.op === 'in' ? c.value : [c.value];
    if (c.op === 'in' && !Array.isArray(c.value)) {
      ctx.addIssue({ code: 'custom', path: ['value'], message: `op "in" expects a list of values` });
      return;
    }
    if (c.op !== 'in' && Array.isArray(c.value)) {
      ctx.addIssue({ code: 'custom', path: ['value'], message: `op "${c.op}" expects a single value, not a list` });
      return;
    }
    const schema = RULE_FIELDS[c.field];
    for (const v of values as unknown[]) {
      const r = schema.safeParse(v);
      if (!r.success) {
        ctx.addIssue({ code: 'custom', path: ['value'], message: `${JSON.stringify(v)} is not a valid value for ${c.field}` });
      }
    }
    if (['gt', 'gte', 'lt', 'lte'].includes(c.op) && typeof c.value !== 'number') {
      ctx.addIssue({ code: 'custom', path: ['op'], message: `op "${c.op}" needs a numeric field and value` });
    }
  });
export type Comparison = z.infer<typeof Comparison>;

/** A condition: a comparison, or all/any/not of conditions. */
export type Condition = Comparison | { all: Condition[] } | { any: Condition[] } | { not: Condition };
/** Schema of a condition (recursive). */
export const Condition: z.ZodType<Condition> = z.lazy(() =>
  z.union([
    z.object({ all: z.array(Condition).min(1) }).strict(),
    z.object({ any: z.array(Condition).min(1) }).strict(),
    z.object({ not: Condition }).strict(),
    Comparison,
  ]),
);

/** A HITL threshold: when the condition holds, the action needs these approvers. */
export const ThresholdRule = z
  .object({
    id: z.string().min(1),
    description: z.string().min(1),
    when: Condition,
    approvers: z.array(z.email()).min(1),
    /** Two-person rule: how many distinct approvers must approve. */
    minApprovals: z.number().int().min(1).max(2).default(1),
  })
  .strict()
  .refine((r) => r.approvers.length >= r.minApprovals, {
    path: ['approvers'],
    message: 'needs at least as many approvers as minApprovals',
  });
export type ThresholdRule = z.infer<typeof ThresholdRule>;

/** An agent operating charter: what one agent is for and what it may do. */
export const Charter = z
  .object({
    id: z.string().regex(/^[a-z0-9-]+$/, 'lower-case letters, digits and dashes'),
    name: z.string().min(1),
    owner: z.email(),
    status: z.enum(['active', 'probation', 'paused']).default('active'),
    goal: z
      .object({
        description: z.string().min(1),
        /** Roles this agent works with; empty means every role. */
        roles: z.array(CommitteeRole).default([]),
      })
      .strict(),
    allowedTools: z.array(Tool).min(1),
    allowedActions: z.array(ActionType).min(1),
    budgets: z
      .object({
        touchesPerStakeholderPerWeek: z.number().int().min(0).default(2),
        touchesPerAccountPerWeek: z.number().int().min(0).default(6),
        spendPerMonthUsd: z.number().min(0).default(1000),
        actionsPerAccountPerRun: z.number().int().min(1).max(10).default(2),
      })
      .strict(),
    thresholds: z.array(ThresholdRule).default([]),
    escalation: z
      .object({
        /** What happens when nobody decides before the link expires; never a silent approval. */
        onTimeout: z.enum(['skip', 'reject', 'escalate']).default('skip'),
        escalateTo: z.email().optional(),
        // At least a second (links are timed in whole seconds), at most the 14 days a link lives.
        approvalTimeoutHours: z.number().min(1 / 3600, 'must be at least one second (0.000278 hours)').max(24 * 14).default(72),
      })
      .strict()
      .refine((e) => e.onTimeout !== 'escalate' || e.escalateTo, {
        path: ['escalateTo'],
        message: 'is required when onTimeout is "escalate"',
      })
      .default({ onTimeout: 'skip', approvalTimeoutHours: 72 }),
    metrics: z.array(z.enum(['stage_progressions', 'multi_threading', 'accepted_meetings', 'no_decision_rate'])).min(1),
  })
  .strict();
export type Charter = z.infer<typeof Charter>;

/**
 * Outcomes that may credit an action when agents learn: a forward stage move, meetings, replies,
 * content read, an objection resolved. Opens and clicks are not in the list, so no charter or
 * guardrails file can make an agent optimize for them.
 */
export const PipelineCredit = z.enum(['stage_advance', 'meeting_accepted', 'meeting_booked', 'reply', 'content_consumed', 'objection_resolved'], {
  error: (issue) => `${JSON.stringify(issue.input)} cannot credit an action; expected one of stage_advance, meeting_accepted, meeting_booked, reply, content_consumed, objection_resolved (opens and clicks never do)`,
});
export type PipelineCredit = z.infer<typeof PipelineCredit>;
const DEFAULT_CREDITS: readonly PipelineCredit[] = PipelineCredit.options;

/** Guardrails: hard constraints and the definition of pipeline quality. */
export const Guardrails = z
  .object({
    id: z.string().min(1),
    consent: z.object({ blockOptedOut: z.literal(true).default(true), blockUnknownForEmail: z.boolean().default(false) }).strict(),
    suppression: z
      .object({ domains: z.array(z.string()).default([]), emails: z.array(z.email()).default([]) })
      .strict()
      .default({ domains: [], emails: [] }),
    contactPressure: z
      .object({
        maxTouchesPerStakeholderPerWeek: z.number().int().min(0),
        maxTouchesPerAccountPerWeek: z.number().int().min(0),
      })
      .strict(),
    quietHours: z
      .object({
        start: z.string().regex(CLOCK_TIME, 'expected a time of day HH:MM, 00:00 to 23:59'),
        end: z.string().regex(CLOCK_TIME, 'expected a time of day HH:MM, 00:00 to 23:59'),
      })
      .strict()
      .optional(),
    budget: z.object({ maxSpendPerRunUsd: z.number().min(0) }).strict(),
    /** Organisation-wide HITL thresholds, applied to every agent. */
    approvalRules: z.array(ThresholdRule).default([]),
    /**
     * What counts as pipeline progress. `progressed` and `acceptedMeeting` are what the benchmark
     * and the run figures count as progressions; `credits` are the outcomes that credit an action
     * as a success when the agents learn. Opens and clicks can never be either.
     */
    pipelineQuality: z
      .object({
        progressed: z.array(z.literal('stage_advance')).default(['stage_advance']),
        acceptedMeeting: z.array(z.literal('meeting_accepted')).default(['meeting_accepted']),
        credits: z.array(PipelineCredit).min(1).default([...DEFAULT_CREDITS]),
      })
      .strict()
      .default({ progressed: ['stage_advance'], acceptedMeeting: ['meeting_accepted'], credits: [...DEFAULT_CREDITS] }),
  })
  .strict();
export type Guardrails = z.infer<typeof Guardrails>;

/**
 * Accounts one AccountBatch execution may work before handing over: at a few hundred milliseconds
 * per account in AWS (tool calls included), well within Express's 5 minutes.
 */
export const MAX_ACCOUNTS_PER_EXECUTION = 1000;

/** Open stages an account can be in while agents work it (coverage targets are per stage). */
const OpenStage = z.enum(['unaware', 'problem_aware', 'solution_aware', 'evaluating']);

/**
 * How the agents of a campaign work one account as a team: the account-level coordinator merges
 * their proposals into one plan per account and run.
 */
export const Orchestration = z
  .object({
    /**
     * Committee roles to engage per stage (multi-threading matched to role and stage): a role of
     * the account's current stage that nobody has engaged becomes a `cover_role` sub-goal.
     */
    coverage: z.partialRecord(OpenStage, z.array(CommitteeRole)).default({}),
    /** Days within which no second agent touches a person another agent touched. */
    stakeholderWindowDays: z.number().int().min(0).max(28).default(7),
    /** Sequencing: an action type waits until one of these roles engaged (or the account reached `orStage`). */
    sequencing: z
      .array(
        z
          .object({
            action: ActionType,
            afterEngaged: z.array(CommitteeRole).min(1),
            /** The rule no longer applies from this stage on. */
            orStage: Stage.optional(),
          })
          .strict(),
      )
      .default([]),
  })
  .strict();
export type Orchestration = z.infer<typeof Orchestration>;

/** Coverage when a campaign names none: the roles without which deals stall, at every stage. */
const DEFAULT_ORCHESTRATION: Orchestration = { coverage: {}, stakeholderWindowDays: 7, sequencing: [] };

/**
 * The campaign's data-quality gate: the book must be good enough before a run works it. Checked
 * by LoadCampaign against the book's stored data-quality summary (`amk data check` refreshes it).
 */
export const DataQuality = z
  .object({
    /** Lowest data-quality score (0–100, the README's formula) the book may have. */
    minScore: z.number().min(0).max(100).optional(),
    /** Committee roles an account of the segment must have known (a contact with that role). */
    requiredRoles: z.array(CommitteeRole).min(1).optional(),
    /** Share (0–1) of the segment's accounts that must know every required role. @default 1 when requiredRoles is set */
    minAccountsWithRequiredRoles: z.number().min(0).max(1).optional(),
  })
  .strict()
  .refine((q) => q.minAccountsWithRequiredRoles === undefined || q.requiredRoles !== undefined, {
    path: ['minAccountsWithRequiredRoles'],
    message: 'needs requiredRoles (which roles the accounts must have known)',
  });
export type DataQuality = z.infer<typeof DataQuality>;

/** A campaign: a goal over a segment of the book, worked by agents on a schedule. */
export const Campaign = z
  .object({
    id: z.string().regex(/^[a-z0-9-]+$/, 'lower-case letters, digits and dashes'),
    name: z.string().min(1),
    owner: z.email(),
    goal: z
      .object({ description: z.string().min(1), fromStage: Stage, toStage: Stage })
      .strict()
      .refine((g) => g.fromStage !== g.toStage, { path: ['toStage'], message: 'must differ from fromStage' }),
    segment: z
      .object({ tiers: z.array(z.number().int().min(1).max(3)).default([1, 2, 3]), stages: z.array(Stage).optional() })
      .strict()
      .default({ tiers: [1, 2, 3] }),
    /** Paths of the charters of the agents that work this campaign, relative to this file. */
    charters: z.array(z.string().min(1)).min(1),
    /** Path of the guardrails file, relative to this file. */
    guardrails: z.string().min(1),
    schedule: z
      .object({
        /** EventBridge Scheduler expression, e.g. `cron(0 9 ? * MON *)` or `rate(7 days)`. */
        expression: z.string().regex(/^(cron|rate)\(.+\)$/, 'cron(...) or rate(...)'),
        timezone: z.string().default('UTC'),
      })
      .strict(),
    /**
     * Shards the book is processed in, side by side: one AccountBatch (Express) execution at a
     * time per shard. The count is fixed (it does not grow with the book); each Standard shard
     * iteration costs about three state transitions, so raise it for parallelism, not for size.
     */
    shards: z.number().int().min(1).max(64).default(1),
    /** How the agents of this campaign work one account together (see Orchestration). */
    orchestration: Orchestration.default(DEFAULT_ORCHESTRATION),
    /** Accounts one Lambda invocation handles. */
    pageSize: z.number().int().min(1).max(100).default(25),
    /**
     * Pages one AccountBatch execution works before it hands the rest of its shard to a fresh
     * execution, so no execution nears Express's 5-minute limit however large the book (each
     * hand-over costs two Standard transitions).
     */
    pagesPerExecution: z.number().int().min(1).max(1000).default(20),
    /** Data-quality thresholds the book must meet before a run (absent: no gate). */
    dataQuality: DataQuality.optional(),
    /** Path of the content library (templates and assets), relative to this file; absent: built-in copy. */
    content: z.string().min(1).optional(),
  })
  .strict()
  .refine((c) => c.pageSize * c.pagesPerExecution <= MAX_ACCOUNTS_PER_EXECUTION, {
    path: ['pagesPerExecution'],
    message: `pageSize × pagesPerExecution must be at most ${MAX_ACCOUNTS_PER_EXECUTION} accounts: one AccountBatch execution has to finish within Express's 5 minutes (lower either)`,
  });
export type Campaign = z.infer<typeof Campaign>;

/** A campaign with its charters and guardrails resolved, and the content hash of each file. */
export const CampaignBundle = z.object({
  campaign: Campaign,
  campaignHash: z.string(),
  charters: z.array(z.object({ charter: Charter, hash: z.string(), file: z.string() })),
  guardrails: Guardrails,
  guardrailsHash: z.string(),
  /** The campaign's content library and its file's hash (absent: the built-in copy words every email). */
  content: ContentLibrary.optional(),
  contentHash: z.string().optional(),
});
export type CampaignBundle = z.infer<typeof CampaignBundle>;
