/**
 * `npm run bench -- --scenario FILE --seeds N [--accounts N] [--weeks N] [--json] [--report FILE]`:
 * the product's agents against marketing automation, random and an oracle on paired seeds of a
 * market scenario, in process, with 95% intervals. Prints a table (or one JSON object) and writes
 * a self-contained HTML report.
 */
import { readImportedBookOf } from '../local/audit/read-only.ts';
import { writeFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { loadScenarioFile } from '../local/simulator/scenario.ts';
import { renderBenchReport } from './report-html.ts';
import { runPool, seedsOf, summarize, type SeedTask } from './run.ts';
import { POLICY_NAMES, type Interval, type ScenarioResult } from './types.ts';

const positiveInt = (name: string) => (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a whole number of at least 1, got "${value}"`);
  return n;
};
const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** A progress bar on stderr (a line per tenth when stderr is not a terminal). */
function progress(label: string, total: number): (done: number) => void {
  const started = Date.now();
  let lastTenth = -1;
  return (done) => {
    const secs = ((Date.now() - started) / 1000).toFixed(0);
    if (process.stderr.isTTY) {
      const width = 30;
      const full = Math.round((done / total) * width);
      process.stderr.write(`\r${label} [${'#'.repeat(full)}${'-'.repeat(width - full)}] ${done}/${total} seeds · ${secs} s${done === total ? '\n' : ''}`);
    } else if (Math.floor((10 * done) / total) > lastTenth) {
      lastTenth = Math.floor((10 * done) / total);
      process.stderr.write(`${label}: ${done}/${total} seeds · ${secs} s\n`);
    }
  };
}

const pct = (x: number): string => (Number.isFinite(x) ? `${(100 * x).toFixed(2)}%` : 'n/a');
const num = (x: number, digits = 2): string => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');
const ci = (i: Interval, f: (x: number) => string = num): string => `${f(i.estimate)} [${f(i.ciLow)}, ${f(i.ciHigh)}]`;

/** The table a person reads in the terminal. */
function printText(r: ScenarioResult, reportFile: string | undefined): void {
  const out: string[] = [];
  out.push(`\n${r.scenario} — ${r.description}`);
  out.push(`  ${r.seeds} paired seeds × ${r.accounts} accounts × ${r.weeks} weeks (${(r.elapsedMs / 1000).toFixed(1)} s)`);
  out.push('');
  const head = ['policy', 'progr./100 touches (above untouched)', 'progressions', 'touches', 'advanced', 'roles/acct', 'no-decision', 'unsub/email', 'violations', 'approvals', 'blocked', 'opens*', 'clicks*'];
  const rows = POLICY_NAMES.map((p) => {
    const f = r.policies[p];
    return [
      p,
      p === 'none' ? '—' : ci(f.progressionsPer100Touches),
      num(f.progressions.estimate, 1),
      num(f.touches.estimate, 0),
      pct(f.accountsAdvanced.estimate),
      num(f.multiThreading.estimate),
      pct(f.noDecisionRate.estimate),
      pct(f.unsubscribeRate.estimate),
      num(f.governanceViolations.estimate, 0),
      num(f.approvalsRequested.estimate, 1),
      pct(f.blockedShare.estimate),
      pct(f.openRate.estimate),
      pct(f.clickRate.estimate),
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]): string => `  ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ')}`;
  out.push(line(head));
  for (const row of rows) out.push(line(row));
  out.push('  (* reported, never scored)');
  out.push('');
  const verdict = r.lift.ciLow > 1 ? 'the agent beats the baseline' : r.lift.ciHigh < 1 ? 'the agent LOSES to the baseline' : 'agent and baseline cannot be told apart';
  out.push(`  lift over the baseline   ${ci(r.lift)}  — ${verdict}${r.lift.estimate > 2 ? '  (above 2x: look for a simulator artifact)' : ''}`);
  out.push(`  not per touch            ${ci(r.absoluteLift)}  — progressions won over the untouched market, agent / baseline; the agent sends ${ci(r.touchRatio)} of the baseline's touches`);
  out.push(`  share of the oracle's lift ${ci(r.oracleShare, pct)}`);
  if (r.calibration.length > 0) {
    out.push('');
    out.push('  calibration of the baseline (published ranges, /work/shared/simulator.md)');
    for (const c of r.calibration) {
      out.push(`    ${c.ok ? 'ok ' : 'OUT'}  ${c.metric.padEnd(36)} ${pct(c.value).padStart(8)}  in [${pct(c.low)}, ${pct(c.high)}]  ${c.source}`);
    }
  }
  if (reportFile !== undefined) out.push(`\n  report  ${reportFile}`);
  process.stdout.write(`${out.join('\n')}\n`);
}

async function main(argv: readonly string[]): Promise<void> {
  const program = new Command('bench')
    .description('the agents against marketing automation, random and an oracle, on paired seeds of a market scenario')
    .option('--scenario <file>', 'scenario YAML (repeat for several)', collect, [] as string[])
    .option('--seeds <n>', 'paired seeds per scenario', positiveInt('--seeds'), 20)
    .option('--accounts <n>', 'accounts in each market', positiveInt('--accounts'), 200)
    .option('--weeks <n>', 'weekly runs per episode', positiveInt('--weeks'), 26)
    .option('--workers <n>', 'worker threads (default: one per core)', positiveInt('--workers'))
    .option('--campaign <file>', "the agents' campaign (charters and guardrails)", 'bench/config/campaign.yaml')
    .option('--book <dataDir>', 'run on the book `amk import` stored in this data folder (its accounts and committees; hidden state from the scenario) instead of a generated one')
    .option('--report <file>', 'write the HTML report here', 'bench-report.html')
    .option('--json', 'print one JSON object instead of the table')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .parse(argv, { from: 'user' });
  const opts = program.opts<{ scenario: string[]; seeds: number; accounts: number; weeks: number; workers?: number; campaign: string; report: string; json?: boolean; book?: string }>();
  // The team's own book, read once (its size replaces --accounts).
  const book = opts.book === undefined ? undefined : await readImportedBookOf(resolve(opts.book));
  const accounts = book?.accounts.length ?? opts.accounts;
  const files = opts.scenario.length > 0 ? opts.scenario : ['scenarios/default.yaml'];
  const scenarios = files.map((file) => ({ file, scenario: loadScenarioFile(resolve(file)) }));
  const command = `npm run bench -- ${argv.join(' ')}`.trim();
  const results: ScenarioResult[] = [];
  for (const { file, scenario } of scenarios) {
    const started = Date.now();
    const tasks: SeedTask[] = seedsOf(scenario.name, opts.seeds).map((seed) => ({ scenario, seed, accounts, weeks: opts.weeks, campaignFile: resolve(opts.campaign), ...(book ? { book } : {}) }));
    const rows = await runPool(tasks, progress(scenario.name, tasks.length), opts.workers);
    results.push(summarize({ scenario, file, rows, accounts, weeks: opts.weeks, elapsedMs: Date.now() - started }));
  }
  const reportFile = resolve(opts.report);
  writeFileSync(reportFile, renderBenchReport(results, { command, generatedAt: new Date().toISOString() }));
  const shown = relative(process.cwd(), reportFile) || reportFile;
  if (opts.json) {
    const body = results.length === 1 ? { format: 'amk-bench/1', command, ...results[0] } : { format: 'amk-bench/1', command, scenarios: results };
    process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
  } else {
    for (const r of results) printText(r, undefined);
    process.stdout.write(`\nreport  ${shown}\n`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  // commander has printed its own message for bad options.
  if (err instanceof Error && 'code' in err && typeof err.code === 'string' && err.code.startsWith('commander.')) {
    process.exit(err.code === 'commander.helpDisplayed' || err.code === 'commander.version' ? 0 : 2);
  }
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`bench: ${message}\n`);
  process.exit(2);
});
