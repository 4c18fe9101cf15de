/**
 * Use cases of one campaign run: one function per state of the workflow (see contracts.ts). Each
 * takes the ports it needs and a parsed input, and returns the state's output. Decisions depend
 * only on the input, the stored state and the run's clock, so a run can be replayed.
 */
import * as z from 'zod';
import type { StepDeps } from './steps.ts';
import {
  ActOutput,
  GovernOutput,
  ObserveOutput,
  PlanOutput,
  APPROVALS_PAGE_SIZE,
  type ApprovalItem,
  type ApprovalPage,
  type ListShardApprovalsInput,
  type ListShardApprovalsOutput,
  type LoadCampaignOutput,
  type ObservedAccount,
  type RecordInput,
  type RecordOutput,
  type RecentTouch,
  type RunSummary,
  type ShardInput,
  type StartRunInput,
  type ToolCallResult,
  type ActInput,
  type RecordFailureInput,
  type ScheduledRunInput,
} from './contracts.ts';
import type { CampaignBundle, Charter, Guardrails } from '../domain/config.ts';
import { digestOf } from '../domain/audit-digest.ts';
import { dataQualityGate } from '../domain/crm-import/gate.ts';
import { AgentPausedError, BlockedAtSendError, DataQualityGateError, ErrorName, InvalidInputError, SideEffectInProgressError, ToolFailedError, ToolRejectedError } from '../domain/errors.ts';
import { isProgression, type AccountState, type Action, type Approval, type AuditEvent, type DeferredSend, type PipelineSignal, type Plan, type Stakeholder, type Verdict } from '../domain/model.ts';
import { isDeferred, sendSlotOf } from '../domain/deferral.ts';
import { actionDigest } from '../domain/digest.ts';
import { emailPreview } from '../domain/prospect-email.ts';
import { stableId } from '../domain/random.ts';
import { armOf, foldSignals } from '../domain/observe.ts';
import { planAccounts } from '../domain/orchestration.ts';
import { turnDataOf, turnInputsOf } from '../domain/turn.ts';
import { accountInputsOf, digestOfInputs, runInputsOf, type AccountInputs } from '../domain/decision-input.ts';
import { escapeHtml } from './approval-views.ts';
import { GUARDRAIL, approvalPlanOf, governAccount, isTouchChannel, isoWeekOf, sendTimeBlock, spendMonthOf, type SpentSoFar } from '../domain/governance.ts';
import { VIRTUAL_SHARDS } from '../adapters/dynamodb/tables.ts';
import type { MemoryEntry, ToolAccount, ToolGateway } from '../ports/index.ts';
import { EffectKeys } from '../domain/effects.ts';
import { EMPTY_TALLY, count, tallyExecution, type ArmDeltas } from '../domain/tally.ts';
import { applyTally, releaseReservation } from './books.ts';

const DAY_MS = 86_400_000;
const MEMORY_WINDOW_DAYS = 28;

/** An event before the log seals it, keyed by the effect it records. */
type AuditDraft = Omit<AuditEvent, 'seq' | 'prevHash' | 'hash'> & { key: string };

const shiftIso = (iso: string, ms: number): string => new Date(Date.parse(iso) + ms).toISOString();

/** Finds a charter of the bundle by agent id. */
function charterOf(bundle: CampaignBundle, agentId: string): { charter: Charter; hash: string } {
  const found = bundle.charters.find((c) => c.charter.id === agentId);
  if (!found) throw new AgentPausedError(`No charter "${agentId}" in campaign "${bundle.campaign.id}"`);
  return found;
}

/**
 * The id of a campaign's run at a time: what a scheduled run is called, and the name of its
 * execution (letters, digits, - and _ only, as execution names allow).
 */
export const runIdOf = (campaignId: string, at: string): string => `${campaignId}-${at.replace(/[-:.]/g, '').slice(0, 15)}`;

/**
 * StartRun, the schedule's target: starts the CampaignRun execution named after the run. Scheduler
 * delivers at least once, and a second start of the same name and input is the first execution.
 */
export async function startScheduledRun(deps: StepDeps<'start-run'>, input: ScheduledRunInput): Promise<{ runId: string; executionArn: string }> {
  const bundle = await deps.config.load(input.campaignId);
  const runId = runIdOf(bundle.campaign.id, input.scheduledTime);
  const { executionArn } = await deps.starter.start(runId, { campaignId: bundle.campaign.id, scheduledTime: input.scheduledTime, runId });
  return { runId, executionArn };
}

/** LoadCampaign: validates the campaign, opens the run, and describes its shards. */
export async function loadCampaign(deps: StepDeps<'load-campaign'>, input: StartRunInput): Promise<LoadCampaignOutput> {
  const bundle = await deps.config.load(input.campaignId);
  const now = input.scheduledTime ?? deps.clock();
  const runId = input.runId ?? runIdOf(bundle.campaign.id, now);
  // The data-quality gate, before anything of the run exists: a book below the campaign's
  // thresholds is not worked at all. The refusal is audited (once) and names what to fix.
  const gate = dataQualityGate(bundle.campaign.dataQuality, await deps.accounts.getBookQuality(), bundle.campaign.segment);
  if (!gate.ok) {
    await deps.audit.appendOnce([
      {
        stream: `RUN#${runId}`,
        key: EffectKeys.runGated(runId),
        at: now,
        kind: 'alert',
        runId,
        actor: 'system:scheduler',
        data: { alert: 'data_quality_gate', error: ErrorName.DataQualityGate, findings: [...gate.findings], campaignId: bundle.campaign.id },
      },
    ]);
    throw new DataQualityGateError(gate.findings);
  }
  const charterHashes = Object.fromEntries(bundle.charters.map((c) => [c.charter.id, c.hash]));
  // What the agents have learned, as it stands now: every page of the run plans with it, so a page
  // planned again (a retry, a restart, a redrive) plans the same actions whatever other pages and
  // runs recorded meanwhile, and each decision can be replayed from the run header.
  const active = bundle.charters.filter((c) => c.charter.status !== 'paused').map((c) => c.charter.id);
  const models = Object.fromEntries(await Promise.all(active.map(async (id) => [id, (await deps.memory.getModel(id)).arms] as const)));
  // And what each agent had committed in the month: the planners pace paid actions with it (the
  // reservations in Govern are what enforces the budget).
  const month = spendMonthOf(now);
  const spend = Object.fromEntries(await Promise.all(active.map(async (id) => [id, await deps.runs.getAgentSpend(id, month)] as const)));
  const started = await deps.runs.start({ runId, campaignId: bundle.campaign.id, now, shards: bundle.campaign.shards, charterHashes, models, spend });
  // The run exists (a repeated schedule, a manual re-run, a redrive): resume it at its own clock.
  // Pages it recorded are replayed from the ledger, not planned again.
  if (!started.created && started.run.campaignId !== bundle.campaign.id) {
    throw new InvalidInputError(`run ${runId} belongs to campaign ${started.run.campaignId}, not ${bundle.campaign.id}`);
  }
  const runInputs = runInputsOf({ runId, now: started.run.now, seed: deps.seed, bundle, models: started.created ? models : (started.run.models ?? {}), spend: started.created ? spend : (started.run.spend ?? {}) });
  // Keyed: written once, also when the first start failed between the header and this event.
  await deps.audit.appendOnce([
    {
      stream: `RUN#${runId}`,
      key: EffectKeys.runStarted(runId),
      at: started.run.now,
      kind: 'run_started',
      runId,
      actor: 'system:scheduler',
      data: {
        campaignId: bundle.campaign.id,
        campaignHash: bundle.campaignHash,
        guardrailsHash: bundle.guardrailsHash,
        charterHashes,
        paused: bundle.charters.filter((c) => c.charter.status === 'paused').map((c) => c.charter.id),
        seed: deps.seed,
        // What every page of the run plans with (as the header holds it).
        models: runInputs.models,
        spend: runInputs.spend,
        // Everything each decision of the run is made from besides the account's own inputs (a
        // replay reads it), and its digest.
        inputs: { value: runInputs, digest: digestOfInputs(runInputs) },
      },
    },
  ]);
  return shardsOf({ runId: started.run.runId, campaignId: started.run.campaignId, now: started.run.now }, bundle.campaign.shards, !started.created);
}

/** The run and its shard descriptors, each from the start of its shard. */
function shardsOf(run: { runId: string; campaignId: string; now: string }, shardCount: number, resumed: boolean): LoadCampaignOutput {
  const shards = Array.from({ length: shardCount }, (_, shard) => ({
    shard: { ...run, shard, shardCount, ...(resumed ? { resumed } : {}) },
    cursor: null,
    queued: 0,
    deferred: 0,
    pages: 0,
  }));
  return { run, shards };
}

const Cursor = z.object({ v: z.number().int().nonnegative(), k: z.string().optional() });
type Cursor = z.infer<typeof Cursor>;
const encodeCursor = (c: Cursor): string => Buffer.from(JSON.stringify(c)).toString('base64url');
const decodeCursor = (s: string | null | undefined): Cursor =>
  s ? Cursor.parse(JSON.parse(Buffer.from(s, 'base64url').toString('utf8'))) : { v: 0 };

/** The virtual shards a campaign shard covers (v mod shardCount = shard). */
export const virtualShardsOf = (shard: number, shardCount: number): number[] =>
  Array.from({ length: VIRTUAL_SHARDS }, (_, v) => v).filter((v) => v % shardCount === shard);

/** Observe: folds new signals into the next page of accounts and credits earlier actions. */
export async function observeShard(deps: StepDeps<'observe'>, input: ShardInput): Promise<ObserveOutput> {
  const { shard } = input;
  // A page this run already recorded is replayed, never observed, planned or acted on again.
  const recorded = await deps.runs.getPage(shard.runId, shard.shard, input.cursor);
  if (recorded) return { accounts: [], ...(recorded.nextCursor !== null ? { nextCursor: recorded.nextCursor } : {}), replayed: recorded };
  const bundle = await deps.config.load(shard.campaignId);
  const { pageSize, segment } = bundle.campaign;
  const virtuals = virtualShardsOf(shard.shard, shard.shardCount);
  let cursor = decodeCursor(input.cursor);
  const page: AccountState[] = [];
  while (page.length < pageSize && cursor.v < virtuals.length) {
    const result = await deps.accounts.listByShard(virtuals[cursor.v] as number, pageSize - page.length, cursor.k);
    page.push(...result.items);
    cursor = result.cursor ? { v: cursor.v, k: result.cursor } : { v: cursor.v + 1 };
  }
  const inSegment = page.filter(
    (a) => segment.tiers.includes(a.tier) && (!segment.stages || segment.stages.includes(a.stage)),
  );
  const since = shiftIso(shard.now, -MEMORY_WINDOW_DAYS * DAY_MS);
  const accounts: ObservedAccount[] = [];
  const credits: ArmDeltas = {};
  const once = EffectKeys.pageObserved(shard.runId, shard.shard, input.cursor);
  const folds: Array<{ account: AccountState; mine: boolean; folded: ReturnType<typeof foldSignals>; signals: PipelineSignal[]; memory: MemoryEntry[] }> = [];
  for (const account of inSegment) {
    // This very page observed the account before (a retry or a second delivery of this step):
    // rebuild that observation, from where it started to where it moved observedUntil.
    const mine = account.observation?.by === once;
    const from = mine ? (account.observation?.since ?? null) : account.observedUntil;
    const until = Date.parse(mine ? (account.observedUntil ?? shard.now) : shard.now);
    const [stakeholders, listed, memory] = await Promise.all([
      deps.accounts.listStakeholders(account.id),
      deps.accounts.listSignalsSince(account.id, from),
      deps.memory.listForAccount(account.id, since),
    ]);
    // Signals after the run's clock wait for a later run.
    const signals = listed.filter((s) => Date.parse(s.at) <= until);
    const roleOf = new Map(stakeholders.map((s) => [s.id, s.role]));
    // Credit only the actions of the last week: each is credited in the one observation after
    // it ran (trials are counted when it executes, in Record / ActApproved).
    const lastWeek = shiftIso(shard.now, -7 * DAY_MS);
    const executed = memory
      .filter((m) => m.kind === 'action_executed' && m.actionType && m.at >= lastWeek)
      .map((m) => ({ actionId: m.id, agentId: m.agentId, arm: armOf(m.actionType as Action['type'], roleOf.get(m.stakeholderIds?.[0] ?? '') ?? 'influencer') }));
    const folded = foldSignals({ state: { ...account, observedUntil: from }, stakeholders, signals, executed, now: shard.now, credits: bundle.guardrails.pipelineQuality.credits });
    for (const [agentId, arms] of Object.entries(folded.credits)) {
      const into = (credits[agentId] ??= {});
      for (const [arm, d] of Object.entries(arms)) {
        const prev = into[arm] ?? { trials: 0, successes: 0 };
        into[arm] = { trials: 0, successes: prev.successes + d.successes };
      }
    }
    folds.push({ account, mine, folded, signals, memory });
  }
  // Order repairs a crash between any two writes: the people and the credits (keyed by the page,
  // so applied once) before the account states, which move observedUntil past these signals. A
  // retry sees the same signals again until the state is saved, and credits nothing twice.
  await Promise.all(folds.flatMap(({ folded }) => folded.changedStakeholders.map((s) => deps.accounts.suppressStakeholder(s))));
  await Promise.all(Object.entries(credits).map(([agentId, deltas]) => deps.memory.addOutcomes(agentId, deltas, once)));
  for (const { account, mine, folded, signals, memory } of folds) {
    const observed = { by: once, since: account.observedUntil, stage: account.stage };
    const saved = mine || signals.length === 0 ? account : await deps.accounts.saveState({ ...folded.state, observation: observed }, account.version);
    accounts.push({
      state: saved,
      stakeholders: folded.stakeholders,
      // What was sent, and what a human rejected or a tool refused (the planner does not propose it again).
      recent: memory.filter((m) => m.kind === 'action_executed' || m.kind === 'action_rejected' || m.kind === 'action_failed').map(toRecentTouch),
      newSignals: signals,
      previousStage: mine ? (account.observation?.stage ?? account.stage) : account.stage,
    });
  }
  const done = cursor.v >= virtuals.length;
  return ObserveOutput.parse({ accounts, nextCursor: done ? undefined : encodeCursor(cursor) });
}

const toRecentTouch = (m: MemoryEntry): RecentTouch => ({
  at: m.at,
  agentId: m.agentId,
  kind: m.kind,
  actionType: m.actionType,
  stakeholderIds: m.stakeholderIds ?? [],
  topic: m.topic,
  ...(m.detail === undefined ? {} : { detail: m.detail }),
});

/**
 * Plan: every active agent proposes for every observed account, and the account's coordinator
 * merges their proposals into one plan (shared/domain/orchestration.ts). Pages plan with what the
 * run started with (the agents' statistics and month spend in the run header), so a page planned
 * again plans the same actions.
 */
export async function planShard(deps: StepDeps<'plan'>, input: ShardInput & { observed: ObserveOutput }): Promise<PlanOutput> {
  const bundle = await deps.config.load(input.shard.campaignId);
  const run = await deps.runs.get(input.shard.runId);
  const agents = bundle.charters
    .filter((c) => c.charter.status !== 'paused')
    .map(({ charter, hash }) => ({ charter, hash, model: { agentId: charter.id, arms: run?.models?.[charter.id] ?? {}, version: 0 } }));
  const plans = planAccounts({
    accounts: input.observed.accounts,
    campaign: bundle.campaign,
    guardrails: bundle.guardrails,
    agents,
    runId: input.shard.runId,
    now: input.shard.now,
    seed: deps.seed,
    monthSpent: run?.spend ?? {},
    ...(bundle.content ? { content: bundle.content } : {}),
  });
  return PlanOutput.parse({ plans });
}

/**
 * Govern: guardrails and HITL thresholds give every proposed action a verdict. Touches and spend
 * are reservations: each granted or queued action reserves its touch (per stakeholder and account,
 * in the week of the run's clock) and its cost (on the run and its agent's month), atomically
 * within the limits, so parallel shards, pages waiting for approval and overlapping runs can never
 * commit more than a limit between them (a reservation that finds no room blocks the action).
 * Reservations are keyed by action, so a repeated Govern reserves nothing twice.
 */
export async function governShard(
  deps: StepDeps<'govern'>,
  input: ShardInput & { observed: ObserveOutput; planned: PlanOutput },
): Promise<GovernOutput> {
  const bundle = await deps.config.load(input.shard.campaignId);
  const { runId, now } = input.shard;
  const month = spendMonthOf(now);
  const capUsd = bundle.guardrails.budget.maxSpendPerRunUsd;
  const byAccount = new Map(input.observed.accounts.map((a) => [a.state.id, a]));
  const verdicts: Verdict[] = [];
  // What this page granted so far (the pure checks see the page; the reservations see everyone).
  let spent: SpentSoFar = { run: 0, month: {} };
  const plansOf = new Map<string, Plan[]>();
  for (const plan of input.planned.plans) plansOf.set(plan.accountId, [...(plansOf.get(plan.accountId) ?? []), plan]);
  for (const [accountId, plans] of plansOf) {
    const observed = byAccount.get(accountId);
    if (!observed) continue;
    const governed = governAccount(plans, {
      account: observed.state,
      stakeholders: observed.stakeholders,
      guardrails: bundle.guardrails,
      recent: observed.recent,
      now,
      charterOf: (agentId) => charterOf(bundle, agentId),
      spent,
    });
    spent = governed.spent;
    const actions = plans.flatMap((p) => p.actions);
    for (const [i, action] of actions.entries()) {
      const verdict = governed.verdicts[i] as Verdict;
      if (verdict.outcome === 'blocked') {
        verdicts.push(verdict);
        continue;
      }
      const { charter } = charterOf(bundle, action.agentId);
      const touches = isTouchChannel(action.channel)
        ? { accountId: action.accountId, week: isoWeekOf(now), actionId: action.id, stakeholderIds: action.stakeholderIds }
        : undefined;
      if (
        touches &&
        !(await deps.runs.reserveTouches({
          ...touches,
          maxPerStakeholder: bundle.guardrails.contactPressure.maxTouchesPerStakeholderPerWeek,
          maxPerAccount: bundle.guardrails.contactPressure.maxTouchesPerAccountPerWeek,
        }))
      ) {
        verdicts.push({
          outcome: 'blocked',
          actionId: action.id,
          guardrail: GUARDRAIL.contactPressure,
          reservation: true,
          reason: `${observed.state.name} or one of the people this action is for has no touch left in ${touches.week} (counting what granted and queued actions of every run already reserved).`,
        });
        continue;
      }
      if (action.costUsd > 0) {
        const held = await deps.runs.reserveSpend({ runId, agentId: action.agentId, month, actionId: action.id, usd: action.costUsd, runCapUsd: capUsd, monthCapUsd: charter.budgets.spendPerMonthUsd });
        if (!held.reserved) {
          if (touches) await deps.runs.releaseTouches(touches);
          verdicts.push({
            outcome: 'blocked',
            actionId: action.id,
            guardrail: GUARDRAIL.budget,
            reservation: true,
            reason:
              held.over === 'run'
                ? `Spending $${action.costUsd} would take this run above its $${capUsd} limit (counting what granted and queued actions already reserved).`
                : `Spending $${action.costUsd} would take agent ${charter.id} above the charter's budgets.spendPerMonthUsd of $${charter.budgets.spendPerMonthUsd} in ${month} (counting what granted and queued actions already reserved).`,
          });
          continue;
        }
      }
      verdicts.push(verdict);
    }
  }
  return GovernOutput.parse({ verdicts });
}

/** Id of the approval request of one action for one approver. */
export const approvalIdOf = (actionId: string, approver: string): string => `apr-${stableId(actionId, approver)}`;

/** What the guardrails that can change while an action waits see at the moment it is sent. */
export interface SendTimeContext {
  /** The account as it is now (undefined: no longer in the book). */
  readonly account: AccountState | undefined;
  /** Its people as they are now. */
  readonly stakeholders: Stakeholder[];
  readonly guardrails: Guardrails;
  /** The moment of sending. */
  readonly now: string;
}

/**
 * The tools behind the guardrails that can change while an action waits (for its approval, or for
 * its send time): consent and do-not-contact, suppression, and quiet hours at the moment of
 * sending (sendTimeBlock). Meant for inside the at-most-once call (executeOnce): a replay of a call
 * that went out returns its result unchecked, and a blocked call (BlockedAtSendError) leaves no
 * record, so a retry checks again. `contextOf` is read only when the call really goes out.
 */
export function guardedAtSend(tools: ToolGateway, contextOf: () => Promise<SendTimeContext>): ToolGateway {
  return {
    execute: async (action, targets, account) => {
      const ctx = await contextOf();
      if (!ctx.account) throw new BlockedAtSendError(GUARDRAIL.unknownAccount, `Account ${action.accountId} is no longer in the book.`);
      const block = sendTimeBlock(action, { account: ctx.account, stakeholders: ctx.stakeholders, guardrails: ctx.guardrails, now: ctx.now });
      if (block) throw new BlockedAtSendError(block.guardrail, block.reason);
      return tools.execute(action, targets, account);
    },
  };
}

/**
 * A tool call's failure once the state machine's retries ran out (`settle`): that action's failed
 * result, so the rest of its page or slot stands. Anything else (or without `settle`) is thrown.
 */
export function settledFailure(err: unknown, actionId: string, settle: boolean | undefined): ToolCallResult {
  if (settle === true && err instanceof ToolFailedError) {
    return { actionId, ok: false, detail: `failed after the workflow's retries: ${err.message}`, replayed: false };
  }
  if (settle === true && err instanceof SideEffectInProgressError) {
    // Another delivery started this very call and never finished it (it crashed mid-call): it may
    // have reached the world. Never sent again; recorded as not done, outcome unknown.
    return { actionId, ok: false, detail: `outcome unknown: an earlier delivery started this call and did not finish (${err.message}); not sent again`, replayed: false };
  }
  throw err;
}

/** What a tool is told of the account: its id and name, and the campaign's content library that words its emails. */
export function toolAccountOf(account: { readonly id: string; readonly name: string }, bundle: Pick<CampaignBundle, 'content'>): ToolAccount {
  return { id: account.id, name: account.name, ...(bundle.content ? { library: bundle.content } : {}) };
}

/** Runs one tool call at most once (keyed by action id), translating a permanent refusal into a result. */
export async function executeOnce(
  deps: Pick<StepDeps<'act'>, 'idempotent' | 'tools'>,
  action: Action,
  stakeholders: Stakeholder[],
  account: ToolAccount,
): Promise<ToolCallResult> {
  try {
    const { value, replayed } = await deps.idempotent(`tool#${action.id}`, () => deps.tools.execute(action, stakeholders, account));
    return { actionId: action.id, ok: value.ok, externalId: value.externalId, detail: value.detail, replayed };
  } catch (err) {
    if (err instanceof ToolRejectedError) return { actionId: action.id, ok: false, detail: err.message, replayed: false };
    throw err;
  }
}

/**
 * Act: executes autonomous actions through tools (idempotent) and queues approval requests. An
 * autonomous action whose notBefore is later than the run's clock (its people's quiet hours) is
 * not executed: it is stored for sending in its slot (once, however often Act is delivered), and
 * the CampaignRun sends it then (SendDeferred). Its verdict stays autonomous, its reservations held.
 */
export async function actShard(deps: StepDeps<'act'>, input: ActInput): Promise<ActOutput> {
  const bundle = await deps.config.load(input.shard.campaignId);
  const { runId, now, shard } = input.shard;
  const verdictOf = new Map(input.governed.verdicts.map((v) => [v.actionId, v]));
  const byAccount = new Map(input.observed.accounts.map((a) => [a.state.id, a]));
  const results: ToolCallResult[] = [];
  const queuedApprovalIds: string[] = [];
  const deferred: DeferredSend[] = [];
  for (const plan of input.planned.plans) {
    const observed = byAccount.get(plan.accountId);
    if (!observed) continue;
    for (const action of plan.actions) {
      const verdict = verdictOf.get(action.id);
      if (verdict?.outcome === 'autonomous' && isDeferred(action, now)) {
        deferred.push({ runId, shard, slot: sendSlotOf(action), runNow: now, action, charterHash: charterOf(bundle, action.agentId).hash });
      } else if (verdict?.outcome === 'autonomous') {
        const targets = observed.stakeholders.filter((s) => action.stakeholderIds.includes(s.id));
        try {
          results.push(await executeOnce(deps, action, targets, toolAccountOf(observed.state, bundle)));
        } catch (err) {
          // The state machine's retries ran out: this action failed, the rest of the page stands.
          results.push(settledFailure(err, action.id, input.settle));
        }
      } else if (verdict?.outcome === 'needs_approval') {
        // One request per required approver (one, unless a two-person rule fired); each waits in
        // its own branch of the workflow, and a timeout escalates per the charter (never approves).
        const required = approvalPlanOf(verdict);
        // Governance blocks a rule it cannot staff; a verdict that still gets here queues nothing
        // (and so never executes) rather than asking fewer people than the rule demands.
        if (!required) continue;
        const { charter, hash } = charterOf(bundle, action.agentId);
        const ids = required.approvers.map((approver) => approvalIdOf(action.id, approver));
        const quorum = ids.length > 1 ? { actionId: action.id, approvalIds: ids, min: required.min } : undefined;
        const preview = emailPreview(action, observed.stakeholders, observed.state.name, bundle.content);
        for (const [i, approver] of required.approvers.entries()) {
          const approval: Approval = {
            id: ids[i] as string,
            runId: input.shard.runId,
            shard: input.shard.shard,
            accountId: action.accountId,
            agentId: action.agentId,
            action,
            rules: verdict.rules,
            approver,
            ...(quorum ? { quorum } : {}),
            ...(preview ? { preview } : {}),
            actionDigest: actionDigest(action),
            charterHash: hash,
            status: 'queued',
            timeoutSeconds: timeoutSecondsOf(charter),
            createdAt: input.shard.now,
            version: 0,
          };
          await deps.approvals.create(approval);
          queuedApprovalIds.push(approval.id);
        }
      }
    }
  }
  // Stored before the page is recorded, which counts them for the shard (so the parent lists them).
  if (deferred.length > 0) await deps.runs.deferSends(deferred);
  return ActOutput.parse({ results, queuedApprovalIds, deferredActionIds: deferred.map((d) => d.action.id) });
}

/** Record: the audit trail, agent memory and run counters for everything the page did. */
export async function recordShard(deps: StepDeps<'record'>, input: RecordInput): Promise<RecordOutput> {
  const bundle = await deps.config.load(input.shard.campaignId);
  const replayed = input.observed.replayed;
  if (replayed) return nextOf(input, bundle.campaign.pagesPerExecution, replayed);
  const { runId, now, shard } = input.shard;
  const verdictOf = new Map(input.governed.verdicts.map((v) => [v.actionId, v]));
  const resultOf = new Map(input.acted.results.map((r) => [r.actionId, r]));
  const deferredIds = new Set(input.acted.deferredActionIds);
  const byAccount = new Map(input.observed.accounts.map((a) => [a.state.id, a]));
  const events: AuditDraft[] = [];
  let tally = count(EMPTY_TALLY, {
    accounts: input.observed.accounts.length,
    proposed: 0,
    executed: 0,
    deferred: 0,
    needsApproval: 0,
    approvalRequests: 0,
    blocked: 0,
    toolFailures: 0,
    replayed: 0,
    spendUsd: 0,
    signals: 0,
    stageAdvances: 0,
  });
  const plansOf = new Map<string, Array<{ plan: Plan; charterHash: string }>>();
  for (const plan of input.planned.plans) {
    const list = plansOf.get(plan.accountId) ?? [];
    list.push({ plan, charterHash: charterOf(bundle, plan.agentId).hash });
    plansOf.set(plan.accountId, list);
  }
  // What every decision of the run was made from (as LoadCampaign recorded it in run_started),
  // and what the page had spent before each account (the planners and governance carry it across
  // the page's accounts in this order).
  const run = await deps.runs.get(runId);
  const runInputsDigest = digestOfInputs(runInputsOf({ runId, now: run?.now ?? now, seed: deps.seed, bundle, models: run?.models ?? {}, spend: run?.spend ?? {} }));
  const spentBefore = spentBeforeEach(input.observed.accounts, plansOf, run?.spend ?? {}, verdictOf);
  // One audit event per account: what was observed, and every agent's plan with its verdicts.
  for (const observed of input.observed.accounts) {
    const { state } = observed;
    // A progression as the guardrails define it: forward among the open stages, never an exit.
    tally = count(tally, { signals: observed.newSignals.length, stageAdvances: isProgression(observed.previousStage, state.stage) ? 1 : 0 });
    const data = turnDataOf({
      ...(observed.newSignals.length === 0
        ? {}
        : {
            observed: {
              signals: observed.newSignals.map((s) => ({ id: s.id, kind: s.kind, at: s.at, stakeholderId: s.stakeholderId, causedBy: s.causedBy, stage: s.stage })),
              stageBefore: observed.previousStage,
              stageAfter: state.stage,
              engagedRoles: state.engagedRoles,
              consensus: state.consensus,
            },
          }),
      plans: plansOf.get(state.id) ?? [],
      verdictOf: (id) => verdictOf.get(id),
      toolResultOf: (id) => resultOf.get(id),
      input: turnInputsOf(runInputsDigest, accountInputsOf(observed, spentBefore.get(state.id) ?? { plan: { run: 0, month: {} }, govern: { run: 0, month: {} } })),
    });
    if (data !== undefined) {
      events.push({ stream: `ACCOUNT#${state.id}`, key: EffectKeys.turn(runId, shard, input.cursor, state.id), at: now, kind: 'turn', runId, accountId: state.id, actor: 'system:record', data });
    }
  }
  for (const plan of input.planned.plans) {
    const observed = byAccount.get(plan.accountId);
    if (!observed) continue;
    const roleOf = new Map(observed.stakeholders.map((s) => [s.id, s.role]));
    for (const action of plan.actions) {
      tally = count(tally, { proposed: 1 });
      const verdict = verdictOf.get(action.id);
      const result = resultOf.get(action.id);
      if (verdict?.outcome === 'blocked') {
        // No memory entry: nothing reached anyone, and the turn in the audit trail says why.
        tally = count(tally, { blocked: 1, [`blocked.${verdict.guardrail}`]: 1 });
      } else if (verdict?.outcome === 'needs_approval') {
        // Approval requests queued for it (two or more under a two-person rule).
        tally = count(tally, { needsApproval: 1, approvalRequests: approvalPlanOf(verdict)?.approvers.length ?? 0 });
      } else if (verdict?.outcome === 'autonomous' && deferredIds.has(action.id)) {
        // Not executed yet: SendDeferred books it when it goes out in its slot (its reservations stay held).
        tally = count(tally, { deferred: 1 });
      } else if (result) {
        tally = tallyExecution(tally, { action, result, role: roleOf.get(action.stakeholderIds[0] ?? '') ?? 'influencer', at: now });
      }
    }
  }
  // Every write is keyed by this page of this run (or by the action), so a repeated Record changes nothing.
  await deps.audit.appendOnce(events);
  const failed = input.planned.plans.flatMap((p) => p.actions).filter((a) => verdictOf.get(a.id)?.outcome === 'autonomous' && resultOf.get(a.id)?.ok === false);
  await Promise.all(failed.map((action) => releaseReservation(deps, runId, now, action)));
  await applyTally(deps, { runId, month: spendMonthOf(now) }, tally, EffectKeys.pageRecorded(runId, shard, input.cursor));
  // Last: once the page is in the ledger, a repeated run replays it instead of planning it again.
  const thisPage = { queued: input.acted.queuedApprovalIds.length, deferred: input.acted.deferredActionIds.length };
  await deps.runs.putPage(runId, input.shard.shard, input.cursor, { nextCursor: input.observed.nextCursor ?? null, ...thisPage });
  return nextOf(input, bundle.campaign.pagesPerExecution, thisPage);
}

/**
 * What the page had spent before each account, as the planners and governance were handed it: the
 * planners start from the agents' month spend in the run header and add every action they chose;
 * governance starts the page at zero and adds every action its pure checks let through (a verdict
 * that only a shared reservation refused was let through).
 */
function spentBeforeEach(
  accounts: readonly ObservedAccount[],
  plansOf: ReadonlyMap<string, ReadonlyArray<{ plan: Plan }>>,
  monthSpent: Readonly<Record<string, number>>,
  verdictOf: ReadonlyMap<string, Verdict>,
): Map<string, AccountInputs['spent']> {
  const plan = { run: 0, month: { ...monthSpent } };
  const govern = { run: 0, month: {} as Record<string, number> };
  const before = new Map<string, AccountInputs['spent']>();
  for (const { state } of accounts) {
    before.set(state.id, { plan: { run: plan.run, month: { ...plan.month } }, govern: { run: govern.run, month: { ...govern.month } } });
    for (const { plan: p } of plansOf.get(state.id) ?? []) {
      for (const action of p.actions) {
        plan.run += action.costUsd;
        plan.month[p.agentId] = (plan.month[p.agentId] ?? 0) + action.costUsd;
        const verdict = verdictOf.get(action.id);
        if (verdict?.outcome === 'blocked' && verdict.reservation !== true) continue;
        govern.run += action.costUsd;
        govern.month[p.agentId] = (govern.month[p.agentId] ?? 0) + action.costUsd;
      }
    }
  }
  return before;
}

/**
 * Where the shard stands after a page, and whether this execution goes on: it stops when the shard
 * is done, or hands the rest over after `pagesPerExecution` pages (a fresh execution starts at 0).
 * `thisPage` is what the page queued for approval and deferred to a send time.
 */
export function nextOf(
  input: RecordInput,
  pagesPerExecution: number,
  thisPage: { readonly queued: number; readonly deferred?: number } = { queued: input.acted.queuedApprovalIds.length, deferred: input.acted.deferredActionIds.length },
): RecordOutput {
  const cursor = input.observed.nextCursor;
  const pages = input.pages + 1;
  const goOn = cursor !== undefined && pages < pagesPerExecution;
  return {
    next: {
      shard: input.shard,
      cursor: cursor ?? null,
      queued: input.queued + thisPage.queued,
      deferred: input.deferred + (thisPage.deferred ?? 0),
      pages: goOn ? pages : 0,
    },
    continue: goOn,
    accounts: input.observed.accounts.length,
  };
}

/**
 * ListShardApprovals. Without `page`: where the pages of the approvals a shard queued in the run
 * start and end (APPROVALS_PAGE_SIZE each), fixed before any is requested, so escalations created
 * while pages wait cannot shift one page's approvals into another. With `page`: that page's queued
 * approvals, each with its link expiry (the task timeout).
 */
export async function listShardApprovals(deps: StepDeps<'list-shard-approvals'>, input: ListShardApprovalsInput): Promise<ListShardApprovalsOutput> {
  const { runId, shard } = input.shard;
  if (input.page === undefined) {
    const ids = [...(await deps.approvals.listIdsForRunShard(runId, shard))].sort();
    const pages: ApprovalPage[] = [];
    for (let i = 0; i < ids.length; i += APPROVALS_PAGE_SIZE) {
      const through = ids[Math.min(ids.length, i + APPROVALS_PAGE_SIZE) - 1] as string;
      pages.push({ after: i === 0 ? null : (ids[i - 1] as string), through });
    }
    return { pages, approvals: [] };
  }
  const { after, through } = input.page;
  // Cut here too, so a port that ignores the range cannot put another page's approvals in this one.
  const ids = (await deps.approvals.listIdsForRunShard(runId, shard, { ...(after === null ? {} : { after }), through }))
    .filter((id) => (after === null || id > after) && id <= through)
    .sort();
  const approvals: ApprovalItem[] = [];
  for (const id of ids) {
    const approval = await deps.approvals.get(id);
    if (!approval || !(input.shard.resumed === true ? RESUMABLE : FRESH).has(approval.status)) continue;
    // Escalations are requested by the approval branch itself, not listed again; unless the run
    // resumes, and the branch that created it is gone with the execution before.
    if (approval.escalationOf && input.shard.resumed !== true) continue;
    approvals.push({ approvalId: id, runId, timeoutSeconds: approval.timeoutSeconds });
  }
  return { pages: [], approvals };
}

/** What a fresh run requests: what its pages queued. */
const FRESH: ReadonlySet<Approval['status']> = new Set(['queued']);
/**
 * What a resumed run requests again: what its pages queued, what waited on the execution before
 * (a new link), and what was decided while nothing waited (the decision goes through at once).
 */
const RESUMABLE: ReadonlySet<Approval['status']> = new Set(['queued', 'pending', 'approved', 'rejected']);

/** The approval link's lifetime for an agent, in whole seconds (the task's TimeoutSecondsPath). */
export const timeoutSecondsOf = (charter: Charter): number => Math.max(1, Math.ceil(charter.escalation.approvalTimeoutHours * 3600));

/** Summarize: the run's figures, recorded and mailed to the campaign owner. */
export async function summarizeRun(deps: StepDeps<'summarize'>, input: { run: { runId: string; campaignId: string; now: string } }): Promise<RunSummary> {
  const bundle = await deps.config.load(input.run.campaignId);
  const run = await deps.runs.get(input.run.runId);
  const counters = run?.counters ?? {};
  // Once per run: a repeated or redriven run does not record or mail its summary again.
  await deps.idempotent(EffectKeys.summary(input.run.runId), async () => {
    await deps.audit.appendOnce([
      { stream: `RUN#${input.run.runId}`, key: EffectKeys.summary(input.run.runId), at: deps.clock(), kind: 'run_summarized', runId: input.run.runId, actor: 'system:summarize', data: { counters } },
    ]);
    const lines = Object.entries(counters)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${k}: ${v}`);
    return deps.mailer.send({
      to: [bundle.campaign.owner],
      from: deps.mailFrom,
      subject: `[amk] ${bundle.campaign.name}: run ${input.run.runId} finished`,
      text: `Campaign run ${input.run.runId} (${input.run.now}) finished.\n\n${lines.join('\n')}\n`,
      // Everything from the input or the counters is escaped: a run id is whatever the caller passed.
      html: `<p>Campaign run <b>${escapeHtml(input.run.runId)}</b> (${escapeHtml(input.run.now)}) finished.</p><ul>${lines.map((l) => `<li>${escapeHtml(l)}</li>`).join('')}</ul>`,
    });
  });
  await publishDigest(deps, input.run.runId);
  return { runId: input.run.runId, campaignId: input.run.campaignId, now: input.run.now, counters };
}

/**
 * The run's audit digest: the heads of every stream it wrote to (its own stream, with the summary,
 * named explicitly: the byRun index is eventually consistent), signed and published outside the
 * table. The first digest of a run stands; a repeated Summarize finds it there.
 */
async function publishDigest(deps: StepDeps<'summarize'>, runId: string): Promise<void> {
  const streams = new Set(await deps.audit.streamsOfRun(runId));
  streams.add(`RUN#${runId}`);
  const heads = await deps.audit.heads([...streams]);
  await deps.digests.publish(digestOf(runId, deps.clock(), heads));
}

/** Longest cause an alert keeps (Step Functions causes can be 32 KB of nested JSON). */
const MAX_CAUSE_CHARS = 2_000;

/**
 * RecordFailure: a shard or an approval branch failed after its retries. The rest of the run goes
 * on; this alerts in the run's audit stream and counts it, so the summary shows it.
 */
export async function recordFailure(deps: StepDeps<'record-failure'>, input: RecordFailureInput): Promise<{ recorded: true }> {
  const error = input.failure?.Error ?? 'Unknown';
  const cause = (input.failure?.Cause ?? '').slice(0, MAX_CAUSE_CHARS);
  // Keyed by what failed: a redelivered or redriven failure is one alert and one count.
  const where = input.approvalId ?? (input.slot !== undefined ? `${input.shard ?? 'run'}#${input.slot}` : (input.shard ?? 'run'));
  const once = EffectKeys.failure(input.runId, input.scope, where);
  await deps.audit.appendOnce([
    {
      stream: `RUN#${input.runId}`,
      key: once,
      at: deps.clock(),
      kind: 'alert',
      runId: input.runId,
      actor: 'system:record-failure',
      data: {
        alert: `${input.scope}_failed`,
        ...(input.shard !== undefined ? { shard: input.shard } : {}),
        ...(input.approvalId !== undefined ? { approvalId: input.approvalId } : {}),
        ...(input.slot !== undefined ? { slot: input.slot } : {}),
        error,
        cause,
      },
    },
  ]);
  await deps.runs.addCounters(input.runId, { [`failed.${input.scope}`]: 1 }, once);
  return { recorded: true };
}
