/**
 * RunRepository on the runs table's header item (`RUN#<id>` / `HEADER`): what a run is and its
 * counters, added atomically by every shard; and each agent's spend per calendar month
 * (`AGENT#<id>` / `SPEND#<YYYY-MM>`), for the charter's monthly budget. (A table of its own, so
 * the audit table stays PutItem-only.)
 */
import { GetCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import * as z from 'zod';
import type { RunRepository } from '../../ports/index.ts';
import { documentClient, isConditionalCheckFailed } from './client.ts';
import { addAgentSpend, addRunCounters, getAgentSpend, getRunHeader, getRunPage, putRunPage, runPartition, startRun } from './requests.ts';

/** Counters were added to a run whose header was never written (start was skipped). */
export class RunNotFoundError extends Error {
  override readonly name = 'RunNotFoundError';
  readonly code = 'RUN_NOT_FOUND';
}

/** Storage schema of a run header (the port has no model.ts schema for it). */
const RunHeader = z.object({
  runId: z.string().min(1),
  campaignId: z.string().min(1),
  now: z.iso.datetime({ offset: true }),
  counters: z.record(z.string(), z.number()),
});

/** Storage schema of a recorded page. */
const RunPage = z.object({ nextCursor: z.string().nullable(), queued: z.number().int().nonnegative() });

/** Storage schema of an agent's monthly spend counter. */
const AgentSpend = z.object({ spendUsd: z.number().default(0) });

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
  async start(run: { runId: string; campaignId: string; now: string; shards: number; charterHashes: Record<string, string> }) {
    try {
      await this.doc.send(new PutCommand(startRun(this.table, run)));
      return { created: true, run: { runId: run.runId, campaignId: run.campaignId, now: run.now } };
    } catch (err) {
      if (!isConditionalCheckFailed(err)) throw err;
    }
    const existing = await this.get(run.runId);
    if (!existing) throw new RunNotFoundError(`run ${run.runId} exists but its header could not be read`);
    return { created: false, run: { runId: existing.runId, campaignId: existing.campaignId, now: existing.now } };
  }

  /** A page this run recorded, or undefined. */
  async getPage(runId: string, shard: number, cursor: string | null): Promise<{ nextCursor: string | null; queued: number } | undefined> {
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
  async putPage(runId: string, shard: number, cursor: string | null, page: { nextCursor: string | null; queued: number }): Promise<void> {
    try {
      await this.doc.send(new PutCommand(putRunPage(this.table, runId, shard, cursor, page)));
    } catch (err) {
      if (!isConditionalCheckFailed(err)) throw err;
    }
  }

  /** Adds to named counters with ADD (atomic under concurrent shards); throws RunNotFoundError before start. */
  async addCounters(runId: string, counters: Record<string, number>): Promise<void> {
    for (const input of addRunCounters(this.table, runId, counters)) {
      try {
        await this.doc.send(new UpdateCommand(input));
      } catch (err) {
        if (isConditionalCheckFailed(err)) throw new RunNotFoundError(`run ${runId} was never started`, { cause: err });
        throw err;
      }
    }
  }

  /** The run header with its counters, or undefined. */
  async get(runId: string): Promise<{ runId: string; campaignId: string; now: string; counters: Record<string, number> } | undefined> {
    const out = await this.doc.send(new GetCommand(getRunHeader(this.table, runId)));
    return out.Item === undefined ? undefined : RunHeader.parse(out.Item);
  }

  /** Adds to an agent's spend in a month (ADD on `AGENT#<id>` / `SPEND#<month>`). */
  async addAgentSpend(agentId: string, month: string, usd: number): Promise<void> {
    await this.doc.send(new UpdateCommand(addAgentSpend(this.table, agentId, month, usd)));
  }

  /** An agent's spend in a month; 0 when no spend was recorded. */
  async getAgentSpend(agentId: string, month: string): Promise<number> {
    const out = await this.doc.send(new GetCommand(getAgentSpend(this.table, agentId, month)));
    return out.Item === undefined ? 0 : AgentSpend.parse(out.Item).spendUsd;
  }
}
