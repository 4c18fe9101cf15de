/**
 * `amk audit replay`: every recorded turn of a run (or the one turn of a decision) planned and
 * governed again on the inputs the trail recorded for it, with the result compared to the record
 * (shared/domain/replay.ts). Read-only: the audit table is read, nothing is written.
 */
import { auditEventOfItem } from '../../shared/adapters/dynamodb/requests.ts';
import { AccountInputs, AlteredInputsError, RunInputs, checkedInputs, decisionInputDigest } from '../../shared/domain/decision-input.ts';
import type { AuditEvent } from '../../shared/domain/model.ts';
import { replayTurn, type ReplayDifference } from '../../shared/domain/replay.ts';
import { TurnData } from '../../shared/domain/turn.ts';
import type { ReadOnlyData } from './read-only.ts';

/** What to replay: one run's turns, or the turn holding one decision (an action id). */
export type ReplayTarget = { readonly runId: string } | { readonly decisionId: string };

/** The replay of one turn. */
export interface ReplayedTurn {
  readonly runId: string;
  readonly accountId: string;
  readonly stream: string;
  readonly seq: number;
  readonly decisions: number;
  /** identical; different (see differences); altered (its recorded inputs fail their digest); not_recorded (a turn from before inputs were recorded). */
  readonly result: 'identical' | 'different' | 'altered' | 'not_recorded';
  readonly differences: readonly ReplayDifference[];
  readonly reservations: number;
  readonly detail?: string;
}

/** What a replay found. */
export interface ReplayReport {
  readonly ok: boolean;
  readonly runs: readonly string[];
  readonly turns: number;
  /** Decisions (proposed actions with their verdicts) replayed, and how many came out identical. */
  readonly decisions: { readonly replayed: number; readonly identical: number };
  /** Verdicts a shared reservation refused that the pure checks grant again (identical by definition). */
  readonly reservations: number;
  readonly results: readonly ReplayedTurn[];
}

/** Nothing in the trail matches the target. */
export class NothingToReplayError extends Error {
  override readonly name = 'NothingToReplayError';
}

/** Replays the target's turns; `ok` when every one is identical. */
export async function replayAudit(data: ReadOnlyData, target: ReplayTarget): Promise<ReplayReport> {
  const starts = new Map<string, AuditEvent>();
  const turns: AuditEvent[] = [];
  for (const item of await data.auditItems()) {
    if (!String(item['sk']).startsWith('SEQ#')) continue;
    let event: AuditEvent;
    try {
      event = auditEventOfItem(item);
    } catch {
      continue; // `amk audit verify` reports items that are not events
    }
    if (event.kind === 'run_started' && event.runId !== undefined) starts.set(event.runId, event);
    else if (event.kind === 'turn') turns.push(event);
  }
  const chosen =
    'runId' in target
      ? turns.filter((t) => t.runId === target.runId)
      : turns.filter((t) => {
          const parsed = TurnData.safeParse(t.data);
          return parsed.success && parsed.data.plans.some((p) => p.decisions.some((d) => d.action.id === target.decisionId));
        });
  if (chosen.length === 0) {
    throw new NothingToReplayError(
      'runId' in target
        ? starts.has(target.runId)
          ? `run ${target.runId} recorded no decisions to replay`
          : `no run ${target.runId} in the audit trail (\`amk run\` prints run ids; \`amk audit query cost-and-volume-per-run\` lists them)`
        : `no decision ${target.decisionId} in the audit trail (action ids are in \`amk explain ACCOUNT_ID\` and \`amk audit --account ACCOUNT_ID\`)`,
    );
  }
  chosen.sort((a, b) => (a.stream < b.stream ? -1 : a.stream > b.stream ? 1 : a.seq - b.seq));
  const runInputs = new Map<string, RunInputs | AlteredInputsError | undefined>();
  const inputsOfRun = (runId: string): RunInputs | AlteredInputsError | undefined => {
    if (!runInputs.has(runId)) {
      const stored = (starts.get(runId)?.data as { inputs?: { value?: unknown; digest?: unknown } } | undefined)?.inputs;
      let value: RunInputs | AlteredInputsError | undefined;
      if (stored !== undefined) {
        try {
          value = checkedInputs(stored.value, String(stored.digest), RunInputs);
        } catch (err) {
          value = err instanceof AlteredInputsError ? err : new AlteredInputsError(String(err));
        }
      }
      runInputs.set(runId, value);
    }
    return runInputs.get(runId);
  };
  const results = chosen.map((turn): ReplayedTurn => {
    const base = { runId: turn.runId ?? '', accountId: turn.accountId ?? '', stream: turn.stream, seq: turn.seq };
    const recorded = TurnData.parse(turn.data);
    const decisions = recorded.plans.reduce((n, p) => n + p.decisions.length, 0);
    const none = { decisions, differences: [], reservations: 0 };
    const run = inputsOfRun(base.runId);
    if (recorded.input === undefined || run === undefined) return { ...base, ...none, result: 'not_recorded', detail: 'recorded before decisions carried their inputs' };
    if (run instanceof AlteredInputsError) return { ...base, ...none, result: 'altered', detail: `the run's inputs (run_started): ${run.message}` };
    let account: AccountInputs;
    try {
      account = checkedInputs(recorded.input.account.value, recorded.input.account.digest, AccountInputs);
    } catch (err) {
      return { ...base, ...none, result: 'altered', detail: `the account's inputs: ${(err as Error).message}` };
    }
    const expected = decisionInputDigest(String((starts.get(base.runId)?.data as { inputs: { digest: string } }).inputs.digest), recorded.input.account.digest);
    if (expected !== recorded.input.digest) {
      return { ...base, ...none, result: 'altered', detail: `the decision's input digest ${recorded.input.digest.slice(0, 12)}… is not that of the run's and the account's inputs (${expected.slice(0, 12)}…)` };
    }
    const replay = replayTurn(run, account, recorded);
    return { ...base, decisions, result: replay.identical ? 'identical' : 'different', differences: replay.differences, reservations: replay.reservations };
  });
  const replayed = results.filter((r) => r.result === 'identical' || r.result === 'different');
  return {
    ok: results.every((r) => r.result === 'identical'),
    runs: [...new Set(chosen.map((t) => t.runId ?? ''))].sort(),
    turns: results.length,
    decisions: { replayed: replayed.reduce((n, r) => n + r.decisions, 0), identical: results.filter((r) => r.result === 'identical').reduce((n, r) => n + r.decisions, 0) },
    reservations: results.reduce((n, r) => n + r.reservations, 0),
    results,
  };
}

/** The report as lines: a summary, then every turn that did not replay identically. */
export function renderReplay(report: ReplayReport): string[] {
  const lines = [
    `Replayed ${report.turns} turn(s) of ${report.runs.join(', ')}: ${report.decisions.identical} of ${report.decisions.replayed} decision(s) identical` +
      (report.reservations > 0 ? ` (${report.reservations} verdict(s) refused by a shared touch or spend reservation, granted again by the pure checks)` : ''),
  ];
  for (const r of report.results.filter((x) => x.result !== 'identical')) {
    lines.push(`  ${r.result.toUpperCase()}  ${r.stream} seq ${r.seq} (run ${r.runId}, ${r.decisions} decision(s))${r.detail ? `: ${r.detail}` : ''}`);
    for (const d of r.differences) lines.push(`      ${d.path}: recorded ${JSON.stringify(d.recorded)}, replayed ${JSON.stringify(d.replayed)}`);
  }
  lines.push(report.ok ? 'replay: every decision identical' : 'replay: DIFFERENT — the decisions above do not follow from their recorded inputs');
  return lines;
}
