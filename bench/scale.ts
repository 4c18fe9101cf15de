/**
 * Scale check: does the cost of an account-iteration stay flat as the book grows? Runs the embedded
 * default (the synthesized state machines, dynalite, the simulated reviewer) on books of several
 * sizes, each in a fresh data folder, and prints throughput and the modelled AWS cost per 1,000
 * account-iterations per service, with the ratio of the largest book to the smallest.
 *
 *   npm run bench:scale -- [--sizes 1000,10000] [--runs 2] [--shards N] [--page-size N]
 *                          [--pages-per-execution N] [--fixed-budgets] [--campaign FILE]
 *                          [--prices FILE] [--seed S] [--keep] [--json]
 *
 * --shards/--page-size/--pages-per-execution run a copy of the campaign's config with those
 * values; every size runs with the same values, so the sizes compare. Each AccountBatch execution
 * hands its shard over after pagesPerExecution pages, so any book fits Express's 5 minutes.
 * The sample's spend caps (per run, per agent and month) are written for its 60 accounts; unless
 * --fixed-budgets, they are scaled with each book, so every size does the same work per account
 * (with fixed caps, most actions of a large book are blocked by budget and cost less to record).
 * It ends with a weekly cost per book size and service: measured for the sizes run, projected
 * linearly from the largest for 100,000 accounts.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import * as z from 'zod';
import { parseDocument, type Document } from 'yaml';
import { LocalRuntime } from '../local/runtime.ts';
import { loadCampaignBundle } from '../shared/config/load.ts';
import { RunSummary } from '../shared/app/contracts.ts';
import { SimulatedReviewer } from '../local/reviewer.ts';
import { loadPrices } from '../local/engine/cost-inputs.ts';
import { STANDARD_HISTORY_LIMIT } from '../local/engine/workflow-engine.ts';
import { SERVICE_LABELS } from '../local/cli/report.ts';
import { addCostInputs, estimateCost, SERVICES, type CostEstimate, type Service } from '../shared/domain/cost.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
process.env.CDK_DISABLE_CLI_TELEMETRY ??= 'true';

/** Book sizes of the weekly cost table (the README's deploy section quotes it). */
const WEEKLY_BOOKS = [1_000, 10_000, 100_000] as const;

const Flags = z.object({
  sizes: z
    .string()
    .regex(/^\d+(,\d+)*$/, 'expected comma-separated whole numbers, e.g. 1000,10000')
    .transform((s) => s.split(',').map(Number))
    .pipe(z.array(z.number().int().min(1).max(100_000)).min(1)),
  runs: z.coerce.number().int().min(1).max(52),
  shards: z.coerce.number().int().min(1).max(64).optional(),
  pageSize: z.coerce.number().int().min(1).max(100).optional(),
  pagesPerExecution: z.coerce.number().int().min(1).max(1000).optional(),
  fixedBudgets: z.boolean(),
  campaign: z.string().min(1),
  prices: z.string().min(1).optional(),
  seed: z.string().min(1),
  keep: z.boolean(),
  json: z.boolean(),
});
type Flags = z.infer<typeof Flags>;

/** What one book size measured. */
interface SizeResult {
  readonly accounts: number;
  readonly runs: number;
  readonly shards: number;
  readonly pageSize: number;
  readonly pagesPerExecution: number;
  /** The factor the sample's spend caps were multiplied by for this book. */
  readonly budgetScale: number;
  /** Actions executed and blocked, over all runs. */
  readonly executed: number;
  readonly blocked: number;
  /** AccountBatch executions (one per shard, plus one per hand-over). */
  readonly batchExecutions: number;
  readonly importSeconds: number;
  readonly runSeconds: number;
  readonly accountIterations: number;
  readonly accountIterationsPerSecond: number;
  readonly approvals: number;
  readonly maxPayloadBytes: number;
  /** The most history events a CampaignRun execution logged (AWS fails one past 25,000). */
  readonly maxRunHistoryEvents: number;
  /** The longest AccountBatch execution, in seconds (AWS ends Express executions at 300 s). */
  readonly longestShardSeconds: number;
  readonly cost: CostEstimate;
}

const tty = process.stderr.isTTY;
let lastProgress = 0;
/** A progress line: rewritten in place on a terminal, every 10 s otherwise. */
function progress(text: string, force = false): void {
  if (tty) process.stderr.write(`\r\x1b[2K${text}`);
  else if (force || Date.now() - lastProgress > 10_000) {
    process.stderr.write(`${text}\n`);
    lastProgress = Date.now();
  }
}
const endProgress = () => tty && process.stderr.write('\r\x1b[2K');

/** The book the sample's spend caps were written for (`npm start` works 60 accounts). */
const SAMPLE_BOOK = 60;

/**
 * Copies the campaign's config folder with some campaign settings replaced and, unless `budgetScale`
 * is 1, every spend cap (the guardrails' per run, each charter's per month) multiplied by it;
 * returns the new campaign file. YAML is edited as documents, so comments and layout stay.
 */
function configWith(campaignFile: string, edits: { shards?: number; pageSize?: number; pagesPerExecution?: number }, budgetScale: number, into: string): string {
  const configDir = dirname(dirname(resolve(campaignFile)));
  cpSync(configDir, into, { recursive: true });
  const file = join(into, 'campaigns', basename(campaignFile));
  const edit = (path: string, change: (doc: Document) => void) => {
    const doc = parseDocument(readFileSync(path, 'utf8'));
    change(doc);
    writeFileSync(path, doc.toString());
  };
  edit(file, (doc) => {
    for (const [key, value] of Object.entries(edits)) if (value !== undefined) doc.set(key, value);
  });
  if (budgetScale !== 1) {
    const bundle = loadCampaignBundle(file);
    const scaled = (doc: Document, path: string[]) => {
      const value = doc.getIn(path);
      if (typeof value === 'number') doc.setIn(path, Math.round(value * budgetScale));
    };
    edit(resolve(dirname(file), bundle.campaign.guardrails), (doc) => scaled(doc, ['budget', 'maxSpendPerRunUsd']));
    for (const charter of bundle.charters) edit(resolve(charter.file), (doc) => scaled(doc, ['budgets', 'spendPerMonthUsd']));
  }
  return file;
}

async function benchSize(accounts: number, flags: Flags, root: string): Promise<SizeResult> {
  const label = `${accounts.toLocaleString('en-US')} accounts`;
  const edits = { shards: flags.shards, pageSize: flags.pageSize, pagesPerExecution: flags.pagesPerExecution };
  // Spend caps are absolute: scaled with the book, each size does the same work per account.
  const budgetScale = flags.fixedBudgets ? 1 : accounts / SAMPLE_BOOK;
  const campaignFile =
    budgetScale === 1 && Object.values(edits).every((v) => v === undefined)
      ? flags.campaign
      : configWith(flags.campaign, edits, budgetScale, join(root, `config-${accounts}`));
  const importStarted = Date.now();
  const runtime = await LocalRuntime.start({
    campaignFile,
    dataDir: join(root, `data-${accounts}`),
    reset: true,
    accounts,
    seed: flags.seed,
    onImportProgress: (done, total) => progress(`${label}: importing the book into dynalite, batch ${done}/${total}`),
  });
  const importSeconds = (Date.now() - importStarted) / 1000;
  const reviewer = new SimulatedReviewer(runtime.outboxDir, { seed: flags.seed });
  reviewer.start();
  const { shards, pageSize, pagesPerExecution } = runtime.bundle.campaign;
  const results = [];
  let runMs = 0;
  let batchExecutions = 0;
  try {
    for (let run = 1; run <= flags.runs; run++) {
      const started = Date.now();
      let pages = 0;
      let shardsDone = 0;
      let executions = 0;
      const tick = () =>
        progress(
          `${label}: run ${run}/${flags.runs} · ~${Math.min(accounts, pages * pageSize).toLocaleString('en-US')} accounts worked · ` +
            `${shardsDone}/${shards} shards done (approvals included) · ${executions} AccountBatch executions · ${((Date.now() - started) / 1000).toFixed(0)} s`,
        );
      const timer = setInterval(tick, 1000);
      try {
        results.push(
          await runtime.runWeek({
            onEvent: (e) => {
              if (e.type !== 'StateEntered') return;
              if (e.state === 'NextPage' || e.state === 'ShardDone') pages += 1;
              if (e.state === 'ShardDone') executions += 1;
              if (e.state === 'ShardFinished') shardsDone += 1;
            },
          }),
        );
      } catch (err) {
        const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
        // An execution that outlives the child's 5-minute limit fails the run, as it would in AWS.
        const hint = /timeout|timed out/i.test(message)
          ? ` — an AccountBatch execution of ${pagesPerExecution} pages ran past its 5-minute timeout; try --pages-per-execution ${Math.max(1, Math.floor(pagesPerExecution / 2))}`
          : '';
        throw new Error(`${label}, run ${run}: ${message}${hint}`, { cause: err });
      } finally {
        clearInterval(timer);
      }
      runMs += Date.now() - started;
      batchExecutions += executions;
      progress(`${label}: run ${run}/${flags.runs} done in ${((Date.now() - started) / 1000).toFixed(1)} s`, true);
    }
  } finally {
    await reviewer.stop();
    await runtime.close();
  }
  endProgress();
  const prices = loadPrices(flags.prices);
  const inputs = addCostInputs(results.map((r) => r.cost));
  return {
    accounts,
    runs: flags.runs,
    shards,
    pageSize,
    pagesPerExecution,
    budgetScale,
    executed: results.reduce((n, r) => n + (RunSummary.parse(r.summary).counters.executed ?? 0), 0),
    blocked: results.reduce((n, r) => n + (RunSummary.parse(r.summary).counters.blocked ?? 0), 0),
    batchExecutions,
    importSeconds,
    runSeconds: runMs / 1000,
    accountIterations: inputs.accountIterations,
    accountIterationsPerSecond: inputs.accountIterations / (runMs / 1000),
    approvals: results.reduce((n, r) => n + (RunSummary.parse(r.summary).counters.needsApproval ?? 0), 0),
    maxPayloadBytes: Math.max(...results.map((r) => r.stats.maxPayloadBytes)),
    longestShardSeconds: Math.max(...results.map((r) => r.stats.maxExpressMs)) / 1000,
    maxRunHistoryEvents: Math.max(...results.map((r) => r.stats.maxHistoryEvents.STANDARD)),
    cost: estimateCost(inputs, prices),
  };
}

/** Services whose bill follows the accounts worked (pages, items, bytes). */
const PER_ACCOUNT: readonly Service[] = ['stepFunctionsExpress', 'lambda', 'dynamodb', 'cloudwatchLogs'];
/** Services whose bill follows runs and approvals: the Standard skeleton, emails, schedules. */
const PER_RUN: readonly Service[] = ['stepFunctionsStandard', 'ses', 'scheduler'];

const usd = (n: number | null) => (n === null ? '—' : `$${n.toFixed(5)}`);

function render(results: readonly SizeResult[]): string {
  const lines: string[] = [];
  const col = (s: string) => s.padStart(16);
  const head = results.map((r) => col(`${r.accounts.toLocaleString('en-US')} acc.`)).join('');
  const ratio = results.length > 1;
  const first = results[0] as SizeResult;
  const last = results.at(-1) as SizeResult;
  const rel = (a: number | null, b: number | null) => (a === null || b === null || a === 0 ? '—' : `${(b / a).toFixed(2)}`);
  lines.push('');
  lines.push(
    `Scale check: ${first.runs} weekly run(s) per size, ${first.shards} shard(s), page size ${first.pageSize}, ` +
      `${first.pagesPerExecution} pages per AccountBatch execution, simulated reviewer`,
  );
  lines.push(`${''.padEnd(34)}${head}${ratio ? col(`ratio ${last.accounts / 1000}k/${first.accounts / 1000}k`) : ''}`);
  const row = (name: string, values: string[], r?: string) => lines.push(`${name.padEnd(34)}${values.map(col).join('')}${r === undefined ? '' : col(r)}`);
  row('account-iterations', results.map((r) => String(r.accountIterations)));
  row('account-iterations / s (local)', results.map((r) => r.accountIterationsPerSecond.toFixed(1)));
  row('import of the book (s)', results.map((r) => r.importSeconds.toFixed(1)));
  row('spend caps (× the sample\'s)', results.map((r) => r.budgetScale.toFixed(1)));
  row('actions executed / account-iter.', results.map((r) => (r.executed / r.accountIterations).toFixed(2)));
  row('actions blocked / account-iter.', results.map((r) => (r.blocked / r.accountIterations).toFixed(2)));
  row('approvals requested', results.map((r) => String(r.approvals)));
  row('largest state payload (KiB)', results.map((r) => (r.maxPayloadBytes / 1024).toFixed(0)));
  row('AccountBatch executions', results.map((r) => String(r.batchExecutions)));
  row('longest AccountBatch execution (s)', results.map((r) => r.longestShardSeconds.toFixed(0)));
  row('CampaignRun history (events, est.)', results.map((r) => r.maxRunHistoryEvents.toLocaleString('en-US')));
  lines.push('');
  lines.push('Cost per 1,000 account-iterations (us-east-1 list prices, no LLM)');
  for (const s of SERVICES) {
    const values = results.map((r) => r.cost.byService[s].perThousandAccountIterationsUsd);
    row(`  ${SERVICE_LABELS[s]}`, values.map(usd), ratio ? rel(values[0] ?? null, values.at(-1) ?? null) : undefined);
  }
  // What grows with the book, and what a run (its fixed skeleton, its report, its approvals) costs.
  const part = (c: CostEstimate, services: readonly Service[]) =>
    c.perThousandAccountIterationsUsd === null ? null : services.reduce((n, s) => n + (c.byService[s].perThousandAccountIterationsUsd ?? 0), 0);
  const line = (name: string, values: Array<number | null>) => row(name, values.map(usd), ratio ? rel(values[0] ?? null, values.at(-1) ?? null) : undefined);
  line('  total', results.map((r) => r.cost.perThousandAccountIterationsUsd));
  line('    grows with accounts', results.map((r) => part(r.cost, PER_ACCOUNT)));
  line('    per run and approval', results.map((r) => part(r.cost, PER_RUN)));
  // Most of a run's history is its approvals (15-30 events each): warn well before AWS would fail it.
  for (const r of results.filter((x) => x.maxRunHistoryEvents > 0.8 * STANDARD_HISTORY_LIMIT)) {
    const share = Math.round((100 * r.maxRunHistoryEvents) / STANDARD_HISTORY_LIMIT);
    lines.push(
      `WARNING: at ${r.accounts.toLocaleString('en-US')} accounts a CampaignRun logged ~${r.maxRunHistoryEvents.toLocaleString('en-US')} history events, ` +
        `${share}% of the ${STANDARD_HISTORY_LIMIT.toLocaleString('en-US')} past which AWS fails a Standard execution: ask for fewer approvals per run.`,
    );
  }
  lines.push('');
  lines.push('Target: ≤ $0.015 per 1,000 account-iterations, and the largest book within 10% of the smallest per iteration.');
  lines.push('"Grows with accounts": Express, Lambda, DynamoDB, CloudWatch Logs. "Per run and approval": the Standard');
  lines.push('skeleton (per shard and hand-over), approval requests, the report email and the schedule, spread over the book.');
  lines.push('Estimates: state-machine log bytes (from states visited and payload sizes), Lambda duration (in-process proxy).');
  lines.push('');
  lines.push(...renderWeekly(weeklyCosts(results)));
  return lines.join('\n');
}

/** One weekly run's cost for a book size, per service: measured, or projected from a measured size. */
interface WeeklyCost {
  readonly accounts: number;
  /** The measured size it comes from (itself when measured). */
  readonly from: number;
  readonly byService: Readonly<Record<Service, number>>;
  readonly totalUsd: number;
}

/**
 * A weekly run (one iteration per account) at 1k, 10k and 100k accounts: the measured per-run cost
 * of a size that was run, else the largest measured size's cost per account-iteration times the
 * book (cost grows linearly once the per-run skeleton is spread thin, which the ratio above checks).
 */
function weeklyCosts(results: readonly SizeResult[]): WeeklyCost[] {
  const largest = results.reduce((a, b) => (b.accounts > a.accounts ? b : a));
  return WEEKLY_BOOKS.map((accounts) => {
    const measured = results.find((r) => r.accounts === accounts);
    const source = measured ?? largest;
    const scale = measured ? 1 / measured.runs : accounts / source.accountIterations;
    const byService = Object.fromEntries(SERVICES.map((s) => [s, source.cost.byService[s].usd * scale])) as Record<Service, number>;
    return { accounts, from: source.accounts, byService, totalUsd: source.cost.totalUsd * scale };
  });
}

function renderWeekly(weekly: readonly WeeklyCost[]): string[] {
  const col = (s: string) => s.padStart(16);
  const money = (n: number) => (n < 0.01 ? `$${n.toFixed(5)}` : `$${n.toFixed(3)}`);
  const out = ['Cost of one weekly run (every account once), us-east-1 list prices, no LLM'];
  out.push(`${''.padEnd(34)}${weekly.map((w) => col(`${w.accounts.toLocaleString('en-US')} acc.`)).join('')}`);
  for (const s of SERVICES) out.push(`${`  ${SERVICE_LABELS[s]}`.padEnd(34)}${weekly.map((w) => col(money(w.byService[s]))).join('')}`);
  out.push(`${'  total per week'.padEnd(34)}${weekly.map((w) => col(money(w.totalUsd))).join('')}`);
  out.push(`${'  total per year (52 runs)'.padEnd(34)}${weekly.map((w) => col(money(w.totalUsd * 52))).join('')}`);
  out.push(`${'  source'.padEnd(34)}${weekly.map((w) => col(w.from === w.accounts ? 'measured' : `from ${w.from.toLocaleString('en-US')}`)).join('')}`);
  return out;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      sizes: { type: 'string', default: '1000,10000' },
      runs: { type: 'string', default: '2' },
      shards: { type: 'string' },
      'page-size': { type: 'string' },
      'pages-per-execution': { type: 'string' },
      'fixed-budgets': { type: 'boolean', default: false },
      campaign: { type: 'string', default: 'config/campaigns/q1-committee-expansion.yaml' },
      prices: { type: 'string' },
      seed: { type: 'string', default: 'amk-bench' },
      keep: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  });
  const parsed = Flags.safeParse({ ...values, pageSize: values['page-size'], pagesPerExecution: values['pages-per-execution'], fixedBudgets: values['fixed-budgets'] });
  if (!parsed.success) {
    const flagOf = (key: string) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
    for (const issue of parsed.error.issues) console.error(`bench:scale: --${flagOf(String(issue.path[0] ?? '?'))}: ${issue.message}`);
    return 2;
  }
  const flags = parsed.data;
  const root = mkdtempSync(join(tmpdir(), 'amk-bench-'));
  const results: SizeResult[] = [];
  try {
    for (const size of flags.sizes) results.push(await benchSize(size, flags, root));
  } finally {
    if (flags.keep) console.error(`data kept in ${root}`);
    else rmSync(root, { recursive: true, force: true });
  }
  if (flags.json) {
    process.stdout.write(
      `${JSON.stringify(
        { sizes: results.map((r) => ({ ...r, cost: { ...r.cost, lines: undefined } })), weekly: weeklyCosts(results) },
        null,
        2,
      )}\n`,
    );
  } else process.stdout.write(`${render(results)}\n`);
  return 0;
}

process.exitCode = await main();
