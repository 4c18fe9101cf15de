/**
 * Pure DynamoDB request builders, one per access pattern of tables.ts: key design and condition
 * expressions live here and are unit-tested without I/O; the repositories only send what these
 * return (through a DynamoDBDocumentClient, so values are plain JS).
 *
 * Items store the domain object's fields as top-level attributes beside the storage attributes
 * (pk, sk, gsi1pk, gsi1sk, TTL and helper attributes); reads parse items back through the zod
 * schemas, which drop the storage attributes.
 *
 * Time in sort keys is normalized to `Date#toISOString()` (UTC, milliseconds, fixed width), so
 * lexical order is time order whatever offset the caller used.
 */
import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import type {
  BatchWriteCommandInput,
  GetCommandInput,
  PutCommandInput,
  QueryCommandInput,
  UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { InvalidInputError } from '../../domain/errors.ts';
import { AuditEvent, type AccountState, type Approval, type DeferredSend, type PipelineSignal, type ReviewerKind, type Stakeholder } from '../../domain/model.ts';
import type { MemoryEntry } from '../../ports/index.ts';
import { toPlainJson } from '../../domain/canonical-json.ts';
import { ACCOUNT_PROFILE_FIELDS } from '../../domain/crm-import/merge.ts';
import type { BookQuality } from '../../domain/crm-import/quality.ts';
import { TABLES, VIRTUAL_SHARDS } from './tables.ts';

/** A primary or index key as returned in LastEvaluatedKey (all key attributes are strings). */
export type ItemKey = Record<string, string>;

/** The primary key of an item in the pk/sk tables. */
export interface PrimaryKey {
  readonly pk: string;
  readonly sk: string;
}

/** One request of a BatchWriteItem (document-client form). */
export type WriteRequest = NonNullable<BatchWriteCommandInput['RequestItems']>[string][number];

/** BatchWriteItem accepts at most 25 requests. */
export const BATCH_WRITE_LIMIT = 25;

/** Arms per UpdateItem of the outcome model, keeping expressions far below DynamoDB's 4 KB limit. */
export const MAX_ARMS_PER_UPDATE = 40;

/** Counters per UpdateItem of a run header, for the same reason. */
export const MAX_COUNTERS_PER_UPDATE = 50;

/** How long a decided approval is kept before DynamoDB TTL may purge it (the audit table keeps the record). */
export const APPROVAL_RETENTION_DAYS = 90;

/** Width of the zero-padded audit sequence number in sort keys. */
export const SEQ_WIDTH = 10;

/** An audit event's data above this size (its JSON, in bytes) is stored gzip-compressed. */
export const AUDIT_DATA_GZIP_OVER_BYTES = 1024;

const ACCOUNTS_SHARD_INDEX = indexName('accounts');
const APPROVALS_RUN_SHARD_INDEX = indexName('approvals');
const AUDIT_RUN_INDEX = indexName('audit');

function indexName(key: 'accounts' | 'approvals' | 'audit'): string {
  const index = TABLES[key].indexes[0];
  if (index === undefined) throw new Error(`table ${key} declares no index`);
  return index.name;
}

/** Normalizes an ISO timestamp for use in a sort key; throws InvalidInputError when it is not a time. */
export function isoKey(at: string): string {
  const ms = Date.parse(at);
  if (Number.isNaN(ms)) throw new InvalidInputError(`not an ISO timestamp: ${at}`);
  return new Date(ms).toISOString();
}

function epochMs(at: string): number {
  const ms = Date.parse(at);
  if (Number.isNaN(ms)) throw new InvalidInputError(`not an ISO timestamp: ${at}`);
  return ms;
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}

/** Splits write requests into BatchWriteItem inputs of at most 25 requests each. */
export function batchWriteChunks(table: string, requests: readonly WriteRequest[]): BatchWriteCommandInput[] {
  return chunk(requests, BATCH_WRITE_LIMIT).map((part) => ({ RequestItems: { [table]: part } }));
}

/** Keeps the last request per primary key: BatchWriteItem rejects two writes to one key in a request. */
function lastPerKey<T>(items: readonly T[], keyOf: (item: T) => string): T[] {
  const byKey = new Map<string, T>();
  for (const item of items) {
    const key = keyOf(item);
    byKey.delete(key);
    byKey.set(key, item);
  }
  return [...byKey.values()];
}

// ---------------------------------------------------------------------------------------------
// Cursors
// ---------------------------------------------------------------------------------------------

const CursorKey = z.record(z.string(), z.string());

/** Encodes a LastEvaluatedKey as an opaque cursor (base64url JSON). */
export function encodeCursor(key: ItemKey): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

/** Decodes a cursor made by encodeCursor; throws InvalidInputError for anything else. */
export function decodeCursor(cursor: string): ItemKey {
  try {
    return CursorKey.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
  } catch (err) {
    throw new InvalidInputError('invalid page cursor', { cause: err });
  }
}

/** Narrows a LastEvaluatedKey (all our key attributes are strings) to an ItemKey, or undefined. */
export function lastKey(key: Record<string, unknown> | undefined): ItemKey | undefined {
  if (key === undefined) return undefined;
  return CursorKey.parse(key);
}

// ---------------------------------------------------------------------------------------------
// accounts table
// ---------------------------------------------------------------------------------------------

/** Virtual shard of an account: the first 4 bytes of sha256(accountId), big-endian, mod VIRTUAL_SHARDS. */
export function shardOf(accountId: string): number {
  return createHash('sha256').update(accountId, 'utf8').digest().readUInt32BE(0) % VIRTUAL_SHARDS;
}

/** GSI partition of a virtual shard: `SHARD#` and two digits. */
export function shardPartition(virtualShard: number): string {
  if (!Number.isInteger(virtualShard) || virtualShard < 0 || virtualShard >= VIRTUAL_SHARDS) {
    throw new InvalidInputError(`virtual shard must be an integer in [0, ${VIRTUAL_SHARDS}): ${virtualShard}`);
  }
  return `SHARD#${String(virtualShard).padStart(2, '0')}`;
}

/** Partition key of everything about one account. */
export const accountPk = (accountId: string): string => `ACCOUNT#${accountId}`;

/** Key of an account's state item. */
export const accountStateKey = (accountId: string): PrimaryKey => ({ pk: accountPk(accountId), sk: 'STATE' });

/** Key of a stakeholder item. */
export const stakeholderKey = (accountId: string, stakeholderId: string): PrimaryKey => ({
  pk: accountPk(accountId),
  sk: `CONTACT#${stakeholderId}`,
});

/** Key of a signal item: time first so a range query returns signals oldest first. */
export const signalKey = (signal: Pick<PipelineSignal, 'accountId' | 'at' | 'id'>): PrimaryKey => ({
  pk: accountPk(signal.accountId),
  sk: `SIGNAL#${isoKey(signal.at)}#${signal.id}`,
});

function accountStateItem(state: AccountState, version: number): Record<string, unknown> {
  return {
    ...state,
    ...accountStateKey(state.id),
    gsi1pk: shardPartition(shardOf(state.id)),
    gsi1sk: accountPk(state.id),
    version,
  };
}

/** GetItem of an account state (strongly consistent: the version read is the one the lock compares). */
export function getAccountState(table: string, accountId: string): GetCommandInput {
  return { TableName: table, Key: accountStateKey(accountId), ConsistentRead: true };
}

/** PutItem of an imported account state at version 0, unconditionally (import replaces). */
export function importAccountState(table: string, state: AccountState): PutCommandInput {
  return { TableName: table, Item: accountStateItem(state, 0) };
}

/**
 * PutItem of an account state under an optimistic lock: succeeds only while the stored version
 * equals `expectedVersion` (or, for 0, while no state exists yet); stores expectedVersion + 1.
 */
export function putAccountState(table: string, state: AccountState, expectedVersion: number): PutCommandInput {
  if (!Number.isInteger(expectedVersion) || expectedVersion < 0) {
    throw new InvalidInputError(`expectedVersion must be a non-negative integer: ${expectedVersion}`);
  }
  return {
    TableName: table,
    Item: accountStateItem(state, expectedVersion + 1),
    ConditionExpression:
      expectedVersion === 0 ? 'attribute_not_exists(pk) OR #version = :expected' : '#version = :expected',
    ExpressionAttributeNames: { '#version': 'version' },
    ExpressionAttributeValues: { ':expected': expectedVersion },
  };
}

/** Query of one page of the state items of a virtual shard (GSI byShard; only state items carry gsi1pk). */
export function queryByShard(
  table: string,
  virtualShard: number,
  limit: number,
  exclusiveStartKey?: ItemKey,
): QueryCommandInput {
  if (!Number.isInteger(limit) || limit < 1) throw new InvalidInputError(`page limit must be a positive integer: ${limit}`);
  return {
    TableName: table,
    IndexName: ACCOUNTS_SHARD_INDEX,
    KeyConditionExpression: 'gsi1pk = :shard',
    ExpressionAttributeValues: { ':shard': shardPartition(virtualShard) },
    Limit: limit,
    ...(exclusiveStartKey === undefined ? {} : { ExclusiveStartKey: exclusiveStartKey }),
  };
}

/** Query of one page of an account's stakeholders. */
export function queryStakeholders(table: string, accountId: string, exclusiveStartKey?: ItemKey): QueryCommandInput {
  return {
    TableName: table,
    KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
    ExpressionAttributeValues: { ':pk': accountPk(accountId), ':prefix': 'CONTACT#' },
    ConsistentRead: true,
    ...(exclusiveStartKey === undefined ? {} : { ExclusiveStartKey: exclusiveStartKey }),
  };
}

function stakeholderItem(stakeholder: Stakeholder): Record<string, unknown> {
  return { ...stakeholder, ...stakeholderKey(stakeholder.accountId, stakeholder.id) };
}

/** PutItem of one stakeholder (replaces it). */
export function putStakeholder(table: string, stakeholder: Stakeholder): PutCommandInput {
  return { TableName: table, Item: stakeholderItem(stakeholder) };
}

/**
 * UpdateItem that applies a stakeholder's suppression — consent `opted_out`, do-not-contact —
 * to the stored record and sets nothing else, so that two suppressions written at once (a bounce
 * and an unsubscribe, Observe and the signal intake) both hold, and no suppression is ever undone
 * by a writer that read the record before it. Only an existing record (never a ghost); undefined
 * when the record given suppresses nothing.
 */
export function suppressStakeholderItem(table: string, stakeholder: Stakeholder): UpdateCommandInput | undefined {
  const sets: string[] = [];
  const values: Record<string, unknown> = {};
  const names: Record<string, string> = { '#pk': 'pk' };
  if (stakeholder.consent === 'opted_out') {
    sets.push('#consent = :optedOut');
    names['#consent'] = 'consent';
    values[':optedOut'] = 'opted_out';
  }
  if (stakeholder.doNotContact) {
    sets.push('#doNotContact = :dnc');
    names['#doNotContact'] = 'doNotContact';
    values[':dnc'] = true;
  }
  if (sets.length === 0) return undefined;
  return {
    TableName: table,
    Key: stakeholderKey(stakeholder.accountId, stakeholder.id),
    UpdateExpression: `SET ${sets.join(', ')}`,
    ConditionExpression: 'attribute_exists(#pk)',
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
  };
}

/** BatchWriteItem inputs putting stakeholders (the last one per id wins). */
export function batchPutStakeholders(table: string, stakeholders: readonly Stakeholder[]): BatchWriteCommandInput[] {
  const unique = lastPerKey(stakeholders, (s) => `${s.accountId}\u0000${s.id}`);
  return batchWriteChunks(
    table,
    unique.map((s) => ({ PutRequest: { Item: stakeholderItem(s) } })),
  );
}

/** BatchWriteItem inputs deleting stakeholders of an account (an import that no longer lists them). */
export function batchDeleteStakeholders(
  table: string,
  accountId: string,
  stakeholderIds: readonly string[],
): BatchWriteCommandInput[] {
  return batchWriteChunks(
    table,
    [...new Set(stakeholderIds)].map((id) => ({ DeleteRequest: { Key: stakeholderKey(accountId, id) } })),
  );
}

/**
 * PutItem of an imported account that does not exist yet, at version 0 (the CRM import): only if
 * no state item exists, so a concurrent import or a state the loop already wrote is never replaced.
 */
export function createAccountState(table: string, state: AccountState): PutCommandInput {
  return { TableName: table, Item: accountStateItem(state, 0), ConditionExpression: 'attribute_not_exists(pk)' };
}

/**
 * UpdateItem of an account's CRM profile (ACCOUNT_PROFILE_FIELDS) under the optimistic lock: sets
 * only those attributes, so the loop's learned state (stage, engaged roles, objections,
 * consensus, observation) is left as stored, and bumps the version so that a concurrent Observe
 * holding the old version re-reads instead of writing the old profile back.
 */
export function updateAccountProfile(table: string, state: AccountState, expectedVersion: number): UpdateCommandInput {
  if (!Number.isInteger(expectedVersion) || expectedVersion < 0) {
    throw new InvalidInputError(`expectedVersion must be a non-negative integer: ${expectedVersion}`);
  }
  const names: Record<string, string> = { '#version': 'version' };
  const values: Record<string, unknown> = { ':expected': expectedVersion, ':next': expectedVersion + 1 };
  const sets = ['#version = :next'];
  for (const field of ACCOUNT_PROFILE_FIELDS) {
    names[`#${field}`] = field;
    values[`:${field}`] = state[field];
    sets.push(`#${field} = :${field}`);
  }
  return {
    TableName: table,
    Key: accountStateKey(state.id),
    UpdateExpression: `SET ${sets.join(', ')}`,
    ConditionExpression: 'attribute_exists(pk) AND #version = :expected',
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
    ReturnValues: 'ALL_NEW',
  };
}

/**
 * UpdateItem creating or updating one stakeholder (the CRM import) without ever loosening consent:
 * a write that is not opted out requires the stored consent not to be opted out (absent: a new
 * contact), and one that is not do-not-contact requires the stored flag not to be set. Both are
 * checked in the same single-item write, so an unsubscribe Observe records between the import's
 * read and its write is never undone.
 */
export function upsertStakeholderItem(table: string, stakeholder: Stakeholder): UpdateCommandInput {
  const fields = ['id', 'accountId', 'name', 'email', 'title', 'role', 'seniority', 'timeZone', 'consent', 'doNotContact'] as const;
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  for (const field of fields) {
    names[`#${field}`] = field;
    values[`:${field}`] = stakeholder[field];
  }
  const conditions: string[] = [];
  if (stakeholder.consent !== 'opted_out') {
    values[':optedOut'] = 'opted_out';
    conditions.push('(attribute_not_exists(#consent) OR #consent <> :optedOut)');
  }
  if (!stakeholder.doNotContact) {
    values[':dnc'] = true;
    conditions.push('(attribute_not_exists(#doNotContact) OR #doNotContact <> :dnc)');
  }
  return {
    TableName: table,
    Key: stakeholderKey(stakeholder.accountId, stakeholder.id),
    UpdateExpression: `SET ${fields.map((f) => `#${f} = :${f}`).join(', ')}`,
    ...(conditions.length === 0 ? {} : { ConditionExpression: conditions.join(' AND ') }),
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
  };
}

/** Key of the book's data-quality summary (beside the accounts, never in the byShard index). */
export const bookQualityKey: PrimaryKey = { pk: 'BOOK', sk: 'QUALITY' };

/**
 * PutItem of the book's data-quality summary, only if none is stored or the stored one is not
 * newer: two imports finishing out of order leave the later summary. `at` is stored normalized
 * (UTC, milliseconds), so the string comparison is a time comparison.
 */
export function putBookQuality(table: string, quality: BookQuality): PutCommandInput {
  const at = isoKey(quality.at);
  return {
    TableName: table,
    Item: { ...toPlainJson(quality), at, ...bookQualityKey },
    ConditionExpression: 'attribute_not_exists(pk) OR #at <= :at',
    ExpressionAttributeNames: { '#at': 'at' },
    ExpressionAttributeValues: { ':at': at },
  };
}

/** GetItem of the book's data-quality summary (what a campaign's gate reads: one item, no Scan). */
export function getBookQuality(table: string): GetCommandInput {
  return { TableName: table, Key: bookQualityKey, ConsistentRead: true };
}

/** BatchWriteItem inputs putting signals; a signal is keyed by time and id, so a re-put is idempotent. */
export function batchPutSignals(table: string, signals: readonly PipelineSignal[]): BatchWriteCommandInput[] {
  const items = signals.map((signal) => ({ ...signal, ...signalKey(signal) }));
  const unique = lastPerKey(items, (item) => `${item.pk}\u0000${item.sk}`);
  return batchWriteChunks(
    table,
    unique.map((Item) => ({ PutRequest: { Item } })),
  );
}

/**
 * Query of one page of an account's signals strictly after `since`, oldest first. Bounds: the
 * lower bound `SIGNAL#<since>$` sorts after every `SIGNAL#<since>#...` ('$' follows '#'), which
 * excludes signals at exactly `since`; the upper bound `SIGNAL$` sorts after every `SIGNAL#...`
 * whatever characters an id holds (tighter than `SIGNAL#~`, which would cut off ids above '~').
 */
export function querySignalsSince(
  table: string,
  accountId: string,
  since: string | null,
  exclusiveStartKey?: ItemKey,
): QueryCommandInput {
  const page = exclusiveStartKey === undefined ? {} : { ExclusiveStartKey: exclusiveStartKey };
  if (since === null) {
    return {
      TableName: table,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': accountPk(accountId), ':prefix': 'SIGNAL#' },
      ConsistentRead: true,
      ...page,
    };
  }
  return {
    TableName: table,
    KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
    ExpressionAttributeValues: { ':pk': accountPk(accountId), ':from': `SIGNAL#${isoKey(since)}$`, ':to': 'SIGNAL$' },
    ConsistentRead: true,
    ...page,
  };
}

// ---------------------------------------------------------------------------------------------
// memory table
// ---------------------------------------------------------------------------------------------

/**
 * Entries one memory item holds at most: what a page records for an account at one time goes into
 * one item (one write unit for a typical turn instead of one per entry), split past this many.
 */
export const MEMORY_ENTRIES_PER_ITEM = 6;

/** Key of the memory item holding entries of an account at one time, the first with this id. */
export const memoryItemKey = (entry: Pick<MemoryEntry, 'accountId' | 'at' | 'id'>): PrimaryKey => ({
  pk: accountPk(entry.accountId),
  sk: `MEM#${isoKey(entry.at)}#${entry.id}`,
});

/**
 * BatchWriteItem inputs appending memory entries: the entries of one account at one time share an
 * item (`entries`, in input order). The same entries always make the same items, so a retried
 * append overwrites itself.
 */
export function batchPutMemoryEntries(table: string, entries: readonly MemoryEntry[]): BatchWriteCommandInput[] {
  const groups = new Map<string, MemoryEntry[]>();
  for (const entry of lastPerKey(entries, (e) => `${e.accountId}\u0000${e.at}\u0000${e.id}`)) {
    const key = `${entry.accountId}\u0000${entry.at}`;
    const group = groups.get(key) ?? [];
    group.push(entry);
    groups.set(key, group);
  }
  const items = [...groups.values()].flatMap((group) =>
    Array.from({ length: Math.ceil(group.length / MEMORY_ENTRIES_PER_ITEM) }, (_, i) => {
      const chunk = group.slice(i * MEMORY_ENTRIES_PER_ITEM, (i + 1) * MEMORY_ENTRIES_PER_ITEM);
      const first = chunk[0] as MemoryEntry;
      return {
        ...memoryItemKey(first),
        accountId: first.accountId,
        at: first.at,
        entries: chunk.map(({ accountId: _accountId, at: _at, ...rest }) => rest),
      };
    }),
  );
  return batchWriteChunks(
    table,
    items.map((Item) => ({ PutRequest: { Item } })),
  );
}

/** Query of one page of an account's memory at or after `since`, oldest first. */
export function queryMemorySince(
  table: string,
  accountId: string,
  since: string,
  exclusiveStartKey?: ItemKey,
): QueryCommandInput {
  return {
    TableName: table,
    KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
    // `MEM$` sorts after every `MEM#...` key (see querySignalsSince).
    ExpressionAttributeValues: { ':pk': accountPk(accountId), ':from': `MEM#${isoKey(since)}`, ':to': 'MEM$' },
    ConsistentRead: true,
    ...(exclusiveStartKey === undefined ? {} : { ExclusiveStartKey: exclusiveStartKey }),
  };
}

/** Key of an agent's outcome model. */
export const outcomeModelKey = (agentId: string): PrimaryKey => ({ pk: `MODEL#${agentId}`, sk: 'ARMS' });

/** Attribute holding one counter of one arm, e.g. `trials#nurture_email:champion`. */
export const armAttribute = (counter: 'trials' | 'successes', arm: string): string => `${counter}#${arm}`;

/** The counter and arm an outcome-model attribute holds, or undefined for other attributes. */
export function parseArmAttribute(attribute: string): { counter: 'trials' | 'successes'; arm: string } | undefined {
  for (const counter of ['trials', 'successes'] as const) {
    const prefix = `${counter}#`;
    if (attribute.startsWith(prefix) && attribute.length > prefix.length) return { counter, arm: attribute.slice(prefix.length) };
  }
  return undefined;
}

/** GetItem of an agent's outcome model. */
export function getOutcomeModel(table: string, agentId: string): GetCommandInput {
  return { TableName: table, Key: outcomeModelKey(agentId), ConsistentRead: true };
}

/**
 * The guard of an effect on a shared item (a counter): a top-level attribute named after the
 * effect's key, set in the same UpdateItem as the ADD and required absent by its condition, so the
 * effect lands once however often it is delivered. Its value is the time it was applied (epoch
 * seconds), for pruning guards on long-lived items (see GUARD_RETENTION_SECONDS).
 */
export const guardAttribute = (once: string): string => `${GUARD_PREFIX}${createHash('sha256').update(once, 'utf8').digest('hex').slice(0, 24)}`;
export const GUARD_PREFIX = 'fx_';

/** UpdateItem removing attributes (stale guards; at most 100 per call, far more than ever accrue). */
export function removeAttributes(table: string, key: PrimaryKey, attributes: readonly string[]): UpdateCommandInput {
  const names = Object.fromEntries(attributes.slice(0, 100).map((a, i) => [`#r${i}`, a]));
  return { TableName: table, Key: key, UpdateExpression: `REMOVE ${Object.keys(names).join(', ')}`, ExpressionAttributeNames: names };
}
/**
 * How long a guard is kept on an item that lives for good (an agent's outcome model): longer than
 * any redelivery can come (Step Functions redrives within 14 days; the idempotency records last 7).
 */
export const GUARD_RETENTION_SECONDS = 30 * 86_400;

/**
 * UpdateItem inputs adding trials/successes per arm with ADD (atomic per arm, creating missing
 * attributes at 0) and bumping the model version. Arm names hold ':' and other characters an
 * expression cannot, so every name goes through ExpressionAttributeNames.
 */
export function addOutcomeDeltas(
  table: string,
  agentId: string,
  deltas: Record<string, { trials: number; successes: number }>,
  once: string,
  nowSeconds: number,
): UpdateCommandInput[] {
  const arms = Object.entries(deltas);
  for (const [arm, delta] of arms) {
    if (arm.length === 0 || !Number.isFinite(delta.trials) || !Number.isFinite(delta.successes)) {
      throw new InvalidInputError(`invalid outcome delta for arm "${arm}"`);
    }
  }
  return chunk(arms, MAX_ARMS_PER_UPDATE).map((part, c) => {
    const names: Record<string, string> = { '#version': 'version', '#fx': guardAttribute(`${once}#${c}`) };
    const values: Record<string, number> = { ':one': 1, ':now': nowSeconds };
    const adds = ['#version :one'];
    part.forEach(([arm, delta], i) => {
      names[`#t${i}`] = armAttribute('trials', arm);
      names[`#s${i}`] = armAttribute('successes', arm);
      values[`:t${i}`] = delta.trials;
      values[`:s${i}`] = delta.successes;
      adds.push(`#t${i} :t${i}`, `#s${i} :s${i}`);
    });
    return {
      TableName: table,
      Key: outcomeModelKey(agentId),
      UpdateExpression: `ADD ${adds.join(', ')} SET #fx = :now`,
      ConditionExpression: 'attribute_not_exists(#fx)',
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
      // The guards on the item come back with it, so stale ones can be pruned without a read.
      ReturnValues: 'ALL_NEW',
    };
  });
}

// ---------------------------------------------------------------------------------------------
// approvals table
// ---------------------------------------------------------------------------------------------

/** Key of an approval request. */
export const approvalKey = (approvalId: string): PrimaryKey => ({ pk: `APPROVAL#${approvalId}`, sk: 'REQUEST' });

/** GSI partition of the approvals one shard queued in one run. */
export const runShardPartition = (runId: string, shard: number): string => `RUN#${runId}#SHARD#${shard}`;

/** Approval id from a byRunShard sort key (`APPROVAL#<id>`). */
export function approvalIdFromIndexKey(gsi1sk: string): string {
  if (!gsi1sk.startsWith('APPROVAL#')) throw new Error(`not an approval index key: ${gsi1sk}`);
  return gsi1sk.slice('APPROVAL#'.length);
}

/**
 * PutItem of a new approval, only if its id is unused. Besides the domain fields it stores
 * `expiresAtMs` (for the expiry condition of decideApproval: a number compares correctly whatever
 * offset expiresAt was written with) and `purgeAt` (TTL, epoch seconds).
 */
export function putApprovalIfAbsent(table: string, approval: Approval): PutCommandInput {
  const purgeAt = Math.floor(epochMs(approval.createdAt) / 1000) + APPROVAL_RETENTION_DAYS * 86_400;
  return {
    TableName: table,
    Item: {
      ...approval,
      ...approvalKey(approval.id),
      gsi1pk: runShardPartition(approval.runId, approval.shard),
      gsi1sk: `APPROVAL#${approval.id}`,
      purgeAt,
      ...(approval.expiresAt === undefined ? {} : { expiresAtMs: epochMs(approval.expiresAt) }),
    },
    ConditionExpression: 'attribute_not_exists(pk)',
  };
}

/** GetItem of an approval (strongly consistent: decisions are checked against it). */
export function getApproval(table: string, approvalId: string): GetCommandInput {
  return { TableName: table, Key: approvalKey(approvalId), ConsistentRead: true };
}

/** UpdateItem queued -> pending with the task token and expiry; fails unless the status is queued. */
export function markApprovalPending(
  table: string,
  approvalId: string,
  taskToken: string,
  expiresAt: string,
): UpdateCommandInput {
  return {
    TableName: table,
    Key: approvalKey(approvalId),
    UpdateExpression:
      'SET #status = :pending, #taskToken = :taskToken, #expiresAt = :expiresAt, #expiresAtMs = :expiresAtMs, #version = #version + :one',
    // Queued, or pending on another task: a retried or resumed RequestApproval waits with a new
    // token (the old task no longer exists), so the decision must reach the new one.
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
      ':taskToken': taskToken,
      ':expiresAt': expiresAt,
      ':expiresAtMs': epochMs(expiresAt),
      ':one': 1,
    },
    ReturnValues: 'ALL_NEW',
  };
}

/** A decision on a pending approval, as the ApprovalRepository port receives it. */
export interface ApprovalDecision {
  readonly status: 'approved' | 'rejected' | 'expired' | 'skipped';
  readonly at: string;
  readonly by: string;
  readonly reviewerKind?: ReviewerKind;
  readonly reason?: string;
  /** With `expired`: the escalation that stands in for this approval (two-person rule bookkeeping). */
  readonly escalatedTo?: string;
}

/**
 * UpdateItem pending -> decided, once. Approve and reject also require the link not to have
 * expired at the decision time (`expiresAtMs > at`): there is no TTL locally, so expiry is
 * enforced here rather than by the item disappearing. Expire and skip are allowed at any time.
 */
export function decideApproval(table: string, approvalId: string, decision: ApprovalDecision): UpdateCommandInput {
  const names: Record<string, string> = {
    '#status': 'status',
    '#decidedAt': 'decidedAt',
    '#decidedBy': 'decidedBy',
    '#version': 'version',
  };
  const values: Record<string, string | number> = {
    ':status': decision.status,
    ':pending': 'pending',
    ':decidedAt': decision.at,
    ':decidedBy': decision.by,
    ':one': 1,
  };
  const sets = ['#status = :status', '#decidedAt = :decidedAt', '#decidedBy = :decidedBy', '#version = #version + :one'];
  if (decision.reviewerKind !== undefined) {
    names['#reviewerKind'] = 'reviewerKind';
    values[':reviewerKind'] = decision.reviewerKind;
    sets.push('#reviewerKind = :reviewerKind');
  }
  if (decision.reason !== undefined) {
    names['#reason'] = 'reason';
    values[':reason'] = decision.reason;
    sets.push('#reason = :reason');
  }
  if (decision.escalatedTo !== undefined) {
    if (decision.status !== 'expired') throw new InvalidInputError(`only an expired approval is escalated, not a ${decision.status} one`);
    names['#escalatedTo'] = 'escalatedTo';
    values[':escalatedTo'] = decision.escalatedTo;
    sets.push('#escalatedTo = :escalatedTo');
  }
  let condition = '#status = :pending';
  if (decision.status === 'approved' || decision.status === 'rejected') {
    names['#expiresAtMs'] = 'expiresAtMs';
    values[':atMs'] = epochMs(decision.at);
    condition += ' AND (attribute_not_exists(#expiresAtMs) OR #expiresAtMs > :atMs)';
  }
  return {
    TableName: table,
    Key: approvalKey(approvalId),
    UpdateExpression: `SET ${sets.join(', ')}`,
    ConditionExpression: condition,
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
    ReturnValues: 'ALL_NEW',
  };
}

/** Query of one page of the approval ids a shard queued in a run (GSI byRunShard, keys only). */
export function queryApprovalIdsForRunShard(
  table: string,
  runId: string,
  shard: number,
  exclusiveStartKey?: ItemKey,
  range: { readonly after?: string; readonly through?: string } = {},
): QueryCommandInput {
  const { after, through } = range;
  // One sort-key condition per Query: BETWEEN is inclusive, so the id `after` itself comes back
  // too, and the repository drops it.
  const sortKey =
    after !== undefined && through !== undefined
      ? { condition: ' AND gsi1sk BETWEEN :from AND :to', values: { ':from': `APPROVAL#${after}`, ':to': `APPROVAL#${through}` } }
      : after !== undefined
        ? { condition: ' AND gsi1sk > :from', values: { ':from': `APPROVAL#${after}` } }
        : through !== undefined
          ? { condition: ' AND gsi1sk <= :to', values: { ':to': `APPROVAL#${through}` } }
          : { condition: '', values: {} };
  return {
    TableName: table,
    IndexName: APPROVALS_RUN_SHARD_INDEX,
    KeyConditionExpression: `gsi1pk = :pk${sortKey.condition}`,
    ExpressionAttributeValues: { ':pk': runShardPartition(runId, shard), ...sortKey.values },
    ProjectionExpression: 'gsi1sk',
    ...(exclusiveStartKey === undefined ? {} : { ExclusiveStartKey: exclusiveStartKey }),
  };
}

// ---------------------------------------------------------------------------------------------
// audit table
// ---------------------------------------------------------------------------------------------

/** Sort key of an audit event: zero-padded so lexical order is sequence order. */
export function auditSeqKey(seq: number): string {
  if (!Number.isInteger(seq) || seq < 0 || seq >= 10 ** SEQ_WIDTH) throw new InvalidInputError(`invalid audit seq: ${seq}`);
  return `SEQ#${String(seq).padStart(SEQ_WIDTH, '0')}`;
}

/** Key of one audit event. */
export const auditEventKey = (stream: string, seq: number): PrimaryKey => ({ pk: stream, sk: auditSeqKey(seq) });

/**
 * Key of the claim of a keyed audit event: the sequence number the event of that key holds (or is
 * about to take) in its stream. Beside the events in the stream's partition, never among them
 * (readers query `SEQ#`), and hashed so that a long key costs a fixed 40 bytes.
 */
export const auditClaimKey = (stream: string, key: string): PrimaryKey => ({
  pk: stream,
  sk: `KEY#${createHash('sha256').update(key, 'utf8').digest('hex').slice(0, 36)}`,
});

/** GetItem of a claim or an event (strongly consistent: it decides whether an event exists). */
export function getAuditItem(table: string, key: PrimaryKey): GetCommandInput {
  return { TableName: table, Key: key, ConsistentRead: true };
}

/**
 * PutItem of a claim at `seq`: new (no claim for the key yet), or moved from `from` (a
 * compare-and-set, so two writers moving one claim cannot both succeed). PutItem keeps the audit
 * table PutItem-only.
 */
export function putAuditClaim(table: string, stream: string, key: string, seq: number, from?: number): PutCommandInput {
  return {
    TableName: table,
    Item: { ...auditClaimKey(stream, key), key, seq },
    ...(from === undefined
      ? { ConditionExpression: 'attribute_not_exists(pk)' }
      : { ConditionExpression: '#seq = :from', ExpressionAttributeNames: { '#seq': 'seq' }, ExpressionAttributeValues: { ':from': from } }),
  };
}

/**
 * Key of a stream's head: the sequence number and hash of its last event, beside the events in
 * the stream's partition (readers query `SEQ#`). A deleted last event leaves the head pointing past
 * the chain; the run digests sign heads.
 */
export const auditHeadKey = (stream: string): PrimaryKey => ({ pk: stream, sk: 'HEAD' });

/**
 * PutItem of a stream's head at `head`, only if it is still at `from` (none yet: the first event).
 * A compare-and-set on the previous head, so the head only ever moves one event forward.
 */
export function putAuditHead(table: string, stream: string, head: { seq: number; hash: string }, from: { seq: number; hash: string } | undefined): PutCommandInput {
  return {
    TableName: table,
    Item: { ...auditHeadKey(stream), seq: head.seq, hash: head.hash },
    ...(from === undefined
      ? { ConditionExpression: 'attribute_not_exists(pk)' }
      : {
          ConditionExpression: '#seq = :seq AND #hash = :hash',
          ExpressionAttributeNames: { '#seq': 'seq', '#hash': 'hash' },
          ExpressionAttributeValues: { ':seq': from.seq, ':hash': from.hash },
        }),
  };
}

/** Query of one audit item by its key (strongly consistent; what appenders read with, holding no GetItem). */
export function queryAuditItem(table: string, key: PrimaryKey): QueryCommandInput {
  return {
    TableName: table,
    KeyConditionExpression: 'pk = :pk AND sk = :sk',
    ExpressionAttributeValues: { ':pk': key.pk, ':sk': key.sk },
    ConsistentRead: true,
  };
}

/** GSI partition of everything recorded for a run. */
export const runPartition = (runId: string): string => `RUN#${runId}`;

/**
 * PutItem of an audit event at its sequence number, only if that number is still free: two
 * writers racing for one head cannot both succeed, which keeps the hash chain linear.
 */
export function appendAuditEvent(table: string, event: AuditEvent): PutCommandInput {
  const { data, ...stored } = toPlainJson(event);
  const json = JSON.stringify(data);
  return {
    TableName: table,
    Item: {
      ...stored,
      // Large data (an account's turn) is stored gzip-compressed: about a third of the bytes, so
      // about a third of the write units. The hash covers the data, not its encoding.
      ...(Buffer.byteLength(json, 'utf8') > AUDIT_DATA_GZIP_OVER_BYTES ? { dataGzip: gzipSync(json) } : { data }),
      ...auditEventKey(event.stream, event.seq),
      ...(event.runId === undefined
        ? {}
        : {
            gsi1pk: runPartition(event.runId),
            gsi1sk: `${isoKey(event.at)}#${event.stream}#${String(event.seq).padStart(SEQ_WIDTH, '0')}`,
          }),
    },
    ConditionExpression: 'attribute_not_exists(pk)',
  };
}

/** The audit event a stored item holds (its data inflated when it was stored compressed). */
export function auditEventOfItem(item: Readonly<Record<string, unknown>>): AuditEvent {
  const { dataGzip, ...rest } = item;
  if (dataGzip === undefined) return AuditEvent.parse(rest);
  if (!(dataGzip instanceof Uint8Array)) throw new InvalidInputError(`audit item ${String(item['pk'])} ${String(item['sk'])}: dataGzip is not binary`);
  return AuditEvent.parse({ ...rest, data: JSON.parse(gunzipSync(dataGzip).toString('utf8')) as unknown });
}

/** Query of the last event of a stream (the head the next append links to). */
export function queryStreamHead(table: string, stream: string): QueryCommandInput {
  return {
    TableName: table,
    KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
    ExpressionAttributeValues: { ':pk': stream, ':prefix': 'SEQ#' },
    ScanIndexForward: false,
    Limit: 1,
    ConsistentRead: true,
  };
}

/** Query of one page of a stream in sequence order. */
export function queryStream(table: string, stream: string, exclusiveStartKey?: ItemKey): QueryCommandInput {
  return {
    TableName: table,
    KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
    ExpressionAttributeValues: { ':pk': stream, ':prefix': 'SEQ#' },
    ScanIndexForward: true,
    ConsistentRead: true,
    ...(exclusiveStartKey === undefined ? {} : { ExclusiveStartKey: exclusiveStartKey }),
  };
}

/** Query of one page of everything recorded for a run, in time order (GSI byRun). */
export function queryRunEvents(table: string, runId: string, exclusiveStartKey?: ItemKey): QueryCommandInput {
  return {
    TableName: table,
    IndexName: AUDIT_RUN_INDEX,
    KeyConditionExpression: 'gsi1pk = :pk',
    ExpressionAttributeValues: { ':pk': runPartition(runId) },
    ...(exclusiveStartKey === undefined ? {} : { ExclusiveStartKey: exclusiveStartKey }),
  };
}

// ---------------------------------------------------------------------------------------------
// runs table
// ---------------------------------------------------------------------------------------------

/** Key of a run's header item. */
export const runHeaderKey = (runId: string): PrimaryKey => ({ pk: runPartition(runId), sk: 'HEADER' });

/**
 * PutItem of a run header with an empty `counters` map, only if the run has none yet: a retried
 * start must not reset counters, and ADD on `counters.<name>` needs the map to exist.
 */
export function startRun(
  table: string,
  run: {
    runId: string;
    campaignId: string;
    now: string;
    shards: number;
    charterHashes: Record<string, string>;
    models?: Record<string, Record<string, { trials: number; successes: number }>>;
    spend?: Record<string, number>;
  },
): PutCommandInput {
  return {
    TableName: table,
    Item: { ...runHeaderKey(run.runId), ...run, counters: {} },
    ConditionExpression: 'attribute_not_exists(pk)',
  };
}

/**
 * UpdateItem inputs adding to named run counters with ADD on the nested map (atomic per counter).
 * The condition refuses a run that was never started instead of failing on the missing map.
 */
export function addRunCounters(table: string, runId: string, counters: Record<string, number>, once: string, nowSeconds: number): UpdateCommandInput[] {
  const entries = Object.entries(counters);
  for (const [name, n] of entries) {
    if (name.length === 0 || !Number.isFinite(n)) throw new InvalidInputError(`invalid run counter "${name}": ${n}`);
  }
  return chunk(entries, MAX_COUNTERS_PER_UPDATE).map((part, c) => {
    const names: Record<string, string> = { '#counters': 'counters', '#fx': guardAttribute(`${once}#${c}`) };
    const values: Record<string, number> = { ':now': nowSeconds };
    const adds: string[] = [];
    part.forEach(([name, n], i) => {
      names[`#c${i}`] = name;
      values[`:c${i}`] = n;
      adds.push(`#counters.#c${i} :c${i}`);
    });
    return {
      TableName: table,
      Key: runHeaderKey(runId),
      UpdateExpression: `ADD ${adds.join(', ')} SET #fx = :now`,
      ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(#fx)',
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    };
  });
}

/** GetItem of a run header. */
/** Key of a recorded page of a run (the run ledger): by shard and the cursor the page started at. */
export const runPageKey = (runId: string, shard: number, cursor: string | null): PrimaryKey => ({
  pk: runPartition(runId),
  sk: `PAGE#${String(shard).padStart(4, '0')}#${cursor ?? 'start'}`,
});

/** GetItem of a recorded page (strongly consistent: it decides whether the page is done). */
export function getRunPage(table: string, runId: string, shard: number, cursor: string | null): GetCommandInput {
  return { TableName: table, Key: runPageKey(runId, shard, cursor), ConsistentRead: true };
}

/** PutItem of a recorded page, once. */
export function putRunPage(table: string, runId: string, shard: number, cursor: string | null, page: { nextCursor: string | null; queued: number; deferred?: number }): PutCommandInput {
  return { TableName: table, Item: { ...runPageKey(runId, shard, cursor), ...page }, ConditionExpression: 'attribute_not_exists(pk)' };
}

// Deferred sends live in the run's partition: one item per send slot of a shard (what the
// workflow lists and waits for: a slot per quarter hour, at most a day's worth), and one item per
// deferred action, under its slot (what SendDeferred pages through when the slot's time comes).
const shardKeyPart = (shard: number): string => {
  if (!Number.isInteger(shard) || shard < 0 || shard > 9999) throw new InvalidInputError(`invalid shard: ${shard}`);
  return String(shard).padStart(4, '0');
};
const slotPrefix = (shard: number): string => `SLOT#${shardKeyPart(shard)}#`;
const sendPrefix = (shard: number, slot: string): string => `SEND#${shardKeyPart(shard)}#${isoKey(slot)}#`;

/** Key of a send slot of a shard in a run (`SLOT#<shard>#<slot>`). */
export const sendSlotKey = (runId: string, shard: number, slot: string): PrimaryKey => ({ pk: runPartition(runId), sk: `${slotPrefix(shard)}${isoKey(slot)}` });

/** Key of a deferred action in its slot (`SEND#<shard>#<slot>#<actionId>`). */
export const deferredSendKey = (send: Pick<DeferredSend, 'runId' | 'shard' | 'slot'> & { action: Pick<DeferredSend['action'], 'id'> }): PrimaryKey => {
  if (send.action.id.length === 0) throw new InvalidInputError('deferred send without an action id');
  return { pk: runPartition(send.runId), sk: `${sendPrefix(send.shard, send.slot)}${send.action.id}` };
};

/** PutItem of a deferred action, once: a redelivered Act finds it there and changes nothing. */
export function putDeferredSend(table: string, send: DeferredSend): PutCommandInput {
  return { TableName: table, Item: { ...deferredSendKey(send), ...toPlainJson(send) }, ConditionExpression: 'attribute_not_exists(pk)' };
}

/** PutItem of a send slot, once (every page that defers to it writes it; the first one stays). */
export function putSendSlot(table: string, runId: string, shard: number, slot: string): PutCommandInput {
  return { TableName: table, Item: { ...sendSlotKey(runId, shard, slot), runId, shard, slot: isoKey(slot) }, ConditionExpression: 'attribute_not_exists(pk)' };
}

/** Query of a shard's send slots in a run, in time order (keys only: the slot is in the sort key). */
export function querySendSlots(table: string, runId: string, shard: number, exclusiveStartKey?: ItemKey): QueryCommandInput {
  return {
    TableName: table,
    KeyConditionExpression: 'pk = :pk AND begins_with(sk, :slot)',
    ExpressionAttributeValues: { ':pk': runPartition(runId), ':slot': slotPrefix(shard) },
    ProjectionExpression: 'sk',
    // Written before the workflow lists them (Act, then Record, then the listing): read them all.
    ConsistentRead: true,
    ...(exclusiveStartKey === undefined ? {} : { ExclusiveStartKey: exclusiveStartKey }),
  };
}

/** The slot of a send slot's sort key. */
export function slotFromKey(sk: string): string {
  const slot = /^SLOT#\d{4}#(.+)$/.exec(sk)?.[1];
  if (slot === undefined) throw new InvalidInputError(`not a send slot key: ${sk}`);
  return slot;
}

/** Query of one page of the actions deferred to a slot of a shard, in action id order. */
export function queryDeferredSends(table: string, runId: string, shard: number, slot: string, limit: number, exclusiveStartKey?: ItemKey): QueryCommandInput {
  if (!Number.isInteger(limit) || limit < 1) throw new InvalidInputError(`invalid page size: ${limit}`);
  return {
    TableName: table,
    KeyConditionExpression: 'pk = :pk AND begins_with(sk, :send)',
    ExpressionAttributeValues: { ':pk': runPartition(runId), ':send': sendPrefix(shard, slot) },
    Limit: limit,
    ConsistentRead: true,
    ...(exclusiveStartKey === undefined ? {} : { ExclusiveStartKey: exclusiveStartKey }),
  };
}

export function getRunHeader(table: string, runId: string): GetCommandInput {
  return { TableName: table, Key: runHeaderKey(runId), ConsistentRead: true };
}

const MONTH = /^\d{4}-(0[1-9]|1[0-2])$/;

/** Key of an agent's spend counter for one calendar month (`YYYY-MM`, UTC). */
export function agentSpendKey(agentId: string, month: string): PrimaryKey {
  if (agentId.length === 0) throw new InvalidInputError('agent id must not be empty');
  if (!MONTH.test(month)) throw new InvalidInputError(`month must be YYYY-MM: ${month}`);
  return { pk: `AGENT#${agentId}`, sk: `SPEND#${month}` };
}

/**
 * UpdateItem adding to an agent's monthly spend with ADD (atomic under concurrent shards and
 * approvals; creates the item at 0). Unconditional: the first spend of a month creates it.
 */
export function addAgentSpend(table: string, agentId: string, month: string, usd: number, once: string, nowSeconds: number): UpdateCommandInput {
  if (!Number.isFinite(usd) || usd < 0) throw new InvalidInputError(`invalid spend for ${agentId} in ${month}: ${usd}`);
  return {
    TableName: table,
    Key: agentSpendKey(agentId, month),
    UpdateExpression: 'ADD #spendUsd :usd SET #fx = :now',
    ConditionExpression: 'attribute_not_exists(#fx)',
    ExpressionAttributeNames: { '#spendUsd': 'spendUsd', '#fx': guardAttribute(once) },
    ExpressionAttributeValues: { ':usd': usd, ':now': nowSeconds },
  };
}

/** Where a reservation is held: a run header, an agent's month, or an account's touches in a week. */
export type ReservationItem = { readonly run: string } | { readonly agentId: string; readonly month: string } | { readonly touchesOf: string; readonly week: string };

/** Key of an account's touch reservations in one week of the run clock. */
export const touchesKey = (accountId: string, week: string): PrimaryKey => ({ pk: `TOUCHES#${accountId}`, sk: `WEEK#${week}` });

const reservationKey = (on: ReservationItem): PrimaryKey =>
  'run' in on ? runHeaderKey(on.run) : 'agentId' in on ? agentSpendKey(on.agentId, on.month) : touchesKey(on.touchesOf, on.week);

/** One counter a reservation adds to: its attribute (under the header's counters on a run), the amount, and its cap. */
export interface ReservationTerm {
  readonly attribute: string;
  readonly n: number;
  readonly max: number;
}

/** The guard that says an action holds a reservation on an item. */
export const reservedGuard = (actionId: string): string => guardAttribute(`action#${actionId}#reserved`);

/**
 * UpdateItem reserving for one action on one item: each term adds `n` to its counter, only while
 * every counter stays within its cap, and only once per action (the guard). Used for spend
 * (`reservedUsd` on the run header and the agent's month: reserved when an action is granted or
 * queued, released when it is rejected, expires, fails or is blocked at send) and for touches (per
 * account and per stakeholder, in the week of the run's clock). Conditions cannot add, so each
 * counter is compared with max - n.
 */
export function reserveOn(table: string, on: ReservationItem, actionId: string, terms: readonly ReservationTerm[], nowSeconds: number): UpdateCommandInput {
  const run = 'run' in on;
  const names: Record<string, string> = { '#fx': reservedGuard(actionId), ...(run ? { '#counters': 'counters' } : {}) };
  const values: Record<string, number> = { ':now': nowSeconds };
  const adds: string[] = [];
  const room: string[] = [];
  terms.forEach((t, i) => {
    if (!Number.isFinite(t.n) || t.n <= 0) throw new InvalidInputError(`invalid reservation of ${t.attribute} for ${actionId}: ${t.n}`);
    names[`#a${i}`] = t.attribute;
    values[`:n${i}`] = t.n;
    values[`:room${i}`] = t.max - t.n;
    const path = run ? `#counters.#a${i}` : `#a${i}`;
    adds.push(`${path} :n${i}`);
    room.push(`(attribute_not_exists(${path}) OR ${path} <= :room${i})`);
  });
  return {
    TableName: table,
    Key: reservationKey(on),
    UpdateExpression: `ADD ${adds.join(', ')} SET #fx = :now`,
    ConditionExpression: [...(run ? ['attribute_exists(pk)'] : []), 'attribute_not_exists(#fx)', ...room].join(' AND '),
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
  };
}

/** UpdateItem releasing an action's reservation on one item, once, and only if it holds one there. */
export function releaseOn(table: string, on: ReservationItem, actionId: string, terms: readonly Omit<ReservationTerm, 'max'>[], nowSeconds: number): UpdateCommandInput {
  const run = 'run' in on;
  const names: Record<string, string> = { '#held': reservedGuard(actionId), '#fx': guardAttribute(`action#${actionId}#released`), ...(run ? { '#counters': 'counters' } : {}) };
  const values: Record<string, number> = { ':now': nowSeconds };
  const adds = terms.map((t, i) => {
    names[`#a${i}`] = t.attribute;
    values[`:n${i}`] = -t.n;
    return `${run ? `#counters.#a${i}` : `#a${i}`} :n${i}`;
  });
  return {
    TableName: table,
    Key: reservationKey(on),
    UpdateExpression: `ADD ${adds.join(', ')} SET #fx = :now`,
    ConditionExpression: 'attribute_exists(#held) AND attribute_not_exists(#fx)',
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
  };
}

/** Key of the counters of refused anonymous approval requests in one hour (UTC, `YYYY-MM-DDTHH`). */
export const refusedKey = (hour: string): PrimaryKey => ({ pk: 'REFUSED', sk: `HOUR#${hour}` });

/** UpdateItem counting one refused anonymous request in its hour, by reason. */
export function countRefused(table: string, at: string, reason: string): UpdateCommandInput {
  const ms = Date.parse(at);
  if (Number.isNaN(ms)) throw new InvalidInputError(`refused request at "${at}": not an ISO time`);
  if (!/^[a-z_]{1,40}$/.test(reason)) throw new InvalidInputError(`refused request reason "${reason}": expected a short snake_case name`);
  return {
    TableName: table,
    Key: refusedKey(new Date(ms).toISOString().slice(0, 13)),
    UpdateExpression: 'ADD #reason :one, #total :one',
    ExpressionAttributeNames: { '#reason': reason, '#total': 'total' },
    ExpressionAttributeValues: { ':one': 1 },
  };
}

/** GetItem of a reservation's item (strongly consistent: was the action's reservation made?). */
export function getReservationItem(table: string, on: ReservationItem): GetCommandInput {
  return { TableName: table, Key: reservationKey(on), ConsistentRead: true };
}

/** GetItem of an agent's monthly spend (strongly consistent: governance compares it with the budget). */
export function getAgentSpend(table: string, agentId: string, month: string): GetCommandInput {
  return { TableName: table, Key: agentSpendKey(agentId, month), ConsistentRead: true };
}
