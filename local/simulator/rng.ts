/**
 * A keyed, counter-based random number generator: every draw is a pure function of the seed and a
 * key (account, contact, tick, purpose), computed as sha256 of the joined key. Adding a draw under
 * a new key therefore never shifts any other draw, and two runs that differ in one action share
 * every other random number (common random numbers make paired policy comparisons low-noise).
 */
import { hash } from 'node:crypto';

/** A part of a draw key: ids, tick numbers, purposes. */
export type KeyPart = string | number;

// The ASCII unit separator cannot appear in ids we generate, so ['a|b','c'] and ['a','b|c'] never collide.
const SEP = '\u001f';
const UNIFORMS_PER_BLOCK = 8; // sha256 = 32 bytes = eight 32-bit words
const TWO_32 = 4294967296;

const digest = (seed: string, key: readonly KeyPart[], block: number): Buffer =>
  hash('sha256', block === 0 ? `${seed}${SEP}${key.join(SEP)}` : `${seed}${SEP}${key.join(SEP)}${SEP}#${block}`, 'buffer');

/** One uniform number in [0, 1) for this seed and key. */
export const draw = (seed: string, ...key: KeyPart[]): number => digest(seed, key, 0).readUInt32BE(0) / TWO_32;

/** `count` independent uniforms in [0, 1) for one key (one sha256 per 8 numbers); `draws(n, s, k)[0] === draw(s, k)`. */
export const draws = (count: number, seed: string, ...key: KeyPart[]): number[] => {
  const out: number[] = [];
  for (let block = 0; out.length < count; block += 1) {
    const buf = digest(seed, key, block);
    for (let i = 0; i < UNIFORMS_PER_BLOCK && out.length < count; i += 1) out.push(buf.readUInt32BE(i * 4) / TWO_32);
  }
  return out;
};

/** Picks an item uniformly with a uniform `u` in [0, 1). */
export const pick = <T>(items: readonly T[], u: number): T => {
  const item = items[Math.min(items.length - 1, Math.floor(u * items.length))];
  if (item === undefined) throw new RangeError('pick() needs a non-empty list');
  return item;
};

const cumulative = new WeakMap<object, { keys: string[]; bounds: number[] }>();

/** Picks a key by weight with a uniform `u` in [0, 1); weights need not sum to 1 (cached per weights object). */
export const pickWeighted = <K extends string>(weights: Readonly<Record<K, number>>, u: number): K => {
  let table = cumulative.get(weights);
  if (table === undefined) {
    const entries = Object.entries(weights) as Array<[K, number]>;
    const total = entries.reduce((sum, [, w]) => sum + w, 0);
    if (entries.length === 0 || !(total > 0)) throw new RangeError('pickWeighted() needs at least one positive weight');
    let acc = 0;
    table = { keys: entries.map(([k]) => k), bounds: entries.map(([, w]) => (acc += w / total)) };
    cumulative.set(weights, table);
  }
  const { keys, bounds } = table;
  for (let i = 0; i < bounds.length - 1; i += 1) if (u < (bounds[i] ?? 1)) return keys[i] as K;
  return keys[keys.length - 1] as K;
};

/** An integer in [min, max] (inclusive) from a uniform `u` in [0, 1). */
export const intBetween = (min: number, max: number, u: number): number => min + Math.min(max - min, Math.floor(u * (max - min + 1)));
