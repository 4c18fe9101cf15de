/**
 * The keyed audit append as a property, on dynalite: whatever mix of writers (each its own log,
 * as separate processes are), keyed and unkeyed events, repeated keys delivered at the same time,
 * and writers that crashed between a key's claim and its event, every stream ends with one event
 * per key that was appended, every unkeyed event, a chain that verifies, and a head item at its
 * last event.
 */
import fc from 'fast-check';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoAuditLog, hashAuditEvent, verifyChain } from '../../shared/adapters/dynamodb/audit-log.ts';
import type { AuditEvent } from '../../shared/domain/model.ts';
import { documentClient } from '../../shared/adapters/dynamodb/client.ts';
import { appendAuditEvent, auditClaimKey } from '../../shared/adapters/dynamodb/requests.ts';
import { startDynamoFixture, type DynamoFixture } from './dynamodb-fixture.ts';

const RUNS = Number(process.env.AMK_AUDIT_RUNS ?? 25);

let db: DynamoFixture;
beforeAll(async () => {
  db = await startDynamoFixture('audit-once');
}, 60_000);
afterAll(async () => {
  await db?.stop();
});

/** One append: by which writer, of which key (or none), and whether an earlier writer of the key crashed after claiming. */
const op = fc.record({
  writer: fc.nat(3),
  key: fc.option(fc.constantFrom('k0', 'k1', 'k2', 'k3'), { nil: undefined }),
  crashedBefore: fc.boolean(),
});

describe('keyed audit appends', () => {
  it(`leave one event per key and a valid chain, whatever the interleaving and the crashes (${RUNS} cases)`, async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 14 }), async (ops) => {
        const stream = `PROP#${n++}`;
        const writers = Array.from({ length: 4 }, () => new DynamoAuditLog(db.client, db.tables.audit, { maxRetries: 60 }));
        const doc = documentClient(db.client);
        // Crashed writers: each claimed the next number of the (then empty) stream for its key and
        // never wrote the event; the number is taken later by another event, or left free.
        for (const o of ops) {
          if (o.key !== undefined && o.crashedBefore) {
            await doc.send(new PutCommand({ TableName: db.tables.audit, Item: { ...auditClaimKey(stream, o.key), key: o.key, seq: 0 } }));
          }
        }
        await Promise.all(
          ops.map((o, i) => {
            const w = writers[o.writer] as DynamoAuditLog;
            const event = { stream, at: '2026-03-02T09:00:00.000Z', kind: 'turn' as const, runId: 'r', actor: 'system:record', data: { i } };
            return o.key === undefined ? w.append([event]) : w.appendOnce([{ ...event, key: o.key }]);
          }),
        );
        const events = await writers[0]!.readStream(stream);
        const keys = [...new Set(ops.flatMap((o) => (o.key === undefined ? [] : [o.key])))].sort();
        expect(events.flatMap((e) => (e.key === undefined ? [] : [e.key])).sort()).toEqual(keys);
        expect(events.filter((e) => e.key === undefined)).toHaveLength(ops.filter((o) => o.key === undefined).length);
        expect(verifyChain(events).ok).toBe(true);
        // The head item names the last event, whoever wrote it and however the writers raced.
        const last = events.at(-1);
        expect(await writers[1]!.heads([stream])).toEqual(last === undefined ? [] : [{ stream, seq: last.seq, hash: last.hash }]);
      }),
      { numRuns: RUNS, seed: 9 },
    );
  }, 180_000);
});

describe('the head item of a stream', () => {
  it('is caught up by the next append when a writer stopped between its events and its head', async () => {
    const stream = 'HEADLAG#1';
    const log = new DynamoAuditLog(db.client, db.tables.audit);
    const event = (i: number) => ({ stream, at: '2026-03-02T09:00:00.000Z', kind: 'turn' as const, runId: 'r', actor: 'system:record', data: { i } });
    await log.append([event(0)]);
    // Events 1 and 2 written as a writer would, the head left at 0 (it crashed before moving it).
    const doc = documentClient(db.client);
    const [e0] = await log.readStream(stream);
    let prev = e0 as AuditEvent;
    for (const i of [1, 2]) {
      const { hash: _h, ...unsealed } = { ...prev, seq: i, prevHash: prev.hash, data: { i } };
      const sealed = { ...unsealed, hash: hashAuditEvent(unsealed) } as AuditEvent;
      await doc.send(new PutCommand(appendAuditEvent(db.tables.audit, sealed)));
      prev = sealed;
    }
    expect(await log.heads([stream])).toEqual([{ stream, seq: 0, hash: (e0 as AuditEvent).hash }]);
    const [e3] = await log.append([event(3)]);
    expect(e3?.seq).toBe(3);
    expect(await log.heads([stream])).toEqual([{ stream, seq: 3, hash: e3?.hash }]);
  });
});
