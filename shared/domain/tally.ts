/**
 * The books of executed actions, as one pure tally: Record (the autonomous actions of a page) and
 * ActApproved (one approved action) both count through it, so an action is counted the same way
 * whichever path executed it. Applying a tally (shared/app/books.ts) is keyed by its effect.
 */
import type { Action, CommitteeRole } from './model.ts';
import type { MemoryEntry } from './memory.ts';
import { armOf } from './observe.ts';

/** Trials and successes per arm, per agent. */
export type ArmDeltas = Record<string, Record<string, { trials: number; successes: number }>>;

/** What a step adds to the books. */
export interface Tally {
  readonly counters: Readonly<Record<string, number>>;
  readonly spendByAgent: Readonly<Record<string, number>>;
  readonly trials: ArmDeltas;
  readonly memory: readonly MemoryEntry[];
}

export const EMPTY_TALLY: Tally = { counters: {}, spendByAgent: {}, trials: {}, memory: [] };

/** Adds to named counters. */
export function count(tally: Tally, counters: Readonly<Record<string, number>>): Tally {
  const next = { ...tally.counters };
  for (const [name, n] of Object.entries(counters)) next[name] = (next[name] ?? 0) + n;
  return { ...tally, counters: next };
}

/**
 * One tool call's result: a failure counts as a failure; a success is executed, costs its price to
 * the run and the agent, is one trial of its arm, and is remembered at `at`.
 */
export function tallyExecution(
  tally: Tally,
  x: { action: Action; result: { readonly ok: boolean; readonly replayed: boolean; readonly detail?: string | undefined }; role: CommitteeRole; at: string },
): Tally {
  const { action, result } = x;
  const counted = count(tally, result.replayed ? { replayed: 1 } : {});
  if (!result.ok) {
    // Remembered, so the planner does not propose the same failing call again right away.
    const failed = count(counted, { toolFailures: 1 });
    const entry: MemoryEntry = {
      accountId: action.accountId,
      agentId: action.agentId,
      at: x.at,
      id: action.id,
      kind: 'action_failed',
      actionType: action.type,
      stakeholderIds: action.stakeholderIds,
      topic: action.content.topic,
      ...(result.detail === undefined ? {} : { detail: result.detail.slice(0, 300) }),
    };
    return { ...failed, memory: [...failed.memory, entry] };
  }
  const arm = armOf(action.type, x.role);
  const arms = { ...(counted.trials[action.agentId] ?? {}) };
  arms[arm] = { trials: (arms[arm]?.trials ?? 0) + 1, successes: arms[arm]?.successes ?? 0 };
  return {
    counters: count(counted, { executed: 1, spendUsd: action.costUsd }).counters,
    spendByAgent: { ...counted.spendByAgent, [action.agentId]: (counted.spendByAgent[action.agentId] ?? 0) + action.costUsd },
    trials: { ...counted.trials, [action.agentId]: arms },
    memory: [
      ...counted.memory,
      {
        accountId: action.accountId,
        agentId: action.agentId,
        at: x.at,
        id: action.id,
        kind: 'action_executed',
        actionType: action.type,
        stakeholderIds: action.stakeholderIds,
        topic: action.content.topic,
      },
    ],
  };
}
