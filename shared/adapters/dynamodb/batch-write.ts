/**
 * Sends BatchWriteItem inputs built by requests.ts, retrying UnprocessedItems (DynamoDB returns
 * them under throttling instead of failing the call).
 */
import { BatchWriteCommand, type BatchWriteCommandInput, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** Some writes of a batch were still unprocessed after every retry; safe to retry (writes are idempotent puts/deletes). */
export class UnprocessedItemsError extends Error {
  override readonly name = 'UnprocessedItemsError';
  readonly code = 'UNPROCESSED_ITEMS';
}

const hasItems = (items: BatchWriteCommandInput['RequestItems']): items is NonNullable<BatchWriteCommandInput['RequestItems']> =>
  items !== undefined && Object.values(items).some((requests) => requests.length > 0);

/** Sends each batch in turn, resending its UnprocessedItems with jittered exponential backoff. */
export async function sendBatchWrites(
  doc: DynamoDBDocumentClient,
  batches: readonly BatchWriteCommandInput[],
  opts: { maxAttempts?: number; baseDelayMs?: number } = {},
): Promise<void> {
  const maxAttempts = opts.maxAttempts ?? 8;
  const baseDelayMs = opts.baseDelayMs ?? 25;
  for (const batch of batches) {
    let pending = batch.RequestItems;
    for (let attempt = 1; hasItems(pending); attempt++) {
      if (attempt > maxAttempts) {
        throw new UnprocessedItemsError(`batch write left items unprocessed after ${maxAttempts} attempts`);
      }
      if (attempt > 1) {
        // Full jitter: retries of many concurrent writers spread out instead of colliding again.
        await new Promise((resolve) => setTimeout(resolve, Math.random() * baseDelayMs * 2 ** (attempt - 1)));
      }
      const out = await doc.send(new BatchWriteCommand({ ...batch, RequestItems: pending }));
      pending = out.UnprocessedItems;
    }
  }
}
