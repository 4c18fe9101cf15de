/**
 * The cost model's inputs, measured for real: the DynamoDB capacity meter against dynalite, and a
 * CampaignRun with two shards, a hand-over and exactly one approval through the synthesized parent
 * and child definitions, whose counted transitions, executions and emails the model turns into
 * dollars.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { startDynalite, type RunningDynalite } from '../../local/dynalite.ts';
import { CapacityMeter, createDynamoClient, documentClient } from '../../shared/adapters/dynamodb/client.ts';
import { ensureTables } from '../../shared/adapters/dynamodb/create-tables.ts';
import { localTableName, TABLES, type TableKey } from '../../shared/adapters/dynamodb/tables.ts';
import { RunSummary } from '../../shared/app/contracts.ts';
import { estimateCost, unitPrice } from '../../shared/domain/cost.ts';
import { loadPrices } from '../../local/engine/cost-inputs.ts';
import { SimulatedReviewer } from '../../local/reviewer.ts';
import { costOf } from '../../local/cli/report.ts';
import type { LocalRunResult } from '../../local/runtime.ts';
import { STANDARD_HISTORY_LIMIT } from '../../local/engine/workflow-engine.ts';
import { BUSY_WEEKS, startTestRuntime, tempConfig } from './workflow-fixture.ts';

describe('the DynamoDB capacity meter on dynalite', () => {
  let dynalite: RunningDynalite;
  let client: DynamoDBClient;
  const meter = new CapacityMeter({ indexes: { 'cm-audit': [{ partitionKey: 'gsi1pk' }], 'cm-approvals': [{ partitionKey: 'gsi1pk', projectedAttributes: ['pk', 'sk', 'gsi1pk', 'gsi1sk'] }] } });
  const names = Object.fromEntries((Object.keys(TABLES) as TableKey[]).map((k) => [k, localTableName(k, 'cm')])) as Record<TableKey, string>;
  const doc = () => documentClient(client);

  beforeAll(async () => {
    dynalite = await startDynalite({ port: 0 });
    client = createDynamoClient({ endpoint: dynalite.endpoint, meter });
    await ensureTables(client, names);
  });
  afterAll(async () => {
    client?.destroy();
    await dynalite?.close();
  });

  it('counts a 3 KB put at 3 write units, plus 3 for the index that projects ALL', async () => {
    meter.reset();
    await doc().send(new PutCommand({ TableName: names.audit, Item: { pk: 'RUN#1', sk: 'SEQ#0', gsi1pk: 'RUN#1', gsi1sk: 'x', data: 'x'.repeat(2900) } }));
    const t = meter.snapshot().tables[names.audit];
    expect(t).toEqual({ readUnits: 0, writeUnits: 3, indexWriteUnits: 3, requests: 1 });
    expect(meter.snapshot().writeUnits).toBe(6);
  });

  it('counts no index write for an item without the index key (a sparse index)', async () => {
    meter.reset();
    await doc().send(new PutCommand({ TableName: names.audit, Item: { pk: 'ACCOUNT#1', sk: 'SEQ#0', data: 'small' } }));
    expect(meter.snapshot().tables[names.audit]?.indexWriteUnits).toBe(0);
  });

  it('counts an index that stores only its keys at one unit per put, whatever the item size, and not for an update that leaves its keys alone', async () => {
    meter.reset();
    await doc().send(new PutCommand({ TableName: names.approvals, Item: { pk: 'APPROVAL#1', sk: 'REQUEST', gsi1pk: 'RUN#1#SHARD#0', gsi1sk: 'a', body: 'y'.repeat(2500) } }));
    await doc().send(new UpdateCommand({ TableName: names.approvals, Key: { pk: 'APPROVAL#1', sk: 'REQUEST' }, UpdateExpression: 'SET #s = :s', ExpressionAttributeNames: { '#s': 'status' }, ExpressionAttributeValues: { ':s': 'pending' } }));
    expect(meter.snapshot().tables[names.approvals]).toEqual({ readUnits: 0, writeUnits: 6, indexWriteUnits: 1, requests: 2 });
    meter.reset();
    // A value placeholder named like a key is not the key.
    await doc().send(new UpdateCommand({ TableName: names.approvals, Key: { pk: 'APPROVAL#1', sk: 'REQUEST' }, UpdateExpression: 'SET note = :gsi1sk', ExpressionAttributeValues: { ':gsi1sk': 'x' } }));
    expect(meter.snapshot().tables[names.approvals]?.indexWriteUnits).toBe(0);
    await doc().send(new UpdateCommand({ TableName: names.approvals, Key: { pk: 'APPROVAL#1', sk: 'REQUEST' }, UpdateExpression: 'SET #k = :k', ExpressionAttributeNames: { '#k': 'gsi1sk' }, ExpressionAttributeValues: { ':k': 'b' } }));
    expect(meter.snapshot().tables[names.approvals]?.indexWriteUnits).toBe(1);
  });

  it('counts strongly consistent reads at 1 unit per 4 KB and eventually consistent ones at half', async () => {
    meter.reset();
    const key = { pk: 'RUN#1', sk: 'SEQ#0' };
    await doc().send(new GetCommand({ TableName: names.audit, Key: key, ConsistentRead: true }));
    await doc().send(new GetCommand({ TableName: names.audit, Key: key }));
    await doc().send(new QueryCommand({ TableName: names.audit, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': 'RUN#1' } }));
    expect(meter.snapshot().tables[names.audit]).toMatchObject({ readUnits: 1 + 0.5 + 0.5, writeUnits: 0, requests: 3 });
  });

  it('adds up the per-table figures a BatchWriteItem returns as an array', async () => {
    meter.reset();
    await doc().send(
      new BatchWriteCommand({
        RequestItems: {
          [names.memory]: [
            { PutRequest: { Item: { pk: 'ACCOUNT#1', sk: 'MEM#1', note: 'z'.repeat(1500) } } },
            { PutRequest: { Item: { pk: 'ACCOUNT#1', sk: 'MEM#2' } } },
          ],
          [names.runs]: [{ PutRequest: { Item: { pk: 'RUN#1', sk: 'HEADER' } } }],
        },
      }),
    );
    const snap = meter.snapshot();
    expect(snap.tables[names.memory]).toMatchObject({ writeUnits: 3, requests: 1 });
    expect(snap.tables[names.runs]).toMatchObject({ writeUnits: 1, requests: 1 });
  });

  it('leaves commands that report no capacity alone, and never changes the caller\'s request object', async () => {
    meter.reset();
    await client.send(new DescribeTableCommand({ TableName: names.audit }));
    const input = { TableName: names.audit, Key: { pk: 'RUN#1', sk: 'SEQ#0' } };
    await doc().send(new GetCommand(input));
    expect(input).not.toHaveProperty('ReturnConsumedCapacity');
    expect(meter.snapshot().requests).toBe(1);
  });

  it('starts afresh after reset', async () => {
    await doc().send(new GetCommand({ TableName: names.audit, Key: { pk: 'RUN#1', sk: 'SEQ#0' } }));
    meter.reset();
    expect(meter.snapshot()).toEqual({ tables: {}, readUnits: 0, writeUnits: 0, requests: 0 });
  });
});

// Only one approval rule anywhere: an executive briefing to a tier-1 C-level needs the account
// director. With this seed and book exactly one such action passes the guardrails in the first run.
const ONE_RULE = `thresholds:
  - id: tier2-c-level-briefing
    description: An executive briefing to a tier-2 C-level needs the account director (cost-model test; the week plans one).
    when: { all: [ { field: action.type, op: eq, value: executive_briefing }, { field: account.tier, op: eq, value: 2 }, { field: stakeholder.seniority, op: eq, value: c_level } ] }
    approvers: [account-director@example.com]
`;

describe('a CampaignRun with two shards, hand-overs and one approval', () => {
  const config = tempConfig({
    // Pages of 3 and two pages per execution: each shard of ~12 accounts pages within an
    // execution and is handed over to fresh ones.
    'campaigns/q1-committee-expansion.yaml': [
      [/^shards: \d+$/m, 'shards: 2'],
      [/^pageSize: \d+$/m, 'pageSize: 3'],
      [/^pagesPerExecution: \d+$/m, 'pagesPerExecution: 2'],
    ],
    'charters/executive-outreach-agent.yaml': [[/^thresholds:\n[\s\S]*?(?=^escalation:)/m, ONE_RULE]],
    'charters/nurture-agent.yaml': [[/^thresholds:\n[\s\S]*?(?=^escalation:)/m, 'thresholds: []\n']],
    // Quiet hours of a minute: no action waits for its people's morning, so the figures below
    // count the skeleton and the approval (deferred sends: quiet-hours-deferral.test.ts).
    'guardrails/default.yaml': [[/^approvalRules:\n[\s\S]*?(?=^\S)/m, 'approvalRules: []\n'], ...BUSY_WEEKS],
  });
  let env: Awaited<ReturnType<typeof startTestRuntime>>;
  let result: LocalRunResult;
  let pages = 0;
  let nextPages = 0;
  let finishedExecutions = 0;

  beforeAll(async () => {
    env = await startTestRuntime(config.campaignFile, { accounts: 24 });
    const reviewer = new SimulatedReviewer(env.runtime.outboxDir, { seed: 'test', decide: () => 'approve' }, 10);
    reviewer.start();
    try {
      result = await env.runtime.runWeek({
        onEvent: (e) => {
          if (e.type !== 'StateEntered') return;
          if (e.state === 'Observe') pages += 1;
          if (e.state === 'NextPage') nextPages += 1;
          if (e.state === 'ShardDone') finishedExecutions += 1;
        },
      });
    } finally {
      await reviewer.stop();
    }
  });
  afterAll(async () => {
    await env?.stop();
    config.cleanup();
  });

  it('needs exactly one approval, which the reviewer approves', () => {
    const counters = RunSummary.parse(result.summary).counters;
    expect(counters.needsApproval).toBe(1);
    expect(counters.approved).toBe(1);
  });

  it('pages within an execution and hands each shard over to a fresh one after two pages', () => {
    const executions = result.stats.executions.EXPRESS;
    expect(executions).toBe(finishedExecutions);
    expect(executions).toBeGreaterThan(2);
    expect(nextPages).toBeGreaterThan(0);
    // Every page ends its execution or goes on to the next page in it.
    expect(pages).toBe(executions + nextPages);
    expect(nextPages).toBeLessThanOrEqual(executions);
  });

  it('counts the parent\'s states visited: 3 + 2 per child execution + 1 per shard without approvals + 6 + 2 per page of approvals + 5 per approved approval', () => {
    // LoadCampaign, Accounts (the Map), Summarize; per child execution ProcessShard and
    // ShardProgress?; ShardFinished for the shard that queued none; for the one that queued the
    // approval, ShardFollowUps (a Parallel), HasApprovals?, ListShardApprovals and ApprovalPages
    // (a Map), and beside them HasDeferredSends? and NoDeferredSends; for its one page
    // ListApprovalPage and ShardApprovals (a Map); per approval RequestApproval,
    // ApprovalDecided?, ActApproved, ApprovedSendTime? (sent, not deferred) and ApprovalSent.
    const shards = 2;
    const approvals = 1;
    const executions = result.stats.executions.EXPRESS;
    expect(result.stats.executions.STANDARD).toBe(1);
    expect(result.stats.transitions.STANDARD).toBe(3 + 2 * executions + (shards - 1) * 1 + (6 + 2 * 1) + 5 * approvals);
    // Each page of the child: Observe, Plan, Govern, Act, Record, MorePages?, then NextPage or ShardDone.
    expect(result.stats.transitions.EXPRESS).toBe(7 * pages);
    expect(result.stats.mapIterations.STANDARD).toBe(shards + 1 + approvals);
  });

  it('estimates the history events of the parent as Step Functions logs them (a Standard execution fails past 25,000)', () => {
    const executions = result.stats.executions.EXPRESS;
    const shards = 2;
    const transitions = result.stats.transitions.STANDARD;
    // Start and end; entered and exited per state; scheduled, started, succeeded per Task, plus
    // submitted for ProcessShard (.sync:2) and RequestApproval (.waitForTaskToken); start and end
    // per Map (Accounts, ApprovalPages, ShardApprovals) and per iteration (2 shards, 1 page, 1
    // approval); start and end of the one Parallel (ShardFollowUps).
    const tasks = 3 * (1 + 1 + 1 + 1 + 1) + 4 * (executions + 1);
    expect(result.stats.maxHistoryEvents.STANDARD).toBe(2 + 2 * transitions + tasks + 2 * 3 + 2 * (shards + 1 + 1) + 2);
    expect(result.stats.maxHistoryEvents.STANDARD).toBeLessThan(STANDARD_HISTORY_LIMIT);
    // A child: per page five Tasks, and Choice + Pass or Succeed.
    expect(result.stats.maxHistoryEvents.EXPRESS).toBeGreaterThanOrEqual(2 + 2 * 7 + 3 * 5);
  });

  it('counts every Lambda invocation: 5 per page, 6 in the parent, 2 for the approval page, 1 for StartRun', () => {
    // Parent: LoadCampaign, ListShardApprovals and ListApprovalPage (only for the shard that
    // queued), RequestApproval, ActApproved, Summarize. The reviewer's GET and POST of the
    // approval page are the approval function's two invocations; the schedule invokes StartRun.
    expect(result.stats.lambdaInvocations).toBe(5 * pages + 6);
    const byName = Object.fromEntries(result.cost.lambda.map((f) => [f.name, f]));
    expect(byName['approval-http']?.invocations).toBe(2);
    expect(byName['start-run']?.invocations).toBe(1);
    // Priced at the memory and architecture the synthesized template gives the function.
    const observe = [...env.runtime.template.functions.values()].find((f) => f.name === 'observe');
    expect(byName.observe).toMatchObject({ invocations: pages, memoryMb: observe?.memoryMb, architecture: observe?.architecture });
    expect(result.cost.lambda.reduce((n, f) => n + f.invocations, 0)).toBe(5 * pages + 6 + 2 + 1);
  });

  it('sends one SES email per executed email action, plus the approval request and the run report, and is started by one schedule', () => {
    const counters = RunSummary.parse(result.summary).counters;
    // Every action of the sample acts through the email connector (SES) and reaches one person.
    expect(counters.executed).toBeGreaterThan(0);
    expect(result.cost.emails).toBe((counters.executed ?? 0) + 2);
    expect(readdirSync(join(env.runtime.outboxDir, 'prospects')).filter((f) => f.endsWith('.eml'))).toHaveLength(counters.executed ?? 0);
    expect(result.cost.schedulerInvocations).toBe(1);
  });

  it('meters DynamoDB capacity for the run, index writes of the audit trail included', () => {
    const { capacity } = result.usage;
    const audit = capacity.tables['amk-audit'];
    expect(audit?.writeUnits).toBeGreaterThan(0);
    // Audit events carry their run id and so land in the byRun index too: dynalite does not
    // report those writes, the meter adds them (at most one index copy per table write).
    expect(audit?.indexWriteUnits).toBeGreaterThan(0);
    expect(audit?.indexWriteUnits).toBeLessThanOrEqual(audit?.writeUnits ?? 0);
    expect(result.cost.dynamodb.writeRequestUnits).toBe(capacity.writeUnits);
    expect(capacity.readUnits).toBeGreaterThan(0);
  });

  it('turns the counts into the dollars the list prices give', () => {
    const prices = loadPrices();
    const p = prices.prices;
    const cost = estimateCost(result.cost, prices);
    const transitions = result.stats.transitions.STANDARD;
    const executions = result.stats.executions.EXPRESS;
    // e.g. 17 transitions x $0.025 / 1,000 = $0.000425 with today's list price.
    expect(cost.byService.stepFunctionsStandard.usd).toBeCloseTo(transitions * unitPrice(p.stepFunctionsStandardTransition), 12);
    expect(cost.byService.stepFunctionsStandard.usd).toBeCloseTo(transitions * 0.000025, 12);
    const expressGbSeconds = (result.cost.stepFunctions.expressBilledMs / 1000) * (64 / 1024);
    expect(cost.byService.stepFunctionsExpress.usd).toBeCloseTo(
      executions * unitPrice(p.stepFunctionsExpressRequest) + expressGbSeconds * unitPrice(p.stepFunctionsExpressGbSecond),
      12,
    );
    expect(cost.byService.ses.usd).toBeCloseTo(result.cost.emails * unitPrice(p.sesEmail), 12);
    expect(cost.byService.dynamodb.usd).toBeCloseTo(
      result.cost.dynamodb.writeRequestUnits * unitPrice(p.dynamodbWriteRequestUnit) + result.cost.dynamodb.readRequestUnits * unitPrice(p.dynamodbReadRequestUnit),
      12,
    );
    const accounts = RunSummary.parse(result.summary).counters.accounts ?? 0;
    expect(result.cost.accountIterations).toBe(accounts);
    expect(cost.perThousandAccountIterationsUsd).toBeCloseTo((cost.totalUsd / accounts) * 1000, 12);
  });

  it('estimates the execution logs from the logging levels the template declares', () => {
    const express = [...env.runtime.template.stateMachines.values()].find((m) => m.type === 'EXPRESS');
    expect(express?.logging.level).toBeDefined();
    if (express?.logging.level === 'ALL' && express.logging.includeExecutionData) {
      // At least every payload the child's states carried.
      expect(result.cost.logs.stateMachineBytes).toBeGreaterThan(result.stats.payloadBytes.EXPRESS);
    }
    expect(result.stats.maxPayloadBytes).toBeLessThan(256 * 1024);
  });

  it('reports cost per 1,000 account-iterations, per service, per run, with its inputs (amk run --json)', () => {
    const report = costOf([result], loadPrices());
    expect(Object.keys(report)).toEqual(expect.arrayContaining(['perThousandAccountIterationsUsd', 'byService', 'perRunUsd', 'inputs']));
    expect(report.perRunUsd).toBeCloseTo(report.totalUsd, 12);
    expect(report.dynamodbByTable.audit?.writeRequestUnits).toBeGreaterThan(0);
  });
});
