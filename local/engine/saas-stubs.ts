/**
 * Local stand-ins for the SaaS APIs the HTTP connectors call (shared/adapters/connectors), on
 * 127.0.0.1 at a random port: HubSpot's CRM v3 (contacts and tasks search, task create with
 * associations), Salesforce's REST API (SOQL query, Task upsert by external id) and a webhook
 * receiver. Each follows the documented request and response shapes as far as the connectors
 * use them, records every request it received (with what it answered) for test assertions, and
 * can be told to answer the next requests with a given status, or not at all (retry and timeout
 * tests). None of them is the real service: what they check is listed per stand-in.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { IDEMPOTENCY_KEY_HEADER, verifyWebhookSignature } from '../../shared/adapters/connectors/webhook.ts';

/** One request a stand-in received, and what it answered (status undefined: left unanswered). */
export interface RecordedRequest {
  readonly method: string;
  /** Path and query, as sent. */
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  status?: number;
  response?: unknown;
}

/** What every stand-in exposes. */
export interface SaasStub {
  /** Base URL, `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** Every request received, oldest first. */
  readonly requests: RecordedRequest[];
  /** Answers the next `count` requests with `status` (and `body`, JSON) before any check. */
  failNext(count: number, status: number, body?: unknown): void;
  /** Leaves the next `count` requests unanswered (until close), so the caller times out. */
  hangNext(count: number): void;
  close(): Promise<void>;
}

interface Reply {
  readonly status: number;
  readonly body?: unknown;
}

type Handler = (req: RecordedRequest) => Reply;

const MAX_BODY_BYTES = 1024 * 1024;

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_BODY_BYTES) throw new RangeError('body too large');
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function startStub(handle: Handler): Promise<SaasStub> {
  const requests: RecordedRequest[] = [];
  const faults: Array<{ kind: 'status'; status: number; body?: unknown } | { kind: 'hang' }> = [];
  const hanging: ServerResponse[] = [];
  const server: Server = createServer((req, res) => {
    void (async () => {
      let body = '';
      try {
        body = await readBody(req);
      } catch {
        res.writeHead(413).end();
        return;
      }
      const recorded: RecordedRequest = { method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers, body };
      requests.push(recorded);
      const fault = faults.shift();
      if (fault?.kind === 'hang') {
        hanging.push(res);
        return;
      }
      const reply: Reply = fault?.kind === 'status' ? { status: fault.status, body: fault.body } : handle(recorded);
      recorded.status = reply.status;
      recorded.response = reply.body;
      if (reply.body === undefined) {
        res.writeHead(reply.status).end();
        return;
      }
      res.writeHead(reply.status, { 'Content-Type': 'application/json;charset=UTF-8' }).end(JSON.stringify(reply.body));
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    failNext(count, status, body) {
      for (let i = 0; i < count; i += 1) faults.push({ kind: 'status', status, ...(body !== undefined ? { body } : {}) });
    },
    hangNext(count) {
      for (let i = 0; i < count; i += 1) faults.push({ kind: 'hang' });
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        for (const res of hanging) res.destroy();
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
};

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const bearer = (headers: IncomingHttpHeaders): string | undefined => {
  const value = headers.authorization;
  return value?.startsWith('Bearer ') ? value.slice('Bearer '.length) : undefined;
};

// --- HubSpot ------------------------------------------------------------------------------------

/** A contact the HubSpot stand-in knows. */
export interface HubSpotStubContact {
  readonly email: string;
  readonly firstname?: string;
  readonly lastname?: string;
}

/** A task the HubSpot stand-in holds. */
export interface HubSpotStubTask {
  readonly id: string;
  readonly properties: Record<string, string>;
  /** Contact ids it is associated with (type 204). */
  readonly contactIds: string[];
  readonly createdAt: string;
}

/** The HubSpot stand-in: its tasks and contacts besides what every stand-in exposes. */
export interface HubSpotStub extends SaasStub {
  readonly tasks: Map<string, HubSpotStubTask>;
  /** Contact id by (lower-cased) email. */
  readonly contacts: Map<string, { id: string; email: string; properties: Record<string, string> }>;
}

const TASK_STATUS = ['NOT_STARTED', 'IN_PROGRESS', 'WAITING', 'COMPLETED', 'DEFERRED'];
const TASK_PRIORITY = ['NONE', 'LOW', 'MEDIUM', 'HIGH'];
const TASK_TYPE = ['EMAIL', 'CALL', 'TODO'];
const TASK_TO_CONTACT = 204;

/** HubSpot's error body (https://developers.hubspot.com/docs/faq/api-error-responses). */
const hubSpotError = (status: number, category: string, message: string, extra: Record<string, unknown> = {}): Reply => ({
  status,
  body: { status: 'error', message, correlationId: randomUUID(), category, ...extra },
});

/** CONTAINS_TOKEN as the stand-in reads it: a whitespace-separated token, `*` a wildcard, case-insensitive. */
function containsToken(value: string, token: string): boolean {
  const pattern = new RegExp(`^${token.toLowerCase().split('*').map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return value.toLowerCase().split(/[\s[\]()]+/).some((t) => pattern.test(t));
}

function matches(properties: Readonly<Record<string, string>>, filter: Record<string, unknown>): boolean {
  const name = typeof filter.propertyName === 'string' ? filter.propertyName : '';
  const value = typeof filter.value === 'string' ? filter.value : '';
  const actual = properties[name];
  switch (filter.operator) {
    case 'EQ':
      return actual !== undefined && actual.toLowerCase() === value.toLowerCase();
    case 'CONTAINS_TOKEN':
      return actual !== undefined && containsToken(actual, value);
    case 'HAS_PROPERTY':
      return actual !== undefined && actual !== '';
    default:
      return false;
  }
}

/**
 * Filters a search request per https://developers.hubspot.com/docs/api/crm/search: filters in a
 * group AND, groups OR, at most 5 groups; returns the answer body, or a 400 reply.
 */
function search(records: ReadonlyArray<{ id: string; properties: Record<string, string>; createdAt: string }>, body: unknown): Reply {
  if (!isRecord(body)) return hubSpotError(400, 'VALIDATION_ERROR', 'Invalid input JSON on line 1, column 1: Cannot build PublicObjectSearchRequest');
  const groups = Array.isArray(body.filterGroups) ? (body.filterGroups as unknown[]) : [];
  if (groups.length > 5) return hubSpotError(400, 'VALIDATION_ERROR', 'Too many filter groups');
  const filtersOf = (g: unknown): Array<Record<string, unknown>> => (isRecord(g) && Array.isArray(g.filters) ? g.filters.filter(isRecord) : []);
  const wanted = Array.isArray(body.properties) ? body.properties.filter((p): p is string => typeof p === 'string') : [];
  const limit = typeof body.limit === 'number' ? Math.min(200, Math.max(1, body.limit)) : 10;
  const hits = records.filter((r) => groups.length === 0 || groups.some((g) => filtersOf(g).every((f) => matches(r.properties, f))));
  const results = hits.slice(0, limit).map((r) => ({
    id: r.id,
    properties: Object.fromEntries([...wanted, 'hs_object_id', 'hs_createdate', 'hs_lastmodifieddate'].map((p) => [p, r.properties[p] ?? null])),
    createdAt: r.createdAt,
    updatedAt: r.createdAt,
    archived: false,
  }));
  return { status: 200, body: { total: hits.length, results } };
}

/**
 * Starts the HubSpot stand-in. Checks: `Authorization: Bearer <token>` (401
 * INVALID_AUTHENTICATION otherwise), the search body, and on create that hs_timestamp is set
 * (400 "Some required properties were not set", the body HubSpot answers; see
 * https://github.com/PipedreamHQ/pipedream/issues/12366), that status, priority and type are
 * among HubSpot's values, and that associations name known contacts with type 204
 * HUBSPOT_DEFINED (https://developers.hubspot.com/docs/api/crm/tasks). Search finds what was
 * created at once (HubSpot's index lags a few seconds).
 */
export async function startHubSpotStub(options: { readonly token: string; readonly contacts?: readonly HubSpotStubContact[] }): Promise<HubSpotStub> {
  const tasks = new Map<string, HubSpotStubTask>();
  const contacts = new Map<string, { id: string; email: string; properties: Record<string, string> }>();
  let nextId = 1000;
  const now = (): string => new Date().toISOString();
  for (const c of options.contacts ?? []) {
    const id = String((nextId += 1));
    const properties: Record<string, string> = { email: c.email, hs_object_id: id, ...(c.firstname ? { firstname: c.firstname } : {}), ...(c.lastname ? { lastname: c.lastname } : {}) };
    contacts.set(c.email.toLowerCase(), { id, email: c.email, properties });
  }

  const createTask = (body: unknown): Reply => {
    if (!isRecord(body) || !isRecord(body.properties)) return hubSpotError(400, 'VALIDATION_ERROR', 'Invalid input JSON: properties is required');
    const properties: Record<string, string> = {};
    for (const [k, v] of Object.entries(body.properties)) if (typeof v === 'string' || typeof v === 'number') properties[k] = String(v);
    if ((properties.hs_timestamp ?? '') === '') {
      return hubSpotError(400, 'VALIDATION_ERROR', 'Error creating TASK. Some required properties were not set.', { context: { properties: ['hs_timestamp'] } });
    }
    const invalid = [
      ['hs_task_status', TASK_STATUS],
      ['hs_task_priority', TASK_PRIORITY],
      ['hs_task_type', TASK_TYPE],
    ].flatMap(([name, allowed]) => {
      const v = properties[name as string];
      return v !== undefined && !(allowed as string[]).includes(v) ? [{ isValid: false, message: `${v} was not one of the allowed options`, error: 'INVALID_OPTION', name }] : [];
    });
    if (Number.isNaN(Date.parse(properties.hs_timestamp ?? '')) && !/^[0-9]+$/.test(properties.hs_timestamp ?? '')) {
      invalid.push({ isValid: false, message: `${properties.hs_timestamp} is not a valid timestamp`, error: 'INVALID_DATETIME', name: 'hs_timestamp' });
    }
    if (invalid.length > 0) return hubSpotError(400, 'VALIDATION_ERROR', `Property values were not valid: ${JSON.stringify(invalid)}`);
    const contactIds: string[] = [];
    const known = new Set([...contacts.values()].map((c) => c.id));
    for (const a of Array.isArray(body.associations) ? body.associations : []) {
      const to = isRecord(a) && isRecord(a.to) ? a.to.id : undefined;
      const types = isRecord(a) && Array.isArray(a.types) ? a.types.filter(isRecord) : [];
      const typed = types.some((t) => t.associationCategory === 'HUBSPOT_DEFINED' && t.associationTypeId === TASK_TO_CONTACT);
      if (typeof to !== 'string' || !known.has(to) || !typed) return hubSpotError(400, 'VALIDATION_ERROR', `Invalid association: ${JSON.stringify(a)}`);
      contactIds.push(to);
    }
    const id = String((nextId += 1));
    const at = now();
    const task: HubSpotStubTask = { id, properties: { ...properties, hs_object_id: id, hs_createdate: at, hs_lastmodifieddate: at }, contactIds, createdAt: at };
    tasks.set(id, task);
    return { status: 201, body: { id, properties: task.properties, createdAt: at, updatedAt: at, archived: false } };
  };

  const stub = await startStub((req) => {
    if (bearer(req.headers) !== options.token) {
      return hubSpotError(
        401,
        'INVALID_AUTHENTICATION',
        'Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview',
      );
    }
    const path = req.path.split('?')[0];
    const body = parseJson(req.body);
    if (req.method === 'POST' && path === '/crm/v3/objects/contacts/search') return search([...contacts.values()].map((c) => ({ ...c, createdAt: '2024-01-01T00:00:00.000Z' })), body);
    if (req.method === 'POST' && path === '/crm/v3/objects/tasks/search') return search([...tasks.values()], body);
    if (req.method === 'POST' && path === '/crm/v3/objects/tasks') return createTask(body);
    return hubSpotError(404, 'OBJECT_NOT_FOUND', `No route for ${req.method} ${path}`);
  });
  return { ...stub, tasks, contacts };
}

// --- Salesforce ---------------------------------------------------------------------------------

/** A Contact the Salesforce stand-in knows. */
export interface SalesforceStubContact {
  readonly Email: string;
  readonly AccountId?: string;
}

/** A Task the Salesforce stand-in holds, by external id value. */
export interface SalesforceStubTask {
  readonly Id: string;
  readonly fields: Record<string, unknown>;
}

/** The Salesforce stand-in: its Tasks and Contacts besides what every stand-in exposes. */
export interface SalesforceStub extends SaasStub {
  /** Tasks by external id value. */
  readonly tasks: Map<string, SalesforceStubTask>;
  readonly contacts: ReadonlyArray<{ readonly Id: string; readonly Email: string; readonly AccountId: string | null }>;
  /** Every SOQL statement received, decoded. */
  readonly queries: string[];
  /** Ends every session the OAuth endpoint issued (as the org's session timeout does). */
  expireSessions(): void;
}

const TASK_FIELDS = new Set(['Subject', 'Description', 'Status', 'Priority', 'ActivityDate', 'WhoId', 'WhatId', 'OwnerId', 'Type']);
const CONTACT_FIELDS = new Set(['Id', 'AccountId', 'Email']);

/** Unescapes a SOQL quoted literal's body per the quoted string escape sequences; undefined if malformed. */
function soqlUnescape(literal: string): string | undefined {
  const table: Record<string, string> = { n: '\n', N: '\n', r: '\r', R: '\r', t: '\t', T: '\t', b: '\b', B: '\b', f: '\f', F: '\f', '"': '"', "'": "'", '\\': '\\' };
  let out = '';
  for (let i = 0; i < literal.length; i += 1) {
    const c = literal[i] as string;
    if (c === "'") return undefined; // an unescaped quote ends the literal early: the query is broken
    if (c !== '\\') {
      out += c;
      continue;
    }
    const next = literal[i + 1];
    const mapped = next === undefined ? undefined : table[next];
    if (mapped === undefined) return undefined;
    out += mapped;
    i += 1;
  }
  return out;
}

const sfError = (status: number, errorCode: string, message: string, fields?: string[]): Reply => ({ status, body: [{ message, errorCode, ...(fields ? { fields } : {}) }] });

/**
 * Starts the Salesforce stand-in. Checks: `Authorization: Bearer <token>` (401
 * `[{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }]`); SOQL of the one
 * form the connector sends, `SELECT <Id|AccountId|Email, ...> FROM Contact WHERE Email = '<literal>'
 * [LIMIT n]`, with the literal's escapes decoded (anything else: 400 MALFORMED_QUERY), answering
 * `{ totalSize, done, records: [{ attributes: { type, url }, ... }] }`
 * (https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_query.htm); and
 * the Task upsert by external id, answering 201 / 200 `{ id, success, errors, created }`, 404 for
 * an unknown external id field, 400 INVALID_FIELD for an unknown field and
 * FIELD_INTEGRITY_EXCEPTION for a WhoId that is no Contact
 * (https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_upsert.htm).
 */
export async function startSalesforceStub(options: {
  /** A static access token the stand-in always accepts. */
  readonly token: string;
  /**
   * A connected app's client credentials: `POST /services/oauth2/token` (form-encoded,
   * grant_type=client_credentials) issues a session token, accepted until expireSessions()
   * (https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_client_credentials_flow.htm);
   * wrong ones answer 400 `{ error: 'invalid_client', error_description }`.
   */
  readonly client?: { readonly clientId: string; readonly clientSecret: string };
  readonly contacts?: readonly SalesforceStubContact[];
  /** @default 'Amk_Action_Id__c' */
  readonly externalIdField?: string;
}): Promise<SalesforceStub> {
  const externalIdField = options.externalIdField ?? 'Amk_Action_Id__c';
  let next = 1;
  const sfId = (prefix: string): string => `${prefix}${String((next += 1)).padStart(12, '0')}AAA`;
  const contacts = (options.contacts ?? []).map((c) => ({ Id: sfId('003'), Email: c.Email, AccountId: c.AccountId ?? null }));
  const tasks = new Map<string, SalesforceStubTask>();
  const queries: string[] = [];
  const SOQL = /^SELECT\s+([A-Za-z, ]+?)\s+FROM\s+Contact\s+WHERE\s+Email\s*=\s*'(.*)'(?:\s+LIMIT\s+([0-9]+))?\s*$/is;

  const query = (version: string, q: string): Reply => {
    queries.push(q);
    const m = SOQL.exec(q);
    const fields = m?.[1]?.split(',').map((f) => f.trim()) ?? [];
    const email = m?.[2] === undefined ? undefined : soqlUnescape(m[2]);
    if (m === null || email === undefined || fields.some((f) => !CONTACT_FIELDS.has(f))) return sfError(400, 'MALFORMED_QUERY', 'unexpected token in the query');
    const limit = m[3] === undefined ? Infinity : Number(m[3]);
    const records = contacts
      .filter((c) => c.Email.toLowerCase() === email.toLowerCase())
      .slice(0, limit)
      .map((c) => ({ attributes: { type: 'Contact', url: `/services/data/v${version}/sobjects/Contact/${c.Id}` }, ...Object.fromEntries(fields.map((f) => [f, c[f as keyof typeof c]])) }));
    return { status: 200, body: { totalSize: records.length, done: true, records } };
  };

  const upsert = (field: string, value: string, body: unknown): Reply => {
    if (field !== externalIdField) return { status: 404, body: { message: 'The requested resource does not exist', errorCode: 'NOT_FOUND' } };
    if (!isRecord(body)) return sfError(400, 'JSON_PARSER_ERROR', 'The request body is not a JSON object');
    const unknown = Object.keys(body).find((k) => !TASK_FIELDS.has(k) && k !== externalIdField);
    if (unknown !== undefined) return sfError(400, 'INVALID_FIELD', `No such column '${unknown}' on sobject of type Task`);
    if (body.WhoId !== undefined && !contacts.some((c) => c.Id === body.WhoId)) return sfError(400, 'FIELD_INTEGRITY_EXCEPTION', 'Name ID: id value of incorrect type', ['WhoId']);
    if (typeof body.ActivityDate === 'string' && !/^\d{4}-\d{2}-\d{2}$/.test(body.ActivityDate)) return sfError(400, 'JSON_PARSER_ERROR', `Cannot deserialize instance of date from VALUE_STRING value ${body.ActivityDate}`);
    const existing = tasks.get(value);
    if (existing !== undefined) {
      Object.assign(existing.fields, body);
      return { status: 200, body: { id: existing.Id, success: true, errors: [], created: false } };
    }
    const task: SalesforceStubTask = { Id: sfId('00T'), fields: { ...body, [externalIdField]: value } };
    tasks.set(value, task);
    return { status: 201, body: { id: task.Id, success: true, errors: [], created: true } };
  };

  const sessions = new Set<string>();
  const stub = await startStub((req) => {
    const url = new URL(req.path, 'http://stub');
    if (req.method === 'POST' && url.pathname === '/services/oauth2/token') {
      const form = new URLSearchParams(req.body);
      const client = options.client;
      if (form.get('grant_type') !== 'client_credentials') return { status: 400, body: { error: 'unsupported_grant_type', error_description: 'grant type not supported' } };
      if (client === undefined || form.get('client_id') !== client.clientId || form.get('client_secret') !== client.clientSecret) {
        return { status: 400, body: { error: 'invalid_client', error_description: 'invalid client credentials' } };
      }
      const token = `00D000000000001!session-${sessions.size + 1}-${randomUUID()}`;
      sessions.add(token);
      return { status: 200, body: { access_token: token, instance_url: 'http://stub', id: 'https://login.salesforce.com/id/00D/005', token_type: 'Bearer', issued_at: String(Date.now()), signature: 'local' } };
    }
    const presented = bearer(req.headers);
    if (presented !== options.token && (presented === undefined || !sessions.has(presented))) return sfError(401, 'INVALID_SESSION_ID', 'Session expired or invalid');
    const q = /^\/services\/data\/v([0-9]+\.[0-9])\/query\/?$/.exec(url.pathname);
    if (req.method === 'GET' && q) return query(q[1] as string, url.searchParams.get('q') ?? '');
    const u = /^\/services\/data\/v[0-9]+\.[0-9]\/sobjects\/Task\/([^/]+)\/([^/]+)$/.exec(url.pathname);
    if (req.method === 'PATCH' && u) return upsert(decodeURIComponent(u[1] as string), decodeURIComponent(u[2] as string), parseJson(req.body));
    return { status: 404, body: [{ message: 'The requested resource does not exist', errorCode: 'NOT_FOUND' }] };
  });
  return { ...stub, tasks, contacts, queries, expireSessions: () => sessions.clear() };
}

// --- Webhook receiver ---------------------------------------------------------------------------

/** One action the receiver accepted (the first delivery of its Idempotency-Key). */
export interface WebhookDelivery {
  readonly idempotencyKey: string;
  readonly receiptId: string;
  readonly event: unknown;
}

/** The webhook receiver: what it accepted besides what every stand-in exposes. */
export interface WebhookReceiver extends SaasStub {
  /** Accepted deliveries, one per Idempotency-Key. */
  readonly deliveries: WebhookDelivery[];
}

/**
 * Starts a webhook receiver that does what a receiver should: verifies the signature with
 * verifyWebhookSignature (401 otherwise), requires an Idempotency-Key (400), and applies each
 * key once: a redelivery is answered 200 with the first delivery's receipt id, and not applied.
 */
export async function startWebhookReceiver(options: { readonly secret: Buffer | string; readonly nowSeconds?: () => number }): Promise<WebhookReceiver> {
  const deliveries: WebhookDelivery[] = [];
  const byKey = new Map<string, WebhookDelivery>();
  const nowSeconds = options.nowSeconds ?? (() => Math.floor(Date.now() / 1000));
  const stub = await startStub((req) => {
    if (req.method !== 'POST') return { status: 405, body: { error: 'method_not_allowed' } };
    const check = verifyWebhookSignature(options.secret, req.headers, req.body, nowSeconds());
    if (!check.ok) return { status: 401, body: { error: check.reason } };
    const key = req.headers[IDEMPOTENCY_KEY_HEADER.toLowerCase()];
    if (typeof key !== 'string' || key === '') return { status: 400, body: { error: 'missing_idempotency_key' } };
    const seen = byKey.get(key);
    if (seen !== undefined) return { status: 200, body: { id: seen.receiptId, duplicate: true } };
    const delivery: WebhookDelivery = { idempotencyKey: key, receiptId: `rcpt_${deliveries.length + 1}`, event: parseJson(req.body) };
    deliveries.push(delivery);
    byKey.set(key, delivery);
    return { status: 200, body: { id: delivery.receiptId } };
  });
  return { ...stub, deliveries };
}
