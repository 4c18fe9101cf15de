/**
 * The data folder of the embedded default, opened read-only for the commands that only read
 * (`amk audit`, `amk audit verify`): dynalite on a private copy of its tables (the folder itself is
 * never written), no synth, no approval server, no market. Without data, a clear error.
 */
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScanCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { createDynamoClient } from '../../shared/adapters/dynamodb/client.ts';
import { DynamoAuditLog } from '../../shared/adapters/dynamodb/audit-log.ts';
import { VIRTUAL_SHARDS, localTableName } from '../../shared/adapters/dynamodb/tables.ts';
import type { AccountState, Stakeholder } from '../../shared/domain/model.ts';
import { DynamoAccountRepository } from '../../shared/adapters/dynamodb/account-repository.ts';
import { startDynalite } from '../dynalite.ts';
import type { ImportedBook } from '../simulator/book.ts';

/** The folder holds no data the commands could read. */
export class NoDataError extends Error {
  override readonly name = 'NoDataError';
}

/** What a read-only command gets: the audit log and the raw items of the audit table. */
export interface ReadOnlyData {
  readonly dataDir: string;
  /** The DynamoDB client on the private copy (read it; nothing is written back). */
  readonly client: DynamoDBClient;
  readonly audit: DynamoAuditLog;
  /** Every item of the audit table (events, heads, claims), as stored. */
  auditItems(): Promise<Array<Record<string, unknown>>>;
  close(): Promise<void>;
}

/** Every account of the tables and its people, shard by shard (the index the runs read; no Scan). */
export async function readImportedBook(accounts: DynamoAccountRepository): Promise<{ accounts: AccountState[]; stakeholders: Stakeholder[] }> {
  const states: AccountState[] = [];
  for (let v = 0; v < VIRTUAL_SHARDS; v += 1) {
    let cursor: string | undefined;
    do {
      const page = await accounts.listByShard(v, 100, cursor);
      states.push(...page.items);
      cursor = page.cursor;
    } while (cursor !== undefined);
  }
  const stakeholders = (await Promise.all(states.map((a) => accounts.listStakeholders(a.id)))).flat();
  return { accounts: states, stakeholders };
}

/**
 * The book `amk import` stored in `dataDir` (read from a private copy; the folder is not written).
 * Throws NoDataError naming the folder when it holds no imported accounts.
 */
export async function readImportedBookOf(dataDir: string): Promise<ImportedBook> {
  const data = await openReadOnly(dataDir, `no imported book in ${dataDir}: run \`amk import accounts FILE --data ${dataDir}\` and \`amk import contacts FILE --data ${dataDir}\` first`);
  try {
    const book = await readImportedBook(new DynamoAccountRepository(data.client, localTableName('accounts')));
    if (book.accounts.length === 0) throw new NoDataError(`no imported book in ${dataDir}: its tables hold no account (run \`amk import accounts FILE --data ${dataDir}\` first)`);
    return book;
  } finally {
    await data.close();
  }
}

/** Opens `dataDir` read-only; throws NoDataError naming the folder and how to get data. */
export async function openReadOnly(dataDir: string, missing?: string): Promise<ReadOnlyData> {
  const tables = join(dataDir, 'dynamodb');
  if (!existsSync(tables)) {
    throw new NoDataError(missing ?? `no data in ${dataDir}: run \`npm start\` or \`npm run amk -- run\` first, or point --data at the folder they wrote`);
  }
  const copy = mkdtempSync(join(tmpdir(), 'amk-read-'));
  cpSync(tables, join(copy, 'dynamodb'), { recursive: true });
  const dynamo = await startDynalite({ path: join(copy, 'dynamodb') });
  const client = createDynamoClient({ endpoint: dynamo.endpoint });
  const table = localTableName('audit');
  return {
    dataDir,
    client,
    audit: new DynamoAuditLog(client, table),
    auditItems: async () => {
      const items: Array<Record<string, unknown>> = [];
      let start: Record<string, never> | undefined;
      do {
        const out = await client.send(new ScanCommand({ TableName: table, ConsistentRead: true, ...(start ? { ExclusiveStartKey: start } : {}) }));
        for (const item of out.Items ?? []) items.push(unmarshall(item));
        start = out.LastEvaluatedKey as Record<string, never> | undefined;
      } while (start !== undefined);
      return items;
    },
    close: async () => {
      client.destroy();
      await dynamo.close();
      rmSync(copy, { recursive: true, force: true });
    },
  };
}
