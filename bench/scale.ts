/**
 * Scale check: does the cost of an account-iteration stay flat as the book grows? Runs the embedded
 * default (the synthesized state machines, dynalite, the simulated reviewer) on books of several
 * sizes, each in a fresh data folder, and prints throughput and the modelled AWS cost per 1,000
 * account-iterations per service, with the ratio of the largest book to the smallest.
 *
 *   npm run bench:scale -- [--sizes 1000,10000] [--runs 2] [--shards N] [--page-size N]
 *                          [--campaign FILE] [--prices FILE] [--seed S] [--keep] [--json]
 *
 * --shards/--page-size run a copy of the campaign's config with those values; every size runs
 * with the same values, so the sizes compare. Without --shards, the campaign's shard count is
 * raised until no shard holds more than MAX_ACCOUNTS_PER_SHARD accounts of the largest book: an
 * AccountBatch execution must finish within Express's 5 minutes, and locally the shards of a run
 * share one core (10,000 accounts in 4 shards measured 270-280 s per shard here).
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { LocalRuntime } from '../local/runtime.ts';
import { loadCampaignBundle } from '../shared/config/load.ts';
import { RunSummary } from '../shared/app/contracts.ts';
import { SimulatedReviewer } from '../local/reviewer.ts';
import { costInputsOf, loadPrices, withLogging } from '../local/engine/cost-inputs.ts';
import { SERVICE_LABELS } from '../local/cli/report.ts';
import { addCostInputs, estimateCost, SERVICES, type CostEstimate, type Service } from '../shared/domain/cost.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
process.env.CDK_DISABLE_CLI_TELEMETRY ??= 'true';

/** The most accounts a shard gets when the bench picks the shard count (see the header). */
const MAX_ACCOUNTS_PER_SHARD = 1250;

const Flags = z.object({
  sizes: z
    .string()
    .regex(/^\d+(,\d+)*$/, 'expected comma-separated whole numbers, e.g. 1000,10000')
    .transform((s) => s.split(',').map(Number))
    .pipe(z.array(z.number().int().min(1).max(100_000)).min(1)),
  runs: z.coerce.number().int().min(1).max(52),
  shards: z.coerce.number().int().min(1).max(64).optional(),
  pageSize: z.coerce.number().int().min(1).max(100).optional(),
  campaign: z.string().min(1),
  prices: z.string().min(1).optional(),
  seed: z.string().min(1),
  keep: z.boolean(),
  json: z.boolean(),
});
type Flags = z.infer<typeof Flags>;

/** Flags after the shard count is settled. */
type Settings = Omit<Flags, 'shards'> & { readonly shards?: number; readonly shardsNote: string };

/** The shard count every size runs with: --shards, else the campaign's, raised for the largest book. */
function settle(flags: Flags): Settings {
  if (flags.shards !== undefined) return { ...flags, shardsNote: '(--shards)' };
  const own = loadCampaignBundle(flags.campaign).campaign.shards;
  const needed = Math.min(64, Math.ceil(Math.max(...flags.sizes) / MAX_ACCOUNTS_PER_SHARD));
  if (needed <= own) return { ...flags, shards: undefined, shardsNote: '(the campaign\'s)' };
  return { ...flags, shards: needed, shardsNote: `(campaign: ${own}; raised so no shard exceeds ${MAX_ACCOUNTS_PER_SHARD.toLocaleString('en-US')} accounts)` };
}

/** What one book size measured. */
interface SizeResult {
  readonly accounts: number;
  readonly runs: number;
  readonly shards: number;
  readonly shardsNote: string;
  readonly pageSize: number;
  readonly importSeconds: number;
  readonly runSeconds: number;
  readonly accountIterations: number;
  readonly accountIterationsPerSecond: number;
  readonly approvals: number;
  readonly maxPayloadBytes: number;
  /** The longest AccountBatch execution, in seconds (AWS ends Express executions at 300 s). */
  readonly longestShardSeconds: number;
  readonly cost: CostEstimate;
  /** The same usage with the Express child's execution log at level ERROR (what-if). */
  readonly costWithExpressLogsAtError: CostEstimate;
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

/** Copies the campaign's config folder with shards/pageSize replaced; returns the new campaign file. */
function configWith(campaignFile: string, edits: { shards?: number; pageSize?: number }, into: string): string {
  const configDir = dirname(dirname(resolve(campaignFile)));
  cpSync(configDir, into, { recursive: true });
  const file = join(into, 'campaigns', basename(campaignFile));
  let text = readFileSync(file, 'utf8');
  for (const [key, value] of Object.entries(edits)) {
    if (value === undefined) continue;
    const line = new RegExp(`^${key}:.*$`, 'm');
    text = line.test(text) ? text.replace(line, `${key}: ${value}`) : `${text.trimEnd()}\n${key}: ${value}\n`;
  }
  writeFileSync(file, text);
  return file;
}

async function benchSize(accounts: number, flags: Settings, root: string): Promise<SizeResult> {
  const label = `${accounts.toLocaleString('en-US')} accounts`;
  const campaignFile =
    flags.shards === undefined && flags.pageSize === undefined
      ? flags.campaign
      : configWith(flags.campaign, { shards: flags.shards, pageSize: flags.pageSize }, join(root, `config-${accounts}`));
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
  const { shards, pageSize } = runtime.bundle.campaign;
  const results = [];
  let runMs = 0;
  try {
    for (let run = 1; run <= flags.runs; run++) {
      const started = Date.now();
      let pages = 0;
      let shardsDone = 0;
      const tick = () =>
        progress(
          `${label}: run ${run}/${flags.runs} · ~${Math.min(accounts, pages * pageSize).toLocaleString('en-US')} accounts worked · ` +
            `${shardsDone}/${shards} shards · ${((Date.now() - started) / 1000).toFixed(0)} s`,
        );
      const timer = setInterval(tick, 1000);
      try {
        results.push(
          await runtime.runWeek({
            onEvent: (e) => {
              if (e.type !== 'StateExited') return;
              if (e.state === 'Record') pages += 1;
              if (e.state === 'ProcessShard') shardsDone += 1;
            },
          }),
        );
      } catch (err) {
        const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
        // A shard that outlives the child's 5-minute limit fails the run, as it would in AWS.
        const hint = /timeout|timed out/i.test(message)
          ? ` — a shard of ~${Math.ceil(accounts / shards)} accounts ran past the AccountBatch timeout (5 minutes); try --shards ${shards * 2}`
          : '';
        throw new Error(`${label}, run ${run}: ${message}${hint}`, { cause: err });
      } finally {
        clearInterval(timer);
      }
      runMs += Date.now() - started;
      progress(`${label}: run ${run}/${flags.runs} done in ${((Date.now() - started) / 1000).toFixed(1)} s`, true);
    }
  } finally {
    await reviewer.stop();
    await runtime.close();
  }
  endProgress();
  const prices = loadPrices(flags.prices);
  const inputs = addCostInputs(results.map((r) => r.cost));
  const whatIf = addCostInputs(
    results.map((r) => costInputsOf(r.usage, withLogging(runtime.template, 'EXPRESS', { level: 'ERROR', includeExecutionData: false }))),
  );
  return {
    accounts,
    runs: flags.runs,
    shards,
    shardsNote: flags.shardsNote,
    pageSize,
    importSeconds,
    runSeconds: runMs / 1000,
    accountIterations: inputs.accountIterations,
    accountIterationsPerSecond: inputs.accountIterations / (runMs / 1000),
    approvals: results.reduce((n, r) => n + (RunSummary.parse(r.summary).counters.needsApproval ?? 0), 0),
    maxPayloadBytes: Math.max(...results.map((r) => r.stats.maxPayloadBytes)),
    longestShardSeconds: Math.max(...results.map((r) => r.stats.maxExpressMs)) / 1000,
    cost: estimateCost(inputs, prices),
    costWithExpressLogsAtError: estimateCost(whatIf, prices),
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
  lines.push(`Scale check: ${first.runs} weekly run(s) per size, ${first.shards} shards ${first.shardsNote}, page size ${first.pageSize}, simulated reviewer`);
  lines.push(`${''.padEnd(34)}${head}${ratio ? col(`ratio ${last.accounts / 1000}k/${first.accounts / 1000}k`) : ''}`);
  const row = (name: string, values: string[], r?: string) => lines.push(`${name.padEnd(34)}${values.map(col).join('')}${r === undefined ? '' : col(r)}`);
  row('account-iterations', results.map((r) => String(r.accountIterations)));
  row('account-iterations / s (local)', results.map((r) => r.accountIterationsPerSecond.toFixed(1)));
  row('import of the book (s)', results.map((r) => r.importSeconds.toFixed(1)));
  row('approvals requested', results.map((r) => String(r.approvals)));
  row('largest state payload (KiB)', results.map((r) => (r.maxPayloadBytes / 1024).toFixed(0)));
  row('longest shard execution (s)', results.map((r) => r.longestShardSeconds.toFixed(0)));
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
  line('  total if AccountBatch logged ERROR', results.map((r) => r.costWithExpressLogsAtError.perThousandAccountIterationsUsd));
  line('    grows with accounts', results.map((r) => part(r.costWithExpressLogsAtError, PER_ACCOUNT)));
  lines.push('');
  lines.push('Target: ≤ $0.015 per 1,000 account-iterations, and the largest book within 10% of the smallest per iteration.');
  lines.push('"Grows with accounts": Express, Lambda, DynamoDB, CloudWatch Logs. "Per run and approval": the Standard');
  lines.push('skeleton (fixed per shard), approval requests, the report email and the schedule, spread over the book.');
  lines.push('Estimates: state-machine log bytes (from states visited and payload sizes), Lambda duration (in-process proxy).');
  return lines.join('\n');
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      sizes: { type: 'string', default: '1000,10000' },
      runs: { type: 'string', default: '2' },
      shards: { type: 'string' },
      'page-size': { type: 'string' },
      campaign: { type: 'string', default: 'config/campaigns/q1-committee-expansion.yaml' },
      prices: { type: 'string' },
      seed: { type: 'string', default: 'amk-bench' },
      keep: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  });
  const parsed = Flags.safeParse({ ...values, pageSize: values['page-size'] });
  if (!parsed.success) {
    for (const issue of parsed.error.issues) console.error(`bench:scale: --${String(issue.path[0] ?? '?').replace('pageSize', 'page-size')}: ${issue.message}`);
    return 2;
  }
  const flags = settle(parsed.data);
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
        results.map((r) => ({ ...r, cost: { ...r.cost, lines: undefined }, costWithExpressLogsAtError: { perThousandAccountIterationsUsd: r.costWithExpressLogsAtError.perThousandAccountIterationsUsd, byService: r.costWithExpressLogsAtError.byService } })),
        null,
        2,
      )}\n`,
    );
  } else process.stdout.write(`${render(results)}\n`);
  return 0;
}

process.exitCode = await main();
