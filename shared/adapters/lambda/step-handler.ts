/**
 * The one middy pipeline every workflow step shares: validate the input with the step's zod
 * schema, call one use case, return its output. Errors keep their names so Step Functions `Catch`
 * and `Retry` can match them.
 */
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import type * as z from 'zod';
import { InvalidInputError } from '../../domain/errors.ts';
import type { StepDeps, StepName } from '../../app/steps.ts';
import { lambdaStepDeps } from './compose.ts';
import { loggerContext } from './logger.ts';

/** Middleware: parses `event` with a zod schema; a mismatch is an InvalidInputError naming the fields. */
export function parseInput<S extends z.ZodType>(schema: S): middy.MiddlewareObj<unknown, unknown, Error, Context> {
  return {
    before: (request) => {
      const parsed = schema.safeParse(request.event);
      if (!parsed.success) {
        const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(input)'}: ${i.message}`).join('; ');
        throw new InvalidInputError(`Invalid step input: ${problems}`, { cause: parsed.error });
      }
      request.event = parsed.data;
    },
  };
}

/** Middleware: logs a failed step once, with its error name, and lets the error propagate unchanged. */
export function logErrors(log: (entry: Record<string, unknown>) => void): middy.MiddlewareObj<unknown, unknown, Error, Context> {
  return {
    onError: (request) => {
      const err = request.error;
      log({ level: 'ERROR', message: 'step failed', function: request.context?.functionName, error: err?.name, cause: err?.message });
    },
  };
}

/** Options of a step handler. */
export interface StepHandlerOptions {
  /** Where failures are logged (Powertools Logger in AWS; silent or a file locally). */
  readonly log?: (entry: Record<string, unknown>) => void;
}

/** Builds a step's Lambda handler: parse with `schema`, then run `useCase`. */
export function stepHandler<S extends z.ZodType, R>(
  schema: S,
  useCase: (input: z.infer<S>) => Promise<R>,
  options: StepHandlerOptions = {},
): middy.MiddyfiedHandler<unknown, R, Error, Context> {
  return middy<unknown, R, Error, Context>()
    .use(loggerContext())
    .use(logErrors(options.log ?? ((entry) => console.error(JSON.stringify(entry)))))
    .use(parseInput(schema))
    .handler(async (event) => useCase(event as z.infer<S>));
}

/** A workflow step's module: a factory over injected ports, and the Lambda entry point. */
export interface StepModule<N extends StepName, S extends z.ZodType, R> {
  /** The step's name: its folder under functions/ and its entry in STEP_PORTS. */
  readonly name: N;
  readonly createHandler: (deps: () => Promise<StepDeps<N>>) => middy.MiddyfiedHandler<unknown, R, Error, Context>;
  readonly handler: middy.MiddyfiedHandler<unknown, R, Error, Context>;
  readonly schema: S;
}

/**
 * Defines a workflow step from its name, input schema and use case. The use case receives exactly
 * the ports STEP_PORTS declares for `name` (a use case typed for more does not compile). `handler`
 * builds them once per process from the function's environment (lazily, on first call); the local
 * runtime and tests call `createHandler` with their own.
 */
export function defineStep<N extends StepName, S extends z.ZodType, R>(
  name: N,
  schema: S,
  useCase: (deps: StepDeps<N>, input: z.infer<S>) => Promise<R>,
  options: StepHandlerOptions = {},
): StepModule<N, S, R> {
  const createHandler = (deps: () => Promise<StepDeps<N>>) => stepHandler(schema, async (input) => useCase(await deps(), input), options);
  return { name, createHandler, handler: createHandler(() => lambdaStepDeps(name)), schema };
}
