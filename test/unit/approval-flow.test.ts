import { beforeEach, describe, expect, it } from 'vitest';
import { InvalidConfigError, TaskNotWaitingError } from '../../shared/domain/errors.ts';
import type { Approval } from '../../shared/domain/model.ts';
import { handleApprovalRequest, type ApprovalHttpRequest } from '../../shared/adapters/http/approval-endpoint.ts';
import type { ApprovalDeps } from '../../shared/app/approval-decision.ts';
import { requestApproval, type ApprovalRequestDeps } from '../../shared/app/approval-request.ts';
import { linkUrl, signLink, toBase64Url } from '../../shared/domain/approval-link.ts';
import { createHandler } from '../../functions/approval-http/handler.ts';
import { startApprovalServer } from '../../local/approval-server.ts';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { SFNClient, SendTaskSuccessCommand, TaskTimedOut } from '@aws-sdk/client-sfn';
import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { SfnTaskCallback } from '../../shared/adapters/sfn-callback.ts';
import { SesMailer } from '../../shared/adapters/ses-mailer.ts';
import { signingKeyFromSecret } from '../../shared/adapters/signing-key.ts';
import { buildStepDeps } from '../../shared/adapters/lambda/compose.ts';
import { accountNames } from '../../shared/app/approval-request.ts';
import type { AccountRepository } from '../../shared/ports/index.ts';

const BASE = 'https://approve.example.com';
const KEY = Buffer.from('test-signing-key-test-signing-key!');
const TOKEN = 'task-token-secret-123';

import { InMemoryApprovals, InMemoryAudit, RecordingCallback, RecordingMailer, inMemoryIdempotent } from './memory-ports.ts';
import { recordDecision } from '../../shared/app/approval-outcomes.ts';
import type { StepDeps } from '../../shared/app/steps.ts';

function queuedApproval(overrides: Partial<Approval> = {}): Approval {
  return {
    id: 'apr-1',
    runId: 'run-1',
    shard: 0,
    accountId: 'acc-1',
    agentId: 'abm-agent',
    action: {
      id: 'act-1',
      runId: 'run-1',
      accountId: 'acc-1',
      agentId: 'abm-agent',
      type: 'executive_briefing',
      tool: 'email',
      channel: 'email',
      stakeholderIds: ['st-1'],
      content: { topic: 'TCO', subject: 'Briefing' },
      costUsd: 120,
      rationale: 'The economic buyer has not engaged.',
      expectedValue: 0.4,
      confidence: 0.7,
      subGoal: 'cover_role',
    },
    rules: [{ ruleId: 'exec-contact', source: 'config/charters/abm.yaml', approvers: ['dana@example.com'], minApprovals: 1 }],
    approver: 'dana@example.com',
    actionDigest: 'd'.repeat(64),
    charterHash: 'c'.repeat(64),
    status: 'queued',
    timeoutSeconds: 3600,
    createdAt: '2030-01-01T00:00:00.000Z',
    version: 0,
    ...overrides,
  };
}

let now: string;
let approvals: InMemoryApprovals;
let audit: InMemoryAudit;
let mailer: RecordingMailer;
let callback: RecordingCallback;
/** Requests without an authentic link, as counted (never audited one by one). */
let refused: Array<{ at: string; reason: string }>;
// One object for both use cases: the HTTP side reads what ApprovalDeps names, the request side the rest.
let deps: ApprovalDeps & ApprovalRequestDeps;

beforeEach(() => {
  now = '2030-01-01T00:00:00.000Z';
  approvals = new InMemoryApprovals();
  audit = new InMemoryAudit();
  mailer = new RecordingMailer();
  callback = new RecordingCallback();
  refused = [];
  deps = { approvals, audit, mailer, callback, idempotent: inMemoryIdempotent(), key: KEY, clock: () => now, baseUrl: BASE, from: 'amk@example.com', refused: async (r) => void refused.push(r) };
});

/** Queues an approval and requests it (as the RequestApproval task would); returns the emailed link. */
async function pendingApproval(overrides: Partial<Approval> = {}): Promise<URL> {
  await approvals.create(queuedApproval(overrides));
  const { link } = await requestApproval(
    deps,
    { approvalId: overrides.id ?? 'apr-1', runId: 'run-1', timeoutSeconds: 3600, taskToken: TOKEN },
    { accountName: 'Acme Corp', stakeholderNames: ['Dana Buyer'] },
  );
  audit.events.length = 0;
  return new URL(link);
}

function requestFor(url: URL, method: string, extra: Partial<ApprovalHttpRequest> = {}): ApprovalHttpRequest {
  return {
    method,
    path: url.pathname,
    query: Object.fromEntries(url.searchParams),
    headers: { 'user-agent': 'test-browser' },
    sourceIp: '203.0.113.7',
    ...extra,
  };
}

function formFields(html: string): { csrf: string; nonce: string } {
  const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1];
  const nonce = /name="nonce" value="([^"]+)"/.exec(html)?.[1];
  if (csrf === undefined || nonce === undefined) throw new Error('page has no form tokens');
  return { csrf, nonce };
}

/** GETs the page like a browser, then posts its form with the given decision. */
async function decide(url: URL, fields: Record<string, string>, headers: Record<string, string> = {}) {
  const page = await handleApprovalRequest(deps, requestFor(url, 'GET'));
  const body = new URLSearchParams({ ...formFields(page.body), ...fields }).toString();
  return handleApprovalRequest(
    deps,
    requestFor(url, 'POST', { body, headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers } }),
  );
}

function rejectionReasons(): unknown[] {
  return audit.ofKind('approval_link_rejected').map((e) => e.data['reason']);
}

describe('requesting an approval', () => {
  it('stores the token server-side, emails the approver a signed link without the token, and audits the request', async () => {
    await approvals.create(queuedApproval());
    const out = await requestApproval(
      deps,
      { approvalId: 'apr-1', runId: 'run-1', timeoutSeconds: 3600, taskToken: TOKEN },
      { accountName: 'Acme Corp', stakeholderNames: ['Dana Buyer'] },
    );
    const stored = await approvals.get('apr-1');
    expect(stored).toMatchObject({ status: 'pending', taskToken: TOKEN, expiresAt: '2030-01-01T01:00:00.000Z' });
    expect(mailer.sent).toHaveLength(1);
    expect(mailer.sent[0]).toMatchObject({ to: ['dana@example.com'], from: 'amk@example.com' });
    expect(mailer.sent[0]?.text).toContain(out.link);
    expect(out.link).toMatch(/^https:\/\/approve\.example\.com\/approvals\/apr-1\?a=.+&exp=\d+&sig=.+$/);
    expect(JSON.stringify(mailer.sent)).not.toContain(TOKEN);
    const [event] = audit.ofKind('approval_requested');
    expect(event).toMatchObject({
      stream: 'RUN#run-1',
      data: { approver: 'dana@example.com', actionDigest: 'd'.repeat(64), expiresAt: '2030-01-01T01:00:00.000Z', messageId: 'msg-1' },
    });
    expect(JSON.stringify(audit.events)).not.toContain(TOKEN);
  });

  it('does not email twice when the same task is retried with the same token', async () => {
    await approvals.create(queuedApproval());
    const input = { approvalId: 'apr-1', runId: 'run-1', timeoutSeconds: 3600, taskToken: TOKEN };
    const view = { accountName: 'Acme Corp', stakeholderNames: [] };
    const first = await requestApproval(deps, input, view);
    now = '2030-01-01T00:00:05.000Z';
    const second = await requestApproval(deps, input, view);
    expect(mailer.sent).toHaveLength(1);
    expect(second).toEqual(first);
  });

  it('waits with a new task\'s token when the old task is gone (a retry or a restarted run), with a new link', async () => {
    await approvals.create(queuedApproval());
    const view = { accountName: 'Acme Corp', stakeholderNames: [] };
    await requestApproval(deps, { approvalId: 'apr-1', runId: 'run-1', timeoutSeconds: 3600, taskToken: TOKEN }, view);
    now = '2030-01-01T00:10:00.000Z';
    const again = await requestApproval(deps, { approvalId: 'apr-1', runId: 'run-1', timeoutSeconds: 3600, taskToken: 'token-of-the-new-task' }, view);
    expect(await approvals.get('apr-1')).toMatchObject({ status: 'pending', taskToken: 'token-of-the-new-task', expiresAt: '2030-01-01T01:10:00.000Z' });
    expect(mailer.sent).toHaveLength(2);
    expect(mailer.sent[1]?.text).toContain(again.link);
    expect(audit.ofKind('approval_requested')).toHaveLength(2);
  });

  it('completes a new task at once with a decision made while no task waited, once however often it is delivered', async () => {
    await approvals.create(queuedApproval());
    const view = { accountName: 'Acme Corp', stakeholderNames: [] };
    await requestApproval(deps, { approvalId: 'apr-1', runId: 'run-1', timeoutSeconds: 3600, taskToken: TOKEN }, view);
    // The approver decides; the task that waited is gone (the run was killed), so nothing hears it.
    await approvals.decide('apr-1', { status: 'approved', at: now, by: 'dana@example.com', reviewerKind: 'human' });
    const input = { approvalId: 'apr-1', runId: 'run-1', timeoutSeconds: 3600, taskToken: 'token-of-the-resumed-run' };
    await requestApproval(deps, input, view);
    expect(callback.succeeded).toEqual([{ token: 'token-of-the-resumed-run', output: { approvalId: 'apr-1', status: 'approved' } }]);
    // Delivered again: the task is already complete (Step Functions answers TaskTimedOut), nothing else happens.
    callback.failWith = 'TaskTimedOut';
    await requestApproval(deps, input, view);
    expect(mailer.sent).toHaveLength(1);
    expect(audit.ofKind('approval_decided').filter((e) => e.data['resumed'] === true)).toHaveLength(1);
  });
});

describe('answering approval links', () => {
  it('renders the confirmation page on GET, changes nothing, and records who opened it', async () => {
    const url = await pendingApproval();
    const res = await handleApprovalRequest(deps, requestFor(url, 'GET'));
    expect(res.status).toBe(200);
    expect(res.body).toContain('<form method="post">');
    expect(res.headers).toMatchObject({
      'Cache-Control': 'no-store',
      'Content-Type': 'text/html; charset=utf-8',
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'X-Frame-Options': 'DENY',
    });
    expect(res.headers['Content-Security-Policy']).toContain("default-src 'none'");
    expect(res.headers['Strict-Transport-Security']).toBeDefined();
    expect((await approvals.get('apr-1'))?.status).toBe('pending');
    expect(approvals.decideCalls).toBe(0);
    expect(callback.succeeded).toHaveLength(0);
    expect(audit.events.map((e) => e.kind)).toEqual(['approval_link_opened']);
  });

  it('never decides on GET, however many times a scanner fetches the link', async () => {
    const url = await pendingApproval();
    url.searchParams.set('decision', 'approve');
    for (let i = 0; i < 5; i++) await handleApprovalRequest(deps, requestFor(url, 'GET'));
    expect(approvals.decideCalls).toBe(0);
    expect(callback.succeeded).toHaveLength(0);
  });

  it('answers HEAD with the same status and headers and an empty body', async () => {
    const url = await pendingApproval();
    const get = await handleApprovalRequest(deps, requestFor(url, 'GET'));
    const head = await handleApprovalRequest(deps, requestFor(url, 'HEAD'));
    expect(head.status).toBe(get.status);
    expect(head.headers).toEqual(get.headers);
    expect(head.body).toBe('');
    expect(approvals.decideCalls).toBe(0);
  });

  it('decides once on a POST with the page token, completes the task once and audits the decision', async () => {
    const url = await pendingApproval();
    now = '2030-01-01T00:10:00.000Z';
    const res = await decide(url, { decision: 'approve' });
    expect(res.status).toBe(200);
    expect(res.body).toContain('Approved — the action will run');
    expect(await approvals.get('apr-1')).toMatchObject({
      status: 'approved',
      decidedBy: 'dana@example.com',
      decidedAt: '2030-01-01T00:10:00.000Z',
      reviewerKind: 'human',
    });
    expect(callback.succeeded).toEqual([{ token: TOKEN, output: { approvalId: 'apr-1', status: 'approved' } }]);
    const [event] = audit.ofKind('approval_decided');
    expect(event).toMatchObject({ stream: 'RUN#run-1', actor: 'dana@example.com', data: { status: 'approved', reviewerKind: 'human' } });
  });

  it('answers a second POST with 409 and the earlier decision, without a second callback', async () => {
    const url = await pendingApproval();
    const firstPage = await handleApprovalRequest(deps, requestFor(url, 'GET'));
    await decide(url, { decision: 'approve' });
    const page = await handleApprovalRequest(deps, requestFor(url, 'GET'));
    expect(page.body).toContain('already approved by dana@example.com');
    // The same form again (a double click or a second tab opened before the decision).
    const body = new URLSearchParams({ ...formFields(firstPage.body), decision: 'reject', reason: 'changed my mind' }).toString();
    const second = await handleApprovalRequest(deps, requestFor(url, 'POST', { body }));
    expect(second.status).toBe(409);
    expect(second.body).toContain('already approved by dana@example.com');
    expect(callback.succeeded).toHaveLength(1);
    expect((await approvals.get('apr-1'))?.status).toBe('approved');
    expect(rejectionReasons()).toEqual(['already_decided']);
  });

  it('requires a reason to reject and records it when given', async () => {
    const url = await pendingApproval();
    const missing = await decide(url, { decision: 'reject', reason: '   ' });
    expect(missing.status).toBe(400);
    expect(missing.body).toContain('A reason is required to reject.');
    expect(approvals.decideCalls).toBe(0);
    const tooLong = await decide(url, { decision: 'reject', reason: 'x'.repeat(501) });
    expect(tooLong.status).toBe(400);
    expect(approvals.decideCalls).toBe(0);

    const res = await decide(url, { decision: 'reject', reason: 'Wrong contact for this account' });
    expect(res.status).toBe(200);
    expect(res.body).toContain('<h1>Rejected</h1>');
    expect(await approvals.get('apr-1')).toMatchObject({ status: 'rejected', reason: 'Wrong contact for this account' });
    expect(callback.succeeded[0]?.output).toEqual({ approvalId: 'apr-1', status: 'rejected' });
    expect(audit.ofKind('approval_decided')[0]?.data['reason']).toBe('Wrong contact for this account');
  });

  it('rejects a tampered signature with a generic page, decides nothing and counts the attempt', async () => {
    const url = await pendingApproval();
    const sig = url.searchParams.get('sig') ?? '';
    url.searchParams.set('sig', `${sig.slice(0, -1)}${sig.endsWith('A') ? 'Q' : 'A'}`);
    for (const method of ['GET', 'POST']) {
      const res = await handleApprovalRequest(deps, requestFor(url, method, { body: 'decision=approve' }));
      expect(res.status).toBe(403);
      expect(res.body).toContain('This link is not valid');
    }
    expect(approvals.decideCalls).toBe(0);
    expect(callback.succeeded).toHaveLength(0);
    // Anyone can send these: counted, not appended to any audit stream.
    expect(refused).toEqual([
      { at: now, reason: 'bad_signature' },
      { at: now, reason: 'bad_signature' },
    ]);
    expect(audit.ofKind('approval_link_rejected')).toEqual([]);
  });

  it('rejects a malformed link as a bad request and counts it', async () => {
    const url = await pendingApproval();
    url.searchParams.delete('exp');
    const res = await handleApprovalRequest(deps, requestFor(url, 'GET'));
    expect(res.status).toBe(400);
    expect(res.body).toContain('This link is not valid');
    expect(refused.map((r) => r.reason)).toEqual(['malformed']);
    expect(rejectionReasons()).toEqual([]);
  });

  it('rejects an expired link with 410, decides nothing and audits it under the run', async () => {
    const url = await pendingApproval();
    const page = await handleApprovalRequest(deps, requestFor(url, 'GET'));
    now = '2030-01-01T01:00:00.000Z';
    const body = new URLSearchParams({ ...formFields(page.body), decision: 'approve' }).toString();
    const res = await handleApprovalRequest(deps, requestFor(url, 'POST', { body }));
    expect(res.status).toBe(410);
    expect(res.body).toContain('This link has expired');
    expect(approvals.decideCalls).toBe(0);
    expect(audit.ofKind('approval_link_rejected')[0]).toMatchObject({ stream: 'RUN#run-1', data: { reason: 'expired' } });
  });

  it('does not let a valid link of one approver decide another approver’s approval', async () => {
    await pendingApproval();
    const forged = new URL(
      linkUrl(BASE, signLink({ approvalId: 'apr-1', approver: 'eve@example.com', expiresAt: '2030-01-01T01:00:00.000Z' }, KEY)),
    );
    const get = await handleApprovalRequest(deps, requestFor(forged, 'GET'));
    expect(get.status).toBe(403);
    expect(get.body).not.toContain('<form');
    const post = await handleApprovalRequest(deps, requestFor(forged, 'POST', { body: 'decision=approve' }));
    expect(post.status).toBe(403);
    expect(approvals.decideCalls).toBe(0);
    expect(audit.ofKind('approval_link_rejected').map((e) => [e.stream, e.actor, e.data['reason']])).toEqual([
      ['RUN#run-1', 'eve@example.com', 'approver_mismatch'],
      ['RUN#run-1', 'eve@example.com', 'approver_mismatch'],
    ]);
  });

  it('rejects a POST with a missing or wrong CSRF token and audits which it was', async () => {
    const url = await pendingApproval();
    const missing = await handleApprovalRequest(deps, requestFor(url, 'POST', { body: 'decision=approve' }));
    expect(missing.status).toBe(403);
    const wrong = await handleApprovalRequest(
      deps,
      requestFor(url, 'POST', { body: `decision=approve&nonce=abcdefghijklmnopqrst&csrf=${'A'.repeat(43)}` }),
    );
    expect(wrong.status).toBe(403);
    expect(approvals.decideCalls).toBe(0);
    expect(callback.succeeded).toHaveLength(0);
    expect(rejectionReasons()).toEqual(['csrf_missing', 'csrf_invalid']);
  });

  it('rejects a POST sent from another site even with a valid token', async () => {
    const url = await pendingApproval();
    const res = await decide(url, { decision: 'approve' }, { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' });
    expect(res.status).toBe(403);
    expect(approvals.decideCalls).toBe(0);
    expect(rejectionReasons()).toEqual(['cross_site_post']);
  });

  it('accepts our own form posted with Origin: null, as browsers send under no-referrer', async () => {
    const url = await pendingApproval();
    const res = await decide(url, { decision: 'approve' }, { origin: 'null', 'sec-fetch-site': 'same-origin' });
    expect(res.status).toBe(200);
  });

  it('answers 409 with a clear page, not 500, when the workflow stopped waiting before the decision arrived', async () => {
    const url = await pendingApproval();
    callback.failWith = 'TaskTimedOut';
    const res = await decide(url, { decision: 'approve' });
    expect(res.status).toBe(409);
    expect(res.body).toContain('This approval expired before your decision reached the workflow — nothing will run');
    expect(audit.ofKind('approval_expired')[0]).toMatchObject({
      stream: 'RUN#run-1',
      data: { approvalId: 'apr-1', delivered: false, errorName: 'TaskTimedOut' },
    });
    expect(audit.ofKind('approval_decided')).toHaveLength(0);
  });

  it.each(['TaskDoesNotExist', 'InvalidToken'])('treats %s from the callback like a timeout', async (name) => {
    const url = await pendingApproval();
    callback.failWith = name;
    expect((await decide(url, { decision: 'approve' })).status).toBe(409);
  });

  it('answers other methods with 405 and an Allow header, and audits them', async () => {
    const url = await pendingApproval();
    const res = await handleApprovalRequest(deps, requestFor(url, 'PUT'));
    expect(res.status).toBe(405);
    expect(res.headers['Allow']).toBe('GET, HEAD, POST');
    expect(rejectionReasons()).toEqual(['method_not_allowed']);
  });

  it('records the simulated reviewer only when the demo allows it', async () => {
    const url = await pendingApproval();
    await decide(url, { decision: 'approve' }, { 'x-amk-reviewer': 'simulated' });
    expect((await approvals.get('apr-1'))?.reviewerKind).toBe('human');

    deps = { ...deps, allowSimulatedReviewer: true };
    const other = await pendingApproval({ id: 'apr-2' });
    await decide(other, { decision: 'approve' }, { 'X-Amk-Reviewer': 'simulated' });
    expect((await approvals.get('apr-2'))?.reviewerKind).toBe('simulated');
    expect(audit.ofKind('approval_decided').at(-1)?.data['reviewerKind']).toBe('simulated');
  });

  it('answers unknown paths with 404 without auditing', async () => {
    const res = await handleApprovalRequest(deps, { method: 'GET', path: '/favicon.ico', query: {}, headers: {} });
    expect(res.status).toBe(404);
    expect(audit.events).toHaveLength(0);
  });

  it('answers with a generic 500 page when a port fails unexpectedly', async () => {
    const url = await pendingApproval();
    const failing = new InMemoryApprovals();
    failing.get = async () => Promise.reject(new Error('table arn:aws:dynamodb:secret'));
    deps = { ...deps, approvals: failing };
    const res = await handleApprovalRequest(deps, requestFor(url, 'GET'));
    expect(res.status).toBe(500);
    expect(res.body).not.toContain('arn:aws');
    expect(res.headers['Cache-Control']).toBe('no-store');
  });
});

describe('the Lambda handler and the local approval server', () => {
  function functionUrlEvent(url: URL, method: string, body?: string, isBase64Encoded = false): APIGatewayProxyEventV2 {
    return {
      version: '2.0',
      routeKey: '$default',
      rawPath: url.pathname,
      rawQueryString: url.search.slice(1),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      ...(body !== undefined ? { body } : {}),
      isBase64Encoded,
      requestContext: {
        accountId: 'anonymous',
        apiId: 'test',
        domainName: 'approve.example.com',
        domainPrefix: 'approve',
        http: { method, path: url.pathname, protocol: 'HTTP/1.1', sourceIp: '198.51.100.1', userAgent: 'test' },
        requestId: 'req-1',
        routeKey: '$default',
        stage: '$default',
        time: 'now',
        timeEpoch: 0,
      },
    };
  }

  it('decides through the middy pipeline with a base64-encoded form body', async () => {
    const url = await pendingApproval();
    const handler = createHandler(deps);
    const page = await handler(functionUrlEvent(url, 'GET'), {} as never);
    expect(page.statusCode).toBe(200);
    const form = new URLSearchParams({ ...formFields(page.body ?? ''), decision: 'approve' }).toString();
    const res = await handler(functionUrlEvent(url, 'POST', Buffer.from(form).toString('base64'), true), {} as never);
    expect(res.statusCode).toBe(200);
    expect(callback.succeeded).toHaveLength(1);
    expect(audit.ofKind('approval_decided')[0]?.data['sourceIp']).toBe('198.51.100.1');
  });

  it('answers with the generic error page and security headers when the ports cannot be built', async () => {
    const handler = createHandler(() => Promise.reject(new Error('missing APPROVALS_TABLE')));
    const res = await handler(functionUrlEvent(new URL(`${BASE}/approvals/x`), 'GET'), {} as never);
    expect(res.statusCode).toBe(500);
    expect(res.headers?.['X-Frame-Options']).toBe('DENY');
  });

  it('serves the page and takes the decision over real HTTP on 127.0.0.1', async () => {
    const server = await startApprovalServer({ handler: createHandler(() => Promise.resolve(deps)), port: 0 });
    try {
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const link = await pendingApproval();
      const local = new URL(`${link.pathname}${link.search}`, server.url);
      const page = await fetch(local);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
      const html = await page.text();
      const head = await fetch(local, { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(await head.text()).toBe('');

      const res = await fetch(local, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ ...formFields(html), decision: 'approve' }).toString(),
      });
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('Approved — the action will run');
      expect(callback.succeeded).toHaveLength(1);

      const tooBig = await fetch(local, { method: 'POST', body: 'x'.repeat(17 * 1024) });
      expect(tooBig.status).toBe(413);
    } finally {
      await server.close();
    }
  });

  it('uses the approver from the link, so an edited a= parameter is a bad signature', async () => {
    const url = await pendingApproval();
    url.searchParams.set('a', toBase64Url('eve@example.com'));
    const res = await createHandler(deps)(functionUrlEvent(url, 'GET'), {} as never);
    expect(res.statusCode).toBe(403);
  });
});

describe('the AWS side of approvals', () => {
  it('completes a task with SendTaskSuccess carrying the decision as JSON', async () => {
    const sfn = mockClient(SFNClient);
    sfn.on(SendTaskSuccessCommand).resolves({});
    await new SfnTaskCallback(new SFNClient({ region: 'us-east-1' })).succeed(TOKEN, { approvalId: 'apr-1', status: 'approved' });
    expect(sfn.commandCalls(SendTaskSuccessCommand)[0]?.args[0].input).toEqual({
      taskToken: TOKEN,
      output: '{"approvalId":"apr-1","status":"approved"}',
    });
    sfn.restore();
  });

  it('turns TaskTimedOut from Step Functions into TaskNotWaitingError, keeping the SDK name, and lets other errors through', async () => {
    const sfn = mockClient(SFNClient);
    sfn.on(SendTaskSuccessCommand).rejects(new TaskTimedOut({ message: 'Task Timed Out', $metadata: {} }));
    const err = await new SfnTaskCallback(new SFNClient({ region: 'us-east-1' })).succeed(TOKEN, {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TaskNotWaitingError);
    expect(err).toMatchObject({ name: 'TaskNotWaitingError', vendorName: 'TaskTimedOut' });
    sfn.on(SendTaskSuccessCommand).rejects(Object.assign(new Error('throttled'), { name: 'ThrottlingException' }));
    await expect(new SfnTaskCallback(new SFNClient({ region: 'us-east-1' })).succeed(TOKEN, {})).rejects.toMatchObject({ name: 'ThrottlingException' });
    sfn.restore();
  });

  it('sends email through SESv2 with UTF-8 text and HTML bodies and returns the message id', async () => {
    const ses = mockClient(SESv2Client);
    ses.on(SendEmailCommand).resolves({ MessageId: 'ses-123' });
    const out = await new SesMailer(new SESv2Client({ region: 'us-east-1' })).send({
      to: ['dana@example.com'],
      from: 'amk@example.com',
      subject: 'Approval needed',
      text: 'text',
      html: '<p>html</p>',
    });
    expect(out).toEqual({ messageId: 'ses-123' });
    expect(ses.commandCalls(SendEmailCommand)[0]?.args[0].input).toEqual({
      FromEmailAddress: 'amk@example.com',
      Destination: { ToAddresses: ['dana@example.com'] },
      Content: {
        Simple: {
          Subject: { Data: 'Approval needed', Charset: 'UTF-8' },
          Body: { Text: { Data: 'text', Charset: 'UTF-8' }, Html: { Data: '<p>html</p>', Charset: 'UTF-8' } },
        },
      },
    });
    ses.restore();
  });

  it('fails fast naming every missing environment variable, the function and the port that needs it', async () => {
    const err = await buildStepDeps('approval-http', { APPROVALS_TABLE: 'a', SIGNING_KEY_SECRET_ARN: 'arn' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidConfigError);
    expect((err as Error).message).toMatch(/^environment of function approval-http: /);
    expect((err as Error).message).toContain('AUDIT_TABLE: is not set, and the audit port of function approval-http needs it');
    expect((err as Error).message).toContain('ACCOUNTS_TABLE: is not set, and the accounts port of function approval-http needs it');
  });

  it('refuses a signing key shorter than 32 bytes', () => {
    expect(() => signingKeyFromSecret({ SecretString: 'short' })).toThrow(/at least 32 bytes/);
    expect(signingKeyFromSecret({ SecretString: 'x'.repeat(40) })).toHaveLength(40);
  });

  it('shows account and stakeholder names on the page when the accounts table is available', async () => {
    const accounts = {
      get: async () => ({ name: 'Acme Corp' }),
      listStakeholders: async () => [{ id: 'st-1', name: 'Dana Buyer', title: 'CFO' }],
    } as unknown as AccountRepository;
    deps = { ...deps, names: accountNames(accounts) };
    const url = await pendingApproval();
    const res = await handleApprovalRequest(deps, requestFor(url, 'GET'));
    expect(res.body).toContain('Acme Corp');
    expect(res.body).toContain('Dana Buyer (CFO)');
  });
});

describe('RecordDecision', () => {
  it('records a rejection only when the stored approval holds one, and alerts a callback that says otherwise', async () => {
    const memory: unknown[] = [];
    const counters: Array<Record<string, number>> = [];
    const released: unknown[] = [];
    const store = new InMemoryApprovals();
    const log = new InMemoryAudit();
    const deps = {
      clock: () => now,
      approvals: store,
      audit: log,
      memory: { append: async (entries: unknown[]) => void memory.push(...entries) },
      runs: {
        addCounters: async (_runId: string, c: Record<string, number>) => void counters.push(c),
        get: async () => ({ runId: 'run-1', campaignId: 'c', now, counters: {} }),
        releaseSpend: async (r: unknown) => void released.push(r),
        releaseTouches: async (r: unknown) => void released.push(r),
      },
    } as unknown as StepDeps<'record-decision'>;
    await store.create({ ...queuedApproval(), status: 'pending', taskToken: TOKEN });
    // The callback says "rejected", but nobody decided: the stored approval is still pending.
    expect(await recordDecision(deps, { approvalId: 'apr-1', runId: 'run-1', timeoutSeconds: 3600, decision: { approvalId: 'apr-1', status: 'rejected' } })).toEqual({ recorded: false });
    expect(memory).toEqual([]);
    expect(counters).toEqual([]);
    expect(log.ofKind('alert')[0]?.data).toMatchObject({ alert: 'decision_mismatch', reported: 'rejected', stored: 'pending' });
    // Once it holds the rejection, it is recorded.
    await store.decide('apr-1', { status: 'rejected', at: now, by: 'dana@example.com', reason: 'not now' });
    expect(await recordDecision(deps, { approvalId: 'apr-1', runId: 'run-1', timeoutSeconds: 3600, decision: { approvalId: 'apr-1', status: 'rejected' } })).toEqual({ recorded: true });
    expect(counters).toEqual([{ rejected: 1 }]);
    expect(memory).toHaveLength(1);
    // What Govern reserved for the action goes back to the run and the agent's month.
    expect(released).toEqual([
      expect.objectContaining({ accountId: queuedApproval().accountId, actionId: queuedApproval().action.id }),
      expect.objectContaining({ runId: 'run-1', actionId: queuedApproval().action.id }),
    ]);
  });
});
