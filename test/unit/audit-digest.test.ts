/**
 * The pure checks behind `amk audit verify`: a chain, a stream's end against its head item, and a
 * stream against the heads run digests signed.
 */
import { describe, expect, it } from 'vitest';
import { GENESIS_HASH, hashAuditEvent } from '../../shared/adapters/dynamodb/audit-log.ts';
import { chainFindings, digestBytes, digestFindings, digestOf, headFindings } from '../../shared/domain/audit-digest.ts';
import type { AuditEvent } from '../../shared/domain/model.ts';

const S = 'RUN#r1';

function chain(n: number): AuditEvent[] {
  const out: AuditEvent[] = [];
  let prevHash = GENESIS_HASH;
  for (let seq = 0; seq < n; seq++) {
    const unsealed = { stream: S, seq, prevHash, at: `2027-01-04T14:00:0${seq}.000Z`, kind: 'alert' as const, actor: 'system:test', runId: 'r1', data: { seq } };
    const event = { ...unsealed, hash: hashAuditEvent(unsealed) } as AuditEvent;
    out.push(event);
    prevHash = event.hash;
  }
  return out;
}

const kinds = (events: AuditEvent[]) => chainFindings(S, events, hashAuditEvent, GENESIS_HASH).map((f) => [f.problem, f.seq]);

describe('chainFindings', () => {
  it('finds nothing in an intact chain, and names each break with its kind and position', () => {
    const events = chain(5);
    expect(kinds(events)).toEqual([]);
    expect(kinds(events.filter((e) => e.seq !== 2))).toEqual([['deleted', 2]]);
    expect(kinds(events.map((e) => (e.seq === 1 ? { ...e, actor: 'human:x' } : e)))).toEqual([['edited', 1]]);
    const [a, b, c, ...rest] = events;
    // Stored out of order (seq 0, 2, 1, 3, ...): the gap where 1 should be, then 1 after 2.
    expect(kinds([a, c, b, ...rest] as AuditEvent[])).toEqual([['deleted', 1], ['reordered', 1]]);
  });
});

describe('headFindings', () => {
  const events = chain(4);
  const last = events[3] as AuditEvent;
  it('accepts a head at the last event', () => {
    expect(headFindings(S, events, { seq: 3, hash: last.hash })).toEqual([]);
    expect(headFindings(S, [], undefined)).toEqual([]);
  });
  it('names a cut-back stream, an emptied one, a head whose hash differs, events past the head, and a missing head', () => {
    expect(headFindings(S, events.slice(0, 3), { seq: 3, hash: last.hash }).map((f) => [f.problem, f.seq])).toEqual([['truncated', 3]]);
    expect(headFindings(S, [], { seq: 3, hash: last.hash }).map((f) => [f.problem, f.seq])).toEqual([['truncated', 0]]);
    expect(headFindings(S, events, { seq: 3, hash: 'f'.repeat(64) }).map((f) => [f.problem, f.seq])).toEqual([['rewritten', 3]]);
    expect(headFindings(S, events, { seq: 1, hash: (events[1] as AuditEvent).hash }).map((f) => [f.problem, f.seq])).toEqual([['unanchored', 2]]);
    expect(headFindings(S, events, undefined).map((f) => f.problem)).toEqual(['unanchored']);
  });
});

describe('digestFindings', () => {
  const events = chain(4);
  it('accepts a signed head still in the chain, also once the stream went on', () => {
    expect(digestFindings(S, events, [{ runId: 'r1', head: { seq: 2, hash: (events[2] as AuditEvent).hash } }])).toEqual([]);
  });
  it('names a stream cut below a signed head, and one whose event at a signed head was rewritten', () => {
    const signed = [{ runId: 'r1', head: { seq: 3, hash: (events[3] as AuditEvent).hash } }];
    expect(digestFindings(S, events.slice(0, 2), signed).map((f) => [f.problem, f.seq])).toEqual([['truncated', 2]]);
    expect(digestFindings(S, [...events.slice(0, 3), { ...(events[3] as AuditEvent), hash: 'e'.repeat(64) }], signed).map((f) => [f.problem, f.seq])).toEqual([['rewritten', 3]]);
  });
});

describe('digestOf', () => {
  it('orders heads by stream, so the same heads give the same signed bytes', () => {
    const h = (stream: string) => ({ stream, seq: 0, hash: 'a'.repeat(64) });
    const one = digestOf('r1', '2027-01-04T15:00:00.000Z', [h('RUN#r1'), h('ACCOUNT#b'), h('ACCOUNT#a')]);
    const two = digestOf('r1', '2027-01-04T15:00:00.000Z', [h('ACCOUNT#a'), h('RUN#r1'), h('ACCOUNT#b')]);
    expect(one.heads.map((x) => x.stream)).toEqual(['ACCOUNT#a', 'ACCOUNT#b', 'RUN#r1']);
    expect(digestBytes(one).equals(digestBytes(two))).toBe(true);
  });
});
