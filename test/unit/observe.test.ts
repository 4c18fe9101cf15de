import { describe, expect, it } from 'vitest';
import { armOf, foldSignals, type FoldInput } from '../../shared/domain/observe.ts';
import { AccountState } from '../../shared/domain/model.ts';
import { NOW, aSignal, aStakeholder, anAccount, daysAgo } from './builders.ts';

const committee = [
  aStakeholder({ id: 'eb', role: 'economic_buyer' }),
  aStakeholder({ id: 'ch', role: 'champion' }),
  aStakeholder({ id: 'te', role: 'technical_evaluator' }),
];

const fold = (overrides: Partial<FoldInput>) =>
  foldSignals({ state: anAccount(), stakeholders: committee, signals: [], executed: [], now: NOW, ...overrides });

describe('foldSignals: account state', () => {
  it('adds the role of a stakeholder who replied, met or read content, and records when', () => {
    const r = fold({
      signals: [
        aSignal({ id: 's1', kind: 'reply', stakeholderId: 'eb', at: daysAgo(3) }),
        aSignal({ id: 's2', kind: 'content_consumed', stakeholderId: 'te', at: daysAgo(2) }),
        aSignal({ id: 's3', kind: 'meeting_accepted', stakeholderId: 'eb', at: daysAgo(1) }),
      ],
    });
    expect(r.state.engagedRoles).toEqual(['economic_buyer', 'technical_evaluator']);
    expect(r.state.lastMeaningfulInteraction).toBe(daysAgo(1));
    expect(r.state.consensus).toBeCloseTo(0.4);
  });

  it('never counts opens, clicks or web visits as engagement', () => {
    const r = fold({
      signals: [
        aSignal({ id: 's1', kind: 'open', stakeholderId: 'eb' }),
        aSignal({ id: 's2', kind: 'click', stakeholderId: 'ch' }),
        aSignal({ id: 's3', kind: 'web_visit', stakeholderId: 'te' }),
      ],
    });
    expect(r.state.engagedRoles).toEqual([]);
    expect(r.state.lastMeaningfulInteraction).toBeNull();
    expect(r.state.observedUntil).toBe(daysAgo(1));
  });

  it('sets the stage from CRM stage changes in time order and reports an advance', () => {
    const r = fold({
      signals: [
        aSignal({ id: 's2', kind: 'crm_stage_change', stage: 'evaluating', at: daysAgo(1) }),
        aSignal({ id: 's1', kind: 'crm_stage_change', stage: 'solution_aware', at: daysAgo(2) }),
      ],
    });
    expect(r.state.stage).toBe('evaluating');
    expect(r.stageAdvanced).toBe(true);
  });

  it('does not report a move to closed_lost as an advance', () => {
    const r = fold({ signals: [aSignal({ kind: 'crm_stage_change', stage: 'closed_lost' })] });
    expect(r.state.stage).toBe('closed_lost');
    expect(r.stageAdvanced).toBe(false);
  });

  it('opens and closes objections, and lets open objections lower consensus', () => {
    const state = anAccount({ engagedRoles: ['economic_buyer', 'champion', 'technical_evaluator'] });
    const r = fold({
      state,
      signals: [
        aSignal({ id: 's1', kind: 'objection_raised', topic: 'security', at: daysAgo(3) }),
        aSignal({ id: 's2', kind: 'objection_raised', topic: 'price', at: daysAgo(2) }),
        aSignal({ id: 's3', kind: 'objection_resolved', topic: 'security', at: daysAgo(1) }),
      ],
    });
    expect(r.state.objections).toEqual(['price']);
    expect(r.state.consensus).toBeCloseTo(0.5);
  });

  it('keeps consensus within 0..1 however many objections are open', () => {
    const r = fold({ state: anAccount({ objections: ['a', 'b', 'c'], engagedRoles: ['champion'] }) });
    expect(r.state.consensus).toBe(0);
  });

  it('opts a stakeholder out on unsubscribe and reports the change to write back', () => {
    const r = fold({ signals: [aSignal({ kind: 'unsubscribe', stakeholderId: 'ch' })] });
    expect(r.changedStakeholders).toEqual([{ ...committee[1], consent: 'opted_out' }]);
    expect(r.stakeholders.find((s) => s.id === 'ch')?.consent).toBe('opted_out');
    expect(r.stakeholders.find((s) => s.id === 'eb')?.consent).toBe('opted_in');
  });

  it('ignores signals at or before observedUntil, after now, or for another account', () => {
    const state = anAccount({ observedUntil: daysAgo(2) });
    const r = fold({
      state,
      signals: [
        aSignal({ id: 'old', kind: 'reply', stakeholderId: 'eb', at: daysAgo(2) }),
        aSignal({ id: 'future', kind: 'reply', stakeholderId: 'ch', at: daysAgo(-1) }),
        aSignal({ id: 'elsewhere', kind: 'reply', stakeholderId: 'te', accountId: 'acc-2' }),
      ],
    });
    expect(r.state).toEqual(AccountState.parse({ ...state, consensus: 0 }));
  });

  it('moves observedUntil to the latest folded signal and leaves the version to the repository', () => {
    const state = anAccount({ version: 7 });
    const r = fold({
      state,
      signals: [aSignal({ id: 'a', kind: 'open', at: daysAgo(1) }), aSignal({ id: 'b', kind: 'open', at: daysAgo(3) })],
    });
    expect(r.state.observedUntil).toBe(daysAgo(1));
    expect(r.state.version).toBe(7);
  });
});

describe('foldSignals: credit assignment', () => {
  const executed = [
    { actionId: 'x1', agentId: 'nurture', arm: armOf('nurture_email', 'champion') },
    { actionId: 'x2', agentId: 'nurture', arm: armOf('nurture_email', 'champion') },
    { actionId: 'x3', agentId: 'exec', arm: armOf('executive_briefing', 'economic_buyer') },
  ];

  it('gives one trial per executed action and one success per action with a meaningful outcome', () => {
    const r = fold({
      executed,
      signals: [
        aSignal({ id: 's1', kind: 'reply', stakeholderId: 'ch', causedBy: 'x1', at: daysAgo(2) }),
        aSignal({ id: 's2', kind: 'meeting_booked', stakeholderId: 'ch', causedBy: 'x1', at: daysAgo(1) }),
        aSignal({ id: 's3', kind: 'meeting_accepted', stakeholderId: 'eb', causedBy: 'x3', at: daysAgo(1) }),
      ],
    });
    expect(r.credits).toEqual({
      nurture: { 'nurture_email:champion': { trials: 2, successes: 1 } },
      exec: { 'executive_briefing:economic_buyer': { trials: 1, successes: 1 } },
    });
  });

  it('never credits opens, clicks or unsubscribes', () => {
    const r = fold({
      executed,
      signals: [
        aSignal({ id: 's1', kind: 'open', causedBy: 'x1' }),
        aSignal({ id: 's2', kind: 'click', causedBy: 'x2' }),
        aSignal({ id: 's3', kind: 'unsubscribe', stakeholderId: 'eb', causedBy: 'x3' }),
      ],
    });
    expect(r.credits.nurture?.['nurture_email:champion']).toEqual({ trials: 2, successes: 0 });
    expect(r.credits.exec?.['executive_briefing:economic_buyer']).toEqual({ trials: 1, successes: 0 });
  });

  it('credits a forward stage change and a resolved objection, but not a backward stage change', () => {
    const r = fold({
      state: anAccount({ stage: 'solution_aware', objections: ['price'] }),
      executed,
      signals: [
        aSignal({ id: 's1', kind: 'crm_stage_change', stage: 'problem_aware', causedBy: 'x1', at: daysAgo(3) }),
        aSignal({ id: 's2', kind: 'objection_resolved', topic: 'price', causedBy: 'x2', at: daysAgo(2) }),
        aSignal({ id: 's3', kind: 'crm_stage_change', stage: 'evaluating', causedBy: 'x3', at: daysAgo(1) }),
      ],
    });
    expect(r.credits.nurture?.['nurture_email:champion']).toEqual({ trials: 2, successes: 1 });
    expect(r.credits.exec?.['executive_briefing:economic_buyer']).toEqual({ trials: 1, successes: 1 });
  });

  it('ignores signals caused by actions it was not told about', () => {
    const r = fold({ executed: [], signals: [aSignal({ kind: 'reply', stakeholderId: 'ch', causedBy: 'unknown' })] });
    expect(r.credits).toEqual({});
  });
});

describe('armOf', () => {
  it('names an arm by action type and role', () => {
    expect(armOf('role_content', 'technical_evaluator')).toBe('role_content:technical_evaluator');
  });
});
