/**
 * The benchmark over one scenario: every policy on the same seeds (paired: common random numbers
 * make their differences low-noise), aggregated into intervals. Episodes of one seed run together
 * in one worker, since the primary metric subtracts the untouched market of the same seed.
 */
import type { ImportedBook } from '../local/simulator/book.ts';
import { cpus } from 'node:os';
import { Worker } from 'node:worker_threads';
import { loadCampaignBundle, loadYamlFile } from '../shared/config/load.ts';
import { Charter } from '../shared/domain/config.ts';
import type { Scenario } from '../local/simulator/scenario.ts';
import { calibrate } from './calibration.ts';
import { runEpisode, type EpisodeConfig, type EpisodeMetrics } from './episode.ts';
import { bootstrapInterval, meanInterval, sumOf } from './stats.ts';
import { POLICY_NAMES, type Interval, type PolicyFigures, type PolicyName, type ScenarioResult } from './types.ts';

/** The first weekly run: a Monday, 14:00 UTC, as the sample campaign's schedule. */
export const BENCH_START = '2027-01-04T14:00:00.000Z';

/** Where the bench's charters and campaign live. */
const CONFIG_DIR = new URL('./config/', import.meta.url);

/** The product's agents, the baseline's and the reference charters, from bench/config. */
export function loadBenchConfig(campaignFile = new URL('campaign.yaml', CONFIG_DIR).pathname): EpisodeConfig {
  const campaign = loadCampaignBundle(campaignFile);
  const charter = (name: string): { charter: Charter; hash: string } => {
    const { value, hash } = loadYamlFile(new URL(name, CONFIG_DIR).pathname, Charter);
    return { charter: value, hash };
  };
  return { campaign, automation: charter('automation.yaml'), reference: charter('oracle.yaml'), guardrails: campaign.guardrails };
}

/** One seed's episodes, every policy. */
export interface SeedResult {
  readonly seed: string;
  readonly episodes: Record<PolicyName, EpisodeMetrics>;
}

/** What a seed is run with (plain data: it crosses to a worker). */
export interface SeedTask {
  readonly scenario: Scenario;
  readonly seed: string;
  readonly accounts: number;
  readonly weeks: number;
  readonly campaignFile?: string;
  /** A team's imported book (amk import): the market is made of its accounts and people. */
  readonly book?: ImportedBook;
}

/** Runs every policy on one seed. */
export function runSeed(task: SeedTask, config: EpisodeConfig = loadBenchConfig(task.campaignFile)): SeedResult {
  const episodes = Object.fromEntries(
    POLICY_NAMES.map((policy) => [policy, runEpisode({ scenario: task.scenario, seed: task.seed, accounts: task.accounts, weeks: task.weeks, start: BENCH_START, policy, config, ...(task.book ? { book: task.book } : {}) })]),
  ) as Record<PolicyName, EpisodeMetrics>;
  return { seed: task.seed, episodes };
}

/** The seeds of a benchmark: `<scenario>-<n>`, so two scenarios never share a world. */
export const seedsOf = (scenario: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${scenario}-${i + 1}`);

/** Runs tasks on a pool of worker threads (one per core, at most `tasks`), calling `onDone` as each finishes. */
export async function runPool(tasks: readonly SeedTask[], onDone: (done: number) => void, workers = Math.min(tasks.length, cpus().length)): Promise<SeedResult[]> {
  if (workers <= 1) {
    const out: SeedResult[] = [];
    const config = loadBenchConfig(tasks[0]?.campaignFile);
    for (const task of tasks) {
      out.push(runSeed(task, config));
      onDone(out.length);
    }
    return out;
  }
  const results: SeedResult[] = new Array<SeedResult>(tasks.length);
  let next = 0;
  let done = 0;
  await Promise.all(
    Array.from({ length: workers }, () => {
      const worker = new Worker(new URL('./worker.mjs', import.meta.url));
      return new Promise<void>((resolve, reject) => {
        const feed = (): void => {
          if (next >= tasks.length) {
            void worker.terminate().then(() => resolve());
            return;
          }
          const index = next;
          next += 1;
          worker.once('message', (msg: { ok: true; result: SeedResult } | { ok: false; error: string }) => {
            if (!msg.ok) {
              void worker.terminate();
              reject(new Error(msg.error));
              return;
            }
            results[index] = msg.result;
            done += 1;
            onDone(done);
            feed();
          });
          worker.postMessage(tasks[index]);
        };
        worker.once('error', reject);
        feed();
      });
    }),
  );
  return results;
}

/** Progressions above the untouched market of the same seed, per 100 touches, pooled over seeds. */
const primary = (rows: readonly SeedResult[], policy: PolicyName): number => {
  const touches = sumOf(rows, (r) => r.episodes[policy].touches);
  if (touches === 0) return Number.NaN;
  return (100 * sumOf(rows, (r) => r.episodes[policy].progressions - r.episodes.none.progressions)) / touches;
};

/**
 * A rate pooled over seeds (the sum of its numerators over the sum of its denominators) with a
 * paired bootstrap interval; NaN when no seed has a denominator. Pooled, not a mean of per-seed
 * rates: a seed without a decided deal has no no-decision rate, and counting it as 0 would favour
 * the policy that brings fewer deals to a decision.
 */
const pooledRate = (
  rows: readonly SeedResult[],
  policy: PolicyName,
  key: string,
  num: (e: EpisodeMetrics) => number,
  den: (e: EpisodeMetrics) => number,
): Interval =>
  bootstrapInterval(
    rows,
    (rs) => {
      const d = sumOf(rs, (r) => den(r.episodes[policy]));
      return d === 0 ? Number.NaN : sumOf(rs, (r) => num(r.episodes[policy])) / d;
    },
    key,
  );

function figuresOf(rows: readonly SeedResult[], policy: PolicyName, key: string): PolicyFigures {
  const per = (f: (e: EpisodeMetrics) => number): Interval => meanInterval(rows.map((r) => f(r.episodes[policy])));
  const rate = (name: string, num: (e: EpisodeMetrics) => number, den: (e: EpisodeMetrics) => number): Interval => pooledRate(rows, policy, `${key}:${policy}:${name}`, num, den);
  const episodes = rows.map((r) => r.episodes[policy]);
  const weeks = episodes[0]?.progressionByWeek.length ?? 0;
  const stages: Record<string, number> = {};
  for (const e of episodes) for (const [s, n] of Object.entries(e.stages)) stages[s] = (stages[s] ?? 0) + n / episodes.length;
  return {
    progressionsPer100Touches: bootstrapInterval(rows, (rs) => primary(rs, policy), `${key}:${policy}`),
    progressions: per((e) => e.progressions),
    incrementalProgressions: meanInterval(rows.map((r) => r.episodes[policy].progressions - r.episodes.none.progressions)),
    touches: per((e) => e.touches),
    accountsAdvanced: per((e) => e.accountsAdvanced),
    multiThreading: per((e) => e.multiThreading),
    noDecisionRate: rate('noDecisionRate', (e) => e.noDecision, (e) => e.decided),
    unsubscribeRate: rate('unsubscribeRate', (e) => e.unsubscribes, (e) => e.emailDeliveries),
    governanceViolations: per((e) => e.violations),
    approvalsRequested: per((e) => e.approvalsRequested),
    blockedShare: rate('blockedShare', (e) => e.blocked, (e) => e.proposed),
    openRate: rate('openRate', (e) => e.opens, (e) => e.emailDeliveries),
    clickRate: rate('clickRate', (e) => e.clicks, (e) => e.emailDeliveries),
    replyRate: rate('replyRate', (e) => e.replies, (e) => e.emailDeliveries),
    stages,
    progressionByWeek: Array.from({ length: weeks }, (_, w) => episodes.reduce((s, e) => s + (e.progressionByWeek[w] ?? 0), 0) / Math.max(1, episodes.length)),
  };
}

/** Aggregates the seeds of one scenario into its result. */
export function summarize(x: { scenario: Scenario; file: string; rows: readonly SeedResult[]; accounts: number; weeks: number; elapsedMs: number }): ScenarioResult {
  const { rows, scenario } = x;
  const key = `${scenario.name}:${rows.map((r) => r.seed).join(',')}`;
  const policies = Object.fromEntries(POLICY_NAMES.map((p) => [p, figuresOf(rows, p, key)])) as Record<PolicyName, PolicyFigures>;
  const lift = bootstrapInterval(rows, (rs) => primary(rs, 'agent') / primary(rs, 'baseline'), `${key}:lift`);
  // The same lift without the per-touch denominator: progressions won over the untouched market,
  // agent over baseline. Where the two differ, the difference is volume (the baseline sends more).
  const incremental = (rs: readonly SeedResult[], p: PolicyName): number => sumOf(rs, (r) => r.episodes[p].progressions - r.episodes.none.progressions);
  const absoluteLift = bootstrapInterval(rows, (rs) => incremental(rs, 'agent') / incremental(rs, 'baseline'), `${key}:absolute`);
  const touchRatio = bootstrapInterval(rows, (rs) => sumOf(rs, (r) => r.episodes.agent.touches) / sumOf(rs, (r) => r.episodes.baseline.touches), `${key}:touches`);
  const oracleShare = bootstrapInterval(
    rows,
    (rs) => {
      const b = primary(rs, 'baseline');
      return (primary(rs, 'agent') - b) / (primary(rs, 'oracle') - b);
    },
    `${key}:oracle`,
  );
  return {
    scenario: scenario.name,
    file: x.file,
    description: scenario.description,
    seeds: rows.length,
    accounts: x.accounts,
    weeks: x.weeks,
    policies,
    lift,
    absoluteLift,
    touchRatio,
    oracleShare,
    calibration: calibrate(rows.map((r) => r.episodes.baseline)),
    elapsedMs: x.elapsedMs,
  };
}
