/**
 * The named audit queries: each renders to valid Logs Insights syntax for the commands it uses
 * (checked by a parser of that subset, after the CloudWatch query syntax reference), and the
 * local evaluator gives what Insights would on the same lines.
 */
import { describe, expect, it } from 'vitest';
import { AUDIT_QUERIES, auditQuery, evaluateQuery, renderQuery } from '../../shared/domain/audit-queries.ts';
import { auditLinesOf } from '../../shared/domain/audit-lines.ts';
import type { AuditEvent } from '../../shared/domain/model.ts';

const IDENT = String.raw`@?[A-Za-z_][A-Za-z0-9_.]*`;
const LITERAL = String.raw`(?:"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?)`;
const CONDITION = new RegExp(String.raw`^(?:ispresent\(${IDENT}\)|${IDENT}\s*(?:=|!=|>=|<=|>|<)\s*${LITERAL})$`);
const AGGREGATE = new RegExp(String.raw`^(?:count\(\*\)|(?:count|sum|avg|max|min)\(${IDENT}\))\s+as\s+${IDENT}$`);

/** Parses the subset of Logs Insights the queries use; throws naming the command that is not valid. */
function parseInsights(query: string): string[] {
  const commands = query.split(/\n?\|\s*/).map((c) => c.trim()).filter((c) => c !== '');
  const seen: string[] = [];
  for (const command of commands) {
    const [, name, rest = ''] = /^(\w+)\s+([\s\S]*)$/.exec(command) ?? [];
    switch (name) {
      case 'fields':
        if (!rest.split(',').every((f) => new RegExp(`^${IDENT}$`).test(f.trim()))) throw new Error(`fields: ${rest}`);
        break;
      case 'filter':
        if (!rest.split(/\s+and\s+/).every((c) => CONDITION.test(c.trim()))) throw new Error(`filter: ${rest}`);
        break;
      case 'stats': {
        const [aggregates = '', by] = rest.split(/\s+by\s+/);
        if (!aggregates.split(',').every((a) => AGGREGATE.test(a.trim()))) throw new Error(`stats: ${rest}`);
        if (by !== undefined && !by.split(',').every((f) => new RegExp(`^${IDENT}$`).test(f.trim()))) throw new Error(`stats by: ${by}`);
        break;
      }
      case 'sort':
        if (!new RegExp(`^${IDENT}\\s+(asc|desc)$`).test(rest)) throw new Error(`sort: ${rest}`);
        break;
      case 'limit':
        if (!/^\d+$/.test(rest) || Number(rest) < 1 || Number(rest) > 10_000) throw new Error(`limit: ${rest}`);
        break;
      default:
        throw new Error(`unknown command: ${command}`);
    }
    seen.push(name as string);
  }
  // Insights: limit last; stats at most once; a sort after stats may only name a stats field.
  if (seen.indexOf('limit') !== seen.length - 1) throw new Error('limit must come last');
  if (seen.filter((c) => c === 'stats').length > 1) throw new Error('stats twice');
  return seen;
}

describe('the named audit queries', () => {
  it('render to valid Logs Insights syntax, a sort after stats naming one of its fields', () => {
    expect(AUDIT_QUERIES.length).toBeGreaterThanOrEqual(7);
    for (const q of AUDIT_QUERIES) {
      const text = renderQuery(q);
      expect(() => parseInsights(text), `${q.name}:\n${text}`).not.toThrow();
      if (q.stats) expect([...q.stats.by, ...q.stats.aggregates.map((a) => a.as)], q.name).toContain(q.sort.field);
    }
    expect(renderQuery(auditQuery('decisions-for-account')!, 'acc-0001')).toContain('accountId = "acc-0001"');
    expect(renderQuery(auditQuery('decisions-for-account')!)).toContain('accountId = "ACCOUNT_ID"');
  });

  it('the parser refuses what Insights would (it can fail)', () => {
    expect(() => parseInsights('filter kind = decision | limit 5')).toThrow(/filter/);
    expect(() => parseInsights('stats sum(x) | limit 5')).toThrow(/stats/);
    expect(() => parseInsights('limit 5 | sort a desc')).toThrow(/limit must come last/);
    expect(() => parseInsights('fields a | display b | limit 5')).toThrow(/unknown command/);
  });

  it('are evaluated locally as Insights would: filter, stats by group, sort, limit', () => {
    const q = auditQuery('blocked-by-guardrail')!;
    const rows = evaluateQuery(q, [
      { eventId: 'a', kind: 'decision', blocked: 1, guardrail: 'budget' },
      { eventId: 'b', kind: 'decision', blocked: 1, guardrail: 'budget' },
      { eventId: 'c', kind: 'decision', blocked: 1, guardrail: 'consent' },
      { eventId: 'd', kind: 'decision', blocked: 0 },
      { kind: 'decision', blocked: 1, guardrail: 'not an audit line' },
    ]);
    expect(rows).toEqual([
      { guardrail: 'budget', blocked: 2 },
      { guardrail: 'consent', blocked: 1 },
    ]);
    const approvals = evaluateQuery(auditQuery('approvals-by-approver')!, [
      { eventId: 'x', kind: 'approval_decided', decidedBy: 'a@x.com', approvedFlag: 1, rejectedFlag: 0, secondsToDecide: 60 },
      { eventId: 'y', kind: 'approval_decided', decidedBy: 'a@x.com', approvedFlag: 0, rejectedFlag: 1, secondsToDecide: 120 },
    ]);
    expect(approvals).toEqual([{ decidedBy: 'a@x.com', decided: 2, approved: 1, rejected: 1, avgSecondsToDecide: 90, maxSecondsToDecide: 120 }]);
  });
});

describe('decision log lines', () => {
  it('give one line per proposed action of a turn, with its verdict, rules and result, and no addresses or tokens', () => {
    const turn: AuditEvent = {
      stream: 'ACCOUNT#acc-1',
      seq: 3,
      at: '2027-01-04T14:00:00.000Z',
      kind: 'turn',
      runId: 'r1',
      accountId: 'acc-1',
      actor: 'system:record',
      data: {
        plans: [
          {
            agentId: 'exec',
            charterHash: 'h',
            subGoals: [],
            decisions: [
              {
                action: { id: 'a1', type: 'executive_briefing', tool: 'email', channel: 'email', stakeholderIds: ['stk-1'], content: { topic: 't' }, costUsd: 150, rationale: 'r', expectedValue: 1, confidence: 1, subGoal: 'cover_role' },
                verdict: { outcome: 'needs_approval', rules: [{ ruleId: 'exec-contact', source: 's', approvers: ['dir@corp.example'], minApprovals: 1 }], approvers: ['dir@corp.example'] },
                toolResult: null,
              },
              {
                action: { id: 'a2', type: 'nurture_email', tool: 'email', channel: 'email', stakeholderIds: ['stk-2'], content: { topic: 't' }, costUsd: 0, rationale: 'r', expectedValue: 1, confidence: 1, subGoal: 'cover_role' },
                verdict: { outcome: 'autonomous' },
                toolResult: { ok: true, replayed: false },
              },
            ],
          },
        ],
      },
      prevHash: '0',
      hash: '1',
    };
    const lines = auditLinesOf(turn);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ kind: 'decision', eventId: 'ACCOUNT#acc-1#3#0', agentId: 'exec', actionType: 'executive_briefing', outcome: 'needs_approval', ruleIds: 'exec-contact', needsApproval: 1, executed: 0 });
    expect(lines[1]).toMatchObject({ kind: 'decision', outcome: 'autonomous', executed: 1, toolOk: 1 });
    expect(evaluateQuery(auditQuery('executed-without-approval')!, lines)).toEqual([]);
  });
});
