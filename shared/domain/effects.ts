/**
 * Effect keys: what an effect is, never the attempt that applies it. Every write a step makes to a
 * shared record (a counter, spend, an agent's model, an audit stream, an email) carries one, and
 * the adapter applies it once per key (guarded counters, keyed audit events, idempotency records).
 * So a step delivered twice, retried after it succeeded, or re-run after a crash between two of
 * its writes leaves the books as if it had run once.
 */

/** An effect's identity (see the module comment). */
export type EffectKey = string;

const at = (cursor: string | null): string => cursor ?? 'start';

export const EffectKeys = {
  /** The run's start (its `run_started` event). */
  runStarted: (runId: string): EffectKey => `run#${runId}#started`,
  /** A run the campaign's data-quality gate refused to start (its `alert` event). */
  runGated: (runId: string): EffectKey => `run#${runId}#gated`,
  /** Observe's credits for one page of one shard of a run. */
  pageObserved: (runId: string, shard: number, cursor: string | null): EffectKey => `page#${runId}#${shard}#${at(cursor)}#observed`,
  /** Record's bookkeeping of one page of one shard of a run. */
  pageRecorded: (runId: string, shard: number, cursor: string | null): EffectKey => `page#${runId}#${shard}#${at(cursor)}#recorded`,
  /** The turn of one account on one page (its audit event). */
  turn: (runId: string, shard: number, cursor: string | null, accountId: string): EffectKey => `page#${runId}#${shard}#${at(cursor)}#turn#${accountId}`,
  /**
   * The execution of an action booked apart from its page: an approved one (whichever member of
   * its approval executes it) or a deferred one (sent in its slot).
   */
  execution: (actionId: string): EffectKey => `action#${actionId}#executed`,
  /** What else became of one action sent apart from its page (e.g. a deferred one blocked at send). */
  action: (actionId: string, what: string): EffectKey => `action#${actionId}#${what}`,
  /** What became of one approval request (decided, expired, escalated, blocked at send, alerted). */
  approval: (approvalId: string, what: string): EffectKey => `approval#${approvalId}#${what}`,
  /** A failure of a shard or an approval branch, after its retries. */
  failure: (runId: string, scope: string, where: string | number): EffectKey => `run#${runId}#failed#${scope}#${where}`,
  /** The run's summary (event and email). */
  summary: (runId: string): EffectKey => `run#${runId}#summary`,
} as const;
