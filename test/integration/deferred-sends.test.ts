/**
 * Deferred sends through the real handlers (middy pipeline), the real repositories on dynalite and
 * the idempotency store: an autonomous action whose people are in quiet hours is stored by Act,
 * not executed, once however often Act is delivered; SendDeferred sends it in its slot once however
 * often it is delivered, and books it as Record books an executed action; an opt-out that arrived
 * while it waited blocks it at send, with its reservations given back once. An action approved
 * while its people are in quiet hours waits for their morning too, instead of being blocked.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandler as createAct } from '../../functions/act/handler.ts';
import { createHandler as createActApproved } from '../../functions/act-approved/handler.ts';
import { createHandler as createListSendSlots } from '../../functions/list-send-slots/handler.ts';
import { createHandler as createRecord } from '../../functions/record/handler.ts';
import { createHandler as createSendDeferred } from '../../functions/send-deferred/handler.ts';
import { StaticConfigSource } from '../../shared/adapters/config-source.ts';
import { DynamoAccountRepository } from '../../shared/adapters/dynamodb/account-repository.ts';
import { DynamoApprovalRepository } from '../../shared/adapters/dynamodb/approval-repository.ts';
import { DynamoAuditLog } from '../../shared/adapters/dynamodb/audit-log.ts';
import { DynamoMemoryRepository } from '../../shared/adapters/dynamodb/memory-repository.ts';
import { DynamoRunRepository } from '../../shared/adapters/dynamodb/run-repository.ts';
import { createIdempotentRunner } from '../../shared/adapters/idempotency.ts';
import { governShard } from '../../shared/app/campaign-run.ts';
import type { ActApprovedOutput, ActOutput, ListSendSlotsOutput, RecordOutput, SendDeferredInput, SendDeferredOutput, ShardInput } from '../../shared/app/contracts.ts';
import type { AppDeps, StepDeps } from '../../shared/app/steps.ts';
import { ToolFailedError } from '../../shared/domain/errors.ts';
import { isoWeekOf } from '../../shared/domain/governance.ts';
import { actionDigest } from '../../shared/domain/digest.ts';
import type { Action, Approval, Stakeholder } from '../../shared/domain/model.ts';
import type { ToolGateway } from '../../shared/ports/index.ts';
import { aCampaign, aCharter, aStakeholder, anAccount, anAction, anObservedAccount, someGuardrails } from '../unit/builders.ts';
import { startDynamoFixture, type DynamoFixture } from './dynamodb-fixture.ts';

/** Monday 14:00 UTC: 01:00 the next day in Sydney (quiet), 09:00 in New York. */
const RUN_NOW = '2027-01-04T14:00:00.000Z';
/** 07:00 in Sydney (AEDT, UTC+11): the Sydney stakeholder's next business hour. */
const SYDNEY_MORNING = '2027-01-04T20:00:00.000Z';
const QUIET = { start: '20:00', end: '07:00' };

/** A tool gateway that records each call that reaches it, and may fail some transiently. */
class RecordingTools implements ToolGateway {
  readonly calls: Array<{ actionId: string; stakeholders: string[] }> = [];
  failing = new Set<string>();
  async execute(action: Action, stakeholders: Stakeholder[]) {
    if (this.failing.has(action.id)) throw new ToolFailedError(`simulated timeout of ${action.id}`);
    this.calls.push({ actionId: action.id, stakeholders: stakeholders.map((s) => s.id) });
    return { ok: true, externalId: `ext-${action.id}` };
  }
  sent(actionId: string): number {
    return this.calls.filter((c) => c.actionId === actionId).length;
  }
}

const context = { functionName: 'test', awsRequestId: 'test', getRemainingTimeInMillis: () => 30_000, callbackWaitsForEmptyEventLoop: false } as never;

describe('deferred sends', () => {
  let db: DynamoFixture;
  let deps: AppDeps;
  let tools: RecordingTools;
  let now = RUN_NOW;
  beforeAll(async () => {
    db = await startDynamoFixture('deferred');
    const campaign = aCampaign();
    const charter = aCharter();
    tools = new RecordingTools();
    deps = {
      clock: () => now,
      config: new StaticConfigSource([{ campaign, campaignHash: 'c', charters: [{ charter, hash: 'charter-hash', file: 'f' }], guardrails: someGuardrails({ quietHours: QUIET }), guardrailsHash: 'g' }]),
      seed: 'deferred',
      idempotent: createIdempotentRunner({ client: db.client, table: db.tables.idempotency }),
      tools,
      accounts: new DynamoAccountRepository(db.client, db.tables.accounts),
      memory: new DynamoMemoryRepository(db.client, db.tables.memory),
      approvals: new DynamoApprovalRepository(db.client, db.tables.approvals),
      audit: new DynamoAuditLog(db.client, db.tables.audit),
      runs: new DynamoRunRepository(db.client, db.tables.runs),
    } as unknown as AppDeps;
  }, 60_000);
  afterAll(async () => {
    await db?.stop();
  });

  // Each step through its real handler, delivered twice (the first result dropped, as when Step
  // Functions retries a task whose function had already finished).
  const twice = async <R,>(handler: (event: unknown, ctx: never) => Promise<R>, event: unknown): Promise<R> => {
    await handler(structuredClone(event), context);
    return handler(event, context);
  };
  const act = createAct(async () => deps as StepDeps<'act'>);
  const record = createRecord(async () => deps as StepDeps<'record'>);
  const listSlots = createListSendSlots(async () => deps as StepDeps<'list-send-slots'>);
  const send = createSendDeferred(async () => deps as StepDeps<'send-deferred'>);
  const actApproved = createActApproved(async () => deps as StepDeps<'act-approved'>);

  /**
   * One page of a run at RUN_NOW for one account: a Sydney stakeholder (deferred to 07:00 there)
   * and a New York one (sent at once), governed (and so reserved) by the real Govern, acted and
   * recorded with every step delivered twice.
   */
  async function aPage(runId: string, accountId: string, sydneyAction: Partial<Action> = {}) {
    now = RUN_NOW;
    const account = anAccount({ id: accountId, name: `Account ${accountId}` });
    const sydney = aStakeholder({ id: `${accountId}-syd`, accountId, timeZone: 'Australia/Sydney', role: 'economic_buyer' });
    const newYork = aStakeholder({ id: `${accountId}-ny`, accountId, timeZone: 'America/New_York' });
    await deps.accounts.importAccount(account, [sydney, newYork]);
    await deps.runs.start({ runId, campaignId: 'test-campaign', now: RUN_NOW, shards: 1, charterHashes: {} });
    const deferred = anAction({ id: `${runId}-syd`, runId, accountId, stakeholderIds: [sydney.id], notBefore: SYDNEY_MORNING, ...sydneyAction });
    const atOnce = anAction({ id: `${runId}-ny`, runId, accountId, stakeholderIds: [newYork.id] });
    const shard: ShardInput = { shard: { runId, campaignId: 'test-campaign', now: RUN_NOW, shard: 0, shardCount: 1 }, cursor: null, queued: 0, deferred: 0, pages: 0 };
    const observed = { accounts: [anObservedAccount({ state: account, stakeholders: [sydney, newYork] })] };
    const planned = { plans: [{ accountId, agentId: 'test-agent', subGoals: [], actions: [deferred, atOnce] }] };
    const governed = await governShard(deps as StepDeps<'govern'>, { ...shard, observed, planned });
    const acted = (await twice(act, { ...shard, observed, planned, governed })) as ActOutput;
    const recorded = (await twice(record, { ...shard, observed, planned, governed, acted })) as RecordOutput;
    return { shard, deferred, atOnce, sydney, governed, acted, recorded };
  }

  /** What an account's stakeholders have reserved in the run's week (the operator's view). */
  const touches = (accountId: string, week: string) => (deps.runs as DynamoRunRepository).touchesInWeek(accountId, week);

  const slotInput = (shard: ShardInput, at: string): SendDeferredInput => ({ shard: shard.shard, slot: { at, cursor: null } });

  it('stores an autonomous action whose people are in quiet hours instead of executing it, once under duplicate delivery, and counts it as deferred', async () => {
    const { shard, deferred, atOnce, governed, acted, recorded } = await aPage('run-store', 'acc-store');
    expect(governed.verdicts.map((v) => v.outcome)).toEqual(['autonomous', 'autonomous']);
    // Not executed at the run's clock; the other action is, once.
    expect(tools.sent(deferred.id)).toBe(0);
    expect(tools.sent(atOnce.id)).toBe(1);
    expect(acted).toMatchObject({ deferredActionIds: [deferred.id], results: [{ actionId: atOnce.id, ok: true }] });
    // Stored once, in its slot.
    expect(await deps.runs.listSendSlots('run-store', 0)).toEqual([SYDNEY_MORNING]);
    const stored = await deps.runs.listDeferredSends('run-store', 0, SYDNEY_MORNING, { limit: 10 });
    expect(stored.items).toEqual([{ runId: 'run-store', shard: 0, slot: SYDNEY_MORNING, runNow: RUN_NOW, action: deferred, charterHash: 'charter-hash' }]);
    // Record counts it as deferred, not executed, and the shard carries it for the parent.
    const counters = (await deps.runs.get('run-store'))?.counters ?? {};
    expect(counters).toMatchObject({ proposed: 2, executed: 1, deferred: 1 });
    expect(recorded.next).toMatchObject({ deferred: 1, queued: 0 });
    expect(await deps.runs.getPage('run-store', 0, null)).toMatchObject({ deferred: 1, queued: 0 });
    // Its touch stays reserved (the stakeholder's and the account's), like the executed one's.
    expect(await touches('acc-store', isoWeekOf(RUN_NOW))).toEqual({ account: 2, 's#acc-store-syd': 1, 's#acc-store-ny': 1 });
    // The workflow lists one slot, in whole seconds for the Wait's TimestampPath.
    expect((await twice(listSlots, shard)) as ListSendSlotsOutput).toEqual({ slots: [{ at: '2027-01-04T20:00:00Z', cursor: null }] });
  });

  it('sends it in its slot once under duplicate delivery, and books it as an executed action', async () => {
    const { shard, deferred } = await aPage('run-send', 'acc-send');
    // Too early (a skipped Wait): refused before anything is sent.
    now = '2027-01-04T19:00:00.000Z';
    await expect(send(slotInput(shard, '2027-01-04T20:00:00Z'), context)).rejects.toThrow(/not due/);
    expect(tools.sent(deferred.id)).toBe(0);
    // At its time (after the Wait; the function's clock a hair behind it): sent once, however often
    // delivered, and judged at 07:00 in Sydney, not in the last quiet minute.
    now = '2027-01-04T19:59:59.950Z';
    const out = (await twice(send, slotInput(shard, '2027-01-04T20:00:00Z'))) as SendDeferredOutput;
    expect(out.slot).toEqual({ at: '2027-01-04T20:00:00Z', cursor: null });
    expect(tools.calls.filter((c) => c.actionId === deferred.id)).toEqual([{ actionId: deferred.id, stakeholders: ['acc-send-syd'] }]);
    // Booked as Record books an executed action: counters, memory, a trial, one audit event by the action.
    const counters = (await deps.runs.get('run-send'))?.counters ?? {};
    expect(counters).toMatchObject({ executed: 2, deferred: 1 });
    // The one replay is the duplicate Act's call of the other action; the duplicate send books nothing.
    expect(counters.replayed).toBe(1);
    const memory = await deps.memory.listForAccount('acc-send', RUN_NOW);
    expect(memory.filter((m) => m.id === deferred.id)).toEqual([expect.objectContaining({ kind: 'action_executed', at: SYDNEY_MORNING, agentId: 'test-agent' })]);
    expect((await deps.memory.getModel('test-agent')).arms['nurture_email:economic_buyer']?.trials).toBe(1);
    const events = (await deps.audit.readStream('RUN#run-send')).filter((e) => e.kind === 'tool_call');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ key: `action#${deferred.id}#executed`, accountId: 'acc-send', agentId: 'test-agent', charterHash: 'charter-hash', data: { actionId: deferred.id, deferredTo: SYDNEY_MORNING, result: { ok: true } } });
    // The touch it reserved stays taken: it was used.
    expect((await touches('acc-send', isoWeekOf(RUN_NOW)))['s#acc-send-syd']).toBe(1);
  });

  it('blocks it at send when the stakeholder opted out meanwhile: alerted and counted, its reservations given back once', async () => {
    // An executive briefing ($150): its spend is reserved on the run and the agent's month too.
    const { shard, deferred, sydney } = await aPage('run-block', 'acc-block', { type: 'executive_briefing', costUsd: 150, subGoal: 'accelerate' });
    const reservedBefore = (await deps.runs.get('run-block'))?.counters.reservedUsd;
    expect(reservedBefore).toBe(150);
    expect(await deps.runs.getAgentSpend('test-agent', '2027-01')).toBeGreaterThanOrEqual(150);
    const monthBefore = await deps.runs.getAgentSpend('test-agent', '2027-01');
    // The unsubscribe arrives while the action waits for Sydney's morning.
    await deps.accounts.putStakeholder({ ...sydney, consent: 'opted_out' });
    now = SYDNEY_MORNING;
    await twice(send, slotInput(shard, SYDNEY_MORNING));
    expect(tools.sent(deferred.id)).toBe(0);
    const alerts = (await deps.audit.readStream('RUN#run-block')).filter((e) => e.kind === 'alert');
    expect(alerts).toHaveLength(1);
    expect(alerts[0]?.data).toMatchObject({ alert: 'blocked_at_send', actionId: deferred.id, guardrail: 'consent', deferredTo: SYDNEY_MORNING, executed: false });
    const counters = (await deps.runs.get('run-block'))?.counters ?? {};
    expect(counters).toMatchObject({ executed: 1, deferred: 1, blockedAtSend: 1, 'blockedAtSend.consent': 1 });
    // Released once: the run's and the month's spend by $150 (not $300), the touch by one.
    expect(counters.reservedUsd).toBe(0);
    expect(await deps.runs.getAgentSpend('test-agent', '2027-01')).toBe(monthBefore - 150);
    expect(await touches('acc-block', isoWeekOf(RUN_NOW))).toEqual({ account: 1, 's#acc-block-syd': 0, 's#acc-block-ny': 1 });
    expect((await deps.memory.listForAccount('acc-block', RUN_NOW)).filter((m) => m.id === deferred.id)).toEqual([]);
  });

  it('settles a tool that keeps failing as that action\'s failure, booked once with its reservation given back', async () => {
    const { shard, deferred } = await aPage('run-fail', 'acc-fail');
    tools.failing.add(deferred.id);
    now = SYDNEY_MORNING;
    // The workflow retries the transient failure, then settles it.
    await expect(send(slotInput(shard, SYDNEY_MORNING), context)).rejects.toThrow(ToolFailedError);
    await twice(send, { ...slotInput(shard, SYDNEY_MORNING), settle: true });
    const counters = (await deps.runs.get('run-fail'))?.counters ?? {};
    expect(counters).toMatchObject({ executed: 1, deferred: 1, toolFailures: 1 });
    expect(counters.blockedAtSend).toBeUndefined();
    expect((await touches('acc-fail', isoWeekOf(RUN_NOW)))['s#acc-fail-syd']).toBe(0);
    const failed = (await deps.memory.listForAccount('acc-fail', RUN_NOW)).filter((m) => m.id === deferred.id);
    expect(failed).toEqual([expect.objectContaining({ kind: 'action_failed' })]);
  });

  it('waits for the morning of an action approved during its people\'s quiet hours, then executes it once, instead of blocking it', async () => {
    const { deferred } = await aPage('run-approved', 'acc-approved');
    // The same action, approved by a person at 14:05 UTC (01:05 in Sydney) instead of deferred by Act.
    const action = { ...deferred, id: 'run-approved-approved' };
    const approval: Approval = {
      id: 'apr-night',
      runId: 'run-approved',
      shard: 0,
      accountId: action.accountId,
      agentId: action.agentId,
      action,
      rules: [{ ruleId: 'r', source: 'charters/x.yaml', approvers: ['ops@example.com'], minApprovals: 1 }],
      approver: 'ops@example.com',
      actionDigest: actionDigest(action),
      charterHash: 'charter-hash',
      status: 'queued',
      timeoutSeconds: 3600,
      createdAt: RUN_NOW,
      version: 0,
    };
    await deps.approvals.create(approval);
    await deps.approvals.markPending(approval.id, 'token', '2027-01-04T15:00:00.000Z');
    await deps.approvals.decide(approval.id, { status: 'approved', at: '2027-01-04T14:05:00.000Z', by: 'ops@example.com', reviewerKind: 'human' });
    const item = { approvalId: approval.id, runId: 'run-approved', timeoutSeconds: 3600, decision: { approvalId: approval.id, status: 'approved' } };
    now = '2027-01-04T14:05:01.000Z';
    const first = (await twice(actApproved, item)) as ActApprovedOutput;
    // Deferred to 07:00 in Sydney: nothing sent, blocked or booked yet.
    expect(first).toEqual({ executed: false, deferredTo: '2027-01-04T20:00:00Z' });
    expect(tools.sent(action.id)).toBe(0);
    expect((await deps.audit.readStream('RUN#run-approved')).filter((e) => e.kind === 'alert' || e.kind === 'tool_call')).toEqual([]);
    // After the branch's Wait (the clock a hair behind it): executed once, however often delivered.
    now = '2027-01-04T19:59:59.990Z';
    expect(await twice(actApproved, { ...item, sent: first })).toEqual({ executed: true });
    expect(tools.sent(action.id)).toBe(1);
    const calls = (await deps.audit.readStream('RUN#run-approved')).filter((e) => e.kind === 'tool_call');
    expect(calls).toHaveLength(1);
    expect(calls[0]?.data).toMatchObject({ approvalId: approval.id, actionId: action.id, deferredTo: '2027-01-04T20:00:00Z', result: { ok: true } });
    expect((await deps.runs.get('run-approved'))?.counters).toMatchObject({ approved: 1, executed: 2 });
    expect((await deps.runs.get('run-approved'))?.counters.blockedAtSend).toBeUndefined();
  });
});
