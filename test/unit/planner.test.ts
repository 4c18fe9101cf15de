import { describe, expect, it } from 'vitest';
import { decomposeGoal, planAccount, proposeActions, type PlannerInput } from '../../shared/domain/planner.ts';
import { Action, Plan } from '../../shared/domain/model.ts';
import type { Charter } from '../../shared/domain/config.ts';
import { stableId } from '../../shared/domain/random.ts';
import { NOW, aCampaign, aCharter, aModel, aStakeholder, aTouch, anAccount, anObservedAccount, daysAgo } from './builders.ts';

const committee = [
  aStakeholder({ id: 'eb', role: 'economic_buyer', seniority: 'c_level' }),
  aStakeholder({ id: 'ch', role: 'champion', seniority: 'director' }),
  aStakeholder({ id: 'te', role: 'technical_evaluator', seniority: 'manager' }),
  aStakeholder({ id: 'bl', role: 'blocker', seniority: 'vp' }),
];

/** An account that researched the category a week ago: warm, so paid actions are worth their cost. */
const warm = (stakeholders = committee) => anObservedAccount({ state: anAccount({ lastIntentAt: daysAgo(7) }), stakeholders });

const input = (overrides: Partial<PlannerInput> = {}): PlannerInput => ({
  observed: anObservedAccount({ stakeholders: committee }),
  charter: aCharter(),
  campaign: aCampaign(),
  model: aModel(),
  runId: 'run-1',
  now: NOW,
  seed: 'seed-1',
  ...overrides,
});

describe('decomposeGoal', () => {
  it('orders hand-off, objections, de-risking, missing key roles, engaged roles, then acceleration', () => {
    const state = anAccount({
      stage: 'evaluating',
      consensus: 0.6,
      engagedRoles: ['champion', 'technical_evaluator'],
      objections: ['price'],
    });
    const goals = decomposeGoal(state, committee, aCharter(), aCampaign({ goal: { description: 'd', fromStage: 'solution_aware', toStage: 'committed' } }));
    expect(goals.map((g) => [g.kind, g.role ?? g.objection ?? null])).toEqual([
      ['hand_off', null],
      ['answer_objection', 'price'],
      ['de_risk', null],
      ['cover_role', 'economic_buyer'],
      ['educate_role', 'champion'],
      ['educate_role', 'technical_evaluator'],
      ['accelerate', null],
    ]);
  });

  it('asks for a de-risking move past solution_aware, unless one reached the account within the window', () => {
    const campaign = aCampaign({ goal: { description: 'd', fromStage: 'problem_aware', toStage: 'committed' } });
    const kinds = (stage: 'problem_aware' | 'solution_aware' | 'evaluating', deRisked: boolean) =>
      decomposeGoal(anAccount({ stage }), committee, aCharter(), campaign, deRisked).map((g) => g.kind);
    expect(kinds('problem_aware', false)).not.toContain('de_risk');
    expect(kinds('solution_aware', false)).toContain('de_risk');
    expect(kinds('evaluating', false)).toContain('de_risk');
    expect(kinds('evaluating', true)).not.toContain('de_risk');
  });

  it('has nothing to do at or after the target stage, or once the account is closed', () => {
    expect(decomposeGoal(anAccount({ stage: 'solution_aware' }), committee, aCharter(), aCampaign())).toEqual([]);
    expect(decomposeGoal(anAccount({ stage: 'evaluating' }), committee, aCharter(), aCampaign())).toEqual([]);
    expect(decomposeGoal(anAccount({ stage: 'no_decision' }), committee, aCharter(), aCampaign())).toEqual([]);
  });

  it("only covers roles in the charter's focus, and only roles with a known stakeholder", () => {
    const charter = aCharter({ goal: { description: 'd', roles: ['champion', 'technical_evaluator'] } });
    const withoutTe = committee.filter((s) => s.role !== 'technical_evaluator');
    const goals = decomposeGoal(anAccount(), withoutTe, charter, aCampaign());
    expect(goals.map((g) => g.role)).toEqual(['champion']);
  });

  it("skips an account where nobody holds a role in the charter's focus", () => {
    const charter = aCharter({ goal: { description: 'd', roles: ['end_user'] } });
    expect(decomposeGoal(anAccount(), committee, charter, aCampaign())).toEqual([]);
  });
});

describe('planAccount', () => {
  it('proposes schema-valid actions with deterministic ids, distinct stakeholders and positive value', () => {
    const plan = planAccount(input());
    expect(Plan.safeParse(plan).success).toBe(true);
    expect(plan.actions).toHaveLength(2);
    for (const a of plan.actions) {
      expect(Action.safeParse(a).success).toBe(true);
      expect(a.id).toBe(stableId('run-1', 'acc-1', 'test-agent', a.type, a.stakeholderIds[0] ?? ''));
      expect(a.expectedValue).toBeGreaterThan(0);
    }
    expect(new Set(plan.actions.map((a) => a.stakeholderIds[0])).size).toBe(2);
  });

  it('returns the same plan for the same input', () => {
    expect(planAccount(input())).toEqual(planAccount(input()));
  });

  it('plans nothing for a paused agent or an account already at the target stage', () => {
    expect(planAccount(input({ charter: aCharter({ status: 'paused' }) })).actions).toEqual([]);
    const done = anObservedAccount({ state: anAccount({ stage: 'solution_aware' }), stakeholders: committee });
    expect(planAccount(input({ observed: done }))).toEqual({ accountId: 'acc-1', agentId: 'test-agent', subGoals: [], actions: [] });
  });

  it('proposes only actions and tools the charter allows', () => {
    const charter = aCharter({ allowedTools: ['email'], allowedActions: ['role_content', 'executive_briefing', 'nurture_email'] });
    const plan = planAccount(input({ charter, observed: warm() }));
    expect(plan.actions.length).toBeGreaterThan(0);
    // role_content runs through the content_recommendation tool, which this charter does not allow.
    for (const a of plan.actions) expect(['executive_briefing', 'nurture_email']).toContain(a.type);
  });

  it('explains the sub-goal, the role and the evidence in plain English', () => {
    const charter = aCharter({ allowedActions: ['executive_briefing'] });
    const model = aModel({ 'executive_briefing:economic_buyer': { trials: 7, successes: 3 } });
    const [action] = planAccount(input({ charter, model, observed: warm() })).actions;
    expect(action?.rationale).toBe(
      'Cover the missing economic buyer: no economic_buyer engaged yet at Acme, so reach Person eb; executive_briefing has worked 3 of 7 times with economic buyers for this agent; prioritised for recent research.',
    );
    expect(action).toMatchObject({ subGoal: 'cover_role', costUsd: 150, tool: 'email', channel: 'email' });
    expect(action?.content.subject).toContain('Acme');
  });

  it('addresses an open objection by its topic', () => {
    const observed = anObservedAccount({ state: anAccount({ objections: ['data residency'] }), stakeholders: committee });
    const charter = aCharter({ allowedActions: ['objection_response'], budgets: { touchesPerStakeholderPerWeek: 2, touchesPerAccountPerWeek: 6, spendPerMonthUsd: 1000, actionsPerAccountPerRun: 1 } });
    const [action] = planAccount(input({ observed, charter })).actions;
    expect(action).toMatchObject({ type: 'objection_response', subGoal: 'answer_objection', content: { topic: 'Objection: data residency' } });
    expect(action?.rationale).toContain('"data residency"');
  });

  it('addresses the consenting, most senior stakeholder of a role', () => {
    const champions = [
      aStakeholder({ id: 'c-out', role: 'champion', seniority: 'c_level', consent: 'opted_out' }),
      aStakeholder({ id: 'c-mgr', role: 'champion', seniority: 'manager' }),
      aStakeholder({ id: 'c-vp', role: 'champion', seniority: 'vp' }),
      aStakeholder({ id: 'c-dnc', role: 'champion', seniority: 'c_level', doNotContact: true }),
    ];
    const plan = planAccount(input({ observed: anObservedAccount({ stakeholders: champions }) }));
    expect(plan.actions.map((a) => a.stakeholderIds)).toEqual([['c-vp']]);
  });

  it('proposes nothing to a role whose only people opted out or must not be contacted', () => {
    const only = [aStakeholder({ id: 'c-out', role: 'champion', consent: 'opted_out' }), aStakeholder({ id: 'c-dnc', role: 'champion', doNotContact: true })];
    const plan = planAccount(input({ observed: anObservedAccount({ stakeholders: only }) }));
    expect(plan.actions).toEqual([]);
  });

  it('does not propose again what a human rejected, or a tool refused, to the same person within 28 days', () => {
    const charter = aCharter({ allowedActions: ['executive_briefing'] });
    const stakeholders = committee.filter((s) => s.id === 'eb');
    for (const kind of ['action_rejected', 'action_failed']) {
      const refused = (days: number) => [aTouch({ kind, actionType: 'executive_briefing', stakeholderIds: ['eb'], at: daysAgo(days), detail: 'Not this quarter' })];
      expect(planAccount(input({ charter, observed: anObservedAccount({ stakeholders, recent: refused(27) }) })).actions).toEqual([]);
      expect(planAccount(input({ charter, observed: anObservedAccount({ stakeholders, recent: refused(29) }) })).actions).toHaveLength(1);
    }
  });

  it('does not repeat an action type to the same stakeholder within 7 days', () => {
    const charter = aCharter({ allowedActions: ['executive_briefing'] });
    const stakeholders = committee.filter((s) => s.id === 'eb');
    const briefed = (days: number) => [aTouch({ actionType: 'executive_briefing', stakeholderIds: ['eb'], at: daysAgo(days) })];
    const state = anAccount({ lastIntentAt: daysAgo(7) });
    const observed = anObservedAccount({ state, stakeholders, recent: briefed(6) });
    expect(planAccount(input({ charter, observed })).actions).toEqual([]);
    const later = anObservedAccount({ state, stakeholders, recent: briefed(8) });
    expect(planAccount(input({ charter, observed: later })).actions).toHaveLength(1);
  });

  it('sends generic nurture to someone whose role has not engaged at most every 21 days; weekly once the role engaged', () => {
    const charter = aCharter({ allowedActions: ['nurture_email'] });
    const stakeholders = committee.filter((s) => s.id === 'eb');
    const nurtured = (days: number) => [aTouch({ actionType: 'nurture_email', stakeholderIds: ['eb'], at: daysAgo(days) })];
    const cold = anAccount({ lastIntentAt: daysAgo(7), stage: 'problem_aware' });
    const plan = (state: typeof cold, days: number) => planAccount(input({ charter, observed: anObservedAccount({ state, stakeholders, recent: nurtured(days) }) })).actions;
    expect(plan(cold, 8)).toEqual([]);
    expect(plan(cold, 20)).toEqual([]);
    expect(plan(cold, 22)).toHaveLength(1);
    const engaged = anAccount({ lastIntentAt: daysAgo(7), stage: 'problem_aware', engagedRoles: ['economic_buyer'] });
    expect(plan(engaged, 6)).toEqual([]);
    expect(plan(engaged, 8)).toHaveLength(1);
  });

  it('covers a role with generic nurture only when the charter has nothing role-specific for it', () => {
    const stakeholders = committee.filter((s) => s.id === 'eb');
    const observed = anObservedAccount({ state: anAccount({ lastIntentAt: daysAgo(7), stage: 'problem_aware' }), stakeholders });
    const types = (allowedActions: Charter['allowedActions']) => planAccount(input({ charter: aCharter({ allowedActions }), observed })).actions.map((a) => a.type);
    expect(types(['nurture_email'])).toEqual(['nurture_email']);
    expect(types(['nurture_email', 'executive_briefing'])).not.toContain('nurture_email');
  });

  it('grows more confident in an arm the more it has been tried', () => {
    const charter = aCharter({ allowedActions: ['executive_briefing'] });
    const confidence = (trials: number) =>
      planAccount(input({ charter, observed: warm(), model: aModel({ 'executive_briefing:economic_buyer': { trials, successes: Math.floor(trials / 2) } }) }))
        .actions[0]?.confidence ?? -1;
    expect(confidence(0)).toBeLessThan(confidence(5));
    expect(confidence(5)).toBeLessThan(confidence(50));
    expect(confidence(50)).toBeLessThanOrEqual(1);
  });

  it('learns: an arm that worked scores above one that failed, and untried arms are scored with optimism', () => {
    const champion = [aStakeholder({ id: 'ch', role: 'champion' })];
    const charter = aCharter({ allowedActions: ['role_content', 'nurture_email'], goal: { description: 'd', roles: ['champion'] } });
    const observed = anObservedAccount({ state: anAccount({ engagedRoles: ['champion'] }), stakeholders: champion });
    const scores = (model: PlannerInput['model']) =>
      Object.fromEntries(proposeActions(input({ charter, model, observed })).proposals.map((p) => [p.action.type, p.score]));
    const learned = scores(aModel({ 'role_content:champion': { trials: 40, successes: 30 }, 'nurture_email:champion': { trials: 40, successes: 2 } }));
    expect(learned.role_content).toBeGreaterThan(3 * (learned.nurture_email ?? 0));
    const fresh = scores(aModel());
    const tried = scores(aModel({ 'role_content:champion': { trials: 40, successes: 20 } }));
    // Same mean (1/2), but the untried arm gets the exploration bonus of its uncertainty.
    expect(fresh.role_content).toBeGreaterThan(tried.role_content ?? 0);
  });
});
