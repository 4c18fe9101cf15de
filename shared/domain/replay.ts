/**
 * Replaying a recorded turn: the planners and governance run again, as pure functions, on the
 * inputs the turn and its run recorded (shared/domain/decision-input.ts), and the plans, actions
 * and verdicts they give are compared with the recorded ones, field by field.
 *
 * One part of a verdict is not a function of those inputs: the shared reservations of touches and
 * spend, which count what every other shard and run reserved at that moment. A verdict recorded as
 * refused by a reservation (`reservation: true`) replays as identical when the pure checks grant
 * the action again, and is counted apart.
 */
import { canonicalJson } from './canonical-json.ts';
import { decisionInputDigest, digestOfInputs, type AccountInputs, type RunInputs } from './decision-input.ts';
import { governAccount } from './governance.ts';
import type { Verdict } from './model.ts';
import { planTeam } from './orchestration.ts';
import { turnDataOf, type TurnData, type TurnToolResult } from './turn.ts';

/** One field where the replay differs from the record. */
export interface ReplayDifference {
  /** JSON path in the turn's plans, e.g. `plans[0].decisions[1].verdict.outcome`. */
  readonly path: string;
  readonly recorded: unknown;
  readonly replayed: unknown;
}

/** The result of replaying one turn. */
export interface TurnReplay {
  /** Actions the turn records (each a plan decision with its verdict). */
  readonly decisions: number;
  readonly identical: boolean;
  readonly differences: readonly ReplayDifference[];
  /** Verdicts a shared reservation refused, which the pure checks grant again. */
  readonly reservations: number;
  /** Digest of the full input as recomputed from the stored inputs (equals the turn's when intact). */
  readonly inputDigest: string;
}

/** Most differences reported per turn (the first ones say what changed). */
const MAX_DIFFERENCES = 12;

/** Replays a turn on its recorded inputs. Pure. */
export function replayTurn(run: RunInputs, account: AccountInputs, recorded: TurnData): TurnReplay {
  const charters = new Map(run.charters.map((c) => [c.charter.id, c]));
  const charterOf = (agentId: string): { charter: RunInputs['charters'][number]['charter']; hash: string } => {
    const found = charters.get(agentId);
    if (found === undefined) throw new Error(`the run's inputs hold no charter "${agentId}"`);
    return found;
  };
  const agents = run.charters
    .filter((c) => c.charter.status !== 'paused')
    .map(({ charter, hash }) => ({ charter, hash, model: { agentId: charter.id, arms: run.models[charter.id] ?? {}, version: 0 } }));
  const { observed } = account;
  const planned = planTeam({ observed, campaign: run.campaign, guardrails: run.guardrails, agents, runId: run.runId, now: run.now, seed: run.seed, spent: account.spent.plan, ...(run.content ? { content: run.content } : {}) });
  const governed = governAccount(planned.plans, {
    account: observed.state,
    stakeholders: observed.stakeholders,
    guardrails: run.guardrails,
    recent: observed.recent,
    now: run.now,
    charterOf,
    spent: account.spent.govern,
  });
  const recordedDecisions = recorded.plans.flatMap((p) => p.decisions);
  const recordedVerdict = new Map(recordedDecisions.map((d) => [d.action.id, d.verdict]));
  const recordedResult = new Map<string, TurnToolResult>(recordedDecisions.flatMap((d) => (d.toolResult === null ? [] : [[d.action.id, d.toolResult] as const])));
  let reservations = 0;
  const verdicts = new Map<string, Verdict>();
  for (const verdict of governed.verdicts) {
    const was = recordedVerdict.get(verdict.actionId);
    if (was?.outcome === 'blocked' && was.reservation === true && verdict.outcome !== 'blocked') {
      reservations += 1;
      verdicts.set(verdict.actionId, { ...was, actionId: verdict.actionId });
    } else {
      verdicts.set(verdict.actionId, verdict);
    }
  }
  const replayed = turnDataOf({
    ...(recorded.observed === undefined ? {} : { observed: recorded.observed }),
    plans: planned.plans.map((plan) => ({ plan, charterHash: charterOf(plan.agentId).hash })),
    verdictOf: (id) => verdicts.get(id),
    toolResultOf: (id) => recordedResult.get(id),
  });
  const differences = diffJson(JSON.parse(canonicalJson(recorded.plans)), JSON.parse(canonicalJson(replayed?.plans ?? [])), 'plans');
  return {
    decisions: recordedDecisions.length,
    identical: differences.length === 0,
    differences: differences.slice(0, MAX_DIFFERENCES),
    reservations,
    inputDigest: decisionInputDigest(digestOfInputs(run), digestOfInputs(account)),
  };
}

/** Where two JSON values differ, as paths (arrays by index, objects by key), first ones first. */
export function diffJson(recorded: unknown, replayed: unknown, path: string): ReplayDifference[] {
  if (Object.is(recorded, replayed)) return [];
  if (Array.isArray(recorded) && Array.isArray(replayed)) {
    const out: ReplayDifference[] = [];
    for (let i = 0; i < Math.max(recorded.length, replayed.length) && out.length < MAX_DIFFERENCES; i += 1) {
      out.push(...diffJson(recorded[i], replayed[i], `${path}[${i}]`));
    }
    return out;
  }
  if (isRecord(recorded) && isRecord(replayed)) {
    const keys = [...new Set([...Object.keys(recorded), ...Object.keys(replayed)])].sort();
    const out: ReplayDifference[] = [];
    for (const key of keys) {
      if (out.length >= MAX_DIFFERENCES) break;
      out.push(...diffJson(recorded[key], replayed[key], `${path}.${key}`));
    }
    return out;
  }
  return [{ path, recorded, replayed }];
}

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
