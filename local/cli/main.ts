/**
 * `amk`: the command line of the embedded default. Every command accepts `--json`. Errors are
 * printed as one clear message naming the file, field or value and how to fix it, with a non-zero
 * exit code and no stack trace (set AMK_DEBUG=1 for one).
 */
import { Connectors } from '../../shared/domain/connectors.ts';
import { ContentLibrary } from '../../shared/domain/content.ts';
import { Command, CommanderError, Option } from 'commander';
import { join, relative } from 'node:path';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import * as z from 'zod';
import { InvalidConfigError } from '../../shared/domain/errors.ts';
import { loadYamlFile } from '../../shared/config/load.ts';
import { Campaign, Charter, Guardrails } from '../../shared/domain/config.ts';
import { tmpdir } from 'node:os';
import { LocalRuntime, NoImportedBookError } from '../runtime.ts';
import { grantsOf, renderGrants, templateFor } from './grants.ts';
import { FaultSpecError, parseFaults, type FaultPlan } from '../engine/faults.ts';
import { SimulatedReviewer, newApprovalLinks } from '../reviewer.ts';
import { verifyChain } from '../../shared/adapters/dynamodb/audit-log.ts';
import { NoDataError, openReadOnly, type ReadOnlyData } from '../audit/read-only.ts';
import { verifyAudit } from '../audit/verify.ts';
import { runAuditQuery } from '../audit/query.ts';
import { registerImportCommands } from './import.ts';
import { registerSignalsCommands } from './signals.ts';
import { NothingToReplayError, renderReplay, replayAudit, type ReplayReport } from '../audit/replay.ts';
import { AUDIT_QUERIES, auditQuery, renderQuery } from '../../shared/domain/audit-queries.ts';
import { explainAccount, renderExplanation, UnknownAccountError, type Explanation } from '../audit/explain.ts';
import type { AuditEvent } from '../../shared/domain/model.ts';
import { TurnData, decisionsOfTurn } from '../../shared/domain/turn.ts';
import { RUN_REPORT_FILE, renderRunLine, renderSummary, summarize, type CampaignReport } from './report.ts';
import { renderRunReportHtml } from './run-report-html.ts';
import { RunSummary } from '../../shared/app/contracts.ts';
import { DEFAULT_PRICES_FILE, loadPrices } from '../engine/cost-inputs.ts';

const DEFAULT_CAMPAIGN = 'config/campaigns/q1-committee-expansion.yaml';

/** Thrown for a bad command-line value; printed without a stack. */
class UsageError extends Error {
  override readonly name = 'UsageError';
}

const out = (text: string) => process.stdout.write(`${text}\n`);
const rel = (p: string) => relative(process.cwd(), p) || '.';

interface RunFlags {
  campaign: string;
  runs?: string;
  reviewer: string;
  accounts: string;
  book?: 'simulated' | 'imported';
  seed: string;
  data: string;
  reset?: boolean;
  json?: boolean;
  port: string;
  prices: string;
  assembly?: string;
  faults?: string;
  runId?: string;
  alongside?: string;
}

const positiveOrZero = (name: string, value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 60_000) throw new UsageError(`${name} expects a whole number of milliseconds from 0 to 60000, got "${value}"`);
  return n;
};

const positiveInt = (name: string, value: string, max: number): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new UsageError(`--${name} expects a whole number from 1 to ${max}, got "${value}"`);
  return n;
};

/** Runs a campaign for N weekly runs on the embedded default and reports what happened. */
async function runCommand(flags: RunFlags): Promise<number> {
  const runs = positiveInt('runs', flags.runs ?? (flags.runId !== undefined ? '1' : '6'), 52);
  if (flags.runId !== undefined && runs !== 1) throw new UsageError(`--run-id starts or resumes exactly one run; drop --runs ${flags.runs ?? ''}`.trimEnd());
  for (const [flag, id] of [['--alongside', flags.alongside]] as const) {
    if (id !== undefined && (!/^[A-Za-z0-9_-]{1,80}$/.test(id) || id === flags.runId)) {
      throw new UsageError(`${flag} expects a run id other than --run-id's (letters, digits, "-" or "_", at most 80), got "${id}"`);
    }
  }
  if (flags.runId !== undefined && !/^[A-Za-z0-9_-]{1,80}$/.test(flags.runId)) {
    throw new UsageError(`--run-id expects letters, digits, "-" or "_" (at most 80; it names the Step Functions execution), got "${flags.runId}"`);
  }
  const accounts = positiveInt('accounts', flags.accounts, 100_000);
  const port = Number(flags.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port expects 0 (any free port) or a port number, got "${flags.port}"`);
  if (flags.reviewer !== 'simulated' && flags.reviewer !== 'human') throw new UsageError(`--reviewer expects "simulated" or "human", got "${flags.reviewer}"`);
  const json = Boolean(flags.json);
  const tty = !json && process.stdout.isTTY;
  const started = Date.now();
  // Before anything starts: a bad prices file fails like a bad campaign file, naming the field.
  const prices = loadPrices(flags.prices);
  const faultSpec = flags.faults ?? process.env.AMK_FAULTS;
  let faults: FaultPlan | undefined;
  try {
    faults = faultSpec !== undefined && faultSpec !== '' ? parseFaults(faultSpec, flags.seed) : undefined;
  } catch (err) {
    if (err instanceof FaultSpecError) throw new UsageError(err.message);
    throw err;
  }
  if (flags.book === 'imported' && flags.reset) throw new UsageError('--book imported runs on the book `amk import` put in --data; --reset would delete it (leave out --reset)');
  let runtime: LocalRuntime;
  try {
    runtime = await LocalRuntime.start({
    campaignFile: flags.campaign,
    dataDir: flags.data,
    reset: flags.reset,
    seed: flags.seed,
    accounts,
    ...(flags.book !== undefined ? { book: flags.book } : {}),
    approvalPort: port,
    ...(flags.assembly !== undefined ? { assemblyDir: flags.assembly } : {}),
    ...(faults !== undefined ? { faults } : {}),
    // Retry waits of the state machine, in ms (npm run chaos shortens them; unset, the definition's own).
    ...(process.env.AMK_RETRY_INTERVAL_MS !== undefined && process.env.AMK_RETRY_INTERVAL_MS !== '' ? { retryIntervalMs: positiveOrZero('AMK_RETRY_INTERVAL_MS', process.env.AMK_RETRY_INTERVAL_MS) } : {}),
    });
  } catch (err) {
    if (err instanceof NoImportedBookError) throw new UsageError(err.message);
    throw err;
  }
  const reviewer = flags.reviewer === 'simulated' ? new SimulatedReviewer(runtime.outboxDir, { seed: flags.seed }) : undefined;
  const seenEmails = new Set(readdirSync(runtime.outboxDir));
  let humanTimer: NodeJS.Timeout | undefined;
  try {
    if (!json) {
      const agents = runtime.bundle.charters.map((c) => c.charter.id).join(', ');
      out(`Autonomous Marketing — ${runtime.bundle.campaign.name} on the embedded default`);
      out(`  agents     ${agents}`);
      out(`  workflow   ${runtime.campaignRun.logicalId} from ${flags.assembly !== undefined ? `the cloud assembly ${rel(flags.assembly)}` : 'cdk synth'} (sha256 ${runtime.campaignRun.sha256.slice(0, 12)}…), run by aws-local-stepfunctions`);
      out(`  functions  ${runtime.wiring.size}, each with only its template's environment and IAM (every SDK call checked)`);
      out(`  database   dynalite on 127.0.0.1, data in ${rel(runtime.dataDir)}/dynamodb`);
      out(`  approvals  ${runtime.approvalUrl}/approvals/… — reviewer: ${reviewer ? 'SIMULATED (follows each emailed link: GET the page, POST the form)' : 'you: open the links printed below'}`);
      out(`  signals    ${runtime.signals.url}/signals — signed batches (README "Signals in"), and the EventBridge rules for amk.signals and SES events`);
      out('');
    }
    reviewer?.start();
    if (!reviewer) {
      humanTimer = setInterval(() => {
        for (const link of newApprovalLinks(runtime.outboxDir, seenEmails)) out(`  approval needed → ${link}`);
      }, 200);
    }
    const results = [];
    for (let week = 1; week <= runs; week++) {
      // Progress by pages worked: every page ends with NextPage (more to come) or ShardDone.
      let pages = 0;
      const { pageSize } = runtime.bundle.campaign;
      const book = runtime.market.size;
      const result = await runtime.runWeek({
        ...(flags.runId !== undefined ? { runId: flags.runId } : {}),
        ...(flags.alongside !== undefined && week === 1 ? { alongside: flags.alongside } : {}),
        onEvent: (e) => {
          if (tty && e.type === 'StateEntered' && (e.state === 'NextPage' || e.state === 'ShardDone')) {
            pages += 1;
            const worked = Math.min(book, pages * pageSize);
            const width = 20;
            const filled = Math.round((worked / book) * width);
            process.stdout.write(`\r  week ${week}/${runs} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ~${worked}/${book} accounts`);
          }
        },
      });
      if (tty) process.stdout.write('\r\x1b[2K');
      results.push(result);
      if (!json) out(renderRunLine(week, result));
    }
    const report: CampaignReport = await summarize(runtime, results, { startedAt: started, reviewer: reviewer ? 'simulated' : 'human', decisions: reviewer?.decisions.length ?? 0, prices });
    const weeks = results.map((r, i) => ({ week: i + 1, date: r.now.slice(0, 10), runId: r.runId, counters: RunSummary.parse(r.summary).counters }));
    writeFileSync(join(runtime.dataDir, RUN_REPORT_FILE), renderRunReportHtml(report, weeks, { generatedAt: new Date().toISOString(), command: `amk ${process.argv.slice(2).join(' ')}` }));
    // A run that completed with failed shards or approval branches did not do its work: say what
    // failed (the alerts of its audit stream) and exit non-zero.
    const failures = await failuresOf(runtime, results.map((r) => r.runId));
    const injected = faults !== undefined ? runtime.faults.snapshot() : undefined;
    const sideEffects = results.reduce((t, r) => ({ new: t.new + r.sideEffects.new, replayed: t.replayed + r.sideEffects.replayed }), { new: 0, replayed: 0 });
    if (json) out(JSON.stringify({ ...report, sideEffects, failures, ...(injected ? { injected } : {}) }, null, 2));
    else {
      out(renderSummary(report));
      out(`  effects    ${sideEffects.new} new (tool calls that reached the market, emails sent); ${sideEffects.replayed} page(s) replayed from the run's ledger`);
      if (injected) out(`  faults     injected (${faultSpec}): ${Object.entries(injected).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    }
    for (const f of failures) {
      console.error(`amk: run ${f.runId}: ${f.alert.replace('_', ' ')}${f.shard !== undefined ? ` (shard ${f.shard})` : ''}${f.approvalId !== undefined ? ` (approval ${f.approvalId})` : ''}: ${f.cause || f.error}`);
    }
    if (failures.length > 0) console.error(`amk: ${failures.length} part(s) of the run failed and were skipped; the rest completed (see \`amk audit --run <runId>\`).`);
    return failures.length > 0 ? 1 : 0;
  } finally {
    if (humanTimer) clearInterval(humanTimer);
    await reviewer?.stop();
    await runtime.close();
  }
}

/** A failed part of a run, from its audit stream. */
interface RunFailure {
  readonly runId: string;
  readonly alert: string;
  readonly shard?: number;
  readonly approvalId?: string;
  readonly error: string;
  readonly cause: string;
}

/** The shards and approval branches that failed in these runs (their `*_failed` alerts). */
async function failuresOf(runtime: LocalRuntime, runIds: readonly string[]): Promise<RunFailure[]> {
  const failures: RunFailure[] = [];
  for (const runId of runIds) {
    for (const e of await runtime.deps.audit.readStream(`RUN#${runId}`)) {
      const alert = e.data['alert'];
      if (e.kind !== 'alert' || typeof alert !== 'string' || !alert.endsWith('_failed')) continue;
      failures.push({
        runId,
        alert,
        ...(typeof e.data['shard'] === 'number' ? { shard: e.data['shard'] } : {}),
        ...(typeof e.data['approvalId'] === 'string' ? { approvalId: e.data['approvalId'] } : {}),
        error: String(e.data['error'] ?? ''),
        cause: String(e.data['cause'] ?? ''),
      });
    }
  }
  return failures;
}

/** Prints an audit stream (a run's or an account's), and checks its hash chain; reads the data folder read-only. */
async function auditCommand(flags: { run?: string; account?: string; data: string; json?: boolean }): Promise<number> {
  if (!flags.run === !flags.account) throw new UsageError('give exactly one of --run RUN_ID or --account ACCOUNT_ID (see `amk run` output for run ids), or `amk audit verify`');
  const data = await readOnly(flags.data);
  try {
    const stream = flags.run ? `RUN#${flags.run}` : `ACCOUNT#${flags.account}`;
    const events = await data.audit.readStream(stream);
    const chain = verifyChain(events);
    if (flags.json) {
      out(JSON.stringify({ stream, events, chain }, null, 2));
    } else {
      if (events.length === 0) out(`No audit events in ${stream}. Run ids look like q1-committee-expansion-20270104T140000 (\`amk run\` prints them); account ids like acc-0001.`);
      for (const e of events) {
        const lines = e.kind === 'turn' ? describeTurn(e) : [JSON.stringify(e.data).slice(0, 160)];
        out(`${String(e.seq).padStart(4)}  ${e.at}  ${e.kind.padEnd(22)} ${e.actor.padEnd(34)} ${lines[0] ?? ''}`);
        for (const line of lines.slice(1)) out(`        · ${line}`);
      }
      out('');
      out(chain.ok ? `hash chain: intact (${events.length} events)` : `hash chain: BROKEN at seq ${chain.brokenAt} — the audit trail was altered`);
      out('(`amk audit verify` checks every stream: chains, heads against truncation, and the signed run digests against rewrites)');
    }
    return chain.ok ? 0 : 3;
  } finally {
    await data.close();
  }
}

/** The data folder, read-only; a missing one is a usage error that says how to get data. */
async function readOnly(dataDir: string): Promise<ReadOnlyData> {
  try {
    return await openReadOnly(dataDir);
  } catch (err) {
    if (err instanceof NoDataError) throw new UsageError(err.message);
    throw err;
  }
}

/** Verifies every audit stream, its head and every signed run digest; exit 3 when anything was altered. */
async function auditVerifyCommand(flags: { data: string; json?: boolean }): Promise<number> {
  const data = await readOnly(flags.data);
  try {
    const report = await verifyAudit(data);
    if (flags.json) {
      out(JSON.stringify(report, null, 2));
    } else {
      out(`${report.streams} streams, ${report.events} events, ${report.digests.valid} of ${report.digests.files} run digest(s) with a valid signature`);
      for (const f of report.findings) out(`  ${f.problem.toUpperCase().padEnd(10)} ${f.stream} seq ${f.seq}: ${f.detail}`);
      out(report.ok ? 'audit trail: intact (every chain links, every head matches, every signed head is in its stream)' : `audit trail: ALTERED — ${report.findings.length} finding(s) above`);
    }
    return report.ok ? 0 : 3;
  } finally {
    await data.close();
  }
}

/** Replays a run's decisions (or one decision) on their recorded inputs; exit 3 when one differs or its inputs were altered. */
async function auditReplayCommand(decisionId: string | undefined, flags: { data: string; run?: string; json?: boolean }): Promise<number> {
  if ((decisionId === undefined) === (flags.run === undefined)) throw new UsageError('give a DECISION_ID (an action id, from `amk explain ACCOUNT_ID`) or --run RUN_ID, not both');
  const data = await readOnly(flags.data);
  try {
    let report: ReplayReport;
    try {
      report = await replayAudit(data, flags.run !== undefined ? { runId: flags.run } : { decisionId: decisionId as string });
    } catch (err) {
      if (err instanceof NothingToReplayError) throw new UsageError(err.message);
      throw err;
    }
    out(flags.json ? JSON.stringify(report, null, 2) : renderReplay(report).join('\n'));
    return report.ok ? 0 : 3;
  } finally {
    await data.close();
  }
}

/** A named audit query over the data folder's logs, as its QueryDefinition runs in CloudWatch. */
async function auditQueryCommand(name: string | undefined, flags: { data: string; param?: string; since?: string; json?: boolean; list?: boolean }): Promise<number> {
  if (name === undefined || flags.list) {
    if (flags.json) out(JSON.stringify(AUDIT_QUERIES.map((q) => ({ name: q.name, description: q.description, ...(q.param ? { param: q.param.name } : {}), insights: renderQuery(q) })), null, 2));
    else for (const q of AUDIT_QUERIES) out(`${q.name.padEnd(28)} ${q.description}${q.param ? ` (--param <${q.param.name}>)` : ''}`);
    return 0;
  }
  const query = auditQuery(name);
  if (query === undefined) throw new UsageError(`no query "${name}"; the queries are: ${AUDIT_QUERIES.map((q) => q.name).join(', ')}`);
  if (query.param && flags.param === undefined) throw new UsageError(`query ${name} needs --param <${query.param.name}> (e.g. --param acc-0001)`);
  if (flags.since !== undefined && Number.isNaN(Date.parse(flags.since))) throw new UsageError(`--since expects an ISO time like 2027-01-04T00:00:00Z, got "${flags.since}"`);
  let rows: Array<Record<string, unknown>>;
  try {
    rows = runAuditQuery(flags.data, query, flags.param, flags.since === undefined ? undefined : new Date(flags.since).toISOString());
  } catch (err) {
    if (err instanceof NoDataError) throw new UsageError(err.message);
    throw err;
  }
  if (flags.json) {
    out(JSON.stringify({ query: query.name, insights: renderQuery(query, flags.param), rows }, null, 2));
    return 0;
  }
  out(`${query.name}: ${query.description}`);
  if (rows.length === 0) {
    out('  (no rows)');
    return 0;
  }
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cell = (v: unknown): string => (v === null || v === undefined ? '' : typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(1) : String(v));
  const widths = columns.map((c) => Math.min(48, Math.max(c.length, ...rows.map((r) => cell(r[c]).length))));
  out(`  ${columns.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ')}`);
  for (const r of rows) out(`  ${columns.map((c, i) => cell(r[c]).slice(0, 48).padEnd(widths[i] ?? 0)).join('  ')}`);
  out(`  ${rows.length} row(s)`);
  return 0;
}

/** One account's story from the audit trail (read-only). */
async function explainCommand(accountId: string, flags: { data: string; json?: boolean }): Promise<number> {
  if (!/^[A-Za-z0-9_-]{1,80}$/.test(accountId)) throw new UsageError(`ACCOUNT_ID expects an account id like acc-0001, got "${accountId}"`);
  const data = await readOnly(flags.data);
  try {
    let story: Explanation;
    try {
      story = await explainAccount(data, accountId);
    } catch (err) {
      if (err instanceof UnknownAccountError) throw new UsageError(err.message);
      throw err;
    }
    out(flags.json ? JSON.stringify(story, null, 2) : renderExplanation(story).join('\n'));
    return 0;
  } finally {
    await data.close();
  }
}

/** An account's turn as lines: what was observed, then each decision with its verdict and why. */
function describeTurn(event: AuditEvent): string[] {
  const parsed = TurnData.safeParse(event.data);
  if (!parsed.success) return [JSON.stringify(event.data).slice(0, 160)];
  const { observed } = parsed.data;
  const head = observed
    ? `observed ${observed.signals.length} signal(s); stage ${observed.stageBefore}${observed.stageAfter === observed.stageBefore ? '' : ` → ${observed.stageAfter}`}, consensus ${observed.consensus.toFixed(2)}`
    : 'no new signals';
  const decisions = decisionsOfTurn(event).map((d) => {
    const v = d.verdict;
    const verdict = !v
      ? 'no verdict'
      : v.outcome === 'blocked'
        ? `BLOCKED by ${v.guardrail}`
        : v.outcome === 'needs_approval'
          ? `NEEDS APPROVAL (${v.rules.map((r) => r.ruleId).join(', ')})`
          : d.toolResult?.ok === false
            ? `autonomous, tool failed: ${d.toolResult.detail ?? ''}`
            : d.toolResult === null && d.action.notBefore !== undefined
              ? `autonomous, deferred to ${d.action.notBefore} (its send is in the run's stream)`
              : 'autonomous, executed';
    return `${d.agentId}: ${d.action.type} → ${verdict} — ${d.action.rationale}`;
  });
  return [head, ...decisions];
}

const SCHEMAS = { charter: Charter, campaign: Campaign, guardrails: Guardrails, content: ContentLibrary, connectors: Connectors } as const;

/** Validates charter (or campaign/guardrails) files; exit 2 naming each problem. */
function validateCommand(kind: keyof typeof SCHEMAS, files: string[], flags: { json?: boolean }): number {
  const results = files.map((file) => {
    try {
      const { hash } = loadYamlFile(file, SCHEMAS[kind]);
      return { file, ok: true as const, hash };
    } catch (err) {
      if (err instanceof InvalidConfigError) return { file, ok: false as const, problems: err.problems };
      throw err;
    }
  });
  if (flags.json) out(JSON.stringify({ results }, null, 2));
  else
    for (const r of results) {
      if (r.ok) out(`ok       ${r.file} (sha256 ${r.hash.slice(0, 12)}…)`);
      else for (const p of r.problems) out(`invalid  ${r.file}: ${p.path}: ${p.message}`);
    }
  return results.every((r) => r.ok) ? 0 : 2;
}

/** Builds the command tree. */
export function buildProgram(): Command {
  const program = new Command('amk')
    .description('Autonomous Marketing: governed AI agents for account-based B2B campaigns (embedded default)')
    .showHelpAfterError('(run `amk --help` for usage)')
    .enablePositionalOptions()
    .exitOverride();
  const runOptions = (cmd: Command) =>
    cmd
      .option('--campaign <file>', 'campaign YAML (charters and guardrails are found relative to it)', DEFAULT_CAMPAIGN)
      .option('--runs <n>', 'weekly runs to make (default 6; 1 with --run-id)')
      .addOption(new Option('--reviewer <who>', 'who decides approvals').choices(['simulated', 'human']).default('simulated'))
      .option('--accounts <n>', 'accounts in the simulated market (when it is created)', '60')
      .addOption(new Option('--book <which>', 'the book a new market is made of: a simulated one, or the one `amk import` put in --data (the simulator answers for it)').choices(['simulated', 'imported']))
      .option('--seed <seed>', 'seed of the market and of the planners', 'amk-demo')
      .option('--data <dir>', 'data folder (dynalite, outbox, market, the local secrets)', '.data')
      .option('--port <port>', 'port of the approval page server (0 = any free port)', '0')
      .option('--prices <file>', 'list prices the cost estimate uses', relative(process.cwd(), DEFAULT_PRICES_FILE) || DEFAULT_PRICES_FILE)
      .option('--json', 'print one JSON object instead of the report');
  runOptions(program.command('run').description('run a campaign for N weekly runs on the synthesized state machine'))
    .option('--reset', 'start from empty data')
    .option('--assembly <dir>', 'run this cloud assembly (the cdk.out you are about to deploy) instead of synthesizing one')
    .option('--run-id <id>', 'start or resume exactly this run (a repeated id replays what the run already did)')
    .option('--alongside <id>', 'start another run with this id at the same time, on the same book and clock (overlapping runs)')
    .option('--faults <spec>', 'inject faults, e.g. tools=0.2,throttle=0.05,duplicates (also AMK_FAULTS)')
    .action(async (flags: RunFlags) => {
      process.exitCode = await runCommand(flags);
    });
  runOptions(program.command('demo').description('what `npm start` runs: the sample campaign, 6 weeks, from empty data, simulated reviewer'))
    .action(async (flags: RunFlags) => {
      process.exitCode = await runCommand({ ...flags, reset: true });
    });
  const audit = program
    .command('audit')
    .description('print a run\'s or an account\'s audit trail and verify its hash chain (read-only)')
    .enablePositionalOptions()
    .option('--run <runId>', 'a run id (printed by `amk run`)')
    .option('--account <accountId>', 'an account id, e.g. acc-0001')
    .option('--data <dir>', 'data folder', '.data')
    .option('--json', 'print JSON')
    .action(async (flags) => {
      process.exitCode = await auditCommand(flags);
    });
  audit
    .command('query [name]')
    .description('run a named audit query over the logs (the same query CloudWatch Logs Insights runs); without a name, list them')
    .option('--param <value>', "the query's parameter (decisions-for-account: an account id)")
    .option('--since <iso>', 'only log lines from this time on')
    .option('--list', 'list the queries')
    .option('--data <dir>', 'data folder', '.data')
    .option('--json', 'print JSON (with the Logs Insights text)')
    .action(async (name: string | undefined, flags: { data: string; param?: string; since?: string; json?: boolean; list?: boolean }) => {
      process.exitCode = await auditQueryCommand(name, flags);
    });
  audit
    .command('verify')
    .description('verify every audit stream: hash chains, heads (truncation) and the signed run digests (rewrites); exit 3 if altered')
    .option('--data <dir>', 'data folder', '.data')
    .option('--json', 'print JSON')
    .action(async (flags: { data: string; json?: boolean }) => {
      process.exitCode = await auditVerifyCommand(flags);
    });
  audit
    .command('replay [decisionId]')
    .description('plan and govern again on the recorded inputs and compare with the record: one decision (an action id) or --run RUN_ID; exit 3 if any differs')
    .option('--run <runId>', 'every decision of a run')
    .option('--data <dir>', 'data folder', '.data')
    .option('--json', 'print JSON')
    .action(async (decisionId: string | undefined, flags: { data: string; run?: string; json?: boolean }) => {
      process.exitCode = await auditReplayCommand(decisionId, flags);
    });
  program
    .command('explain <accountId>')
    .description("why the agents did what they did at one account: committee, stages, signals, every proposal, its verdict and rules, the approval, the result (read-only)")
    .option('--data <dir>', 'data folder', '.data')
    .option('--json', 'print JSON')
    .action(async (accountId: string, flags: { data: string; json?: boolean }) => {
      process.exitCode = await explainCommand(accountId, flags);
    });
  program
    .command('grants')
    .description("what each function may touch as deployed: its environment variables and IAM statements")
    .option('--assembly <dir>', 'read them from this cloud assembly (cdk.out) instead of synthesizing the config folder')
    .option('--config <dir>', 'config folder to synthesize', 'config')
    .option('--json', 'print JSON')
    .action((flags: { assembly?: string; config: string; json?: boolean }) => {
      const grants = grantsOf(templateFor({ ...(flags.assembly !== undefined ? { assembly: flags.assembly } : {}), configDir: flags.config, outdir: tmpdir() }));
      out(flags.json ? JSON.stringify(grants, null, 2) : renderGrants(grants));
    });
  const charter = program.command('charter').description('agent operating charters');
  charter
    .command('validate <files...>')
    .description('validate charter files')
    .option('--json', 'print JSON')
    .action((files: string[], flags: { json?: boolean }) => {
      process.exitCode = validateCommand('charter', files, flags);
    });
  program
    .command('validate <kind> <files...>')
    .description('validate charter, campaign, guardrails, content (library) or connectors files')
    .option('--json', 'print JSON')
    .action((kind: string, files: string[], flags: { json?: boolean }) => {
      if (!(kind in SCHEMAS)) throw new UsageError(`kind must be one of ${Object.keys(SCHEMAS).join(', ')}, got "${kind}"`);
      process.exitCode = validateCommand(kind as keyof typeof SCHEMAS, files, flags);
    });
  program
    .command('schema <kind>')
    .description('print the JSON Schema of charter, campaign, guardrails, content or connectors files (for editors)')
    .option('--json', 'print JSON (the schema is JSON either way)')
    .action((kind: string) => {
      if (!(kind in SCHEMAS)) throw new UsageError(`kind must be one of ${Object.keys(SCHEMAS).join(', ')}, got "${kind}"`);
      out(JSON.stringify(z.toJSONSchema(SCHEMAS[kind as keyof typeof SCHEMAS], { io: 'input', unrepresentable: 'any' }), null, 2));
    });
  registerImportCommands(program);
  registerSignalsCommands(program, { usageError: (m) => new UsageError(m), defaultCampaign: DEFAULT_CAMPAIGN });
  return program;
}

/** Runs the CLI; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    if (process.env.AMK_DEBUG) console.error(err);
    if (err instanceof InvalidConfigError) {
      console.error(`amk: invalid configuration in ${err.file}`);
      for (const p of err.problems) console.error(`  ${p.path}: ${p.message}`);
      console.error('Fix the file and run again (`amk validate charter|campaign|guardrails FILE` checks one file).');
      return 2;
    }
    if (err instanceof UsageError) {
      console.error(`amk: ${err.message}`);
      return 2;
    }
    const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    console.error(`amk: ${message}`);
    console.error('(set AMK_DEBUG=1 for details)');
    return 1;
  }
}
