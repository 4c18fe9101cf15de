/**
 * Chaos: weekly runs of the embedded default (`amk run`, one process per run) with every Lambda
 * step delivered twice, tools failing transiently, DynamoDB throttled, the run process killed
 * with SIGKILL in the middle of its work and started again with the same run id, and two runs
 * overlapping on one book. Then it checks, from the data itself (the tables, the audit trail and
 * the world's own journal of what reached it), that nothing happened twice and nothing was lost:
 *
 * - duplicates:         no action reached the world more than once (the market's journal), and
 *                       every one that did went through its idempotency record (`tool#<action>`);
 * - touchCapOverruns:   no stakeholder or account touched more often in a week than the guardrails allow;
 * - spendCapOverruns:   no run spent more than maxSpendPerRunUsd, no agent more than its monthly budget;
 * - lostUnsubscribes:   no email reached anyone who had unsubscribed (or is do-not-contact);
 * - versionMismatches:  every account's version equals the observations recorded for it (each one bumped it once);
 * - counterMismatches:  each run's counters equal a recount from its audit trail;
 * - undecidedApprovals: every approval a run queued was decided or expired;
 * - brokenChains:       every audit stream's hash chain verifies.
 *
 *   npm run chaos -- [--accounts N] [--weeks W] [--kills K] [--faults SPEC] [--seed S] [--keep] [--json]
 *
 * It prints the figures and exits 1 on any violation. --json prints
 * `{ accountIterations, injected: {...}, kills, violations: {...} }` (and the details).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import * as z from 'zod';
import { LocalRuntime } from '../local/runtime.ts';
import { verifyChain } from '../shared/adapters/dynamodb/audit-log.ts';
import { decisionsOfTurn } from '../shared/domain/turn.ts';
import { isTouchChannel, isoWeekOf } from '../shared/domain/governance.ts';
import type { Action } from '../shared/domain/model.ts';
import { IdempotencyConfig, IdempotencyItemNotFoundError } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { createDynamoClient } from '../shared/adapters/dynamodb/client.ts';
import { localTableName } from '../shared/adapters/dynamodb/tables.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
process.env.CDK_DISABLE_CLI_TELEMETRY ??= 'true';

const ROOT = resolve(import.meta.dirname, '..');
const CAMPAIGN = 'config/campaigns/q1-committee-expansion.yaml';

const Flags = z.object({
  accounts: z.coerce.number().int().min(10).max(5_000),
  weeks: z.coerce.number().int().min(3).max(52).optional(),
  kills: z.coerce.number().int().min(0).max(20),
  faults: z.string().min(1),
  seed: z.string().min(1),
  keep: z.boolean(),
  json: z.boolean(),
});

function parseFlags(): z.infer<typeof Flags> {
  const { values } = parseArgs({
    options: {
      accounts: { type: 'string', default: '120' },
      weeks: { type: 'string' },
      kills: { type: 'string', default: '3' },
      faults: { type: 'string', default: 'tools=0.2,throttle=0.02,duplicates' },
      seed: { type: 'string', default: 'chaos' },
      keep: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  });
  const parsed = Flags.safeParse(values);
  if (!parsed.success) {
    for (const i of parsed.error.issues) console.error(`chaos: --${i.path.join('.')}: ${i.message} (got ${JSON.stringify((values as Record<string, unknown>)[String(i.path[0])])})`);
    process.exit(2);
  }
  return parsed.data;
}

/** Lines of the world's journal (one per touch that reached it). */
function journalLines(dataDir: string): number {
  const file = join(dataDir, 'market-touches.jsonl');
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '').length : 0;
}

interface ChildResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `amk run` once. With `killAfterTouches`, sends SIGKILL once that many more touches reached
 * the world (mid-run, with side effects in flight); resolves when the process is gone.
 */
function amkRun(args: string[], dataDir: string, killAfterTouches?: number): Promise<ChildResult & { killed: boolean }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, ['local/cli/bin.mjs', 'run', ...args], {
      cwd: ROOT,
      // Retries of the state machine wait 20 ms instead of seconds: the same retries, sooner.
      env: { ...process.env, AMK_RETRY_INTERVAL_MS: '20', AMK_FAULTS: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    let killed = false;
    const start = journalLines(dataDir);
    const timer =
      killAfterTouches === undefined
        ? undefined
        : setInterval(() => {
            if (journalLines(dataDir) - start >= killAfterTouches && child.exitCode === null) {
              killed = child.kill('SIGKILL');
              clearInterval(timer);
            }
          }, 25);
    child.on('exit', (code, signal) => {
      if (timer) clearInterval(timer);
      done({ code, signal, stdout, stderr, killed: killed && signal === 'SIGKILL' });
    });
  });
}

type Injected = Record<string, number>;

function addInjected(total: Injected, stdout: string): void {
  try {
    const report = JSON.parse(stdout) as { injected?: Record<string, number> };
    for (const [k, n] of Object.entries(report.injected ?? {})) total[k] = (total[k] ?? 0) + n;
  } catch {
    // A killed run prints nothing; what it injected is not counted.
  }
}

async function main(): Promise<void> {
  const flags = parseFlags();
  const weeks = flags.weeks ?? Math.max(4, Math.ceil(1_000 / flags.accounts) + 1);
  const dataDir = mkdtempSync(join(tmpdir(), 'amk-chaos-'));
  const log = (line: string) => {
    if (!flags.json) console.log(line);
  };
  log(`chaos: ${flags.accounts} accounts, ${weeks} weekly runs, faults ${flags.faults}, ${flags.kills} kill -9, data in ${dataDir}`);
  const injected: Injected = {};
  let kills = 0;
  const failedParts: string[] = [];
  const runIds: string[] = [];
  const started = Date.now();
  for (let week = 1; week <= weeks; week++) {
    const runId = `chaos-w${week}`;
    // The second week has a manual run beside the scheduled one: two runs on one book at once.
    const alongside = week === 2 ? `${runId}-manual` : undefined;
    runIds.push(runId, ...(alongside ? [alongside] : []));
    const args = ['--run-id', runId, '--data', dataDir, '--accounts', String(flags.accounts), '--seed', flags.seed, '--faults', flags.faults, '--json', ...(alongside ? ['--alongside', alongside] : [])];
    let attempts = 0;
    for (;;) {
      attempts += 1;
      // Kill the first attempts of the first weeks, a few touches into their work.
      const kill = kills < flags.kills && attempts === 1 ? 1 + ((week * 7) % 5) : undefined;
      const result = await amkRun(args, dataDir, kill);
      if (result.killed) {
        kills += 1;
        log(`  week ${week}: killed (kill -9) ${kill} touches into the run; starting ${runId} again`);
        continue;
      }
      addInjected(injected, result.stdout);
      if (result.code !== 0) {
        const reason = result.stderr.split('\n').filter((l) => l.startsWith('amk:')).join(' | ') || `exit ${result.code}`;
        failedParts.push(`${runId}: ${reason}`);
      }
      log(`  week ${week}: ${runId}${alongside ? ` and ${alongside}` : ''} done (${attempts} start(s), exit ${result.code})`);
      break;
    }
  }
  const seconds = (Date.now() - started) / 1000;

  // ---- The invariants, from the data -----------------------------------------------------------
  const runtime = await LocalRuntime.start({ campaignFile: resolve(ROOT, CAMPAIGN), dataDir, accounts: flags.accounts, seed: flags.seed });
  try {
    const { deps, bundle, market } = runtime;
    const violations = {
      duplicates: 0,
      touchCapOverruns: 0,
      spendCapOverruns: 0,
      lostUnsubscribes: 0,
      versionMismatches: 0,
      counterMismatches: 0,
      undecidedApprovals: 0,
      brokenChains: 0,
    };
    const details: string[] = [];
    const flag = (kind: keyof typeof violations, what: string) => {
      violations[kind] += 1;
      if (details.length < 50) details.push(`${kind}: ${what}`);
    };

    // What reached the world, from its own journal.
    const touches = readFileSync(join(dataDir, 'market-touches.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => (JSON.parse(l) as { touch: { actionId: string; accountId: string; channel: string; stakeholderIds: string[]; at: string } }).touch);
    const arrivals = new Map<string, number>();
    for (const t of touches) arrivals.set(t.actionId, (arrivals.get(t.actionId) ?? 0) + 1);
    for (const [actionId, n] of arrivals) if (n > 1) flag('duplicates', `action ${actionId} reached the world ${n} times`);
    // The same, from the idempotency records (Powertools, as the functions configure it): each
    // action in the world has one; one left in progress is a call a killed delivery held.
    const client = createDynamoClient({ endpoint: runtime.endpoints.dynamodb });
    const records = new DynamoDBPersistenceLayer({ tableName: localTableName('idempotency'), awsSdkV3Client: client });
    records.configure({ config: new IdempotencyConfig({ eventKeyJmesPath: 'key', throwOnNoIdempotencyKey: true, hashFunction: 'sha256' }), keyPrefix: 'amk' });
    const recordStatus: Record<string, number> = {};
    for (const actionId of arrivals.keys()) {
      try {
        const status = (await records.getRecord({ key: `tool#${actionId}` })).getStatus();
        recordStatus[status] = (recordStatus[status] ?? 0) + 1;
      } catch (err) {
        if (!(err instanceof IdempotencyItemNotFoundError)) throw err;
        flag('duplicates', `action ${actionId} reached the world without an idempotency record`);
      }
    }
    client.destroy();

    const { maxTouchesPerStakeholderPerWeek: perStakeholder, maxTouchesPerAccountPerWeek: perAccount } = bundle.guardrails.contactPressure;
    const weekly = new Map<string, number>();
    for (const t of touches) {
      if (!isTouchChannel(t.channel as Action['channel'])) continue;
      const week = isoWeekOf(t.at);
      weekly.set(`account ${t.accountId} in ${week}`, (weekly.get(`account ${t.accountId} in ${week}`) ?? 0) + 1);
      for (const s of new Set(t.stakeholderIds)) weekly.set(`stakeholder ${s} in ${week}`, (weekly.get(`stakeholder ${s} in ${week}`) ?? 0) + 1);
    }
    for (const [what, n] of weekly) {
      const cap = what.startsWith('account') ? perAccount : perStakeholder;
      if (n > cap) flag('touchCapOverruns', `${what}: ${n} touches, limit ${cap}`);
    }

    const truth = market.truth();
    if (truth.violations > 0) flag('lostUnsubscribes', `${truth.violations} email or sales deliveries reached opted-out or do-not-contact people`);

    // Runs: counters against a recount of their audit trail, spend, approvals, chains.
    let accountIterations = 0;
    const spendByAgentMonth = new Map<string, number>();
    const costOf = new Map<string, number>();
    for (const runId of runIds) {
      const run = await deps.runs.get(runId);
      if (!run) {
        flag('counterMismatches', `run ${runId} has no header`);
        continue;
      }
      const c = run.counters;
      accountIterations += c['accounts'] ?? 0;
      const events = await deps.audit.readRun(runId);
      let executed = 0;
      let approved = 0;
      let spend = 0;
      let needsApproval = 0;
      let blocked = 0;
      for (const e of events) {
        if (e.kind === 'turn') {
          for (const d of decisionsOfTurn(e)) {
            costOf.set(d.action.id, d.action.costUsd);
            if (d.verdict?.outcome === 'needs_approval') needsApproval += 1;
            if (d.verdict?.outcome === 'blocked') blocked += 1;
            if (d.verdict?.outcome === 'autonomous' && d.toolResult?.ok === true) {
              executed += 1;
              spend += d.action.costUsd;
              const key = `${d.action.agentId} ${run.now.slice(0, 7)}`;
              spendByAgentMonth.set(key, (spendByAgentMonth.get(key) ?? 0) + d.action.costUsd);
            }
          }
        }
        if (e.kind === 'tool_call') {
          // An approved action's call names its approval; a deferred send's does not.
          if (e.data['approvalId'] !== undefined) approved += 1;
          const result = e.data['result'] as { ok?: boolean } | undefined;
          if (result?.ok === true) {
            executed += 1;
            const cost = costOf.get(String(e.data['actionId'])) ?? 0;
            spend += cost;
            const key = `${e.agentId ?? ''} ${run.now.slice(0, 7)}`;
            spendByAgentMonth.set(key, (spendByAgentMonth.get(key) ?? 0) + cost);
          }
        }
      }
      const recount = { executed, approved, needsApproval, blocked, spendUsd: spend };
      for (const [name, n] of Object.entries(recount)) {
        if (Math.abs((c[name] ?? 0) - n) > 1e-9) flag('counterMismatches', `run ${runId}: counter ${name} is ${c[name] ?? 0}, its audit trail says ${n}`);
      }
      if (spend > bundle.guardrails.budget.maxSpendPerRunUsd) flag('spendCapOverruns', `run ${runId} spent $${spend}, limit $${bundle.guardrails.budget.maxSpendPerRunUsd}`);
      for (let shard = 0; shard < bundle.campaign.shards; shard++) {
        for (const id of await deps.approvals.listIdsForRunShard(runId, shard)) {
          const approval = await deps.approvals.get(id);
          if (approval && (approval.status === 'queued' || approval.status === 'pending')) flag('undecidedApprovals', `run ${runId}: approval ${id} is still ${approval.status}`);
        }
      }
      const chain = verifyChain(await deps.audit.readStream(`RUN#${runId}`));
      if (!chain.ok) flag('brokenChains', `RUN#${runId} breaks at event ${chain.brokenAt}`);
    }
    for (const [key, spend] of spendByAgentMonth) {
      const [agentId] = key.split(' ');
      const cap = bundle.charters.find((ch) => ch.charter.id === agentId)?.charter.budgets.spendPerMonthUsd ?? Infinity;
      if (spend > cap) flag('spendCapOverruns', `agent ${key}: spent $${spend}, budget $${cap}`);
    }

    // Accounts: one version per recorded observation, and intact chains.
    for (const account of market.book().accounts) {
      const stored = await deps.accounts.get(account.id);
      const events = await deps.audit.readStream(`ACCOUNT#${account.id}`);
      const chain = verifyChain(events);
      if (!chain.ok) flag('brokenChains', `ACCOUNT#${account.id} breaks at event ${chain.brokenAt}`);
      const observations = events.filter((e) => e.kind === 'turn' && (e.data as { observed?: unknown }).observed !== undefined).length;
      const version = stored?.version ?? 0;
      if (version !== observations) flag('versionMismatches', `account ${account.id} is at version ${version}, ${observations} observation(s) recorded`);
    }

    const total = Object.values(violations).reduce((a, b) => a + b, 0);
    const figures = {
      accountIterations,
      weeks,
      runs: runIds.length,
      seconds: Math.round(seconds),
      injected: { ...injected, kills },
      kills,
      touches: touches.length,
      idempotencyRecords: recordStatus,
      failedParts,
      violations,
      ...(details.length > 0 ? { details } : {}),
    };
    if (flags.json) {
      console.log(JSON.stringify(figures, null, 2));
    } else {
      log('');
      log(`  account-iterations  ${accountIterations} over ${runIds.length} runs (${Math.round(seconds)} s)`);
      log(`  injected            ${Object.entries(injected).map(([k, n]) => `${k} ${n}`).join(', ')}; kill -9 ${kills}`);
      log(`  world               ${touches.length} touches, ${arrivals.size} distinct actions; their idempotency records: ${Object.entries(recordStatus).map(([k, n]) => `${k} ${n}`).join(', ')}`);
      if (failedParts.length > 0) log(`  failed parts        ${failedParts.join('; ')}`);
      for (const [k, n] of Object.entries(violations)) log(`  ${k.padEnd(20)}${n}`);
      for (const d of details) log(`    ${d}`);
      log(total === 0 ? '\nchaos: no invariant violated' : `\nchaos: ${total} violation(s)`);
    }
    process.exitCode = total === 0 ? 0 : 1;
  } finally {
    await runtime.close();
    if (!flags.keep) rmSync(dataDir, { recursive: true, force: true });
    else log(`data kept in ${dataDir} (${statSync(dataDir).isDirectory() ? 'folder' : ''})`);
  }
}

await main();
