/**
 * Creates the tables of TABLES where they are missing (local runtime and tests; in AWS the CDK
 * stack declares the same definitions). TTL is not enabled here: dynalite has no UpdateTimeToLive,
 * so expiry attributes are checked by the application on read.
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  type CreateTableCommandInput,
  type DynamoDBClient,
  type TableDescription,
} from '@aws-sdk/client-dynamodb';
import { TABLES, type TableDefinition, type TableKey } from './tables.ts';

/** Builds the CreateTable request of one definition: string keys, on-demand, GSIs as declared. */
export function createTableInput(def: TableDefinition, name: string): CreateTableCommandInput {
  const keyAttributes = [def.partitionKey, def.sortKey, ...def.indexes.flatMap((i) => [i.partitionKey, i.sortKey])];
  const attributeNames = [...new Set(keyAttributes.filter((a): a is string => a !== undefined))];
  return {
    TableName: name,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: attributeNames.map((AttributeName) => ({ AttributeName, AttributeType: 'S' })),
    KeySchema: [
      { AttributeName: def.partitionKey, KeyType: 'HASH' },
      ...(def.sortKey === undefined ? [] : [{ AttributeName: def.sortKey, KeyType: 'RANGE' as const }]),
    ],
    ...(def.indexes.length === 0
      ? {}
      : {
          GlobalSecondaryIndexes: def.indexes.map((index) => ({
            IndexName: index.name,
            KeySchema: [
              { AttributeName: index.partitionKey, KeyType: 'HASH' as const },
              ...(index.sortKey === undefined ? [] : [{ AttributeName: index.sortKey, KeyType: 'RANGE' as const }]),
            ],
            Projection: { ProjectionType: index.projection ?? 'ALL' },
          })),
        }),
  };
}

const errorName = (err: unknown): string | undefined => (err instanceof Error ? err.name : undefined);

async function describe(client: DynamoDBClient, name: string): Promise<TableDescription | undefined> {
  try {
    return (await client.send(new DescribeTableCommand({ TableName: name }))).Table;
  } catch (err) {
    // Matched on name: dynalite sometimes sends errors whose message is "UnknownError".
    if (errorName(err) === 'ResourceNotFoundException') return undefined;
    throw err;
  }
}

const isActive = (table: TableDescription | undefined): boolean =>
  table?.TableStatus === 'ACTIVE' && (table.GlobalSecondaryIndexes ?? []).every((i) => i.IndexStatus === 'ACTIVE');

/** Creates every table of TABLES that does not exist yet and waits until all are ACTIVE. */
export async function ensureTables(
  client: DynamoDBClient,
  names: Record<TableKey, string>,
  opts: { timeoutMs?: number; pollMs?: number } = {},
): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const pollMs = opts.pollMs ?? 50;
  await Promise.all(
    Object.values(TABLES).map(async (def) => {
      const name = names[def.key];
      let table = await describe(client, name);
      if (table === undefined) {
        try {
          await client.send(new CreateTableCommand(createTableInput(def, name)));
        } catch (err) {
          // Another process created it between our describe and create: that is the goal anyway.
          if (errorName(err) !== 'ResourceInUseException') throw err;
        }
      }
      const deadline = Date.now() + timeoutMs;
      table = await describe(client, name);
      while (!isActive(table)) {
        if (Date.now() > deadline) throw new Error(`table ${name} is not ACTIVE after ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, pollMs));
        table = await describe(client, name);
      }
    }),
  );
}
