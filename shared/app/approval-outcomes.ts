/**
 * What happens after a human (or the clock) answered an approval request: execute the approved
 * action exactly as approved, record a rejection, or apply the charter's escalation rule on
 * timeout. Never a silent approval.
 *
 * Two-person rule: an action whose rules need N >= 2 approvers has N approval requests linked by
 * `quorum` (see approvalPlanOf), each waiting in its own branch of the workflow. Each approved
 * member runs ActApproved; it executes only once every member (or the escalation standing in for
 * it) is approved by distinct people with the same intact action digest. Whichever member
 * completes the set executes; `tool#<actionId>` keeps it to one send if two complete it at once.
 * One rejection or expiry in the group means the action never executes.
 */
import type { StepDeps } from './steps.ts';
import type { ApprovalRepository, RunRepository } from '../ports/index.ts';
import { executeOnce, approvalIdOf, guardedAtSend, toolAccountOf } from './campaign-run.ts';
import type { ActApprovedOutput, ApprovalTimedOutOutput, DecidedApprovalInput, ApprovalItem, ToolCallResult } from './contracts.ts';
import { ApprovalAlreadyDecidedError, ApprovalNotFoundError, BlockedAtSendError, SideEffectInProgressError, ToolRejectedError } from '../domain/errors.ts';
import { actionDigest } from '../domain/digest.ts';
import { emailPreview } from '../domain/prospect-email.ts';
import { GUARDRAIL, distinctApprovers, nextSendTime, samePerson } from '../domain/governance.ts';
import { sendingAt, waitTimestamp } from '../domain/deferral.ts';
import type { ToolAccount, ToolGateway } from '../ports/index.ts';
import type { AccountState, Approval, AuditEvent, Stakeholder } from '../domain/model.ts';
import { EffectKeys, type EffectKey } from '../domain/effects.ts';
import { bookBlockedAtSend, bookExecution, releaseReservation } from './books.ts';

/** An event before the log seals it, keyed by the effect it records. */
type AuditDraft = Omit<AuditEvent, 'seq' | 'prevHash' | 'hash'> & { key: string };

const DECIDED_AGAINST: ReadonlySet<Approval['status']> = new Set(['rejected', 'expired', 'skipped']);

/** Who closes an approval nobody decided in time. */
const TIMEOUT_ACTOR = 'system:timeout';

/** Whether ApprovalTimedOut itself already closed this approval (a retried step finds its own write). */
const ownTimeout = (approval: Approval): boolean => approval.decidedBy === TIMEOUT_ACTOR && (approval.status === 'expired' || approval.status === 'skipped');

async function load(deps: { readonly approvals: Pick<ApprovalRepository, 'get'> }, approvalId: string): Promise<Approval> {
  const approval = await deps.approvals.get(approvalId);
  if (!approval) throw new ApprovalNotFoundError(`No approval ${approvalId}`);
  return approval;
}

/** Distinct approvers the fired rules of an approval require (1 without a two-person rule). */
const requiredApprovers = (approval: Approval): number => Math.max(1, ...approval.rules.map((r) => r.minApprovals));

/** Where an event about an approval goes (the run's stream), when, by whom, about what. */
const envelopeOf = (deps: { readonly clock: () => string }, approval: Approval, actor: string): Omit<AuditDraft, 'key' | 'kind' | 'data'> => ({
  stream: `RUN#${approval.runId}`,
  at: deps.clock(),
  runId: approval.runId,
  accountId: approval.accountId,
  agentId: approval.agentId,
  actor,
  charterHash: approval.charterHash,
});

/** An event of the run's stream about an approval, keyed by what it records, so it is written once. */
const auditOf = (deps: { readonly clock: () => string }, approval: Approval, actor: string, kind: AuditDraft['kind'], key: EffectKey, data: Record<string, unknown>): AuditDraft => ({
  ...envelopeOf(deps, approval, actor),
  key,
  kind,
  data,
});

/** The run's clock (the month its spend is booked in); an escalation's createdAt is the wall clock, the run's is not. */
async function runNowOf(deps: { readonly runs: Pick<RunRepository, 'get'> }, approval: Approval): Promise<string> {
  return (await deps.runs.get(approval.runId))?.now ?? approval.createdAt;
}

/** The action will not execute: its reserved spend goes back to the run and the agent's month. */
async function giveUp(deps: { readonly runs: Pick<RunRepository, 'get' | 'releaseSpend' | 'releaseTouches'> }, approval: Approval): Promise<void> {
  await releaseReservation(deps, approval.runId, await runNowOf(deps, approval), approval.action);
}

/** An alert about an approval in the run's stream: named in its data, keyed by its name, so it is written once. */
const alertOf = (deps: { readonly clock: () => string }, approval: Approval, actor: string, alert: string, data: Record<string, unknown>): AuditDraft =>
  auditOf(deps, approval, actor, 'alert', EffectKeys.approval(approval.id, alert), { alert, approvalId: approval.id, ...data, executed: false });

/** Where a two-person approval stands, as read from the approvals table. */
type QuorumState =
  | { readonly state: 'complete'; readonly members: Approval[] }
  | { readonly state: 'waiting'; readonly members: Approval[]; readonly open: Approval[] }
  | { readonly state: 'failed'; readonly members: Approval[]; readonly reasons: string[] };

/**
 * Reads every member of the approval's quorum (following an expired member to the escalation that
 * stands in for it) and judges the group. Fails closed: anything missing, inconsistent, rejected or
 * expired means the action never executes.
 */
export async function quorumStateOf(deps: { readonly approvals: Pick<ApprovalRepository, 'get'> }, approval: Approval): Promise<QuorumState> {
  const reasons: string[] = [];
  const members: Approval[] = [];
  const open: Approval[] = [];
  const required = requiredApprovers(approval);
  const quorum = approval.quorum;
  if (!quorum) return { state: 'failed', members, reasons: [`the rules need ${required} distinct approvers but the approval has no quorum`] };
  if (quorum.min < required) reasons.push(`the quorum asks ${quorum.min} approvers, the rules ${required}`);
  if (quorum.actionId !== approval.action.id) reasons.push(`the quorum is for action ${quorum.actionId}, not ${approval.action.id}`);
  if (new Set(quorum.approvalIds).size !== quorum.approvalIds.length) reasons.push('the quorum lists a member twice');
  const get = async (id: string): Promise<Approval | undefined> => (id === approval.id ? approval : deps.approvals.get(id));
  let includesSelf = false;
  for (const id of quorum.approvalIds) {
    let member = await get(id);
    if (!member) {
      reasons.push(`member ${id} does not exist`);
      continue;
    }
    if ((member.status === 'expired' || member.status === 'skipped') && member.escalatedTo !== undefined) {
      const escalation = await get(member.escalatedTo);
      if (!escalation) {
        // Expired, its escalation not written yet (ApprovalTimedOut is between its two writes).
        open.push(member);
        members.push(member);
        continue;
      }
      if (escalation.escalationOf !== member.id) reasons.push(`escalation ${escalation.id} does not escalate ${member.id}`);
      member = escalation;
    }
    if (member.id === approval.id) includesSelf = true;
    members.push(member);
    if (member.status === 'queued' || member.status === 'pending') {
      open.push(member);
    } else if (DECIDED_AGAINST.has(member.status)) {
      reasons.push(`${member.approver} ${member.status === 'rejected' ? 'rejected it' : `let it expire (${member.status})`} (${member.id})`);
    } else {
      // approved: by the person asked, for exactly this action, unaltered.
      if (member.action.id !== approval.action.id) reasons.push(`member ${member.id} is for action ${member.action.id}`);
      if (member.actionDigest !== approval.actionDigest || actionDigest(member.action) !== member.actionDigest) {
        reasons.push(`member ${member.id} does not carry the approved action (digest mismatch)`);
      }
      if (member.decidedBy === undefined || !samePerson(member.decidedBy, member.approver)) {
        reasons.push(`member ${member.id} was decided by ${member.decidedBy ?? 'nobody'}, not by ${member.approver}`);
      }
    }
  }
  if (!includesSelf) reasons.push(`approval ${approval.id} is not a member of its own quorum`);
  if (reasons.length > 0) return { state: 'failed', members, reasons };
  if (open.length > 0) return { state: 'waiting', members, open };
  const people = distinctApprovers(members.map((m) => m.decidedBy ?? ''));
  if (people.length < Math.max(quorum.min, required)) {
    return { state: 'failed', members, reasons: [`approved by ${people.length} distinct approver(s) (${people.join(', ')}); ${Math.max(quorum.min, required)} required`] };
  }
  return { state: 'complete', members };
}

/**
 * ActApproved: executes the action only if the store records an approval and the action is
 * byte-for-byte the one the approver saw (digest check); under a two-person rule, only once every
 * member is approved by distinct approvers. Idempotent with the autonomous path.
 */
export async function actApproved(deps: StepDeps<'act-approved'>, input: DecidedApprovalInput): Promise<ActApprovedOutput> {
  const approval = await load(deps, input.approvalId);
  const intact = actionDigest(approval.action) === approval.actionDigest;
  // The page records the link's approver as decidedBy; anything else is not that person's approval.
  const byApprover = approval.decidedBy !== undefined && samePerson(approval.decidedBy, approval.approver);
  if (approval.status !== 'approved' || !intact || !byApprover) {
    const reason = !intact
      ? 'action digest mismatch'
      : approval.status !== 'approved'
        ? `status is ${approval.status}, not approved`
        : `approved by ${approval.decidedBy ?? 'nobody'}, not by the approver ${approval.approver}`;
    await deps.audit.appendOnce([auditOf(deps, approval, 'system:act-approved', 'alert', EffectKeys.approval(approval.id, 'not-executable'), { approvalId: approval.id, reason, executed: false })]);
    await giveUp(deps, approval);
    return { executed: false };
  }
  // The send time this branch waited for, when quiet hours deferred the action before.
  const waited = input.sent?.deferredTo;
  if (approval.quorum || requiredApprovers(approval) > 1) return actOnQuorum(deps, approval, waited);

  const people = await peopleOf(deps, approval);
  const targets = targetsIn(people, approval);
  let result: ToolCallResult;
  try {
    result = await executeOnce({ idempotent: deps.idempotent, tools: checkedAtSend(deps, approval, people, waited) }, approval.action, targets, await accountOf(deps, people, approval));
  } catch (err) {
    if (err instanceof BlockedAtSendError) return blockedOrDeferred(deps, approval, err, people, waited);
    throw err;
  }
  await recordExecution(deps, approval, targets, result, { approvedBy: approval.decidedBy, reviewerKind: approval.reviewerKind, ...(waited === undefined ? {} : { deferredTo: waited }) });
  return { executed: result.ok };
}

/**
 * The tools, behind the guardrails that may have changed while the action waited for its approval
 * (see guardedAtSend), judged now: at the send time the branch waited for, if the clock is there.
 */
function checkedAtSend(deps: StepDeps<'act-approved'>, approval: Approval, people: People, waited: string | undefined): ToolGateway {
  // The approver read the email's words (the preview): it goes out only if it still reads so — not
  // after a deploy changed its copy, nor once the person or account is named differently.
  const asApproved: ToolGateway = {
    execute: async (action, targets, account) => {
      if (approval.preview !== undefined) {
        const now = emailPreview(action, people.stakeholders, account.name, account.library);
        if (now === undefined || now.subject !== approval.preview.subject || now.text !== approval.preview.text) {
          throw new ToolRejectedError(`the email no longer reads as it was approved (${now === undefined ? 'it cannot be rendered now' : now.subject !== approval.preview.subject ? 'its subject changed' : 'its text changed'}); not sent — plan it again to have it approved as it reads now`);
        }
      }
      return deps.tools.execute(action, targets, account);
    },
  };
  return guardedAtSend(asApproved, async () => {
    const bundle = await bundleOf(deps, approval);
    return { account: people.account, stakeholders: people.stakeholders, guardrails: bundle.guardrails, now: sendingAt(deps.clock(), waited) };
  });
}

/** The campaign the approval's run belongs to. */
async function bundleOf(deps: Pick<StepDeps<'act-approved'>, 'runs' | 'config'>, approval: Approval) {
  const run = await deps.runs.get(approval.runId);
  if (!run) throw new ApprovalNotFoundError(`No run ${approval.runId}`);
  return deps.config.load(run.campaignId);
}

/**
 * An approved action a guardrail blocks at send. Quiet hours defer it instead, once: nothing is
 * booked and its reservation stays held, and its branch waits until the people's next business
 * hour (`deferredTo`), when ActApproved runs again and judges it then. Anything else, quiet hours
 * again after that wait, or no business hour within a day blocks it.
 */
async function blockedOrDeferred(deps: StepDeps<'act-approved'>, approval: Approval, err: BlockedAtSendError, people: People, waited: string | undefined): Promise<ActApprovedOutput> {
  if (err.guardrail === GUARDRAIL.quietHours && waited === undefined) {
    const { guardrails } = await bundleOf(deps, approval);
    const nowMs = Date.parse(deps.clock());
    const next = nextSendTime(nowMs, targetsIn(people, approval), guardrails);
    if (next !== undefined && next > nowMs) return { executed: false, deferredTo: waitTimestamp(next) };
  }
  return blockedAtSend(deps, approval, err);
}

/** The account and its people as they are now (read once per delivery). */
interface People {
  readonly account: AccountState | undefined;
  readonly stakeholders: Stakeholder[];
}

async function peopleOf(deps: Pick<StepDeps<'act-approved'>, 'accounts'>, approval: Approval): Promise<People> {
  const [account, stakeholders] = await Promise.all([deps.accounts.get(approval.accountId), deps.accounts.listStakeholders(approval.accountId)]);
  return { account, stakeholders };
}

const targetsIn = (people: People, approval: Approval): Stakeholder[] => people.stakeholders.filter((s) => approval.action.stakeholderIds.includes(s.id));
/** The account as the tool sees it, with the content library of the approval's campaign. */
const accountOf = async (deps: Pick<StepDeps<'act-approved'>, 'runs' | 'config'>, people: People, approval: Approval): Promise<ToolAccount> =>
  toolAccountOf({ id: approval.accountId, name: people.account?.name ?? approval.accountId }, await bundleOf(deps, approval));

/** An approved action that a changed guardrail now blocks: not executed, alerted and counted. */
async function blockedAtSend(deps: StepDeps<'act-approved'>, approval: Approval, err: BlockedAtSendError): Promise<{ executed: boolean }> {
  await bookBlockedAtSend(deps, {
    runId: approval.runId,
    runNow: await runNowOf(deps, approval),
    action: approval.action,
    guardrail: err.guardrail,
    reason: err.reason,
    once: EffectKeys.approval(approval.id, 'blocked_at_send'),
    alert: envelopeOf(deps, approval, 'system:act-approved'),
    data: { approvalId: approval.id },
  });
  return { executed: false };
}


/** The approved member's half of a two-person approval: wait, give up, or execute. */
async function actOnQuorum(deps: StepDeps<'act-approved'>, approval: Approval, waited: string | undefined): Promise<ActApprovedOutput> {
  const group = await quorumStateOf(deps, approval);
  const base = { approvalId: approval.id, actionId: approval.action.id, quorum: approval.quorum ?? null };
  if (group.state === 'failed') {
    await deps.audit.appendOnce([auditOf(deps, approval, 'system:act-approved', 'approval_quorum', EffectKeys.approval(approval.id, 'quorum-failed'), { ...base, state: 'failed', reasons: group.reasons, executed: false })]);
    await giveUp(deps, approval);
    return { executed: false };
  }
  if (group.state === 'waiting') {
    await deps.audit.appendOnce([
      auditOf(deps, approval, 'system:act-approved', 'approval_quorum', EffectKeys.approval(approval.id, 'quorum-waiting'), {
        ...base,
        state: 'waiting',
        approvedBy: group.members.filter((m) => m.status === 'approved').map((m) => m.decidedBy),
        waitingFor: group.open.map((m) => ({ approvalId: m.id, approver: m.approver, status: m.status })),
        executed: false,
      }),
    ]);
    return { executed: false };
  }

  const people = await peopleOf(deps, approval);
  const targets = targetsIn(people, approval);
  const approvedBy = group.members.map((m) => m.decidedBy);
  let result: ToolCallResult;
  let executedBy: string;
  try {
    // The stored value names the member that executed, so a replay tells "my own retried step"
    // (record it) from "the other member got there first" (record nothing twice).
    const tools = checkedAtSend(deps, approval, people, waited);
    const { value, replayed } = await deps.idempotent(`tool#${approval.action.id}`, async () => ({
      ...(await tools.execute(approval.action, targets, await accountOf(deps, people, approval))),
      executedBy: approval.id,
    }));
    result = { actionId: approval.action.id, ok: value.ok, externalId: value.externalId, detail: value.detail, replayed };
    executedBy = value.executedBy;
  } catch (err) {
    if (err instanceof ToolRejectedError) {
      result = { actionId: approval.action.id, ok: false, detail: err.message, replayed: false };
      executedBy = approval.id;
    } else if (err instanceof BlockedAtSendError) {
      return blockedOrDeferred(deps, approval, err, people, waited);
    } else if (err instanceof SideEffectInProgressError) {
      // The other member completed the set at the same moment and is executing it right now.
      await deps.audit.appendOnce([auditOf(deps, approval, 'system:act-approved', 'approval_quorum', EffectKeys.approval(approval.id, 'quorum-complete'), { ...base, state: 'complete', approvedBy, executedBy: 'another member (in progress)', executed: false })]);
      return { executed: false };
    } else {
      throw err;
    }
  }
  if (executedBy !== approval.id) {
    await deps.audit.appendOnce([auditOf(deps, approval, 'system:act-approved', 'approval_quorum', EffectKeys.approval(approval.id, 'quorum-complete'), { ...base, state: 'complete', approvedBy, executedBy, executed: false })]);
    return { executed: false };
  }
  await recordExecution(deps, approval, targets, result, {
    approvedBy,
    reviewerKind: approval.reviewerKind,
    quorum: group.members.map((m) => ({ approvalId: m.id, approver: m.approver, decidedBy: m.decidedBy, reviewerKind: m.reviewerKind })),
    ...(waited === undefined ? {} : { deferredTo: waited }),
  });
  return { executed: result.ok };
}

/**
 * Audit, memory, learning, run counters and the agent's monthly spend of one approved execution:
 * the same tally as Record's, keyed by the action (so it is booked once, whichever member of a
 * two-person approval executed it and however often its step is delivered).
 */
async function recordExecution(
  deps: StepDeps<'act-approved'>,
  approval: Approval,
  targets: Stakeholder[],
  result: ToolCallResult,
  extra: Record<string, unknown>,
): Promise<void> {
  await bookExecution(deps, {
    runId: approval.runId,
    runNow: await runNowOf(deps, approval),
    action: approval.action,
    result,
    role: targets[0]?.role ?? 'influencer',
    at: approval.decidedAt ?? deps.clock(),
    counters: { approved: 1 },
    toolCall: (once) => auditOf(deps, approval, `agent:${approval.agentId}`, 'tool_call', once, { approvalId: approval.id, ...extra, actionId: approval.action.id, tool: approval.action.tool, result }),
  });
}

/** RecordDecision: a rejection goes into memory (the agent will not propose it again soon). */
export async function recordDecision(deps: StepDeps<'record-decision'>, input: DecidedApprovalInput): Promise<{ recorded: boolean }> {
  const approval = await load(deps, input.approvalId);
  // The stored approval is the record, not the callback's word: a "rejected" that the table does
  // not hold (still pending, or approved) is alerted and recorded as nothing else.
  if (approval.status !== 'rejected') {
    await deps.audit.appendOnce([
      alertOf(deps, approval, 'system:record-decision', 'decision_mismatch', { reported: input.decision.status, stored: approval.status }),
    ]);
    return { recorded: false };
  }
  await deps.memory.append([
    { accountId: approval.accountId, agentId: approval.agentId, at: approval.decidedAt ?? deps.clock(), id: approval.action.id, kind: 'action_rejected', actionType: approval.action.type, stakeholderIds: approval.action.stakeholderIds, topic: approval.action.content.topic, detail: approval.reason },
  ]);
  if (approval.quorum) {
    // One "no" settles a two-person approval: whatever the others decide, it never executes.
    await deps.audit.appendOnce([
      auditOf(deps, approval, 'system:record-decision', 'approval_quorum', EffectKeys.approval(approval.id, 'quorum-failed'), {
        approvalId: approval.id,
        actionId: approval.action.id,
        quorum: approval.quorum,
        state: 'failed',
        reasons: [`${approval.approver} ${approval.status === 'rejected' ? 'rejected it' : approval.status} (${approval.id})`],
        executed: false,
      }),
    ]);
  }
  await deps.runs.addCounters(approval.runId, { rejected: 1 }, EffectKeys.approval(approval.id, 'rejected'));
  await giveUp(deps, approval);
  return { recorded: true };
}

/**
 * Why a timed-out member of a two-person approval must not be escalated to `escalateTo`: the
 * escalation would make one person two of the approvers, or the group has already failed.
 */
async function quorumBarsEscalation(deps: { readonly approvals: Pick<ApprovalRepository, 'get'> }, approval: Approval, escalateTo: string): Promise<string | undefined> {
  if (!approval.quorum) return undefined;
  for (const id of approval.quorum.approvalIds) {
    if (id === approval.id) continue;
    let other = await deps.approvals.get(id);
    if (!other) continue;
    if (other.escalatedTo !== undefined) other = (await deps.approvals.get(other.escalatedTo)) ?? other;
    if (samePerson(other.approver, escalateTo)) {
      return `${escalateTo} is already another approver of this two-person approval (${other.id}); escalating would let one person approve twice`;
    }
    if (DECIDED_AGAINST.has(other.status) && other.escalatedTo === undefined) {
      return `the two-person approval already failed (${other.approver}: ${other.status})`;
    }
  }
  return undefined;
}

/**
 * ApprovalTimedOut: nobody decided before the link expired. The charter's escalation rule runs:
 * skip, reject, or escalate once to a second approver with a new link. A member of a two-person
 * approval is only escalated to someone who is not already one of its approvers.
 */
export async function approvalTimedOut(deps: StepDeps<'approval-timed-out'>, input: ApprovalItem): Promise<ApprovalTimedOutOutput> {
  const approval = await load(deps, input.approvalId);
  const bundle = await deps.config.load(await campaignOfRun(deps, approval.runId));
  const charter = bundle.charters.find((c) => c.charter.id === approval.agentId)?.charter;
  const rule = charter?.escalation.onTimeout ?? 'skip';
  const escalateTo = charter?.escalation.escalateTo;
  let escalationRefused: string | undefined;
  if (rule === 'escalate' && !approval.escalationOf && escalateTo !== undefined) {
    escalationRefused = samePerson(escalateTo, approval.approver)
      ? `${escalateTo} is this approval's own approver`
      : await quorumBarsEscalation(deps, approval, escalateTo);
  }
  const canEscalate = rule === 'escalate' && !approval.escalationOf && escalateTo !== undefined && escalationRefused === undefined;
  // An escalation's id derives from the approval it escalates, so it can never coincide with
  // another request for the action (two seats of a two-person approval escalated to one person
  // stay two requests, and the group then fails: one person, two seats).
  const escalationId =
    canEscalate && escalateTo !== undefined ? approvalIdOf(approval.action.id, `${escalateTo}#escalates#${approval.id}`) : undefined;
  // 'reject' is stored as expired (a link past its expiry can no longer be approved or rejected by
  // anyone) and counted as a rejection.
  const status = rule === 'skip' && !canEscalate ? 'skipped' : 'expired';
  const now = deps.clock();
  const stream = `RUN#${approval.runId}`;
  // A retry after this very step already closed the approval (and failed before finishing): its
  // own write, not a human's decision. Carry on from it, so the escalation is still created.
  let resumed = ownTimeout(approval);
  if (!resumed) {
    try {
      await deps.approvals.decide(approval.id, {
        status,
        at: now,
        by: TIMEOUT_ACTOR,
        reason: `no decision before ${approval.expiresAt ?? 'expiry'}; charter rule: ${rule}${escalationRefused ? ` (not escalated: ${escalationRefused})` : ''}`,
        ...(escalationId !== undefined ? { escalatedTo: escalationId } : {}),
      });
    } catch (err) {
      if (!(err instanceof ApprovalAlreadyDecidedError)) throw err;
      resumed = ownTimeout((await deps.approvals.get(approval.id)) ?? approval);
      if (!resumed) {
        // A human decided in the instant the task timed out: the workflow has moved on, so nothing runs.
        await deps.audit.appendOnce([
          { stream, key: EffectKeys.approval(approval.id, 'decided-after-timeout'), at: now, kind: 'alert', runId: approval.runId, accountId: approval.accountId, agentId: approval.agentId, actor: TIMEOUT_ACTOR, data: { approvalId: approval.id, reason: 'decided after the task timed out; not executed' } },
        ]);
        return { escalate: false, approvalId: approval.id, runId: approval.runId, timeoutSeconds: input.timeoutSeconds };
      }
    }
  }
  // Keyed: a retry that finds its own earlier write appends nothing twice.
  await deps.audit.appendOnce([
    {
      stream,
      key: EffectKeys.approval(approval.id, 'expired'),
      at: now,
      kind: 'approval_expired',
      runId: approval.runId,
      accountId: approval.accountId,
      agentId: approval.agentId,
      actor: 'system:timeout',
      charterHash: approval.charterHash,
      data: {
        approvalId: approval.id,
        approver: approval.approver,
        rule,
        outcome: canEscalate ? 'escalated' : status,
        ...(escalationRefused ? { escalationRefused } : {}),
        // Without an escalation, an expired member means the two-person approval never executes.
        ...(approval.quorum ? { quorum: approval.quorum, quorumState: canEscalate ? 'waiting' : 'failed' } : {}),
      },
    },
    ]);
  if (!canEscalate || escalateTo === undefined || escalationId === undefined) {
    await deps.runs.addCounters(approval.runId, rule === 'reject' ? { rejected: 1, expired: 1 } : { expired: 1 }, EffectKeys.approval(approval.id, 'expired'));
    await giveUp(deps, approval);
    return { escalate: false, approvalId: approval.id, runId: approval.runId, timeoutSeconds: input.timeoutSeconds };
  }
  const escalation: Approval = {
    ...approval,
    id: escalationId,
    approver: escalateTo,
    escalationOf: approval.id,
    escalatedTo: undefined,
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
  await deps.runs.addCounters(approval.runId, { escalated: 1 }, EffectKeys.approval(approval.id, 'escalated'));
  return { escalate: true, approvalId: escalation.id, runId: approval.runId, timeoutSeconds: escalation.timeoutSeconds };
}

async function campaignOfRun(deps: { readonly runs: Pick<RunRepository, 'get'> }, runId: string): Promise<string> {
  const run = await deps.runs.get(runId);
  if (!run) throw new ApprovalNotFoundError(`No run ${runId}`);
  return run.campaignId;
}
