/**
 * Evaluator of the typed threshold-rule language (config.ts). Rules are data: fields are read
 * through a fixed switch over RULE_FIELDS, never by indexing objects with rule-supplied strings.
 */
import type { Comparison, Condition, RuleField, ThresholdRule } from './config.ts';
import type { AccountState, Action, FiredRule, Stakeholder } from './model.ts';

/** Lifecycle status of an agent, as rules see it (`agent.status`). */
export type AgentStatus = 'active' | 'probation' | 'paused';

/** What a condition is evaluated against; `decision.confidence` is the action's confidence. */
export interface RuleContext {
  action: Action;
  stakeholder?: Stakeholder;
  account: AccountState;
  agent: { status: AgentStatus };
}

type Scalar = string | number | boolean;

// Exhaustive over RuleField: adding a field to RULE_FIELDS fails the build here until it is read.
function readField(field: RuleField, ctx: RuleContext): Scalar | undefined {
  switch (field) {
    case 'action.type':
      return ctx.action.type;
    case 'action.tool':
      return ctx.action.tool;
    case 'action.channel':
      return ctx.action.channel;
    case 'action.costUsd':
      return ctx.action.costUsd;
    case 'stakeholder.role':
      return ctx.stakeholder?.role;
    case 'stakeholder.seniority':
      return ctx.stakeholder?.seniority;
    case 'account.tier':
      return ctx.account.tier;
    case 'account.stage':
      return ctx.account.stage;
    case 'decision.confidence':
      return ctx.action.confidence;
    case 'agent.status':
      return ctx.agent.status;
  }
}

function compare(c: Comparison, ctx: RuleContext): boolean {
  const actual = readField(c.field, ctx);
  // A missing field (a stakeholder rule when the action targets nobody) never matches.
  if (actual === undefined) return false;
  const { value } = c;
  if (c.op === 'in') return Array.isArray(value) && value.includes(actual);
  if (Array.isArray(value)) return false; // rejected by the schema; treated as "does not hold"
  switch (c.op) {
    case 'eq':
      return actual === value;
    case 'neq':
      return actual !== value;
    case 'gt':
      return typeof actual === 'number' && typeof value === 'number' && actual > value;
    case 'gte':
      return typeof actual === 'number' && typeof value === 'number' && actual >= value;
    case 'lt':
      return typeof actual === 'number' && typeof value === 'number' && actual < value;
    case 'lte':
      return typeof actual === 'number' && typeof value === 'number' && actual <= value;
  }
}

/** True when the condition holds in the context; a stakeholder comparison without a stakeholder is false. */
export function evaluateCondition(c: Condition, ctx: RuleContext): boolean {
  if ('all' in c) return c.all.every((x) => evaluateCondition(x, ctx));
  if ('any' in c) return c.any.some((x) => evaluateCondition(x, ctx));
  if ('not' in c) return !evaluateCondition(c.not, ctx);
  return compare(c, ctx);
}

/** A threshold rule and where it came from (`charter:<id>` or `guardrails:<id>`). */
export interface SourcedRule {
  rule: ThresholdRule;
  source: string;
}

/** The rules that hold for the action with any targeted stakeholder (or with none if it targets nobody), in input order. */
export function firedRules(
  rules: readonly SourcedRule[],
  action: Action,
  account: AccountState,
  stakeholders: readonly Stakeholder[],
  agentStatus: AgentStatus,
): FiredRule[] {
  const targets = stakeholders.filter((s) => action.stakeholderIds.includes(s.id));
  const contexts: RuleContext[] =
    targets.length > 0
      ? targets.map((stakeholder) => ({ action, stakeholder, account, agent: { status: agentStatus } }))
      : [{ action, account, agent: { status: agentStatus } }];
  return rules
    .filter(({ rule }) => contexts.some((ctx) => evaluateCondition(rule.when, ctx)))
    .map(({ rule, source }) => ({
      ruleId: rule.id,
      source,
      approvers: [...rule.approvers],
      minApprovals: rule.minApprovals,
    }));
}
