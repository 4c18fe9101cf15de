/**
 * Which DynamoDB actions each repository method sends, on the table or on one of its indexes. The
 * CDK grants of a function are derived from the methods its step declares (shared/app/steps.ts),
 * so a grant is exactly what the code calls. The strict local runtime checks every call against
 * the synthesized policy, and test/infra/least-privilege.test.ts shows each grant is needed.
 */
import type { TablePort, TablePorts } from '../../app/steps.ts';

/** A DynamoDB action the repositories send. */
export type DynamoAction = 'GetItem' | 'Query' | 'PutItem' | 'UpdateItem' | 'DeleteItem' | 'BatchGetItem' | 'BatchWriteItem';

/** One kind of call: an action on the table, or (Query) on a named index. */
export interface TableCall {
  readonly action: DynamoAction;
  readonly index?: string;
}

const on = (...actions: DynamoAction[]): TableCall[] => actions.map((action) => ({ action }));

/** The calls of every repository method (adapter by adapter: see each repository's file). */
export const REPOSITORY_CALLS: { readonly [K in TablePort]: { readonly [M in keyof TablePorts[K]]: readonly TableCall[] } } = {
  accounts: {
    importAccount: on('PutItem', 'Query', 'BatchWriteItem'),
    get: on('GetItem'),
    listByShard: [{ action: 'Query', index: 'byShard' }],
    saveState: on('PutItem'),
    listStakeholders: on('Query'),
    putStakeholder: on('PutItem'),
    suppressStakeholder: on('UpdateItem'),
    putSignals: on('BatchWriteItem'),
    listSignalsSince: on('Query'),
    // The CRM import: a conditional PutItem of a new account, or a conditional UpdateItem of its profile.
    upsertProfile: on('PutItem', 'UpdateItem'),
    upsertStakeholder: on('UpdateItem'),
    putBookQuality: on('PutItem'),
    getBookQuality: on('GetItem'),
  },
  memory: {
    append: on('BatchWriteItem'),
    listForAccount: on('Query'),
    getModel: on('GetItem'),
    addOutcomes: on('UpdateItem'),
  },
  approvals: {
    create: on('PutItem'),
    get: on('GetItem'),
    listIdsForRunShard: [{ action: 'Query', index: 'byRunShard' }],
    markPending: on('UpdateItem'),
    decide: on('UpdateItem'),
  },
  audit: {
    // The head of the stream (a Query), then a conditional PutItem at the next sequence number,
    // then the head item moved (a conditional PutItem; a Query of it when another writer moved it).
    append: on('Query', 'PutItem'),
    // The same, and the claim of each key (PutItem); a repeated key reads its claim and the event
    // the claim points to (GetItem).
    appendOnce: on('Query', 'PutItem', 'GetItem'),
    readStream: on('Query'),
    streamsOfRun: [{ action: 'Query', index: 'byRun' }],
    heads: on('BatchGetItem'),
  },
  runs: {
    // A repeated start reads the run it resumes.
    start: on('PutItem', 'GetItem'),
    getPage: on('GetItem'),
    putPage: on('PutItem'),
    // Conditional PutItems of each action and of each slot it waits in.
    deferSends: on('PutItem'),
    listSendSlots: on('Query'),
    listDeferredSends: on('Query'),
    // A failed guard reads the header: an effect applied before, or a run never started?
    addCounters: on('UpdateItem', 'GetItem'),
    get: on('GetItem'),
    addAgentSpend: on('UpdateItem'),
    getAgentSpend: on('GetItem'),
    // Conditional ADDs on the header and the month; a refused one reads the item (reserved before,
    // or no room?); a month without room releases the header's again.
    reserveSpend: on('UpdateItem', 'GetItem'),
    releaseSpend: on('UpdateItem'),
    reserveTouches: on('UpdateItem', 'GetItem'),
    releaseTouches: on('UpdateItem'),
    countRefused: on('UpdateItem'),
  },
};

/**
 * Powertools idempotency's calls on its table: the conditional PutItem of the in-progress record,
 * the GetItem of an existing one (dynalite returns no old item on a failed condition), the
 * UpdateItem of the result, and the DeleteItem of a record whose call failed (so a retry runs).
 */
export const IDEMPOTENCY_CALLS: readonly TableCall[] = on('PutItem', 'GetItem', 'UpdateItem', 'DeleteItem');

/** What a set of methods of one port sends: actions on the table, and actions per index. */
export function callsOf<K extends TablePort>(port: K, methods: readonly string[]): { table: DynamoAction[]; indexes: Map<string, DynamoAction[]> } {
  const calls = REPOSITORY_CALLS[port] as Readonly<Record<string, readonly TableCall[]>>;
  const table = new Set<DynamoAction>();
  const indexes = new Map<string, Set<DynamoAction>>();
  for (const method of methods) {
    const list = calls[method];
    if (list === undefined) throw new Error(`REPOSITORY_CALLS.${port} has no method "${method}"`);
    for (const call of list) {
      if (call.index === undefined) table.add(call.action);
      else indexes.set(call.index, (indexes.get(call.index) ?? new Set()).add(call.action));
    }
  }
  return { table: [...table].sort(), indexes: new Map([...indexes].map(([i, a]) => [i, [...a].sort()])) };
}
