import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { governAccount } from '../../shared/domain/governance.ts';
import { pacedShare, planTeam, type TeamInput, type TeamMember } from '../../shared/domain/orchestration.ts';
import type { Charter } from '../../shared/domain/config.ts';
import { CommitteeRole, type Stakeholder } from '../../shared/domain/model.ts';
import { NOW, aCampaign, aCharter, aStakeholder, anAccount, anObservedAccount, daysAgo, someGuardrails } from './builders.ts';

const committee = [
  aStakeholder({ id: 'eb', role: 'economic_buyer', seniority: 'c_level' }),
  aStakeholder({ id: 'ch', role: 'champion', seniority: 'director' }),
  aStakeholder({ id: 'te', role: 'technical_evaluator', seniority: 'manager' }),
  aStakeholder({ id: 'bl', role: 'blocker', seniority: 'vp' }),
];

const member = (charter: Charter): TeamMember => ({ charter, hash: `hash-${charter.id}`, model: { agentId: charter.id, arms: {}, version: 0 } });
const nurture = aCharter({ id: 'nurture', allowedActions: ['nurture_email', 'role_content', 'objection_response'] });
const executive = aCharter({ id: 'executive', allowedActions: ['executive_briefing', 'objection_response', 'reference_call_offer'] });

const team = (overrides: Partial<TeamInput> = {}): TeamInput => ({
  observed: anObservedAccount({ state: anAccount({ lastIntentAt: daysAgo(3) }), stakeholders: committee }),
  campaign: aCampaign(),
  guardrails: someGuardrails(),
  agents: [member(nurture), member(executive)],
  runId: 'run-1',
  now: NOW,
  seed: 'seed-1',
  spent: { run: 0, month: {} },
  ...overrides,
});

const actionsOf = (input: TeamInput) => planTeam(input).plans.flatMap((p) => p.actions);

describe('the account coordinator', () => {
  it('puts no person in two agents’ plans, and answers an objection once', () => {
    const observed = anObservedAccount({ state: anAccount({ lastIntentAt: daysAgo(3), objections: ['security'] }), stakeholders: committee });
    const actions = actionsOf(team({ observed }));
    const people = actions.flatMap((a) => a.stakeholderIds);
    expect(new Set(people).size).toBe(people.length);
    expect(actions.filter((a) => a.subGoal === 'answer_objection')).toHaveLength(1);
    expect(new Set(actions.map((a) => a.agentId))).toEqual(new Set(['nurture', 'executive']));
  });

  it('keeps an agent off a person another agent reached within the window, and says so', () => {
    const recent = [{ at: daysAgo(2), agentId: 'nurture', kind: 'action_executed', actionType: 'nurture_email', stakeholderIds: ['eb'] }];
    const observed = anObservedAccount({ state: anAccount({ lastIntentAt: daysAgo(3) }), stakeholders: committee, recent });
    const { plans } = planTeam(team({ observed }));
    const exec = plans.find((p) => p.agentId === 'executive');
    expect(exec?.actions.flatMap((a) => a.stakeholderIds)).not.toContain('eb');
    expect(exec?.notes?.join('\n')).toMatch(/another agent reached them within 7 days/);
  });

  it('defers an action in a person’s quiet hours to their next business hour instead of dropping it', () => {
    const sydney = committee.map((s) => ({ ...s, timeZone: 'Australia/Sydney' }));
    // 14:00 UTC on 4 March 2025 is 01:00 on the 5th in Sydney (UTC+11); quiet hours 20:00-07:00.
    const guardrails = someGuardrails({ quietHours: { start: '20:00', end: '07:00' } });
    const observed = anObservedAccount({ state: anAccount({ lastIntentAt: daysAgo(3) }), stakeholders: sydney });
    const actions = actionsOf(team({ observed, guardrails }));
    expect(actions.length).toBeGreaterThan(0);
    for (const a of actions) expect(a.notBefore).toBe('2025-03-04T20:00:00.000Z');
    const { verdicts } = governAccount(planTeam(team({ observed, guardrails })).plans, {
      account: observed.state,
      stakeholders: sydney,
      guardrails,
      recent: [],
      now: NOW,
      charterOf: (id) => ({ charter: id === 'nurture' ? nurture : executive, hash: 'h' }),
      spent: { run: 0, month: {} },
    });
    expect(verdicts.filter((v) => v.outcome === 'blocked')).toEqual([]);
  });

  it('holds an action type back until the campaign’s sequencing allows it', () => {
    const campaign = aCampaign({ orchestration: { coverage: {}, stakeholderWindowDays: 7, sequencing: [{ action: 'executive_briefing', afterEngaged: ['champion'] }] } });
    const agents = [member(executive)];
    const held = planTeam(team({ campaign, agents }));
    expect(held.plans.flatMap((p) => p.actions).map((a) => a.type)).not.toContain('executive_briefing');
    expect(held.plans.find((p) => p.agentId === 'executive')?.notes?.join('\n')).toMatch(/executive_briefing waits until a champion has engaged/);
    const engaged = anObservedAccount({ state: anAccount({ lastIntentAt: daysAgo(3), engagedRoles: ['champion'] }), stakeholders: committee });
    expect(actionsOf(team({ campaign, agents, observed: engaged })).map((a) => a.type)).toContain('executive_briefing');
  });

  it('paces paid actions: no more of the month’s budget than the days elapsed plus this week', () => {
    expect(pacedShare('2025-03-01T14:00:00.000Z')).toBeCloseTo(7 / 31);
    expect(pacedShare('2025-03-28T14:00:00.000Z')).toBe(1);
    const executiveOnly = [member(aCharter({ id: 'executive', allowedActions: ['executive_briefing'], budgets: { touchesPerStakeholderPerWeek: 5, touchesPerAccountPerWeek: 20, spendPerMonthUsd: 1000, actionsPerAccountPerRun: 2 } }))];
    // On 4 March, 10/31 of $1,000 may be committed: $322; $200 is spent, a $150 briefing would pass it.
    const { plans } = planTeam(team({ agents: executiveOnly, spent: { run: 0, month: { executive: 200 } } }));
    expect(plans.flatMap((p) => p.actions)).toEqual([]);
    expect(plans[0]?.notes?.join('\n')).toMatch(/paced to this week/);
    expect(actionsOf(team({ agents: executiveOnly, spent: { run: 0, month: { executive: 100 } } })).map((a) => a.type)).toEqual(['executive_briefing']);
  });

  it('logs the probability of each choice, and the same input chooses the same', () => {
    const a = actionsOf(team());
    expect(a).toEqual(actionsOf(team()));
    for (const x of a) {
      expect(x.propensity).toBeGreaterThan(0);
      expect(x.propensity).toBeLessThanOrEqual(1);
    }
    const bySeed = new Set(Array.from({ length: 30 }, (_, i) => actionsOf(team({ seed: `s-${i}` })).map((x) => `${x.type}:${x.stakeholderIds[0]}`).join(',')));
    expect(bySeed.size).toBeGreaterThan(1);
  });
});

describe('what the coordinator plans, governance grants (a block afterwards is the exception)', () => {
  const person = fc.record({
    role: fc.constantFrom(...CommitteeRole.options),
    consent: fc.constantFrom('opted_in' as const, 'unknown' as const, 'opted_out' as const),
    doNotContact: fc.boolean(),
    timeZone: fc.constantFrom('UTC', 'America/New_York', 'Australia/Sydney', 'Europe/Berlin', 'Asia/Tokyo'),
  });
  it('holds for random committees, memories, quiet hours and spend', () => {
    fc.assert(
      fc.property(
        fc.array(person, { minLength: 1, maxLength: 8 }),
        fc.array(fc.tuple(fc.nat({ max: 7 }), fc.nat({ max: 6 })), { maxLength: 10 }),
        fc.boolean(),
        fc.nat({ max: 3000 }),
        fc.constantFrom('unaware' as const, 'problem_aware' as const, 'solution_aware' as const, 'evaluating' as const),
        fc.string({ minLength: 1, maxLength: 6 }),
        (people, touches, quiet, spentMonth, stage, seed) => {
          const stakeholders: Stakeholder[] = people.map((p, i) => aStakeholder({ id: `p${i}`, ...p }));
          const recent = touches.map(([who, days]) => ({ at: daysAgo(days), agentId: 'nurture', kind: 'action_executed', actionType: 'role_content', stakeholderIds: [`p${who % people.length}`] }));
          const guardrails = someGuardrails({
            contactPressure: { maxTouchesPerStakeholderPerWeek: 2, maxTouchesPerAccountPerWeek: 4 },
            ...(quiet ? { quietHours: { start: '20:00', end: '07:00' } } : {}),
          });
          const observed = anObservedAccount({ state: anAccount({ stage, lastIntentAt: daysAgo(2) }), stakeholders, recent });
          const input = team({ observed, guardrails, seed, campaign: aCampaign({ goal: { description: 'd', fromStage: 'unaware', toStage: 'committed' } }), spent: { run: 0, month: { executive: spentMonth } } });
          const { plans } = planTeam(input);
          const { verdicts } = governAccount(plans, {
            account: observed.state,
            stakeholders,
            guardrails,
            recent,
            now: NOW,
            charterOf: (id) => ({ charter: id === 'nurture' ? nurture : executive, hash: 'h' }),
            spent: input.spent,
          });
          expect(verdicts.filter((v) => v.outcome === 'blocked')).toEqual([]);
        },
      ),
      { numRuns: 200 },
    );
  });
});
