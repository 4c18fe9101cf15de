/**
 * Decision log lines: what an audit event says, flattened into the fields a Logs Insights query
 * filters and aggregates on, one line per decision-relevant event (a turn gives one line per
 * proposed action). The same fields as the audit event, never a task token, a link signature or a
 * stakeholder's address (stakeholders appear by id; approvers are the team's own addresses).
 * `eventId` (stream#seq) lets a query `dedup` a line logged again by a repeated delivery.
 */
import type { AuditEvent } from './model.ts';
import { decisionsOfTurn } from './turn.ts';

/** One JSON log line (flat: strings, numbers, booleans as 0/1 so `sum()` counts them). */
export type AuditLine = Readonly<Record<string, string | number>>;

const flag = (b: boolean): number => (b ? 1 : 0);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** Drops undefined fields. */
function line(fields: Record<string, string | number | undefined>): AuditLine {
  const out: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(fields)) if (v !== undefined) out[k] = v;
  return out;
}

/** The log lines of one audit event. */
export function auditLinesOf(event: AuditEvent): AuditLine[] {
  const base = {
    eventId: `${event.stream}#${event.seq}`,
    auditAt: event.at,
    stream: event.stream,
    seq: event.seq,
    runId: event.runId,
    accountId: event.accountId,
    actor: event.actor,
    charterHash: event.charterHash,
    key: event.key,
  };
  const data = event.data;
  switch (event.kind) {
    case 'turn':
      return decisionsOfTurn(event).map((d, i) => {
        const v = d.verdict;
        return line({
          ...base,
          eventId: `${base.eventId}#${i}`,
          kind: 'decision',
          agentId: d.agentId,
          charterHash: d.charterHash,
          actionId: d.action.id,
          actionType: d.action.type,
          tool: d.action.tool,
          costUsd: d.action.costUsd,
          stakeholderIds: d.action.stakeholderIds.join(','),
          subGoal: d.action.subGoal,
          propensity: d.action.propensity,
          inputDigest: d.inputDigest,
          outcome: v?.outcome ?? 'none',
          guardrail: v?.outcome === 'blocked' ? v.guardrail : undefined,
          ruleIds: v?.outcome === 'needs_approval' ? v.rules.map((r) => r.ruleId).join(',') : undefined,
          approvers: v?.outcome === 'needs_approval' ? v.approvers.join(',') : undefined,
          blocked: flag(v?.outcome === 'blocked'),
          needsApproval: flag(v?.outcome === 'needs_approval'),
          // Executed at Act (its result is in the turn): autonomous, or a defect if it needed approval.
          executed: flag(d.toolResult !== null),
          toolOk: d.toolResult === null ? undefined : flag(d.toolResult.ok),
          toolDetail: d.toolResult?.detail,
          deferredTo: d.action.notBefore,
        });
      });
    case 'tool_call': {
      const result = (data['result'] ?? {}) as Record<string, unknown>;
      return [
        line({
          ...base,
          kind: 'tool_call',
          agentId: event.agentId,
          actionId: str(data['actionId']),
          approvalId: str(data['approvalId']),
          approved: flag(str(data['approvalId']) !== undefined),
          deferredTo: str(data['deferredTo']),
          tool: str(data['tool']),
          toolOk: result['ok'] === undefined ? undefined : flag(result['ok'] === true),
          toolDetail: str(result['detail']),
        }),
      ];
    }
    case 'approval_requested':
      return [line({ ...base, kind: event.kind, agentId: event.agentId, approvalId: str(data['approvalId']), actionId: str(data['actionId']), approver: str(data['approver']), ruleIds: Array.isArray(data['rules']) ? (data['rules'] as Array<{ ruleId?: unknown }>).map((r) => String(r.ruleId)).join(',') : undefined })];
    case 'approval_decided':
    case 'approval_expired': {
      const requestedAt = str(data['requestedAt']);
      const seconds = requestedAt === undefined ? undefined : Math.max(0, Math.round((Date.parse(event.at) - Date.parse(requestedAt)) / 1000));
      const status = str(data['status']);
      return [
        line({
          ...base,
          kind: event.kind,
          agentId: event.agentId,
          approvalId: str(data['approvalId']),
          actionId: str(data['actionId']),
          status,
          decidedBy: event.actor.replace(/^human:/, ''),
          reviewerKind: str(data['reviewerKind']),
          reason: str(data['reason']),
          secondsToDecide: seconds,
          approvedFlag: flag(status === 'approved'),
          rejectedFlag: flag(status === 'rejected'),
        }),
      ];
    }
    case 'run_summarized': {
      const counters = (data['counters'] ?? {}) as Record<string, unknown>;
      return [
        line({
          ...base,
          kind: event.kind,
          accounts: num(counters['accounts']),
          proposed: num(counters['proposed']),
          executed: num(counters['executed']),
          needsApproval: num(counters['needsApproval']),
          approved: num(counters['approved']),
          rejected: num(counters['rejected']),
          blocked: num(counters['blocked']),
          toolFailures: num(counters['toolFailures']),
          spendUsd: num(counters['spendUsd']),
        }),
      ];
    }
    case 'audit_verified': {
      const problems = Array.isArray(data['problems']) ? (data['problems'] as Array<Record<string, unknown>>) : [];
      return [
        line({
          ...base,
          kind: event.kind,
          digests: num(data['digests']),
          validDigests: num(data['validDigests']),
          streams: num(data['streams']),
          events: num(data['events']),
          findings: num(data['findings']),
          // Where the first ones are (stream#seq problem): what the alarm's reader looks up first.
          firstFindings: problems.length > 0 ? problems.slice(0, 5).map((p) => `${str(p['stream']) ?? '?'}#${num(p['seq']) ?? '?'} ${str(p['problem']) ?? '?'}`).join('; ') : undefined,
        }),
      ];
    }
    case 'alert':
      return [line({ ...base, kind: event.kind, agentId: event.agentId, alert: str(data['alert']), actionId: str(data['actionId']), approvalId: str(data['approvalId']), guardrail: str(data['guardrail']), error: str(data['error']) ?? str(data['errorName']) })];
    default:
      return [line({ ...base, kind: event.kind, agentId: event.agentId })];
  }
}
