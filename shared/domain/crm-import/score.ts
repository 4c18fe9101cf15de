/**
 * The data-quality score, 0–100: the share of the book that is clean, where a unit (a data row of
 * a file, or an account checked for its committee) costs 1 when it has an error, 0.25 when it has
 * only warnings, and nothing for infos. Published in the README; a campaign's `dataQuality.minScore`
 * compares with it.
 */
import type { ImportIssue } from './issues.ts';

/** What an error costs a unit: all of it (the row was not imported). */
export const ERROR_PENALTY = 1;
/** What warnings cost a unit: a quarter (imported, with a fallback someone should check). */
export const WARNING_PENALTY = 0.25;

/** Units assessed and the penalty they carry: what a score is computed from, and what summaries keep. */
export interface ScoreParts {
  readonly units: number;
  readonly penalty: number;
}

/**
 * The penalty of a set of units: each unit (a row number, or an account id for account-level
 * issues) costs its worst severity once, however many issues it has.
 */
export function penaltyOf(issues: readonly ImportIssue[]): number {
  const worst = new Map<string, number>();
  for (const i of issues) {
    const unit = i.row !== null ? `row ${i.row}` : `account ${i.accountId ?? i.message}`;
    const cost = i.severity === 'error' ? ERROR_PENALTY : i.severity === 'warning' ? WARNING_PENALTY : 0;
    worst.set(unit, Math.max(worst.get(unit) ?? 0, cost));
  }
  return [...worst.values()].reduce((a, b) => a + b, 0);
}

/**
 * score = round(100 × (1 − Σ penalty / Σ units)), clamped to 0..100; 100 when nothing was
 * assessed (an empty book has no flaws to show, the gate's other thresholds catch it).
 */
export function qualityScore(parts: readonly ScoreParts[]): number {
  const units = parts.reduce((t, p) => t + p.units, 0);
  const penalty = parts.reduce((t, p) => t + p.penalty, 0);
  if (units <= 0) return 100;
  return Math.min(100, Math.max(0, Math.round(100 * (1 - penalty / units))));
}
