/** Canonical JSON and content digests: what an approver saw is exactly what executes. */
import { createHash } from 'node:crypto';
import type { Action } from './model.ts';
import { canonicalJson } from './canonical-json.ts';

/** sha256 hex of a string. */
export const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/** Digest of an action as proposed: stored with the approval and checked before execution. */
export const actionDigest = (action: Action): string => sha256(canonicalJson(action));
