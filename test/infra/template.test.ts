/**
 * The synthesized template (bundling skipped): the workflow's ASL as rendered, least-privilege IAM
 * per function, and the settings of tables, functions and schedules.
 */
import { APPROVAL_CONCURRENCY } from '../../cdk/constructs/approval-endpoint.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Stack, type CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../cdk/constructs/agent-function.ts';
import { AccountBatchStates, CampaignRunStates } from '../../cdk/constructs/campaign-workflow.ts';
import type { CampaignStack, FunctionName } from '../../cdk/stacks/campaign-stack.ts';
import { buildApp } from '../../cdk/synth.ts';
import { TABLES, type TableKey } from '../../shared/adapters/dynamodb/tables.ts';
import { IDEMPOTENCY_CALLS, callsOf } from '../../shared/adapters/dynamodb/access.ts';
import { REPLAY_GUARD_CALLS, SIGNAL_LEDGER_CALLS } from '../../shared/adapters/dynamodb/signal-ledger.ts';
import { SIGNALS_CONCURRENCY } from '../../cdk/constructs/signals-endpoint.ts';
import { portEnvOf } from '../../shared/adapters/lambda/port-env.ts';
import { STEP_PORTS, tablePortsOf, type StepPorts } from '../../shared/app/steps.ts';
import { loadAllCampaigns } from '../../shared/config/load.ts';
import { ErrorName } from '../../shared/domain/errors.ts';
import { AUDIT_QUERIES, renderQuery } from '../../shared/domain/audit-queries.ts';
import { AuditAppendConflictError } from '../../shared/adapters/dynamodb/audit-log.ts';
import {
  allStates,
  asList,
  definitionOf,
  findCycle,
  idsOfType,
  referencedIds,
  stateOf,
  statementsOf,
  statementsOfRole,
  type AslState,
  type CfnTemplate,
} from './template-helpers.ts';

/** What a function's declared ports send, as IAM sees it: `dynamodb:Action table[/index/name]`. */
function declaredTableGrants(name: FunctionName): string[] {
  const out: string[] = [];
  const ports = STEP_PORTS[name] as StepPorts;
  for (const [port, methods] of tablePortsOf(ports)) {
    const { table, indexes } = callsOf(port, methods);
    for (const a of table) out.push(`dynamodb:${a} ${port}`);
    for (const [index, actions] of indexes) for (const a of actions) out.push(`dynamodb:${a} ${port}/index/${index}`);
  }
  if (ports.idempotent) for (const a of new Set(IDEMPOTENCY_CALLS.map((c) => c.action))) out.push(`dynamodb:${a} idempotency`);
  // The signal ledger's claims sit on the accounts table, the replay records on the idempotency
  // table: each adds its actions to that table's one statement.
  const add = (table: string, actions: readonly string[]) => {
    for (const a of new Set(actions)) if (!out.includes(`dynamodb:${a} ${table}`)) out.push(`dynamodb:${a} ${table}`);
  };
  if (ports.signalLedger) add('accounts', SIGNAL_LEDGER_CALLS.map((c) => c.action));
  if (ports.replayGuard) add('idempotency', REPLAY_GUARD_CALLS.map((c) => c.action));
  return out.sort();
}

let outdir: string;
let stack: CampaignStack;
let template: CfnTemplate;
const logicalId = (construct: IConstruct): string => Stack.of(construct).resolve((construct.node.defaultChild as CfnElement).logicalId) as string;

beforeAll(() => {
  outdir = mkdtempSync(join(tmpdir(), 'amk-infra-template-'));
  ({ stack } = buildApp({ outdir, bundling: false, builtinValidation: false, context: { sender: 'agents@corp.example' } }));
  template = Template.fromStack(stack).toJSON() as CfnTemplate;
}, 120_000);

afterAll(() => {
  if (outdir) rmSync(outdir, { recursive: true, force: true });
});

const campaignRun = () => allStates(definitionOf(template, logicalId(stack.workflow.campaignRun)));
const accountBatch = () => allStates(definitionOf(template, logicalId(stack.workflow.accountBatch)));
const functionArn = (name: FunctionName) => `arn:aws:lambda:eu-west-1:123456789012:function:${logicalId(stack.functions[name].lambda)}`;
const retryFor = (state: AslState, error: string) =>
  asList((state.Retry as Array<Record<string, unknown>> | undefined) ?? []).find((r) => asList(r.ErrorEquals as string[]).includes(error));

describe('CampaignRun approvals', () => {
  it('waits for a task token in RequestApproval and RequestEscalatedApproval, timing out after the item timeoutSeconds', () => {
    const states = campaignRun();
    for (const name of [CampaignRunStates.RequestApproval, CampaignRunStates.RequestEscalatedApproval]) {
      const state = stateOf(states, name);
      expect(state.Resource).toBe('arn:aws:states:::lambda:invoke.waitForTaskToken');
      expect(state.TimeoutSecondsPath).toBe('$.timeoutSeconds');
      expect(state.TimeoutSeconds).toBeUndefined();
      expect(state.ResultPath).toBe('$.decision');
      expect(state.Parameters).toEqual({
        FunctionName: functionArn('request-approval'),
        Payload: { 'approvalId.$': '$.approvalId', 'runId.$': '$.runId', 'timeoutSeconds.$': '$.timeoutSeconds', 'taskToken.$': '$$.Task.Token' },
      });
      expect(state.Catch).toEqual([
        { ErrorEquals: ['States.Timeout'], ResultPath: '$.timeout', Next: CampaignRunStates.ApprovalTimedOut },
        { ErrorEquals: ['States.ALL'], ResultPath: '$.failure', Next: CampaignRunStates.RecordApprovalFailure },
      ]);
      expect(state.Next).toBe(CampaignRunStates.ApprovalDecided);
    }
  });

  it('has no other .waitForTaskToken task anywhere in the template', () => {
    const waiting: string[] = [];
    for (const id of idsOfType(template, 'AWS::StepFunctions::StateMachine')) {
      for (const [name, state] of allStates(definitionOf(template, id))) {
        if (typeof state.Resource === 'string' && state.Resource.includes('.waitForTaskToken')) waiting.push(name);
      }
    }
    expect(waiting.sort()).toEqual([CampaignRunStates.RequestApproval, CampaignRunStates.RequestEscalatedApproval].sort());
  });

  it('acts on an approved decision and records any other, then escalates or closes a timed-out approval', () => {
    const states = campaignRun();
    expect(stateOf(states, CampaignRunStates.ApprovalDecided)).toEqual({
      Type: 'Choice',
      Choices: [{ Variable: '$.decision.status', StringEquals: 'approved', Next: CampaignRunStates.ActApproved }],
      Default: CampaignRunStates.RecordDecision,
    });
    expect(stateOf(states, CampaignRunStates.ActApproved)).toMatchObject({ Resource: functionArn('act-approved'), ResultPath: '$.sent', Next: CampaignRunStates.ApprovedSendTime });
    // Approved during its people's quiet hours: wait for their next business hour, then act again.
    expect(stateOf(states, CampaignRunStates.ApprovedSendTime)).toEqual({
      Type: 'Choice',
      Choices: [{ Variable: '$.sent.deferredTo', IsPresent: true, Next: CampaignRunStates.WaitForApprovedSendTime }],
      Default: CampaignRunStates.ApprovalSent,
    });
    expect(stateOf(states, CampaignRunStates.WaitForApprovedSendTime)).toEqual({ Type: 'Wait', TimestampPath: '$.sent.deferredTo', Next: CampaignRunStates.ActApproved });
    expect(stateOf(states, CampaignRunStates.ApprovalSent).Type).toBe('Succeed');
    expect(stateOf(states, CampaignRunStates.RecordDecision)).toMatchObject({ Resource: functionArn('record-decision'), End: true });
    expect(stateOf(states, CampaignRunStates.ApprovalTimedOut)).toMatchObject({
      Resource: functionArn('approval-timed-out'),
      ResultPath: '$',
      Next: CampaignRunStates.Escalate,
    });
    expect(stateOf(states, CampaignRunStates.Escalate)).toEqual({
      Type: 'Choice',
      Choices: [{ Variable: '$.escalate', BooleanEquals: true, Next: CampaignRunStates.RequestEscalatedApproval }],
      Default: CampaignRunStates.ApprovalClosed,
    });
    expect(stateOf(states, CampaignRunStates.ApprovalClosed).Type).toBe('Succeed');
  });

  it('splits a shard\'s approvals into pages that wait side by side, 40 pages of 40 at a time, discarding their results', () => {
    const states = campaignRun();
    const list = stateOf(states, CampaignRunStates.ListShardApprovals);
    expect(list).toMatchObject({ Resource: functionArn('list-shard-approvals'), ResultPath: '$.pending', Next: CampaignRunStates.ApprovalPages });
    // The whole shard state goes in; without a page the function lists the pages.
    expect(list.Parameters).toBeUndefined();
    const pages = stateOf(states, CampaignRunStates.ApprovalPages);
    expect(pages).toMatchObject({
      Type: 'Map',
      ItemsPath: '$.pending.pages',
      ItemSelector: { 'shard.$': '$.shard', 'page.$': '$$.Map.Item.Value' },
      MaxConcurrency: 40,
      ResultPath: null,
      End: true,
    });
    expect(pages.ItemProcessor).toMatchObject({ ProcessorConfig: { Mode: 'INLINE' }, StartAt: CampaignRunStates.ListApprovalPage });
    // The same function with the page: that page's approvals.
    expect(stateOf(states, CampaignRunStates.ListApprovalPage)).toMatchObject({
      Resource: functionArn('list-shard-approvals'),
      ResultPath: '$.pending',
      Next: CampaignRunStates.ShardApprovals,
    });
    const map = stateOf(states, CampaignRunStates.ShardApprovals);
    expect(map).toMatchObject({ Type: 'Map', ItemsPath: '$.pending.approvals', MaxConcurrency: 40, ResultPath: null, End: true });
    expect(map.ItemProcessor).toMatchObject({ ProcessorConfig: { Mode: 'INLINE' }, StartAt: CampaignRunStates.RequestApproval });
  });
});

describe('CampaignRun deferred sends', () => {
  it('lists a shard\'s send slots, and sends each slot after a Wait until its time, a page at a time', () => {
    const states = campaignRun();
    const R = CampaignRunStates;
    // The whole shard state goes in; the slots come back under $.sends.
    const list = stateOf(states, R.ListSendSlots);
    expect(list).toMatchObject({ Resource: functionArn('list-send-slots'), ResultPath: '$.sends', Next: R.SendSlots });
    expect(list.Parameters).toBeUndefined();
    const slots = stateOf(states, R.SendSlots);
    expect(slots).toMatchObject({
      Type: 'Map',
      ItemsPath: '$.sends.slots',
      ItemSelector: { 'shard.$': '$.shard', 'slot.$': '$$.Map.Item.Value' },
      MaxConcurrency: 40,
      ResultPath: null,
      End: true,
    });
    expect(slots.ItemProcessor).toMatchObject({ ProcessorConfig: { Mode: 'INLINE' }, StartAt: R.WaitForSendTime });
    expect(stateOf(states, R.WaitForSendTime)).toEqual({ Type: 'Wait', TimestampPath: '$.slot.at', Next: R.SendDeferred });
    // The slot with the cursor of its next page replaces the item; the Choice comes back for the rest.
    const send = stateOf(states, R.SendDeferred);
    expect(send).toMatchObject({
      Type: 'Task',
      Resource: functionArn('send-deferred'),
      Parameters: { 'shard.$': '$.shard', 'slot.$': '$.slot' },
      ResultPath: '$',
      Next: R.MoreDeferred,
    });
    expect(stateOf(states, R.MoreDeferred)).toEqual({
      Type: 'Choice',
      Choices: [{ Variable: '$.slot.cursor', IsNull: false, Next: R.SendDeferred }],
      Default: R.SlotSent,
    });
  });

  it('retries a transient tool failure of a send, then settles it as that action\'s failure and goes on with the slot', () => {
    const states = campaignRun();
    const R = CampaignRunStates;
    const send = stateOf(states, R.SendDeferred);
    expect(retryFor(send, ErrorName.ToolFailed)).toEqual({ ErrorEquals: [ErrorName.ToolFailed], IntervalSeconds: 1, BackoffRate: 2, MaxAttempts: 3 });
    expect(send.Catch).toEqual([
      { ErrorEquals: [ErrorName.ToolFailed, ErrorName.SideEffectInProgress], ResultPath: '$.sendFailure', Next: R.SettleSendDeferred },
      { ErrorEquals: ['States.ALL'], ResultPath: '$.failure', Next: R.RecordSendFailure },
    ]);
    expect(stateOf(states, R.SettleSendDeferred)).toMatchObject({
      Resource: functionArn('send-deferred'),
      Parameters: { 'shard.$': '$.shard', 'slot.$': '$.slot', settle: true },
      ResultPath: '$',
      Next: R.MoreDeferred,
    });
  });
});

describe('CampaignRun and AccountBatch', () => {
  it('runs AccountBatch as an Express state machine logging errors and CampaignRun as a Standard one logging every state but no execution data (task tokens), both traced', () => {
    const batch = template.Resources[logicalId(stack.workflow.accountBatch)]?.Properties;
    const run = template.Resources[logicalId(stack.workflow.campaignRun)]?.Properties;
    expect(batch?.StateMachineType).toBe('EXPRESS');
    expect(run?.StateMachineType).toBe('STANDARD');
    for (const props of [batch, run]) {
      expect(props?.TracingConfiguration).toEqual({ Enabled: true });
      expect(props?.LoggingConfiguration).toMatchObject(
        props === batch ? { Level: 'ERROR', IncludeExecutionData: false } : { Level: 'ALL', IncludeExecutionData: false },
      );
      const logGroupId = [...referencedIds(props?.LoggingConfiguration)][0] ?? '';
      expect(template.Resources[logGroupId]?.Properties?.RetentionInDays).toBeGreaterThan(0);
    }
    expect(definitionOf(template, logicalId(stack.workflow.accountBatch)).TimeoutSeconds).toBe(300);
    // Approvals may wait 14 days; the run must outlast them.
    expect(definitionOf(template, logicalId(stack.workflow.campaignRun)).TimeoutSeconds).toBe(15 * 24 * 3600);
  });

  it('starts AccountBatch executions per shard with startExecution.sync:2, associated with the parent, until the shard is done', () => {
    const states = campaignRun();
    const accounts = stateOf(states, CampaignRunStates.Accounts);
    expect(accounts).toMatchObject({ Type: 'Map', ItemsPath: '$.shards', MaxConcurrency: 4, ResultPath: null, Next: CampaignRunStates.Summarize });
    expect(accounts.ItemProcessor).toMatchObject({ ProcessorConfig: { Mode: 'INLINE' }, StartAt: CampaignRunStates.ProcessShard });
    const processShard = stateOf(states, CampaignRunStates.ProcessShard);
    expect(processShard).toMatchObject({
      Type: 'Task',
      Resource: 'arn:aws:states:::states:startExecution.sync:2',
      // The child's output (where the shard stands) replaces the item.
      OutputPath: '$.Output',
      Next: CampaignRunStates.ShardProgress,
      Parameters: {
        StateMachineArn: `<${logicalId(stack.workflow.accountBatch)}>`,
        Input: {
          'shard.$': '$.shard',
          'cursor.$': '$.cursor',
          'queued.$': '$.queued',
          'deferred.$': '$.deferred',
          'pages.$': '$.pages',
          'AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$': '$$.Execution.Id',
        },
      },
    });
    expect(processShard.ResultPath).toBeUndefined();
    expect(processShard.TimeoutSeconds).toBeGreaterThan(300);
    // A handed-over shard goes round again; one that queued approvals or deferred sends follows them up.
    expect(stateOf(states, CampaignRunStates.ShardProgress)).toEqual({
      Type: 'Choice',
      Choices: [
        { Variable: '$.cursor', IsNull: false, Next: CampaignRunStates.ProcessShard },
        {
          Or: [
            { Variable: '$.queued', NumericGreaterThan: 0 },
            { Variable: '$.deferred', NumericGreaterThan: 0 },
          ],
          Next: CampaignRunStates.ShardFollowUps,
        },
      ],
      Default: CampaignRunStates.ShardFinished,
    });
    expect(stateOf(states, CampaignRunStates.ShardFinished).Type).toBe('Succeed');
    // The approvals and the deferred sends of a shard go side by side: neither waits for the other.
    const followUps = stateOf(states, CampaignRunStates.ShardFollowUps);
    expect(followUps).toMatchObject({ Type: 'Parallel', ResultPath: null, End: true });
    expect((followUps.Branches as Array<{ StartAt: string }>).map((b) => b.StartAt)).toEqual([CampaignRunStates.HasApprovals, CampaignRunStates.HasDeferredSends]);
    // Each lists what it follows up when the shard has some, or when its execution failed (what it had done before is not known).
    const failed = { Variable: '$.failure', IsPresent: true };
    expect(stateOf(states, CampaignRunStates.HasApprovals)).toEqual({
      Type: 'Choice',
      Choices: [{ Or: [{ Variable: '$.queued', NumericGreaterThan: 0 }, failed], Next: CampaignRunStates.ListShardApprovals }],
      Default: CampaignRunStates.NoApprovals,
    });
    expect(stateOf(states, CampaignRunStates.HasDeferredSends)).toEqual({
      Type: 'Choice',
      Choices: [{ Or: [{ Variable: '$.deferred', NumericGreaterThan: 0 }, failed], Next: CampaignRunStates.ListSendSlots }],
      Default: CampaignRunStates.NoDeferredSends,
    });
  });

  it('loads the campaign into the state and fails the run with the caught error when the configuration is invalid or the book misses the data-quality gate', () => {
    const states = campaignRun();
    expect(stateOf(states, CampaignRunStates.LoadCampaign)).toMatchObject({
      Resource: functionArn('load-campaign'),
      ResultPath: '$',
      Catch: [
        { ErrorEquals: [ErrorName.InvalidConfig], Next: CampaignRunStates.CampaignConfigInvalid },
        { ErrorEquals: [ErrorName.DataQualityGate], Next: CampaignRunStates.DataQualityGateFailed },
      ],
      Next: CampaignRunStates.Accounts,
    });
    expect(stateOf(states, CampaignRunStates.CampaignConfigInvalid)).toEqual({ Type: 'Fail', ErrorPath: '$.Error', CausePath: '$.Cause' });
    expect(stateOf(states, CampaignRunStates.DataQualityGateFailed)).toEqual({ Type: 'Fail', ErrorPath: '$.Error', CausePath: '$.Cause' });
    expect(stateOf(states, CampaignRunStates.Summarize)).toMatchObject({
      Resource: functionArn('summarize'),
      Parameters: { 'run.$': '$.run' },
      ResultPath: '$',
      End: true,
    });
  });

  it('namespaces each AccountBatch result, invokes each function directly, and loops while Record says to go on', () => {
    const states = accountBatch();
    const S = AccountBatchStates;
    const steps: Array<[string, FunctionName, string, string]> = [
      [S.Observe, 'observe', '$.observed', S.Plan],
      [S.Plan, 'plan', '$.planned', S.Govern],
      [S.Govern, 'govern', '$.governed', S.Act],
      [S.Act, 'act', '$.acted', S.Record],
      [S.Record, 'record', '$.recorded', S.MorePages],
    ];
    for (const [name, fn, resultPath, next] of steps) {
      const state = stateOf(states, name);
      expect(state).toMatchObject({ Type: 'Task', Resource: functionArn(fn), ResultPath: resultPath, Next: next });
      // payloadResponseOnly: the whole state goes in, the bare result comes out.
      expect(state.Parameters).toBeUndefined();
      expect(state.ResultSelector).toBeUndefined();
    }
    expect(stateOf(states, S.MorePages)).toEqual({
      Type: 'Choice',
      Choices: [{ Variable: '$.recorded.continue', BooleanEquals: true, Next: S.NextPage }],
      Default: S.ShardDone,
    });
    // Record's `next` (where the shard stands) is the next page's input, and the execution's output.
    expect(stateOf(states, S.NextPage)).toEqual({ Type: 'Pass', InputPath: '$.recorded.next', Next: S.Observe });
    expect(stateOf(states, S.ShardDone)).toEqual({ Type: 'Succeed', OutputPath: '$.recorded.next' });
  });

  it('retries the named domain errors and keeps the default Lambda service retries on every Lambda task', () => {
    const batch = accountBatch();
    const run = campaignRun();
    for (const name of [AccountBatchStates.Observe, AccountBatchStates.Record]) {
      expect(retryFor(stateOf(batch, name), ErrorName.StaleAccountState)).toMatchObject({ MaxAttempts: 3 });
    }
    for (const state of [stateOf(batch, AccountBatchStates.Act), stateOf(run, CampaignRunStates.ActApproved)]) {
      expect(retryFor(state, ErrorName.ToolFailed)).toEqual({
        ErrorEquals: [ErrorName.ToolFailed],
        IntervalSeconds: 1,
        BackoffRate: 2,
        MaxAttempts: 3,
      });
    }
    const errorNames = new Set<string>(Object.values(ErrorName));
    for (const states of [batch, run]) {
      for (const [name, state] of states) {
        if (state.Type !== 'Task') continue;
        const caught = [...asList((state.Retry as unknown[]) ?? []), ...asList((state.Catch as unknown[]) ?? [])].flatMap(
          (r) => (r as { ErrorEquals: string[] }).ErrorEquals,
        );
        // Every matched name is a Step Functions/Lambda name or one of the ErrorName constants.
        for (const error of caught) expect(error.startsWith('States.') || error.startsWith('Lambda.') || errorNames.has(error), `${name}: ${error}`).toBe(true);
        if (String(state.Resource).includes(':lambda:')) {
          expect(retryFor(state, 'Lambda.ServiceException'), `${name} keeps the Lambda retries`).toBeDefined();
        }
      }
    }
  });

  it('gives every Task an explicit timeout', () => {
    for (const states of [accountBatch(), campaignRun()]) {
      for (const [name, state] of states) {
        if (state.Type !== 'Task') continue;
        const explicit = typeof state.TimeoutSeconds === 'number' || typeof state.TimeoutSecondsPath === 'string';
        expect(explicit, `${name} has TimeoutSeconds or TimeoutSecondsPath`).toBe(true);
      }
    }
  });
});

describe('blast radius of one', () => {
  const catchOf = (state: AslState | undefined) => (state?.Catch as Array<{ ErrorEquals: string[]; ResultPath?: string; Next: string }> | undefined) ?? [];

  it('retries every Lambda task on a dependency busy past the SDK\'s retries, and on a side effect another delivery holds', () => {
    let tasks = 0;
    for (const states of [accountBatch(), campaignRun()]) {
      for (const [name, state] of states) {
        if (state.Type !== 'Task' || !JSON.stringify(state.Resource ?? '').includes('lambda')) continue;
        tasks += 1;
        const retry = retryFor(state, ErrorName.ServiceUnavailable);
        expect(retry, name).toBeDefined();
        expect(asList(retry?.ErrorEquals as string[]), name).toContain(ErrorName.SideEffectInProgress);
      }
    }
    // Observe, Plan, Govern, Act, SettleAct, Record; LoadCampaign, the listings, the approval branch, the failures, Summarize.
    expect(tasks).toBeGreaterThanOrEqual(18);
  });

  it('retries every Lambda task whose audit stream was too busy to append to (dozens of approval branches share RUN#)', () => {
    // The adapter's error once failed an approval branch: its name was in no Retry.
    const busy = new AuditAppendConflictError('could not append to RUN#r after 10 retries');
    for (const states of [accountBatch(), campaignRun()]) {
      for (const [name, state] of states) {
        if (state.Type !== 'Task' || !JSON.stringify(state.Resource ?? '').includes('lambda')) continue;
        expect(retryFor(state, busy.name), `${name} retries ${busy.name}`).toBeDefined();
      }
    }
  });

  it('settles an Act whose tool retries ran out (or whose call a crashed delivery still holds) as that action\'s failed result, and records the page', () => {
    const states = accountBatch();
    expect(catchOf(stateOf(states, AccountBatchStates.Act))).toEqual([
      { ErrorEquals: [ErrorName.ToolFailed, ErrorName.SideEffectInProgress], ResultPath: '$.actFailure', Next: AccountBatchStates.SettleAct },
    ]);
    const settle = stateOf(states, AccountBatchStates.SettleAct);
    expect(settle.Resource).toBe(stateOf(states, AccountBatchStates.Act).Resource);
    expect((settle.Parameters as Record<string, unknown>).settle).toBe(true);
    expect(settle.Next).toBe(AccountBatchStates.Record);
  });

  it('catches a failing shard (alert, then its queued approvals), a failing approval branch, a failing listing, and the Map, so Summarize always runs', () => {
    const states = campaignRun();
    const R = CampaignRunStates;
    expect(catchOf(stateOf(states, R.ProcessShard))).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.failure', Next: R.RecordShardFailure }]);
    expect(stateOf(states, R.RecordShardFailure).Next).toBe(R.ShardFollowUps);
    for (const name of [R.RequestEscalatedApproval, R.ActApproved, R.RecordDecision, R.ApprovalTimedOut]) {
      expect(catchOf(stateOf(states, name)).at(-1), name).toEqual({ ErrorEquals: ['States.ALL'], ResultPath: '$.failure', Next: R.RecordApprovalFailure });
    }
    expect(catchOf(stateOf(states, R.ListShardApprovals))).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.failure', Next: R.RecordListingFailure }]);
    expect(catchOf(stateOf(states, R.ListApprovalPage))).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.failure', Next: R.RecordPageFailure }]);
    expect(catchOf(stateOf(states, R.ListSendSlots))).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.failure', Next: R.RecordSlotListingFailure }]);
    expect(catchOf(stateOf(states, R.SettleSendDeferred))).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.failure', Next: R.RecordSendFailure }]);
    expect(stateOf(states, R.RecordSendFailure)).toMatchObject({
      Parameters: { scope: 'send', 'runId.$': '$.shard.runId', 'shard.$': '$.shard.shard', 'slot.$': '$.slot.at', 'failure.$': '$.failure' },
      Next: R.SlotFailed,
    });
    expect(catchOf(stateOf(states, R.Accounts))).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.failure', Next: R.RecordRunFailure }]);
    expect(stateOf(states, R.RecordRunFailure).Next).toBe(R.Summarize);
    for (const name of [R.RecordShardFailure, R.RecordListingFailure, R.RecordPageFailure, R.RecordApprovalFailure, R.RecordSlotListingFailure, R.RecordSendFailure, R.RecordRunFailure]) {
      expect(stateOf(states, name).Resource, name).toBe(functionArn('record-failure'));
    }
  });
});

describe('IAM', () => {
  const allStatements = () =>
    Object.values(template.Resources).flatMap((r) =>
      r.Type === 'AWS::IAM::Policy'
        ? statementsOf(r.Properties?.PolicyDocument)
        : r.Type === 'AWS::IAM::Role'
          ? ((r.Properties?.Policies as Array<{ PolicyDocument: unknown }> | undefined) ?? []).flatMap((p) => statementsOf(p.PolicyDocument))
          : [],
    );

  it('grants no wildcard action in any policy statement', () => {
    const actions = allStatements().flatMap((s) => asList(s.Action));
    expect(actions.length).toBeGreaterThan(0);
    expect(actions.filter((a) => a.includes('*'))).toEqual([]);
  });

  it('allows Resource "*" only for X-Ray and CloudWatch Logs delivery, which have no resource-level permissions', () => {
    const starred = allStatements()
      .filter((s) => asList(s.Resource).includes('*'))
      .flatMap((s) => asList(s.Action));
    for (const action of starred) expect(action, action).toMatch(/^(xray:[A-Za-z]+|logs:(Create|Get|Update|Delete|List)LogDeliver(y|ies)|logs:PutResourcePolicy|logs:DescribeResourcePolicies|logs:DescribeLogGroups)$/);
  });

  it('lets each function role send exactly the DynamoDB actions its declared repository methods send, on exactly those tables and indexes', () => {
    const tableByLogicalId = new Map((Object.keys(TABLES) as TableKey[]).map((key) => [logicalId(stack.tables.table(key)), key]));
    for (const name of Object.keys(stack.functions) as FunctionName[]) {
      const granted: string[] = [];
      for (const statement of statementsOfRole(template, logicalId(stack.functions[name].role))) {
        // The audit table's Deny grants nothing (the next test).
        if (statement.Effect === 'Deny') continue;
        const actions = asList(statement.Action).filter((a) => a.startsWith('dynamodb:'));
        if (actions.length === 0) continue;
        const resources = Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource];
        for (const resource of resources) {
          const ids = [...referencedIds(resource)];
          expect(ids, `${name}: one table per resource`).toHaveLength(1);
          const key = tableByLogicalId.get(ids[0] ?? '');
          expect(key, `${name}: DynamoDB actions outside any table`).toBeDefined();
          const index = /\/index\/([A-Za-z0-9_.-]+)"/.exec(JSON.stringify(resource))?.[1];
          for (const a of actions) granted.push(`${a} ${key}${index ? `/index/${index}` : ''}`);
        }
      }
      expect(granted.sort(), name).toEqual(declaredTableGrants(name));
    }
  });

  it('grants what the six wiring defects lacked: audit to LoadCampaign, runs to Govern, accounts to ActApproved and the page, SES to Act and ActApproved', () => {
    const grants = (name: FunctionName) => declaredTableGrants(name);
    expect(grants('load-campaign')).toEqual(expect.arrayContaining(['dynamodb:PutItem audit', 'dynamodb:Query audit', 'dynamodb:PutItem runs']));
    // Govern reserves spend (conditional UpdateItem) and reads the item back when refused.
    expect(grants('govern')).toEqual(['dynamodb:GetItem runs', 'dynamodb:UpdateItem runs']);
    expect(grants('act-approved')).toContain('dynamodb:Query accounts');
    expect(grants('approval-http')).toEqual(expect.arrayContaining(['dynamodb:GetItem accounts', 'dynamodb:Query accounts']));
    for (const name of ['act', 'act-approved', 'request-approval', 'summarize'] as const) {
      const ses = statementsOfRole(template, logicalId(stack.functions[name].role)).filter((st) => asList(st.Action).includes('ses:SendEmail'));
      expect(ses, name).toHaveLength(1);
      const variables = (template.Resources[logicalId(stack.functions[name].lambda)]?.Properties?.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(variables.MAIL_FROM, name).toBe('agents@corp.example');
    }
    for (const name of ['observe', 'record'] as const) {
      const variables = (template.Resources[logicalId(stack.functions[name].lambda)]?.Properties?.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(variables.CAMPAIGNS_FILE, name).toBe('campaigns.json');
    }
  });

  it('never lets anyone update or delete audit events, and denies it to every function role outright', () => {
    const audit = logicalId(stack.tables.table('audit'));
    const offending = Object.entries(template.Resources).flatMap(([id, r]) =>
      (r.Type === 'AWS::IAM::Policy' ? statementsOf(r.Properties?.PolicyDocument) : [])
        .filter((s) => s.Effect !== 'Deny' && referencedIds(s.Resource).has(audit))
        .flatMap((s) => asList(s.Action).filter((a) => /^dynamodb:(UpdateItem|DeleteItem|BatchWriteItem|PartiQL)/.test(a)).map((a) => `${id}: ${a}`)),
    );
    expect(offending).toEqual([]);
    for (const name of Object.keys(stack.functions) as FunctionName[]) {
      const denied = statementsOfRole(template, logicalId(stack.functions[name].role))
        .filter((st) => st.Effect === 'Deny' && referencedIds(st.Resource).has(audit))
        .flatMap((st) => asList(st.Action));
      expect(denied, name).toEqual(expect.arrayContaining(['dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem']));
    }
  });

  it('lets only the approval endpoint and RequestApproval complete waiting tasks, and only those of CampaignRun', () => {
    // The page completes the task with the human's decision; RequestApproval completes it at once
    // when the decision was made while no task waited (a resumed run).
    const sendTask = Object.entries(template.Resources).flatMap(([id, r]) =>
      r.Type === 'AWS::IAM::Policy'
        ? statementsOf(r.Properties?.PolicyDocument)
            .filter((s) => asList(s.Action).some((a) => a.startsWith('states:SendTask')))
            .map((s) => ({ id, roles: r.Properties?.Roles, statement: s }))
        : [],
    );
    expect(sendTask).toHaveLength(2);
    for (const grant of sendTask) {
      expect(asList(grant.statement.Action)).toEqual(['states:SendTaskSuccess']);
      expect(grant.statement.Resource).toEqual({ Ref: logicalId(stack.workflow.campaignRun) });
    }
    expect(sendTask.flatMap((g) => g.roles as unknown[])).toEqual(
      expect.arrayContaining([{ Ref: logicalId(stack.functions['approval-http'].role) }, { Ref: logicalId(stack.functions['request-approval'].role) }]),
    );
  });

  it('reserves (and so caps) the concurrency of the public approval and signals functions, and of no other', () => {
    const reserved = Object.values(template.Resources)
      .filter((r) => r.Type === 'AWS::Lambda::Function' && r.Properties?.ReservedConcurrentExecutions !== undefined)
      .map((r) => [r.Metadata?.['amk:function'], r.Properties?.ReservedConcurrentExecutions]);
    expect(reserved.sort()).toEqual([['approval-http', APPROVAL_CONCURRENCY], ['signals-http', SIGNALS_CONCURRENCY]]);
  });

  it('lets the schedules invoke only StartRun and the audit verifier, and StartRun start only CampaignRun executions', () => {
    const startRun = stack.functions['start-run'];
    const arn = { 'Fn::GetAtt': [logicalId(startRun.lambda), 'Arn'] };
    const verifier = { 'Fn::GetAtt': [logicalId(stack.functions['audit-verify'].lambda), 'Arn'] };
    expect(statementsOfRole(template, logicalId(stack.schedules.role))).toEqual([
      { Action: 'lambda:InvokeFunction', Effect: 'Allow', Resource: [arn, { 'Fn::Join': ['', [arn, ':*']] }] },
      { Action: 'lambda:InvokeFunction', Effect: 'Allow', Resource: [verifier, { 'Fn::Join': ['', [verifier, ':*']] }] },
    ]);
    const starts = statementsOfRole(template, logicalId(startRun.role)).filter((st) => asList(st.Action).some((a) => a.startsWith('states:')));
    expect(starts).toEqual([{ Action: 'states:StartExecution', Effect: 'Allow', Resource: { Ref: logicalId(stack.workflow.campaignRun) } }]);
    const variables = (template.Resources[logicalId(startRun.lambda)]?.Properties?.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(variables.CAMPAIGN_RUN_ARN).toEqual({ Ref: logicalId(stack.workflow.campaignRun) });
  });
});

describe('functions', () => {
  it('runs every Lambda on nodejs22.x, arm64, with active tracing, its own log group (30 days, with a data protection policy) and its handler in metadata', () => {
    const ids = idsOfType(template, 'AWS::Lambda::Function');
    // The 15 workflow tasks (list-send-slots and send-deferred among them), the approval page,
    // StartRun, the signal intake (signals-http, signals-events, ses-events) and the audit verifier.
    expect(ids).toHaveLength(21);
    expect(Object.keys(stack.functions)).toHaveLength(21);
    for (const [name, fn] of Object.entries(stack.functions)) {
      const resource = template.Resources[logicalId(fn.lambda)];
      expect(resource?.Properties).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        TracingConfig: { Mode: 'Active' },
        MemorySize: 256,
        // The daily audit verifier walks every stream a week of runs signed: it gets ten minutes.
        Timeout: name === 'audit-verify' ? 600 : 30,
        Environment: { Variables: { NODE_OPTIONS: '--enable-source-maps' } },
      });
      expect(resource?.Metadata).toMatchObject({ 'amk:entry': `functions/${name}/handler.ts`, 'amk:function': name });
      const logGroup = [...referencedIds(resource?.Properties?.LoggingConfig)][0] ?? '';
      expect(template.Resources[logGroup]?.Properties?.RetentionInDays).toBe(30);
      // The safety net: email addresses and link signatures are masked (audited and de-identified).
      const policy = JSON.stringify(template.Resources[logGroup]?.Properties?.DataProtectionPolicy);
      expect(policy, name).toContain(':dataprotection::aws:data-identifier/EmailAddress');
      expect(policy, name).toContain('ApprovalLinkSignature');
      expect(policy, name).toContain('Deidentify');
    }
  });

  it('sets exactly the environment variables its ports need, and no other', () => {
    for (const [name, fn] of Object.entries(stack.functions) as Array<[FunctionName, (typeof stack.functions)[FunctionName]]>) {
      const variables = (template.Resources[logicalId(fn.lambda)]?.Properties?.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(Object.keys(variables).sort(), name).toEqual(['NODE_OPTIONS', ...portEnvOf(STEP_PORTS[name]).keys()].sort());
      expect(variables.CAMPAIGNS_FILE, name).toBe('config' in STEP_PORTS[name] ? 'campaigns.json' : undefined);
    }
  });

  it('serves approvals on a Function URL without IAM auth and gives the link sender its URL and signing key', () => {
    // Two public URLs: the approval page's and the signals endpoint's (signals-infra.test.ts).
    const urls = idsOfType(template, 'AWS::Lambda::Url').filter((id) => referencedIds(template.Resources[id]?.Properties?.TargetFunctionArn).has(logicalId(stack.functions['approval-http'].lambda)));
    expect(urls).toHaveLength(1);
    expect(idsOfType(template, 'AWS::Lambda::Url')).toHaveLength(2);
    const url = template.Resources[urls[0] ?? '']?.Properties;
    expect(url?.AuthType).toBe('NONE');
    expect(referencedIds(url?.TargetFunctionArn)).toEqual(new Set([logicalId(stack.functions['approval-http'].lambda)]));
    const sender = template.Resources[logicalId(stack.functions['request-approval'].lambda)]?.Properties?.Environment as {
      Variables: Record<string, unknown>;
    };
    expect(sender.Variables.APPROVAL_BASE_URL).toEqual({ 'Fn::GetAtt': [urls[0], 'FunctionUrl'] });
    const secret = logicalId(stack.approvals.signingKey);
    expect(sender.Variables.SIGNING_KEY_SECRET_ARN).toEqual({ Ref: secret });
    for (const name of ['request-approval', 'approval-http'] as const) {
      const reads = statementsOfRole(template, logicalId(stack.functions[name].role)).filter((s) => referencedIds(s.Resource).has(secret));
      expect(reads.flatMap((s) => asList(s.Action)), name).toContain('secretsmanager:GetSecretValue');
    }
  });

  it('has no dependency cycle, although request-approval reads the URL of a function that completes its tasks', () => {
    expect(findCycle(template)).toBeUndefined();
  });
});

describe('tables', () => {
  it('creates every declared table on demand with PITR, encryption, deletion protection, retention, its TTL and its index projections', () => {
    for (const [key, def] of Object.entries(TABLES) as Array<[TableKey, (typeof TABLES)[TableKey]]>) {
      const resource = template.Resources[logicalId(stack.tables.table(key))];
      expect(resource?.DeletionPolicy, key).toBe('Retain');
      expect(resource?.UpdateReplacePolicy, key).toBe('Retain');
      expect(resource?.Properties, key).toMatchObject({
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true },
        DeletionProtectionEnabled: true,
        KeySchema: [{ AttributeName: def.partitionKey, KeyType: 'HASH' }, ...(def.sortKey ? [{ AttributeName: def.sortKey, KeyType: 'RANGE' }] : [])],
      });
      expect(resource?.Properties?.TimeToLiveSpecification, key).toEqual(
        def.ttlAttribute ? { AttributeName: def.ttlAttribute, Enabled: true } : undefined,
      );
      const indexes = (resource?.Properties?.GlobalSecondaryIndexes as Array<Record<string, unknown>> | undefined) ?? [];
      expect(indexes.map((i) => i.IndexName), key).toEqual(def.indexes.map((i) => i.name));
      indexes.forEach((index, i) => expect(index.Projection, `${key}.${String(index.IndexName)}`).toEqual({ ProjectionType: def.indexes[i]?.projection ?? 'ALL' }));
    }
    expect(idsOfType(template, 'AWS::DynamoDB::Table')).toHaveLength(Object.keys(TABLES).length);
    // The audit trail's and the approvals' run indexes store keys only (a write unit per item).
    for (const key of ['audit', 'approvals'] as const) {
      const indexes = template.Resources[logicalId(stack.tables.table(key))]?.Properties?.GlobalSecondaryIndexes as Array<Record<string, unknown>>;
      expect(indexes.map((i) => i.Projection)).toEqual([{ ProjectionType: 'KEYS_ONLY' }]);
    }
  });
});

describe('schedules', () => {
  it('starts a run of each campaign at its own expression and time zone through StartRun, with the scheduled time as the run clock', () => {
    const campaigns = loadAllCampaigns(join(PROJECT_ROOT, 'config'));
    const schedules = idsOfType(template, 'AWS::Scheduler::Schedule').map((id) => template.Resources[id]?.Properties ?? {});
    // One per campaign, and the daily audit verification (named by its scheduled time).
    expect(schedules).toHaveLength(campaigns.length + 1);
    expect(schedules.find((s) => (s.Target as { Input?: string }).Input === JSON.stringify({ scheduledAt: '<aws.scheduler.scheduled-time>' }))).toMatchObject({
      ScheduleExpression: 'cron(30 6 * * ? *)',
      Target: { Arn: { 'Fn::GetAtt': [logicalId(stack.functions['audit-verify'].lambda), 'Arn'] } },
    });
    for (const { campaign } of campaigns) {
      const input = JSON.stringify({ campaignId: campaign.id, scheduledTime: '<aws.scheduler.scheduled-time>' });
      const schedule = schedules.find((s) => (s.Target as { Input?: string }).Input === input);
      expect(schedule, campaign.id).toMatchObject({
        ScheduleExpression: campaign.schedule.expression,
        ScheduleExpressionTimezone: campaign.schedule.timezone,
        FlexibleTimeWindow: { Mode: 'OFF' },
        Target: {
          Arn: { 'Fn::GetAtt': [logicalId(stack.functions['start-run'].lambda), 'Arn'] },
          RoleArn: { 'Fn::GetAtt': [logicalId(stack.schedules.role), 'Arn'] },
          RetryPolicy: { MaximumRetryAttempts: 3 },
        },
      });
    }
  });
});

describe('audit queries', () => {
  it('has one QueryDefinition per named query, its text rendered from the definition amk audit query evaluates, over every function\'s log group', () => {
    const defs = Object.values(template.Resources).filter((r) => r.Type === 'AWS::Logs::QueryDefinition');
    expect(defs).toHaveLength(AUDIT_QUERIES.length);
    const byName = new Map(defs.map((d) => [String(d.Properties?.Name), d.Properties as Record<string, unknown>]));
    const groups = Object.values(stack.functions).map((fn) => logicalId(fn.logGroup));
    for (const q of AUDIT_QUERIES) {
      const def = byName.get(`autonomous-marketing/${q.name}`);
      expect(def, q.name).toBeDefined();
      expect(def?.QueryString, q.name).toBe(renderQuery(q));
      const referenced = [...referencedIds(def?.LogGroupNames)];
      expect(referenced.sort(), q.name).toEqual([...groups].sort());
    }
  });
});

describe('operations', () => {
  const ofType = (type: string) => Object.entries(template.Resources).filter(([, r]) => r.Type === type);

  it('alarms on a failed run, any action executed without its approval, tool failures, approvals expired in the backlog and an audit digest mismatch, each to the owners\' topic', () => {
    const topic = logicalId(stack.operations.topic);
    const alarms = ofType('AWS::CloudWatch::Alarm').map(([, r]) => r.Properties as Record<string, unknown>);
    expect(alarms).toHaveLength(6);
    for (const a of alarms) expect(referencedIds(a.AlarmActions).has(topic), String(a.AlarmDescription)).toBe(true);
    const filters = ofType('AWS::Logs::MetricFilter').map(([, r]) => r.Properties as { FilterPattern: string; LogGroupName: unknown; MetricTransformations: Array<{ MetricName: string }> });
    const withoutApproval = filters.find((f) => f.MetricTransformations[0]?.MetricName === 'ExecutedWithoutApproval');
    // The same condition as the executed-without-approval query.
    const q = AUDIT_QUERIES.find((x) => x.name === 'executed-without-approval');
    for (const c of q?.filters ?? []) if (c.op === '=') expect(withoutApproval?.FilterPattern).toContain(`$.${c.field} = ${typeof c.value === 'string' ? `"${c.value}"` : c.value}`);
    expect(referencedIds(withoutApproval?.LogGroupName).has(logicalId(stack.functions.record.logGroup))).toBe(true);
    // Expired approvals: the decision lines ApprovalTimedOut writes when nobody decided in time.
    const expired = filters.find((f) => f.MetricTransformations[0]?.MetricName === 'ApprovalsExpired');
    expect(expired?.FilterPattern).toContain('$.kind = "approval_expired"');
    expect(referencedIds(expired?.LogGroupName).has(logicalId(stack.functions['approval-timed-out'].logGroup))).toBe(true);
    // A digest mismatch: the daily verification's record counts findings.
    const mismatch = filters.find((f) => f.MetricTransformations[0]?.MetricName === 'AuditDigestMismatch');
    expect(mismatch?.FilterPattern).toContain('$.kind = "audit_verified"');
    expect(mismatch?.FilterPattern).toContain('$.findings > 0');
    expect(referencedIds(mismatch?.LogGroupName).has(logicalId(stack.functions['audit-verify'].logGroup))).toBe(true);
    // And a day without any verification recorded alarms too (missing data breaches).
    const notVerified = alarms.find((a) => a.MetricName === 'AuditVerifications');
    expect(notVerified).toMatchObject({ ComparisonOperator: 'LessThanThreshold', Threshold: 1, TreatMissingData: 'breaching', Period: 86400 });
    const owners = new Set(loadAllCampaigns(join(PROJECT_ROOT, 'config')).map((c) => c.campaign.owner));
    const subscriptions = ofType('AWS::SNS::Subscription').map(([, r]) => (r.Properties as { Endpoint: string; Protocol: string }));
    expect(new Set(subscriptions.map((s) => s.Endpoint))).toEqual(owners);
  });

  it('shows every named query without a parameter on the dashboard, as the same Logs Insights text', () => {
    const [, dashboard] = ofType('AWS::CloudWatch::Dashboard')[0] ?? [];
    const body = JSON.stringify(dashboard?.Properties?.DashboardBody);
    for (const q of AUDIT_QUERIES.filter((x) => x.param === undefined)) expect(body, q.name).toContain(q.name);
    expect(body).toContain('ExecutedWithoutApproval');
  });
});
