/**
 * Builders of valid domain objects for unit tests: sensible defaults, parsed by the real schemas
 * (so defaults match production), overridable field by field.
 */
import type { ObservedAccount, RecentTouch } from '../../shared/app/contracts.ts';
import { ACTION_CATALOG } from '../../shared/domain/catalog.ts';
import { Campaign, Charter, Guardrails, ThresholdRule } from '../../shared/domain/config.ts';
import { AccountState, Action, PipelineSignal, Stakeholder, type ActionType } from '../../shared/domain/model.ts';
import type { GovernContext } from '../../shared/domain/governance.ts';
import type { OutcomeModel } from '../../shared/ports/index.ts';

/** A fixed clock: Tuesday 2025-03-04 14:00 UTC (afternoon in Europe, morning in the Americas). */
export const NOW = '2025-03-04T14:00:00.000Z';

/** ISO time `days` before NOW. */
export const daysAgo = (days: number, from: string = NOW): string => new Date(Date.parse(from) - days * 86_400_000).toISOString();

/** A tier-1 account at problem_aware. */
export function anAccount(overrides: Partial<AccountState> = {}): AccountState {
  return AccountState.parse({
    id: 'acc-1',
    name: 'Acme',
    domain: 'acme.example',
    tier: 1,
    stage: 'problem_aware',
    ...overrides,
  });
}

/** An opted-in stakeholder at acc-1. */
export function aStakeholder(overrides: Partial<Stakeholder> = {}): Stakeholder {
  const id = overrides.id ?? 'st-1';
  return Stakeholder.parse({
    id,
    accountId: 'acc-1',
    name: `Person ${id}`,
    email: `${id}@acme.example`,
    title: 'Director of Things',
    role: 'champion',
    seniority: 'director',
    timeZone: 'UTC',
    consent: 'opted_in',
    ...overrides,
  });
}

/** An action of `type` (tool, channel and cost from the catalog) at acc-1 targeting st-1. */
export function anAction(overrides: Partial<Action> & { type?: ActionType } = {}): Action {
  const type = overrides.type ?? 'nurture_email';
  const spec = ACTION_CATALOG[type];
  return Action.parse({
    id: 'act-1',
    runId: 'run-1',
    accountId: 'acc-1',
    agentId: 'test-agent',
    type,
    tool: spec.tool,
    channel: spec.channel,
    stakeholderIds: ['st-1'],
    content: { topic: 'A topic' },
    costUsd: spec.costUsd,
    rationale: 'Because a test said so.',
    expectedValue: 1,
    confidence: 0.8,
    subGoal: spec.subGoals[0],
    ...overrides,
  });
}

/** A threshold rule (input form, before defaults). */
export function aRule(overrides: Partial<ThresholdRule> & Pick<ThresholdRule, 'when'>): ThresholdRule {
  return ThresholdRule.parse({ id: 'rule-1', description: 'A test rule.', approvers: ['approver@example.com'], ...overrides });
}

/** A charter allowing every tool and action, with generous budgets and no thresholds. */
export function aCharter(overrides: Partial<Charter> = {}): Charter {
  return Charter.parse({
    id: 'test-agent',
    name: 'Test agent',
    owner: 'owner@example.com',
    goal: { description: 'Test goal.', roles: [] },
    allowedTools: ['email', 'sales_task', 'ad_audience', 'content_recommendation', 'webhook'],
    allowedActions: [
      'nurture_email',
      'role_content',
      'objection_response',
      'executive_briefing',
      'reference_call_offer',
      'sales_handoff',
      'ad_audience_add',
    ],
    budgets: { touchesPerStakeholderPerWeek: 5, touchesPerAccountPerWeek: 20, actionsPerAccountPerRun: 2 },
    metrics: ['stage_progressions'],
    ...overrides,
  });
}

/** Permissive guardrails: no suppression, no quiet hours, high caps and budget, no approval rules. */
export function someGuardrails(overrides: Partial<Guardrails> = {}): Guardrails {
  return Guardrails.parse({
    id: 'test-guardrails',
    consent: { blockOptedOut: true, blockUnknownForEmail: false },
    contactPressure: { maxTouchesPerStakeholderPerWeek: 5, maxTouchesPerAccountPerWeek: 20 },
    budget: { maxSpendPerRunUsd: 10_000 },
    ...overrides,
  });
}

/** A campaign from problem_aware to solution_aware. */
export function aCampaign(overrides: Partial<Campaign> = {}): Campaign {
  return Campaign.parse({
    id: 'test-campaign',
    name: 'Test campaign',
    owner: 'owner@example.com',
    goal: { description: 'Advance accounts.', fromStage: 'problem_aware', toStage: 'solution_aware' },
    charters: ['test-agent.yaml'],
    guardrails: 'guardrails.yaml',
    schedule: { expression: 'rate(7 days)' },
    ...overrides,
  });
}

/** A governance context around anAccount and one stakeholder, at NOW, with nothing spent (this run or this month). */
export function aGovernContext(overrides: Partial<GovernContext> = {}): GovernContext {
  return {
    account: anAccount(),
    stakeholders: [aStakeholder()],
    charter: aCharter(),
    charterHash: 'hash-1',
    guardrails: someGuardrails(),
    recent: [],
    now: NOW,
    spentThisRunUsd: 0,
    spentThisMonthUsd: 0,
    ...overrides,
  };
}

/** A remembered executed touch. */
export function aTouch(overrides: Partial<RecentTouch> = {}): RecentTouch {
  return { at: daysAgo(1), agentId: 'other-agent', kind: 'action_executed', actionType: 'nurture_email', stakeholderIds: ['st-1'], ...overrides };
}

/** A pipeline signal at acc-1. */
export function aSignal(overrides: Partial<PipelineSignal> & Pick<PipelineSignal, 'kind'>): PipelineSignal {
  return PipelineSignal.parse({ id: `sig-${overrides.kind}`, accountId: 'acc-1', at: daysAgo(1), ...overrides });
}

/** What Observe hands the planner. */
export function anObservedAccount(overrides: Partial<ObservedAccount> = {}): ObservedAccount {
  const state = overrides.state ?? anAccount();
  return { state, stakeholders: [], recent: [], newSignals: [], previousStage: state.stage, ...overrides };
}

/** An outcome model with the given arms. */
export function aModel(arms: OutcomeModel['arms'] = {}, agentId = 'test-agent'): OutcomeModel {
  return { agentId, arms, version: 1 };
}
