/**
 * Lambda (Function URL): approval links. Parses the Function URL event, calls
 * `handleApprovalRequest`, returns its page. GET/HEAD only render; a CSRF-protected POST decides.
 */
import middy from '@middy/core';
import { loggerContext } from '../../shared/adapters/lambda/logger.ts';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import * as z from 'zod';
import type { ApprovalDeps } from '../../shared/app/approval-decision.ts';
import {
  SECURITY_HEADERS,
  handleApprovalRequest,
  type ApprovalHttpRequest,
  type ApprovalHttpResponse,
} from '../../shared/adapters/http/approval-endpoint.ts';
import { renderErrorPage } from '../../shared/app/approval-views.ts';
import { approvalHttpDeps } from './deps.ts';

/** The parts of a Function URL event (payload 2.0) the approval endpoint reads. */
export const FunctionUrlEvent = z.object({
  rawPath: z.string(),
  rawQueryString: z.string().default(''),
  queryStringParameters: z.record(z.string(), z.string().optional()).optional(),
  headers: z.record(z.string(), z.string().optional()).default({}),
  body: z.string().optional(),
  isBase64Encoded: z.boolean().default(false),
  requestContext: z.object({
    /** The Function URL's own host: the origin of the page when no base URL is configured. */
    domainName: z.string().optional(),
    http: z.object({ method: z.string().min(1), sourceIp: z.string().optional() }),
  }),
});
export type FunctionUrlEvent = z.infer<typeof FunctionUrlEvent>;

/** Converts a parsed Function URL event into the endpoint's request. */
export function toApprovalRequest(event: FunctionUrlEvent): ApprovalHttpRequest {
  const query: Record<string, string | undefined> = {};
  if (event.rawQueryString !== '') {
    // The raw string keeps repeated keys apart (the parsed map joins them with commas); first wins.
    const params = new URLSearchParams(event.rawQueryString);
    for (const key of new Set(params.keys())) query[key] = params.get(key) ?? undefined;
  } else {
    Object.assign(query, event.queryStringParameters ?? {});
  }
  const body =
    event.body === undefined ? undefined : event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  return {
    method: event.requestContext.http.method,
    path: event.rawPath,
    query,
    headers: event.headers,
    body,
    sourceIp: event.requestContext.http.sourceIp,
  };
}

/** Converts the endpoint's response into a Function URL result. */
export function toFunctionUrlResult(response: ApprovalHttpResponse): APIGatewayProxyStructuredResultV2 {
  return { statusCode: response.status, headers: response.headers, body: response.body, isBase64Encoded: false };
}

function headerOf(headers: Readonly<Record<string, string | undefined>>, name: string): string | undefined {
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === name) return value;
  return undefined;
}

function page(status: number, body: string): APIGatewayProxyStructuredResultV2 {
  return { statusCode: status, headers: { ...SECURITY_HEADERS }, body, isBase64Encoded: false };
}

/**
 * Middleware: any failure outside the use case (e.g. the ports could not be built at cold start)
 * still answers with a generic page and the security headers, never a raw Lambda error.
 */
export function htmlErrorPage(
  log: (entry: Record<string, unknown>) => void,
): middy.MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Error, Context> {
  return {
    onError: (request) => {
      log({ level: 'ERROR', message: 'approval request failed', error: request.error?.name, cause: request.error?.message });
      request.response = page(500, renderErrorPage());
    },
  };
}

/** Builds the middy handler over injected ports (or a lazy provider of them, for the local runtime). */
export function createHandler(
  deps: ApprovalDeps | (() => Promise<ApprovalDeps>),
): middy.MiddyfiedHandler<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Error, Context> {
  const resolve = typeof deps === 'function' ? deps : () => Promise.resolve(deps);
  return middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Error, Context>()
    .use(loggerContext())
    .use(htmlErrorPage((entry) => console.error(JSON.stringify(entry))))
    .handler(async (event) => {
      const parsed = FunctionUrlEvent.safeParse(event);
      if (!parsed.success) return page(400, renderErrorPage('Bad request', 'This request could not be read.'));
      const deps = await resolve();
      // The Function URL cannot be given its own URL (a CloudFormation cycle): it is its request's
      // host, on the scheme the URL was reached by (always https in AWS; the local server says http).
      const domain = parsed.data.requestContext.domainName;
      const scheme = headerOf(parsed.data.headers, 'x-forwarded-proto') === 'http' ? 'http' : 'https';
      const withOrigin = deps.baseUrl === '' && domain ? { ...deps, baseUrl: `${scheme}://${domain}` } : deps;
      return toFunctionUrlResult(await handleApprovalRequest(withOrigin, toApprovalRequest(parsed.data)));
    });
}

let cachedDeps: Promise<ApprovalDeps> | undefined;

/** Ports from the environment, built once per process on first use (a failed build is retried). */
function environmentDeps(): Promise<ApprovalDeps> {
  cachedDeps ??= approvalHttpDeps().catch((err: unknown) => {
    cachedDeps = undefined;
    throw err;
  });
  return cachedDeps;
}

/** The Lambda entry point. */
export const handler = createHandler(environmentDeps);
