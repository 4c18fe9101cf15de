/**
 * Deferred sends: an autonomous action whose `notBefore` (its people's next business hour, see
 * orchestration.ts and nextSendTime) is later than the run's clock is not executed by Act but kept
 * for sending at its time. Actions wait in send slots of a quarter hour each, so what the workflow
 * waits for grows with the slots of a shard (at most a day's 96), never with its accounts. Pure.
 */
import type { Action } from './model.ts';

/** The width of a send slot: deferred actions of a shard whose send times share one wait together. */
export const SEND_SLOT_MS = 15 * 60 * 1000;

/** True when the action may not be sent at `now` (ISO): its notBefore is later. */
export function isDeferred(action: Pick<Action, 'notBefore'>, now: string): boolean {
  if (action.notBefore === undefined) return false;
  const at = Date.parse(action.notBefore);
  return !Number.isNaN(at) && at > Date.parse(now);
}

/**
 * The send slot of a deferred action (ISO, on a quarter hour): its notBefore rounded up, so an
 * action is never sent before its time (nextSendTime already returns quarter hours).
 */
export function sendSlotOf(action: Pick<Action, 'id' | 'notBefore'>): string {
  const at = action.notBefore === undefined ? Number.NaN : Date.parse(action.notBefore);
  if (Number.isNaN(at)) throw new RangeError(`action ${action.id} has no send time (notBefore)`);
  return new Date(Math.ceil(at / SEND_SLOT_MS) * SEND_SLOT_MS).toISOString();
}

/**
 * How far a function's clock may trail the Wait that released it (the clocks of two services).
 * Within it, a send is judged at the time waited for: a send time is the first minute of a
 * business hour, so a clock a few milliseconds behind would otherwise still read quiet hours.
 */
export const SEND_CLOCK_SKEW_MS = 60_000;

/** The moment a send is judged at: the clock, or `waitedFor` (ISO) when the clock trails it by no more than the skew. */
export function sendingAt(clock: string, waitedFor?: string): string {
  const clockMs = Date.parse(clock);
  const dueMs = waitedFor === undefined ? Number.NaN : Date.parse(waitedFor);
  if (Number.isNaN(dueMs) || clockMs >= dueMs || clockMs < dueMs - SEND_CLOCK_SKEW_MS) return new Date(clockMs).toISOString();
  return new Date(dueMs).toISOString();
}

/** A time as a Wait state's TimestampPath takes it: RFC 3339 in UTC, whole seconds. */
export const waitTimestamp = (ms: number): string => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.000Z$/, 'Z');
