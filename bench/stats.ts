/**
 * Statistics of the benchmark: intervals over paired seeds. Per-seed figures get a t interval of
 * the mean; ratios (the primary metric, the lift, the oracle share) get a paired percentile
 * bootstrap over seeds, keyed so the same results give the same interval.
 */
import { keyedRandom } from '../shared/domain/random.ts';
import type { Interval } from './types.ts';

/** Two-sided 95% Student t quantiles by degrees of freedom (1..30); 1.96 beyond. */
const T95 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086,
  2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

const tQuantile = (df: number): number => (df < 1 ? Number.NaN : (T95[df - 1] ?? 1.96));

export const mean = (xs: readonly number[]): number => (xs.length === 0 ? Number.NaN : xs.reduce((s, x) => s + x, 0) / xs.length);

/** The mean of per-seed values with its 95% t interval (a single seed: the value, no width). */
export function meanInterval(xs: readonly number[]): Interval {
  const m = mean(xs);
  if (xs.length < 2) return { estimate: m, ciLow: m, ciHigh: m };
  const variance = xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1);
  const half = tQuantile(xs.length - 1) * Math.sqrt(variance / xs.length);
  return { estimate: m, ciLow: m - half, ciHigh: m + half };
}

/** A small seeded generator (mulberry32): the resampling is keyed once, then fast. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Bootstrap resamples of the ratio intervals. */
export const BOOTSTRAP_RESAMPLES = 2000;

/**
 * A statistic of per-seed rows with a paired percentile bootstrap interval: seeds are resampled
 * whole (every policy's figures of a seed together), `key` makes the resampling repeatable.
 */
export function bootstrapInterval<T>(rows: readonly T[], statistic: (rows: readonly T[]) => number, key: string): Interval {
  const estimate = statistic(rows);
  if (rows.length < 2) return { estimate, ciLow: estimate, ciHigh: estimate };
  const values: number[] = [];
  const sample: T[] = new Array<T>(rows.length);
  const next = mulberry32(Math.floor(keyedRandom('bootstrap', key) * 4294967296));
  for (let b = 0; b < BOOTSTRAP_RESAMPLES; b += 1) {
    for (let i = 0; i < rows.length; i += 1) sample[i] = rows[Math.floor(next() * rows.length)] as T;
    const v = statistic(sample);
    if (Number.isFinite(v)) values.push(v);
  }
  values.sort((a, b) => a - b);
  const at = (q: number): number => values[Math.min(values.length - 1, Math.max(0, Math.floor(q * values.length)))] ?? Number.NaN;
  return { estimate, ciLow: at(0.025), ciHigh: at(0.975) };
}

/** Sum of a field over rows. */
export const sumOf = <T>(rows: readonly T[], f: (row: T) => number): number => rows.reduce((s, r) => s + f(r), 0);
