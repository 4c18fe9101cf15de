/**
 * The account's coordinator: every agent proposes (planner.ts), and one plan per account and run
 * comes out of their proposals together. The coordinator
 * - screens each proposal with governance's own pure checks (consent, suppression, contact
 *   pressure, quiet hours, budgets), so a blocked verdict downstream is the exception that shows a
 *   bug or a race, not how the agents learn the rules;
 * - defers an action that would land in a person's quiet hours to their next local business hour
 *   (`notBefore`) instead of dropping it;
 * - paces paid actions through the month, so a budget is not spent in its first week;
 * - keeps two agents off one person within the campaign's window, lets one agent answer an
 *   objection once, and holds an action type back until the sequencing rules of the campaign allow it;
 * - chooses among what is left by a keyed softmax over the scores, and writes the probability of
 *   each choice on the action (`propensity`), so policies can be compared off-line.
 * Pure and deterministic: (seed, run, account, slot) key every draw.
 */
import type { ObservedAccount, OutcomeModel, RecentTouch } from './memory.ts';
import type { Campaign, Charter, Guardrails } from './config.ts';
import type { ContentLibrary } from './content.ts';
import { govern, isTouchChannel, nextSendTime, spendMonthOf } from './governance.ts';
import { stageRank, type Action, type Plan, type Stakeholder } from './model.ts';
import { proposeActions, type Proposal } from './planner.ts';
import { keyedRandom } from './random.ts';

/** One agent of the team: its charter (and the charter's hash) and what it has learned. */
export interface TeamMember {
  readonly charter: Charter;
  readonly hash: string;
  readonly model: OutcomeModel;
}

/** What has been committed before this account: the run's spend and each agent's in the month. */
export interface Spent {
  readonly run: number;
  readonly month: Readonly<Record<string, number>>;
}

/** Everything the coordinator needs for one account; nothing else is read. */
export interface TeamInput {
  readonly observed: ObservedAccount;
  readonly campaign: Campaign;
  readonly guardrails: Guardrails;
  readonly agents: readonly TeamMember[];
  readonly runId: string;
  /** The run's clock (ISO). */
  readonly now: string;
  readonly seed: string;
  readonly spent: Spent;
  /** The campaign's content library (absent: the built-in copy words every email). */
  readonly content?: ContentLibrary;
}

/** The account's plan: one Plan per agent, and the spend after it. */
export interface TeamPlan {
  readonly plans: Plan[];
  readonly spent: Spent;
}

/** Softmax temperature in sub-goal value units: a score 0.25 better is e times as likely. */
export const SELECTION_TEMPERATURE = 0.25;

/** Notes kept per agent and account (the audit records them; the rest are counted). */
const MAX_NOTES = 6;

const DAY_MS = 86_400_000;

/**
 * The share of a month's budget an agent may have committed by the end of the week that starts at
 * `now`: days elapsed in the month plus this week, over the month's days (at most all of it).
 */
export function pacedShare(now: string): number {
  const d = new Date(now);
  const daysInMonth = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
  return Math.min(1, (d.getUTCDate() - 1 + 7) / daysInMonth);
}

interface Candidate extends Proposal {
  readonly member: TeamMember;
}

/** A touch the coordinator granted in this turn, as governance's memory would show it. */
const grantedTouch = (action: Action, now: string): RecentTouch => ({
  at: now,
  agentId: action.agentId,
  kind: 'action_executed',
  actionType: action.type,
  stakeholderIds: action.stakeholderIds,
  topic: action.content.topic,
});

/** True when another agent touched one of these people within the window. */
function anotherAgentWithin(recent: readonly RecentTouch[], agentId: string, people: readonly string[], nowMs: number, days: number): boolean {
  if (days <= 0) return false;
  const since = nowMs - days * DAY_MS;
  return recent.some((t) => {
    if (t.kind !== 'action_executed' || t.agentId === agentId) return false;
    const at = Date.parse(t.at);
    return at > since && at <= nowMs && t.stakeholderIds.some((id) => people.includes(id));
  });
}

/** The sequencing rule that holds this action type back at this account, if any. */
function heldBack(campaign: Campaign, type: Action['type'], observed: ObservedAccount): string | undefined {
  const { state, stakeholders } = observed;
  for (const rule of campaign.orchestration.sequencing) {
    if (rule.action !== type) continue;
    if (rule.orStage !== undefined && stageRank(state.stage) >= stageRank(rule.orStage)) continue;
    if (rule.afterEngaged.some((r) => state.engagedRoles.includes(r))) continue;
    // A rule waiting for a role the account does not have would hold the action back forever.
    if (!stakeholders.some((s) => rule.afterEngaged.includes(s.role))) continue;
    return `${type} waits until a ${rule.afterEngaged.join(' or ').replace(/_/g, ' ')} has engaged (campaign sequencing)`;
  }
  return undefined;
}

/** The objection an action answers, when it answers one. */
const objectionOf = (action: Action): string | undefined =>
  action.subGoal === 'answer_objection' && action.content.topic.startsWith('Objection: ') ? action.content.topic.slice('Objection: '.length) : undefined;

/** Merges every agent's proposals for one account into one plan per agent. */
export function planTeam(input: TeamInput): TeamPlan {
  const { observed, campaign, guardrails, runId, now, seed } = input;
  const { state, stakeholders } = observed;
  const nowMs = Date.parse(now);
  const month = spendMonthOf(now);
  const paced = pacedShare(now);
  const window = campaign.orchestration.stakeholderWindowDays;

  const proposals = input.agents.map((member) => ({
    member,
    ...proposeActions({ observed, charter: member.charter, campaign, model: member.model, runId, now, seed, ...(input.content ? { content: input.content } : {}) }),
  }));
  const notes = new Map<string, string[]>(input.agents.map((m) => [m.charter.id, []]));
  const note = (agentId: string, text: string): void => {
    const list = notes.get(agentId);
    if (list !== undefined && list.length < MAX_NOTES && !list.includes(text)) list.push(text);
  };

  let open: Candidate[] = proposals.flatMap((p) => p.proposals.filter((x) => x.score > 0).map((x) => ({ ...x, member: p.member })));
  const chosen = new Map<string, Action[]>(input.agents.map((m) => [m.charter.id, []]));
  const granted: RecentTouch[] = [];
  const usedPeople = new Set<string>();
  const answered = new Set<string>();
  let runSpent = input.spent.run;
  const monthSpent: Record<string, number> = { ...input.spent.month };
  const targetsOf = (action: Action): Stakeholder[] => stakeholders.filter((s) => action.stakeholderIds.includes(s.id));
  const timed = new Map<Candidate, Action>();

  for (let slot = 0; open.length > 0; slot += 1) {
    const eligible: Array<{ c: Candidate; action: Action }> = [];
    const keep: Candidate[] = [];
    const recent = granted.length === 0 ? observed.recent : [...observed.recent, ...granted];
    for (const c of open) {
      const { charter } = c.member;
      const agentId = charter.id;
      const who = c.action.stakeholderIds;
      const mine = chosen.get(agentId) ?? [];
      // Done with this proposal for good: the reason is noted once.
      if (mine.length >= charter.budgets.actionsPerAccountPerRun) continue;
      if (who.some((id) => usedPeople.has(id))) continue;
      const objection = objectionOf(c.action);
      if (objection !== undefined && answered.has(objection)) {
        note(agentId, `${c.action.type} to ${who.join(', ')} left out: another agent answers "${objection}" in this run`);
        continue;
      }
      if (isTouchChannel(c.action.channel) && anotherAgentWithin(recent, agentId, who, nowMs, window)) {
        note(agentId, `${c.action.type} to ${who.join(', ')} left out: another agent reached them within ${window} days`);
        continue;
      }
      const held = heldBack(campaign, c.action.type, observed);
      if (held !== undefined) {
        note(agentId, held);
        continue;
      }
      const spentMonth = monthSpent[agentId] ?? 0;
      if (c.action.costUsd > 0 && spentMonth + c.action.costUsd > charter.budgets.spendPerMonthUsd * paced) {
        note(agentId, `${c.action.type} to ${who.join(', ')} left out: $${c.action.costUsd} would pass the month's budget paced to this week ($${Math.floor(charter.budgets.spendPerMonthUsd * paced)} of $${charter.budgets.spendPerMonthUsd} in ${month})`);
        continue;
      }
      // Quiet hours: send at the people's next local business hour instead (worked out once per proposal).
      let action = timed.get(c);
      if (action === undefined) {
        action = c.action;
        if (c.action.channel === 'email' || c.action.channel === 'sales') {
          const sendAt = nextSendTime(nowMs, targetsOf(c.action), guardrails);
          if (sendAt !== undefined && sendAt > nowMs) action = { ...action, notBefore: new Date(sendAt).toISOString() };
        }
        timed.set(c, action);
      }
      const verdict = govern(action, {
        account: state,
        stakeholders,
        charter,
        charterHash: c.member.hash,
        guardrails,
        recent,
        now,
        spentThisRunUsd: runSpent,
        spentThisMonthUsd: spentMonth,
      });
      if (verdict.outcome === 'blocked') {
        note(agentId, `${c.action.type} to ${who.join(', ')} left out: ${verdict.guardrail} (${verdict.reason})`);
        continue;
      }
      keep.push(c);
      eligible.push({ c, action });
    }
    open = keep;
    if (eligible.length === 0) break;

    // Keyed softmax over the scores: the exact probability of the pick goes on the action.
    const top = Math.max(...eligible.map((e) => e.c.score));
    const weights = eligible.map((e) => Math.exp((e.c.score - top) / SELECTION_TEMPERATURE));
    const total = weights.reduce((sum, w) => sum + w, 0);
    const u = keyedRandom(seed, runId, state.id, 'coordinator', slot) * total;
    let index = 0;
    for (let acc = weights[0] ?? 0; index < eligible.length - 1 && u >= acc; acc += weights[index] ?? 0) index += 1;
    const pick = eligible[index] as (typeof eligible)[number];
    const propensity = Math.round(((weights[index] ?? 0) / total) * 1e6) / 1e6;
    const action: Action = { ...pick.action, id: pick.c.id(), rationale: pick.c.rationale(), propensity };
    const agentId = pick.c.member.charter.id;
    (chosen.get(agentId) as Action[]).push(action);
    for (const id of action.stakeholderIds) usedPeople.add(id);
    const objection = objectionOf(action);
    if (objection !== undefined) answered.add(objection);
    if (isTouchChannel(action.channel)) granted.push(grantedTouch(action, now));
    runSpent += action.costUsd;
    monthSpent[agentId] = (monthSpent[agentId] ?? 0) + action.costUsd;
    open = open.filter((c) => c !== pick.c);
  }

  const plans: Plan[] = proposals.map((p) => {
    const agentNotes = notes.get(p.agentId) ?? [];
    return {
      accountId: p.accountId,
      agentId: p.agentId,
      subGoals: p.subGoals,
      actions: chosen.get(p.agentId) ?? [],
      ...(agentNotes.length > 0 ? { notes: agentNotes } : {}),
    };
  });
  return { plans, spent: { run: runSpent, month: monthSpent } };
}

/** Input of planAccounts: a page (or a book) of observed accounts and the team that plans them. */
export interface PageInput extends Omit<TeamInput, 'observed' | 'spent'> {
  readonly accounts: readonly ObservedAccount[];
  /** What each agent committed in the month before this page (the run header's snapshot). */
  readonly monthSpent: Readonly<Record<string, number>>;
}

/** Every account's team plan, accounts in order, each seeing the spend of those before it. */
export function planAccounts(input: PageInput): Plan[] {
  const { accounts, monthSpent, ...team } = input;
  let spent: Spent = { run: 0, month: monthSpent };
  const plans: Plan[] = [];
  for (const observed of accounts) {
    const planned = planTeam({ ...team, observed, spent });
    plans.push(...planned.plans);
    spent = planned.spent;
  }
  return plans;
}
