/**
 * Applying a tally (shared/domain/tally.ts) once: memory entries are keyed by time and action id,
 * and every counter, spend and model update carries the effect's key, so a repeated delivery of
 * the step changes nothing. The run counters go last, so that they never say more than the rest.
 */
import type { AuditLog, MemoryRepository, RunRepository } from '../ports/index.ts';
import type { Action, AuditEvent, CommitteeRole } from '../domain/model.ts';
import { isTouchChannel, isoWeekOf, spendMonthOf } from '../domain/governance.ts';
import { EffectKeys, type EffectKey } from '../domain/effects.ts';
import { EMPTY_TALLY, count, tallyExecution, type Tally } from '../domain/tally.ts';

/** An event before the log seals it, keyed by the effect it records. */
type AuditDraft = Omit<AuditEvent, 'seq' | 'prevHash' | 'hash'> & { key: string };

export interface BooksDeps {
  readonly memory: Pick<MemoryRepository, 'append' | 'addOutcomes'>;
  readonly runs: Pick<RunRepository, 'addCounters' | 'addAgentSpend'>;
}

/** Applies a tally to a run and its agents' books, once per `once`; spend is booked in `month`. */
export async function applyTally(deps: BooksDeps, run: { runId: string; month: string }, tally: Tally, once: EffectKey): Promise<void> {
  if (tally.memory.length > 0) await deps.memory.append([...tally.memory]);
  await Promise.all(Object.entries(tally.trials).map(([agentId, deltas]) => deps.memory.addOutcomes(agentId, deltas, once)));
  await Promise.all(
    Object.entries(tally.spendByAgent)
      .filter(([, usd]) => usd > 0)
      .map(([agentId, usd]) => deps.runs.addAgentSpend(agentId, run.month, usd, once)),
  );
  if (Object.keys(tally.counters).length > 0) await deps.runs.addCounters(run.runId, { ...tally.counters }, once);
}

/**
 * Gives back what Govern reserved (touch and spend) for an action that will not use it (rejected, expired, failed,
 * blocked at send, or no longer executable), on its run and its agent's month of the run's clock.
 */
export async function releaseReservation(deps: { readonly runs: Pick<RunRepository, 'releaseSpend' | 'releaseTouches'> }, runId: string, runNow: string, action: Action): Promise<void> {
  if (isTouchChannel(action.channel)) {
    await deps.runs.releaseTouches({ accountId: action.accountId, week: isoWeekOf(runNow), actionId: action.id, stakeholderIds: action.stakeholderIds });
  }
  if (action.costUsd > 0) {
    await deps.runs.releaseSpend({ runId, agentId: action.agentId, month: spendMonthOf(runNow), actionId: action.id, usd: action.costUsd });
  }
}

/** What booking an action sent apart from its page needs: its audit event, the books, and its reservation. */
export interface SendBooksDeps {
  readonly audit: Pick<AuditLog, 'appendOnce'>;
  readonly memory: Pick<MemoryRepository, 'append' | 'addOutcomes'>;
  readonly runs: Pick<RunRepository, 'addCounters' | 'addAgentSpend' | 'releaseSpend' | 'releaseTouches'>;
}

/** One action sent apart from the page that planned it: an approved one, or a deferred one in its slot. */
export interface SentAction {
  readonly runId: string;
  /** The run's clock: the month its spend is booked in, the week and month its reservation was held in. */
  readonly runNow: string;
  readonly action: Action;
}

/**
 * Books one execution of an action sent apart from its page (ActApproved, SendDeferred) as Record
 * books the page's: its `tool_call` event, memory, a trial of its arm, the run's counters and the
 * agent's monthly spend (the one tally of shared/domain/tally.ts), all keyed by the action, so it
 * is booked once however often its step is delivered and whichever path executed it. A failed call
 * gives its reservation back.
 */
export async function bookExecution(
  deps: SendBooksDeps,
  sent: SentAction & {
    readonly result: { readonly ok: boolean; readonly replayed: boolean; readonly detail?: string | undefined };
    readonly role: CommitteeRole;
    /** When it is remembered: a time every delivery agrees on (the decision, the send slot). */
    readonly at: string;
    /** Counters besides the execution's own (e.g. `approved`). */
    readonly counters?: Readonly<Record<string, number>>;
    /** The `tool_call` event, with the key it must carry. */
    readonly toolCall: (once: EffectKey) => AuditDraft;
  },
): Promise<void> {
  const once = EffectKeys.execution(sent.action.id);
  await deps.audit.appendOnce([sent.toolCall(once)]);
  const tally = tallyExecution(count(EMPTY_TALLY, sent.counters ?? {}), { action: sent.action, result: sent.result, role: sent.role, at: sent.at });
  await applyTally(deps, { runId: sent.runId, month: spendMonthOf(sent.runNow) }, tally, once);
  if (!sent.result.ok) await releaseReservation(deps, sent.runId, sent.runNow, sent.action);
}

/**
 * An action that a guardrail which changed while it waited blocks at send: a `blocked_at_send`
 * alert in the run's stream, the counters `blockedAtSend` and `blockedAtSend.<guardrail>`, and its
 * reservation given back, each once per `once`.
 */
export async function bookBlockedAtSend(
  deps: Pick<SendBooksDeps, 'audit' | 'runs'>,
  sent: SentAction & {
    readonly guardrail: string;
    readonly reason: string;
    readonly once: EffectKey;
    /** The alert's envelope (stream, time, actor, ids); its data says what was blocked and why. */
    readonly alert: Omit<AuditDraft, 'key' | 'kind' | 'data'>;
    /** What the alert names besides the action (e.g. the approval). */
    readonly data?: Readonly<Record<string, unknown>>;
  },
): Promise<void> {
  await deps.audit.appendOnce([
    {
      ...sent.alert,
      key: sent.once,
      kind: 'alert',
      data: { alert: 'blocked_at_send', ...sent.data, actionId: sent.action.id, guardrail: sent.guardrail, reason: sent.reason, executed: false },
    },
  ]);
  await deps.runs.addCounters(sent.runId, { blockedAtSend: 1, [`blockedAtSend.${sent.guardrail}`]: 1 }, sent.once);
  await releaseReservation(deps, sent.runId, sent.runNow, sent.action);
}
