/**
 * MemoryRepository on the memory table: what agents did and saw per account, and the learned
 * outcome statistics per agent.
 */
import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import * as z from 'zod';
import type { MemoryEntry, MemoryRepository, OutcomeModel } from '../../ports/index.ts';
import { sendBatchWrites } from './batch-write.ts';
import { documentClient, isConditionalCheckFailed, queryAll } from './client.ts';
import {
  GUARD_PREFIX,
  GUARD_RETENTION_SECONDS,
  addOutcomeDeltas,
  batchPutMemoryEntries,
  getOutcomeModel,
  outcomeModelKey,
  parseArmAttribute,
  queryMemorySince,
  removeAttributes,
} from './requests.ts';

/**
 * Storage schema of memory. The port declares MemoryEntry as an interface (model.ts has no schema
 * for it), so the boundary schema lives with the adapter that reads it.
 */
const EntryFields = z.object({
  agentId: z.string().min(1),
  id: z.string().min(1),
  kind: z.enum(['action_executed', 'action_blocked', 'action_rejected', 'action_failed', 'outcome']),
  actionType: z.string().optional(),
  stakeholderIds: z.array(z.string()).optional(),
  topic: z.string().optional(),
  detail: z.string().optional(),
});
const Where = z.object({ accountId: z.string().min(1), at: z.iso.datetime({ offset: true }) });
/** An item holds the entries of one account at one time; items written before grouping hold one entry. */
const StoredMemoryItem = z.union([Where.extend({ entries: z.array(EntryFields).min(1) }), Where.extend(EntryFields.shape)]);

/** Agent memory and outcome models in DynamoDB (see tables.ts, `memory`). */
export class DynamoMemoryRepository implements MemoryRepository {
  private readonly doc: DynamoDBDocumentClient;

  constructor(
    private readonly client: DynamoDBClient,
    private readonly table: string,
  ) {
    this.doc = documentClient(this.client);
  }

  /** Appends entries (an entry with the same time and id overwrites itself, so retries are harmless). */
  async append(entries: MemoryEntry[]): Promise<void> {
    await sendBatchWrites(this.doc, batchPutMemoryEntries(this.table, entries));
  }

  /** Entries of an account at or after `since`, every agent, oldest first. */
  async listForAccount(accountId: string, since: string): Promise<MemoryEntry[]> {
    const items = await queryAll(this.doc, (startKey) => queryMemorySince(this.table, accountId, since, startKey));
    return items.flatMap((item) => {
      const stored = StoredMemoryItem.parse(item);
      if (!('entries' in stored)) return [stored];
      return stored.entries.map((entry) => ({ accountId: stored.accountId, at: stored.at, ...entry }));
    });
  }

  /** An agent's outcome model; an agent that learned nothing yet has no arms and version 0. */
  async getModel(agentId: string): Promise<OutcomeModel> {
    const out = await this.doc.send(new GetCommand(getOutcomeModel(this.table, agentId)));
    const arms: Record<string, { trials: number; successes: number }> = {};
    const item = out.Item ?? {};
    for (const [attribute, value] of Object.entries(item)) {
      const parsed = parseArmAttribute(attribute);
      if (parsed === undefined || typeof value !== 'number') continue;
      const arm = (arms[parsed.arm] ??= { trials: 0, successes: 0 });
      arm[parsed.counter] = value;
    }
    const version = item['version'];
    return { agentId, arms, version: typeof version === 'number' ? version : 0 };
  }

  /**
   * Adds trials/successes per arm with ADD (concurrent learners never lose each other's counts),
   * once per `once` key. The model lives for good, so guards older than GUARD_RETENTION_SECONDS
   * that come back with an update are removed.
   */
  async addOutcomes(agentId: string, deltas: Record<string, { trials: number; successes: number }>, once: string): Promise<void> {
    const now = Math.floor(Date.now() / 1000);
    for (const input of addOutcomeDeltas(this.table, agentId, deltas, once, now)) {
      let item: Record<string, unknown> | undefined;
      try {
        item = (await this.doc.send(new UpdateCommand(input))).Attributes;
      } catch (err) {
        if (!isConditionalCheckFailed(err)) throw err;
        continue; // already applied
      }
      const stale = Object.entries(item ?? {})
        .filter(([name, at]) => name.startsWith(GUARD_PREFIX) && typeof at === 'number' && at < now - GUARD_RETENTION_SECONDS)
        .map(([name]) => name);
      if (stale.length > 0) await this.doc.send(new UpdateCommand(removeAttributes(this.table, outcomeModelKey(agentId), stale)));
    }
  }
}
