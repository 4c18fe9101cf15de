/**
 * Agent memory as the domain sees it: what an agent did or saw at an account, the learned outcome
 * statistics per agent, and what Observe hands the planner. Pure types and schemas (the memory
 * table's adapter and the workflow contracts use them; nothing here does I/O).
 */
import * as z from 'zod';
import { AccountState, PipelineSignal, Stakeholder } from './model.ts';

const Iso = z.iso.datetime({ offset: true });

/** One remembered thing an agent did or saw at an account. */
export interface MemoryEntry {
  readonly accountId: string;
  readonly agentId: string;
  readonly at: string;
  readonly id: string;
  readonly kind: 'action_executed' | 'action_blocked' | 'action_rejected' | 'action_failed' | 'outcome';
  readonly actionType?: string;
  readonly stakeholderIds?: string[];
  readonly topic?: string;
  readonly detail?: string;
}

/** Learned outcome statistics per agent: successes/trials per action type and role. */
export interface OutcomeModel {
  readonly agentId: string;
  readonly arms: Record<string, { trials: number; successes: number }>;
  readonly version: number;
}

/** A remembered touch, as the planner sees it. */
export const RecentTouch = z.object({
  at: Iso,
  agentId: z.string(),
  kind: z.string(),
  actionType: z.string().optional(),
  stakeholderIds: z.array(z.string()).default([]),
  topic: z.string().optional(),
  /** Why, for a rejected or failed action (the reviewer's reason, the tool's answer). */
  detail: z.string().optional(),
});
export type RecentTouch = z.infer<typeof RecentTouch>;

/** What Observe hands the planner for one account. */
export const ObservedAccount = z.object({
  state: AccountState,
  stakeholders: z.array(Stakeholder),
  recent: z.array(RecentTouch),
  /** Signals folded in this run (for the audit and credit assignment). */
  newSignals: z.array(PipelineSignal),
  /** Stage before this observation, to detect progression. */
  previousStage: AccountState.shape.stage,
});
export type ObservedAccount = z.infer<typeof ObservedAccount>;
