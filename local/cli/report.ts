/**
 * The run report: figures a RevOps lead cares about first (pipeline progression, approvals,
 * what governance blocked and why), what the same runs would cost on AWS, then where to look
 * next. Opens and clicks are never scored.
 */
import { join, relative } from 'node:path';
import { readdirSync } from 'node:fs';
import { RunSummary } from '../../shared/app/contracts.ts';
import { VIRTUAL_SHARDS, localTableName, TABLES, type TableKey } from '../../shared/adapters/dynamodb/tables.ts';
import type { AccountState, Stage } from '../../shared/domain/model.ts';
import { STAGE_ORDER } from '../../shared/domain/model.ts';
import type { LocalRunResult, LocalRuntime } from '../runtime.ts';
import { addCostInputs, estimateCost, SERVICES, type CostEstimate, type CostInputs, type Prices, type Service } from '../../shared/domain/cost.ts';

/** The cost section of the report: the model's answer for the runs, with its inputs. */
export interface CostReport {
  /** USD per 1,000 account-iterations (one account worked in one run); null without any. */
  readonly perThousandAccountIterationsUsd: number | null;
  /** USD per run, on average. */
  readonly perRunUsd: number | null;
  readonly totalUsd: number;
  readonly byService: CostEstimate['byService'];
  /** Each priced quantity (units, price source in config/prices.yaml). */
  readonly lines: CostEstimate['lines'];
  readonly inputs: CostInputs;
  /** DynamoDB units per table over the runs (table and index writes), to see who writes most. */
  readonly dynamodbByTable: Record<string, { readRequestUnits: number; writeRequestUnits: number }>;
  readonly prices: { readonly region: string; readonly currency: string };
  /** What the figures leave out or estimate. */
  readonly notes: readonly string[];
}

const COST_NOTES = [
  'List prices (us-east-1, first tier, no free tier) from config/prices.yaml; no LLM calls in these runs.',
  'Counted: Standard transitions, Express executions and their duration (100 ms steps, 64 MB), Lambda invocations, DynamoDB request units (ReturnConsumedCapacity, plus index writes dynalite does not report), emails, schedules.',
  'Estimated: state-machine log bytes (events per state visited, with the payload sizes the states carried, per each machine\'s logging level) and Lambda platform log lines (~400 B per invocation).',
  'Lambda duration is measured in-process (handlers awaiting dynalite on 127.0.0.1): a proxy, not Lambda\'s own figure.',
  'Not included: storage (DynamoDB, logs), X-Ray traces, data transfer, Secrets Manager, and fixed monthly items.',
];

/** Prices the runs of a report. */
export function costOf(results: readonly LocalRunResult[], prices: Prices): CostReport {
  const estimate = estimateCost(addCostInputs(results.map((r) => r.cost)), prices);
  const byTable: Record<string, { readRequestUnits: number; writeRequestUnits: number }> = {};
  const keyOf = new Map((Object.keys(TABLES) as TableKey[]).map((k) => [localTableName(k), k]));
  for (const r of results) {
    for (const [table, t] of Object.entries(r.usage.capacity.tables)) {
      const name = keyOf.get(table) ?? table;
      const prev = byTable[name] ?? { readRequestUnits: 0, writeRequestUnits: 0 };
      byTable[name] = { readRequestUnits: prev.readRequestUnits + t.readUnits, writeRequestUnits: prev.writeRequestUnits + t.writeUnits + t.indexWriteUnits };
    }
  }
  return {
    perThousandAccountIterationsUsd: estimate.perThousandAccountIterationsUsd,
    perRunUsd: estimate.perRunUsd,
    totalUsd: estimate.totalUsd,
    byService: estimate.byService,
    lines: estimate.lines,
    inputs: estimate.inputs,
    dynamodbByTable: byTable,
    prices: { region: prices.region, currency: prices.currency },
    notes: COST_NOTES,
  };
}

/** Human names of the priced services. */
export const SERVICE_LABELS: Readonly<Record<Service, string>> = {
  stepFunctionsStandard: 'Step Functions Standard',
  stepFunctionsExpress: 'Step Functions Express',
  lambda: 'Lambda',
  dynamodb: 'DynamoDB',
  cloudwatchLogs: 'CloudWatch Logs',
  ses: 'SES',
  scheduler: 'EventBridge Scheduler',
};

/** What `amk run --json` prints. */
export interface CampaignReport {
  readonly campaign: string;
  readonly runs: number;
  readonly runIds: string[];
  readonly accounts: number;
  readonly actions: {
    proposed: number;
    executed: number;
    /** Autonomous actions sent at their people's next business hour rather than at the run's clock (counted in executed once sent). */
    deferred: number;
    needsApproval: number;
    approved: number;
    rejected: number;
    expired: number;
    escalated: number;
    blocked: number;
  };
  readonly blockedBy: Record<string, number>;
  readonly pipeline: { stageAdvances: number; accountsByStage: Partial<Record<Stage, number>>; meanEngagedRoles: number; signals: number };
  readonly stateTransitions: number;
  readonly stateTransitionsByType: { STANDARD: number; EXPRESS: number };
  readonly executions: { STANDARD: number; EXPRESS: number };
  readonly lambdaInvocations: number;
  readonly toolCalls: { failures: number; replayedWithoutResend: number };
  readonly definitionSha256: string;
  readonly childDefinitionSha256: Record<string, string>;
  readonly reviewer: 'simulated' | 'human';
  readonly where: { data: string; outbox: string; emails: number; prospectEmails: number; approvalServer: string; audit: string; report: string; account: string };
  /** What the runs would cost on AWS. */
  readonly cost: CostReport;
  readonly durationMs: number;
}

/** The HTML report of the runs, in the data folder. */
export const RUN_REPORT_FILE = 'report.html';

const sum = (summaries: Array<Record<string, number>>, key: string): number => summaries.reduce((n, c) => n + (c[key] ?? 0), 0);

/** One line per weekly run. */
export function renderRunLine(week: number, r: LocalRunResult): string {
  const c = RunSummary.parse(r.summary).counters;
  const n = (k: string) => c[k] ?? 0;
  return (
    `week ${String(week).padStart(2)}  ${r.now.slice(0, 10)}  ${String(n('accounts')).padStart(4)} accounts · ` +
    `${n('proposed')} proposed · ${n('executed')} executed · ${n('needsApproval')} for approval ` +
    `(${n('approved')} approved, ${n('rejected')} rejected, ${n('expired')} expired) · ${n('blocked')} blocked · ` +
    `${n('stageAdvances')} stage advances seen · ${r.stats.transitions.STANDARD + r.stats.transitions.EXPRESS} transitions`
  );
}

/** Builds the report from the runs and the stored account states (Query per virtual shard, no Scan). */
export async function summarize(
  runtime: LocalRuntime,
  results: LocalRunResult[],
  meta: { startedAt: number; reviewer: 'simulated' | 'human'; decisions: number; prices: Prices },
): Promise<CampaignReport> {
  const counters = results.map((r) => RunSummary.parse(r.summary).counters);
  const blockedBy: Record<string, number> = {};
  for (const c of counters)
    for (const [k, v] of Object.entries(c)) if (k.startsWith('blocked.')) blockedBy[k.slice(8)] = (blockedBy[k.slice(8)] ?? 0) + v;
  const states: AccountState[] = [];
  for (let v = 0; v < VIRTUAL_SHARDS; v++) {
    let cursor: string | undefined;
    do {
      const page = await runtime.deps.accounts.listByShard(v, 100, cursor);
      states.push(...page.items);
      cursor = page.cursor;
    } while (cursor);
  }
  const accountsByStage: Partial<Record<Stage, number>> = {};
  for (const s of states) accountsByStage[s.stage] = (accountsByStage[s.stage] ?? 0) + 1;
  const transitions = results.reduce((t, r) => ({ STANDARD: t.STANDARD + r.stats.transitions.STANDARD, EXPRESS: t.EXPRESS + r.stats.transitions.EXPRESS }), { STANDARD: 0, EXPRESS: 0 });
  const executions = results.reduce((t, r) => ({ STANDARD: t.STANDARD + r.stats.executions.STANDARD, EXPRESS: t.EXPRESS + r.stats.executions.EXPRESS }), { STANDARD: 0, EXPRESS: 0 });
  const children = Object.fromEntries([...runtime.template.stateMachines.values()].filter((sm) => sm.logicalId !== runtime.campaignRun.logicalId).map((sm) => [sm.logicalId, sm.sha256]));
  const rel = (p: string) => relative(process.cwd(), p) || '.';
  return {
    campaign: runtime.bundle.campaign.id,
    runs: results.length,
    runIds: results.map((r) => r.runId),
    accounts: states.length,
    actions: {
      proposed: sum(counters, 'proposed'),
      executed: sum(counters, 'executed'),
      deferred: sum(counters, 'deferred'),
      needsApproval: sum(counters, 'needsApproval'),
      approved: sum(counters, 'approved'),
      rejected: sum(counters, 'rejected'),
      expired: sum(counters, 'expired'),
      escalated: sum(counters, 'escalated'),
      blocked: sum(counters, 'blocked'),
    },
    blockedBy,
    pipeline: {
      stageAdvances: sum(counters, 'stageAdvances'),
      accountsByStage,
      meanEngagedRoles: states.length ? Math.round((states.reduce((n, s) => n + s.engagedRoles.length, 0) / states.length) * 100) / 100 : 0,
      signals: sum(counters, 'signals'),
    },
    stateTransitions: transitions.STANDARD + transitions.EXPRESS,
    stateTransitionsByType: transitions,
    executions,
    lambdaInvocations: results.reduce((n, r) => n + r.stats.lambdaInvocations, 0),
    toolCalls: { failures: sum(counters, 'toolFailures'), replayedWithoutResend: sum(counters, 'replayed') },
    definitionSha256: runtime.campaignRun.sha256,
    childDefinitionSha256: children,
    reviewer: meta.reviewer,
    where: {
      data: rel(runtime.dataDir),
      outbox: rel(runtime.outboxDir),
      emails: readdirSync(runtime.outboxDir).filter((f) => f.endsWith('.eml')).length,
      prospectEmails: readdirSync(join(runtime.outboxDir, 'prospects')).filter((f) => f.endsWith('.eml')).length,
      approvalServer: runtime.approvalUrl,
      report: rel(join(runtime.dataDir, RUN_REPORT_FILE)),
      audit: `npm run amk -- audit --run ${results.at(-1)?.runId ?? '<runId>'}`,
      // An account of this book (an imported one has its CRM's ids).
      account: states.map((a) => a.id).sort()[0] ?? 'acc-0001',
    },
    cost: costOf(results, meta.prices),
    durationMs: Date.now() - meta.startedAt,
  };
}

const bar = (n: number, max: number, width = 24) => '█'.repeat(max ? Math.round((n / max) * width) : 0);

/** The report as text. */
export function renderSummary(r: CampaignReport): string {
  const a = r.actions;
  const lines: string[] = [];
  lines.push('');
  lines.push(`What the agents did over ${r.runs} weekly run${r.runs === 1 ? '' : 's'} (${r.accounts} accounts)`);
  lines.push(`  proposed        ${a.proposed} actions`);
  lines.push(`  executed        ${a.executed}  (autonomous, plus approved ones)`);
  if (a.deferred > 0) lines.push(`  deferred        ${a.deferred}  (quiet hours: sent at their people's next business hour, in executed once sent)`);
  lines.push(`  needed approval ${a.needsApproval}  → approved ${a.approved}, rejected ${a.rejected}, expired ${a.expired}${a.escalated ? `, escalated ${a.escalated}` : ''}` + (r.reviewer === 'simulated' ? '  [decided by the SIMULATED reviewer through the real links]' : ''));
  lines.push(`  blocked         ${a.blocked}  by guardrails:`);
  for (const [g, n] of Object.entries(r.blockedBy).sort((x, y) => y[1] - x[1])) lines.push(`                    ${g.padEnd(20)} ${String(n).padStart(4)}`);
  lines.push('');
  lines.push('Pipeline (what the agents optimize: progression and multi-threading, never opens or clicks)');
  lines.push(`  stage advances observed   ${r.pipeline.stageAdvances}`);
  lines.push(`  engaged roles per account ${r.pipeline.meanEngagedRoles}`);
  const max = Math.max(0, ...Object.values(r.pipeline.accountsByStage).map((n) => n ?? 0));
  for (const stage of [...STAGE_ORDER, 'closed_lost', 'no_decision'] as Stage[]) {
    const n = r.pipeline.accountsByStage[stage];
    if (n) lines.push(`  ${stage.padEnd(15)} ${String(n).padStart(4)} ${bar(n, max)}`);
  }
  lines.push('');
  lines.push('The workflow');
  lines.push(`  ${r.executions.STANDARD} CampaignRun (Standard) + ${r.executions.EXPRESS} AccountBatch (Express) executions, ${r.stateTransitions} state transitions (${r.stateTransitionsByType.STANDARD} Standard), ${r.lambdaInvocations} Lambda invocations`);
  lines.push(`  tool calls that failed: ${r.toolCalls.failures}; retried steps answered from the idempotency store: ${r.toolCalls.replayedWithoutResend}`);
  lines.push(`  definition sha256 ${r.definitionSha256} (the ASL of \`cdk synth\`)`);
  lines.push('');
  lines.push(...renderCost(r.cost, r.accounts));
  lines.push('');
  lines.push('Where to look');
  lines.push(`  report     ${r.where.report}   (open it in a browser: funnel, weeks, pipeline, cost)`);
  lines.push(`  emails     ${r.where.outbox}/ (${r.where.emails} .eml files: approval requests with their links, and run reports)`);
  lines.push(`             ${r.where.outbox}/prospects/ (${r.where.prospectEmails} .eml files: what the agents sent to the market, through the SES connector)`);
  lines.push(`  audit      ${r.where.audit}   (or --account ${r.where.account}; the hash chain is verified)`);
  lines.push(`  why        npm run amk -- explain ${r.where.account}   (one account: every proposal, its verdict and rules, the approval, the result)`);
  lines.push('  verify     npm run amk -- audit verify   (every chain, head and signed run digest) · npm run amk -- audit query   (the named queries)');
  lines.push(`  data       ${r.where.data}/ (dynalite tables, market.json, secrets/) — \`npm start\` starts it afresh`);
  lines.push(`  took       ${(r.durationMs / 1000).toFixed(1)} s`);
  return lines.join('\n');
}

const money = (usd: number): string => (usd >= 0.1 ? `$${usd.toFixed(2)}` : `$${usd.toFixed(4)}`);

/** The cost section as text: the headline, then the services that matter, largest first. */
export function renderCost(c: CostReport, accounts: number): string[] {
  const lines = [`What these runs would cost on AWS (${c.prices.region} list prices, config/prices.yaml; no LLM)`];
  if (c.perThousandAccountIterationsUsd === null || c.perRunUsd === null) return [...lines, '  no account was worked'];
  lines.push(`  ${money(c.perThousandAccountIterationsUsd)} per 1,000 account-iterations · ${money(c.perRunUsd)} per run of ${accounts} accounts`);
  const total = c.totalUsd || 1;
  const ranked = SERVICES.map((s) => [s, c.byService[s]] as const).sort((a, b) => b[1].usd - a[1].usd);
  for (const [service, v] of ranked) {
    const share = v.usd / total;
    if (share < 0.01) continue;
    lines.push(`  ${SERVICE_LABELS[service].padEnd(24)} ${money(v.perThousandAccountIterationsUsd ?? 0).padStart(8)}  ${String(Math.round(share * 100)).padStart(3)}%`);
  }
  const largest = [...c.lines].sort((a, b) => b.usd - a.usd)[0];
  if (largest && largest.usd / total > 0.25) {
    lines.push(`  largest item: ${SERVICE_LABELS[largest.service]}, ${largest.item} (${formatQuantity(largest.quantity, largest.unit)})`);
  }
  lines.push('  (per 1,000 account-iterations; log bytes and Lambda durations are estimates — `--json` shows every input)');
  return lines;
}

const formatQuantity = (q: number, unit: string): string =>
  `${q >= 100 ? Math.round(q).toLocaleString('en-US') : Number(q.toPrecision(3)).toString()} ${unit}`;
