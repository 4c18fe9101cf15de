/**
 * The signal intake through its real Lambda handlers (middy), built by the real composition root
 * from a function's environment, on dynalite (the tables) and the local Secrets Manager stand-in
 * (the key): signed batches stored once however often they arrive, every kind of refusal named,
 * counted and (when the key was proven) audited once, nothing stored from a refused batch, and
 * SES's bounce and complaint events suppressing their stakeholder at once.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHandler as createSignalsHandler } from '../../functions/signals-http/handler.ts';
import { createHandler as createSesHandler } from '../../functions/ses-events/handler.ts';
import { createHandler as createEventsHandler } from '../../functions/signals-events/handler.ts';
import { DynamoAccountRepository } from '../../shared/adapters/dynamodb/account-repository.ts';
import { DynamoAuditLog } from '../../shared/adapters/dynamodb/audit-log.ts';
import { DynamoRunRepository } from '../../shared/adapters/dynamodb/run-repository.ts';
import { TABLES } from '../../shared/adapters/dynamodb/tables.ts';
import { buildStepDeps, type Platform } from '../../shared/adapters/lambda/compose.ts';
import type { StepName } from '../../shared/app/steps.ts';
import type { AccountState, Stakeholder } from '../../shared/domain/model.ts';
import { SIGNALS_EVENT_DETAIL_TYPE, SIGNALS_EVENT_SOURCE } from '../../shared/domain/signals-batch.ts';
import { signalRequestHeaders } from '../../shared/domain/signals-signature.ts';
import { startAwsEndpoints } from '../../local/engine/aws-endpoints.ts';
import type { Mailer } from '../../shared/ports/index.ts';
import { startDynalite } from '../../local/dynalite.ts';
import { createDynamoClient } from '../../shared/adapters/dynamodb/client.ts';
import { ensureTables } from '../../shared/adapters/dynamodb/create-tables.ts';
import { localTableName, type TableKey } from '../../shared/adapters/dynamodb/tables.ts';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';

const KEY = 'signals-endpoint-test-key-0123456789-abcdefghijklmnop';
const KEY_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:SignalsKey';
const ACCOUNT = 'acc-sig';

/** dynalite with the tables, and its endpoint (the functions' clients are built from their environment). */
let db: { endpoint: string; client: DynamoDBClient; tables: Record<TableKey, string>; stop(): Promise<void> };
let aws: { url: string; close(): Promise<void> };
let now = '2027-01-04T14:00:00.000Z';
const platform = (): Platform => ({
  clientConfig: (service) =>
    service === 'dynamodb'
      ? { endpoint: db.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }
      : { endpoint: aws.url, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } },
  clock: () => now,
});
/** A function's environment, as its template would give it (the fixture's tables, the key's secret). */
const envOf = (): Record<string, string> => ({
  [TABLES.accounts.envVar]: db.tables.accounts,
  [TABLES.audit.envVar]: db.tables.audit,
  [TABLES.runs.envVar]: db.tables.runs,
  [TABLES.idempotency.envVar]: db.tables.idempotency,
  SIGNALS_KEY_SECRET_ARN: KEY_ARN,
});
const depsOf = <N extends StepName>(name: N) => buildStepDeps(name, envOf(), platform());

let accounts: DynamoAccountRepository;
let audit: DynamoAuditLog;
let runs: DynamoRunRepository;
const context = { functionName: 'signals-http', awsRequestId: 'test', getRemainingTimeInMillis: () => 30_000, callbackWaitsForEmptyEventLoop: false } as unknown as Context;

const state: AccountState = { id: ACCOUNT, name: 'Signal Co', domain: 'signal.example', tier: 1, industry: 'software', employees: 100, stage: 'problem_aware', engagedRoles: [], objections: [], consensus: 0, lastMeaningfulInteraction: null, observedUntil: null, version: 0 };
const person = (id: string): Stakeholder => ({ id, accountId: ACCOUNT, name: `Person ${id}`, email: `${id}@signal.example`, title: 'VP', role: 'champion', seniority: 'vp', timeZone: 'UTC', consent: 'opted_in', doNotContact: false });

beforeAll(async () => {
  const dynalite = await startDynalite({ port: 0 });
  const client = createDynamoClient({ endpoint: dynalite.endpoint });
  const tables = Object.fromEntries((Object.keys(TABLES) as TableKey[]).map((key) => [key, localTableName(key, 'signals')])) as Record<TableKey, string>;
  await ensureTables(client, tables);
  db = { endpoint: dynalite.endpoint, client, tables, stop: async () => (client.destroy(), await dynalite.close()) };
  const nobody: Mailer = { send: async () => ({ messageId: 'unused' }) };
  aws = await startAwsEndpoints({ outbox: nobody, prospects: nobody, secrets: new Map([[KEY_ARN, KEY]]) });
  accounts = new DynamoAccountRepository(db.client, db.tables.accounts);
  audit = new DynamoAuditLog(db.client, db.tables.audit);
  runs = new DynamoRunRepository(db.client, db.tables.runs);
  await accounts.importAccount(state, [person('st-1'), person('st-2'), person('st-3')]);
}, 60_000);

afterAll(async () => {
  await aws?.close();
  await db?.stop();
});

beforeEach(() => {
  // Each test in its own hour, so its refusal counters are its own.
  now = new Date(Date.parse(now) + 3_600_000).toISOString();
});

const hour = () => now.slice(0, 13);
const unix = (iso: string) => Math.floor(Date.parse(iso) / 1000);
const signalsHandler = createSignalsHandler(() => depsOf('signals-http'));

/** A Function URL event (payload 2.0) of a POST to /signals. */
function urlEvent(body: string, headers: Record<string, string>, method = 'POST', path = '/signals'): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: '',
    headers: { 'content-type': 'application/json', 'user-agent': 'crm-webhook/1.0', ...headers },
    body,
    isBase64Encoded: false,
    requestContext: { accountId: 'anonymous', apiId: 'x', domainName: 'x.lambda-url.us-east-1.on.aws', domainPrefix: 'x', http: { method, path, protocol: 'HTTP/1.1', sourceIp: '198.51.100.7', userAgent: 'crm-webhook/1.0' }, requestId: 'r', routeKey: '$default', stage: '$default', time: '', timeEpoch: 0 },
  };
}

async function post(body: string, headers: Record<string, string>, method = 'POST'): Promise<{ status: number; json: Record<string, unknown> }> {
  const out = (await signalsHandler(urlEvent(body, headers, method), context)) as APIGatewayProxyStructuredResultV2;
  return { status: out.statusCode ?? 0, json: JSON.parse(out.body ?? '{}') as Record<string, unknown> };
}

const signed = (body: string, at = now, key = KEY) => signalRequestHeaders(Buffer.from(key), unix(at), body);
const batch = (...signals: Array<Record<string, unknown>>) => JSON.stringify({ signals });
const visit = (id: string, at = '2027-01-01T10:00:00Z') => ({ id, accountId: ACCOUNT, kind: 'web_visit', at });
const storedIds = async () => (await accounts.listSignalsSince(ACCOUNT, null)).map((s) => s.id).sort();
const refusedEvents = async () => (await audit.readStream('SIGNALS')).map((e) => e.data['reason']);

describe('POST /signals (signals-http)', () => {
  it('stores a valid batch once when it is sent twice, signed anew', async () => {
    const body = batch(visit('v-1'), visit('v-2'), { id: 'v-3', accountId: ACCOUNT, kind: 'reply', stakeholderId: 'st-1', at: '2027-01-02T09:00:00+01:00', causedBy: 'act-9' });
    const first = await post(body, signed(body));
    expect(first).toMatchObject({ status: 200, json: { received: 3, stored: 3, duplicates: 0, conflicts: [] } });
    const second = await post(body, signed(body, new Date(Date.parse(now) + 1000).toISOString()));
    expect(second).toMatchObject({ status: 200, json: { received: 3, stored: 0, duplicates: 3 } });
    expect(await storedIds()).toEqual(['v-1', 'v-2', 'v-3']);
    const reply = (await accounts.listSignalsSince(ACCOUNT, null)).find((s) => s.id === 'v-3');
    expect(reply).toEqual({ id: 'v-3', accountId: ACCOUNT, stakeholderId: 'st-1', kind: 'reply', at: '2027-01-02T08:00:00.000Z', causedBy: 'act-9' });
  });

  it('refuses the same signed request again as a replay (409 SignalReplayError), counted and audited once however often it comes', async () => {
    const body = batch(visit('r-1'));
    const headers = signed(body);
    expect((await post(body, headers)).status).toBe(200);
    for (let i = 0; i < 3; i++) expect(await post(body, headers)).toMatchObject({ status: 409, json: { error: 'SignalReplayError' } });
    expect(await runs.refusedIn(hour())).toMatchObject({ signals_replayed: 3 });
    expect((await refusedEvents()).filter((r) => r === 'signals_replayed')).toHaveLength(1);
    expect((await storedIds()).filter((id) => id === 'r-1')).toEqual(['r-1']);
  });

  it('refuses a bad, missing or malformed signature (401 SignalSignatureError), stores nothing, and only counts it', async () => {
    const body = batch(visit('bad-1'));
    const auditedBefore = (await refusedEvents()).length;
    expect(await post(body, signed(body, now, 'another-key-another-key-another-key-0000000'))).toMatchObject({ status: 401, json: { error: 'SignalSignatureError' } });
    expect(await post(body, {})).toMatchObject({ status: 401, json: { error: 'SignalSignatureError' } });
    expect(await post(body, { 'x-amk-timestamp': String(unix(now)), 'x-amk-signature': 'sha256=abc' })).toMatchObject({ status: 401, json: { error: 'SignalSignatureError' } });
    expect(await storedIds()).not.toContain('bad-1');
    expect(await runs.refusedIn(hour())).toMatchObject({ signals_bad_signature: 1, signals_missing_signature: 1, signals_malformed_signature: 1, total: 3 });
    // Anyone can send these: nothing per request may grow the audit trail.
    expect((await refusedEvents()).length).toBe(auditedBefore);
  });

  it('refuses a request signed more than five minutes ago or ahead (401 StaleSignalError) and stores nothing', async () => {
    const body = batch(visit('stale-1'));
    const old = signed(body, new Date(Date.parse(now) - 301_000).toISOString());
    expect(await post(body, old)).toMatchObject({ status: 401, json: { error: 'StaleSignalError' } });
    expect(await post(body, old)).toMatchObject({ status: 401, json: { error: 'StaleSignalError' } });
    expect(await post(body, signed(body, new Date(Date.parse(now) + 301_000).toISOString()))).toMatchObject({ status: 401, json: { error: 'StaleSignalError' } });
    expect(await storedIds()).not.toContain('stale-1');
    expect(await runs.refusedIn(hour())).toMatchObject({ signals_stale_timestamp: 3 });
    // Signed with the key: audited, once per signature (the repeated one added nothing).
    expect((await refusedEvents()).filter((r) => r === 'signals_stale_timestamp')).toHaveLength(2);
  });

  it('refuses a batch with one invalid signal (400 SignalSchemaError naming it) and stores none of it, its valid signals included', async () => {
    const body = batch(visit('schema-ok'), { id: 'schema-bad', accountId: ACCOUNT, kind: 'opne', at: '2027-01-01T10:00:00Z' });
    const headers = signed(body);
    const out = await post(body, headers);
    expect(out).toMatchObject({ status: 400, json: { error: 'SignalSchemaError', issues: [{ path: 'signals.1.kind', value: '"opne"' }] } });
    expect(await post(body, headers)).toMatchObject({ status: 400 });
    expect(await storedIds()).not.toEqual(expect.arrayContaining(['schema-ok']));
    expect(await runs.refusedIn(hour())).toMatchObject({ signals_schema_invalid: 2 });
    expect((await refusedEvents()).filter((r) => r === 'signals_schema_invalid')).toHaveLength(1);
  });

  it('keeps the first signal under an id: another signal sent later under it is reported as a conflict, not stored', async () => {
    const first = batch(visit('c-1', '2027-01-01T10:00:00Z'));
    expect((await post(first, signed(first))).json).toMatchObject({ stored: 1 });
    const other = batch(visit('c-1', '2027-01-03T10:00:00Z'), visit('c-2'));
    expect((await post(other, signed(other))).json).toMatchObject({ stored: 1, duplicates: 0, conflicts: ['c-1'] });
    const c1 = (await accounts.listSignalsSince(ACCOUNT, null)).filter((s) => s.id === 'c-1');
    expect(c1.map((s) => s.at)).toEqual(['2027-01-01T10:00:00.000Z']);
  });

  it('suppresses whom a bounce or a complaint is about at once, and audits it once per signal', async () => {
    const body = batch(
      { id: 'b-1', accountId: ACCOUNT, kind: 'bounce', stakeholderId: 'st-2', at: '2027-01-02T10:00:00Z' },
      { id: 'k-1', accountId: ACCOUNT, kind: 'complaint', stakeholderId: 'st-3', at: '2027-01-02T11:00:00Z' },
    );
    const out = await post(body, signed(body));
    expect(out.json.suppressed).toEqual([
      { accountId: ACCOUNT, stakeholderId: 'st-2', signalId: 'b-1', kind: 'bounce' },
      { accountId: ACCOUNT, stakeholderId: 'st-3', signalId: 'k-1', kind: 'complaint' },
    ]);
    await post(body, signed(body, new Date(Date.parse(now) + 2000).toISOString()));
    const people = new Map((await accounts.listStakeholders(ACCOUNT)).map((s) => [s.id, s]));
    expect(people.get('st-2')).toMatchObject({ doNotContact: true, consent: 'opted_in' });
    expect(people.get('st-3')).toMatchObject({ doNotContact: true, consent: 'opted_out' });
    const alerts = (await audit.readStream(`ACCOUNT#${ACCOUNT}`)).filter((e) => e.data['alert'] === 'stakeholder_suppressed');
    expect(alerts.map((e) => [e.data['stakeholderId'], e.data['signalKind']])).toEqual([
      ['st-2', 'bounce'],
      ['st-3', 'complaint'],
    ]);
    expect(JSON.stringify(alerts)).not.toContain('@signal.example');
  });

  it('answers only POST /signals: other methods 405 (counted), other paths 404, an oversized body 413', async () => {
    expect(await post('', {}, 'GET')).toMatchObject({ status: 405, json: { error: 'MethodNotAllowedError' } });
    const out = (await signalsHandler(urlEvent('{}', {}, 'POST', '/favicon.ico'), context)) as APIGatewayProxyStructuredResultV2;
    expect(out.statusCode).toBe(404);
    expect((await post('x'.repeat(1024 * 1024 + 1), {})).status).toBe(413);
    expect(await runs.refusedIn(hour())).toMatchObject({ signals_method_not_allowed: 1, signals_body_too_large: 1, total: 2 });
  });
});

describe('EventBridge events (signals-events, ses-events)', () => {
  const eventsHandler = createEventsHandler(() => depsOf('signals-events'));
  const sesHandler = createSesHandler(() => depsOf('ses-events'));
  const envelope = (source: string, detailType: string, detail: unknown, id = 'evt-1') => ({ version: '0', id, 'detail-type': detailType, source, account: '123456789012', time: '2027-01-05T10:00:00Z', region: 'us-east-1', resources: [], detail });

  it('stores a batch put on the bus once, however often EventBridge delivers it', async () => {
    const event = envelope(SIGNALS_EVENT_SOURCE, SIGNALS_EVENT_DETAIL_TYPE, { signals: [visit('e-1'), visit('e-2')] });
    expect(await eventsHandler(structuredClone(event), context)).toMatchObject({ ingested: { stored: 2 } });
    expect(await eventsHandler(structuredClone(event), context)).toMatchObject({ ingested: { stored: 0, duplicates: 2 } });
    expect((await storedIds()).filter((id) => id.startsWith('e-'))).toEqual(['e-1', 'e-2']);
  });

  it('answers an invalid batch without throwing (no retries), storing nothing, counted and audited once per event', async () => {
    const event = envelope(SIGNALS_EVENT_SOURCE, SIGNALS_EVENT_DETAIL_TYPE, { signals: [visit('e-bad'), { ...visit('e-bad-2'), kind: 'nope' }] }, 'evt-bad');
    expect(await eventsHandler(structuredClone(event), context)).toMatchObject({ refused: 'SignalSchemaError', issues: [{ path: 'signals.1.kind' }] });
    await eventsHandler(structuredClone(event), context);
    expect(await storedIds()).not.toContain('e-bad');
    expect(await runs.refusedIn(hour())).toMatchObject({ signals_event_invalid: 2 });
    expect((await refusedEvents()).filter((r) => r === 'signals_event_invalid')).toHaveLength(1);
  });

  /** The EventBridge event of an SES event record (shapes from the SES event-publishing docs). */
  const sesEvent = (detailType: string, record: Record<string, unknown>, to: string, id: string) =>
    envelope(
      'aws.ses',
      detailType,
      {
        ...record,
        mail: {
          timestamp: '2027-01-05T09:00:00.000Z',
          source: 'agents@corp.example',
          sourceArn: 'arn:aws:ses:us-east-1:123456789012:identity/corp.example',
          sendingAccountId: '123456789012',
          messageId: `msg-${id}`,
          destination: [to],
          headersTruncated: false,
          tags: { 'ses:configuration-set': ['ProspectEmails'], 'amk-kind': ['prospect'], 'amk-account': [ACCOUNT], 'amk-action': ['act-77'] },
        },
      },
      id,
    );

  it('suppresses a hard-bounced and a complaining address at once, once however often the event arrives, and ignores a soft bounce', async () => {
    await accounts.importAccount(state, [person('st-1'), person('st-2'), person('st-3'), person('st-4'), person('st-5'), person('st-6')]);
    const hard = sesEvent('Email Bounced', { eventType: 'Bounce', bounce: { bounceType: 'Permanent', bounceSubType: 'General', bouncedRecipients: [{ emailAddress: 'st-4@signal.example', action: 'failed', status: '5.1.1', diagnosticCode: 'smtp; 550 5.1.1 user unknown' }], timestamp: '2027-01-05T09:01:00.000Z', feedbackId: 'f1', reportingMTA: 'dsn; mta.example.com' } }, 'st-4@signal.example', 'ses-1');
    const complaint = sesEvent('Email Complaint Received', { eventType: 'Complaint', complaint: { complainedRecipients: [{ emailAddress: 'ST-5@signal.example' }], timestamp: '2027-01-05T10:00:00.000Z', feedbackId: 'f2', userAgent: 'ExampleCorp Feedback Loop (V0.01)', complaintFeedbackType: 'abuse', arrivalDate: '2027-01-05T10:00:00.000Z' } }, 'st-5@signal.example', 'ses-2');
    const soft = sesEvent('Email Bounced', { eventType: 'Bounce', bounce: { bounceType: 'Transient', bounceSubType: 'MailboxFull', bouncedRecipients: [{ emailAddress: 'st-6@signal.example' }], timestamp: '2027-01-05T09:01:00.000Z' } }, 'st-6@signal.example', 'ses-3');
    for (let i = 0; i < 2; i++) {
      await sesHandler(structuredClone(hard), context);
      await sesHandler(structuredClone(complaint), context);
    }
    expect(await sesHandler(structuredClone(soft), context)).toEqual({ ignored: 'soft_bounce' });
    const people = new Map((await accounts.listStakeholders(ACCOUNT)).map((s) => [s.id, s]));
    expect(people.get('st-4')).toMatchObject({ doNotContact: true });
    expect(people.get('st-5')).toMatchObject({ doNotContact: true, consent: 'opted_out' });
    expect(people.get('st-6')).toMatchObject({ doNotContact: false, consent: 'opted_in' });
    const signals = (await accounts.listSignalsSince(ACCOUNT, null)).filter((s) => s.id.startsWith('ses-'));
    expect(signals.map((s) => [s.kind, s.stakeholderId, s.causedBy])).toEqual([
      ['bounce', 'st-4', 'act-77'],
      ['complaint', 'st-5', 'act-77'],
    ]);
    const alerts = (await audit.readStream(`ACCOUNT#${ACCOUNT}`)).filter((e) => e.data['alert'] === 'stakeholder_suppressed' && e.actor === 'system:ses-events');
    expect(alerts.map((e) => e.data['stakeholderId'])).toEqual(['st-4', 'st-5']);
  });
});
