/**
 * Applying a tally (shared/domain/tally.ts) once: memory entries are keyed by time and action id,
 * and every counter, spend and model update carries the effect's key, so a repeated delivery of
 * the step changes nothing. The run counters go last, so that they never say more than the rest.
 */
import type { MemoryRepository, RunRepository } from '../ports/index.ts';
import type { Action } from '../domain/model.ts';
import { isTouchChannel, isoWeekOf, spendMonthOf } from '../domain/governance.ts';
import type { EffectKey } from '../domain/effects.ts';
import type { Tally } from '../domain/tally.ts';

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
