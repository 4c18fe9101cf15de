/**
 * What every part of one market tick shares: the clock window, the seed and scenario, and where
 * signals go. Pure helpers for weekly probabilities and times live here too, so the book,
 * response, organic and progression modules need nothing from the Market class.
 */
import type { PipelineSignal, Stage } from '../../shared/domain/model.ts';
import type { Scenario } from './scenario.ts';

/** A week in milliseconds: the nominal tick. */
export const WEEK_MS = 7 * 24 * 60 * 60 * 1000;
/** An hour in milliseconds (responses are offset within a tick). */
export const HOUR_MS = 60 * 60 * 1000;
/** A minute in milliseconds. */
export const MINUTE_MS = 60 * 1000;

/** Open stages that can still move forward (committed is won; the terminal stages never move). */
export type MovingStage = 'unaware' | 'problem_aware' | 'solution_aware' | 'evaluating';

/** One tick of the world: its window, number, randomness and signal sink. */
export interface Tick {
  readonly seed: string;
  readonly scenario: Scenario;
  /** The tick number (1 for the first advance). */
  readonly tick: number;
  /** Length of the tick in weeks (weekly probabilities are compounded over it). */
  readonly weeks: number;
  readonly fromMs: number;
  readonly toMs: number;
  /** Records a signal (and counts it by kind). */
  readonly emit: (signal: PipelineSignal) => void;
  /** An ISO time clamped into the tick's window. */
  readonly within: (ms: number) => string;
}

/** Clamps to [0, 1]. */
export const clamp01 = (x: number): number => (x < 0 ? 0 : x > 1 ? 1 : x);

/** Linear interpolation from a to b. */
export const lerp = (a: number, b: number, t: number): number => a + (b - a) * t;

/** A weekly probability over `weeks` weeks. */
export const overWeeks = (p: number, weeks: number): number => (weeks === 1 ? p : 1 - Math.pow(1 - clamp01(p), weeks));

/** Epoch milliseconds as an ISO string. */
export const iso = (ms: number): string => new Date(ms).toISOString();

/** True for stages nothing moves any more: committed, no_decision and closed_lost. */
export const isDecided = (stage: Stage): boolean => stage === 'committed' || stage === 'no_decision' || stage === 'closed_lost';
