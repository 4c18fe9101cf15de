/**
 * AccountRepository on the accounts table: account state (optimistic lock), stakeholders, signals.
 */
import { GetCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { InvalidInputError, StaleAccountStateError } from '../../domain/errors.ts';
import { AccountState, PipelineSignal, Stakeholder } from '../../domain/model.ts';
import { BookQuality } from '../../domain/crm-import/quality.ts';
import type { AccountRepository, Page } from '../../ports/index.ts';
import { sendBatchWrites } from './batch-write.ts';
import { documentClient, isConditionalCheckFailed, queryAll } from './client.ts';
import {
  batchDeleteStakeholders,
  batchPutSignals,
  batchPutStakeholders,
  createAccountState,
  decodeCursor,
  encodeCursor,
  getAccountState,
  getBookQuality,
  importAccountState,
  lastKey,
  putAccountState,
  putBookQuality,
  putStakeholder,
  queryByShard,
  querySignalsSince,
  queryStakeholders,
  shardPartition,
  updateAccountProfile,
  suppressStakeholderItem,
  upsertStakeholderItem,
} from './requests.ts';

/** Accounts, stakeholders and signals in DynamoDB (see tables.ts, `accounts`). */
export class DynamoAccountRepository implements AccountRepository {
  private readonly doc: DynamoDBDocumentClient;

  constructor(
    private readonly client: DynamoDBClient,
    private readonly table: string,
  ) {
    this.doc = documentClient(this.client);
  }

  /** Writes the state at version 0 (import replaces) and makes the stored stakeholders exactly `stakeholders`. */
  async importAccount(state: AccountState, stakeholders: Stakeholder[]): Promise<void> {
    const foreign = stakeholders.find((s) => s.accountId !== state.id);
    if (foreign !== undefined) {
      throw new InvalidInputError(`stakeholder ${foreign.id} belongs to account ${foreign.accountId}, not ${state.id}`);
    }
    await this.doc.send(new PutCommand(importAccountState(this.table, state)));
    // "Replaces": contacts the new import no longer lists are removed, so the committee the
    // planner sees matches the CRM export.
    const keep = new Set(stakeholders.map((s) => s.id));
    const stale = (await this.listStakeholders(state.id)).map((s) => s.id).filter((id) => !keep.has(id));
    await sendBatchWrites(this.doc, batchDeleteStakeholders(this.table, state.id, stale));
    await sendBatchWrites(this.doc, batchPutStakeholders(this.table, stakeholders));
  }

  /** Reads one account state (strongly consistent), or undefined. */
  async get(accountId: string): Promise<AccountState | undefined> {
    const out = await this.doc.send(new GetCommand(getAccountState(this.table, accountId)));
    return out.Item === undefined ? undefined : AccountState.parse(out.Item);
  }

  /** One page of a virtual shard's accounts; the cursor is base64url JSON of LastEvaluatedKey. */
  async listByShard(virtualShard: number, limit: number, cursor?: string): Promise<Page<AccountState>> {
    const startKey = cursor === undefined ? undefined : decodeCursor(cursor);
    if (startKey !== undefined && startKey['gsi1pk'] !== shardPartition(virtualShard)) {
      throw new InvalidInputError(`cursor does not belong to virtual shard ${virtualShard}`);
    }
    const out = await this.doc.send(new QueryCommand(queryByShard(this.table, virtualShard, limit, startKey)));
    const next = lastKey(out.LastEvaluatedKey);
    return {
      items: (out.Items ?? []).map((item) => AccountState.parse(item)),
      ...(next === undefined ? {} : { cursor: encodeCursor(next) }),
    };
  }

  /** Writes the state as version expectedVersion + 1; throws StaleAccountStateError when someone wrote first. */
  async saveState(state: AccountState, expectedVersion: number): Promise<AccountState> {
    try {
      await this.doc.send(new PutCommand(putAccountState(this.table, state, expectedVersion)));
    } catch (err) {
      if (isConditionalCheckFailed(err)) {
        throw new StaleAccountStateError(`account ${state.id} is no longer at version ${expectedVersion}`, { cause: err });
      }
      throw err;
    }
    return { ...state, version: expectedVersion + 1 };
  }

  /** Every stakeholder of an account, ordered by id. */
  async listStakeholders(accountId: string): Promise<Stakeholder[]> {
    const items = await queryAll(this.doc, (startKey) => queryStakeholders(this.table, accountId, startKey));
    return items.map((item) => Stakeholder.parse(item));
  }

  /** Replaces one stakeholder. */
  async putStakeholder(stakeholder: Stakeholder): Promise<void> {
    await this.doc.send(new PutCommand(putStakeholder(this.table, stakeholder)));
  }

  /** Applies a stakeholder's suppression (opted out, do-not-contact) and nothing else; a record that is gone stays gone. */
  async suppressStakeholder(stakeholder: Stakeholder): Promise<void> {
    const update = suppressStakeholderItem(this.table, stakeholder);
    if (update === undefined) return;
    try {
      await this.doc.send(new UpdateCommand(update));
    } catch (err) {
      // The person was removed from the book meanwhile: nothing to suppress.
      if (isConditionalCheckFailed(err)) return;
      throw err;
    }
  }

  /** Stores signals; a signal with the same time and id overwrites itself (idempotent). */
  async putSignals(signals: PipelineSignal[]): Promise<void> {
    await sendBatchWrites(this.doc, batchPutSignals(this.table, signals));
  }

  /** Creates the account at version 0 (expectedVersion null) or sets its profile fields under the lock; throws StaleAccountStateError when someone wrote first. */
  async upsertProfile(state: AccountState, expectedVersion: number | null): Promise<AccountState> {
    try {
      if (expectedVersion === null) {
        await this.doc.send(new PutCommand(createAccountState(this.table, state)));
        return { ...state, version: 0 };
      }
      const out = await this.doc.send(new UpdateCommand(updateAccountProfile(this.table, state, expectedVersion)));
      return AccountState.parse(out.Attributes);
    } catch (err) {
      if (isConditionalCheckFailed(err)) {
        const expected = expectedVersion === null ? 'absent' : `at version ${expectedVersion}`;
        throw new StaleAccountStateError(`account ${state.id} is no longer ${expected}`, { cause: err });
      }
      throw err;
    }
  }

  /** Creates or updates one stakeholder, never loosening consent; throws StaleAccountStateError when the stored consent tightened meanwhile. */
  async upsertStakeholder(stakeholder: Stakeholder): Promise<void> {
    try {
      await this.doc.send(new UpdateCommand(upsertStakeholderItem(this.table, stakeholder)));
    } catch (err) {
      if (isConditionalCheckFailed(err)) {
        throw new StaleAccountStateError(`stakeholder ${stakeholder.id} of ${stakeholder.accountId} opted out or became do-not-contact since it was read`, { cause: err });
      }
      throw err;
    }
  }

  /** Stores the book's data-quality summary; a newer stored summary stays (the older write changes nothing). */
  async putBookQuality(quality: BookQuality): Promise<void> {
    try {
      await this.doc.send(new PutCommand(putBookQuality(this.table, quality)));
    } catch (err) {
      if (!isConditionalCheckFailed(err)) throw err;
    }
  }

  /** The book's data-quality summary, or undefined. */
  async getBookQuality(): Promise<BookQuality | undefined> {
    const out = await this.doc.send(new GetCommand(getBookQuality(this.table)));
    return out.Item === undefined ? undefined : BookQuality.parse(out.Item);
  }

  /** Signals strictly after `since` (every signal when null), oldest first. */
  async listSignalsSince(accountId: string, since: string | null): Promise<PipelineSignal[]> {
    const items = await queryAll(this.doc, (startKey) => querySignalsSince(this.table, accountId, since, startKey));
    return items.map((item) => PipelineSignal.parse(item));
  }
}
