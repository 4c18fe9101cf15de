/**
 * What the benchmark must show before any lift it reports means something (simulator.md,
 * "Metrics"; the issue's "done when"): the automation baseline lands inside the published ranges
 * on the default scenario, a correct agent shows no lift on the null control (every action has the
 * same true effect), and governance holds (0 violations) in every scenario for every policy.
 *
 * These run real books for half a year on many seeds, so they take minutes, not seconds. Each
 * asserts on the computed figures and prints them when it fails: a failure here is a finding about
 * the simulator or the benchmark, not a flaky test to loosen.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { calibrate } from '../../bench/calibration.ts';
import { runEpisode, type EpisodeConfig, type EpisodeMetrics } from '../../bench/episode.ts';
import { BENCH_START, loadBenchConfig, runSeed, seedsOf, summarize, type SeedResult } from '../../bench/run.ts';
import { POLICY_NAMES, type Interval, type PolicyName } from '../../bench/types.ts';
import { SCENARIO_FILES, scenarioByName } from '../../local/simulator/scenario.ts';

/** The bench's own defaults (`npm run bench`): 200 accounts for 26 weekly runs. */
const BOOK = { accounts: 200, weeks: 26 } as const;

let config: EpisodeConfig;
beforeAll(() => {
  config = loadBenchConfig();
});

const episode = (scenarioName: string, seed: string, policy: PolicyName, size: { accounts: number; weeks: number } = BOOK): EpisodeMetrics =>
  runEpisode({ scenario: scenarioByName(scenarioName), seed, ...size, start: BENCH_START, policy, config });

const pct = (x: number): string => `${(100 * x).toFixed(3)}%`;
const showInterval = (i: Interval): string => `${i.estimate.toFixed(4)} [${i.ciLow.toFixed(4)}, ${i.ciHigh.toFixed(4)}]`;

describe('calibration', () => {
  /**
   * The bench's default seed count. Fewer are not stable: the no-decision share rests on a handful
   * of decided deals per seed (4 seeds: 66.7%, out; 8 seeds: exactly 60.0%, the upper edge), and
   * SDR unsubscribes on a few per seed (1 seed: 0%).
   */
  const SEEDS = 20;

  it(
    `puts the baseline inside every published range on default (${SEEDS} seeds × ${BOOK.accounts} accounts × ${BOOK.weeks} weeks)`,
    () => {
      const baseline = seedsOf('default', SEEDS).map((seed) => episode('default', seed, 'baseline'));
      const table = calibrate(baseline);
      const out = table.filter((row) => !row.ok);
      if (out.length > 0) {
        console.log(
          `calibration of the baseline on default:\n${table.map((r) => `  ${r.ok ? 'ok ' : 'OUT'} ${r.metric.padEnd(36)} ${pct(r.value).padStart(9)} in [${pct(r.low)}, ${pct(r.high)}]`).join('\n')}`,
        );
      }
      expect(table).toHaveLength(7);
      expect(out.map((r) => `${r.metric}: ${pct(r.value)} outside [${pct(r.low)}, ${pct(r.high)}]`)).toEqual([]);
    },
    600_000,
  );
});

describe('the null control', () => {
  /** The bench's default seed count: the claim is about what `npm run bench` reports. */
  const SEEDS = 20;

  it(
    `shows no lift of the agent over the baseline: the 95% interval contains 1.0 (${SEEDS} seeds × ${BOOK.accounts} accounts × ${BOOK.weeks} weeks)`,
    () => {
      const rows: SeedResult[] = seedsOf('null-control', SEEDS).map((seed) => {
        const none = episode('null-control', seed, 'none');
        const agent = episode('null-control', seed, 'agent');
        const baseline = episode('null-control', seed, 'baseline');
        // The lift reads only agent, baseline and none (bench/run.ts `primary`); random and oracle
        // are left out to halve the run time and stand in as the untouched market.
        return { seed, episodes: { agent, baseline, none, random: { ...none, policy: 'random' }, oracle: { ...none, policy: 'oracle' } } };
      });
      const result = summarize({ scenario: scenarioByName('null-control'), file: SCENARIO_FILES['null-control'] ?? 'null-control', rows, accounts: BOOK.accounts, weeks: BOOK.weeks, elapsedMs: 0 });
      const { lift } = result;
      const figures = [
        `lift ${showInterval(lift)}`,
        `agent ${showInterval(result.policies.agent.progressionsPer100Touches)} progressions per 100 touches above none (${result.policies.agent.incrementalProgressions.estimate.toFixed(2)} per seed over ${result.policies.agent.touches.estimate.toFixed(0)} touches)`,
        `baseline ${showInterval(result.policies.baseline.progressionsPer100Touches)} (${result.policies.baseline.incrementalProgressions.estimate.toFixed(2)} per seed over ${result.policies.baseline.touches.estimate.toFixed(0)} touches)`,
      ].join('\n  ');
      const contains = lift.ciLow <= 1 && lift.ciHigh >= 1;
      if (!contains) console.log(`null-control, ${SEEDS} seeds:\n  ${figures}`);
      expect(Number.isFinite(lift.ciLow) && Number.isFinite(lift.ciHigh), figures).toBe(true);
      expect(contains, figures).toBe(true);
    },
    900_000,
  );
});

describe('governance', () => {
  /** Violations are structural (a delivery to an opted-out or do-not-contact person): two seeds of every policy per scenario. */
  const SEEDS = 2;
  const SIZE = { accounts: 150, weeks: BOOK.weeks } as const;

  it.each(Object.keys(SCENARIO_FILES))(
    `has 0 violations for every policy on %s (${SEEDS} seeds × ${SIZE.accounts} accounts × ${SIZE.weeks} weeks)`,
    (name) => {
      const violations: Record<string, number> = {};
      for (const seed of seedsOf(name, SEEDS)) {
        const { episodes } = runSeed({ scenario: scenarioByName(name), seed, ...SIZE }, config);
        for (const policy of POLICY_NAMES) {
          violations[`${seed}:${policy}`] = episodes[policy].violations;
          if (policy !== 'none') expect(episodes[policy].touches, `${seed}:${policy} touched nobody`).toBeGreaterThan(0);
        }
      }
      const nonZero = Object.entries(violations).filter(([, n]) => n !== 0);
      if (nonZero.length > 0) console.log(`governance violations on ${name}: ${JSON.stringify(Object.fromEntries(nonZero))}`);
      expect(Object.fromEntries(nonZero)).toEqual({});
    },
    600_000,
  );
});
