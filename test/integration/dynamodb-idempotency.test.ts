/**
 * The idempotent runner (Powertools idempotency) against dynalite: at most once per key, replay of
 * the stored value, and a released key after a failure.
 */
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIdempotentRunner, type IdempotentRunner } from '../../shared/adapters/idempotency.ts';
import { startDynamoFixture, type DynamoFixture } from './dynamodb-fixture.ts';

let db: DynamoFixture;
let runOnce: IdempotentRunner;

beforeAll(async () => {
  db = await startDynamoFixture('idem');
  runOnce = createIdempotentRunner({ client: db.client, table: db.tables.idempotency });
}, 60_000);

afterAll(async () => {
  await db?.stop();
});

describe('createIdempotentRunner', { timeout: 60_000 }, () => {
  it('calls fn once for two calls with the same key and replays the stored value to the second', async () => {
    let calls = 0;
    const send = async () => {
      calls++;
      return { messageId: `m-${calls}`, accepted: ['a@example.com'], detail: undefined };
    };
    const first = await runOnce('email:act-1', send);
    const second = await runOnce('email:act-1', send);
    expect(calls).toBe(1);
    expect(first).toEqual({ value: { messageId: 'm-1', accepted: ['a@example.com'] }, replayed: false });
    expect(second).toEqual({ value: first.value, replayed: true });
  });

  it('runs fn again for a different key', async () => {
    let calls = 0;
    await runOnce('email:act-2', async () => ++calls);
    await runOnce('email:act-3', async () => ++calls);
    expect(calls).toBe(2);
  });

  it('releases the key when fn throws, so the retry runs fn again and its result then sticks', async () => {
    let calls = 0;
    const flaky = async () => {
      calls++;
      if (calls === 1) throw Object.assign(new Error('smtp timeout'), { name: 'ToolFailedError' });
      return 'sent';
    };
    await expect(runOnce('email:act-4', flaky)).rejects.toMatchObject({ name: 'ToolFailedError' });
    expect(await runOnce('email:act-4', flaky)).toEqual({ value: 'sent', replayed: false });
    expect(await runOnce('email:act-4', flaky)).toEqual({ value: 'sent', replayed: true });
    expect(calls).toBe(2);
  });

  it('runs fn at most once when two calls with the same key overlap', async () => {
    let calls = 0;
    const slow = async () => {
      calls++;
      await new Promise((resolve) => setTimeout(resolve, 200));
      return 'done';
    };
    const results = await Promise.allSettled([runOnce('email:act-5', slow), runOnce('email:act-5', slow)]);
    expect(calls).toBe(1);
    const rejected = results.filter((r) => r.status === 'rejected');
    // The loser sees the record in progress: retryable, never a second side effect.
    for (const r of rejected) expect(r.reason).toMatchObject({ name: 'SideEffectInProgressError' });
    expect(await runOnce('email:act-5', slow)).toEqual({ value: 'done', replayed: true });
  });

  it('shares records between runners of different processes (the key does not depend on the function name)', async () => {
    const other = createIdempotentRunner({ client: db.client, table: db.tables.idempotency });
    let calls = 0;
    await runOnce('crm:act-6', async () => ++calls);
    expect(await other('crm:act-6', async () => ++calls)).toEqual({ value: 1, replayed: true });
    expect(calls).toBe(1);
  });

  it('runs fn again once the completed record has expired', async () => {
    const shortLived = createIdempotentRunner({ client: db.client, table: db.tables.idempotency, expiresAfterSeconds: 1 });
    let calls = 0;
    await shortLived('ads:act-7', async () => ++calls);
    await new Promise((resolve) => setTimeout(resolve, 2100));
    expect(await shortLived('ads:act-7', async () => ++calls)).toEqual({ value: 2, replayed: false });
  });

  it('stores records in the Powertools layout under the table key `id`', async () => {
    await runOnce('webhook:act-8', async () => 'ok');
    // The record id is the prefix and the sha256 of the JSON-encoded key (Powertools' hashing).
    const { createHash } = await import('node:crypto');
    const id = `amk#${createHash('sha256').update(JSON.stringify('webhook:act-8')).digest('base64')}`;
    const out = await db.client.send(new GetItemCommand({ TableName: db.tables.idempotency, Key: { id: { S: id } } }));
    expect(out.Item?.['status']?.S).toBe('COMPLETED');
    expect(out.Item?.['expiration']?.N).toBeDefined();
  });
});
