/**
 * The benchmark repeats: a seed names one world and one run of every policy on it, whatever process
 * or thread runs it and however many workers share the seeds, so a published figure can be
 * reproduced and two policies compared on the very same market (style.md rule 15).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBenchConfig, runPool, runSeed, seedsOf, summarize, type SeedResult, type SeedTask } from '../../bench/run.ts';
import type { EpisodeConfig, EpisodeMetrics } from '../../bench/episode.ts';
import { POLICY_NAMES } from '../../bench/types.ts';
import { scenarioByName } from '../../local/simulator/scenario.ts';

const REPO = resolve('.');
const scenario = scenarioByName('default');
/** Small enough to run in a second or two per seed, large enough that every policy acts and the market moves. */
const SIZE = { accounts: 60, weeks: 13 } as const;

/** An episode without the seed it was run on: what must differ between two seeds is the world, not the label. */
const unlabelled = (r: SeedResult): Record<string, Omit<EpisodeMetrics, 'seed'>> =>
  Object.fromEntries(Object.entries(r.episodes).map(([policy, { seed: _seed, ...rest }]) => [policy, rest]));

let config: EpisodeConfig;
beforeAll(() => {
  config = loadBenchConfig();
});

describe('runSeed', () => {
  it('gives deep-equal results for every policy when run twice on the same seed', () => {
    const task: SeedTask = { scenario, seed: 'default-1', ...SIZE };
    const first = runSeed(task, config);
    // A fresh config as well: nothing may carry over from the first run through shared objects.
    const second = runSeed(task, loadBenchConfig());
    expect(second).toEqual(first);
    // Not vacuous: the world moved and every acting policy touched it.
    for (const policy of POLICY_NAMES) if (policy !== 'none') expect(first.episodes[policy].touches, policy).toBeGreaterThan(0);
    expect(first.episodes.none.progressions).toBeGreaterThan(0);
  });

  it('gives different worlds on different seeds, for the untouched market and for every policy', () => {
    const [a, b] = seedsOf('default', 2).map((seed) => unlabelled(runSeed({ scenario, seed, ...SIZE }, config)));
    for (const policy of POLICY_NAMES) expect(b?.[policy], policy).not.toEqual(a?.[policy]);
  });
});

describe('runPool', () => {
  it('gives the same SeedResults with one worker (in process) and with two worker threads', async () => {
    const tasks: SeedTask[] = seedsOf('default', 2).map((seed) => ({ scenario, seed, ...SIZE }));
    const serial = await runPool(tasks, () => {}, 1);
    const done: number[] = [];
    const threaded = await runPool(tasks, (n) => done.push(n), 2);
    expect(threaded).toEqual(serial);
    expect(threaded.map((r) => r.seed)).toEqual(['default-1', 'default-2']);
    expect(done).toEqual([1, 2]);
  });
});

/** Runs the bench CLI; resolves with its exit code and output whatever the code. */
function bench(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    execFile(process.execPath, ['--import', 'tsx', 'bench/bench.ts', ...args], { cwd: REPO, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') return fail(err);
      done({ code: err && typeof err.code === 'number' ? err.code : 0, stdout, stderr });
    });
  });
}

describe('npm run bench -- --json', () => {
  const work = mkdtempSync(join(tmpdir(), 'amk-bench-det-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));
  const CLI_SIZE = { seeds: 2, accounts: 40, weeks: 8 } as const;
  const args = (report: string, workers: number): string[] => [
    '--scenario',
    'scenarios/default.yaml',
    '--seeds',
    String(CLI_SIZE.seeds),
    '--accounts',
    String(CLI_SIZE.accounts),
    '--weeks',
    String(CLI_SIZE.weeks),
    '--workers',
    String(workers),
    '--json',
    '--report',
    join(work, report),
  ];
  /** The measured figures of a --json result: everything but the wall-clock time and the command line. */
  const figures = (stdout: string): Record<string, unknown> => {
    const { elapsedMs: _elapsed, command: _command, ...rest } = JSON.parse(stdout) as Record<string, unknown>;
    return rest;
  };

  it('prints identical numbers on two runs of the same seeds (one worker, then two), equal to summarizing the same seeds in process', async () => {
    const [one, two] = await Promise.all([bench(args('one.html', 1)), bench(args('two.html', 2))]);
    expect(one.code, one.stderr).toBe(0);
    expect(two.code, two.stderr).toBe(0);
    expect(figures(two.stdout)).toEqual(figures(one.stdout));

    const rows = seedsOf('default', CLI_SIZE.seeds).map((seed) => runSeed({ scenario, seed, accounts: CLI_SIZE.accounts, weeks: CLI_SIZE.weeks }, config));
    const inProcess = summarize({ scenario, file: 'scenarios/default.yaml', rows, accounts: CLI_SIZE.accounts, weeks: CLI_SIZE.weeks, elapsedMs: 0 });
    // Through JSON as the CLI prints it (an undefined ratio, NaN, prints as null).
    const { elapsedMs: _elapsed, ...expected } = JSON.parse(JSON.stringify({ format: 'amk-bench/1', ...inProcess })) as Record<string, unknown>;
    expect(figures(one.stdout)).toEqual(expected);
  });
});
