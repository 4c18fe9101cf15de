/**
 * AuditLog on the audit table: append-only streams (`RUN#<id>`, `ACCOUNT#<id>`), each a hash
 * chain. An event's hash is sha256 over the canonical JSON of the event without `hash` (so seq,
 * stream and prevHash are covered); the first event links to GENESIS_HASH. Appends are
 * conditional puts at the next sequence number: when another writer took that number first, the
 * append re-reads the head and retries, so concurrent writers never fork or gap a chain. An event
 * with a `key` is appended once per stream, whoever writes it how often (see appendKeyed).
 */
import { createHash } from 'node:crypto';
import { BatchGetCommand, GetCommand, PutCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ServiceUnavailableError } from '../../domain/errors.ts';
import { AuditEvent } from '../../domain/model.ts';
import { chainFindings, type StreamHead } from '../../domain/audit-digest.ts';
import type { AuditLog } from '../../ports/index.ts';
import { canonicalJson, toPlainJson } from '../../domain/canonical-json.ts';
import { documentClient, isConditionalCheckFailed, queryAll } from './client.ts';
import { appendAuditEvent, auditClaimKey, auditEventKey, auditEventOfItem, auditHeadKey, getAuditItem, putAuditClaim, putAuditHead, queryAuditItem, queryRunEvents, queryStream, queryStreamHead } from './requests.ts';

/** Keys per BatchGetItem request (the API's limit). */
const BATCH_GET_MAX = 100;

/** prevHash of the first event of every stream. */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * How often one append re-reads the head after losing the race for a sequence number. With the
 * jittered backoff below, 10 retries held for 10 independent writers hammering one stream at once
 * on a loaded 2-core machine (dynalite); 20 such writers exhausted it for ~3% of events. Writers in
 * one process never contend (they queue per stream), and the error is retryable.
 */
export const MAX_APPEND_RETRIES = 10;

/** An event before the log assigns its place in the chain. */
export type NewAuditEvent = Omit<AuditEvent, 'seq' | 'prevHash' | 'hash'>;

const NewAuditEvent = AuditEvent.omit({ seq: true, prevHash: true, hash: true });

/**
 * Every append attempt lost the race for the next sequence number: the stream is busy (dozens of
 * approval branches of one run append to its RUN# stream at once). A ServiceUnavailableError, so
 * the state machine's transient retry waits, with jitter, and appends again (each append is keyed,
 * so the retry repeats nothing).
 */
export class AuditAppendConflictError extends ServiceUnavailableError {}

/** The hash of an event: sha256 (hex) of the canonical JSON of everything but `hash`. */
export function hashAuditEvent(event: Omit<AuditEvent, 'hash'> & { hash?: string }): string {
  const { hash: _ignored, ...rest } = event;
  return createHash('sha256').update(canonicalJson(rest), 'utf8').digest('hex');
}

/**
 * Checks a whole stream in order: seq 0, 1, 2, ..., one stream, each prevHash the previous hash
 * (GENESIS_HASH first) and each hash recomputed. `brokenAt` is the index of the first bad event.
 */
export function verifyChain(events: readonly AuditEvent[]): { ok: boolean; brokenAt?: number } {
  const first = chainFindings(events[0]?.stream ?? '', events, hashAuditEvent, GENESIS_HASH)[0];
  // Up to the first break the chain holds seq 0, 1, 2, ...: the first finding's seq is its index.
  return first === undefined ? { ok: true } : { ok: false, brokenAt: first.seq };
}

interface Head {
  readonly seq: number;
  readonly hash: string;
}

/** The hash-chained audit trail in DynamoDB (see tables.ts, `audit`). */
export class DynamoAuditLog implements AuditLog {
  private readonly doc: DynamoDBDocumentClient;
  /** Per-stream queue of this instance's appends: callers in one process never race each other. */
  private readonly queues = new Map<string, Promise<void>>();

  constructor(
    private readonly client: DynamoDBClient,
    private readonly table: string,
    private readonly options: {
      readonly maxRetries?: number;
      /** Told of every event this log wrote (once each: not of a repeated key's stored event). */
      readonly onAppended?: (event: AuditEvent) => void;
    } = {},
  ) {
    this.doc = documentClient(this.client);
  }

  /** Appends events (in order within each stream; streams in parallel) and returns them sealed, in input order. */
  async append(events: Array<Omit<NewAuditEvent, 'key'>>): Promise<AuditEvent[]> {
    return this.appendAll(events);
  }

  /** Appends events with a key once per stream (see appendKeyed below); a repeated key returns the stored event. */
  async appendOnce(events: Array<NewAuditEvent & { key: string }>): Promise<AuditEvent[]> {
    return this.appendAll(events);
  }

  private async appendAll(events: NewAuditEvent[]): Promise<AuditEvent[]> {
    const byStream = new Map<string, Array<{ index: number; event: NewAuditEvent }>>();
    events.forEach((raw, index) => {
      const event = NewAuditEvent.parse(raw);
      const group = byStream.get(event.stream);
      if (group === undefined) byStream.set(event.stream, [{ index, event }]);
      else group.push({ index, event });
    });
    const sealed = new Array<AuditEvent>(events.length);
    await Promise.all(
      [...byStream].map(async ([stream, entries]) => {
        const results = await this.serialized(stream, () =>
          this.appendToStream(
            stream,
            entries.map((e) => e.event),
          ),
        );
        entries.forEach((entry, j) => {
          const event = results[j];
          if (event !== undefined) sealed[entry.index] = event;
        });
      }),
    );
    return sealed;
  }

  /** Every event of a stream in sequence order. */
  async readStream(stream: string): Promise<AuditEvent[]> {
    const items = await queryAll(this.doc, (startKey) => queryStream(this.table, stream, startKey));
    return items.map((item) => auditEventOfItem(item));
  }

  /**
   * Every event recorded with a runId, across streams, in time order (for audit queries): the
   * keys from the keys-only GSI byRun, then the events by key, 100 per BatchGetItem.
   */
  async readRun(runId: string): Promise<AuditEvent[]> {
    const keys = (await queryAll(this.doc, (startKey) => queryRunEvents(this.table, runId, startKey))).map((item) => ({
      pk: String(item['pk']),
      sk: String(item['sk']),
    }));
    const byKey = new Map<string, Record<string, unknown>>();
    for (let i = 0; i < keys.length; i += BATCH_GET_MAX) {
      let pending: Array<Record<string, unknown>> = keys.slice(i, i + BATCH_GET_MAX);
      for (let attempt = 1; pending.length > 0; attempt++) {
        if (attempt > MAX_APPEND_RETRIES) throw new Error(`readRun(${runId}): keys still unprocessed after ${MAX_APPEND_RETRIES} attempts`);
        if (attempt > 1) await new Promise((resolve) => setTimeout(resolve, Math.random() * 25 * 2 ** attempt));
        const out = await this.doc.send(new BatchGetCommand({ RequestItems: { [this.table]: { Keys: pending, ConsistentRead: true } } }));
        for (const item of out.Responses?.[this.table] ?? []) byKey.set(`${String(item['pk'])}\u0000${String(item['sk'])}`, item);
        pending = out.UnprocessedKeys?.[this.table]?.Keys ?? [];
      }
    }
    // In the index's order (time, then stream and sequence); an event is never deleted, so every key resolves.
    return keys.map((k) => auditEventOfItem(byKey.get(`${k.pk}\u0000${k.sk}`) ?? {}));
  }

  private serialized<T>(stream: string, task: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(stream) ?? Promise.resolve();
    const result = previous.then(task);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.queues.set(stream, tail);
    // Forget idle streams so a long-lived process does not keep one entry per account forever.
    void tail.then(() => {
      if (this.queues.get(stream) === tail) this.queues.delete(stream);
    });
    return result;
  }

  private async appendToStream(stream: string, events: NewAuditEvent[]): Promise<AuditEvent[]> {
    const out: AuditEvent[] = [];
    let head = await this.readHead(stream);
    for (const event of events) {
      const appended = event.key === undefined ? await this.appendNext(stream, event, head) : await this.appendKeyed(stream, event, event.key, head);
      out.push(appended.event);
      head = appended.head;
    }
    return out;
  }

  /** Appends after `head`, re-reading the head whenever another writer took the number first. */
  private async appendNext(stream: string, event: NewAuditEvent, from: Head | undefined): Promise<{ event: AuditEvent; head: Head | undefined }> {
    let head = from;
    for (let retry = 0; ; retry++) {
      const sealed = seal(event, head);
      if (await this.putEvent(sealed)) return this.written(stream, sealed);
      await this.backOff(stream, sealed.seq, retry);
      head = await this.readHead(stream);
    }
  }

  /**
   * Appends an event with a key once. A claim item (see auditClaimKey) holds the sequence number
   * the key's event takes; the event is only ever written at its claim's number, and a claim only
   * moves away from a number another event holds. So a retry, a duplicate delivery running at the
   * same time, or a writer that crashed between the claim and the event all end with exactly one
   * event for the key, and an existing one is returned instead of a second.
   */
  private async appendKeyed(stream: string, event: NewAuditEvent, key: string, from: Head | undefined): Promise<{ event: AuditEvent; head: Head | undefined }> {
    let head = from;
    // The common case costs one extra write: claim the next number for the key.
    let claimed: number | undefined = (await this.putClaim(stream, key, nextSeq(head))) ? nextSeq(head) : undefined;
    for (let retry = 0; ; retry++) {
      if (claimed === undefined) {
        const claim = await this.getItem(auditClaimKey(stream, key));
        if (claim === undefined) {
          claimed = (await this.putClaim(stream, key, nextSeq(head))) ? nextSeq(head) : undefined;
          continue;
        }
        const at = Number(claim['seq']);
        // The head first, then the claimed number: an event at or below the head is there for good
        // (the chain has no gaps and events never change), so what is read there is final.
        head = await this.readHead(stream);
        const holder = at < nextSeq(head) ? await this.getItem(auditEventKey(stream, at)) : undefined;
        if (holder !== undefined && holder['key'] === key) {
          // Written by this key's earlier delivery, which may have crashed before moving the head.
          const existing = auditEventOfItem(holder);
          await this.advanceHead(stream, existing);
          return { event: existing, head };
        }
        if (holder === undefined) {
          // Free: its claimant has not written yet, or crashed before it did. Take it when it is the
          // next number; a claim is never moved back, so when the head is behind it, wait.
          if (at !== nextSeq(head)) {
            await this.backOff(stream, at, retry);
            continue;
          }
          claimed = at;
        } else if (await this.putClaim(stream, key, nextSeq(head), at)) {
          // Held by another event: the key's event goes after the head (claims only move forward,
          // and only away from a number another event holds).
          claimed = nextSeq(head);
        } else {
          await this.backOff(stream, at, retry);
          continue;
        }
      }
      const sealed = seal(event, head);
      if (await this.putEvent(sealed)) return this.written(stream, sealed);
      // Another event took the number: wait, then find out who (it may be this key's own event,
      // written by a duplicate delivery at the same time).
      await this.backOff(stream, sealed.seq, retry);
      claimed = undefined;
      head = await this.readHead(stream);
    }
  }

  /** An event just written: the head moved to it, and whoever listens told (its log line). */
  private async written(stream: string, sealed: AuditEvent): Promise<{ event: AuditEvent; head: Head }> {
    const head = await this.advanceHead(stream, sealed);
    this.options.onAppended?.(sealed);
    return { event: sealed, head };
  }

  /**
   * Moves the stream's head item up to `event` (written), one event at a time, each move a
   * compare-and-set on the head before it. Usually one write: the head is at the event before.
   * A head left behind (a writer crashed between its event and its head) is caught up here from
   * the chain, which has no gaps below a written event. Returns the event as the new head.
   */
  private async advanceHead(stream: string, event: AuditEvent): Promise<Head> {
    let from: Head | undefined = event.seq === 0 ? undefined : { seq: event.seq - 1, hash: event.prevHash };
    for (let conflicts = 0; ; ) {
      const next = from === undefined ? 0 : from.seq + 1;
      if (next > event.seq) return event;
      const target = next === event.seq ? event : await this.eventAt(stream, next);
      if (await this.putHead(stream, { seq: target.seq, hash: target.hash }, from)) {
        from = { seq: target.seq, hash: target.hash };
        continue;
      }
      // Not where this writer thought: read where it is (another writer moved it, or it lags).
      from = await this.readHeadItem(stream);
      if (from !== undefined && from.seq >= event.seq) return event;
      conflicts += 1;
      if (conflicts > (this.options.maxRetries ?? MAX_APPEND_RETRIES) * 4) {
        throw new AuditAppendConflictError(`could not move the head of ${stream} to seq ${event.seq} (it kept moving)`);
      }
    }
  }

  /** The head item (a Query on its key: appenders hold Query and PutItem on the table, no GetItem). */
  private async readHeadItem(stream: string): Promise<Head | undefined> {
    const out = await this.doc.send(new QueryCommand(queryAuditItem(this.table, auditHeadKey(stream))));
    const item = out.Items?.[0];
    return item === undefined ? undefined : { seq: Number(item['seq']), hash: String(item['hash']) };
  }

  private async eventAt(stream: string, seq: number): Promise<AuditEvent> {
    const out = await this.doc.send(new QueryCommand(queryAuditItem(this.table, auditEventKey(stream, seq))));
    const item = out.Items?.[0];
    if (item === undefined) throw new Error(`audit stream ${stream} has no event at seq ${seq} below a written one: the chain was altered`);
    return auditEventOfItem(item);
  }

  private async putHead(stream: string, head: Head, from: Head | undefined): Promise<boolean> {
    try {
      await this.doc.send(new PutCommand(putAuditHead(this.table, stream, head, from)));
      return true;
    } catch (err) {
      if (!isConditionalCheckFailed(err)) throw err;
      return false;
    }
  }

  /** Every stream a run wrote to: the keys of the byRun index (keys only), their partitions. */
  async streamsOfRun(runId: string): Promise<string[]> {
    const keys = await queryAll(this.doc, (startKey) => queryRunEvents(this.table, runId, startKey));
    return [...new Set(keys.map((k) => String(k['pk'])))].sort();
  }

  /** The head items of streams, 100 per strongly consistent BatchGetItem; a stream without one is left out. */
  async heads(streams: readonly string[]): Promise<StreamHead[]> {
    const out: StreamHead[] = [];
    const unique = [...new Set(streams)];
    for (let i = 0; i < unique.length; i += BATCH_GET_MAX) {
      let pending: Array<Record<string, unknown>> = unique.slice(i, i + BATCH_GET_MAX).map((s) => ({ ...auditHeadKey(s) }));
      for (let attempt = 1; pending.length > 0; attempt++) {
        if (attempt > MAX_APPEND_RETRIES) throw new ServiceUnavailableError(`heads: keys still unprocessed after ${MAX_APPEND_RETRIES} attempts`);
        if (attempt > 1) await new Promise((resolve) => setTimeout(resolve, Math.random() * 25 * 2 ** attempt));
        const got = await this.doc.send(new BatchGetCommand({ RequestItems: { [this.table]: { Keys: pending, ConsistentRead: true } } }));
        for (const item of got.Responses?.[this.table] ?? []) out.push({ stream: String(item['pk']), seq: Number(item['seq']), hash: String(item['hash']) });
        pending = got.UnprocessedKeys?.[this.table]?.Keys ?? [];
      }
    }
    return out.sort((a, b) => (a.stream < b.stream ? -1 : a.stream > b.stream ? 1 : 0));
  }

  /** Puts an event at its number; false when the number is taken. */
  private async putEvent(sealed: AuditEvent): Promise<boolean> {
    try {
      await this.doc.send(new PutCommand(appendAuditEvent(this.table, sealed)));
      return true;
    } catch (err) {
      if (!isConditionalCheckFailed(err)) throw err;
      return false;
    }
  }

  /** Writes a new claim, or moves one from `from`; false when its condition failed. */
  private async putClaim(stream: string, key: string, seq: number, from?: number): Promise<boolean> {
    try {
      await this.doc.send(new PutCommand(putAuditClaim(this.table, stream, key, seq, from)));
      return true;
    } catch (err) {
      if (!isConditionalCheckFailed(err)) throw err;
      return false;
    }
  }

  private async getItem(key: { pk: string; sk: string }): Promise<Record<string, unknown> | undefined> {
    const out = await this.doc.send(new GetCommand(getAuditItem(this.table, key)));
    return out.Item;
  }

  /**
   * Full jitter, growing to 2 s: writers of other processes that lost the same race spread out
   * instead of reading the same head and colliding again. Gives up after maxRetries.
   */
  private async backOff(stream: string, seq: number, retry: number): Promise<void> {
    const maxRetries = this.options.maxRetries ?? MAX_APPEND_RETRIES;
    if (retry >= maxRetries) {
      throw new AuditAppendConflictError(`could not append to ${stream} after ${maxRetries} retries (seq ${seq} kept being taken)`);
    }
    await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(2000, 20 * 2 ** retry)));
  }

  private async readHead(stream: string): Promise<Head | undefined> {
    const out = await this.doc.send(new QueryCommand(queryStreamHead(this.table, stream)));
    const item = out.Items?.[0];
    return item === undefined ? undefined : auditEventOfItem(item);
  }
}

const nextSeq = (head: Head | undefined): number => (head === undefined ? 0 : head.seq + 1);

/** Places an event after `head`: seq, prevHash and hash, over its plain-JSON form (what is stored). */
function seal(event: NewAuditEvent, head: Head | undefined): AuditEvent {
  const unsealed = toPlainJson({
    ...event,
    seq: head === undefined ? 0 : head.seq + 1,
    prevHash: head?.hash ?? GENESIS_HASH,
  });
  return { ...unsealed, hash: hashAuditEvent(unsealed) };
}
