/** Canonical JSON and content digests: what an approver saw is exactly what executes. */
import { createHash } from 'node:crypto';
import type { Action } from './model.ts';

/** JSON with object keys sorted at every level (undefined members dropped), for stable hashing. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** sha256 hex of a string. */
export const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/** Digest of an action as proposed: stored with the approval and checked before execution. */
export const actionDigest = (action: Action): string => sha256(canonicalJson(action));
