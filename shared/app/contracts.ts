/**
 * The contract between the state machines and the Lambdas: every state's input and output, as zod
 * schemas. The CDK definition (cdk/constructs/campaign-workflow.ts) shapes payloads to match these;
 * handlers parse their input with them. Payloads stay small: accounts are paged, approvals are
 * kept in DynamoDB and listed per shard.
 *
 * CampaignRun (Standard), input StartRunInput:
 *   LoadCampaign -> Accounts (Map over $.shards, ShardInput items) {
 *       ProcessShard (startExecution.sync:2 on AccountBatch; the state becomes its ShardInput output)
 *       -> ShardProgress? (Choice):
 *            cursor not null (handed over)   -> ProcessShard again, from the cursor
 *            queued > 0 or deferred > 0      -> ShardFollowUps
 *            otherwise                       -> ShardFinished
 *       ShardFollowUps (Parallel: the approvals and the deferred sends of the shard, side by side) [
 *         HasApprovals? (queued > 0, or the shard failed) -> ListShardApprovals -> ApprovalPages | NoApprovals
 *         ListShardApprovals: where the shard's pages of APPROVALS_PAGE_SIZE approvals start and end
 *         ApprovalPages (Map over $.pending.pages, side by side) {
 *           ListApprovalPage (ListShardApprovals with the page) -> ShardApprovals (Map over $.pending.approvals) {
 *           RequestApproval (.waitForTaskToken, TimeoutSecondsPath $.timeoutSeconds; Catch States.Timeout)
 *             -> ApprovalDecided? (Choice) -> ActApproved | RecordDecision
 *           ActApproved -> ApprovedSendTime? (Choice): $.sent.deferredTo present (quiet hours at the
 *             moment of approval) -> WaitForApprovedSendTime (Wait) -> ActApproved again | ApprovalSent
 *           ApprovalTimedOut -> Escalate? (Choice) -> RequestEscalatedApproval (-> ApprovalDecided?) | ApprovalClosed
 *         } } ,
 *         HasDeferredSends? (deferred > 0, or the shard failed) -> ListSendSlots -> SendSlots | NoDeferredSends
 *         SendSlots (Map over $.sends.slots, side by side) {
 *           WaitForSendTime (Wait, TimestampPath $.slot.at) -> SendDeferred (a page of the slot's actions)
 *           -> MoreDeferred? (Choice): $.slot.cursor not null -> SendDeferred again | SlotSent
 *         }
 *       ]
 *   } -> Summarize
 * AccountBatch (Express), input ShardInput, output ShardInput (where the shard stands):
 *   Observe -> Plan -> Govern -> Act -> Record -> MorePages? (Choice)
 *     $.recorded.continue -> NextPage (Pass: $.recorded.next) -> Observe
 *     otherwise           -> ShardDone (Succeed, output $.recorded.next)
 */
import * as z from 'zod';
import { Action, Plan, Verdict } from '../domain/model.ts';

const Iso = z.iso.datetime({ offset: true });

/** Input of a CampaignRun execution (from EventBridge Scheduler or `amk run`). */
export const StartRunInput = z.object({
  campaignId: z.string().min(1),
  /** The run's clock; Scheduler passes `<aws.scheduler.scheduled-time>`. */
  scheduledTime: Iso.optional(),
  runId: z.string().min(1).optional(),
});
export type StartRunInput = z.infer<typeof StartRunInput>;

/** StartRun (the schedule's target) input: the campaign and the time Scheduler fired for. */
export const ScheduledRunInput = z.object({ campaignId: z.string().min(1), scheduledTime: Iso });
export type ScheduledRunInput = z.infer<typeof ScheduledRunInput>;

/** The run everything below belongs to. */
export const RunContext = z.object({
  runId: z.string().min(1),
  campaignId: z.string().min(1),
  now: Iso,
});
export type RunContext = z.infer<typeof RunContext>;

/** One shard of the book: a small descriptor whose count is fixed by the campaign. */
export const ShardDescriptor = RunContext.extend({
  shard: z.number().int().nonnegative(),
  shardCount: z.number().int().positive(),
  /** The run existed before this execution (a re-run, a redrive, a restart after a crash). */
  resumed: z.boolean().optional(),
});
export type ShardDescriptor = z.infer<typeof ShardDescriptor>;

/**
 * Where a shard stands: the input of an AccountBatch execution and of every step in it, and the
 * output of the execution (so the parent can hand the rest of the shard to a fresh one).
 */
export const ShardInput = z.object({
  shard: ShardDescriptor,
  /**
   * Where the next page starts: null at the start and once the shard is done. Always present, so
   * the parent can pass it on by JSONPath (a path to a missing field fails a state in AWS).
   */
  cursor: z.string().nullable().default(null),
  /** Approval requests this shard has queued in this run so far (the parent lists them when > 0). */
  queued: z.number().int().nonnegative().default(0),
  /** Actions this shard has deferred to their send time in this run so far (the parent sends them when > 0). */
  deferred: z.number().int().nonnegative().default(0),
  /** Pages this AccountBatch execution has worked so far (a fresh execution starts at 0). */
  pages: z.number().int().nonnegative().default(0),
});
export type ShardInput = z.infer<typeof ShardInput>;

/** LoadCampaign output (replaces the state): one Map item per shard, each where it starts. */
export const LoadCampaignOutput = z.object({ run: RunContext, shards: z.array(ShardInput) });
export type LoadCampaignOutput = z.infer<typeof LoadCampaignOutput>;

// What the planner sees of memory and of an observed account lives in the domain (memory.ts).
export { ObservedAccount, RecentTouch } from '../domain/memory.ts';
import { ObservedAccount } from '../domain/memory.ts';

/** Observe output ($.observed). */
/** A page a run already recorded (the run ledger): where it left the shard, and what it queued and deferred. */
export const RecordedPage = z.object({
  nextCursor: z.string().nullable(),
  queued: z.number().int().nonnegative(),
  /** Absent in pages recorded before deferred sends existed (none). */
  deferred: z.number().int().nonnegative().optional(),
});
export type RecordedPage = z.infer<typeof RecordedPage>;

/**
 * Observe output ($.observed). With `replayed`, the page was already recorded by this run (a
 * repeated start, a redrive, a retry): nothing is planned, acted or recorded again.
 */
export const ObserveOutput = z.object({ accounts: z.array(ObservedAccount), nextCursor: z.string().optional(), replayed: RecordedPage.optional() });
export type ObserveOutput = z.infer<typeof ObserveOutput>;

/** Plan output ($.planned). */
export const PlanOutput = z.object({ plans: z.array(Plan) });
export type PlanOutput = z.infer<typeof PlanOutput>;

/** Govern output ($.governed). */
export const GovernOutput = z.object({ verdicts: z.array(Verdict) });
export type GovernOutput = z.infer<typeof GovernOutput>;

/** The result of one tool call. */
export const ToolCallResult = z.object({
  actionId: z.string(),
  ok: z.boolean(),
  externalId: z.string().optional(),
  detail: z.string().optional(),
  /** True when the idempotency store answered (a retried step did not call the tool again). */
  replayed: z.boolean().default(false),
});
export type ToolCallResult = z.infer<typeof ToolCallResult>;

/** Act output ($.acted). */
export const ActOutput = z.object({
  results: z.array(ToolCallResult),
  queuedApprovalIds: z.array(z.string()),
  /** Autonomous actions stored for sending at their notBefore (not executed yet). */
  deferredActionIds: z.array(z.string()).default([]),
});
export type ActOutput = z.infer<typeof ActOutput>;

/** Record input: everything the page produced. */
export const RecordInput = ShardInput.extend({
  observed: ObserveOutput,
  planned: PlanOutput,
  governed: GovernOutput,
  acted: ActOutput,
});
export type RecordInput = z.infer<typeof RecordInput>;

/**
 * Record output ($.recorded): `next` is where the shard stands after this page; `continue` says
 * whether this execution works the next page itself (false when the shard is done, or when the
 * execution has worked `pagesPerExecution` pages and hands the rest over).
 */
export const RecordOutput = z.object({ next: ShardInput, continue: z.boolean(), accounts: z.number().int() });
export type RecordOutput = z.infer<typeof RecordOutput>;

/** One approval to wait for, with its link expiry in seconds (the task timeout). */
export const ApprovalItem = z.object({
  approvalId: z.string().min(1),
  runId: z.string().min(1),
  timeoutSeconds: z.number().int().positive(),
});
export type ApprovalItem = z.infer<typeof ApprovalItem>;

/**
 * Approvals per page: a shard's approvals are split into pages of this many, which wait side by
 * side (up to this many pages at a time, each with this many approvals: an inline Map runs at most
 * 40 iterations at once). Every payload stays bounded however many approvals a shard queues.
 */
export const APPROVALS_PAGE_SIZE = 40;

/** One page of a shard's approvals: the ids after `after` (null: from the first) through `through`. */
export const ApprovalPage = z.object({ after: z.string().nullable(), through: z.string().min(1) });
export type ApprovalPage = z.infer<typeof ApprovalPage>;

/**
 * ListShardApprovals input: the shard's state. Without `page` it lists where the shard's pages of
 * approvals start and end; with `page` (from ApprovalPages' ItemSelector) that page's approvals.
 */
export const ListShardApprovalsInput = z.object({
  shard: ShardDescriptor,
  page: ApprovalPage.optional(),
});
export type ListShardApprovalsInput = z.infer<typeof ListShardApprovalsInput>;

/** ListShardApprovals output ($.pending): the pages (without `page`), or the page's approvals (with it). */
export const ListShardApprovalsOutput = z.object({
  pages: z.array(ApprovalPage),
  approvals: z.array(ApprovalItem).max(APPROVALS_PAGE_SIZE),
});
export type ListShardApprovalsOutput = z.infer<typeof ListShardApprovalsOutput>;

/** RequestApproval input: the item plus the task token to store server-side. */
export const RequestApprovalInput = ApprovalItem.extend({ taskToken: z.string().min(1) });
export type RequestApprovalInput = z.infer<typeof RequestApprovalInput>;

/** What a human's decision sends back through SendTaskSuccess ($.decision). */
export const ApprovalDecision = z.object({
  approvalId: z.string().min(1),
  status: z.enum(['approved', 'rejected']),
});
export type ApprovalDecision = z.infer<typeof ApprovalDecision>;

/**
 * ActApproved output ($.sent): whether the approved action executed, or, when its people were in
 * quiet hours at the moment of approval, the time (their next business hour) its branch waits for
 * before ActApproved runs again.
 */
export const ActApprovedOutput = z.object({ executed: z.boolean(), deferredTo: Iso.optional() });
export type ActApprovedOutput = z.infer<typeof ActApprovedOutput>;

/** ActApproved / RecordDecision input; after a wait for the send time, with ActApproved's earlier output. */
export const DecidedApprovalInput = ApprovalItem.extend({ decision: ApprovalDecision, sent: ActApprovedOutput.optional() });
export type DecidedApprovalInput = z.infer<typeof DecidedApprovalInput>;

/** ApprovalTimedOut input: the item (the error is kept at $.timeout). */
export const ApprovalTimedOutInput = ApprovalItem.extend({ timeout: z.unknown().optional() });
export type ApprovalTimedOutInput = z.infer<typeof ApprovalTimedOutInput>;

/** ApprovalTimedOut output (replaces the item): escalate with a new approval, or close. */
export const ApprovalTimedOutOutput = z.object({
  escalate: z.boolean(),
  approvalId: z.string().min(1),
  runId: z.string().min(1),
  timeoutSeconds: z.number().int().positive(),
});
export type ApprovalTimedOutOutput = z.infer<typeof ApprovalTimedOutOutput>;

/** Summarize input. */
export const SummarizeInput = z.object({ run: RunContext });

/**
 * Act's input: the page as planned and governed. With `settle` (the state machine's path once its
 * retries of a transient tool failure ran out), such a failure becomes that action's failed result
 * instead of failing the page, and the rest of the page is recorded.
 */
export const ActInput = ShardInput.extend({ observed: ObserveOutput, planned: PlanOutput, governed: GovernOutput, settle: z.boolean().optional() });
export type ActInput = z.infer<typeof ActInput>;

/**
 * Where the deferred sends of one slot of a shard stand: the SendSlots Map item, SendDeferred's
 * input and output. `cursor` is where the next page of the slot's actions starts (null: at the
 * first, and once the slot is done).
 */
export const SendSlot = z.object({ at: Iso, cursor: z.string().nullable().default(null) });
export type SendSlot = z.infer<typeof SendSlot>;

/** ListSendSlots input: the shard's state (the whole state goes in). */
export const ListSendSlotsInput = z.object({ shard: ShardDescriptor });
export type ListSendSlotsInput = z.infer<typeof ListSendSlotsInput>;

/** ListSendSlots output ($.sends): the shard's send slots in time order, each from its start. */
export const ListSendSlotsOutput = z.object({ slots: z.array(SendSlot) });
export type ListSendSlotsOutput = z.infer<typeof ListSendSlotsOutput>;

/**
 * SendDeferred input: a slot of a shard, after its Wait. With `settle` (the state machine's path
 * once its retries of a transient tool failure ran out), such a failure becomes that action's
 * failed result instead of failing the slot.
 */
export const SendDeferredInput = z.object({ shard: ShardDescriptor, slot: SendSlot, settle: z.boolean().optional() });
export type SendDeferredInput = z.infer<typeof SendDeferredInput>;

/** SendDeferred output (replaces the item): the slot with the cursor of its next page (null: done). */
export const SendDeferredOutput = z.object({ shard: ShardDescriptor, slot: SendSlot });
export type SendDeferredOutput = z.infer<typeof SendDeferredOutput>;

/** What a Catch hands RecordFailure: where it happened, and Step Functions' error and cause. */
export const RecordFailureInput = z.object({
  runId: z.string().min(1),
  scope: z.enum(['shard', 'approval', 'send', 'run']),
  shard: z.number().int().nonnegative().optional(),
  approvalId: z.string().min(1).optional(),
  /** The send slot whose deferred sends failed (scope `send`; absent: listing the shard's slots failed). */
  slot: Iso.optional(),
  failure: z.object({ Error: z.string().optional(), Cause: z.string().optional() }).passthrough().optional(),
});
export type RecordFailureInput = z.infer<typeof RecordFailureInput>;
export type SummarizeInput = z.infer<typeof SummarizeInput>;

/** Counters every run keeps (in the run header item). */
export const RUN_COUNTERS = [
  'accounts',
  'proposed',
  'executed',
  'deferred',
  'needsApproval',
  'approvalRequests',
  'approved',
  'rejected',
  'expired',
  'escalated',
  'blocked',
  'toolFailures',
  'replayed',
  'signals',
  'stageAdvances',
] as const;
export type RunCounter = (typeof RUN_COUNTERS)[number];

/** Summarize output: the run's figures. */
export const RunSummary = z.object({
  runId: z.string(),
  campaignId: z.string(),
  now: Iso,
  counters: z.record(z.string(), z.number()),
});
export type RunSummary = z.infer<typeof RunSummary>;

/** Re-exported for handlers that carry actions. */
export { Action };
