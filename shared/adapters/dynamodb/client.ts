/**
 * The one DynamoDB client of a process: created by the composition root, injected everywhere.
 * Optionally metered: a middleware asks every item operation for its consumed capacity and
 * tallies it per table, so the cost model works from billed units, not from guesses.
 */
import { DynamoDBClient, type ConsumedCapacity } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { lastKey } from './requests.ts';
import { TABLES, indexKeyAttributes, type TableKey } from './tables.ts';

/** Placeholder credentials: dynalite and DynamoDB Local accept any, and no real secret is ever needed locally. */
const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;

/**
 * Creates a DynamoDB client; with `endpoint` (dynalite, DynamoDB Local) it uses dummy credentials
 * and us-east-1; with `meter`, every request's consumed capacity is counted (see meterConsumedCapacity).
 */
export function createDynamoClient(opts: { endpoint?: string; region?: string; meter?: CapacityMeter } = {}): DynamoDBClient {
  const client =
    opts.endpoint !== undefined
      ? // The region only has to be syntactically valid for a local endpoint; a fixed one keeps
        // local runs independent of the developer's AWS profile.
        new DynamoDBClient({ endpoint: opts.endpoint, region: opts.region ?? 'us-east-1', credentials: LOCAL_CREDENTIALS, maxAttempts: 3 })
      : new DynamoDBClient({ ...(opts.region === undefined ? {} : { region: opts.region }), maxAttempts: 3 });
  if (opts.meter) meterConsumedCapacity(client, opts.meter);
  return client;
}

/**
 * The document-client view the repositories send through (plain JS values in and out). It shares
 * the injected client's configuration and connections; undefined fields of domain objects
 * (optional properties) are dropped instead of failing the marshaller.
 */
export function documentClient(client: DynamoDBClient): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

/** Whether an SDK error is a failed condition; matched on `name`, as dynalite may send "UnknownError" messages. */
export function isConditionalCheckFailed(err: unknown): boolean {
  return err instanceof Error && err.name === 'ConditionalCheckFailedException';
}

/** Sends a paged Query until the last page and returns every item (callers bound the partition). */
export async function queryAll(
  doc: DynamoDBDocumentClient,
  build: (exclusiveStartKey?: Record<string, string>) => QueryCommandInput,
): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let exclusiveStartKey: Record<string, string> | undefined;
  do {
    const out = await doc.send(new QueryCommand(build(exclusiveStartKey)));
    items.push(...(out.Items ?? []));
    exclusiveStartKey = lastKey(out.LastEvaluatedKey);
  } while (exclusiveStartKey !== undefined);
  return items;
}

/** The consumed capacity of one table, in request units as DynamoDB bills them on demand. */
export interface TableCapacity {
  /** Read request units DynamoDB reported (ConsumedCapacity). */
  readonly readUnits: number;
  /** Write request units DynamoDB reported for the table itself. */
  readonly writeUnits: number;
  /**
   * Write units of the table's global secondary indexes, estimated here: dynalite reports table
   * units only, where AWS adds one write of the projected item per index the item lands in.
   */
  readonly indexWriteUnits: number;
  /** Requests that reported capacity. */
  readonly requests: number;
}

/** What a meter has counted since it was created or last reset, per table name. */
export interface CapacitySnapshot {
  readonly tables: Readonly<Record<string, TableCapacity>>;
  readonly readUnits: number;
  /** Table plus index write units. */
  readonly writeUnits: number;
  readonly requests: number;
}

/** A global secondary index, as the index write estimate needs it. */
export interface MeteredIndex {
  /** The index's partition-key attribute: an item lacking it is not in the (sparse) index. */
  readonly partitionKey: string;
  /**
   * Attributes the index stores (its keys, the table's keys and INCLUDE attributes) when it does
   * not project ALL; the index item's size is counted over these only. @default - ALL attributes
   */
  readonly projectedAttributes?: readonly string[];
}

/** The indexes of every table as the meter needs them, by physical table name. */
export function meteredIndexes(names: Readonly<Record<TableKey, string>>): Record<string, MeteredIndex[]> {
  return Object.fromEntries(
    (Object.keys(TABLES) as TableKey[]).map((key) => {
      const def = TABLES[key];
      return [
        names[key],
        def.indexes.map((index) => ({
          partitionKey: index.partitionKey,
          ...(index.projection === 'KEYS_ONLY' ? { projectedAttributes: indexKeyAttributes(def, index) } : {}),
        })),
      ];
    }),
  );
}

/** Options of {@link CapacityMeter}. */
export interface CapacityMeterOptions {
  /** The global secondary indexes per physical table name. @default {} (no index writes estimated) */
  readonly indexes?: Readonly<Record<string, readonly MeteredIndex[]>>;
}

const READ_COMMANDS = new Set(['GetItemCommand', 'QueryCommand', 'ScanCommand', 'BatchGetItemCommand', 'TransactGetItemsCommand']);
const WRITE_COMMANDS = new Set(['PutItemCommand', 'UpdateItemCommand', 'DeleteItemCommand', 'BatchWriteItemCommand', 'TransactWriteItemsCommand']);
const PARTIQL_COMMANDS = new Set(['ExecuteStatementCommand', 'BatchExecuteStatementCommand', 'ExecuteTransactionCommand']);

/** Whether a DynamoDB command accepts ReturnConsumedCapacity (the data-plane item operations). */
export const reportsConsumedCapacity = (commandName: string): boolean =>
  READ_COMMANDS.has(commandName) || WRITE_COMMANDS.has(commandName) || PARTIQL_COMMANDS.has(commandName);

/** Accumulates DynamoDB ConsumedCapacity per table; one per process, snapshot and reset per run. */
export class CapacityMeter {
  private tables = new Map<string, { readUnits: number; writeUnits: number; indexWriteUnits: number; requests: number }>();

  constructor(readonly options: CapacityMeterOptions = {}) {}

  /** Adds units to a table's tally. */
  add(table: string, units: { readUnits?: number; writeUnits?: number; indexWriteUnits?: number; requests?: number }): void {
    const t = this.tables.get(table) ?? { readUnits: 0, writeUnits: 0, indexWriteUnits: 0, requests: 0 };
    t.readUnits += units.readUnits ?? 0;
    t.writeUnits += units.writeUnits ?? 0;
    t.indexWriteUnits += units.indexWriteUnits ?? 0;
    t.requests += units.requests ?? 0;
    this.tables.set(table, t);
  }

  /** The figures so far (a copy). */
  snapshot(): CapacitySnapshot {
    const tables = Object.fromEntries([...this.tables].sort(([a], [b]) => a.localeCompare(b)).map(([name, t]) => [name, { ...t }]));
    const all = Object.values(tables);
    return {
      tables,
      readUnits: all.reduce((n, t) => n + t.readUnits, 0),
      writeUnits: all.reduce((n, t) => n + t.writeUnits + t.indexWriteUnits, 0),
      requests: all.reduce((n, t) => n + t.requests, 0),
    };
  }

  /** Starts counting afresh. */
  reset(): void {
    this.tables = new Map();
  }
}

/** A low-level AttributeValue, as the request carries it after the document client marshalled it. */
type AttributeValue = Record<string, unknown>;

const utf8 = (s: string): number => Buffer.byteLength(s, 'utf8');

/** Size of a number as DynamoDB counts it: about one byte per two significant digits, plus one. */
function numberSize(n: string): number {
  const digits = n.replace(/^[-+]/, '').replace(/e.*$/i, '').replace('.', '').replace(/^0+/, '').replace(/0+$/, '');
  return Math.ceil(Math.max(1, digits.length) / 2) + 1;
}

function valueSize(v: AttributeValue): number {
  if (typeof v.S === 'string') return utf8(v.S);
  if (typeof v.N === 'string') return numberSize(v.N);
  if (v.B instanceof Uint8Array) return v.B.byteLength;
  if (typeof v.BOOL === 'boolean' || v.NULL === true) return 1;
  if (Array.isArray(v.SS)) return (v.SS as string[]).reduce((n, s) => n + utf8(s), 0);
  if (Array.isArray(v.NS)) return (v.NS as string[]).reduce((n, s) => n + numberSize(s), 0);
  if (Array.isArray(v.BS)) return (v.BS as Uint8Array[]).reduce((n, b) => n + b.byteLength, 0);
  // Lists and maps: 3 bytes of overhead plus one byte per element (DynamoDB's item-size rules).
  if (Array.isArray(v.L)) return 3 + (v.L as AttributeValue[]).reduce((n, e) => n + 1 + valueSize(e), 0);
  if (v.M && typeof v.M === 'object') return 3 + Object.keys(v.M).length + itemSize(v.M as Record<string, AttributeValue>);
  return 0;
}

/** Size in bytes of a marshalled item as DynamoDB bills it (attribute names plus values). */
export function itemSize(item: Readonly<Record<string, AttributeValue>>): number {
  return Object.entries(item).reduce((n, [name, value]) => n + utf8(name) + valueSize(value), 0);
}

/** Write units of one item written into the indexes whose key it carries (1 KB per unit, rounded up). */
function indexWritesOf(item: Record<string, AttributeValue> | undefined, indexes: readonly MeteredIndex[]): number {
  if (!item) return 0;
  let units = 0;
  for (const index of indexes) {
    if (!(index.partitionKey in item)) continue;
    const projected = index.projectedAttributes
      ? Object.fromEntries(index.projectedAttributes.filter((a) => a in item).map((a) => [a, item[a] as AttributeValue]))
      : item;
    units += Math.max(1, Math.ceil(itemSize(projected) / 1024));
  }
  return units;
}


/** Name of the metering middlewares (to find or remove them on a client's stack). */
export const CAPACITY_MIDDLEWARE = { request: 'amkReturnConsumedCapacity', response: 'amkMeterConsumedCapacity' } as const;

/**
 * Meters every capacity-reporting command sent through `client` (and the document clients and
 * Powertools layers built on it, which share its middleware stack): asks for
 * `ReturnConsumedCapacity: 'TOTAL'` unless the caller asked for more, and adds what comes back to
 * `meter`. Failed requests report nothing, as in AWS's response (a failed condition is still
 * billed there; this count misses it).
 */
export function meterConsumedCapacity(client: DynamoDBClient, meter: CapacityMeter): void {
  const stack = client.middlewareStack;
  // Before serialization, so the flag is part of the request; a new input object, so the
  // caller's request object is never changed under it.
  stack.add(
    (next, context) => async (args) => {
      const input = args.input as Record<string, unknown>;
      if (!reportsConsumedCapacity(context.commandName ?? '') || input.ReturnConsumedCapacity === 'INDEXES') return next(args);
      return next({ ...args, input: { ...input, ReturnConsumedCapacity: 'TOTAL' } });
    },
    { step: 'initialize', priority: 'low', name: CAPACITY_MIDDLEWARE.request, override: true },
  );
  // At the build step the input is the marshalled (low-level) request, whichever client sent it.
  stack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      const commandName = context.commandName ?? '';
      if (!reportsConsumedCapacity(commandName)) return result;
      // The SDK has already parsed the response into its ConsumedCapacity shape: one entry, or one
      // per table for the batch and transaction operations.
      const raw = (result.output as { ConsumedCapacity?: ConsumedCapacity | ConsumedCapacity[] }).ConsumedCapacity;
      const entries = Array.isArray(raw) ? raw : raw === undefined ? [] : [raw];
      const input = args.input as Record<string, unknown>;
      const isRead = READ_COMMANDS.has(commandName) || (PARTIQL_COMMANDS.has(commandName) && /^\s*select/i.test(String(input.Statement ?? '')));
      for (const e of entries) {
        const table = e.TableName ?? 'unknown';
        const units = e.CapacityUnits ?? (e.ReadCapacityUnits ?? 0) + (e.WriteCapacityUnits ?? 0);
        const readUnits = e.ReadCapacityUnits ?? (isRead ? units : 0);
        const writeUnits = e.WriteCapacityUnits ?? (isRead ? 0 : units);
        meter.add(table, { readUnits, writeUnits, indexWriteUnits: indexWriteEstimate(meter, commandName, input, table, writeUnits), requests: 1 });
      }
      return result;
    },
    { step: 'build', priority: 'high', name: CAPACITY_MIDDLEWARE.response, override: true },
  );
}

/** Attribute names an UpdateItem expression mentions (directly or through #placeholders). */
function updatedAttributeNames(input: Record<string, unknown>): Set<string> {
  const expression = String(input.UpdateExpression ?? '');
  const names = (input.ExpressionAttributeNames ?? {}) as Record<string, string>;
  const out = new Set<string>();
  // Names and #placeholders; not :value placeholders (":sk" is a value, not the attribute sk).
  for (const token of expression.match(/(?<![:\w#])#?[A-Za-z_][A-Za-z0-9_]*/g) ?? []) out.add(token.startsWith('#') ? (names[token] ?? token) : token);
  return out;
}

/** AWS's extra write units for the indexes of `table` that one write request lands in. */
function indexWriteEstimate(meter: CapacityMeter, commandName: string, input: Record<string, unknown>, table: string, tableWriteUnits: number): number {
  const indexes = meter.options.indexes?.[table] ?? [];
  if (indexes.length === 0 || tableWriteUnits === 0) return 0;
  if (commandName === 'PutItemCommand') return indexWritesOf(input.Item as Record<string, AttributeValue> | undefined, indexes);
  if (commandName === 'BatchWriteItemCommand') {
    const requests = ((input.RequestItems as Record<string, Array<{ PutRequest?: { Item?: Record<string, AttributeValue> } }>> | undefined) ?? {})[table] ?? [];
    return requests.reduce((n, r) => n + indexWritesOf(r.PutRequest?.Item, indexes), 0);
  }
  // Updates and deletes carry no item: assume the item sits in every index (true of the items this
  // application updates on an indexed table). An index holding ALL attributes is rewritten at the
  // table's units; a keys-only index only when the request touches one of its keys (DynamoDB
  // writes nothing to an index whose attributes a write leaves alone), at one unit.
  if (commandName === 'DeleteItemCommand') return indexes.reduce((n, i) => n + (i.projectedAttributes ? 1 : tableWriteUnits), 0);
  if (commandName === 'UpdateItemCommand') {
    const touched = updatedAttributeNames(input);
    return indexes.reduce((n, i) => n + (!i.projectedAttributes ? tableWriteUnits : i.projectedAttributes.some((a) => touched.has(a)) ? 1 : 0), 0);
  }
  return 0;
}
