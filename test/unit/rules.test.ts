import { describe, expect, it } from 'vitest';
import { Condition } from '../../shared/domain/config.ts';
import { evaluateCondition, firedRules, type RuleContext } from '../../shared/domain/rules.ts';
import { aRule, aStakeholder, anAccount, anAction } from './builders.ts';

const ctx = (overrides: Partial<RuleContext> = {}): RuleContext => ({
  action: anAction({ type: 'executive_briefing', costUsd: 150, confidence: 0.4 }),
  stakeholder: aStakeholder({ role: 'economic_buyer', seniority: 'c_level' }),
  account: anAccount({ tier: 1, stage: 'evaluating' }),
  agent: { status: 'active' },
  ...overrides,
});

describe('evaluateCondition', () => {
  it('compares every rule field with eq against the action, stakeholder, account, decision and agent', () => {
    const c = ctx();
    expect(evaluateCondition({ field: 'action.type', op: 'eq', value: 'executive_briefing' }, c)).toBe(true);
    expect(evaluateCondition({ field: 'action.tool', op: 'eq', value: 'email' }, c)).toBe(true);
    expect(evaluateCondition({ field: 'action.channel', op: 'eq', value: 'email' }, c)).toBe(true);
    expect(evaluateCondition({ field: 'action.costUsd', op: 'eq', value: 150 }, c)).toBe(true);
    expect(evaluateCondition({ field: 'stakeholder.role', op: 'eq', value: 'economic_buyer' }, c)).toBe(true);
    expect(evaluateCondition({ field: 'stakeholder.seniority', op: 'eq', value: 'c_level' }, c)).toBe(true);
    expect(evaluateCondition({ field: 'account.tier', op: 'eq', value: 1 }, c)).toBe(true);
    expect(evaluateCondition({ field: 'account.stage', op: 'eq', value: 'evaluating' }, c)).toBe(true);
    expect(evaluateCondition({ field: 'decision.confidence', op: 'eq', value: 0.4 }, c)).toBe(true);
    expect(evaluateCondition({ field: 'agent.status', op: 'eq', value: 'active' }, c)).toBe(true);
    expect(evaluateCondition({ field: 'agent.status', op: 'eq', value: 'probation' }, c)).toBe(false);
  });

  it('orders numbers with gt, gte, lt and lte at the boundary', () => {
    const c = ctx();
    expect(evaluateCondition({ field: 'action.costUsd', op: 'gt', value: 150 }, c)).toBe(false);
    expect(evaluateCondition({ field: 'action.costUsd', op: 'gte', value: 150 }, c)).toBe(true);
    expect(evaluateCondition({ field: 'decision.confidence', op: 'lt', value: 0.5 }, c)).toBe(true);
    expect(evaluateCondition({ field: 'decision.confidence', op: 'lte', value: 0.39 }, c)).toBe(false);
  });

  it('never orders strings, even when a hand-built rule tries', () => {
    const bogus = { field: 'account.stage', op: 'gt', value: 'aaa' } as const;
    expect(evaluateCondition(bogus, ctx())).toBe(false);
  });

  it('matches membership with in and difference with neq', () => {
    const c = ctx();
    expect(evaluateCondition({ field: 'stakeholder.seniority', op: 'in', value: ['c_level', 'vp'] }, c)).toBe(true);
    expect(evaluateCondition({ field: 'stakeholder.seniority', op: 'in', value: ['manager'] }, c)).toBe(false);
    expect(evaluateCondition({ field: 'account.tier', op: 'neq', value: 2 }, c)).toBe(true);
  });

  it('combines conditions with all, any and not', () => {
    const c = ctx();
    const tier1 = { field: 'account.tier', op: 'eq', value: 1 } as const;
    const cheap = { field: 'action.costUsd', op: 'lt', value: 10 } as const;
    expect(evaluateCondition({ all: [tier1, cheap] }, c)).toBe(false);
    expect(evaluateCondition({ any: [tier1, cheap] }, c)).toBe(true);
    expect(evaluateCondition({ not: cheap }, c)).toBe(true);
    expect(evaluateCondition({ not: { any: [tier1, cheap] } }, c)).toBe(false);
  });

  it('treats a stakeholder comparison as false when the action targets nobody', () => {
    const c = ctx({ stakeholder: undefined });
    expect(evaluateCondition({ field: 'stakeholder.role', op: 'eq', value: 'economic_buyer' }, c)).toBe(false);
    expect(evaluateCondition({ field: 'stakeholder.role', op: 'neq', value: 'economic_buyer' }, c)).toBe(false);
  });

  it('evaluates rules exactly as parsed from YAML-shaped data', () => {
    const when = Condition.parse({
      all: [
        { field: 'account.tier', op: 'eq', value: 1 },
        { field: 'stakeholder.seniority', op: 'in', value: ['c_level', 'vp'] },
      ],
    });
    expect(evaluateCondition(when, ctx())).toBe(true);
    expect(evaluateCondition(when, ctx({ account: anAccount({ tier: 2 }) }))).toBe(false);
  });
});

describe('firedRules', () => {
  const seniorRule = aRule({
    id: 'senior',
    when: { field: 'stakeholder.seniority', op: 'in', value: ['c_level', 'vp'] },
    approvers: ['director@example.com'],
  });
  const costRule = aRule({ id: 'costly', when: { field: 'action.costUsd', op: 'gt', value: 100 }, approvers: ['budget@example.com'] });
  const account = anAccount();

  it('fires a rule when it holds for any one of the targeted stakeholders', () => {
    const junior = aStakeholder({ id: 'st-1', seniority: 'individual' });
    const senior = aStakeholder({ id: 'st-2', seniority: 'vp' });
    const action = anAction({ stakeholderIds: ['st-1', 'st-2'] });
    const fired = firedRules([{ rule: seniorRule, source: 'charter:test-agent' }], action, account, [junior, senior], 'active');
    expect(fired).toEqual([{ ruleId: 'senior', source: 'charter:test-agent', approvers: ['director@example.com'], minApprovals: 1 }]);
  });

  it('ignores stakeholders of the account that the action does not target', () => {
    const junior = aStakeholder({ id: 'st-1', seniority: 'individual' });
    const senior = aStakeholder({ id: 'st-2', seniority: 'c_level' });
    const fired = firedRules([{ rule: seniorRule, source: 'x' }], anAction({ stakeholderIds: ['st-1'] }), account, [junior, senior], 'active');
    expect(fired).toEqual([]);
  });

  it('evaluates an action that targets nobody on its own fields only', () => {
    const action = anAction({ type: 'reference_call_offer', costUsd: 300, stakeholderIds: [] });
    const rules = [
      { rule: seniorRule, source: 'charter:a' },
      { rule: costRule, source: 'guardrails:g' },
    ];
    expect(firedRules(rules, action, account, [], 'active').map((r) => r.ruleId)).toEqual(['costly']);
  });

  it('lets a rule single out agents on probation', () => {
    const probation = aRule({ id: 'probation', when: { field: 'agent.status', op: 'eq', value: 'probation' } });
    const rules = [{ rule: probation, source: 'guardrails:g' }];
    expect(firedRules(rules, anAction(), account, [aStakeholder()], 'probation')).toHaveLength(1);
    expect(firedRules(rules, anAction(), account, [aStakeholder()], 'active')).toHaveLength(0);
  });
});
