import { describe, expect, it } from 'vitest';
import { approvalPlanOf, govern, governActions, isoWeekOf, sendTimeBlock, spendMonthOf } from '../../shared/domain/governance.ts';
import { Verdict } from '../../shared/domain/model.ts';
import {
  aCharter,
  aGovernContext,
  aRule,
  aStakeholder,
  aTouch,
  anAccount,
  anAction,
  daysAgo,
  someGuardrails,
} from './builders.ts';

const blockedBy = (v: Verdict): string | undefined => (v.outcome === 'blocked' ? v.guardrail : undefined);

describe('govern: allowed actions', () => {
  it('lets an allowed action to a consenting stakeholder run autonomously', () => {
    const v = govern(anAction(), aGovernContext());
    expect(v).toEqual({ outcome: 'autonomous', actionId: 'act-1' });
    expect(Verdict.safeParse(v).success).toBe(true);
  });
});

describe('govern: the charter', () => {
  it('blocks a tool the charter does not allow, naming the tool', () => {
    const charter = aCharter({ allowedTools: ['email'] });
    const v = govern(anAction({ type: 'reference_call_offer' }), aGovernContext({ charter }));
    expect(v).toMatchObject({ outcome: 'blocked', guardrail: 'charter.tools' });
    expect(v.outcome === 'blocked' && v.reason).toContain('sales_task');
  });

  it('blocks an action type the charter does not allow', () => {
    const charter = aCharter({ allowedActions: ['nurture_email'] });
    const v = govern(anAction({ type: 'objection_response' }), aGovernContext({ charter }));
    expect(blockedBy(v)).toBe('charter.actions');
  });

  it('checks the allowed tools before the allowed actions', () => {
    const charter = aCharter({ allowedTools: ['email'], allowedActions: ['nurture_email'] });
    expect(blockedBy(govern(anAction({ type: 'sales_handoff' }), aGovernContext({ charter })))).toBe('charter.tools');
  });

  it('blocks an action whose channel differs from its catalog channel, so it cannot dodge contact pressure', () => {
    const v = govern(anAction({ type: 'nurture_email', channel: 'ads' }), aGovernContext());
    expect(blockedBy(v)).toBe('catalog');
  });

  it('blocks a paused agent, after every other guardrail had its say', () => {
    const paused = aCharter({ status: 'paused' });
    expect(blockedBy(govern(anAction(), aGovernContext({ charter: paused })))).toBe('agent_paused');
    const optedOut = [aStakeholder({ consent: 'opted_out' })];
    expect(blockedBy(govern(anAction(), aGovernContext({ charter: paused, stakeholders: optedOut })))).toBe('consent');
  });

  it('does not block an agent on probation', () => {
    const v = govern(anAction(), aGovernContext({ charter: aCharter({ status: 'probation' }) }));
    expect(v.outcome).toBe('autonomous');
  });
});

describe('govern: stakeholders, consent and suppression', () => {
  it('blocks an action aimed at a stakeholder the account does not have', () => {
    const v = govern(anAction({ stakeholderIds: ['ghost'] }), aGovernContext());
    expect(blockedBy(v)).toBe('unknown_stakeholder');
  });

  it('blocks an opted-out stakeholder on every channel, ads included', () => {
    const ctx = aGovernContext({ stakeholders: [aStakeholder({ consent: 'opted_out' })] });
    expect(blockedBy(govern(anAction(), ctx))).toBe('consent');
    expect(blockedBy(govern(anAction({ type: 'ad_audience_add' }), ctx))).toBe('consent');
  });

  it('blocks a do-not-contact stakeholder even when opted in', () => {
    const ctx = aGovernContext({ stakeholders: [aStakeholder({ doNotContact: true })] });
    expect(blockedBy(govern(anAction({ type: 'sales_handoff' }), ctx))).toBe('consent');
  });

  it('blocks unknown consent for email only when the guardrails require known consent', () => {
    const stakeholders = [aStakeholder({ consent: 'unknown' })];
    const strict = someGuardrails({ consent: { blockOptedOut: true, blockUnknownForEmail: true } });
    expect(blockedBy(govern(anAction(), aGovernContext({ stakeholders, guardrails: strict })))).toBe('consent');
    expect(govern(anAction({ type: 'ad_audience_add' }), aGovernContext({ stakeholders, guardrails: strict })).outcome).toBe('autonomous');
    expect(govern(anAction(), aGovernContext({ stakeholders })).outcome).toBe('autonomous');
  });

  it('blocks a suppressed address, a suppressed email domain and its subdomains', () => {
    const byEmail = someGuardrails({ suppression: { emails: ['ST-1@acme.example'], domains: [] } });
    expect(blockedBy(govern(anAction(), aGovernContext({ guardrails: byEmail })))).toBe('suppression');
    const byDomain = someGuardrails({ suppression: { emails: [], domains: ['acme.example'] } });
    const sub = [aStakeholder({ email: 'st-1@eu.acme.example' })];
    const account = anAccount({ domain: 'acme-corp.example' });
    expect(blockedBy(govern(anAction(), aGovernContext({ guardrails: byDomain, stakeholders: sub, account })))).toBe('suppression');
  });

  it('blocks every action at an account whose own domain is suppressed', () => {
    const guardrails = someGuardrails({ suppression: { emails: [], domains: ['acme.example'] } });
    const v = govern(anAction({ type: 'ad_audience_add', stakeholderIds: [] }), aGovernContext({ guardrails }));
    expect(blockedBy(v)).toBe('suppression');
  });

  it('does not mistake a look-alike domain for a suppressed one', () => {
    const guardrails = someGuardrails({ suppression: { emails: [], domains: ['me.example'] } });
    expect(govern(anAction(), aGovernContext({ guardrails })).outcome).toBe('autonomous');
  });
});

describe('govern: contact pressure', () => {
  const tight = someGuardrails({ contactPressure: { maxTouchesPerStakeholderPerWeek: 2, maxTouchesPerAccountPerWeek: 3 } });

  it("counts other agents' touches of the stakeholder in the last 7 days", () => {
    const recent = [aTouch({ agentId: 'a' }), aTouch({ agentId: 'b', at: daysAgo(6.9) })];
    const v = govern(anAction(), aGovernContext({ guardrails: tight, recent }));
    expect(blockedBy(v)).toBe('contact_pressure');
  });

  it('forgets touches older than 7 days, blocked or rejected actions, and ad impressions', () => {
    const recent = [
      aTouch({ at: daysAgo(7.1) }),
      aTouch({ kind: 'action_blocked' }),
      aTouch({ kind: 'action_rejected' }),
      aTouch({ actionType: 'ad_audience_add' }),
      aTouch(),
    ];
    expect(govern(anAction(), aGovernContext({ guardrails: tight, recent })).outcome).toBe('autonomous');
  });

  it('uses the stricter of the charter budget and the guardrail', () => {
    const charter = aCharter({ budgets: { touchesPerStakeholderPerWeek: 1, touchesPerAccountPerWeek: 10, spendPerMonthUsd: 1000, actionsPerAccountPerRun: 2 } });
    const v = govern(anAction(), aGovernContext({ guardrails: tight, charter, recent: [aTouch()] }));
    expect(blockedBy(v)).toBe('contact_pressure');
  });

  it('caps touches per account across stakeholders', () => {
    const recent = [aTouch({ stakeholderIds: ['st-2'] }), aTouch({ stakeholderIds: ['st-3'] }), aTouch({ stakeholderIds: ['st-4'] })];
    expect(blockedBy(govern(anAction(), aGovernContext({ guardrails: tight, recent })))).toBe('contact_pressure');
  });

  it('never counts or caps the ads channel', () => {
    const recent = [aTouch(), aTouch(), aTouch()];
    expect(govern(anAction({ type: 'ad_audience_add' }), aGovernContext({ guardrails: tight, recent })).outcome).toBe('autonomous');
  });

  it('counts earlier non-blocked actions of the same batch, but not blocked ones', () => {
    const ctx = aGovernContext({ guardrails: tight, recent: [aTouch()] });
    const verdicts = governActions(
      [
        anAction({ id: 'a1', type: 'objection_response', stakeholderIds: ['ghost'] }), // blocked: does not count
        anAction({ id: 'a2' }), // second touch: allowed
        anAction({ id: 'a3', type: 'role_content' }), // third touch: over the per-stakeholder cap
      ],
      ctx,
    );
    expect(verdicts.map((v) => v.outcome)).toEqual(['blocked', 'autonomous', 'blocked']);
    expect(blockedBy(verdicts[2] as Verdict)).toBe('contact_pressure');
  });
});

describe('govern: quiet hours', () => {
  // At NOW (14:00 UTC) it is 23:00 in Tokyo, 06:00 in Los Angeles and 09:00 in New York.
  const night = someGuardrails({ quietHours: { start: '20:00', end: '07:00' } });

  it("blocks email during quiet hours in the stakeholder's time zone, across midnight", () => {
    for (const timeZone of ['Asia/Tokyo', 'America/Los_Angeles']) {
      const v = govern(anAction(), aGovernContext({ guardrails: night, stakeholders: [aStakeholder({ timeZone })] }));
      expect(blockedBy(v)).toBe('quiet_hours');
    }
  });

  it('allows email outside quiet hours', () => {
    const v = govern(anAction(), aGovernContext({ guardrails: night, stakeholders: [aStakeholder({ timeZone: 'America/New_York' })] }));
    expect(v.outcome).toBe('autonomous');
  });

  it('applies a window that does not wrap midnight, end exclusive', () => {
    const lunch = someGuardrails({ quietHours: { start: '12:00', end: '14:00' } });
    expect(govern(anAction(), aGovernContext({ guardrails: lunch })).outcome).toBe('autonomous');
    const afternoon = someGuardrails({ quietHours: { start: '13:59', end: '14:01' } });
    expect(blockedBy(govern(anAction(), aGovernContext({ guardrails: afternoon })))).toBe('quiet_hours');
  });

  it('applies to sales tasks but not to ads', () => {
    const ctx = aGovernContext({ guardrails: night, stakeholders: [aStakeholder({ timeZone: 'Asia/Tokyo' })] });
    expect(blockedBy(govern(anAction({ type: 'sales_handoff' }), ctx))).toBe('quiet_hours');
    expect(govern(anAction({ type: 'ad_audience_add' }), ctx).outcome).toBe('autonomous');
  });

  it('blocks when the time zone is unknown, since nobody can vouch for the local time', () => {
    const v = govern(anAction(), aGovernContext({ guardrails: night, stakeholders: [aStakeholder({ timeZone: 'Mars/Olympus' })] }));
    expect(blockedBy(v)).toBe('quiet_hours');
  });
});

describe('govern: budget', () => {
  const guardrails = someGuardrails({ budget: { maxSpendPerRunUsd: 400 } });

  it('blocks an action that would take the run over its spend limit', () => {
    const v = govern(anAction({ type: 'reference_call_offer' }), aGovernContext({ guardrails, spentThisRunUsd: 150 }));
    expect(blockedBy(v)).toBe('budget');
  });

  it('allows spend up to exactly the limit', () => {
    const v = govern(anAction({ type: 'reference_call_offer' }), aGovernContext({ guardrails, spentThisRunUsd: 100 }));
    expect(v.outcome).toBe('autonomous');
  });

  it('counts the spend of earlier non-blocked actions in the batch', () => {
    const stakeholders = [aStakeholder({ id: 'st-1', role: 'economic_buyer' }), aStakeholder({ id: 'st-2', role: 'blocker' })];
    const verdicts = governActions(
      [
        anAction({ id: 'a1', type: 'reference_call_offer', stakeholderIds: ['st-1'] }),
        anAction({ id: 'a2', type: 'reference_call_offer', stakeholderIds: ['st-2'] }),
      ],
      aGovernContext({ guardrails, stakeholders }),
    );
    expect(verdicts.map(blockedBy)).toEqual([undefined, 'budget']);
  });
});

describe('govern: threshold rules', () => {
  const senior = aRule({
    id: 'exec-tier1',
    when: { all: [{ field: 'account.tier', op: 'eq', value: 1 }, { field: 'stakeholder.seniority', op: 'in', value: ['c_level', 'vp'] }] },
    approvers: ['director@example.com'],
  });
  const costly = aRule({ id: 'spend-over-100', when: { field: 'action.costUsd', op: 'gt', value: 100 }, approvers: ['budget@example.com', 'director@example.com'] });

  it('asks the union of approvers of every rule that fired, with each rule and its source', () => {
    const ctx = aGovernContext({
      charter: aCharter({ thresholds: [senior] }),
      guardrails: someGuardrails({ approvalRules: [costly] }),
      stakeholders: [aStakeholder({ role: 'economic_buyer', seniority: 'c_level' })],
    });
    const v = govern(anAction({ type: 'executive_briefing' }), ctx);
    expect(v).toEqual({
      outcome: 'needs_approval',
      actionId: 'act-1',
      rules: [
        { ruleId: 'exec-tier1', source: 'charter:test-agent', approvers: ['director@example.com'], minApprovals: 1 },
        { ruleId: 'spend-over-100', source: 'guardrails:test-guardrails', approvers: ['budget@example.com', 'director@example.com'], minApprovals: 1 },
      ],
      approvers: ['director@example.com', 'budget@example.com'],
    });
  });

  it('runs autonomously when no rule holds', () => {
    const ctx = aGovernContext({ charter: aCharter({ thresholds: [senior] }), stakeholders: [aStakeholder({ seniority: 'manager' })] });
    expect(govern(anAction(), ctx).outcome).toBe('autonomous');
  });

  it('blocks rather than asks when a guardrail and a rule both apply', () => {
    const ctx = aGovernContext({
      guardrails: someGuardrails({ approvalRules: [costly], budget: { maxSpendPerRunUsd: 0 } }),
    });
    expect(blockedBy(govern(anAction({ type: 'executive_briefing' }), ctx))).toBe('budget');
  });
});

describe('govern: the charter\'s monthly spend budget', () => {
  // reference_call_offer costs $300 in the catalog; the run budget stays out of the way.
  const charter = aCharter({ budgets: { touchesPerStakeholderPerWeek: 5, touchesPerAccountPerWeek: 20, spendPerMonthUsd: 1000, actionsPerAccountPerRun: 2 } });

  it('blocks an action that would take the agent over its charter budget this month, naming the budget', () => {
    const v = govern(anAction({ type: 'reference_call_offer' }), aGovernContext({ charter, spentThisMonthUsd: 800 }));
    expect(v).toMatchObject({ outcome: 'blocked', guardrail: 'budget' });
    expect(v.outcome === 'blocked' && v.reason).toMatch(/budgets\.spendPerMonthUsd of \$1000/);
    expect(v.outcome === 'blocked' && v.reason).toMatch(/test-agent to \$1100 in 2025-03/);
  });

  it('allows spend up to exactly the monthly budget', () => {
    expect(govern(anAction({ type: 'reference_call_offer' }), aGovernContext({ charter, spentThisMonthUsd: 700 })).outcome).toBe('autonomous');
  });

  it('still lets free actions through once the month is spent', () => {
    expect(govern(anAction({ type: 'nurture_email' }), aGovernContext({ charter, spentThisMonthUsd: 1200 })).outcome).toBe('autonomous');
  });

  it('counts earlier non-blocked actions of the batch, including those that only need approval', () => {
    const stakeholders = [aStakeholder({ id: 'st-1' }), aStakeholder({ id: 'st-2' }), aStakeholder({ id: 'st-3' })];
    const everyOffer = aRule({ id: 'offers', when: { field: 'action.type', op: 'eq', value: 'reference_call_offer' } });
    const verdicts = governActions(
      ['st-1', 'st-2', 'st-3'].map((id, i) => anAction({ id: `a${i}`, type: 'reference_call_offer', stakeholderIds: [id] })),
      aGovernContext({ charter: { ...charter, thresholds: [everyOffer] }, stakeholders, spentThisMonthUsd: 300 }),
    );
    expect(verdicts.map((v) => v.outcome)).toEqual(['needs_approval', 'needs_approval', 'blocked']);
    expect(blockedBy(verdicts[2] as Verdict)).toBe('budget');
  });

  it('is the budget of the month of the run\'s clock, in UTC', () => {
    expect(spendMonthOf('2025-03-31T23:30:00-02:00')).toBe('2025-04');
    expect(spendMonthOf('2025-03-01T00:30:00+01:00')).toBe('2025-02');
    expect(spendMonthOf('2025-03-04T14:00:00.000Z')).toBe('2025-03');
  });

  it('holds touches in the ISO week of the run\'s clock, in UTC (the week\'s Thursday decides its year)', () => {
    expect(isoWeekOf('2026-01-01T00:00:00Z')).toBe('2026-W01');
    expect(isoWeekOf('2026-01-04T23:59:59Z')).toBe('2026-W01');
    expect(isoWeekOf('2026-01-05T00:00:00Z')).toBe('2026-W02');
    expect(isoWeekOf('2021-01-03T12:00:00Z')).toBe('2020-W53');
    expect(isoWeekOf('2024-12-30T00:00:00Z')).toBe('2025-W01');
    expect(isoWeekOf('2027-01-03T23:30:00-01:00')).toBe('2027-W01');
    expect(() => isoWeekOf('soon')).toThrow(RangeError);
  });
});

describe('govern: two-person rules', () => {
  const when = { field: 'action.type', op: 'eq', value: 'executive_briefing' } as const;
  const twoPerson = aRule({ id: 'two-person', when, approvers: ['director@example.com', 'cmo@example.com'], minApprovals: 2 });

  it('asks for approval and plans one request per distinct approver of the rule', () => {
    const v = govern(anAction({ type: 'executive_briefing' }), aGovernContext({ charter: aCharter({ thresholds: [twoPerson] }) }));
    expect(v).toMatchObject({ outcome: 'needs_approval', approvers: ['director@example.com', 'cmo@example.com'] });
    if (v.outcome !== 'needs_approval') return;
    expect(approvalPlanOf(v)).toEqual({ approvers: ['director@example.com', 'cmo@example.com'], min: 2 });
  });

  it('blocks with approval_quorum when the rule names fewer distinct approvers than it needs', () => {
    // The schema only counts entries; the same person twice (in any case) is still one person.
    const sham = aRule({ id: 'sham', when, approvers: ['cmo@example.com', 'CMO@example.com'], minApprovals: 2 });
    const v = govern(anAction({ type: 'executive_briefing' }), aGovernContext({ charter: aCharter({ thresholds: [sham] }) }));
    expect(v).toMatchObject({ outcome: 'blocked', guardrail: 'approval_quorum' });
    expect(v.outcome === 'blocked' && v.reason).toMatch(/sham .*needs 2 distinct approvers but names 1 \(cmo@example.com\)/);
  });

  it('never lets a blocked two-person action through and never asks for it when the rule does not hold', () => {
    const sham = aRule({ id: 'sham', when, approvers: ['cmo@example.com', 'cmo@example.com'], minApprovals: 2 });
    expect(govern(anAction({ type: 'nurture_email' }), aGovernContext({ charter: aCharter({ thresholds: [sham] }) })).outcome).toBe('autonomous');
  });

  it('keeps the first approver of the first rule and adds the two-person rule\'s own people', () => {
    const single = aRule({ id: 'single', when, approvers: ['owner@example.com'] });
    const v = govern(anAction({ type: 'executive_briefing' }), aGovernContext({ charter: aCharter({ thresholds: [single, twoPerson] }) }));
    expect(v.outcome).toBe('needs_approval');
    if (v.outcome !== 'needs_approval') return;
    expect(approvalPlanOf(v)).toEqual({ approvers: ['owner@example.com', 'director@example.com', 'cmo@example.com'], min: 2 });
  });

  it('shares a seat when the first approver is also one of the two-person rule\'s approvers', () => {
    const single = aRule({ id: 'single', when, approvers: ['director@example.com'] });
    const v = govern(anAction({ type: 'executive_briefing' }), aGovernContext({ charter: aCharter({ thresholds: [single, twoPerson] }) }));
    if (v.outcome !== 'needs_approval') throw new Error(`expected needs_approval, got ${v.outcome}`);
    expect(approvalPlanOf(v)).toEqual({ approvers: ['director@example.com', 'cmo@example.com'], min: 2 });
  });

  it('plans a single request for rules needing one approval, as before', () => {
    expect(approvalPlanOf({ rules: [{ ruleId: 'r', source: 's', approvers: ['a@x.io', 'b@x.io'], minApprovals: 1 }], approvers: ['a@x.io', 'b@x.io'] })).toEqual({ approvers: ['a@x.io'], min: 1 });
  });

  it('refuses to plan a two-person verdict that cannot be staffed', () => {
    expect(approvalPlanOf({ rules: [{ ruleId: 'r', source: 's', approvers: ['a@x.io', 'A@x.io'], minApprovals: 2 }], approvers: ['a@x.io', 'A@x.io'] })).toBeUndefined();
  });
});

describe('the guardrails checked again when an approved action is sent', () => {
  const base = () => ({ account: anAccount(), stakeholders: [aStakeholder()], guardrails: someGuardrails(), now: '2027-01-04T14:00:00.000Z' });

  it('lets an action through when nothing changed', () => {
    expect(sendTimeBlock(anAction(), base())).toBeUndefined();
  });

  it('blocks for consent withdrawn, a suppressed address, and quiet hours reached at the moment of sending', () => {
    const ctx = base();
    const [s] = ctx.stakeholders as [ReturnType<typeof aStakeholder>];
    expect(sendTimeBlock(anAction(), { ...ctx, stakeholders: [{ ...s, consent: 'opted_out' }] })?.guardrail).toBe('consent');
    expect(sendTimeBlock(anAction(), { ...ctx, stakeholders: [{ ...s, doNotContact: true }] })?.guardrail).toBe('consent');
    expect(sendTimeBlock(anAction(), { ...ctx, guardrails: someGuardrails({ suppression: { domains: [], emails: [s.email] } }) })?.guardrail).toBe('suppression');
    // 03:00 in the stakeholder's zone: inside 20:00-07:00 quiet hours; 14:00 is not.
    const quiet = someGuardrails({ quietHours: { start: '20:00', end: '07:00' } });
    expect(sendTimeBlock(anAction(), { ...ctx, guardrails: quiet, stakeholders: [{ ...s, timeZone: 'UTC' }] })).toBeUndefined();
    const night = sendTimeBlock(anAction(), { ...ctx, guardrails: quiet, stakeholders: [{ ...s, timeZone: 'UTC' }], now: '2027-01-05T03:00:00.000Z' });
    expect(night).toMatchObject({ guardrail: 'quiet_hours' });
  });

  it('blocks an action for someone the account no longer knows', () => {
    expect(sendTimeBlock(anAction(), { ...base(), stakeholders: [] })?.guardrail).toBe('unknown_stakeholder');
  });
});
