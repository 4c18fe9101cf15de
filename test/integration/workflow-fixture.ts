/**
 * Fixture for workflow tests: a copy of the sample configuration in a temp folder (adjusted per
 * test), and the embedded runtime started on it with its own data folder.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { LocalRuntime, type LocalRuntimeOptions } from '../../local/runtime.ts';
import { SimulatedReviewer, type ReviewerPolicy } from '../../local/reviewer.ts';
import { RunSummary } from '../../shared/app/contracts.ts';
import type { Approval } from '../../shared/domain/model.ts';

/** Edits applied to the copied YAML files (plain text replacements, so the files stay real YAML). */
export interface ConfigEdits {
  readonly [relativeFile: string]: Array<[from: string | RegExp, to: string]>;
}

/** The `when` of the sample nurture charter's one approval rule (answers to blockers' objections). */
export const NURTURE_RULE_WHEN = '{ all: [ { field: action.type, op: eq, value: objection_response }, { field: stakeholder.role, op: eq, value: blocker } ] }';

/** An edit of the nurture charter: every one of its actions needs marketing ops' approval. */
export const EVERY_NURTURE_ACTION: [string, string] = [NURTURE_RULE_WHEN, '{ field: action.costUsd, op: gte, value: 0 }'];

/** Edits of the guardrails that let the agents act every week: quiet hours of one minute. */
export const BUSY_WEEKS: ConfigEdits[string] = [['start: "20:00"\n  end: "07:00"', 'start: "03:00"\n  end: "03:01"']];

/**
 * Edits of the guardrails: an executive briefing at a tier-2 account needs marketing ops alone
 * (one request per action), so a week holds sole approvals of an approver other than the
 * executive agent's.
 */
export const TIER2_BRIEFINGS_NEED_MARKETING_OPS: ConfigEdits[string] = [
  ['when: { field: action.costUsd, op: gt, value: 250 }', 'when: { all: [ { field: account.tier, op: eq, value: 2 }, { field: action.type, op: eq, value: executive_briefing } ] }'],
  ['approvers: [budget-owner@example.com]', 'approvers: [marketing-ops@example.com]'],
];

/** Copies config/ into a temp folder, applies edits, returns the campaign file and a cleanup. */
export function tempConfig(edits: ConfigEdits = {}): { dir: string; campaignFile: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'amk-config-'));
  cpSync(resolve('config'), dir, { recursive: true });
  for (const [file, replacements] of Object.entries(edits)) {
    const path = join(dir, file);
    let text = readFileSync(path, 'utf8');
    for (const [from, to] of replacements) {
      const next = text.replace(from, to);
      if (next === text) throw new Error(`tempConfig: "${String(from)}" not found in ${file}`);
      text = next;
    }
    writeFileSync(path, text);
  }
  return { dir, campaignFile: join(dir, 'campaigns', 'q1-committee-expansion.yaml'), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Starts the embedded runtime on a fresh data folder. */
export async function startTestRuntime(campaignFile: string, options: Partial<LocalRuntimeOptions> = {}): Promise<{ runtime: LocalRuntime; dataDir: string; stop: () => Promise<void> }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'amk-data-'));
  const runtime = await LocalRuntime.start({ campaignFile, dataDir, accounts: 24, seed: 'workflow-test', retryIntervalMs: 0, ...options });
  return {
    runtime,
    dataDir,
    stop: async () => {
      await runtime.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Runs one week with a simulated reviewer following `policy`; returns the run and its counters. */
export async function runWeekWith(runtime: LocalRuntime, policy: Omit<ReviewerPolicy, 'seed'>, seed = 'test') {
  const reviewer = new SimulatedReviewer(runtime.outboxDir, { seed, ...policy }, 10);
  reviewer.start();
  try {
    const result = await runtime.runWeek();
    return { result, counters: RunSummary.parse(result.summary).counters, reviewer };
  } finally {
    await reviewer.stop();
  }
}

/** Every approval request a run made, across its shards. */
export async function approvalsOfRun(runtime: LocalRuntime, runId: string): Promise<Approval[]> {
  const ids = new Set<string>();
  for (let shard = 0; shard < runtime.bundle.campaign.shards; shard++) {
    for (const id of await runtime.deps.approvals.listIdsForRunShard(runId, shard)) ids.add(id);
  }
  const approvals = await Promise.all([...ids].map((id) => runtime.deps.approvals.get(id)));
  return approvals.filter((a): a is Approval => a !== undefined);
}
