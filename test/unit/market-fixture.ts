/**
 * What the market's tests share: a clock of weekly ticks from a Monday, tool calls on the Tuesday
 * of a week, an action of a catalog type as a scripted policy sends it, and the book's committees.
 */
import { ACTION_CATALOG } from '../../shared/domain/catalog.ts';
import type { Action, ActionType, CommitteeRole, Stakeholder } from '../../shared/domain/model.ts';
import type { Market } from '../../local/simulator/market.ts';

export const START = '2025-01-06T09:00:00.000Z';
export const DAY_MS = 24 * 60 * 60 * 1000;
/** The end of week w (1-based): where the market advances to. */
export const weekEnd = (w: number): string => new Date(Date.parse(START) + w * 7 * DAY_MS).toISOString();
/** Tool calls land on the Tuesday of week w (1-based). */
export const sendAt = (w: number): string => new Date(Date.parse(START) + (w - 1) * 7 * DAY_MS + DAY_MS).toISOString();

/** An action of `type` (tool, channel and cost from the catalog) with the topic for `role`. */
export const action = (id: string, accountId: string, type: ActionType, stakeholderIds: string[], role: CommitteeRole): Action => {
  const spec = ACTION_CATALOG[type];
  return {
    id,
    runId: 'run-test',
    accountId,
    agentId: 'agent-test',
    type,
    tool: spec.tool,
    channel: spec.channel,
    stakeholderIds,
    content: { topic: spec.topic(role) },
    costUsd: spec.costUsd,
    rationale: 'test policy',
    expectedValue: 0,
    confidence: 0.5,
    subGoal: spec.subGoals[0] ?? 'educate_role',
  };
};

/** The CRM's stakeholders per account id. */
export const committees = (market: Market): Map<string, Stakeholder[]> => {
  const byAccount = new Map<string, Stakeholder[]>();
  for (const s of market.book().stakeholders) {
    const list = byAccount.get(s.accountId);
    if (list === undefined) byAccount.set(s.accountId, [s]);
    else list.push(s);
  }
  return byAccount;
};
