/**
 * RunRepository on the runs table's header item (`RUN#<id>` / `HEADER`): what a run is and its
 * counters, added atomically by every shard; its ledger of recorded pages (`PAGE#…`) and its
 * deferred sends (`SLOT#<shard>#<slot>`, `SEND#<shard>#<slot>#<actionId>`) in the same partition;
 * and each agent's spend per calendar month (`AGENT#<id>` / `SPEND#<YYYY-MM>`), for the charter's
 * monthly budget. (A table of its own, so the audit table stays PutItem-only.)
 */
import { GetCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import * as z from 'zod';
import type { Page, RecordedPageItem, RunRepository, SpendReservation, TouchReservation } from '../../ports/index.ts';
import { DeferredSend } from '../../domain/model.ts';
import { documentClient, isConditionalCheckFailed, queryAll } from './client.ts';
import {
  addAgentSpend,
  addRunCounters,
  decodeCursor,
  encodeCursor,
  lastKey,
  putDeferredSend,
  putSendSlot,
  queryDeferredSends,
  querySendSlots,
  slotFromKey,
  countRefused,
  refusedKey,
  getAgentSpend,
  getRunHeader,
  getReservationItem,
  getRunPage,
  putRunPage,
  releaseOn,
  reserveOn,
  reservedGuard,
  runPartition,
  type ReservationItem,
  type ReservationTerm,
  startRun,
} from './requests.ts';

const epochSeconds = (): number => Math.floor(Date.now() / 1000);

/** Counters were added to a run whose header was never written (start was skipped). */
export class RunNotFoundError extends Error {
  override readonly name = 'RunNotFoundError';
  readonly code = 'RUN_NOT_FOUND';
}

/** Storage schema of a run header (the port has no model.ts schema for it). */
const Arms = z.record(z.string(), z.object({ trials: z.number(), successes: z.number() }));
const RunHeader = z.object({
  runId: z.string().min(1),
  campaignId: z.string().min(1),
  now: z.iso.datetime({ offset: true }),
  counters: z.record(z.string(), z.number()),
  models: z.record(z.string(), Arms).optional(),
  spend: z.record(z.string(), z.number()).optional(),
});

/** Storage schema of a recorded page (`deferred` is absent in pages recorded before deferred sends). */
const RunPage = z.object({ nextCursor: z.string().nullable(), queued: z.number().int().nonnegative(), deferred: z.number().int().nonnegative().optional() });

/** Storage schema of an agent's monthly spend counter. */
const AgentSpend = z.object({ spendUsd: z.number().default(0), reservedUsd: z.number().default(0) });

/** Run headers and counters in DynamoDB (see tables.ts, `runs`). */
export class DynamoRunRepository implements RunRepository {
  private readonly doc: DynamoDBDocumentClient;

  constructor(
    private readonly client: DynamoDBClient,
    private readonly table: string,
  ) {
    this.doc = documentClient(this.client);
  }

  /** Writes the run header with zero counters; a repeated start leaves it (and its counters) alone and returns it. */
  async start(run: Parameters<RunRepository['start']>[0]) {
    try {
      await this.doc.send(new PutCommand(startRun(this.table, run)));
      return { created: true, run: { runId: run.runId, campaignId: run.campaignId, now: run.now } };
    } catch (err) {
      if (!isConditionalCheckFailed(err)) throw err;
    }
    const existing = await this.get(run.runId);
    if (!existing) throw new RunNotFoundError(`run ${run.runId} exists but its header could not be read`);
    return {
      created: false,
      run: { runId: existing.runId, campaignId: existing.campaignId, now: existing.now, ...(existing.models ? { models: existing.models } : {}), ...(existing.spend ? { spend: existing.spend } : {}) },
    };
  }

  /** A page this run recorded, or undefined. */
  async getPage(runId: string, shard: number, cursor: string | null): Promise<RecordedPageItem | undefined> {
    const out = await this.doc.send(new GetCommand(getRunPage(this.table, runId, shard, cursor)));
    return out.Item === undefined ? undefined : RunPage.parse(out.Item);
  }

  /** How many pages the run recorded (the operator's view: no step reads it). */
  async countPages(runId: string): Promise<number> {
    const out = await this.doc.send(
      new QueryCommand({ TableName: this.table, KeyConditionExpression: 'pk = :pk AND begins_with(sk, :page)', ExpressionAttributeValues: { ':pk': runPartition(runId), ':page': 'PAGE#' }, Select: 'COUNT' }),
    );
    return out.Count ?? 0;
  }

  /** Records a page once; a repeated record is a no-op. */
  async putPage(runId: string, shard: number, cursor: string | null, page: RecordedPageItem): Promise<void> {
    await this.putOnce(putRunPage(this.table, runId, shard, cursor, page));
  }

  /**
   * Stores each deferred action once, then each slot they wait in once per call (the actions
   * first: a slot is never listed before what waits in it). A repeated store writes nothing new.
   */
  async deferSends(sends: readonly DeferredSend[]): Promise<void> {
    for (const send of sends) await this.putOnce(putDeferredSend(this.table, DeferredSend.parse(send)));
    const slots = new Map(sends.map((s) => [`${s.runId}|${s.shard}|${s.slot}`, s]));
    for (const s of slots.values()) await this.putOnce(putSendSlot(this.table, s.runId, s.shard, s.slot));
  }

  /** A shard's send slots in a run, in time order (one Query; at most a day of quarter hours). */
  async listSendSlots(runId: string, shard: number): Promise<string[]> {
    const items = await queryAll(this.doc, (startKey) => querySendSlots(this.table, runId, shard, startKey));
    return items.map((item) => slotFromKey(String(item['sk'])));
  }

  /** One page of the actions deferred to a slot, and the cursor of the next (undefined at the end). */
  async listDeferredSends(runId: string, shard: number, slot: string, page: { readonly limit: number; readonly cursor?: string }): Promise<Page<DeferredSend>> {
    const out = await this.doc.send(new QueryCommand(queryDeferredSends(this.table, runId, shard, slot, page.limit, page.cursor === undefined ? undefined : decodeCursor(page.cursor))));
    const next = lastKey(out.LastEvaluatedKey);
    return { items: (out.Items ?? []).map((item) => DeferredSend.parse(item)), ...(next === undefined ? {} : { cursor: encodeCursor(next) }) };
  }

  /** A conditional PutItem that is a no-op when the item is already there. */
  private async putOnce(input: ConstructorParameters<typeof PutCommand>[0]): Promise<void> {
    try {
      await this.doc.send(new PutCommand(input));
    } catch (err) {
      if (!isConditionalCheckFailed(err)) throw err;
    }
  }

  /**
   * Adds to named counters with ADD (atomic under concurrent shards), once per `once` key: a
   * repeated delivery of the same effect changes nothing. Throws RunNotFoundError before start.
   */
  async addCounters(runId: string, counters: Record<string, number>, once: string): Promise<void> {
    for (const input of addRunCounters(this.table, runId, counters, once, epochSeconds())) {
      try {
        await this.doc.send(new UpdateCommand(input));
      } catch (err) {
        if (!isConditionalCheckFailed(err)) throw err;
        // Either the run was never started, or this part of the effect is already applied.
        if ((await this.get(runId)) === undefined) throw new RunNotFoundError(`run ${runId} was never started`, { cause: err });
      }
    }
  }

  /** The run header with its counters, or undefined. */
  async get(runId: string) {
    const out = await this.doc.send(new GetCommand(getRunHeader(this.table, runId)));
    if (out.Item === undefined) return undefined;
    const { runId: id, campaignId, now, counters, models, spend } = RunHeader.parse(out.Item);
    return { runId: id, campaignId, now, counters, ...(models !== undefined ? { models } : {}), ...(spend !== undefined ? { spend } : {}) };
  }

  /** Adds to an agent's spend in a month (ADD on `AGENT#<id>` / `SPEND#<month>`), once per `once` key. */
  async addAgentSpend(agentId: string, month: string, usd: number, once: string): Promise<void> {
    try {
      await this.doc.send(new UpdateCommand(addAgentSpend(this.table, agentId, month, usd, once, epochSeconds())));
    } catch (err) {
      // Already applied by an earlier delivery of the same effect.
      if (!isConditionalCheckFailed(err)) throw err;
    }
  }

  /**
   * What an agent has committed in a month: spend reserved by granted and queued actions (less
   * what was released), or what it executed if that is more (spend booked before reservations).
   */
  async getAgentSpend(agentId: string, month: string): Promise<number> {
    const out = await this.doc.send(new GetCommand(getAgentSpend(this.table, agentId, month)));
    if (out.Item === undefined) return 0;
    const item = AgentSpend.parse(out.Item);
    return Math.max(item.spendUsd, item.reservedUsd);
  }

  /**
   * Reserves an action's cost on its run and on its agent's month, each within its cap, once per
   * action (a repeated reservation of the same action succeeds without adding). When the month
   * has no room, the run's reservation is released again.
   */
  async reserveSpend(r: SpendReservation & { runCapUsd: number; monthCapUsd: number }): Promise<{ reserved: true } | { reserved: false; over: 'run' | 'month' }> {
    const spend = (max: number) => [{ attribute: 'reservedUsd', n: r.usd, max }];
    if (!(await this.reserve({ run: r.runId }, r.actionId, spend(r.runCapUsd)))) return { reserved: false, over: 'run' };
    if (!(await this.reserve({ agentId: r.agentId, month: r.month }, r.actionId, spend(r.monthCapUsd)))) {
      await this.release({ run: r.runId }, r.actionId, spend(0));
      return { reserved: false, over: 'month' };
    }
    return { reserved: true };
  }

  /** Releases an action's reservation on its run and its agent's month (once; nothing if none was made). */
  async releaseSpend(r: SpendReservation): Promise<void> {
    const spend = [{ attribute: 'reservedUsd', n: r.usd }];
    await this.release({ run: r.runId }, r.actionId, spend);
    await this.release({ agentId: r.agentId, month: r.month }, r.actionId, spend);
  }

  /**
   * Reserves one touch of an action's stakeholders and of their account in the week of the run's
   * clock, within the guardrails' weekly limits, once per action: two overlapping runs cannot both
   * take a stakeholder's last touch of the week.
   */
  async reserveTouches(r: TouchReservation & { maxPerStakeholder: number; maxPerAccount: number }): Promise<boolean> {
    return this.reserve({ touchesOf: r.accountId, week: r.week }, r.actionId, touchTerms(r, r.maxPerAccount, r.maxPerStakeholder));
  }

  /** Gives an action's touch back (it was rejected, expired, failed or blocked at send): once. */
  async releaseTouches(r: TouchReservation): Promise<void> {
    await this.release({ touchesOf: r.accountId, week: r.week }, r.actionId, touchTerms(r, 0, 0));
  }

  /** Counts a refused anonymous approval request in its hour, by reason (ADD on one item per hour). */
  async countRefused(at: string, reason: string): Promise<void> {
    await this.doc.send(new UpdateCommand(countRefused(this.table, at, reason)));
  }

  /** The refused anonymous requests of an hour (`YYYY-MM-DDTHH`), by reason and in total (the operator's view). */
  async refusedIn(hour: string): Promise<Record<string, number>> {
    const out = await this.doc.send(new GetCommand({ TableName: this.table, Key: refusedKey(hour), ConsistentRead: true }));
    return Object.fromEntries(Object.entries(out.Item ?? {}).filter(([, v]) => typeof v === 'number')) as Record<string, number>;
  }

  /** What an account's stakeholders have reserved in a week (the chaos check reads it). */
  async touchesInWeek(accountId: string, week: string): Promise<Record<string, number>> {
    const out = await this.doc.send(new GetCommand(getReservationItem(this.table, { touchesOf: accountId, week })));
    return Object.fromEntries(Object.entries(out.Item ?? {}).filter(([k, v]) => (k === 'account' || k.startsWith('s#')) && typeof v === 'number')) as Record<string, number>;
  }

  private async reserve(on: ReservationItem, actionId: string, terms: readonly ReservationTerm[]): Promise<boolean> {
    try {
      await this.doc.send(new UpdateCommand(reserveOn(this.table, on, actionId, terms, epochSeconds())));
      return true;
    } catch (err) {
      if (!isConditionalCheckFailed(err)) throw err;
    }
    // Reserved before (a repeated Govern), or no room (or, for a run, no header).
    const out = await this.doc.send(new GetCommand(getReservationItem(this.table, on)));
    if ('run' in on && out.Item === undefined) throw new RunNotFoundError(`run ${on.run} was never started`);
    return out.Item?.[reservedGuard(actionId)] !== undefined;
  }

  private async release(on: ReservationItem, actionId: string, terms: readonly Omit<ReservationTerm, 'max'>[]): Promise<void> {
    try {
      await this.doc.send(new UpdateCommand(releaseOn(this.table, on, actionId, terms, epochSeconds())));
    } catch (err) {
      // Released before, or never reserved there.
      if (!isConditionalCheckFailed(err)) throw err;
    }
  }
}

/** An account and each stakeholder count one touch. */
const touchTerms = (r: TouchReservation, maxPerAccount: number, maxPerStakeholder: number): ReservationTerm[] => [
  { attribute: 'account', n: 1, max: maxPerAccount },
  ...[...new Set(r.stakeholderIds)].map((id) => ({ attribute: `s#${id}`, n: 1, max: maxPerStakeholder })),
];
