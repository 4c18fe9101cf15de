/**
 * Deferred sends: autonomous actions that Act stored for their people's next business hour
 * (shared/domain/deferral.ts) go out in their send slots. The CampaignRun lists a shard's slots
 * (ListSendSlots), waits for each slot's time (a Wait state), and sends the slot's actions a page
 * at a time (SendDeferred). Sending is what ActApproved does for an approved action: the send-time
 * guardrails again (consent, suppression, quiet hours at that moment), one call through the
 * idempotency store (`tool#<actionId>`), and the same books, keyed by the action.
 */
import type { StepDeps } from './steps.ts';
import type { ListSendSlotsInput, ListSendSlotsOutput, SendDeferredInput, SendDeferredOutput, ToolCallResult } from './contracts.ts';
import { executeOnce, guardedAtSend, settledFailure, toolAccountOf } from './campaign-run.ts';
import { bookBlockedAtSend, bookExecution } from './books.ts';
import { BlockedAtSendError, InvalidInputError } from '../domain/errors.ts';
import { EffectKeys } from '../domain/effects.ts';
import { SEND_CLOCK_SKEW_MS, sendingAt, waitTimestamp } from '../domain/deferral.ts';
import type { AccountState, AuditEvent, DeferredSend, Stakeholder } from '../domain/model.ts';

/**
 * Deferred actions one SendDeferred invocation sends (then the workflow comes back for the rest of
 * the slot): each is a tool call and a handful of keyed writes, so a page stays far inside the
 * function's timeout however many actions a slot holds.
 */
export const DEFERRED_SENDS_PER_PAGE = 25;

/** ListSendSlots: the shard's send slots in the run, in time order, each from its first page. */
export async function listSendSlots(deps: StepDeps<'list-send-slots'>, input: ListSendSlotsInput): Promise<ListSendSlotsOutput> {
  const slots = await deps.runs.listSendSlots(input.shard.runId, input.shard.shard);
  return { slots: slots.map((at) => ({ at: waitTimestamp(Date.parse(at)), cursor: null })) };
}

/** The account and its people as they are at the moment of sending (read once per account and page). */
interface People {
  readonly account: AccountState | undefined;
  readonly stakeholders: Stakeholder[];
}

/**
 * SendDeferred: sends one page of a slot's deferred actions, at the slot's time (after its Wait),
 * and says where the next page starts (null: the slot is done). Delivered twice, it sends nothing
 * twice and books nothing twice: each call goes through `tool#<actionId>` and every write is keyed
 * by the action. An action a changed guardrail now blocks is not sent: alerted (`blocked_at_send`),
 * counted, and its reservation given back. With `settle` (the workflow's retries of a transient
 * tool failure ran out) such a failure becomes that action's failed result, booked as one.
 */
export async function sendDeferred(deps: StepDeps<'send-deferred'>, input: SendDeferredInput): Promise<SendDeferredOutput> {
  const { shard, slot } = input;
  const clockMs = Date.parse(deps.clock());
  const slotMs = Date.parse(slot.at);
  // Never before its time: a slot sent early (a Wait skipped) would be judged in quiet hours.
  if (clockMs < slotMs - SEND_CLOCK_SKEW_MS) throw new InvalidInputError(`send slot ${slot.at} of shard ${shard.shard} is not due at ${new Date(clockMs).toISOString()}`);
  const bundle = await deps.config.load(shard.campaignId);
  const page = await deps.runs.listDeferredSends(shard.runId, shard.shard, slot.at, { limit: DEFERRED_SENDS_PER_PAGE, ...(slot.cursor === null ? {} : { cursor: slot.cursor }) });
  const read = new Map<string, Promise<People>>();
  const peopleOf = (accountId: string): Promise<People> => {
    let found = read.get(accountId);
    if (found === undefined) {
      found = Promise.all([deps.accounts.get(accountId), deps.accounts.listStakeholders(accountId)]).then(([account, stakeholders]) => ({ account, stakeholders }));
      read.set(accountId, found);
    }
    return found;
  };
  // Checked at the moment of sending: the function's clock, which the Wait put at the slot's time or later.
  const now = (): string => sendingAt(deps.clock(), slot.at);
  for (const send of page.items) {
    const { action } = send;
    const people = await peopleOf(action.accountId);
    const targets = people.stakeholders.filter((s) => action.stakeholderIds.includes(s.id));
    const tools = guardedAtSend(deps.tools, async () => ({ account: people.account, stakeholders: people.stakeholders, guardrails: bundle.guardrails, now: now() }));
    let result: ToolCallResult;
    try {
      result = await executeOnce({ idempotent: deps.idempotent, tools }, action, targets, toolAccountOf({ id: action.accountId, name: people.account?.name ?? action.accountId }, bundle));
    } catch (err) {
      if (err instanceof BlockedAtSendError) {
        await bookBlockedAtSend(deps, {
          runId: send.runId,
          runNow: send.runNow,
          action,
          guardrail: err.guardrail,
          reason: err.reason,
          once: EffectKeys.action(action.id, 'blocked_at_send'),
          alert: envelopeOf(deps, send),
          data: { deferredTo: send.slot },
        });
        continue;
      }
      result = settledFailure(err, action.id, input.settle);
    }
    await bookExecution(deps, {
      runId: send.runId,
      runNow: send.runNow,
      action,
      result,
      role: targets[0]?.role ?? 'influencer',
      // Remembered at its slot's time: every delivery agrees on it (the memory entry is keyed by it).
      at: send.slot,
      toolCall: (once) => ({ ...envelopeOf(deps, send), actor: `agent:${action.agentId}`, key: once, kind: 'tool_call', data: { actionId: action.id, tool: action.tool, deferredTo: send.slot, result } }),
    });
  }
  return { shard, slot: { at: slot.at, cursor: page.cursor ?? null } };
}

/** Where an event about a deferred send goes (the run's stream, as an approved action's), when, by whom, about what. */
const envelopeOf = (deps: { readonly clock: () => string }, send: DeferredSend): Omit<AuditEvent, 'seq' | 'prevHash' | 'hash' | 'key' | 'kind' | 'data'> => ({
  stream: `RUN#${send.runId}`,
  at: deps.clock(),
  runId: send.runId,
  accountId: send.action.accountId,
  agentId: send.action.agentId,
  actor: 'system:send-deferred',
  charterHash: send.charterHash,
});
