/**
 * The HTTP connectors (webhook, HubSpot, Salesforce) against local stand-ins of the services they
 * call (local/engine/saas-stubs.ts), over real HTTP on 127.0.0.1: signed and deduplicated webhook
 * deliveries, retries that keep their idempotency, refusals that are not retried, timeouts, one
 * CRM task per action however often it is executed, tokens kept out of errors, and SOQL literals
 * escaped. Backoff waits go through an injected sleep, so nothing here waits for real.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { postJson, type FetchLike, type Sleep } from '../../shared/adapters/connectors/http.ts';
import { HubSpotConnector, hubSpotTaskMarker } from '../../shared/adapters/connectors/hubspot.ts';
import { SalesforceConnector, soqlQuote } from '../../shared/adapters/connectors/salesforce.ts';
import { IDEMPOTENCY_KEY_HEADER, signWebhook, verifyWebhookSignature, WebhookConnector } from '../../shared/adapters/connectors/webhook.ts';
import { InvalidConfigError, ToolFailedError, ToolRejectedError } from '../../shared/domain/errors.ts';
import type { ToolAccount } from '../../shared/ports/index.ts';
import { startHubSpotStub, startSalesforceStub, startWebhookReceiver, type SaasStub } from '../../local/engine/saas-stubs.ts';
import { anAction, aStakeholder, NOW } from '../unit/builders.ts';

const SECRET = 'whsec-test-0123456789abcdef';
const HUBSPOT_TOKEN = 'pat-na1-11111111-2222-3333-4444-555555555555';
const SALESFORCE_TOKEN = '00D000000000001!AQ4AQSecretSessionTokenValue';
const ACCOUNT: ToolAccount = { id: 'acc-1', name: 'Acme' };
const clock = (): string => NOW;
const nowSeconds = Math.floor(Date.parse(NOW) / 1000);

/** A sleep that records what it was asked to wait, and does not wait. */
function recordingSleep(): Sleep & { calls: number[] } {
  const calls: number[] = [];
  const sleep = (async (ms: number) => {
    calls.push(ms);
  }) as Sleep & { calls: number[] };
  sleep.calls = calls;
  return sleep;
}

const stubs: SaasStub[] = [];
async function started<S extends SaasStub>(stub: Promise<S>): Promise<S> {
  const s = await stub;
  stubs.push(s);
  return s;
}
afterEach(async () => {
  await Promise.all(stubs.splice(0).map((s) => s.close()));
});

const champion = aStakeholder({ id: 'st-1', name: 'Chris Champion', email: 'chris@acme.example', role: 'champion' });
const stranger = aStakeholder({ id: 'st-2', name: 'Sam Stranger', email: 'sam@acme.example', role: 'economic_buyer' });

describe('webhook signatures', () => {
  const body = JSON.stringify({ id: 'act-1', type: 'amk.action' });
  const headers = (signature: string, ts = nowSeconds) => ({ 'x-amk-timestamp': String(ts), 'x-amk-signature': signature });

  it('verifies a body signed with the shared secret', () => {
    const result = verifyWebhookSignature(SECRET, headers(signWebhook(SECRET, nowSeconds, body)), body, nowSeconds);
    expect(result.ok).toBe(true);
  });

  it('refuses a tampered body, another secret and a stale timestamp', () => {
    const signature = signWebhook(SECRET, nowSeconds, body);
    expect(verifyWebhookSignature(SECRET, headers(signature), body.replace('act-1', 'act-2'), nowSeconds)).toMatchObject({ ok: false, reason: 'bad_signature' });
    expect(verifyWebhookSignature('another-secret', headers(signature), body, nowSeconds)).toMatchObject({ ok: false, reason: 'bad_signature' });
    expect(verifyWebhookSignature(SECRET, headers(signature), body, nowSeconds + 301)).toMatchObject({ ok: false, reason: 'stale_timestamp' });
  });

  it('reads the headers whatever their case (fetch Headers or Node headers)', () => {
    const signature = signWebhook(SECRET, nowSeconds, body);
    const fetchHeaders = new Headers({ 'X-Amk-Timestamp': String(nowSeconds), 'X-Amk-Signature': signature });
    expect(verifyWebhookSignature(SECRET, fetchHeaders, body, nowSeconds).ok).toBe(true);
  });
});

describe('WebhookConnector', () => {
  const action = anAction({ id: 'act-wh-1', type: 'sales_handoff', tool: 'webhook', content: { topic: 'Hand-off to the AE' } });
  const connectorFor = (url: string, sleep: Sleep = recordingSleep(), extra: { timeoutMs?: number; retries?: number } = {}) =>
    new WebhookConnector({ url, secret: SECRET, sleep, clock, ...extra });

  it('delivers the action as a signed JSON event and returns the receiver id', async () => {
    const receiver = await started(startWebhookReceiver({ secret: SECRET, nowSeconds: () => nowSeconds }));
    const result = await connectorFor(receiver.url).execute(action, [champion], ACCOUNT);
    expect(result).toMatchObject({ ok: true, externalId: 'rcpt_1' });
    expect(receiver.deliveries).toHaveLength(1);
    expect(receiver.deliveries[0]?.event).toEqual({
      id: 'act-wh-1',
      type: 'amk.action',
      occurredAt: NOW,
      action: { id: 'act-wh-1', runId: 'run-1', accountId: 'acc-1', agentId: 'test-agent', type: 'sales_handoff', tool: 'webhook', channel: 'sales', subGoal: 'hand_off', costUsd: 0, content: { topic: 'Hand-off to the AE' } },
      account: { id: 'acc-1', name: 'Acme' },
      stakeholders: [{ id: 'st-1', name: 'Chris Champion', role: 'champion', email: 'chris@acme.example' }],
    });
    const request = receiver.requests[0];
    expect(request?.headers['content-type']).toBe('application/json');
    expect(request?.headers['idempotency-key']).toBe('act-wh-1');
    expect(request?.headers['x-amk-timestamp']).toBe(String(nowSeconds));
  });

  it('retries after a 503 with the same Idempotency-Key, and the receiver applies it once', async () => {
    const receiver = await started(startWebhookReceiver({ secret: SECRET, nowSeconds: () => nowSeconds }));
    receiver.failNext(1, 503, { error: 'busy' });
    const sleep = recordingSleep();
    const result = await connectorFor(receiver.url, sleep).execute(action, [champion], ACCOUNT);
    expect(result.ok).toBe(true);
    expect(receiver.requests.map((r) => [r.status, r.headers[IDEMPOTENCY_KEY_HEADER.toLowerCase()]])).toEqual([
      [503, 'act-wh-1'],
      [200, 'act-wh-1'],
    ]);
    expect(receiver.deliveries).toHaveLength(1);
    expect(sleep.calls).toEqual([200]);
  });

  it('treats a 4xx as ToolRejectedError and does not retry it', async () => {
    const receiver = await started(startWebhookReceiver({ secret: SECRET, nowSeconds: () => nowSeconds }));
    receiver.failNext(1, 422, { error: 'unknown account', echoed: SECRET });
    const err = await connectorFor(receiver.url).execute(action, [champion], ACCOUNT).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ToolRejectedError);
    expect((err as Error).message).toContain('422');
    expect((err as Error).message).toContain('unknown account');
    expect((err as Error).message).not.toContain(SECRET);
    expect(receiver.requests).toHaveLength(1);
  });

  it('retries a timeout, then gives up with ToolFailedError', async () => {
    const receiver = await started(startWebhookReceiver({ secret: SECRET, nowSeconds: () => nowSeconds }));
    receiver.hangNext(3);
    const sleep = recordingSleep();
    const err = await connectorFor(receiver.url, sleep, { timeoutMs: 150, retries: 2 }).execute(action, [champion], ACCOUNT).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ToolFailedError);
    expect((err as Error).message).toMatch(/failed after 3 attempt\(s\), last timed out after 150 ms/);
    expect(receiver.requests).toHaveLength(3);
    expect(sleep.calls).toEqual([200, 400]);
  });

  it('applies an action executed twice once on the receiver side', async () => {
    const receiver = await started(startWebhookReceiver({ secret: SECRET, nowSeconds: () => nowSeconds }));
    const connector = connectorFor(receiver.url);
    const first = await connector.execute(action, [champion], ACCOUNT);
    const second = await connector.execute(action, [champion], ACCOUNT);
    expect(receiver.requests).toHaveLength(2);
    expect(receiver.deliveries).toHaveLength(1);
    expect(second.externalId).toBe(first.externalId);
  });

  it('refuses a plain-http URL that is not this machine, and a tool it does not take', async () => {
    expect(() => new WebhookConnector({ url: 'http://hooks.example.com/amk', secret: SECRET })).toThrow(InvalidConfigError);
    expect(() => new WebhookConnector({ url: 'http://localhost:9/amk', secret: SECRET })).not.toThrow();
    const receiver = await started(startWebhookReceiver({ secret: SECRET }));
    await expect(connectorFor(receiver.url).execute(anAction({ type: 'nurture_email' }), [champion], ACCOUNT)).rejects.toBeInstanceOf(ToolRejectedError);
    expect(receiver.requests).toHaveLength(0);
  });
});

describe('postJson', () => {
  it('doubles the backoff between attempts and returns the answer that succeeds', async () => {
    const hubspot = await started(startHubSpotStub({ token: HUBSPOT_TOKEN }));
    hubspot.failNext(2, 502);
    const sleep = recordingSleep();
    const url = `${hubspot.url}/crm/v3/objects/tasks/search`;
    const response = await postJson({ url, headers: { Authorization: `Bearer ${HUBSPOT_TOKEN}` }, body: {}, timeoutMs: 1000, retries: 3, sleep, fetch });
    expect(response).toMatchObject({ status: 200, json: { total: 0, results: [] } });
    expect(hubspot.requests.map((r) => r.status)).toEqual([502, 502, 200]);
    expect(sleep.calls).toEqual([200, 400]);
  });

  it('waits what a 429 asks in Retry-After when it is longer than the backoff', async () => {
    let calls = 0;
    const rateLimited: FetchLike = async () => ((calls += 1) === 1 ? new Response('{}', { status: 429, headers: { 'Retry-After': '2' } }) : new Response('{"ok":true}', { status: 200 }));
    const sleep = recordingSleep();
    await postJson({ url: 'https://api.example.com/x', headers: {}, body: {}, timeoutMs: 1000, retries: 1, sleep, fetch: rateLimited });
    expect(sleep.calls).toEqual([2000]);
  });

  it('keeps secrets out of the body excerpt and caps its size', async () => {
    const receiver = await started(startWebhookReceiver({ secret: SECRET }));
    receiver.failNext(1, 400, { message: `bad token ${HUBSPOT_TOKEN} ${'x'.repeat(2000)}` });
    const err = await postJson({ url: receiver.url, headers: {}, body: {}, timeoutMs: 1000, retries: 3, sleep: recordingSleep(), fetch, secrets: [HUBSPOT_TOKEN] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ToolRejectedError);
    expect((err as Error).message).not.toContain(HUBSPOT_TOKEN);
    expect((err as Error).message).toContain('[redacted]');
    expect((err as Error).message.length).toBeLessThan(400);
  });
});

describe('HubSpotConnector', () => {
  const action = anAction({ id: 'act-hs-1', type: 'sales_handoff', content: { topic: 'Sales hand-off via the champion' }, rationale: 'The champion asked for pricing.' });
  const connectorFor = (url: string, token = HUBSPOT_TOKEN, fetchImpl?: FetchLike) =>
    new HubSpotConnector({ token, baseUrl: url, sleep: recordingSleep(), clock, ...(fetchImpl ? { fetch: fetchImpl } : {}) });

  it('creates a task associated with the contacts it finds, and names who it could not', async () => {
    const hubspot = await started(startHubSpotStub({ token: HUBSPOT_TOKEN, contacts: [{ email: 'Chris@Acme.example' }] }));
    const result = await connectorFor(hubspot.url).execute(action, [champion, stranger], ACCOUNT);
    expect(hubspot.tasks.size).toBe(1);
    const task = [...hubspot.tasks.values()][0];
    expect(result).toMatchObject({ ok: true, externalId: task?.id });
    expect(result.detail).toContain('not in HubSpot, not associated: st-2');
    expect(result.detail).not.toContain('sam@acme.example');
    expect(task?.contactIds).toEqual([hubspot.contacts.get('chris@acme.example')?.id]);
    expect(task?.properties).toMatchObject({
      hs_timestamp: '2025-03-05T14:00:00.000Z',
      hs_task_status: 'NOT_STARTED',
      hs_task_priority: 'HIGH',
      hs_task_type: 'TODO',
      hs_task_subject: `Sales hand-off: Sales hand-off via the champion (Acme) [ref ${hubSpotTaskMarker('act-hs-1')}]`,
    });
    expect(task?.properties.hs_task_body).toContain('Why: The champion asked for pricing.');
    expect(task?.properties.hs_task_body).toContain('Chris Champion, champion (chris@acme.example)');
  });

  it('finds the task of an action executed again instead of creating a second', async () => {
    const hubspot = await started(startHubSpotStub({ token: HUBSPOT_TOKEN, contacts: [{ email: 'chris@acme.example' }] }));
    const connector = connectorFor(hubspot.url);
    const first = await connector.execute(action, [champion], ACCOUNT);
    const second = await connector.execute(action, [champion], ACCOUNT);
    expect(hubspot.tasks.size).toBe(1);
    expect(second.externalId).toBe(first.externalId);
    expect(second.detail).toContain('already in HubSpot');
    expect(hubspot.requests.filter((r) => r.path === '/crm/v3/objects/tasks')).toHaveLength(1);
  });

  it('does not retry a create whose answer timed out: a recorded failure, outcome unknown, never a second task', async () => {
    const hubspot = await started(startHubSpotStub({ token: HUBSPOT_TOKEN, contacts: [{ email: 'chris@acme.example' }] }));
    let creates = 0;
    // The create lands, then its answer never arrives: the caller cannot know it was applied.
    const losesFirstCreateAnswer: FetchLike = async (url, init) => {
      const response = await fetch(url, init);
      if (url.endsWith('/crm/v3/objects/tasks') && (creates += 1) === 1) {
        await new Promise((_resolve, reject) => init.signal?.addEventListener('abort', () => reject(init.signal?.reason)));
      }
      return response;
    };
    const connector = new HubSpotConnector({ token: HUBSPOT_TOKEN, baseUrl: hubspot.url, sleep: recordingSleep(), clock, timeoutMs: 200, fetch: losesFirstCreateAnswer });
    // HubSpot's search lags its writes by seconds: a retry could not tell the task is there, so the
    // call is a permanent, recorded failure (the workflow does not retry it), naming the marker.
    const err = await connector.execute(action, [champion], ACCOUNT).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ToolRejectedError);
    expect((err as Error).message).toMatch(/^outcome unknown: HubSpot did not answer the create .* look for \[ref amk[0-9a-f]{24}\] in HubSpot$/);
    expect(creates).toBe(1);
    expect(hubspot.tasks.size).toBe(1);
    // Should a redelivery still come (a redrive after the at-most-once record expired), it finds the task.
    const again = await connector.execute(action, [champion], ACCOUNT);
    expect(creates).toBe(1);
    expect(again.externalId).toBe([...hubspot.tasks.keys()][0]);
  });

  it('refuses a bad token with ToolRejectedError, once, without the token in the message', async () => {
    const hubspot = await started(startHubSpotStub({ token: HUBSPOT_TOKEN }));
    const wrong = 'pat-na1-wrong-token-value-0000';
    const err = await connectorFor(hubspot.url, wrong).execute(action, [champion], ACCOUNT).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ToolRejectedError);
    expect((err as Error).message).toContain('401');
    expect((err as Error).message).toContain('INVALID_AUTHENTICATION');
    expect((err as Error).message).not.toContain(wrong);
    expect(hubspot.requests).toHaveLength(1);
    expect(hubspot.tasks.size).toBe(0);
  });

  it('writes sales tasks only', async () => {
    const hubspot = await started(startHubSpotStub({ token: HUBSPOT_TOKEN }));
    await expect(connectorFor(hubspot.url).execute(anAction({ type: 'nurture_email' }), [champion], ACCOUNT)).rejects.toBeInstanceOf(ToolRejectedError);
    expect(hubspot.requests).toHaveLength(0);
  });
});

describe('SalesforceConnector', () => {
  const action = anAction({ id: 'act-sf-1', type: 'reference_call_offer', content: { topic: 'Reference call with a peer customer' } });
  const connectorFor = (url: string, token = SALESFORCE_TOKEN) => new SalesforceConnector({ instanceUrl: url, credentials: { accessToken: token }, sleep: recordingSleep(), clock });

  it('upserts a Task by the action id, with the Contact as WhoId and its Account as WhatId', async () => {
    const salesforce = await started(startSalesforceStub({ token: SALESFORCE_TOKEN, contacts: [{ Email: 'chris@acme.example', AccountId: '001000000000042AAA' }] }));
    const result = await connectorFor(salesforce.url).execute(action, [stranger, champion], ACCOUNT);
    const task = salesforce.tasks.get('act-sf-1');
    expect(result).toMatchObject({ ok: true, externalId: task?.Id });
    expect(result.detail).toContain('Task created');
    expect(result.detail).toContain('not in Salesforce: st-2');
    expect(task?.fields).toMatchObject({
      Subject: 'Reference call offer: Reference call with a peer customer (Acme)',
      Status: 'Not Started',
      Priority: 'High',
      ActivityDate: '2025-03-05',
      WhoId: salesforce.contacts[0]?.Id,
      WhatId: '001000000000042AAA',
      Amk_Action_Id__c: 'act-sf-1',
    });
    const patch = salesforce.requests.find((r) => r.method === 'PATCH');
    expect(patch?.path).toBe('/services/data/v62.0/sobjects/Task/Amk_Action_Id__c/act-sf-1');
  });

  it('keeps one record for an action executed twice: the second upsert answers created:false', async () => {
    const salesforce = await started(startSalesforceStub({ token: SALESFORCE_TOKEN, contacts: [{ Email: 'chris@acme.example' }] }));
    const connector = connectorFor(salesforce.url);
    const first = await connector.execute(action, [champion], ACCOUNT);
    const second = await connector.execute(action, [champion], ACCOUNT);
    expect(salesforce.tasks.size).toBe(1);
    expect(second.externalId).toBe(first.externalId);
    expect(second.detail).toContain('not created again');
    const upserts = salesforce.requests.filter((r) => r.method === 'PATCH');
    expect(upserts.map((r) => [r.status, (r.response as { created?: boolean }).created])).toEqual([
      [201, true],
      [200, false],
    ]);
  });

  it('refuses a bad token with ToolRejectedError, once, without the token in the message', async () => {
    const salesforce = await started(startSalesforceStub({ token: SALESFORCE_TOKEN }));
    const wrong = '00D000000000001!AQ4AQWrongSessionToken';
    const err = await connectorFor(salesforce.url, wrong).execute(action, [champion], ACCOUNT).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ToolRejectedError);
    expect((err as Error).message).toContain('401');
    expect((err as Error).message).toContain('INVALID_SESSION_ID');
    expect((err as Error).message).not.toContain(wrong);
    expect(salesforce.requests).toHaveLength(1);
  });

  it("escapes the email in SOQL, so a ' in an address finds its Contact instead of breaking the query", async () => {
    const obrien = aStakeholder({ id: 'st-3', name: "Pat O'Brien", email: "pat.o'brien@acme.example" });
    const salesforce = await started(startSalesforceStub({ token: SALESFORCE_TOKEN, contacts: [{ Email: "pat.o'brien@acme.example" }] }));
    const result = await connectorFor(salesforce.url).execute(action, [obrien], ACCOUNT);
    expect(salesforce.queries).toEqual(["SELECT Id, AccountId FROM Contact WHERE Email = 'pat.o\\'brien@acme.example' LIMIT 1"]);
    expect(salesforce.tasks.get('act-sf-1')?.fields.WhoId).toBe(salesforce.contacts[0]?.Id);
    expect(result.detail).not.toContain('not in Salesforce');
  });

  it('signs in with the client credentials flow, and when Salesforce ends the session takes a new token once and goes on', async () => {
    const client = { clientId: '3MVG9-local-client', clientSecret: 'local-client-secret-0123456789' };
    const salesforce = await started(startSalesforceStub({ token: SALESFORCE_TOKEN, client, contacts: [{ Email: 'chris@acme.example' }] }));
    const connector = new SalesforceConnector({ instanceUrl: salesforce.url, credentials: client, sleep: recordingSleep(), clock });
    await connector.execute(action, [champion], ACCOUNT);
    const tokenRequests = () => salesforce.requests.filter((r) => r.path === '/services/oauth2/token');
    expect(tokenRequests()).toHaveLength(1);
    expect(new URLSearchParams(tokenRequests()[0]?.body).get('grant_type')).toBe('client_credentials');
    // The org's session timeout passes: the next call is refused once, renews, and succeeds.
    salesforce.expireSessions();
    const second = anAction({ id: 'act-sf-2', type: 'reference_call_offer', content: { topic: 'Reference call' } });
    const result = await connector.execute(second, [champion], ACCOUNT);
    expect(result.ok).toBe(true);
    expect(tokenRequests()).toHaveLength(2);
    expect(salesforce.requests.filter((r) => r.status === 401)).toHaveLength(1);
    expect(salesforce.tasks.has('act-sf-2')).toBe(true);
  });

  it('refuses wrong client credentials with ToolRejectedError, the secret in no message', async () => {
    const salesforce = await started(startSalesforceStub({ token: SALESFORCE_TOKEN, client: { clientId: 'right', clientSecret: 'right-secret' } }));
    const wrong = { clientId: 'right', clientSecret: 'wrong-secret-value-987' };
    const err = await new SalesforceConnector({ instanceUrl: salesforce.url, credentials: wrong, sleep: recordingSleep(), clock }).execute(action, [champion], ACCOUNT).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ToolRejectedError);
    expect((err as Error).message).toMatch(/Salesforce OAuth refused POST .* with 400: invalid_client/);
    expect((err as Error).message).not.toContain(wrong.clientSecret);
    expect(salesforce.tasks.size).toBe(0);
  });

  it('quotes backslashes and quotes per the SOQL escape sequences', () => {
    expect(soqlQuote("a\\b'c")).toBe("'a\\\\b\\'c'");
    expect(soqlQuote("x' OR Email != '")).toBe("'x\\' OR Email != \\''");
  });
});
