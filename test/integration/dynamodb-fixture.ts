/**
 * A real DynamoDB API for adapter tests: dynalite in memory on a random 127.0.0.1 port, with the
 * tables of tables.ts created under a prefix unique to the test file.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { startDynalite } from '../../local/dynalite.ts';
import { createDynamoClient } from '../../shared/adapters/dynamodb/client.ts';
import { ensureTables } from '../../shared/adapters/dynamodb/create-tables.ts';
import { localTableName, TABLES, type TableKey } from '../../shared/adapters/dynamodb/tables.ts';

/** A started dynalite with tables, and how to stop it. */
export interface DynamoFixture {
  readonly client: DynamoDBClient;
  readonly tables: Record<TableKey, string>;
  stop(): Promise<void>;
}

/** Starts dynalite, creates every table and returns an injected client. */
export async function startDynamoFixture(prefix: string): Promise<DynamoFixture> {
  const dynalite = await startDynalite({ port: 0 });
  const client = createDynamoClient({ endpoint: dynalite.endpoint });
  const tables = Object.fromEntries(
    (Object.keys(TABLES) as TableKey[]).map((key) => [key, localTableName(key, prefix)]),
  ) as Record<TableKey, string>;
  await ensureTables(client, tables);
  return {
    client,
    tables,
    stop: async () => {
      client.destroy();
      await dynalite.close();
    },
  };
}

/** Runs tasks with at most `limit` in flight (dynalite is one process; thousands at once only queue). */
export async function inParallel<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await task(item);
    }
  });
  await Promise.all(workers);
}

/**
 * The repository with one method failing once (as a Lambda that dies or times out mid-step), every
 * other call passed through. `failed()` tells whether it has failed yet.
 */
export function failingOnce<T extends object>(target: T, method: keyof T & string, message: string): T & { failed(): boolean } {
  let failed = false;
  return new Proxy(target, {
    get(t, prop, receiver) {
      if (prop === 'failed') return () => failed;
      const value = Reflect.get(t, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      if (prop !== method) return value.bind(t);
      return async (...args: unknown[]) => {
        if (!failed) {
          failed = true;
          throw Object.assign(new Error(`injected: ${message}`), { name: 'InjectedFault' });
        }
        return (value as (...a: unknown[]) => Promise<unknown>).apply(t, args);
      };
    },
  }) as T & { failed(): boolean };
}
