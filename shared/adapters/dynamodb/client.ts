/**
 * The one DynamoDB client of a process: created by the composition root, injected everywhere.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { lastKey } from './requests.ts';

/** Placeholder credentials: dynalite and DynamoDB Local accept any, and no real secret is ever needed locally. */
const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;

/** Creates a DynamoDB client; with `endpoint` (dynalite, DynamoDB Local) it uses dummy credentials and us-east-1. */
export function createDynamoClient(opts: { endpoint?: string; region?: string } = {}): DynamoDBClient {
  if (opts.endpoint !== undefined) {
    // The region only has to be syntactically valid for a local endpoint; a fixed one keeps
    // local runs independent of the developer's AWS profile.
    return new DynamoDBClient({
      endpoint: opts.endpoint,
      region: opts.region ?? 'us-east-1',
      credentials: LOCAL_CREDENTIALS,
      maxAttempts: 3,
    });
  }
  return new DynamoDBClient({ ...(opts.region === undefined ? {} : { region: opts.region }), maxAttempts: 3 });
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
