/**
 * The DynamoDB request builders are pure: these tests pin key design and condition expressions
 * with no I/O and no mocks.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../shared/domain/errors.ts';
import type { AccountState, Approval, AuditEvent, Stakeholder } from '../../shared/domain/model.ts';
import { GENESIS_HASH, hashAuditEvent, verifyChain } from '../../shared/adapters/dynamodb/audit-log.ts';
import { canonicalJson } from '../../shared/domain/canonical-json.ts';
import { createTableInput } from '../../shared/adapters/dynamodb/create-tables.ts';
import {
  accountStateKey,
  addOutcomeDeltas,
  guardAttribute,
  addRunCounters,
  appendAuditEvent,
  auditEventOfItem,
  auditSeqKey,
  batchPutSignals,
  batchPutStakeholders,
  decideApproval,
  decodeCursor,
  encodeCursor,
  getAccountState,
  importAccountState,
  markApprovalPending,
  parseArmAttribute,
  putAccountState,
  putApprovalIfAbsent,
  queryApprovalIdsForRunShard,
  queryByShard,
  queryMemorySince,
  querySignalsSince,
  queryStreamHead,
  shardOf,
  shardPartition,
  signalKey,
  startRun,
} from '../../shared/adapters/dynamodb/requests.ts';
import { TABLES, VIRTUAL_SHARDS } from '../../shared/adapters/dynamodb/tables.ts';

const state: AccountState = {
  id: 'acme',
  name: 'Acme',
  domain: 'acme.example.com',
  tier: 1,
  industry: 'software',
  employees: 1200,
  stage: 'problem_aware',
  engagedRoles: ['champion'],
  objections: [],
  consensus: 0.2,
  lastMeaningfulInteraction: null,
  observedUntil: null,
  version: 7,
};

describe('account keys and shards', () => {
  it('hashes an account into a virtual shard from the first four bytes of sha256(id)', () => {
    const expected = createHash('sha256').update('acme').digest().readUInt32BE(0) % VIRTUAL_SHARDS;
    expect(shardOf('acme')).toBe(expected);
    expect(shardPartition(3)).toBe('SHARD#03');
    expect(shardPartition(63)).toBe('SHARD#63');
  });

  it('spreads accounts over every virtual shard', () => {
    const shards = new Set(Array.from({ length: 5000 }, (_, i) => shardOf(`account-${i}`)));
    expect(shards.size).toBe(VIRTUAL_SHARDS);
  });

  it('refuses a virtual shard outside the range', () => {
    expect(() => shardPartition(VIRTUAL_SHARDS)).toThrow(InvalidInputError);
    expect(() => shardPartition(-1)).toThrow(InvalidInputError);
  });

  it('reads account state with a strongly consistent GetItem on ACCOUNT#id / STATE', () => {
    expect(getAccountState('accounts', 'acme')).toEqual({
      TableName: 'accounts',
      Key: { pk: 'ACCOUNT#acme', sk: 'STATE' },
      ConsistentRead: true,
    });
  });

  it('keys a signal by normalized UTC time then id, so offsets still sort by time', () => {
    expect(signalKey({ accountId: 'acme', at: '2026-03-01T13:30:00+02:00', id: 's1' })).toEqual({
      pk: 'ACCOUNT#acme',
      sk: 'SIGNAL#2026-03-01T11:30:00.000Z#s1',
    });
  });
});

describe('account state writes', () => {
  it('writes a new state only if none exists or its version is still 0, storing version 1', () => {
    expect(putAccountState('accounts', state, 0)).toEqual({
      TableName: 'accounts',
      Item: {
        ...state,
        pk: 'ACCOUNT#acme',
        sk: 'STATE',
        gsi1pk: shardPartition(shardOf('acme')),
        gsi1sk: 'ACCOUNT#acme',
        version: 1,
      },
      ConditionExpression: 'attribute_not_exists(pk) OR #version = :expected',
      ExpressionAttributeNames: { '#version': 'version' },
      ExpressionAttributeValues: { ':expected': 0 },
    });
  });

  it('writes an existing state only while the stored version equals the expected one, storing expected + 1', () => {
    const input = putAccountState('accounts', state, 7);
    expect(input.ConditionExpression).toBe('#version = :expected');
    expect(input.ExpressionAttributeValues).toEqual({ ':expected': 7 });
    expect(input.Item?.['version']).toBe(8);
  });

  it('imports a state at version 0 without any condition', () => {
    const input = importAccountState('accounts', state);
    expect(input.ConditionExpression).toBeUndefined();
    expect(input.Item).toMatchObject({ ...accountStateKey('acme'), version: 0 });
  });

  it('refuses a negative or fractional expected version', () => {
    expect(() => putAccountState('accounts', state, -1)).toThrow(InvalidInputError);
    expect(() => putAccountState('accounts', state, 1.5)).toThrow(InvalidInputError);
  });
});

describe('account queries', () => {
  it('pages a virtual shard through the byShard index with a limit and a start key', () => {
    const start = { pk: 'ACCOUNT#a', sk: 'STATE', gsi1pk: 'SHARD#05', gsi1sk: 'ACCOUNT#a' };
    expect(queryByShard('accounts', 5, 50, start)).toEqual({
      TableName: 'accounts',
      IndexName: 'byShard',
      KeyConditionExpression: 'gsi1pk = :shard',
      ExpressionAttributeValues: { ':shard': 'SHARD#05' },
      Limit: 50,
      ExclusiveStartKey: start,
    });
  });

  it('round-trips a LastEvaluatedKey through an opaque base64url cursor and rejects garbage', () => {
    const key = { pk: 'ACCOUNT#a/b+c', sk: 'STATE', gsi1pk: 'SHARD#05', gsi1sk: 'ACCOUNT#a/b+c' };
    const cursor = encodeCursor(key);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(cursor)).toEqual(key);
    expect(() => decodeCursor('%%%')).toThrow(InvalidInputError);
    expect(() => decodeCursor(Buffer.from('[1,2]').toString('base64url'))).toThrow(InvalidInputError);
  });

  it('reads signals strictly after a time with bounds that exclude that instant and every non-signal item', () => {
    expect(querySignalsSince('accounts', 'acme', '2026-03-01T12:00:00+01:00')).toEqual({
      TableName: 'accounts',
      KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
      ExpressionAttributeValues: {
        ':pk': 'ACCOUNT#acme',
        ':from': 'SIGNAL#2026-03-01T11:00:00.000Z$',
        ':to': 'SIGNAL$',
      },
      ConsistentRead: true,
    });
    const from = 'SIGNAL#2026-03-01T11:00:00.000Z$';
    expect('SIGNAL#2026-03-01T11:00:00.000Z#zzz' < from).toBe(true);
    expect('SIGNAL#2026-03-01T11:00:00.001Z#a' > from).toBe(true);
    expect('STATE' > 'SIGNAL$' && 'CONTACT#x' < from).toBe(true);
  });

  it('reads every signal with begins_with when there is no previous observation', () => {
    expect(querySignalsSince('accounts', 'acme', null).KeyConditionExpression).toBe('pk = :pk AND begins_with(sk, :prefix)');
  });

  it('splits stakeholder writes into batches of 25 and keeps one write per key', () => {
    const people: Stakeholder[] = Array.from({ length: 60 }, (_, i) => ({
      id: `p${i % 55}`,
      accountId: 'acme',
      name: `P ${i}`,
      email: `p${i}@acme.example.com`,
      title: 't',
      role: 'end_user',
      seniority: 'individual',
      timeZone: 'UTC',
      consent: 'unknown',
      doNotContact: false,
    }));
    const batches = batchPutStakeholders('accounts', people);
    expect(batches.map((b) => b.RequestItems?.['accounts']?.length)).toEqual([25, 25, 5]);
    const first = batches[0]?.RequestItems?.['accounts']?.[0];
    expect(first).toEqual({ PutRequest: { Item: expect.objectContaining({ pk: 'ACCOUNT#acme', sk: 'CONTACT#p5' }) } });
  });

  it('writes a repeated signal once per batch', () => {
    const signal = { id: 's', accountId: 'acme', kind: 'open' as const, at: '2026-03-01T00:00:00Z' };
    expect(batchPutSignals('accounts', [signal, signal])[0]?.RequestItems?.['accounts']).toHaveLength(1);
  });
});

describe('memory requests', () => {
  it('reads memory at or after a time, bounded to MEM# items', () => {
    expect(queryMemorySince('memory', 'acme', '2026-03-01T00:00:00Z')).toMatchObject({
      KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
      ExpressionAttributeValues: { ':pk': 'ACCOUNT#acme', ':from': 'MEM#2026-03-01T00:00:00.000Z', ':to': 'MEM$' },
    });
  });

  it('adds arm counters with ADD through attribute names (arm names hold colons), guarded by the effect key', () => {
    expect(addOutcomeDeltas('memory', 'agent-1', { 'nurture_email:champion': { trials: 2, successes: 1 } }, 'page#r#0#start#recorded', 1000)).toEqual([
      {
        TableName: 'memory',
        Key: { pk: 'MODEL#agent-1', sk: 'ARMS' },
        UpdateExpression: 'ADD #version :one, #t0 :t0, #s0 :s0 SET #fx = :now',
        ConditionExpression: 'attribute_not_exists(#fx)',
        ExpressionAttributeNames: {
          '#version': 'version',
          '#fx': guardAttribute('page#r#0#start#recorded#0'),
          '#t0': 'trials#nurture_email:champion',
          '#s0': 'successes#nurture_email:champion',
        },
        ExpressionAttributeValues: { ':one': 1, ':now': 1000, ':t0': 2, ':s0': 1 },
        ReturnValues: 'ALL_NEW',
      },
    ]);
    expect(guardAttribute('a')).toMatch(/^fx_[0-9a-f]{24}$/);
    expect(parseArmAttribute(guardAttribute('a'))).toBeUndefined();
    expect(parseArmAttribute('successes#a:b#c')).toEqual({ counter: 'successes', arm: 'a:b#c' });
    expect(parseArmAttribute('version')).toBeUndefined();
  });

  it('splits many arms over several updates and refuses a non-finite delta', () => {
    const deltas = Object.fromEntries(Array.from({ length: 90 }, (_, i) => [`arm:${i}`, { trials: 1, successes: 0 }]));
    const parts = addOutcomeDeltas('memory', 'a', deltas, 'k', 0);
    expect(parts).toHaveLength(3);
    // Each part has its own guard: a crash between two parts is repaired by the retry.
    expect(new Set(parts.map((p) => p.ExpressionAttributeNames?.['#fx'])).size).toBe(3);
    expect(() => addOutcomeDeltas('memory', 'a', { x: { trials: Number.NaN, successes: 0 } }, 'k', 0)).toThrow(InvalidInputError);
  });
});

describe('approval requests', () => {
  const approval = {
    id: 'ap1',
    runId: 'run-1',
    shard: 2,
    accountId: 'acme',
    agentId: 'agent-1',
    rules: [],
    approver: 'owner@example.com',
    actionDigest: 'd',
    charterHash: 'c',
    status: 'queued',
    timeoutSeconds: 3600,
    createdAt: '2026-03-01T00:00:00.000Z',
    version: 0,
  } as unknown as Approval; // the action is irrelevant to the key design

  it('creates an approval only if its id is unused, indexed by run and shard, with a purge time', () => {
    const input = putApprovalIfAbsent('approvals', approval);
    expect(input.ConditionExpression).toBe('attribute_not_exists(pk)');
    expect(input.Item).toMatchObject({
      pk: 'APPROVAL#ap1',
      sk: 'REQUEST',
      gsi1pk: 'RUN#run-1#SHARD#2',
      gsi1sk: 'APPROVAL#ap1',
      purgeAt: Date.parse('2026-03-01T00:00:00.000Z') / 1000 + 90 * 86_400,
    });
  });

  it('moves an approval to pending from queued (or from pending on another task, which no longer exists) and returns the new item', () => {
    expect(markApprovalPending('approvals', 'ap1', 'tok', '2026-03-02T00:00:00Z')).toEqual({
      TableName: 'approvals',
      Key: { pk: 'APPROVAL#ap1', sk: 'REQUEST' },
      UpdateExpression:
        'SET #status = :pending, #taskToken = :taskToken, #expiresAt = :expiresAt, #expiresAtMs = :expiresAtMs, #version = #version + :one',
      ConditionExpression: '#status = :queued OR #status = :pending',
      ExpressionAttributeNames: {
        '#status': 'status',
        '#taskToken': 'taskToken',
        '#expiresAt': 'expiresAt',
        '#expiresAtMs': 'expiresAtMs',
        '#version': 'version',
      },
      ExpressionAttributeValues: {
        ':pending': 'pending',
        ':queued': 'queued',
        ':taskToken': 'tok',
        ':expiresAt': '2026-03-02T00:00:00Z',
        ':expiresAtMs': Date.parse('2026-03-02T00:00:00Z'),
        ':one': 1,
      },
      ReturnValues: 'ALL_NEW',
    });
  });

  it('approves only a pending approval whose link has not expired at the decision time', () => {
    const input = decideApproval('approvals', 'ap1', {
      status: 'approved',
      at: '2026-03-01T10:00:00Z',
      by: 'owner@example.com',
      reviewerKind: 'human',
    });
    expect(input.ConditionExpression).toBe('#status = :pending AND (attribute_not_exists(#expiresAtMs) OR #expiresAtMs > :atMs)');
    expect(input.ExpressionAttributeValues).toMatchObject({
      ':status': 'approved',
      ':pending': 'pending',
      ':atMs': Date.parse('2026-03-01T10:00:00Z'),
      ':reviewerKind': 'human',
    });
    expect(input.UpdateExpression).toBe(
      'SET #status = :status, #decidedAt = :decidedAt, #decidedBy = :decidedBy, #version = #version + :one, #reviewerKind = :reviewerKind',
    );
  });

  it('expires or skips a pending approval regardless of its expiry time', () => {
    const input = decideApproval('approvals', 'ap1', { status: 'expired', at: '2026-03-09T00:00:00Z', by: 'system' });
    expect(input.ConditionExpression).toBe('#status = :pending');
    expect(input.ExpressionAttributeNames).not.toHaveProperty('#expiresAtMs');
  });

  it('lists the approval ids of a run shard from the byRunShard index, projecting only the id key', () => {
    expect(queryApprovalIdsForRunShard('approvals', 'run-1', 2)).toEqual({
      TableName: 'approvals',
      IndexName: 'byRunShard',
      KeyConditionExpression: 'gsi1pk = :pk',
      ExpressionAttributeValues: { ':pk': 'RUN#run-1#SHARD#2' },
      ProjectionExpression: 'gsi1sk',
    });
  });

  it('bounds the listing to a page of ids by the index sort key', () => {
    const q = (range: { after?: string; through?: string }) => {
      const input = queryApprovalIdsForRunShard('approvals', 'run-1', 2, undefined, range);
      return [input.KeyConditionExpression, input.ExpressionAttributeValues];
    };
    expect(q({ after: 'a', through: 'b' })).toEqual(['gsi1pk = :pk AND gsi1sk BETWEEN :from AND :to', { ':pk': 'RUN#run-1#SHARD#2', ':from': 'APPROVAL#a', ':to': 'APPROVAL#b' }]);
    expect(q({ after: 'a' })).toEqual(['gsi1pk = :pk AND gsi1sk > :from', { ':pk': 'RUN#run-1#SHARD#2', ':from': 'APPROVAL#a' }]);
    expect(q({ through: 'b' })).toEqual(['gsi1pk = :pk AND gsi1sk <= :to', { ':pk': 'RUN#run-1#SHARD#2', ':to': 'APPROVAL#b' }]);
  });
});

describe('audit requests and the hash chain', () => {
  const base = {
    stream: 'RUN#r1',
    at: '2026-03-01T00:00:00+01:00',
    kind: 'turn' as const,
    runId: 'r1',
    actor: 'agent-1',
    data: { b: 1, a: [1, { d: 2, c: 3 }] },
  };
  const sealed = (seq: number, prevHash: string): AuditEvent => {
    const unsealed = { ...base, seq, prevHash };
    return { ...unsealed, hash: hashAuditEvent(unsealed) };
  };

  it('appends an event at a zero-padded sequence only if that sequence is free, indexed by run and time', () => {
    const event = sealed(42, GENESIS_HASH);
    expect(appendAuditEvent('audit', event)).toEqual({
      TableName: 'audit',
      Item: {
        ...event,
        pk: 'RUN#r1',
        sk: 'SEQ#0000000042',
        gsi1pk: 'RUN#r1',
        gsi1sk: '2026-02-28T23:00:00.000Z#RUN#r1#0000000042',
      },
      ConditionExpression: 'attribute_not_exists(pk)',
    });
    expect(auditSeqKey(0)).toBe('SEQ#0000000000');
  });

  it('stores data over 1 KB gzip-compressed, reads it back whole, and keeps small data plain', () => {
    const large = { ...sealed(7, GENESIS_HASH), data: { rationale: 'Cover the missing champion. '.repeat(60), n: 1.25, list: [null, true, { x: 'y' }] } };
    const event = { ...large, hash: hashAuditEvent(large) };
    const item = appendAuditEvent('audit', event).Item as Record<string, unknown>;
    expect(item).not.toHaveProperty('data');
    expect(item['dataGzip']).toBeInstanceOf(Uint8Array);
    expect((item['dataGzip'] as Uint8Array).byteLength).toBeLessThan(JSON.stringify(event.data).length / 4);
    const read = auditEventOfItem(item);
    expect(read).toEqual(event);
    expect(hashAuditEvent(read)).toBe(event.hash);
    const small = appendAuditEvent('audit', sealed(8, GENESIS_HASH)).Item as Record<string, unknown>;
    expect(small['data']).toEqual(base.data);
    expect(small).not.toHaveProperty('dataGzip');
    expect(() => auditEventOfItem({ ...item, dataGzip: 'not binary' })).toThrow(InvalidInputError);
  });

  it('leaves events without a runId out of the run index', () => {
    const { runId: _runId, ...withoutRun } = sealed(0, GENESIS_HASH);
    expect(appendAuditEvent('audit', withoutRun).Item).not.toHaveProperty('gsi1pk');
  });

  it('finds the head of a stream with a descending, strongly consistent query of one item', () => {
    expect(queryStreamHead('audit', 'RUN#r1')).toEqual({
      TableName: 'audit',
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': 'RUN#r1', ':prefix': 'SEQ#' },
      ScanIndexForward: false,
      Limit: 1,
      ConsistentRead: true,
    });
  });

  it('hashes the canonical JSON of the event without its hash, so key order does not matter', () => {
    const event = sealed(0, GENESIS_HASH);
    const { hash: _hash, ...rest } = event;
    expect(event.hash).toBe(createHash('sha256').update(canonicalJson(rest)).digest('hex'));
    expect(canonicalJson({ b: 1, a: { d: [2, { f: 1, e: undefined }], c: 'x' } })).toBe('{"a":{"c":"x","d":[2,{"f":1}]},"b":1}');
    expect(hashAuditEvent({ ...rest, data: { a: [1, { c: 3, d: 2 }], b: 1 } })).toBe(event.hash);
  });

  it('accepts an intact chain and names the first event that breaks it', () => {
    const e0 = sealed(0, GENESIS_HASH);
    const e1 = sealed(1, e0.hash);
    const e2 = sealed(2, e1.hash);
    expect(verifyChain([e0, e1, e2])).toEqual({ ok: true });
    expect(verifyChain([])).toEqual({ ok: true });
    expect(verifyChain([e0, { ...e1, actor: 'someone-else' }, e2])).toEqual({ ok: false, brokenAt: 1 });
    expect(verifyChain([e0, e2])).toEqual({ ok: false, brokenAt: 1 });
    expect(verifyChain([e1])).toEqual({ ok: false, brokenAt: 0 });
  });
});

describe('run requests', () => {
  it('starts a run with an empty counters map, only once', () => {
    expect(startRun('runs', { runId: 'r1', campaignId: 'c', now: '2026-03-01T00:00:00Z', shards: 2, charterHashes: {} })).toEqual({
      TableName: 'runs',
      Item: {
        pk: 'RUN#r1',
        sk: 'HEADER',
        runId: 'r1',
        campaignId: 'c',
        now: '2026-03-01T00:00:00Z',
        shards: 2,
        charterHashes: {},
        counters: {},
      },
      ConditionExpression: 'attribute_not_exists(pk)',
    });
  });

  it('adds counters with ADD on the nested counters map of a started run, once per effect key', () => {
    expect(addRunCounters('runs', 'r1', { accounts: 3, 'actions:email': 1 }, 'k', 7)).toEqual([
      {
        TableName: 'runs',
        Key: { pk: 'RUN#r1', sk: 'HEADER' },
        UpdateExpression: 'ADD #counters.#c0 :c0, #counters.#c1 :c1 SET #fx = :now',
        ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(#fx)',
        ExpressionAttributeNames: { '#counters': 'counters', '#fx': guardAttribute('k#0'), '#c0': 'accounts', '#c1': 'actions:email' },
        ExpressionAttributeValues: { ':now': 7, ':c0': 3, ':c1': 1 },
      },
    ]);
    expect(addRunCounters('runs', 'r1', {}, 'k', 7)).toEqual([]);
  });
});

describe('table creation', () => {
  it('creates string keys, on-demand billing and GSIs projecting every attribute', () => {
    expect(createTableInput(TABLES.accounts, 'amk-accounts')).toEqual({
      TableName: 'amk-accounts',
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
        { AttributeName: 'gsi1pk', AttributeType: 'S' },
        { AttributeName: 'gsi1sk', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: [
        {
          IndexName: 'byShard',
          KeySchema: [
            { AttributeName: 'gsi1pk', KeyType: 'HASH' },
            { AttributeName: 'gsi1sk', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    });
  });

  it('creates a hash-only table without indexes for the idempotency records', () => {
    expect(createTableInput(TABLES.idempotency, 'amk-idempotency')).toEqual({
      TableName: 'amk-idempotency',
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
    });
  });
});
