/**
 * The DynamoDB tables, declared once: the CDK stack creates them from these definitions and the
 * local runtime creates the same tables in dynalite. Access patterns are documented per table;
 * every hot path is GetItem, Query or a single-item conditional write (never Scan).
 */

/** Logical table names (the key of each definition). */
export type TableKey = 'accounts' | 'memory' | 'approvals' | 'audit' | 'runs' | 'idempotency';

/** A secondary index over string keys. */
export interface IndexDefinition {
  readonly name: string;
  readonly partitionKey: string;
  readonly sortKey?: string;
  /**
   * What the index stores of each item: ALL attributes, or only the keys (the table's and its
   * own). A keys-only index costs one write unit per item whatever the item's size.
   * @default 'ALL'
   */
  readonly projection?: 'ALL' | 'KEYS_ONLY';
}

/** The attributes a keys-only index stores: the table's keys and the index's own. */
export const indexKeyAttributes = (def: TableDefinition, index: IndexDefinition): string[] =>
  [...new Set([def.partitionKey, def.sortKey, index.partitionKey, index.sortKey].filter((a): a is string => a !== undefined))];

/** A table: string pk/sk, optional GSIs, optional TTL attribute (expired in app code locally). */
export interface TableDefinition {
  readonly key: TableKey;
  /** Environment variable that carries the physical table name to a Lambda. */
  readonly envVar: string;
  readonly partitionKey: string;
  readonly sortKey?: string;
  readonly indexes: readonly IndexDefinition[];
  readonly ttlAttribute?: string;
  /** Access patterns, for people and for the README. */
  readonly accessPatterns: readonly string[];
}

/** Number of virtual shards accounts are hashed into; a campaign's shards cover them evenly. */
export const VIRTUAL_SHARDS = 64;

/** Every table of the system. */
export const TABLES: Readonly<Record<TableKey, TableDefinition>> = {
  accounts: {
    key: 'accounts',
    envVar: 'ACCOUNTS_TABLE',
    partitionKey: 'pk',
    sortKey: 'sk',
    indexes: [{ name: 'byShard', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' }],
    accessPatterns: [
      'account state: GetItem pk=ACCOUNT#id sk=STATE; UpdateItem/PutItem with version condition (optimistic lock)',
      'stakeholders of an account: Query pk=ACCOUNT#id, sk begins_with CONTACT#',
      'signals since t: Query pk=ACCOUNT#id, sk between SIGNAL#t and SIGNAL#~',
      'accounts of a virtual shard, paged: Query byShard gsi1pk=SHARD#nn (state items only)',
      'book data-quality summary: GetItem/PutItem (condition at <=) pk=BOOK sk=QUALITY (LoadCampaign reads it for the gate)',
      'CRM import: PutItem attribute_not_exists(pk) of a new account; UpdateItem SET profile fields with the version condition; stakeholders UpdateItem with a consent condition (never loosens consent)',
      'signal ledger: PutItem pk=ACCOUNT#id sk=SIGNALID#<signal id> attribute_not_exists(pk); GetItem of a taken claim',
    ],
  },
  memory: {
    key: 'memory',
    envVar: 'MEMORY_TABLE',
    partitionKey: 'pk',
    sortKey: 'sk',
    indexes: [],
    ttlAttribute: 'expiresAt',
    accessPatterns: [
      'memory of an account since t: Query pk=ACCOUNT#id, sk >= MEM#t',
      'outcome model of an agent: GetItem pk=MODEL#agent sk=ARMS; UpdateItem ADD per arm',
    ],
  },
  approvals: {
    key: 'approvals',
    envVar: 'APPROVALS_TABLE',
    partitionKey: 'pk',
    sortKey: 'sk',
    // Keys only: listing a shard's approvals needs their ids, and every status change of an
    // approval (queued, pending, decided) would otherwise rewrite the whole item in the index.
    indexes: [{ name: 'byRunShard', partitionKey: 'gsi1pk', sortKey: 'gsi1sk', projection: 'KEYS_ONLY' }],
    ttlAttribute: 'purgeAt',
    accessPatterns: [
      'one approval: GetItem pk=APPROVAL#id sk=REQUEST',
      'decide once: UpdateItem condition status = pending (single-item conditional write)',
      'approvals a shard queued in a run: Query byRunShard gsi1pk=RUN#id#SHARD#n',
    ],
  },
  audit: {
    key: 'audit',
    envVar: 'AUDIT_TABLE',
    partitionKey: 'pk',
    sortKey: 'sk',
    // Keys only: one write unit per event instead of a second copy of it (audit writes are a
    // run's largest cost); reading a whole run fetches the events by key, which is rare.
    indexes: [{ name: 'byRun', partitionKey: 'gsi1pk', sortKey: 'gsi1sk', projection: 'KEYS_ONLY' }],
    accessPatterns: [
      'a stream in order: Query pk=RUN#id or ACCOUNT#id, sk begins_with SEQ#',
      'append: PutItem condition attribute_not_exists(pk) at the next sequence number (hash chain)',
      'everything of a run: Query byRun gsi1pk=RUN#id (keys only), then BatchGetItem',
    ],
  },
  runs: {
    key: 'runs',
    envVar: 'RUNS_TABLE',
    partitionKey: 'pk',
    sortKey: 'sk',
    indexes: [],
    accessPatterns: [
      'run header and counters: GetItem pk=RUN#id sk=HEADER; UpdateItem ADD counters (kept apart so the audit table stays PutItem-only)',
      "an agent's spend in a month: GetItem pk=AGENT#id sk=SPEND#YYYY-MM (once per page in Govern); UpdateItem ADD spendUsd (Record, ActApproved, SendDeferred)",
      'the run ledger: GetItem/PutItem (attribute_not_exists) pk=RUN#id sk=PAGE#shard#cursor',
      "deferred sends: PutItem (attribute_not_exists) pk=RUN#id sk=SEND#shard#slot#actionId and sk=SLOT#shard#slot (Act); a shard's slots: Query pk=RUN#id, sk begins_with SLOT#shard# (ListSendSlots, one item per quarter hour); a slot's actions, paged: Query pk=RUN#id, sk begins_with SEND#shard#slot# (SendDeferred)",
    ],
  },
  idempotency: {
    key: 'idempotency',
    envVar: 'IDEMPOTENCY_TABLE',
    partitionKey: 'id',
    indexes: [],
    ttlAttribute: 'expiration',
    accessPatterns: [
      'one side effect: Powertools idempotency layout (PutItem attribute_not_exists, GetItem, UpdateItem)',
      'replay records of signed signal requests: PutItem id=signals-request#<sha256 of signature> (absent or expired), TTL expiration',
    ],
  },
};

/** Physical name of a table for a given prefix (locally; CDK lets CloudFormation name them). */
export const localTableName = (key: TableKey, prefix = 'amk'): string => `${prefix}-${key}`;
