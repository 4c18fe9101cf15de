/**
 * The local stand-in for a Lambda Function URL (the approval page's, and the signals endpoint's):
 * a node:http server on 127.0.0.1 that turns each request into the same APIGatewayProxyEventV2 a
 * Function URL would send, calls the unmodified Lambda handler, and writes its result back.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context } from 'aws-lambda';

/** Options of the local approval server. */
export interface ApprovalServerOptions {
  /**
   * The Lambda handler to call, e.g. functions/approval-http's `createHandler(deps)`. It gets a
   * local Lambda context too, so a middy handler fits as is (a one-argument function does too).
   */
  readonly handler: (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyResultV2>;
  /** TCP port; 0 (the default) picks a free one. */
  readonly port?: number;
  /** Only loopback: approval links must never be reachable from the network by accident. */
  readonly host?: '127.0.0.1';
  /** Largest request body accepted. @default MAX_REQUEST_BODY_BYTES (the approval form's) */
  readonly maxBodyBytes?: number;
  /** The function's name in each invocation's context. @default 'approval-http' */
  readonly functionName?: string;
}

/** A running local approval server. */
export interface ApprovalServer {
  /** `http://127.0.0.1:<port>`, the base URL to sign links with. */
  readonly url: string;
  close(): Promise<void>;
}

/** Largest request body accepted, as a Function URL in front of the approval form would need. */
export const MAX_REQUEST_BODY_BYTES = 16 * 1024;

class BodyTooLargeError extends Error {
  override readonly name = 'BodyTooLargeError';
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? '0');
    if (Number.isFinite(declared) && declared > limit) {
      reject(new BodyTooLargeError(`declared ${declared} bytes`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        reject(new BodyTooLargeError(`more than ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Converts a node request into the event a Lambda Function URL sends (payload format 2.0). */
export function toFunctionUrlEvent(req: IncomingMessage, body: Buffer, host: string): APIGatewayProxyEventV2 {
  const url = new URL(req.url ?? '/', `http://${host}`);
  const method = (req.method ?? 'GET').toUpperCase();
  const headers: Record<string, string> = {};
  let cookies: string[] | undefined;
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    const joined = Array.isArray(value) ? value.join(',') : value;
    // Function URLs move cookies out of the headers into their own array.
    if (name === 'cookie') cookies = joined.split(';').map((c) => c.trim()).filter((c) => c !== '');
    else headers[name.toLowerCase()] = joined;
  }
  // Like a Function URL, the server sets the forwarding headers itself (whatever the client sent):
  // this one is plain http on 127.0.0.1.
  headers['x-forwarded-proto'] = 'http';
  const query: Record<string, string> = {};
  for (const key of new Set(url.searchParams.keys())) query[key] = url.searchParams.getAll(key).join(',');
  const now = new Date();
  const rawQueryString = url.search.startsWith('?') ? url.search.slice(1) : url.search;
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: url.pathname,
    rawQueryString,
    ...(cookies !== undefined ? { cookies } : {}),
    headers,
    ...(rawQueryString !== '' ? { queryStringParameters: query } : {}),
    ...(body.length > 0 ? { body: body.toString('utf8') } : {}),
    isBase64Encoded: false,
    requestContext: {
      accountId: 'anonymous',
      apiId: 'local',
      domainName: url.host,
      domainPrefix: 'local',
      http: {
        method,
        path: url.pathname,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey: '$default',
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
  };
}

/** Lambda's Function URL timeout ceiling; the local context reports time left against it. */
const LOCAL_TIMEOUT_MS = 30_000;

/** A Lambda context for one local invocation (what middy and Powertools read from it). */
export function localContext(requestId: string, functionName = 'approval-http'): Context {
  const deadline = Date.now() + LOCAL_TIMEOUT_MS;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

function writeResult(res: ServerResponse, result: APIGatewayProxyResultV2): void {
  if (typeof result === 'string') {
    // Function URLs treat a bare string result as a 200 JSON body.
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(result);
    return;
  }
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(result.headers ?? {})) headers[name] = String(value);
  if (result.cookies !== undefined && result.cookies.length > 0) headers['set-cookie'] = result.cookies;
  res.writeHead(result.statusCode ?? 200, headers);
  const body = result.body ?? '';
  res.end(result.isBase64Encoded === true ? Buffer.from(body, 'base64') : body);
}

function plain(res: ServerResponse, status: number, message: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...extra });
  res.end(message);
}

/** Starts the approval server on 127.0.0.1 and resolves once it listens. */
export async function startApprovalServer(opts: ApprovalServerOptions): Promise<ApprovalServer> {
  const host = opts.host ?? '127.0.0.1';
  const server = createServer((req, res) => {
    void (async () => {
      let body: Buffer;
      try {
        body = await readBody(req, opts.maxBodyBytes ?? MAX_REQUEST_BODY_BYTES);
      } catch (err) {
        if (err instanceof BodyTooLargeError) {
          // Stop reading an oversized upload and close the connection after answering.
          plain(res, 413, 'Request body too large', { connection: 'close' });
          req.resume();
          return;
        }
        plain(res, 400, 'Bad request');
        return;
      }
      try {
        const event = toFunctionUrlEvent(req, body, host);
        writeResult(res, await opts.handler(event, localContext(event.requestContext.requestId, opts.functionName)));
      } catch {
        // A Function URL answers 502 when the function itself fails.
        if (!res.headersSent) plain(res, 502, 'Bad gateway');
        else res.end();
      }
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err === undefined ? resolve() : reject(err)));
        // Keep-alive connections would otherwise hold close() open until they time out.
        server.closeAllConnections();
      }),
  };
}
