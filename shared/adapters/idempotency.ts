/**
 * At-most-once side effects (tool calls) with Powertools idempotency on the idempotency table.
 *
 * Compatibility with dynalite, checked against @aws-lambda-powertools/idempotency 2.35:
 * - The in-progress put asks for ReturnValuesOnConditionCheckFailure=ALL_OLD, which dynalite
 *   ignores. Powertools then finds no `Item` on the ConditionalCheckFailedException and falls back
 *   to a strongly consistent GetItem of the record (IdempotencyHandler: "If the error doesn't
 *   include the existing record, we need to fetch it"), so the guarantee holds; it costs one
 *   extra read on a replay. The integration tests run this path against dynalite.
 * - There is no TTL locally, but Powertools' put condition already treats a record whose
 *   `expiration` has passed as absent, so expiry works without UpdateTimeToLive.
 * - Powertools matches the failed condition with `instanceof`; that holds because the project has
 *   one copy of @aws-sdk/client-dynamodb (if a second copy ever appears, a replay would surface as
 *   IdempotencyPersistenceLayerError instead of running fn twice: still at most once).
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { IdempotencyAlreadyInProgressError, IdempotencyConfig, IdempotencyPersistenceLayerError, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import type { Context } from 'aws-lambda';
import type { IdempotentRunner } from '../ports/index.ts';
import { SideEffectInProgressError } from '../domain/errors.ts';

/** How long a completed record replays its value: long enough to cover approval waits and re-driven runs. */
export const DEFAULT_IDEMPOTENCY_EXPIRY_SECONDS = 7 * 24 * 3600;

/**
 * How long an in-progress record blocks its key. 15 minutes is Lambda's maximum timeout, so no live
 * invocation can still be running fn when the lease ends; a process that crashed mid-call frees
 * the key after it instead of after the whole expiry.
 */
export const DEFAULT_IN_PROGRESS_LEASE_SECONDS = 15 * 60;

/** Runs `fn` at most once per key; a replay returns the stored value without calling `fn`. */
export type { IdempotentRunner };

/**
 * Powertools derives the in-progress lease from a Lambda context. Outside a handler (local
 * runtime, use cases) there is none, so a stand-in reports a fixed remaining time.
 */
function leaseContext(leaseMs: number): Context {
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: 'amk-idempotent-runner',
    functionVersion: '$LATEST',
    invokedFunctionArn: '',
    memoryLimitInMB: '0',
    awsRequestId: '',
    logGroupName: '',
    logStreamName: '',
    getRemainingTimeInMillis: () => leaseMs,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/**
 * Creates the runner once per process. Values are stored as JSON text (so the first call and a
 * replay return the same plain-JSON shape, and no value can trip the DynamoDB marshaller after the
 * side effect already happened). When `fn` throws, Powertools deletes the in-progress record, so
 * a retry runs again. A call while another with the same key is still in progress throws
 * Powertools' IdempotencyAlreadyInProgressError (retryable).
 */
export function createIdempotentRunner(opts: {
  client: DynamoDBClient;
  table: string;
  expiresAfterSeconds?: number;
  /** Namespace of keys; fixed (not the Lambda function name) so Act and ActApproved share records. @default 'amk' */
  keyPrefix?: string;
  /** @default DEFAULT_IN_PROGRESS_LEASE_SECONDS */
  inProgressLeaseSeconds?: number;
}): IdempotentRunner {
  const config = new IdempotencyConfig({
    eventKeyJmesPath: 'key',
    throwOnNoIdempotencyKey: true,
    expiresAfterSeconds: opts.expiresAfterSeconds ?? DEFAULT_IDEMPOTENCY_EXPIRY_SECONDS,
    hashFunction: 'sha256',
  });
  if (!config.isEnabled()) {
    // POWERTOOLS_IDEMPOTENCY_DISABLED would make makeIdempotent return fn unchanged: tool calls
    // would silently repeat on every retry. Refuse rather than drop the guarantee.
    throw new Error('POWERTOOLS_IDEMPOTENCY_DISABLED is set: side effects would no longer run at most once');
  }
  config.registerLambdaContext(leaseContext((opts.inProgressLeaseSeconds ?? DEFAULT_IN_PROGRESS_LEASE_SECONDS) * 1000));
  const persistenceStore = new DynamoDBPersistenceLayer({ tableName: opts.table, awsSdkV3Client: opts.client });

  // One wrapped function for the process; the side effect arrives per call as the second
  // argument, and only the first (`{ key }`) is hashed into the record id.
  const once = makeIdempotent(
    async (_request: { key: string }, run: () => Promise<string>): Promise<string> => run(),
    { persistenceStore, config, keyPrefix: opts.keyPrefix ?? 'amk' },
  );

  return async <T>(key: string, fn: () => Promise<T>): Promise<{ value: T; replayed: boolean }> => {
    if (key.length === 0) throw new Error('idempotency key must not be empty');
    let ran = false;
    let stored: unknown;
    try {
      stored = await once({ key }, async () => {
        ran = true;
        return JSON.stringify({ value: await fn() });
      });
    } catch (err) {
      // Powertools' name for "another invocation holds this key right now" stays in this adapter.
      if (err instanceof IdempotencyAlreadyInProgressError) throw new SideEffectInProgressError(`side effect ${key} is in progress elsewhere`, { cause: err });
      // Powertools wraps the store's own failure (AccessDenied, throttling): surface it under its
      // name, so that the workflow's Retry and Catch, and the person reading the log, see what it is.
      if (err instanceof IdempotencyPersistenceLayerError && err.cause instanceof Error) throw err.cause;
      throw err;
    }
    if (typeof stored !== 'string') throw new Error(`idempotency record for ${key} holds no stored value`);
    const { value } = JSON.parse(stored) as { value: T };
    return { value, replayed: !ran };
  };
}
