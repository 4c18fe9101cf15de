/**
 * The one mechanism for "exactly once", against dynalite: every write to a shared record carries
 * the key of the effect it applies (shared/domain/effects.ts), and the adapters apply a key once:
 * guarded counters (run counters, monthly spend, outcome models) and keyed audit events, also
 * when the same effect is delivered many times at once or after a crash between two writes.
 */
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoAuditLog, verifyChain, type NewAuditEvent } from '../../shared/adapters/dynamodb/audit-log.ts';
import { documentClient } from '../../shared/adapters/dynamodb/client.ts';
import { DynamoMemoryRepository } from '../../shared/adapters/dynamodb/memory-repository.ts';
import { DynamoRunRepository } from '../../shared/adapters/dynamodb/run-repository.ts';
import { GUARD_RETENTION_SECONDS, auditClaimKey, guardAttribute, outcomeModelKey } from '../../shared/adapters/dynamodb/requests.ts';
import { startDynamoFixture, type DynamoFixture } from './dynamodb-fixture.ts';

let db: DynamoFixture;

beforeAll(async () => {
  db = await startDynamoFixture('once');
}, 60_000);

afterAll(async () => {
  await db?.stop();
});

const event = (stream: string, key: string | undefined, n: number): NewAuditEvent => ({
  stream,
  ...(key === undefined ? {} : { key }),
  at: '2026-03-02T09:00:00.000Z',
  kind: 'turn',
  runId: 'run-1',
  actor: 'system:record',
  data: { n },
});

describe('guarded counters', { timeout: 60_000 }, () => {
  it('adds a run counter once per effect key, however often and however concurrently it is delivered', async () => {
    const runs = new DynamoRunRepository(db.client, db.tables.runs);
    await runs.start({ runId: 'r-dup', campaignId: 'c', now: '2026-03-02T00:00:00.000Z', shards: 1, charterHashes: {} });
    await Promise.all(Array.from({ length: 12 }, () => runs.addCounters('r-dup', { executed: 2, spendUsd: 300 }, 'page#r-dup#0#start#recorded')));
    await runs.addCounters('r-dup', { executed: 2, spendUsd: 300 }, 'page#r-dup#0#start#recorded');
    await runs.addCounters('r-dup', { executed: 1 }, 'page#r-dup#0#next#recorded');
    expect((await runs.get('r-dup'))?.counters).toEqual({ executed: 3, spendUsd: 300 });
  });

  it('adds an agent\'s monthly spend once per effect key', async () => {
    const runs = new DynamoRunRepository(db.client, db.tables.runs);
    await Promise.all(Array.from({ length: 8 }, () => runs.addAgentSpend('agent-s', '2026-03', 300, 'action#a1#executed')));
    await runs.addAgentSpend('agent-s', '2026-03', 50, 'action#a2#executed');
    expect(await runs.getAgentSpend('agent-s', '2026-03')).toBe(350);
  });

  it('adds outcome counts once per effect key, and prunes guards older than the retention', async () => {
    const memory = new DynamoMemoryRepository(db.client, db.tables.memory);
    const doc = documentClient(db.client);
    // A guard from long ago, as a model accrues them run after run.
    const stale = guardAttribute('page#old-run#0#start#recorded#0');
    await doc.send(
      new UpdateCommand({
        TableName: db.tables.memory,
        Key: outcomeModelKey('agent-o'),
        UpdateExpression: 'SET #g = :t',
        ExpressionAttributeNames: { '#g': stale },
        ExpressionAttributeValues: { ':t': Math.floor(Date.now() / 1000) - GUARD_RETENTION_SECONDS - 60 },
      }),
    );
    await Promise.all(Array.from({ length: 6 }, () => memory.addOutcomes('agent-o', { 'nurture_email:champion': { trials: 1, successes: 0 } }, 'k1')));
    await memory.addOutcomes('agent-o', { 'nurture_email:champion': { trials: 0, successes: 1 } }, 'k2');
    expect((await memory.getModel('agent-o')).arms).toEqual({ 'nurture_email:champion': { trials: 1, successes: 1 } });
    const item = (await doc.send(new GetCommand({ TableName: db.tables.memory, Key: outcomeModelKey('agent-o'), ConsistentRead: true }))).Item ?? {};
    expect(item[stale]).toBeUndefined();
    expect(item[guardAttribute('k1#0')]).toBeTypeOf('number');
  });
});

describe('keyed audit events', { timeout: 60_000 }, () => {
  it('appends a keyed event once and returns the stored event to a repeated append', async () => {
    const audit = new DynamoAuditLog(db.client, db.tables.audit);
    const [first] = await audit.append([event('S#1', 'turn#a', 1)]);
    const [again] = await audit.append([event('S#1', 'turn#a', 1)]);
    await audit.append([event('S#1', undefined, 2), event('S#1', 'turn#b', 3), event('S#1', 'turn#a', 1)]);
    const stream = await audit.readStream('S#1');
    expect(stream.map((e) => e.data['n'])).toEqual([1, 2, 3]);
    expect(again).toEqual(first);
    expect(verifyChain(stream).ok).toBe(true);
  });

  it('keeps one event per key when duplicates race each other and other writers in separate processes', async () => {
    // One log per writer: separate processes share no in-process queue.
    const writers = Array.from({ length: 8 }, () => new DynamoAuditLog(db.client, db.tables.audit, { maxRetries: 40 }));
    await Promise.all(
      writers.flatMap((w, i) => [
        w.append([event('S#2', 'turn#x', 0), event('S#2', 'turn#y', 1)]),
        w.append([event('S#2', undefined, 100 + i)]),
      ]),
    );
    const stream = await writers[0]!.readStream('S#2');
    expect(stream.filter((e) => e.key === 'turn#x')).toHaveLength(1);
    expect(stream.filter((e) => e.key === 'turn#y')).toHaveLength(1);
    expect(stream.filter((e) => e.key === undefined)).toHaveLength(8);
    expect(verifyChain(stream).ok).toBe(true);
  });

  it('repairs a writer that crashed between its claim and its event: the retry writes the event once', async () => {
    const audit = new DynamoAuditLog(db.client, db.tables.audit);
    const doc = documentClient(db.client);
    await audit.append([event('S#3', undefined, 0)]);
    // The crashed writer claimed seq 1 for its key and never wrote the event.
    await doc.send(new PutCommand({ TableName: db.tables.audit, Item: { ...auditClaimKey('S#3', 'turn#c'), key: 'turn#c', seq: 1 } }));
    // Meanwhile another writer took seq 1.
    await audit.append([event('S#3', undefined, 1)]);
    await audit.append([event('S#3', 'turn#c', 2)]);
    await audit.append([event('S#3', 'turn#c', 2)]);
    const stream = await audit.readStream('S#3');
    expect(stream.map((e) => [e.seq, e.key ?? null])).toEqual([
      [0, null],
      [1, null],
      [2, 'turn#c'],
    ]);
    expect(verifyChain(stream).ok).toBe(true);
  });

  it('takes the claimed number when the crashed writer left it free', async () => {
    const audit = new DynamoAuditLog(db.client, db.tables.audit);
    const doc = documentClient(db.client);
    await doc.send(new PutCommand({ TableName: db.tables.audit, Item: { ...auditClaimKey('S#4', 'turn#d'), key: 'turn#d', seq: 0 } }));
    await audit.append([event('S#4', 'turn#d', 0)]);
    await audit.append([event('S#4', 'turn#d', 0)]);
    const stream = await audit.readStream('S#4');
    expect(stream.map((e) => [e.seq, e.key])).toEqual([[0, 'turn#d']]);
  });
});

describe('spend reservations', { timeout: 60_000 }, () => {
  const reservation = (actionId: string, usd = 100) => ({ runId: 'r-cap', agentId: 'agent-r', month: '2026-03', actionId, usd, runCapUsd: 300, monthCapUsd: 1_000 });

  it('lets parallel shards and overlapping runs commit no more than the cap between them', async () => {
    const runs = new DynamoRunRepository(db.client, db.tables.runs);
    await runs.start({ runId: 'r-cap', campaignId: 'c', now: '2026-03-02T00:00:00.000Z', shards: 4, charterHashes: {} });
    // Ten $100 actions reserved at once against a $300 run cap: three fit, wherever they come from.
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => runs.reserveSpend(reservation(`a${i}`))));
    expect(results.filter((r) => r.reserved)).toHaveLength(3);
    expect(results.filter((r) => !r.reserved).every((r) => !r.reserved && r.over === 'run')).toBe(true);
    expect((await runs.get('r-cap'))?.counters['reservedUsd']).toBe(300);
    // A repeated Govern reserves the same action again: it holds, nothing is added.
    const held = results.findIndex((r) => r.reserved);
    expect(await runs.reserveSpend(reservation(`a${held}`))).toEqual({ reserved: true });
    expect((await runs.get('r-cap'))?.counters['reservedUsd']).toBe(300);
    expect(await runs.getAgentSpend('agent-r', '2026-03')).toBe(300);
  });

  it('gives a reservation back once (a rejected or expired action), making room for another', async () => {
    const runs = new DynamoRunRepository(db.client, db.tables.runs);
    const held = (await Promise.all(['a0', 'a1', 'a2', 'a3'].map(async (id) => ((await runs.reserveSpend(reservation(id))).reserved ? id : undefined)))).filter(Boolean);
    const one = { runId: 'r-cap', agentId: 'agent-r', month: '2026-03', actionId: held[0] as string, usd: 100 };
    await Promise.all([runs.releaseSpend(one), runs.releaseSpend(one), runs.releaseSpend(one)]);
    // Releasing an action that never reserved anything changes nothing.
    await runs.releaseSpend({ ...one, actionId: 'never-reserved' });
    expect((await runs.get('r-cap'))?.counters['reservedUsd']).toBe(200);
    expect(await runs.reserveSpend(reservation('b1'))).toEqual({ reserved: true });
    expect(await runs.reserveSpend(reservation('b2'))).toEqual({ reserved: false, over: 'run' });
  });

  it('holds the agent\'s monthly budget across runs, and gives the run back its room when the month has none', async () => {
    const runs = new DynamoRunRepository(db.client, db.tables.runs);
    for (const id of ['m-1', 'm-2']) await runs.start({ runId: id, campaignId: 'c', now: '2026-04-02T00:00:00.000Z', shards: 1, charterHashes: {} });
    const monthly = (runId: string, actionId: string) => ({ runId, agentId: 'agent-m', month: '2026-04', actionId, usd: 250, runCapUsd: 1_000, monthCapUsd: 400 });
    const [x, y] = await Promise.all([runs.reserveSpend(monthly('m-1', 'x')), runs.reserveSpend(monthly('m-2', 'y'))]);
    expect([x.reserved, y.reserved].filter(Boolean)).toHaveLength(1);
    expect([x, y].find((r) => !r.reserved)).toEqual({ reserved: false, over: 'month' });
    const counters = await Promise.all(['m-1', 'm-2'].map(async (id) => (await runs.get(id))?.counters['reservedUsd'] ?? 0));
    expect(counters.sort()).toEqual([0, 250]);
  });
});

describe('touch reservations', { timeout: 60_000 }, () => {
  it('lets overlapping runs take no more than a stakeholder\'s and an account\'s weekly touches between them', async () => {
    const runs = new DynamoRunRepository(db.client, db.tables.runs);
    const touch = (actionId: string, stakeholderIds: string[]) => ({ accountId: 'acc-t', week: '2026-W10', actionId, stakeholderIds, maxPerStakeholder: 2, maxPerAccount: 3 });
    // Two runs at once, each with three actions for the same CFO: two of the six fit.
    const results = await Promise.all(['run-a', 'run-b'].flatMap((run) => [1, 2, 3].map((i) => runs.reserveTouches(touch(`${run}-${i}`, ['cfo'])))));
    expect(results.filter(Boolean)).toHaveLength(2);
    // The account has one touch left this week: one of two actions for other people fits.
    const others = await Promise.all([runs.reserveTouches(touch('x-1', ['cto'])), runs.reserveTouches(touch('x-2', ['vp']))]);
    expect(others.filter(Boolean)).toHaveLength(1);
    expect(await runs.touchesInWeek('acc-t', '2026-W10')).toMatchObject({ account: 3, 's#cfo': 2 });
    // A repeated Govern holds what it reserved; a rejected action gives its touch back, once.
    const held = ['run-a', 'run-b'].flatMap((run) => [1, 2, 3].map((i) => `${run}-${i}`)).filter((_, i) => results[i]);
    expect(await runs.reserveTouches(touch(held[0] as string, ['cfo']))).toBe(true);
    await Promise.all([runs.releaseTouches(touch(held[0] as string, ['cfo'])), runs.releaseTouches(touch(held[0] as string, ['cfo']))]);
    expect(await runs.touchesInWeek('acc-t', '2026-W10')).toMatchObject({ account: 2, 's#cfo': 1 });
    expect(await runs.reserveTouches(touch('late', ['cfo']))).toBe(true);
    expect(await runs.reserveTouches(touch('later', ['cfo']))).toBe(false);
  });
});

describe('refused anonymous requests', { timeout: 60_000 }, () => {
  it('are counted in one item per hour, however many arrive at once', async () => {
    const runs = new DynamoRunRepository(db.client, db.tables.runs);
    await Promise.all(Array.from({ length: 300 }, (_, i) => runs.countRefused(`2026-03-02T09:${String(i % 60).padStart(2, '0')}:00.000Z`, i % 3 === 0 ? 'malformed' : 'bad_signature')));
    expect(await runs.refusedIn('2026-03-02T09')).toEqual({ total: 300, malformed: 100, bad_signature: 200 });
    await expect(runs.countRefused('2026-03-02T09:00:00.000Z', 'Robert\'); DROP TABLE')).rejects.toThrow(/expected a short snake_case name/);
  });
});
