/**
 * What deploys is what runs, grant by grant. A real week on the embedded default (every function
 * built from its own synthesized environment, every SDK call checked against its synthesized IAM
 * statements) is recorded: each invocation's event and the calls it made. Then, for every
 * function, each IAM statement and each environment variable is taken away one at a time, and an
 * invocation that needed it is run again through the real handler and composition root (its AWS
 * answers played back, the IAM check live): it must fail, naming the function and what is missing.
 * A statement no recorded call used would be a grant no path needs, and fails the test.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { pathToFileURL } from 'node:url';
import { join, resolve } from 'node:path';
import { readdirSync } from 'node:fs';
import { readEml } from '../../local/outbox.ts';
import { createHash } from 'node:crypto';
import { PROJECT_ROOT } from '../../cdk/constructs/agent-function.ts';
import { approvalDepsOf } from '../../functions/approval-http/deps.ts';
import { createHandler as createApprovalHandler } from '../../functions/approval-http/handler.ts';
import { buildStepDeps, type Platform } from '../../shared/adapters/lambda/compose.ts';
import { STEP_NAMES, type StepName } from '../../shared/app/steps.ts';
import { CassettePlayer, replayingTools, type InvocationRecord } from '../../local/engine/cassette.ts';
import { IamGuard, iamRequestsOf, type IamGrantUse, type ResolvedStatement } from '../../local/engine/iam.ts';
import { localStateMachineArn, type TemplateFunction } from '../../local/engine/template.ts';
import type { FunctionWiring, LocalRuntime } from '../../local/runtime.ts';
import { NURTURE_RULE_WHEN, runWeekWith, startTestRuntime, tempConfig } from './workflow-fixture.ts';
import { signalRequestHeaders } from '../../shared/domain/signals-signature.ts';
import { SIGNALS_EVENT_DETAIL_TYPE, SIGNALS_EVENT_SOURCE } from '../../shared/domain/signals-batch.ts';
import { sesEventOf } from '../../local/engine/ses-events.ts';

/**
 * Statements the Lambda service itself uses on the function's behalf (writing its log stream,
 * sending its traces); no code path calls them, so no replay can show them missing.
 */
const PLATFORM_ACTIONS = /^(logs:CreateLogStream|logs:PutLogEvents|xray:PutTraceSegments|xray:PutTelemetryRecords)$/;
/** Read by the Node.js runtime at start-up (source-mapped stack traces), not by the code. */
const RUNTIME_VARIABLES = new Set(['NODE_OPTIONS']);
/** Set by Lambda itself for every function (not in the template). */
const LAMBDA_VARIABLES = new Set(['AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_LAMBDA_FUNCTION_NAME', 'LAMBDA_TASK_ROOT']);

const statementKey = (st: Pick<ResolvedStatement, 'policy' | 'index'> | Pick<IamGrantUse, 'policy' | 'statement'>) =>
  `${st.policy}#${'index' in st ? st.index : st.statement}`;

describe('every grant and variable of every function is needed, and its absence fails as in AWS', () => {
  // Two weeks that take every path: nurture actions approved or rejected by marketing ops, executive
  // briefings whose first seat times out and escalates to the CMO (or is approved, with the second
  // seat), actions for people in Sydney deferred to their morning and sent then, most steps
  // delivered twice, signals observed in the second week, a transient tool failure in Act, in
  // ActApproved and in SendDeferred, a failing approval branch, and the first run started again.
  // (The sample's quiet hours: a run at 14:00 UTC is the middle of the night in Sydney.)
  const config = tempConfig({
    // Nurture emails at tier-1 accounts need marketing ops (the others go out on their own), and
    // every executive contact needs the account director, whatever the tier (the agents choose
    // which accounts they brief: every approval path must run whichever they pick).
    'charters/nurture-agent.yaml': [[NURTURE_RULE_WHEN, '{ all: [ { field: action.type, op: eq, value: nurture_email }, { field: account.tier, op: eq, value: 1 } ] }']],
    'charters/executive-outreach-agent.yaml': [
      ['approvalTimeoutHours: 72', 'approvalTimeoutHours: 0.002'],
      ['- { field: account.tier, op: eq, value: 1 }', '- { field: account.tier, op: in, value: [1, 2, 3] }'],
      // And the two-person rule too (a C-level briefing at any tier needs the director and the CMO).
      ['- { field: account.tier, op: eq, value: 1 }', '- { field: account.tier, op: in, value: [1, 2, 3] }'],
    ],
  });
  const invocations: InvocationRecord[] = [];
  const uses: IamGrantUse[] = [];
  let env: Awaited<ReturnType<typeof startTestRuntime>>;
  let runtime: LocalRuntime;
  let functions: TemplateFunction[];
  let campaignRunArn: string;

  beforeAll(async () => {
    env = await startTestRuntime(config.campaignFile, {
      accounts: 20,
      toolFaultsOf: { act: [2], 'act-approved': [1], 'send-deferred': [1] },
      // Steps retried after their first delivery had finished: tool calls, emails and keyed audit
      // events replay (the second delivery reads the claim of each key).
      duplicateDelivery: ['load-campaign', 'govern', 'record', 'act-approved', 'request-approval', 'record-decision', 'approval-timed-out', 'list-send-slots', 'send-deferred', 'summarize', 'record-failure'],
      // An approval email fails past the SDK's retries: RequestApproval fails once and is retried.
      failApprovalEmails: 3,
      // One approval branch fails (its RecordDecision): RecordFailure alerts it.
      stepFaults: { 'record-decision': [1] },
      // The first run report fails past the SDK's retries: Summarize fails once and is retried.
      failReportEmails: 3,
      onInvocation: (r) => invocations.push(r),
      onIamAllowed: (u) => uses.push(u),
    });
    runtime = env.runtime;
    // The people of a few accounts live in Sydney: their actions wait for 07:00 there.
    for (const account of runtime.market.book().accounts.slice(0, 6)) {
      for (const s of await runtime.deps.accounts.listStakeholders(account.id)) await runtime.deps.accounts.putStakeholder({ ...s, timeZone: 'Australia/Sydney' });
    }
    // A person unsubscribed before the first run (a signal the CRM stored): Observe suppresses them.
    const quitter = (await runtime.deps.accounts.listStakeholders(runtime.market.book().accounts[7]?.id ?? ''))[0];
    if (!quitter) throw new Error('no stakeholder to unsubscribe');
    await runtime.deps.accounts.putSignals([{ id: 'lp-unsubscribe', accountId: quitter.accountId, stakeholderId: quitter.id, kind: 'unsubscribe', at: runtime.clock() }]);
    functions = [...runtime.template.functions.values()];
    campaignRunArn = localStateMachineArn(runtime.campaignRun.logicalId);
    const decide = (id: string): 'approve' | 'reject' => ((createHash('sha256').update(id).digest()[0] as number) % 2 === 0 ? 'reject' : 'approve');
    // The account director lets the first of their sole approvals expire (whichever the agents'
    // choices make it; a seat of a two-person rule could not escalate to the CMO, who holds the
    // other seat), so the timeout and escalation path runs; they decide the others.
    const leftToExpire = new Set<string>();
    const ignore = async (id: string, to: readonly string[]) => {
      if (!to.includes('account-director@example.com')) return false;
      if (leftToExpire.size === 0 && (await runtime.deps.approvals.get(id))?.quorum === undefined) leftToExpire.add(id);
      return leftToExpire.has(id);
    };
    const first = await runWeekWith(runtime, { decide, ignore });
    await runWeekWith(runtime, { decide, ignore });
    // The first run started again (a scheduler double-fire): it resumes and replays its ledger.
    await runtime.runWeek({ runId: first.result.runId });
    // The daily audit verification (its schedule's other target) checks what the runs signed.
    // (delivered twice, as Scheduler may: the second finds its record there).
    const verifiedAt = runtime.clock();
    expect((await runtime.verifyAudit(verifiedAt)).findings).toBe(0);
    await runtime.verifyAudit(verifiedAt);
    // Someone on the internet tries a forged link: refused and counted.
    expect((await fetch(new URL('/approvals/apr-forged?a=x&exp=1&sig=y', runtime.approvalUrl))).status).toBe(400);
    // Signals in: a signed batch (stored, its replay refused, sent anew, an unsigned one refused),
    // signal events on the bus, and SES's bounce of a prospect email, each delivered twice.
    const [one, two] = runtime.market.book().stakeholders;
    if (!one || !two) throw new Error('no stakeholders');
    const body = JSON.stringify({ signals: [{ id: 'lp-bounce', accountId: one.accountId, stakeholderId: one.id, kind: 'bounce', at: runtime.clock() }] });
    const signedAt = (s: number) => signalRequestHeaders(runtime.deps.signalsKey, Math.floor(Date.parse(runtime.clock()) / 1000) + s, body);
    const post = (headers: Record<string, string>) => fetch(new URL('/signals', runtime.signals.url), { method: 'POST', headers, body }).then((r) => r.status);
    const headers = signedAt(0);
    expect(await post(headers)).toBe(200);
    expect(await post(headers)).toBe(409);
    expect(await post(signedAt(1))).toBe(200);
    expect(await post({})).toBe(401);
    const batch = { source: SIGNALS_EVENT_SOURCE, detailType: SIGNALS_EVENT_DETAIL_TYPE, detail: { signals: [{ id: 'lp-complaint', accountId: two.accountId, stakeholderId: two.id, kind: 'complaint', at: runtime.clock() }] } };
    await runtime.putEvents([batch, batch, { ...batch, detail: { signals: [] } }]);
    const sent = runtime.signals.sentProspectEmails.find((e) => e.to.length === 1 && !e.to.includes(one.email) && !e.to.includes(two.email));
    if (!sent) throw new Error('no prospect email to bounce');
    const bounce = sesEventOf(sent, 'bounce', { at: runtime.clock() });
    await runtime.putEvents([bounce, bounce]);
    // A prospect follows the one-click unsubscribe link of an email (RFC 8058 POST), twice.
    const prospects = join(runtime.outboxDir, 'prospects');
    const email = readEml(join(prospects, readdirSync(prospects).filter((f) => f.endsWith('.eml')).sort()[0] as string));
    const unsubscribeUrl = /^<(.+)>$/.exec(email.headers['list-unsubscribe'] ?? '')?.[1];
    if (unsubscribeUrl === undefined) throw new Error('no List-Unsubscribe header');
    for (let i = 0; i < 2; i += 1) {
      expect((await fetch(unsubscribeUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' })).status).toBe(200);
    }
  }, 240_000);
  afterAll(async () => {
    await env?.stop();
    config.cleanup();
  });

  const wiringOf = (fn: TemplateFunction): FunctionWiring => runtime.wiring.get(fn.logicalId) as FunctionWiring;
  const ofFunction = (fn: TemplateFunction) => invocations.filter((r) => r.logicalId === fn.logicalId);

  /**
   * Runs a recorded invocation again through the real handler, wired as given; the error it fails
   * with: the first refused call if there was one (what the handler does after it, e.g. clean up,
   * is off the recording), else the error the handler ended with.
   */
  async function replay(fn: TemplateFunction, record: InvocationRecord, wiring: FunctionWiring): Promise<string | undefined> {
    // A cold start's calls (the signing key) happened in the function's first invocation only.
    const coldStart = invocations.filter((r) => r.logicalId === fn.logicalId).flatMap((r) => r.calls.filter((c) => c.service === 'secretsmanager'));
    const player = new CassettePlayer([...coldStart, ...record.calls]);
    const guard = new IamGuard({
      functionName: fn.name,
      logicalId: fn.logicalId,
      roleLogicalId: fn.roleLogicalId,
      statements: wiring.statements,
      stateMachineOfToken: () => campaignRunArn,
      onDenied: (e) => void denials.push(`${e.name}: ${e.message}`),
    });
    const denials: string[] = [];
    const platform: Platform = {
      // Nothing may be sent: every answer comes from the recording (the player refuses the network).
      clientConfig: () => ({ endpoint: 'http://127.0.0.1:9', region: 'us-east-1', credentials: { accessKeyId: 'replay', secretAccessKey: 'replay' } }),
      instrument: (client, service) => {
        guard.attach(client, service);
        player.attach(client, service);
      },
      clock: () => record.at,
      // The world's answers as recorded: a transient fault of the first delivery fails again.
      tools: (connectors) => replayingTools(connectors, record.tools),
    };
    const name = fn.name as StepName;
    const context = { functionName: fn.logicalId, awsRequestId: 'replay', getRemainingTimeInMillis: () => 30_000, callbackWaitsForEmptyEventLoop: false };
    if (name === 'approval-http') {
      // The page never shows the cause; the function's log does.
      const logged: string[] = [];
      const spy = vi.spyOn(console, 'error').mockImplementation((line: unknown) => void logged.push(String(line)));
      try {
        const handler = createApprovalHandler(async () =>
          approvalDepsOf(await buildStepDeps('approval-http', wiring.env, platform), { allowSimulatedReviewer: true, log: (e) => logged.push(JSON.stringify(e)) }),
        );
        await handler(record.event as APIGatewayProxyEventV2, context as unknown as Context);
      } finally {
        spy.mockRestore();
      }
      return denials[0] ?? logged.find((l) => /AccessDenied|InvalidConfig/.test(l));
    }
    const mod = (await import(pathToFileURL(resolve(PROJECT_ROOT, fn.entry)).href)) as {
      createHandler: (deps: () => Promise<unknown>) => (e: unknown, c: unknown) => Promise<unknown>;
    };
    const handler = mod.createHandler(() => buildStepDeps(name, wiring.env, platform));
    // Like the approval page, the signals endpoint answers a cold-start failure with a 500 and logs the cause.
    const logged: string[] = [];
    const logSpy = vi.spyOn(console, 'error').mockImplementation((line: unknown) => void logged.push(String(line)));
    try {
      await handler(structuredClone(record.event), context);
      return denials[0] ?? logged.find((l) => /AccessDenied|InvalidConfig/.test(l));
    } catch (err) {
      if (denials[0] !== undefined) return denials[0];
      const chain: string[] = [];
      for (let e: unknown = err; e instanceof Error; e = e.cause) chain.push(`${e.name}: ${e.message}`);
      return chain.length > 0 ? chain.join(' <- ') : String(err);
    } finally {
      logSpy.mockRestore();
    }
  }

  it('recorded every function of the template at work, each through its own wiring', () => {
    const invoked = new Set(invocations.map((r) => r.functionName));
    expect([...invoked].sort()).toEqual([...STEP_NAMES].sort());
    expect(functions).toHaveLength(STEP_NAMES.length);
  });

  it('replays every recorded invocation unchanged without an error (the playback is faithful)', async () => {
    for (const fn of functions) {
      for (const record of ofFunction(fn).filter((r) => r.failed !== true).slice(0, 5)) expect(await replay(fn, record, wiringOf(fn)), fn.name).toBeUndefined();
    }
  }, 60_000);

  it('uses every action of every IAM statement of every function on some path (no grant that no code needs)', () => {
    const used = new Set(uses.map((u) => `${u.functionName} ${statementKey(u)} ${u.action}`));
    const unused: string[] = [];
    for (const fn of functions) {
      for (const st of wiringOf(fn).statements) {
        // A Deny grants nothing (the audit table's append-only guard): no path uses it.
        if (st.effect === 'Deny') continue;
        for (const action of st.actions) {
          if (PLATFORM_ACTIONS.test(action)) continue;
          if (!used.has(`${fn.name} ${statementKey(st)} ${action}`)) unused.push(`${fn.name}: ${action} on ${st.resources.join(',')}`);
        }
      }
    }
    expect(unused).toEqual([]);
  });

  it('fails a function when any one action is taken from its grants, with AccessDenied naming the function, the action and the resource', async () => {
    const checked: string[] = [];
    for (const fn of functions) {
      const wiring = wiringOf(fn);
      for (const st of wiring.statements) {
        if (st.effect === 'Deny') continue;
        for (const action of st.actions) {
          if (PLATFORM_ACTIONS.test(action)) continue;
          const use = uses.find((u) => u.functionName === fn.name && statementKey(u) === statementKey(st) && u.action === action) as IamGrantUse;
          // An invocation that made a call this action of this statement allowed (one that went
          // through first: a failed one may end before it).
          const made = (r: InvocationRecord) =>
            r.calls.some((c) => iamRequestsOf(c.service, c.commandName, c.input, () => campaignRunArn).some((q) => q.action === action && q.anyOf.includes(use.resource)));
          const record = ofFunction(fn).find((r) => r.failed !== true && made(r)) ?? ofFunction(fn).find(made);
          expect(record, `${fn.name}: an invocation that used ${action}`).toBeDefined();
          const statements = wiring.statements.flatMap((s) =>
            statementKey(s) !== statementKey(st) ? [s] : s.actions.length > 1 ? [{ ...s, actions: s.actions.filter((a) => a !== action) }] : [],
          );
          const error = await replay(fn, record as InvocationRecord, { ...wiring, statements });
          const what = `${fn.name} without ${action} on ${st.resources.join(',')}`;
          expect(error, what).toBeDefined();
          expect(error, what).toContain('AccessDenied');
          expect(error, what).toContain(`function ${fn.name}`);
          expect(error, what).toContain(action);
          expect(error, what).toContain(use.resource);
          checked.push(`${fn.name} ${action}`);
        }
      }
    }
    // Each function has at least one grant of its own beyond logs and traces.
    expect(new Set(checked.map((c) => c.split(' ')[0])).size).toBe(STEP_NAMES.length);
  }, 120_000);

  it('fails a function whose environment variable is removed, naming the function and the variable', async () => {
    let checked = 0;
    for (const fn of functions) {
      const wiring = wiringOf(fn);
      const record = ofFunction(fn)[0] as InvocationRecord;
      for (const variable of Object.keys(wiring.env)) {
        if (RUNTIME_VARIABLES.has(variable) || LAMBDA_VARIABLES.has(variable)) continue;
        const { [variable]: _removed, ...rest } = wiring.env;
        const error = await replay(fn, record, { ...wiring, env: rest });
        expect(error, `${fn.name} without ${variable}`).toBeDefined();
        expect(error).toContain(`environment of function ${fn.name}`);
        expect(error).toContain(`${variable}: is not set`);
        checked += 1;
      }
    }
    expect(checked).toBeGreaterThan(STEP_NAMES.length);
  }, 60_000);
});
