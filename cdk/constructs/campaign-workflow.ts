/**
 * The two state machines of a campaign run, exactly as the header of shared/app/contracts.ts
 * draws them. JSONPath only (the local engine ignores JSONata) and no `Assign` variables, so the
 * same synthesized definition runs in AWS and under aws-local-stepfunctions.
 */
import { ArnFormat, Duration, Stack, Validations } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  Choice,
  Condition,
  DefinitionBody,
  Errors,
  Fail,
  IntegrationPattern,
  JitterType,
  JsonPath,
  LogLevel,
  Map as MapState,
  Parallel,
  Pass,
  StateMachine,
  StateMachineType,
  Succeed,
  TaskInput,
  Timeout,
  Wait,
  WaitTime,
  type RetryProps,
} from 'aws-cdk-lib/aws-stepfunctions';
import { LambdaInvoke, StepFunctionsStartExecution } from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { APPROVALS_PAGE_SIZE } from '../../shared/app/contracts.ts';
import { ErrorName } from '../../shared/domain/errors.ts';
import { wildcardResourceFinding } from '../nag.ts';

/** State names of the AccountBatch (Express) state machine. */
export const AccountBatchStates = {
  Observe: 'Observe',
  Plan: 'Plan',
  Govern: 'Govern',
  Act: 'Act',
  /** Act again once its retries of a transient tool failure ran out: that action fails, the page is recorded. */
  SettleAct: 'SettleAct',
  Record: 'Record',
  MorePages: 'MorePages?',
  NextPage: 'NextPage',
  ShardDone: 'ShardDone',
} as const;

/** State names of the CampaignRun (Standard) state machine. */
export const CampaignRunStates = {
  LoadCampaign: 'LoadCampaign',
  DataQualityGateFailed: 'DataQualityGateFailed',
  CampaignConfigInvalid: 'CampaignConfigInvalid',
  Accounts: 'Accounts',
  ProcessShard: 'ProcessShard',
  ShardProgress: 'ShardProgress?',
  ShardFinished: 'ShardFinished',
  /** The shard's approvals and its deferred sends, side by side (neither waits for the other). */
  ShardFollowUps: 'ShardFollowUps',
  HasApprovals: 'HasApprovals?',
  NoApprovals: 'NoApprovals',
  ListShardApprovals: 'ListShardApprovals',
  ApprovalPages: 'ApprovalPages',
  ListApprovalPage: 'ListApprovalPage',
  ShardApprovals: 'ShardApprovals',
  RequestApproval: 'RequestApproval',
  ApprovalDecided: 'ApprovalDecided?',
  ActApproved: 'ActApproved',
  /** Whether ActApproved deferred the action to its people's next business hour (quiet hours at the moment of approval). */
  ApprovedSendTime: 'ApprovedSendTime?',
  /** Waits until that hour (the embedded default skips the wait: its clock is simulated), then ActApproved again. */
  WaitForApprovedSendTime: 'WaitForApprovedSendTime',
  ApprovalSent: 'ApprovalSent',
  RecordDecision: 'RecordDecision',
  ApprovalTimedOut: 'ApprovalTimedOut',
  Escalate: 'Escalate?',
  RequestEscalatedApproval: 'RequestEscalatedApproval',
  ApprovalClosed: 'ApprovalClosed',
  /** A shard's execution failed after its retries: alerted, and its queued approvals still listed. */
  RecordShardFailure: 'RecordShardFailure',
  /** Listing a shard's approvals failed: alerted, and the shard given up. */
  RecordListingFailure: 'RecordListingFailure',
  ShardAbandoned: 'ShardAbandoned',
  /** Listing one page of a shard's approvals failed: alerted, that page given up. */
  RecordPageFailure: 'RecordPageFailure',
  PageAbandoned: 'PageAbandoned',
  /** An approval branch failed (request, decision, execution): alerted, the other approvals go on. */
  RecordApprovalFailure: 'RecordApprovalFailure',
  ApprovalFailed: 'ApprovalFailed',
  HasDeferredSends: 'HasDeferredSends?',
  NoDeferredSends: 'NoDeferredSends',
  /** The send slots (quarter hours) the shard's deferred actions wait in. */
  ListSendSlots: 'ListSendSlots',
  /** Listing the shard's send slots failed: alerted, its deferred sends given up. */
  RecordSlotListingFailure: 'RecordSlotListingFailure',
  SendsAbandoned: 'SendsAbandoned',
  SendSlots: 'SendSlots',
  /** Waits until the slot's time (the embedded default skips the wait: its clock is simulated). */
  WaitForSendTime: 'WaitForSendTime',
  SendDeferred: 'SendDeferred',
  /** SendDeferred again once its retries of a transient tool failure ran out: that action fails, the slot goes on. */
  SettleSendDeferred: 'SettleSendDeferred',
  MoreDeferred: 'MoreDeferred?',
  SlotSent: 'SlotSent',
  /** A slot's sends failed after their retries: alerted, the other slots go on. */
  RecordSendFailure: 'RecordSendFailure',
  SlotFailed: 'SlotFailed',
  /** The shards' Map itself failed: alerted, and the run still summarized. */
  RecordRunFailure: 'RecordRunFailure',
  Summarize: 'Summarize',
} as const;

/** The functions the workflow's tasks invoke (approval-http is called by people, not by a state). */
export const WORKFLOW_FUNCTION_NAMES = [
  'load-campaign',
  'observe',
  'plan',
  'govern',
  'act',
  'record',
  'list-shard-approvals',
  'request-approval',
  'act-approved',
  'record-decision',
  'approval-timed-out',
  'list-send-slots',
  'send-deferred',
  'summarize',
  'record-failure',
] as const;
/** Name of a function a workflow task invokes. */
export type WorkflowFunctionName = (typeof WORKFLOW_FUNCTION_NAMES)[number];

/** Properties of {@link CampaignWorkflow}. */
export interface CampaignWorkflowProps {
  /** The Lambda function behind each task, by function name. */
  readonly functions: Readonly<Record<WorkflowFunctionName, IFunction>>;
  /**
   * Timeout of every plain Lambda task (request-approval waits `$.timeoutSeconds` instead).
   * @default Duration.seconds(60)
   */
  readonly taskTimeout?: Duration;
  /**
   * Timeout of one AccountBatch execution (Express: at most 5 minutes).
   * @default Duration.minutes(5)
   */
  readonly batchTimeout?: Duration;
  /**
   * Timeout of one CampaignRun execution; must outlast the longest approval wait (14 days).
   * @default Duration.days(15)
   */
  readonly runTimeout?: Duration;
  /**
   * Retention of the state machines' execution logs.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
}

/** Send slots of a shard that wait side by side (an inline Map runs at most 40 iterations at once). */
const SEND_SLOTS_AT_ONCE = 40;

// Tool calls fail transiently (timeouts, 5xx); the tool adapters are idempotent, so retrying is safe.
const TOOL_RETRY: RetryProps = { errors: [ErrorName.ToolFailed], interval: Duration.seconds(1), backoffRate: 2, maxAttempts: 3 };
// Another writer won the optimistic lock; re-reading the account state and trying again resolves it.
const STALE_RETRY: RetryProps = { errors: [ErrorName.StaleAccountState], interval: Duration.seconds(1), backoffRate: 2, maxAttempts: 3 };
/**
 * A dependency busy past the SDK's retries (DynamoDB throttling, SES 503), or the same side effect
 * in progress in another delivery: every task waits and tries again (its effects are keyed, so a
 * retry repeats nothing).
 */
const TRANSIENT_RETRY: RetryProps = { errors: [ErrorName.ServiceUnavailable, ErrorName.SideEffectInProgress], interval: Duration.seconds(2), backoffRate: 2, maxAttempts: 4, jitterStrategy: JitterType.FULL };

/** CampaignRun (Standard) with its AccountBatch (Express) child, wired to the workflow's Lambdas. */
export class CampaignWorkflow extends Construct {
  /** How long one CampaignRun may take: every approval wait, escalations included, must fit in it. */
  readonly runTimeout: Duration;
  /** The per-shard Express state machine: Observe -> Plan -> Govern -> Act -> Record, paged. */
  readonly accountBatch: StateMachine;
  /** The Standard state machine a schedule starts: load, shards, approvals, summary. */
  readonly campaignRun: StateMachine;
  /** The functions the tasks invoke, by name. */
  readonly functions: Readonly<Record<WorkflowFunctionName, IFunction>>;

  constructor(scope: Construct, id: string, props: CampaignWorkflowProps) {
    super(scope, id);
    const missing = WORKFLOW_FUNCTION_NAMES.filter((name) => !props.functions[name]);
    if (missing.length > 0) throw new Error(`CampaignWorkflow: props.functions lacks ${missing.join(', ')}`);
    const taskTimeout = props.taskTimeout ?? Duration.seconds(60);
    const batchTimeout = props.batchTimeout ?? Duration.minutes(5);
    const runTimeout = props.runTimeout ?? Duration.days(15);
    this.runTimeout = runTimeout;
    if (!batchTimeout.isUnresolved() && batchTimeout.toSeconds() > 300) {
      throw new Error('CampaignWorkflow: props.batchTimeout cannot exceed 5 minutes (the Express limit)');
    }
    if (!taskTimeout.isUnresolved() && !batchTimeout.isUnresolved() && taskTimeout.toSeconds() >= batchTimeout.toSeconds()) {
      throw new Error('CampaignWorkflow: props.taskTimeout must be shorter than props.batchTimeout');
    }
    // aws-local-stepfunctions overflows Node's timer above ~24.8 days; 14-day approvals need > 14.
    if (!runTimeout.isUnresolved() && (runTimeout.toDays() <= 14 || runTimeout.toSeconds() > 2_147_483)) {
      throw new Error('CampaignWorkflow: props.runTimeout must be over 14 days (longest approval) and under 24.8 days');
    }
    this.functions = props.functions;
    const fn = props.functions;
    const logRetention = props.logRetention ?? RetentionDays.ONE_MONTH;

    /** A plain Lambda task: the function ARN as Resource, the state as payload, no envelope. */
    const invoke = (scope: Construct, stateName: string, lambdaFunction: IFunction, resultPath: string, payload?: TaskInput) =>
      new LambdaInvoke(scope, stateName, {
        lambdaFunction,
        payloadResponseOnly: true,
        resultPath,
        taskTimeout: Timeout.duration(taskTimeout),
        ...(payload ? { payload } : {}),
      }).addRetry(TRANSIENT_RETRY);

    // ---- AccountBatch (Express) -------------------------------------------------------------
    const batch = new Construct(this, 'AccountBatchStates');
    const S = AccountBatchStates;
    const observe = invoke(batch, S.Observe, fn.observe, '$.observed').addRetry(STALE_RETRY);
    const plan = invoke(batch, S.Plan, fn.plan, '$.planned');
    const govern = invoke(batch, S.Govern, fn.govern, '$.governed');
    const record = invoke(batch, S.Record, fn.record, '$.recorded').addRetry(STALE_RETRY);
    // Blast radius of one: once the retries of a tool failure run out, Act runs again settling it
    // as that action's failed result (what already went out replays from the idempotency store).
    const settleAct = invoke(
      batch,
      S.SettleAct,
      fn.act,
      '$.acted',
      TaskInput.fromObject({
        shard: JsonPath.objectAt('$.shard'),
        cursor: JsonPath.stringAt('$.cursor'),
        queued: JsonPath.numberAt('$.queued'),
        deferred: JsonPath.numberAt('$.deferred'),
        pages: JsonPath.numberAt('$.pages'),
        observed: JsonPath.objectAt('$.observed'),
        planned: JsonPath.objectAt('$.planned'),
        governed: JsonPath.objectAt('$.governed'),
        settle: true,
      }),
    );
    settleAct.next(record);
    // After the retries, a tool that keeps failing, or a call still held by a delivery that crashed
    // mid-call (its outcome unknown), is settled: recorded as that action's failed result.
    const act = invoke(batch, S.Act, fn.act, '$.acted')
      .addRetry(TOOL_RETRY)
      .addCatch(settleAct, { errors: [ErrorName.ToolFailed, ErrorName.SideEffectInProgress], resultPath: '$.actFailure' });
    // Record says where the shard stands ($.recorded.next) and whether this execution goes on.
    const nextPage = new Pass(batch, S.NextPage, { inputPath: '$.recorded.next' });
    // The loop is closed by hand: `afterwards()` on a branch that loops back would raise
    // StateAlreadyHasNextState.
    nextPage.next(observe);
    const morePages = new Choice(batch, S.MorePages)
      .when(Condition.booleanEquals('$.recorded.continue', true), nextPage)
      // The execution's output is where the shard stands: done, or handed over with a cursor.
      .otherwise(new Succeed(batch, S.ShardDone, { outputPath: '$.recorded.next' }));
    observe.next(plan).next(govern).next(act).next(record).next(morePages);

    this.accountBatch = new StateMachine(this, 'AccountBatch', {
      stateMachineType: StateMachineType.EXPRESS,
      definitionBody: DefinitionBody.fromChainable(observe),
      timeout: batchTimeout,
      tracingEnabled: true,
      // Errors only, without execution data: at level ALL the per-account payloads would make
      // CloudWatch Logs ~75% of the run's cost, and what each step decided is in the audit table.
      logs: {
        destination: new LogGroup(this, 'AccountBatchLogs', { retention: logRetention }),
        level: LogLevel.ERROR,
        includeExecutionData: false,
      },
    });

    // ---- CampaignRun (Standard) -------------------------------------------------------------
    const run = new Construct(this, 'CampaignRunStates');
    const R = CampaignRunStates;
    const configInvalid = new Fail(run, R.CampaignConfigInvalid, { errorPath: '$.Error', causePath: '$.Cause' });
    // The book below the campaign's data-quality thresholds: the run stops before any account is
    // worked, with the findings (what to fix) as the cause, and its audit stream holds the alert.
    const gated = new Fail(run, R.DataQualityGateFailed, { errorPath: '$.Error', causePath: '$.Cause' });
    const loadCampaign = invoke(run, R.LoadCampaign, fn['load-campaign'], JsonPath.entirePayload)
      .addCatch(configInvalid, { errors: [ErrorName.InvalidConfig] })
      .addCatch(gated, { errors: [ErrorName.DataQualityGate] });

    // The Map item is a ShardInput; the child's output (a ShardInput again) replaces it.
    const processShard = new StepFunctionsStartExecution(run, R.ProcessShard, {
      stateMachine: this.accountBatch,
      integrationPattern: IntegrationPattern.RUN_JOB,
      input: TaskInput.fromObject({
        shard: JsonPath.objectAt('$.shard'),
        cursor: JsonPath.stringAt('$.cursor'),
        queued: JsonPath.numberAt('$.queued'),
        deferred: JsonPath.numberAt('$.deferred'),
        pages: JsonPath.numberAt('$.pages'),
      }),
      associateWithParent: true,
      outputPath: '$.Output',
      // The child cannot run longer than its own timeout; the margin covers start-up and polling.
      taskTimeout: Timeout.duration(batchTimeout.plus(Duration.minutes(1))),
    });
    // Blast radius of one: a failing shard or approval branch is alerted and the rest of the run goes on.
    const failureOf = (stateName: string, scope: 'shard' | 'approval' | 'send' | 'run', where: Record<string, unknown>) =>
      invoke(run, stateName, fn['record-failure'], JsonPath.DISCARD, TaskInput.fromObject({ scope, ...where, failure: JsonPath.objectAt('$.failure') }));
    const approvalFailed = failureOf(R.RecordApprovalFailure, 'approval', { runId: JsonPath.stringAt('$.runId'), approvalId: JsonPath.stringAt('$.approvalId') });
    approvalFailed.next(new Succeed(run, R.ApprovalFailed));
    const onFailure = { errors: [Errors.ALL], resultPath: '$.failure' };
    // The whole shard state goes in: without `page`, the function lists where the pages start and end.
    const listingFailed = failureOf(R.RecordListingFailure, 'shard', { runId: JsonPath.stringAt('$.shard.runId'), shard: JsonPath.numberAt('$.shard.shard') });
    listingFailed.next(new Succeed(run, R.ShardAbandoned));
    const listShardApprovals = invoke(run, R.ListShardApprovals, fn['list-shard-approvals'], '$.pending').addCatch(listingFailed, onFailure);
    // The same function with a page (from ApprovalPages' ItemSelector): that page's approvals.
    // (A state belongs to one graph: the page's Map has failure states of its own.)
    const pageFailed = failureOf(R.RecordPageFailure, 'shard', { runId: JsonPath.stringAt('$.shard.runId'), shard: JsonPath.numberAt('$.shard.shard') });
    pageFailed.next(new Succeed(run, R.PageAbandoned));
    const listApprovalPage = invoke(run, R.ListApprovalPage, fn['list-shard-approvals'], '$.pending').addCatch(pageFailed, onFailure);

    const approvalTimedOut = invoke(run, R.ApprovalTimedOut, fn['approval-timed-out'], JsonPath.entirePayload).addCatch(approvalFailed, onFailure);
    const requestApproval = (stateName: string) =>
      new LambdaInvoke(run, stateName, {
        lambdaFunction: fn['request-approval'],
        integrationPattern: IntegrationPattern.WAIT_FOR_TASK_TOKEN,
        payload: TaskInput.fromObject({
          approvalId: JsonPath.stringAt('$.approvalId'),
          runId: JsonPath.stringAt('$.runId'),
          timeoutSeconds: JsonPath.numberAt('$.timeoutSeconds'),
          taskToken: JsonPath.taskToken,
        }),
        // The link's expiry is the task's timeout: an unanswered approval ends as States.Timeout.
        taskTimeout: Timeout.at('$.timeoutSeconds'),
        resultPath: '$.decision',
      })
        .addRetry(TRANSIENT_RETRY)
        .addCatch(approvalTimedOut, { errors: [Errors.TIMEOUT], resultPath: '$.timeout' })
        .addCatch(approvalFailed, onFailure);
    const firstRequest = requestApproval(R.RequestApproval);
    const escalatedRequest = requestApproval(R.RequestEscalatedApproval);
    const actApproved = invoke(run, R.ActApproved, fn['act-approved'], '$.sent').addRetry(TOOL_RETRY).addCatch(approvalFailed, onFailure);
    // Approved while its people are in quiet hours: the branch waits for their next business hour
    // and ActApproved runs again then (once; quiet hours after that wait block it).
    const waitForApprovedSendTime = new Wait(run, R.WaitForApprovedSendTime, { time: WaitTime.timestampPath('$.sent.deferredTo') });
    waitForApprovedSendTime.next(actApproved);
    actApproved.next(
      new Choice(run, R.ApprovedSendTime)
        .when(Condition.isPresent('$.sent.deferredTo'), waitForApprovedSendTime)
        .otherwise(new Succeed(run, R.ApprovalSent)),
    );
    const recordDecision = invoke(run, R.RecordDecision, fn['record-decision'], JsonPath.DISCARD).addCatch(approvalFailed, onFailure);
    const approvalDecided = new Choice(run, R.ApprovalDecided)
      .when(Condition.stringEquals('$.decision.status', 'approved'), actApproved)
      .otherwise(recordDecision);
    firstRequest.next(approvalDecided);
    escalatedRequest.next(approvalDecided);
    approvalTimedOut.next(
      new Choice(run, R.Escalate)
        .when(Condition.booleanEquals('$.escalate', true), escalatedRequest)
        .otherwise(new Succeed(run, R.ApprovalClosed)),
    );

    // A page's approvals wait side by side, and so do the pages (40 x 40 per shard at once); every
    // payload stays bounded however many approvals a shard queues.
    const shardApprovals = new MapState(run, R.ShardApprovals, {
      itemsPath: '$.pending.approvals',
      maxConcurrency: APPROVALS_PAGE_SIZE,
      resultPath: JsonPath.DISCARD,
    }).itemProcessor(firstRequest);
    const approvalPages = new MapState(run, R.ApprovalPages, {
      itemsPath: '$.pending.pages',
      itemSelector: { shard: JsonPath.objectAt('$.shard'), page: JsonPath.objectAt('$$.Map.Item.Value') },
      maxConcurrency: APPROVALS_PAGE_SIZE,
      resultPath: JsonPath.DISCARD,
    }).itemProcessor(listApprovalPage.next(shardApprovals));
    // ---- Deferred sends: each slot of the shard waits for its time, then sends a page at a time.
    // Cost grows with the slots (quarter hours, at most a day's), not with the accounts.
    const sendFailed = failureOf(R.RecordSendFailure, 'send', {
      runId: JsonPath.stringAt('$.shard.runId'),
      shard: JsonPath.numberAt('$.shard.shard'),
      slot: JsonPath.stringAt('$.slot.at'),
    });
    sendFailed.next(new Succeed(run, R.SlotFailed));
    const slotPayload = (settle: boolean) =>
      TaskInput.fromObject({ shard: JsonPath.objectAt('$.shard'), slot: JsonPath.objectAt('$.slot'), ...(settle ? { settle: true } : {}) });
    // The output (the slot with the cursor of its next page) replaces the item.
    const settleSend = invoke(run, R.SettleSendDeferred, fn['send-deferred'], JsonPath.entirePayload, slotPayload(true)).addCatch(sendFailed, onFailure);
    const sendDeferred = invoke(run, R.SendDeferred, fn['send-deferred'], JsonPath.entirePayload, slotPayload(false))
      .addRetry(TOOL_RETRY)
      .addCatch(settleSend, { errors: [ErrorName.ToolFailed, ErrorName.SideEffectInProgress], resultPath: '$.sendFailure' })
      .addCatch(sendFailed, onFailure);
    const moreDeferred = new Choice(run, R.MoreDeferred)
      .when(Condition.isNotNull('$.slot.cursor'), sendDeferred)
      .otherwise(new Succeed(run, R.SlotSent));
    sendDeferred.next(moreDeferred);
    settleSend.next(moreDeferred);
    const waitForSendTime = new Wait(run, R.WaitForSendTime, { time: WaitTime.timestampPath('$.slot.at') });
    waitForSendTime.next(sendDeferred);
    // The slots wait side by side (a day has at most 96 of them, listed in time order: one that
    // starts when an earlier one ends still waits for its own, later time).
    const sendSlots = new MapState(run, R.SendSlots, {
      itemsPath: '$.sends.slots',
      itemSelector: { shard: JsonPath.objectAt('$.shard'), slot: JsonPath.objectAt('$$.Map.Item.Value') },
      maxConcurrency: SEND_SLOTS_AT_ONCE,
      resultPath: JsonPath.DISCARD,
    }).itemProcessor(waitForSendTime);
    const slotListingFailed = failureOf(R.RecordSlotListingFailure, 'send', { runId: JsonPath.stringAt('$.shard.runId'), shard: JsonPath.numberAt('$.shard.shard') });
    slotListingFailed.next(new Succeed(run, R.SendsAbandoned));
    const listSendSlots = invoke(run, R.ListSendSlots, fn['list-send-slots'], '$.sends').addCatch(slotListingFailed, onFailure);
    // A shard whose execution failed may have deferred actions before it failed: listed anyway.
    const failed = Condition.isPresent('$.failure');
    const hasDeferredSends = new Choice(run, R.HasDeferredSends)
      .when(Condition.or(Condition.numberGreaterThan('$.deferred', 0), failed), listSendSlots.next(sendSlots))
      .otherwise(new Succeed(run, R.NoDeferredSends));
    const hasApprovals = new Choice(run, R.HasApprovals)
      .when(Condition.or(Condition.numberGreaterThan('$.queued', 0), failed), listShardApprovals.next(approvalPages))
      .otherwise(new Succeed(run, R.NoApprovals));
    // Approvals may wait for days, deferred sends for up to a day: neither waits for the other.
    const followUps = new Parallel(run, R.ShardFollowUps, { resultPath: JsonPath.DISCARD }).branch(hasApprovals).branch(hasDeferredSends);

    // A handed-over shard goes round again from its cursor; a shard that queued approvals or
    // deferred sends follows them up; a shard with neither is finished (no Lambda, three transitions).
    const shardProgress = new Choice(run, R.ShardProgress)
      .when(Condition.isNotNull('$.cursor'), processShard)
      .when(Condition.or(Condition.numberGreaterThan('$.queued', 0), Condition.numberGreaterThan('$.deferred', 0)), followUps)
      .otherwise(new Succeed(run, R.ShardFinished));
    processShard.next(shardProgress);
    // A shard whose execution failed is alerted; what it queued or deferred before failing still goes on.
    const shardFailed = failureOf(R.RecordShardFailure, 'shard', { runId: JsonPath.stringAt('$.shard.runId'), shard: JsonPath.numberAt('$.shard.shard') });
    shardFailed.next(followUps);
    processShard.addCatch(shardFailed, onFailure);
    const accounts = new MapState(run, R.Accounts, {
      itemsPath: '$.shards',
      maxConcurrency: 4,
      resultPath: JsonPath.DISCARD,
    }).itemProcessor(processShard);
    // Summarize records and mails once (idempotent), so it can be retried through any failure.
    const summarize = invoke(
      run,
      R.Summarize,
      fn.summarize,
      JsonPath.entirePayload,
      TaskInput.fromObject({ run: JsonPath.objectAt('$.run') }),
    ).addRetry({ errors: [Errors.TASKS_FAILED], interval: Duration.seconds(2), backoffRate: 2, maxAttempts: 3 });

    // Summarize always runs: should the shards' Map itself fail, that is alerted first.
    const runFailed = failureOf(R.RecordRunFailure, 'run', { runId: JsonPath.stringAt('$.run.runId') });
    runFailed.next(summarize);
    accounts.addCatch(runFailed, onFailure);

    this.campaignRun = new StateMachine(this, 'CampaignRun', {
      stateMachineType: StateMachineType.STANDARD,
      definitionBody: DefinitionBody.fromChainable(loadCampaign.next(accounts).next(summarize)),
      timeout: runTimeout,
      tracingEnabled: true,
      logs: {
        destination: new LogGroup(this, 'CampaignRunLogs', { retention: logRetention }),
        level: LogLevel.ALL,
        // Every state, but never its data: the approval tasks' payloads carry task tokens, which
        // complete the waiting task. The decisions themselves are in the audit table.
        includeExecutionData: false,
      },
    });

    acknowledgeWildcards(this.accountBatch, [fn.observe, fn.plan, fn.govern, fn.act, fn.record]);
    Validations.of(this.accountBatch).acknowledge({
      id: 'AwsSolutions::AwsSolutions-SF1',
      reason:
        'AccountBatch logs ERROR events without execution data on purpose: at level ALL the per-account payloads ' +
        'would make CloudWatch Logs about three quarters of a run\'s cost, and every observation, decision, verdict ' +
        'and tool call is already recorded in the hash-chained audit table. CampaignRun logs ALL events.',
    });
    acknowledgeWildcards(
      this.campaignRun,
      [
        fn['load-campaign'],
        fn['list-shard-approvals'],
        fn['request-approval'],
        fn['act-approved'],
        fn['record-decision'],
        fn['approval-timed-out'],
        fn['list-send-slots'],
        fn['send-deferred'],
        fn.summarize,
        fn['record-failure'],
      ],
      this.accountBatch,
    );
  }
}

/**
 * Acknowledges, finding by finding, the wildcard resources CDK's own grants give a state machine
 * role; any other wildcard there stays a finding and fails synth.
 */
function acknowledgeWildcards(machine: StateMachine, invoked: readonly IFunction[], child?: StateMachine): void {
  const policy = machine.role.node.tryFindChild('DefaultPolicy');
  if (!policy) return;
  Validations.of(policy).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason:
      'Resource "*" is required by the X-Ray actions of tracing (PutTraceSegments, PutTelemetryRecords, ' +
      'GetSamplingRules, GetSamplingTargets) and by CloudWatch Logs vended-log delivery (logs:*LogDelivery*, ' +
      'PutResourcePolicy, DescribeResourcePolicies, DescribeLogGroups), none of which support resource-level permissions.',
  });
  for (const lambdaFunction of invoked) {
    Validations.of(policy).acknowledge({
      id: wildcardResourceFinding(machine, `${lambdaFunction.functionArn}:*`),
      reason:
        'LambdaInvoke grants lambda:InvokeFunction on the function and its versions/aliases (":*"); the wildcard ' +
        'covers qualifiers of this one function only.',
    });
  }
  if (child) {
    const stack = Stack.of(machine);
    const childName = stack.splitArn(child.stateMachineArn, ArnFormat.COLON_RESOURCE_NAME).resourceName;
    Validations.of(policy).acknowledge({
      id: wildcardResourceFinding(
        machine,
        stack.formatArn({ service: 'states', resource: 'execution', arnFormat: ArnFormat.COLON_RESOURCE_NAME, resourceName: `${childName}*` }),
      ),
      reason:
        'startExecution.sync:2 must DescribeExecution/StopExecution the child executions it starts; their names are ' +
        'generated at run time, so only executions of the AccountBatch state machine are allowed, by name prefix.',
    });
  }
}
