/**
 * Keyed, counter-based randomness: every draw is a pure function of its key, so a planner decision
 * can be replayed from (seed, run, account, agent, arm) without carrying generator state around.
 */
import { createHash } from 'node:crypto';

/** The parts a random draw or an id is keyed by. */
export type KeyPart = string | number;

const TWO_POW_26 = 67_108_864;
const TWO_POW_53 = 9_007_199_254_740_992;

// JSON keeps the parts apart, so ('a|b') and ('a', 'b') and (1) and ('1') never collide.
const digest = (parts: readonly KeyPart[]): Buffer => createHash('sha256').update(JSON.stringify(parts)).digest();

/** A uniform float in [0, 1), a pure function of the key (53 bits of sha256). */
export function keyedRandom(...key: KeyPart[]): number {
  const h = digest(key);
  const high = h.readUInt32BE(0) >>> 5; // 27 bits
  const low = h.readUInt32BE(4) >>> 6; // 26 bits
  return (high * TWO_POW_26 + low) / TWO_POW_53;
}

/** A short (16 hex chars, 64 bits) deterministic id derived from its parts. */
export function stableId(...parts: KeyPart[]): string {
  return digest(parts).toString('hex').slice(0, 16);
}

// Box-Muller over (0, 1]: `1 - u` keeps log() finite.
function keyedNormal(key: readonly KeyPart[], i: number): number {
  const u1 = 1 - keyedRandom(...key, 'n1', i);
  const u2 = keyedRandom(...key, 'n2', i);
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

// Marsaglia-Tsang; each rejection round reads the next counter, so the result stays a function
// of the key. Acceptance is above 95% per round, so the bounded loop practically never falls through.
function keyedGamma(shape: number, key: readonly KeyPart[]): number {
  if (shape < 1) {
    const u = keyedRandom(...key, 'boost');
    return keyedGamma(shape + 1, [...key, 'boosted']) * Math.pow(u, 1 / shape);
  }
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (let i = 0; i < 64; i++) {
    const x = keyedNormal(key, i);
    const base = 1 + c * x;
    if (base <= 0) continue;
    const v = base * base * base;
    const u = keyedRandom(...key, 'u', i);
    if (u < 1 - 0.0331 * x ** 4 || Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
  return shape; // the mean: a sane answer if 64 rounds were ever all rejected
}

/** A draw from Beta(alpha, beta) keyed by `key` (two keyed gamma draws); alpha, beta > 0. */
export function betaSample(alpha: number, beta: number, ...key: KeyPart[]): number {
  if (!(alpha > 0) || !(beta > 0) || !Number.isFinite(alpha) || !Number.isFinite(beta)) {
    throw new RangeError(`betaSample needs finite alpha > 0 and beta > 0, got alpha=${alpha}, beta=${beta}`);
  }
  const x = keyedGamma(alpha, [...key, 'alpha']);
  const y = keyedGamma(beta, [...key, 'beta']);
  // Both can underflow to 0 for tiny shapes; fall back to the mean rather than NaN.
  return x + y > 0 ? x / (x + y) : alpha / (alpha + beta);
}
