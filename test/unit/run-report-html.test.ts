/**
 * The campaign run report as HTML: one self-contained document (inline SVG, no script, no URL),
 * hostile campaign and guardrail names escaped, and the figures a RevOps lead reads first.
 */
import { describe, expect, it } from 'vitest';
import { BLOCKED_SHARE_WARNING, renderRunReportHtml, type RunReportWeek } from '../../local/cli/run-report-html.ts';
import type { CampaignReport } from '../../local/cli/report.ts';
import { SERVICES, type ServiceCost } from '../../shared/domain/cost.ts';

const serviceCost = (usd: number): ServiceCost => ({ usd, perRunUsd: usd / 3, perThousandAccountIterationsUsd: (usd / 120) * 1000 });

function aReport(overrides: Partial<CampaignReport> = {}): CampaignReport {
  const byService = Object.fromEntries(SERVICES.map((s) => [s, serviceCost(0.0001)])) as Record<(typeof SERVICES)[number], ServiceCost>;
  return {
    campaign: '<b>Spring</b> & push',
    runs: 3,
    runIds: ['run-w1', 'run-w2', 'run-w3'],
    accounts: 40,
    actions: { proposed: 200, executed: 171, deferred: 12, needsApproval: 9, approved: 6, rejected: 2, expired: 1, escalated: 1, blocked: 8 },
    blockedBy: { consent: 5, contact_pressure: 2, 'spend<i>cap': 1 },
    pipeline: { stageAdvances: 9, accountsByStage: { unaware: 18, problem_aware: 12, solution_aware: 6, evaluating: 3, no_decision: 1 }, meanEngagedRoles: 1.75, signals: 64 },
    stateTransitions: 420,
    stateTransitionsByType: { STANDARD: 90, EXPRESS: 330 },
    executions: { STANDARD: 3, EXPRESS: 6 },
    lambdaInvocations: 188,
    toolCalls: { failures: 2, replayedWithoutResend: 1 },
    definitionSha256: 'a'.repeat(64),
    childDefinitionSha256: { WorkflowAccountBatch: 'b'.repeat(64) },
    reviewer: 'simulated',
    where: {
      data: '.data',
      outbox: '.data/outbox',
      emails: 14,
      prospectEmails: 171,
      report: '.data/report.html',
      // The page must not carry it: no URL at all.
      approvalServer: 'http://127.0.0.1:4567',
      audit: 'npm run amk -- audit --run run-w3',
      account: 'acc-0001',
    },
    cost: {
      perThousandAccountIterationsUsd: 0.2125,
      perRunUsd: 0.0085,
      totalUsd: 0.0255,
      byService: { ...byService, ses: serviceCost(0.0185) },
      lines: [{ service: 'ses', item: 'emails', quantity: 185, unit: 'emails', usd: 0.0185 }],
      inputs: {
        runs: 3,
        accountIterations: 120,
        stepFunctions: { standardTransitions: 90, expressRequests: 6, expressBilledMs: 12_000, expressMemoryMb: 64 },
        lambda: [{ name: 'plan', invocations: 18, billedMs: 900, memoryMb: 256, architecture: 'arm64' }],
        dynamodb: { readRequestUnits: 800, writeRequestUnits: 1200 },
        logs: { handlerBytes: 10_000, lambdaPlatformBytes: 75_200, stateMachineBytes: 40_000 },
        emails: 185,
        schedulerInvocations: 3,
      },
      dynamodbByTable: { accounts: { readRequestUnits: 400, writeRequestUnits: 300 } },
      prices: { region: 'us-east-1', currency: 'USD' },
      notes: ['List prices from config/prices.yaml; no LLM calls in these runs.'],
    },
    durationMs: 8_400,
    ...overrides,
  };
}

const WEEKS: readonly RunReportWeek[] = [
  { week: 1, date: '2027-01-04', runId: 'run-w1', counters: { accounts: 40, proposed: 83, executed: 67, deferred: 5, needsApproval: 4, approved: 3, blocked: 7, 'blocked.consent': 5, 'blocked.contact_pressure': 2, stageAdvances: 2, signals: 20 } },
  { week: 2, date: '2027-01-11', runId: 'run-w2', counters: { accounts: 40, proposed: 61, executed: 57, deferred: 4, needsApproval: 3, approved: 2, rejected: 1, blocked: 1, 'blocked.spend<i>cap': 1, stageAdvances: 3, signals: 23 } },
  { week: 3, date: '2027-01-18', runId: 'run-w3', counters: { accounts: 40, proposed: 56, executed: 47, deferred: 3, needsApproval: 2, approved: 1, rejected: 1, expired: 1, stageAdvances: 4, signals: 21 } },
];

const META = { generatedAt: '2027-01-18T15:00:00.000Z', command: 'npm start' };

/** The cells of the per-week table's row for one week, as text. */
function weekRow(html: string, week: number): string[] {
  const table = /<table class="weeks">[\s\S]*?<\/table>/.exec(html)?.[0] ?? '';
  const row = [...table.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((m) => m[1] ?? '').find((r) => r.startsWith(`<th scope="row">${week}</th>`)) ?? '';
  return [...row.matchAll(/<t[hd][^>]*>([\s\S]*?)<\/t[hd]>/g)].map((m) => (m[1] ?? '').replace(/<span class="sub">[\s\S]*?<\/span>/g, '').replace(/<[^>]+>/g, ''));
}

describe('renderRunReportHtml', () => {
  const html = renderRunReportHtml(aReport(), WEEKS, META);

  it('is one HTML document whose charts are inline SVG', () => {
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html.match(/<html/g)).toHaveLength(1);
    expect(html.trimEnd().endsWith('</html>')).toBe(true);
    expect(html.match(/<svg/g)?.length ?? 0).toBeGreaterThanOrEqual(4);
  });

  it('holds no script and no URL, not even the approval server address', () => {
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/http/i);
    expect(html).not.toMatch(/url\(|xmlns|src=|href=/i);
  });

  it('escapes the campaign name and guardrail names from the data', () => {
    expect(html).toContain('&lt;b&gt;Spring&lt;/b&gt; &amp; push');
    expect(html).toContain('spend&lt;i&gt;cap');
    expect(html).not.toMatch(/<b>|<i>/);
  });

  it('shows the blocked share prominently, with each guardrail and its count', () => {
    expect(html).toMatch(/<span class="big">4%<\/span> of proposed actions were blocked by governance \(8 of 200\)/);
    expect(html).toContain('<div class="stat good"><span class="kicker">Blocked</span><span class="big">4%</span>');
    for (const [guardrail, n] of [['consent', 5], ['contact_pressure', 2], ['spend&lt;i&gt;cap', 1]] as const) {
      expect(html).toMatch(new RegExp(`<code>${guardrail}</code></th><td class="num">${n}</td>`));
    }
  });

  it(`warns when more than ${BLOCKED_SHARE_WARNING * 100}% of the proposals were blocked`, () => {
    const many = renderRunReportHtml(aReport({ actions: { ...aReport().actions, blocked: 40 } }), WEEKS, META);
    expect(many).toContain('<div class="stat bad"><span class="kicker">Blocked</span><span class="big">20%</span>');
    expect(many).toContain('governance blocks should be rare');
    expect(html).not.toContain('governance blocks should be rare');
  });

  it('prints every week’s figures in order, with the cumulative stage advances', () => {
    // Week, Date, Proposed, Executed, Blocked, Deferred, Needed approval, Stage advances, Cumulative, Signals, Accounts, Run.
    expect(weekRow(html, 1)).toEqual(['1', '2027-01-04', '83', '67', '7', '5', '4', '2', '2', '20', '40', 'run-w1']);
    expect(weekRow(html, 2)).toEqual(['2', '2027-01-11', '61', '57', '1', '4', '3', '3', '5', '23', '40', 'run-w2']);
    expect(weekRow(html, 3)).toEqual(['3', '2027-01-18', '56', '47', '0', '3', '2', '4', '9', '21', '40', 'run-w3']);
    expect(html).toContain('consent 5, contact_pressure 2');
  });

  it('says what the agents optimize and who reviewed, simulated or human', () => {
    expect(html).toContain('Opens and clicks are never scored');
    expect(html).toContain('Reviewer: SIMULATED');
    const human = renderRunReportHtml(aReport({ reviewer: 'human' }), WEEKS, META);
    expect(human).toContain('Reviewer: human');
    expect(human).not.toContain('SIMULATED');
  });

  it('shows the funnel, the pipeline, the cost and where to look', () => {
    expect(html).toContain('approved 6 · rejected 2 · expired 1 · escalated 1');
    expect(html).toContain('aria-label="&lt;b&gt;Spring&lt;/b&gt; &amp; push: accounts per stage at the end"');
    expect(html).toContain('1.75 of 6 committee roles engaged per account');
    expect(html).toContain('$0.21');
    expect(html).toMatch(/<th scope="row">SES<\/th><td class="num">\$0\.15<\/td>/);
    for (const where of ['.data/', '.data/outbox/', '.data/outbox/prospects/', 'npm run amk -- audit --run run-w3']) expect(html).toContain(`<code>${where}</code>`);
  });
});
