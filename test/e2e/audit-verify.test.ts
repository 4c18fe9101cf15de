/**
 * Tamper evidence, as an auditor would test it: after a real local run, events are edited, deleted
 * (in the middle and at the end), put in, and a stream is rewritten with recomputed hashes,
 * directly in the local DynamoDB. `amk audit verify` must exit non-zero naming the stream and the
 * position of each; the untouched run verifies clean.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentClient, createDynamoClient } from '../../shared/adapters/dynamodb/client.ts';
import { hashAuditEvent } from '../../shared/adapters/dynamodb/audit-log.ts';
import { appendAuditEvent, auditEventOfItem, auditEventKey, auditHeadKey } from '../../shared/adapters/dynamodb/requests.ts';
import { localTableName } from '../../shared/adapters/dynamodb/tables.ts';
import type { AuditEvent } from '../../shared/domain/model.ts';
import { decisionInputDigest, digestOfInputs } from '../../shared/domain/decision-input.ts';
import { TurnData } from '../../shared/domain/turn.ts';
import { startDynalite } from '../../local/dynalite.ts';
import { EVERY_NURTURE_ACTION, tempConfig } from '../integration/workflow-fixture.ts';

const run = promisify(execFile);

/** A digest of every file of a folder (names and bytes), to show a command wrote nothing. */
function folderDigest(dir: string): string {
  const hash = createHash('sha256');
  for (const name of (readdirSync(dir, { recursive: true }) as string[]).sort()) {
    const path = join(dir, name);
    if (statSync(path).isFile()) hash.update(name).update(readFileSync(path));
  }
  return hash.digest('hex');
}
const REPO = join(import.meta.dirname, '..', '..');
const BIN = join(REPO, 'local', 'cli', 'bin.mjs');
const TABLE = localTableName('audit');
/** An event in the middle of the run's stream (it holds more than twice as many). */
const MID = 2;

interface Finding {
  stream: string;
  seq: number;
  problem: string;
  detail: string;
}

async function verify(dataDir: string): Promise<{ code: number; report: { ok: boolean; findings: Finding[]; streams: number; events: number; digests: { files: number; valid: number } } }> {
  try {
    const { stdout } = await run('node', [BIN, 'audit', 'verify', '--json', '--data', dataDir], { cwd: REPO, timeout: 60_000 });
    return { code: 0, report: JSON.parse(stdout) };
  } catch (err) {
    const e = err as { code: number; stdout: string };
    return { code: e.code, report: JSON.parse(e.stdout) };
  }
}

describe('amk audit verify', () => {
  let base: string;
  let runId: string;
  let runIds: string[];
  let proposedTotal: number;
  let demoOutput: string;
  let config: ReturnType<typeof tempConfig> | undefined;
  const work: string[] = [];
  beforeAll(async () => {
    base = mkdtempSync(join(tmpdir(), 'amk-verify-'));
    // Every nurture action needs marketing ops: approvals are requested and decided in every run.
    config = tempConfig({ 'charters/nurture-agent.yaml': [EVERY_NURTURE_ACTION] });
    const { stdout, stderr } = await run('node', [BIN, 'run', '--campaign', config.campaignFile, '--runs', '2', '--accounts', '12', '--reset', '--json', '--data', join(base, 'data')], { cwd: REPO, timeout: 240_000 });
    runIds = (JSON.parse(stdout) as { runIds: string[] }).runIds;
    proposedTotal = (JSON.parse(stdout) as { actions: { proposed: number } }).actions.proposed;
    runId = runIds[0] as string;
    demoOutput = `${stdout}\n${stderr}`;
  }, 300_000);
  afterAll(() => {
    for (const dir of [base, ...work]) if (dir) rmSync(dir, { recursive: true, force: true });
    config?.cleanup();
  });

  /** A copy of the run's data, altered by `tamper` through the DynamoDB API, then verified. */
  async function tampered(tamper: (db: ReturnType<typeof documentClient>) => Promise<void>) {
    const dir = mkdtempSync(join(tmpdir(), 'amk-tamper-'));
    work.push(dir);
    cpSync(join(base, 'data'), dir, { recursive: true });
    const dynamo = await startDynalite({ path: join(dir, 'dynamodb') });
    const client = createDynamoClient({ endpoint: dynamo.endpoint });
    try {
      await tamper(documentClient(client));
    } finally {
      client.destroy();
      await dynamo.close();
    }
    return verify(dir);
  }

  const stream = () => `RUN#${runId}`;
  const events = async (db: ReturnType<typeof documentClient>, s: string): Promise<Array<Record<string, unknown>>> =>
    (await db.send(new QueryCommand({ TableName: TABLE, KeyConditionExpression: 'pk = :pk AND begins_with(sk, :p)', ExpressionAttributeValues: { ':pk': s, ':p': 'SEQ#' } }))).Items ?? [];
  const item = async (db: ReturnType<typeof documentClient>, seq: number) =>
    (await db.send(new GetCommand({ TableName: TABLE, Key: auditEventKey(stream(), seq) }))).Item as Record<string, unknown>;
  /** Stores an event as the writers would, but without their condition (an attacker's PutItem). */
  const store = (db: ReturnType<typeof documentClient>, e: AuditEvent) => {
    const { ConditionExpression: _c, ...put } = appendAuditEvent(TABLE, e);
    return db.send(new PutCommand(put));
  };
  const reseal = (e: AuditEvent, prevHash: string): AuditEvent => {
    const { hash: _h, ...rest } = { ...e, prevHash };
    return { ...rest, hash: hashAuditEvent(rest) };
  };
  const expectFinding = (report: { findings: Finding[] }, want: Partial<Finding>) => expect(report.findings).toContainEqual(expect.objectContaining(want));

  it('finds two untouched runs intact, with a valid signed digest per run', async () => {
    const { code, report } = await verify(join(base, 'data'));
    expect(report.findings).toEqual([]);
    expect(code).toBe(0);
    expect(report.digests).toEqual({ files: 2, valid: 2 });
    expect(report.events).toBeGreaterThan(20);
    const ownStream = await tampered(async (db) => void expect((await events(db, stream())).length).toBeGreaterThan(2 * MID));
    expect(ownStream.code).toBe(0);
  });

  it('names an edited event in the middle of a stream', async () => {
    const { code, report } = await tampered(async (db) => {
      await db.send(new PutCommand({ TableName: TABLE, Item: { ...(await item(db, MID)), actor: 'human:someone-else@example.com' } }));
    });
    expect(code).toBe(3);
    expectFinding(report, { stream: stream(), seq: MID, problem: 'edited' });
  });

  it('names an event deleted from the middle', async () => {
    const { code, report } = await tampered(async (db) => {
      await db.send(new DeleteCommand({ TableName: TABLE, Key: auditEventKey(stream(), MID) }));
    });
    expect(code).toBe(3);
    expectFinding(report, { stream: stream(), seq: MID, problem: 'deleted' });
  });

  it('names the last event deleted (the head says the stream went further)', async () => {
    let last = 0;
    const { code, report } = await tampered(async (db) => {
      last = (await events(db, stream())).length - 1;
      await db.send(new DeleteCommand({ TableName: TABLE, Key: auditEventKey(stream(), last) }));
    });
    expect(code).toBe(3);
    expectFinding(report, { stream: stream(), seq: last, problem: 'truncated' });
  });

  it('names the last event deleted even when the head is moved back with it (the signed digest says otherwise)', async () => {
    let last = 0;
    const { code, report } = await tampered(async (db) => {
      const all = await events(db, stream());
      last = all.length - 1;
      await db.send(new DeleteCommand({ TableName: TABLE, Key: auditEventKey(stream(), last) }));
      const before = auditEventOfItem(all[last - 1] as Record<string, unknown>);
      await db.send(new PutCommand({ TableName: TABLE, Item: { ...auditHeadKey(stream()), seq: before.seq, hash: before.hash } }));
    });
    expect(code).toBe(3);
    expectFinding(report, { stream: stream(), seq: last, problem: 'truncated' });
    expect(report.findings.find((f) => f.problem === 'truncated')?.detail).toContain('signed digest');
  });

  it('names a stream emptied with its head', async () => {
    const account = 'ACCOUNT#acc-0001';
    const { code, report } = await tampered(async (db) => {
      for (const e of await events(db, account)) await db.send(new DeleteCommand({ TableName: TABLE, Key: { pk: e.pk, sk: e.sk } }));
      await db.send(new DeleteCommand({ TableName: TABLE, Key: auditHeadKey(account) }));
    });
    expect(code).toBe(3);
    expectFinding(report, { stream: account, seq: 0, problem: 'truncated' });
  });

  it('names an event put in place of another with a valid hash of its own (the next event no longer links)', async () => {
    const { code, report } = await tampered(async (db) => {
      const forged = auditEventOfItem(await item(db, MID));
      await store(db, reseal({ ...forged, actor: 'human:forger@example.com' }, forged.prevHash));
    });
    expect(code).toBe(3);
    expectFinding(report, { stream: stream(), seq: MID + 1, problem: 'inserted' });
  });

  it('names an event appended around the writers (after the head)', async () => {
    let at = 0;
    const { code, report } = await tampered(async (db) => {
      const all = (await events(db, stream())).map((i) => auditEventOfItem(i));
      const last = all.at(-1) as AuditEvent;
      at = last.seq + 1;
      await store(db, reseal({ ...last, seq: at, key: undefined, kind: 'alert', actor: 'human:forger@example.com', data: { note: 'all fine' } } as AuditEvent, last.hash));
    });
    expect(code).toBe(3);
    expectFinding(report, { stream: stream(), seq: at, problem: 'unanchored' });
  });

  it('names a stream rewritten with recomputed hashes and a moved head (only the signed digest can tell)', async () => {
    let lastSeq = 0;
    const { code, report } = await tampered(async (db) => {
      const all = (await events(db, stream())).map((i) => auditEventOfItem(i));
      let prev = (all[MID - 1] as AuditEvent).hash;
      for (const e of all.slice(MID)) {
        const rewritten = reseal(e.seq === MID ? { ...e, actor: 'human:rewriter@example.com' } : e, prev);
        await store(db, rewritten);
        prev = rewritten.hash;
        lastSeq = e.seq;
      }
      await db.send(new PutCommand({ TableName: TABLE, Item: { ...auditHeadKey(stream()), seq: lastSeq, hash: prev } }));
    });
    expect(code).toBe(3);
    // The chain and the head agree with each other: the digest's signed head is what catches it.
    expect(report.findings.filter((f) => f.stream === stream()).map((f) => f.problem)).toEqual(['rewritten']);
    expectFinding(report, { stream: stream(), seq: lastSeq, problem: 'rewritten' });
  });

  it('refuses a digest whose content was changed after it was signed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'amk-tamper-'));
    work.push(dir);
    cpSync(join(base, 'data'), dir, { recursive: true });
    const { writeFileSync } = await import('node:fs');
    const bucket = readdirSync(join(dir, 's3'))[0] as string;
    const file = join(dir, 's3', bucket, 'digests', `${runId}.json`);
    const signed = JSON.parse(readFileSync(file, 'utf8')) as { digest: { heads: Array<{ seq: number }> } };
    (signed.digest.heads[0] as { seq: number }).seq += 1;
    writeFileSync(file, JSON.stringify(signed));
    const { code, report } = await verify(dir);
    expect(code).toBe(3);
    expectFinding(report, { problem: 'bad_digest' });
  });

  it('explains an account: its committee, each run\'s sub-goals, every proposal with why, its verdict and rules, the approval and the result', async () => {
    const before = folderDigest(join(base, 'data', 'dynamodb'));
    const { stdout } = await run('node', [BIN, 'explain', 'acc-0001', '--json', '--data', join(base, 'data')], { cwd: REPO, timeout: 60_000 });
    const story = JSON.parse(stdout) as {
      account: { id: string };
      committee: Array<{ name: string; role: string }>;
      turns: Array<{ runId: string; subGoals: Record<string, string[]>; decisions: Array<{ agentId: string; type: string; rationale: string; verdict: string; to: string[]; approvals: Array<{ decision?: { by: string } }>; sent?: { ok: boolean } }> }>;
    };
    expect(story.account.id).toBe('acc-0001');
    expect(story.committee.length).toBeGreaterThan(0);
    expect(story.turns.map((t) => t.runId)).toContain(runId);
    const decisions = story.turns.flatMap((t) => t.decisions);
    expect(decisions.length).toBeGreaterThan(0);
    for (const d of decisions) {
      expect(d.rationale.length).toBeGreaterThan(20);
      expect(d.to.length).toBeGreaterThan(0);
      // Every action that went out says so; every approval names who decided it.
      if (d.verdict === 'autonomous') expect(d.sent?.ok, `${d.type} ${d.verdict}`).toBeDefined();
      for (const a of d.approvals) if (a.decision) expect(a.decision.by).toMatch(/@/);
    }
    const text = (await run('node', [BIN, 'explain', 'acc-0001', '--data', join(base, 'data')], { cwd: REPO, timeout: 60_000 })).stdout;
    expect(text).toMatch(/^acc-0001 · .* · tier \d/);
    expect(text).toContain('Committee (');
    expect(text).toContain(`Run ${runId}`);
    expect(text).toContain('why: ');
    // Read-only: the data folder's tables are exactly as they were.
    expect(folderDigest(join(base, 'data', 'dynamodb'))).toBe(before);
    const unknown = await run('node', [BIN, 'explain', 'acc-9999', '--data', join(base, 'data')], { cwd: REPO }).catch((err: { code: number; stderr: string }) => err);
    expect((unknown as { code: number }).code).toBe(2);
    expect((unknown as { stderr: string }).stderr).toContain('no account acc-9999');
  });

  /** `amk audit query NAME --json` on the demo's logs. */
  const query = async (name: string, param?: string) =>
    (JSON.parse((await run('node', [BIN, 'audit', 'query', name, '--json', '--data', join(base, 'data'), ...(param ? ['--param', param] : [])], { cwd: REPO, timeout: 60_000 })).stdout) as { rows: Array<Record<string, number | string | null>> }).rows;
  const runStreams = async () => {
    const events: Array<{ kind: string; data: Record<string, unknown> }> = [];
    for (const id of runIds) {
      const { stdout } = await run('node', [BIN, 'audit', '--run', id, '--json', '--data', join(base, 'data')], { cwd: REPO, timeout: 60_000 });
      events.push(...(JSON.parse(stdout) as { events: typeof events }).events);
    }
    return events;
  };
  const total = (rows: Array<Record<string, unknown>>, field: string) => rows.reduce((s, r) => s + Number(r[field] ?? 0), 0);

  it('answers every named query from the logs of the run, agreeing with the audit trail; nothing executed without its approval', async () => {
    const events = await runStreams();
    const counters = events.filter((e) => e.kind === 'run_summarized').map((e) => e.data.counters as Record<string, number>);
    const sum = (key: string) => counters.reduce((s, c) => s + (c[key] ?? 0), 0);
    expect(await query('executed-without-approval')).toEqual([]);
    const perRun = await query('cost-and-volume-per-run');
    expect(perRun.map((r) => r.runId).sort()).toEqual([...runIds].sort());
    expect(total(perRun, 'proposed')).toBe(sum('proposed'));
    expect(total(perRun, 'spendUsd')).toBe(sum('spendUsd'));
    const agents = await query('agents-by-proposal-outcome');
    expect(total(agents, 'proposed')).toBe(sum('proposed'));
    expect(total(agents, 'blocked')).toBe(sum('blocked'));
    expect(total(agents, 'needingApproval')).toBe(sum('needsApproval'));
    expect(total(await query('blocked-by-guardrail'), 'blocked')).toBe(sum('blocked'));
    expect(total(await query('tool-failures-by-tool'), 'failures')).toBe(sum('toolFailures'));
    const decided = events.filter((e) => e.kind === 'approval_decided').length;
    expect(decided).toBeGreaterThan(0);
    const approvers = await query('approvals-by-approver');
    expect(total(approvers, 'decided')).toBe(decided);
    for (const r of approvers) expect(Number(r.avgSecondsToDecide)).toBeGreaterThanOrEqual(0);
    expect(total(await query('agents-by-approval-outcome'), 'decided')).toBe(decided);
    const story = JSON.parse((await run('node', [BIN, 'explain', 'acc-0001', '--json', '--data', join(base, 'data')], { cwd: REPO })).stdout) as { turns: Array<{ decisions: unknown[] }> };
    expect(await query('decisions-for-account', 'acc-0001')).toHaveLength(story.turns.flatMap((t) => t.decisions).length);
  }, 180_000);

  it('writes no task token, link signature or stakeholder address into any log line', async () => {
    const logs = join(base, 'data', 'logs');
    const text = (readdirSync(logs) as string[]).map((f) => readFileSync(join(logs, f), 'utf8')).join('\n') + demoOutput;
    expect(text.length).toBeGreaterThan(1000);
    expect(text).not.toMatch(/local-[A-Za-z0-9_-]{32}/);
    expect(text).not.toMatch(/[?&]sig=/);
    // Every address the agents wrote to (the prospects' emails) is a stakeholder's.
    const prospects = join(base, 'data', 'outbox', 'prospects');
    const addresses = new Set((readdirSync(prospects) as string[]).flatMap((f) => /^To: (.+)$/m.exec(readFileSync(join(prospects, f), 'utf8'))?.[1]?.split(/,\s*/) ?? []));
    expect(addresses.size).toBeGreaterThan(5);
    for (const address of addresses) expect(text, address).not.toContain(address.replace(/^.*<|>$/g, ''));
  });

  interface Replay {
    ok: boolean;
    turns: number;
    decisions: { replayed: number; identical: number };
    results: Array<{ stream: string; seq: number; result: string; differences: Array<{ path: string }>; detail?: string }>;
  }
  async function replay(dataDir: string, ...args: string[]): Promise<{ code: number; report: Replay }> {
    try {
      const { stdout } = await run('node', [BIN, 'audit', 'replay', ...args, '--json', '--data', dataDir], { cwd: REPO, timeout: 60_000 });
      return { code: 0, report: JSON.parse(stdout) };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, report: e.stdout ? JSON.parse(e.stdout) : { stderr: e.stderr } };
    }
  }
  /** A copy of the run's data whose first turn with a decision is rewritten by `change` (its event as read), then replayed. */
  async function replayAltered(change: (turn: AuditEvent) => AuditEvent): Promise<{ code: number; report: Replay; stream: string; seq: number }> {
    const dir = mkdtempSync(join(tmpdir(), 'amk-replay-'));
    work.push(dir);
    cpSync(join(base, 'data'), dir, { recursive: true });
    const dynamo = await startDynalite({ path: join(dir, 'dynamodb') });
    const client = createDynamoClient({ endpoint: dynamo.endpoint });
    const db = documentClient(client);
    let target: AuditEvent | undefined;
    try {
      const { report } = await replay(join(base, 'data'), '--run', runId);
      for (const r of report.results) {
        const e = auditEventOfItem((await db.send(new GetCommand({ TableName: TABLE, Key: auditEventKey(r.stream, r.seq) }))).Item as Record<string, unknown>);
        if (TurnData.parse(e.data).plans.some((p) => p.decisions.length > 0)) {
          target = e;
          break;
        }
      }
      if (target === undefined) throw new Error('no turn with a decision');
      const { ConditionExpression: _c, ...put } = appendAuditEvent(TABLE, change(target));
      await db.send(new PutCommand(put));
    } finally {
      client.destroy();
      await dynamo.close();
    }
    return { ...(await replay(dir, '--run', runId)), stream: target.stream, seq: target.seq };
  }
  /** The turn's account inputs, changed by `edit`, with their digests recomputed (so only the replay can tell). */
  const withInputs = (edit: (inputs: { observed: { stakeholders: Array<{ id: string; doNotContact: boolean }> } }) => void, redigest: boolean) => (turn: AuditEvent): AuditEvent => {
    const data = structuredClone(turn.data) as { input: { digest: string; account: { value: unknown; digest: string } } };
    edit(data.input.account.value as never);
    if (redigest) {
      const accountDigest = digestOfInputs(data.input.account.value);
      // The decision digest binds the run's inputs digest and the account's: recompute it the way Record does.
      data.input = { digest: decisionInputDigest(runInputsDigest, accountDigest), account: { value: data.input.account.value, digest: accountDigest } };
    }
    return { ...turn, data };
  };
  let runInputsDigest = '';

  it('replays every decision of both runs identically from the inputs the trail recorded, as many as the runs proposed', async () => {
    let replayed = 0;
    for (const id of runIds) {
      const { code, report } = await replay(join(base, 'data'), '--run', id);
      expect(report.results.filter((r) => r.result !== 'identical')).toEqual([]);
      expect(code).toBe(0);
      expect(report.decisions.identical).toBe(report.decisions.replayed);
      replayed += report.decisions.replayed;
    }
    expect(replayed).toBeGreaterThan(10);
    expect(replayed).toBe(proposedTotal);
  });

  it('replays one decision by its action id', async () => {
    const { report: all } = await replay(join(base, 'data'), '--run', runId);
    const dir = join(base, 'data');
    const withDecision = all.results.find((r) => r.result === 'identical' && (r as { decisions?: number }).decisions !== 0);
    expect(withDecision).toBeDefined();
    const story = JSON.parse((await run('node', [BIN, 'explain', String(withDecision?.stream).replace('ACCOUNT#', ''), '--json', '--data', dir], { cwd: REPO })).stdout) as { turns: Array<{ runId: string; decisions: Array<{ actionId: string }> }> };
    const actionId = story.turns.filter((t) => t.runId === runId).flatMap((t) => t.decisions)[0]?.actionId as string;
    expect(actionId).toBeTruthy();
    const { code, report } = await replay(dir, actionId);
    expect(code).toBe(0);
    expect(report.turns).toBe(1);
    expect(report.decisions.identical).toBeGreaterThanOrEqual(1);
  });

  it('reports a decision whose recorded inputs no longer give it (inputs changed, digests recomputed) as different, naming the field', async () => {
    // The run's inputs digest, as the run_started event recorded it.
    const start = await replay(join(base, 'data'), '--run', runId);
    expect(start.code).toBe(0);
    const events0 = await (async () => {
      const dynamoDir = mkdtempSync(join(tmpdir(), 'amk-read-'));
      work.push(dynamoDir);
      cpSync(join(base, 'data', 'dynamodb'), join(dynamoDir, 'dynamodb'), { recursive: true });
      const dynamo = await startDynalite({ path: join(dynamoDir, 'dynamodb') });
      const client = createDynamoClient({ endpoint: dynamo.endpoint });
      try {
        return await events(documentClient(client), stream());
      } finally {
        client.destroy();
        await dynamo.close();
      }
    })();
    const started = events0.map((i) => auditEventOfItem(i)).find((e) => e.kind === 'run_started') as AuditEvent;
    runInputsDigest = (started.data as { inputs: { digest: string } }).inputs.digest;
    const { code, report, stream: s, seq } = await replayAltered(
      withInputs((inputs) => {
        for (const person of inputs.observed.stakeholders) person.doNotContact = true;
      }, true),
    );
    expect(code).toBe(3);
    const altered = report.results.find((r) => r.stream === s && r.seq === seq);
    expect(altered?.result).toBe('different');
    expect(altered?.differences.length).toBeGreaterThan(0);
    expect(altered?.differences[0]?.path).toMatch(/^plans\[\d+\]/);
    expect(report.results.filter((r) => r.result !== 'identical')).toHaveLength(1);
  });

  it('reports recorded inputs changed without their digest as altered', async () => {
    const { code, report, stream: s, seq } = await replayAltered(
      withInputs((inputs) => {
        for (const person of inputs.observed.stakeholders) person.doNotContact = true;
      }, false),
    );
    expect(code).toBe(3);
    expect(report.results.find((r) => r.stream === s && r.seq === seq)).toMatchObject({ result: 'altered', detail: expect.stringMatching(/account's inputs: the stored inputs hash to/) });
  });

  it('says what to do for a run it does not know, with exit code 2', async () => {
    const failed = await run('node', [BIN, 'audit', 'replay', '--run', 'no-such-run', '--data', join(base, 'data')], { cwd: REPO }).catch((err: { code: number; stderr: string }) => err);
    expect((failed as { code: number }).code).toBe(2);
    expect((failed as { stderr: string }).stderr).toMatch(/no run no-such-run in the audit trail/);
    expect((failed as { stderr: string }).stderr).not.toMatch(/\n\s+at /);
  });

  it('says how to get data when the folder holds none, with exit code 2 and no stack trace', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'amk-empty-'));
    work.push(empty);
    const failed = await run('node', [BIN, 'audit', 'verify', '--data', empty], { cwd: REPO }).catch((err: { code: number; stderr: string }) => err);
    expect((failed as { code: number }).code).toBe(2);
    expect((failed as { stderr: string }).stderr).toMatch(/no data in .*run `npm start`/);
    expect((failed as { stderr: string }).stderr).not.toMatch(/\n\s+at /);
  });
});
