/**
 * The one Powertools Logger of a Lambda process: decision log lines go through it, and every
 * middy pipeline attaches it with `injectLambdaContext`, so each line carries the function name,
 * request id and cold-start flag that CloudWatch queries correlate on.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type middy from '@middy/core';

/** Service name on every log line. */
export const LOG_SERVICE = 'autonomous-marketing';

let logger: Logger | undefined;

/** The process's logger (created on first use). */
export const lambdaLogger = (): Logger => (logger ??= new Logger({ serviceName: LOG_SERVICE }));

/** Middleware: the Lambda context on every line of the process's logger, reset per invocation. */
export const loggerContext = (): middy.MiddlewareObj => injectLambdaContext(lambdaLogger(), { resetKeys: true }) as middy.MiddlewareObj;
