import { describe, expect, it } from 'vitest';
import { accountInputsOf, checkedInputs, digestOfInputs, pseudonymousEmail, runInputsOf, AccountInputs, AlteredInputsError } from '../../shared/domain/decision-input.ts';
import { governAccount } from '../../shared/domain/governance.ts';
import { planTeam, type TeamMember } from '../../shared/domain/orchestration.ts';
import { diffJson, replayTurn } from '../../shared/domain/replay.ts';
import { turnDataOf, type TurnData } from '../../shared/domain/turn.ts';
import type { Guardrails } from '../../shared/domain/config.ts';
import type { Verdict } from '../../shared/domain/model.ts';
import type { ObservedAccount } from '../../shared/domain/memory.ts';
import { NOW, aCampaign, aCharter, aStakeholder, anAccount, anObservedAccount, daysAgo, someGuardrails } from './builders.ts';

const committee = [
  aStakeholder({ id: 'eb', role: 'economic_buyer', seniority: 'c_level', email: 'Dana.Eb@acme.example' }),
  aStakeholder({ id: 'ch', role: 'champion', seniority: 'director', email: 'chris@acme.example' }),
  aStakeholder({ id: 'te', role: 'technical_evaluator', seniority: 'manager', email: 'tess@acme.example' }),
];
const nurture = aCharter({ id: 'nurture', allowedActions: ['nurture_email', 'role_content', 'objection_response'] });
const executive = aCharter({ id: 'executive', allowedActions: ['executive_briefing', 'objection_response', 'reference_call_offer'] });
const agents: TeamMember[] = [nurture, executive].map((charter) => ({ charter, hash: `hash-${charter.id}`, model: { agentId: charter.id, arms: {}, version: 0 } }));
const observed: ObservedAccount = anObservedAccount({ state: anAccount({ lastIntentAt: daysAgo(3) }), stakeholders: committee });

/** A turn as Record writes it: planned and governed on the real inputs, then replayed on the stored (pseudonymized) ones. */
function recordedTurn(guardrails: Guardrails, overrideVerdict?: (v: Verdict) => Verdict, rawGuardrailsInReplay = false): { turn: TurnData; replay: ReturnType<typeof replayTurn> } {
  const campaign = aCampaign();
  const spent = { run: 0, month: {} };
  const planned = planTeam({ observed, campaign, guardrails, agents, runId: 'run-1', now: NOW, seed: 'seed-1', spent });
  const governed = governAccount(planned.plans, {
    account: observed.state,
    stakeholders: observed.stakeholders,
    guardrails,
    recent: observed.recent,
    now: NOW,
    charterOf: (id) => agents.find((a) => a.charter.id === id) as TeamMember,
    spent,
  });
  const verdicts = new Map(governed.verdicts.map((v) => [v.actionId, overrideVerdict ? overrideVerdict(v) : v]));
  const turn = turnDataOf({ plans: planned.plans.map((plan) => ({ plan, charterHash: `hash-${plan.agentId}` })), verdictOf: (id) => verdicts.get(id), toolResultOf: () => undefined }) as TurnData;
  const run = runInputsOf({ runId: 'run-1', now: NOW, seed: 'seed-1', bundle: { campaign, guardrails, charters: agents.map(({ charter, hash }) => ({ charter, hash, file: 'x.yaml' })) }, models: {}, spend: {} });
  const account = accountInputsOf(observed, { plan: spent, govern: spent });
  return { turn, replay: replayTurn(rawGuardrailsInReplay ? { ...run, guardrails } : run, account, turn) };
}

describe('replaying a turn on its recorded inputs', () => {
  it('gives the recorded plans and verdicts back, field for field', () => {
    const { turn, replay } = recordedTurn(someGuardrails());
    expect(turn.plans.flatMap((p) => p.decisions).length).toBeGreaterThan(0);
    expect(replay.differences).toEqual([]);
    expect(replay.identical).toBe(true);
  });

  it('decides a suppressed address the same on pseudonymized inputs (the suppression list is pseudonymized alike)', () => {
    const { turn, replay } = recordedTurn(someGuardrails({ suppression: { emails: ['dana.eb@ACME.example'], domains: [] } }));
    // The coordinator leaves a proposal to the suppressed person out, with a note saying so.
    expect(turn.plans.flatMap((p) => p.decisions).some((d) => d.action.stakeholderIds.includes('eb'))).toBe(false);
    expect(turn.plans.flatMap((p) => p.notes ?? []).join('\n')).toMatch(/eb left out: suppression/);
    expect(replay.identical).toBe(true);
    // With the list left as it was, the pseudonymized address is not on it and the replay differs.
    const { replay: unmasked } = recordedTurn(someGuardrails({ suppression: { emails: ['dana.eb@ACME.example'], domains: [] } }), undefined, true);
    expect(unmasked.identical).toBe(false);
  });

  it('counts a verdict a shared reservation refused as identical when the pure checks grant it again', () => {
    const { replay } = recordedTurn(someGuardrails(), (v) => (v.outcome === 'blocked' ? v : { outcome: 'blocked', actionId: v.actionId, guardrail: 'contact_pressure', reason: 'no touch left', reservation: true }));
    expect(replay.identical).toBe(true);
    expect(replay.reservations).toBeGreaterThan(0);
  });

  it('names what differs when the record does not follow from the inputs', () => {
    const { replay } = recordedTurn(someGuardrails(), (v) => (v.outcome === 'autonomous' ? { outcome: 'blocked', actionId: v.actionId, guardrail: 'budget', reason: 'edited' } : v));
    expect(replay.identical).toBe(false);
    expect(replay.differences[0]).toMatchObject({ path: expect.stringMatching(/^plans\[\d+\]\.decisions\[\d+\]\.verdict\./) });
  });
});

describe('recorded inputs', () => {
  it('hide the local part of every address and keep its domain; the same address always maps to the same pseudonym', () => {
    const p = pseudonymousEmail('Dana.Eb@Acme.example');
    expect(p).toBe(pseudonymousEmail(' dana.eb@acme.example'));
    expect(p).toMatch(/^p-[0-9a-f]{20}@acme\.example$/);
    expect(p).not.toBe(pseudonymousEmail('chris@acme.example'));
    const stored = accountInputsOf(observed, { plan: { run: 0, month: {} }, govern: { run: 0, month: {} } });
    expect(JSON.stringify(stored)).not.toMatch(/dana\.eb|chris@|tess@/i);
  });

  it('are refused when they no longer hash to their recorded digest', () => {
    const stored = accountInputsOf(observed, { plan: { run: 0, month: {} }, govern: { run: 0, month: {} } });
    const digest = digestOfInputs(stored);
    expect(checkedInputs(JSON.parse(JSON.stringify(stored)), digest, AccountInputs).observed.state.id).toBe(observed.state.id);
    const edited = { ...stored, spent: { plan: { run: 5, month: {} }, govern: stored.spent.govern } };
    expect(() => checkedInputs(edited, digest, AccountInputs)).toThrow(AlteredInputsError);
  });
});

describe('diffJson', () => {
  it('names each differing leaf by its path, arrays by index and objects by key', () => {
    expect(diffJson({ a: [1, { b: 2 }], c: 'x' }, { a: [1, { b: 3 }], d: 'y' }, 'root')).toEqual([
      { path: 'root.a[1].b', recorded: 2, replayed: 3 },
      { path: 'root.c', recorded: 'x', replayed: undefined },
      { path: 'root.d', recorded: undefined, replayed: 'y' },
    ]);
    expect(diffJson([1, 2], [1, 2], 'x')).toEqual([]);
  });
});
