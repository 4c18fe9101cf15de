/**
 * Audit digests, as CloudTrail's digest files: when a run is summarized, the heads (last sequence
 * number and hash) of every audit stream it wrote to are signed with a key the writers do not hold
 * and published outside the audit table. The hash chain shows an event edited, inserted or
 * removed in the middle; the head item shows the last one removed; a digest shows what no writer
 * can forge: a stream cut back below a signed head, or rewritten with recomputed hashes.
 *
 * Pure: what a digest says, the bytes that are signed, and the checks of a stream against the
 * digests and its head. Signing itself (KMS in AWS, a local key file) is the adapter's.
 */
import * as z from 'zod';
import { canonicalJson } from './canonical-json.ts';
import type { AuditEvent } from './model.ts';

/** Where a stream ends: its last event's sequence number and hash. */
export const StreamHead = z.strictObject({ stream: z.string().min(1), seq: z.number().int().nonnegative(), hash: z.string().regex(/^[0-9a-f]{64}$/) });
export type StreamHead = z.infer<typeof StreamHead>;

/** What one digest asserts. */
export const AuditDigest = z.strictObject({
  format: z.literal('amk-audit-digest/1'),
  runId: z.string().min(1),
  /** When it was signed. */
  at: z.string().min(1),
  /** Every stream the run wrote to, as it stood when the run was summarized, by stream name. */
  heads: z.array(StreamHead),
});
export type AuditDigest = z.infer<typeof AuditDigest>;

/** A digest with its signature (HMAC-SHA256 over `digestBytes`, base64) and the key that made it. */
export const SignedAuditDigest = z.strictObject({
  digest: AuditDigest,
  signature: z.strictObject({ algorithm: z.literal('HMAC_SHA_256'), keyId: z.string().min(1), value: z.string().min(1) }),
});
export type SignedAuditDigest = z.infer<typeof SignedAuditDigest>;

/** The bytes a digest's signature covers: its canonical JSON. */
export const digestBytes = (digest: AuditDigest): Buffer => Buffer.from(canonicalJson(digest), 'utf8');

/** The digest of a run from its streams' heads (sorted, so the same heads give the same bytes). */
export const digestOf = (runId: string, at: string, heads: readonly StreamHead[]): AuditDigest => ({
  format: 'amk-audit-digest/1',
  runId,
  at,
  heads: [...heads].sort((a, b) => (a.stream < b.stream ? -1 : a.stream > b.stream ? 1 : 0)),
});

/** One thing wrong with the audit trail, at a place a person can look up. */
export interface AuditFinding {
  readonly stream: string;
  /** The sequence number where it shows (for a missing tail: the first missing one). */
  readonly seq: number;
  readonly problem: 'edited' | 'deleted' | 'inserted' | 'reordered' | 'truncated' | 'rewritten' | 'unanchored' | 'bad_digest';
  readonly detail: string;
}

/**
 * Checks one stream's events (as stored, in sort-key order) link up: seq 0, 1, 2..., each event's
 * hash its recomputed hash (`hashOf`), each prevHash the hash before. Reports the first break of
 * each kind it meets; after a break, the chain goes on from the event as stored.
 */
export function chainFindings(stream: string, events: readonly AuditEvent[], hashOf: (e: AuditEvent) => string, genesis: string): AuditFinding[] {
  const findings: AuditFinding[] = [];
  let prevHash = genesis;
  let expected = 0;
  for (const event of events) {
    if (event.seq > expected) {
      findings.push({ stream, seq: expected, problem: 'deleted', detail: `seq ${expected}${event.seq - 1 > expected ? `..${event.seq - 1}` : ''} missing (the next stored event is seq ${event.seq})` });
    } else if (event.seq < expected) {
      // Out of place (its number says it belongs earlier): the chain goes on from the event before it.
      findings.push({ stream, seq: event.seq, problem: 'reordered', detail: `seq ${event.seq} stored after seq ${expected - 1}` });
      continue;
    }
    if (event.stream !== stream) {
      findings.push({ stream, seq: event.seq, problem: 'inserted', detail: `an event of stream ${event.stream} is stored in ${stream}` });
    } else if (event.hash !== hashOf(event)) {
      findings.push({ stream, seq: event.seq, problem: 'edited', detail: `its content does not match its hash (stored ${event.hash.slice(0, 12)}…)` });
    } else if (event.prevHash !== prevHash && event.seq === expected) {
      findings.push({ stream, seq: event.seq, problem: 'inserted', detail: `its prevHash ${event.prevHash.slice(0, 12)}… is not the hash of the event before (${prevHash.slice(0, 12)}…): an event was put in or replaced here` });
    }
    prevHash = event.hash;
    expected = event.seq + 1;
  }
  return findings;
}

/**
 * Checks a stream's end against its head item: the head names the last event written through the
 * writers, so a stored chain that ends before it was cut back, and events after it were put in
 * from outside.
 */
export function headFindings(stream: string, events: readonly AuditEvent[], head: { seq: number; hash: string } | undefined): AuditFinding[] {
  const last = events.at(-1);
  if (head === undefined) {
    return last === undefined ? [] : [{ stream, seq: 0, problem: 'unanchored', detail: `the stream has ${events.length} event(s) and no head item (it was removed, or the events were written around the writers)` }];
  }
  if (last === undefined || last.seq < head.seq) {
    const from = last === undefined ? 0 : last.seq + 1;
    return [{ stream, seq: from, problem: 'truncated', detail: `the head says the stream ends at seq ${head.seq}; the stored chain ends ${last === undefined ? 'before seq 0 (empty)' : `at seq ${last.seq}`}` }];
  }
  const atHead = events.find((e) => e.seq === head.seq);
  if (atHead !== undefined && atHead.hash !== head.hash) {
    return [{ stream, seq: head.seq, problem: 'rewritten', detail: `the head's hash ${head.hash.slice(0, 12)}… is not the stored event's ${atHead.hash.slice(0, 12)}…` }];
  }
  if (last.seq > head.seq) {
    return [{ stream, seq: head.seq + 1, problem: 'unanchored', detail: `seq ${head.seq + 1}..${last.seq} come after the head (seq ${head.seq}): written around the writers, or a writer stopped between its event and the head (the stream's next append moves it)` }];
  }
  return [];
}

/** Checks a stream against every signed head of it: a digest's head must still be in the chain, unchanged. */
export function digestFindings(stream: string, events: readonly AuditEvent[], signed: ReadonlyArray<{ runId: string; head: { seq: number; hash: string } }>): AuditFinding[] {
  const bySeq = new Map(events.map((e) => [e.seq, e] as const));
  const findings: AuditFinding[] = [];
  for (const { runId, head } of signed) {
    const event = bySeq.get(head.seq);
    const lastSeq = events.at(-1)?.seq ?? -1;
    if (event === undefined && head.seq > lastSeq) {
      findings.push({ stream, seq: lastSeq + 1, problem: 'truncated', detail: `run ${runId}'s signed digest says the stream reached seq ${head.seq}; it now ends ${lastSeq < 0 ? 'empty' : `at seq ${lastSeq}`}` });
    } else if (event !== undefined && event.hash !== head.hash) {
      findings.push({ stream, seq: head.seq, problem: 'rewritten', detail: `run ${runId}'s signed digest holds hash ${head.hash.slice(0, 12)}… for seq ${head.seq}; the stored event has ${event.hash.slice(0, 12)}… (the stream was rewritten)` });
    }
  }
  return findings;
}
