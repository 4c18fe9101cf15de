/**
 * Lambda (Function URL, auth NONE, HMAC-verified): signed batches of pipeline signals. Parses the
 * Function URL event, calls `handleSignalsRequest`, returns its JSON. See
 * shared/app/signals-http.ts for the signature, freshness and replay rules.
 */
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import * as z from 'zod';
import { SIGNALS_RESPONSE_HEADERS, handleSignalsRequest, type SignalsEndpointDeps, type SignalsHttpRequest } from '../../shared/adapters/http/signals-endpoint.ts';
import { lambdaStepDeps } from '../../shared/adapters/lambda/compose.ts';
import type { StepDeps } from '../../shared/app/steps.ts';

/** The parts of a Function URL event (payload 2.0) the signals endpoint reads. */
export const SignalsUrlEvent = z.object({
  rawPath: z.string(),
  headers: z.record(z.string(), z.string().optional()).default({}),
  body: z.string().optional(),
  isBase64Encoded: z.boolean().default(false),
  requestContext: z.object({ http: z.object({ method: z.string().min(1), sourceIp: z.string().optional() }) }),
});
export type SignalsUrlEvent = z.infer<typeof SignalsUrlEvent>;

/** Namespace of the project's CloudWatch metrics. */
const METRICS_NAMESPACE = 'AutonomousMarketing';

/** An embedded-metric-format line: one refused signal request, by reason. */
export function refusedSignalMetric(at: string, reason: string): Record<string, unknown> {
  return {
    _aws: {
      Timestamp: Date.parse(at),
      CloudWatchMetrics: [{ Namespace: METRICS_NAMESPACE, Dimensions: [['Reason']], Metrics: [{ Name: 'SignalRequestRefused', Unit: 'Count' }] }],
    },
    Reason: reason,
    SignalRequestRefused: 1,
  };
}

/** The endpoint's ports from the step's ports. */
export function signalsDepsOf(deps: StepDeps<'signals-http'>, log: (entry: Record<string, unknown>) => void = (entry) => console.error(JSON.stringify(entry))): SignalsEndpointDeps {
  return {
    ...deps,
    log,
    refused: async ({ at, reason }) => {
      await deps.runs.countRefused(at, reason);
      // And a CloudWatch metric from the log line (embedded metric format: no API call, no extra cost).
      console.log(JSON.stringify(refusedSignalMetric(at, reason)));
    },
  };
}

/** Converts a parsed Function URL event into the endpoint's request (the body's exact bytes). */
export function toSignalsRequest(event: SignalsUrlEvent): SignalsHttpRequest {
  const body = event.body === undefined ? Buffer.alloc(0) : Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8');
  return { method: event.requestContext.http.method, path: event.rawPath, headers: event.headers, body, sourceIp: event.requestContext.http.sourceIp };
}

const json = (statusCode: number, body: unknown): APIGatewayProxyStructuredResultV2 => ({ statusCode, headers: { ...SIGNALS_RESPONSE_HEADERS }, body: JSON.stringify(body), isBase64Encoded: false });

/**
 * Middleware: a failure outside the use case (the ports could not be built at cold start) still
 * answers with a JSON 500, never a raw Lambda error.
 */
export function jsonErrors(log: (entry: Record<string, unknown>) => void): middy.MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Error, Context> {
  return {
    onError: (request) => {
      log({ level: 'ERROR', message: 'signals request failed', error: request.error?.name, cause: request.error?.message });
      request.response = json(500, { error: 'InternalError', message: 'the signals endpoint is not available: send the batch again later, signed anew' });
    },
  };
}

/** Builds the middy handler over a provider of the step's ports (built once, on first use). */
export function createHandler(
  deps: () => Promise<StepDeps<'signals-http'>>,
): middy.MiddyfiedHandler<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Error, Context> {
  const log = (entry: Record<string, unknown>) => console.error(JSON.stringify(entry));
  return middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Error, Context>()
    .use(jsonErrors(log))
    .handler(async (event) => {
      const parsed = SignalsUrlEvent.safeParse(event);
      if (!parsed.success) return json(400, { error: 'BadRequestError', message: 'this request could not be read' });
      const response = await handleSignalsRequest(signalsDepsOf(await deps(), log), toSignalsRequest(parsed.data));
      return { statusCode: response.status, headers: response.headers, body: response.body, isBase64Encoded: false };
    });
}

/** The Lambda entry point: ports from the function's environment, built once per process. */
export const handler = createHandler(() => lambdaStepDeps('signals-http'));
