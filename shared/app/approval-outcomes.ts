/**
 * What happens after a human (or the clock) answered an approval request: execute the approved
 * action exactly as approved, record a rejection, or apply the charter's escalation rule on
 * timeout. Never a silent approval.
 */
import type { AppDeps } from './deps.ts';
import { executeOnce, approvalIdOf } from './campaign-run.ts';
import type { ApprovalTimedOutOutput, DecidedApprovalInput, ApprovalItem } from './contracts.ts';
import { ApprovalAlreadyDecidedError, ApprovalNotFoundError } from '../domain/errors.ts';
import { actionDigest } from '../domain/digest.ts';
import type { Approval } from '../domain/model.ts';
import { armOf } from '../domain/observe.ts';

async function load(deps: AppDeps, approvalId: string): Promise<Approval> {
  const approval = await deps.approvals.get(approvalId);
  if (!approval) throw new ApprovalNotFoundError(`No approval ${approvalId}`);
  return approval;
}

/**
 * ActApproved: executes the action only if the store records an approval and the action is
 * byte-for-byte the one the approver saw (digest check). Idempotent with the autonomous path.
 */
export async function actApproved(deps: AppDeps, input: DecidedApprovalInput): Promise<{ executed: boolean }> {
  const approval = await load(deps, input.approvalId);
  const stream = `RUN#${approval.runId}`;
  const intact = actionDigest(approval.action) === approval.actionDigest;
  if (approval.status !== 'approved' || !intact) {
    await deps.audit.append([
      {
        stream,
        at: deps.clock(),
        kind: 'alert',
        runId: approval.runId,
        accountId: approval.accountId,
        agentId: approval.agentId,
        actor: 'system:act-approved',
        charterHash: approval.charterHash,
        data: { approvalId: approval.id, reason: intact ? `status is ${approval.status}, not approved` : 'action digest mismatch', executed: false },
      },
    ]);
    return { executed: false };
  }
  const stakeholders = await deps.accounts.listStakeholders(approval.accountId);
  const targets = stakeholders.filter((s) => approval.action.stakeholderIds.includes(s.id));
  const result = await executeOnce(deps, approval.action, targets);
  await deps.audit.append([
    {
      stream,
      at: deps.clock(),
      kind: 'tool_call',
      runId: approval.runId,
      accountId: approval.accountId,
      agentId: approval.agentId,
      actor: `agent:${approval.agentId}`,
      charterHash: approval.charterHash,
      data: { approvalId: approval.id, approvedBy: approval.decidedBy, reviewerKind: approval.reviewerKind, actionId: approval.action.id, result },
    },
  ]);
  if (result.ok) {
    const role = targets[0]?.role ?? 'influencer';
    await deps.memory.append([
      { accountId: approval.accountId, agentId: approval.agentId, at: approval.decidedAt ?? deps.clock(), id: approval.action.id, kind: 'action_executed', actionType: approval.action.type, stakeholderIds: approval.action.stakeholderIds, topic: approval.action.content.topic },
    ]);
    await deps.memory.addOutcomes(approval.agentId, { [armOf(approval.action.type, role)]: { trials: 1, successes: 0 } });
  }
  await deps.runs.addCounters(approval.runId, {
    approved: 1,
    executed: result.ok ? 1 : 0,
    toolFailures: result.ok ? 0 : 1,
    replayed: result.replayed ? 1 : 0,
    spendUsd: result.ok ? approval.action.costUsd : 0,
  });
  return { executed: result.ok };
}

/** RecordDecision: a rejection goes into memory (the agent will not propose it again soon). */
export async function recordDecision(deps: AppDeps, input: DecidedApprovalInput): Promise<{ recorded: boolean }> {
  const approval = await load(deps, input.approvalId);
  await deps.memory.append([
    { accountId: approval.accountId, agentId: approval.agentId, at: approval.decidedAt ?? deps.clock(), id: approval.action.id, kind: 'action_rejected', actionType: approval.action.type, stakeholderIds: approval.action.stakeholderIds, topic: approval.action.content.topic, detail: approval.reason },
  ]);
  await deps.runs.addCounters(approval.runId, { rejected: 1 });
  return { recorded: true };
}

/**
 * ApprovalTimedOut: nobody decided before the link expired. The charter's escalation rule runs:
 * skip, reject, or escalate once to a second approver with a new link.
 */
export async function approvalTimedOut(deps: AppDeps, input: ApprovalItem): Promise<ApprovalTimedOutOutput> {
  const approval = await load(deps, input.approvalId);
  const bundle = await deps.config.load(await campaignOfRun(deps, approval.runId));
  const charter = bundle.charters.find((c) => c.charter.id === approval.agentId)?.charter;
  const rule = charter?.escalation.onTimeout ?? 'skip';
  const canEscalate = rule === 'escalate' && !approval.escalationOf && charter?.escalation.escalateTo;
  // 'reject' is stored as expired (a link past its expiry can no longer be approved or rejected by
  // anyone) and counted as a rejection.
  const status = rule === 'skip' && !canEscalate ? 'skipped' : 'expired';
  const now = deps.clock();
  const stream = `RUN#${approval.runId}`;
  try {
    await deps.approvals.decide(approval.id, { status, at: now, by: 'system:timeout', reason: `no decision before ${approval.expiresAt ?? 'expiry'}; charter rule: ${rule}` });
  } catch (err) {
    if (!(err instanceof ApprovalAlreadyDecidedError)) throw err;
    // A human decided in the instant the task timed out: the workflow has moved on, so nothing runs.
    await deps.audit.append([
      { stream, at: now, kind: 'alert', runId: approval.runId, accountId: approval.accountId, agentId: approval.agentId, actor: 'system:timeout', data: { approvalId: approval.id, reason: 'decided after the task timed out; not executed' } },
    ]);
    return { escalate: false, approvalId: approval.id, runId: approval.runId, timeoutSeconds: input.timeoutSeconds };
  }
  await deps.audit.append([
    {
      stream,
      at: now,
      kind: 'approval_expired',
      runId: approval.runId,
      accountId: approval.accountId,
      agentId: approval.agentId,
      actor: 'system:timeout',
      charterHash: approval.charterHash,
      data: { approvalId: approval.id, approver: approval.approver, rule, outcome: canEscalate ? 'escalated' : status },
    },
  ]);
  if (!canEscalate || !charter?.escalation.escalateTo) {
    await deps.runs.addCounters(approval.runId, rule === 'reject' ? { rejected: 1, expired: 1 } : { expired: 1 });
    return { escalate: false, approvalId: approval.id, runId: approval.runId, timeoutSeconds: input.timeoutSeconds };
  }
  const escalateTo = charter.escalation.escalateTo;
  const escalation: Approval = {
    ...approval,
    id: approvalIdOf(approval.action.id, escalateTo),
    approver: escalateTo,
    escalationOf: approval.id,
    status: 'queued',
    createdAt: now,
    expiresAt: undefined,
    taskToken: undefined,
    decidedAt: undefined,
    decidedBy: undefined,
    reviewerKind: undefined,
    reason: undefined,
    version: 0,
  };
  await deps.approvals.create(escalation);
  await deps.runs.addCounters(approval.runId, { escalated: 1 });
  return { escalate: true, approvalId: escalation.id, runId: approval.runId, timeoutSeconds: escalation.timeoutSeconds };
}

async function campaignOfRun(deps: AppDeps, runId: string): Promise<string> {
  const run = await deps.runs.get(runId);
  if (!run) throw new ApprovalNotFoundError(`No run ${runId}`);
  return run.campaignId;
}
