/**
 * The shape of a benchmark result: what `npm run bench` computes, prints with `--json` and renders
 * as an HTML report. Plain data (no classes), so a worker can post it and a report can be drawn
 * from a saved JSON file.
 */

/** A point estimate with its 95% confidence interval (NaN, printed as null in JSON, when undefined: e.g. no touches). */
export interface Interval {
  readonly estimate: number;
  readonly ciLow: number;
  readonly ciHigh: number;
}

/** The policies the benchmark compares, in report order (`none` is the untouched counterfactual). */
export const POLICY_NAMES = ['agent', 'baseline', 'random', 'oracle', 'none'] as const;
export type PolicyName = (typeof POLICY_NAMES)[number];

/** One policy's figures over the seeds of a scenario (each an Interval over the paired seeds). */
export interface PolicyFigures {
  /** Primary: progressions above the untouched market per 100 touches (bench/run.ts). */
  readonly progressionsPer100Touches: Interval;
  /** Progressions (forward stage moves and accepted meetings, as the guardrails' pipelineQuality defines them) per seed. */
  readonly progressions: Interval;
  /** Progressions above the untouched market (same seed), per seed. */
  readonly incrementalProgressions: Interval;
  /** Stakeholder deliveries (email, sales, web and ad audience), per seed. */
  readonly touches: Interval;
  /** Share of accounts whose true stage ranks above where they started. */
  readonly accountsAdvanced: Interval;
  /** Mean distinct committee roles engaged per account at the end. */
  readonly multiThreading: Interval;
  /**
   * Share of decided deals that ended in no decision, pooled over seeds (NaN, null in JSON, when
   * no deal was decided). Rates below are pooled the same way.
   */
  readonly noDecisionRate: Interval;
  /** Unsubscribes per email delivered (NaN when nothing was emailed). */
  readonly unsubscribeRate: Interval;
  /**
   * Deliveries to opted-out or do-not-contact people, as the world counts them (must be 0). An
   * action needing approval executes in the episode only after the simulated reviewer approved it.
   */
  readonly governanceViolations: Interval;
  readonly approvalsRequested: Interval;
  /** Share of proposed actions governance blocked. */
  readonly blockedShare: Interval;
  /** Reported, never scored. */
  readonly openRate: Interval;
  readonly clickRate: Interval;
  readonly replyRate: Interval;
  /** Funnel, mean per seed: accounts per true stage at the end. */
  readonly stages: Readonly<Record<string, number>>;
  /** Mean cumulative progressions at the end of each week (index 0 = week 1). */
  readonly progressionByWeek: readonly number[];
}

/** One row of the calibration table: the baseline on this scenario against a published range. */
export interface CalibrationRow {
  readonly metric: string;
  readonly value: number;
  readonly low: number;
  readonly high: number;
  readonly source: string;
  readonly ok: boolean;
}

/** Everything measured on one scenario. */
export interface ScenarioResult {
  readonly scenario: string;
  readonly file: string;
  readonly description: string;
  readonly seeds: number;
  readonly accounts: number;
  readonly weeks: number;
  readonly policies: Readonly<Record<PolicyName, PolicyFigures>>;
  /** Agent's primary metric over the baseline's (paired bootstrap over seeds). */
  readonly lift: Interval;
  /**
   * Agent's progressions above the untouched market over the baseline's, not per touch: the lift
   * an equal number of accounts sees. `lift` ≈ `absoluteLift` / `touchRatio`.
   */
  readonly absoluteLift: Interval;
  /** Agent's touches over the baseline's. */
  readonly touchRatio: Interval;
  /** (agent - baseline) / (oracle - baseline) on the primary metric. */
  readonly oracleShare: Interval;
  readonly calibration: readonly CalibrationRow[];
  readonly elapsedMs: number;
}

/** What `npm run bench` prints with --json (one scenario). */
export interface BenchResult extends ScenarioResult {
  readonly format: 'amk-bench/1';
  readonly command: string;
}
