/**
 * AWS's names for "busy or briefly down, try again" (throttling, 5xx) stay here: a call that still
 * fails so after the SDK's own retries surfaces as ServiceUnavailableError, which every task of the
 * workflow retries with backoff (and a step past those retries is caught and alerted like any
 * failure). The client's own errors (a failed condition, a missing table, access denied) keep their names.
 */
import { ServiceUnavailableError } from '../domain/errors.ts';

const TRANSIENT_NAMES: ReadonlySet<string> = new Set([
  'ThrottlingException',
  'Throttling',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'InternalServerError',
  'InternalFailure',
  'InternalServiceError',
]);

type Stack = {
  add(mw: (next: (args: unknown) => Promise<unknown>) => (args: unknown) => Promise<unknown>, opts: Record<string, unknown>): void;
};

/** Whether an SDK error is one AWS asks to retry later. */
export function isTransient(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return TRANSIENT_NAMES.has(err.name) || (status !== undefined && status >= 500);
}

/** Makes the client surface transient failures (after its own retries) as ServiceUnavailableError. */
export function translateTransientErrors<C extends { middlewareStack: unknown }>(client: C, service: string): C {
  (client.middlewareStack as Stack).add(
    (next) => async (args) => {
      try {
        return await next(args);
      } catch (err) {
        if (!isTransient(err)) throw err;
        throw new ServiceUnavailableError(`${service}: ${(err as Error).name}: ${(err as Error).message}`, { cause: err });
      }
    },
    { step: 'initialize', priority: 'high', name: 'amkTransientErrors', override: true },
  );
  return client;
}
