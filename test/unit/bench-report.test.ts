/**
 * The bench HTML report: one self-contained document (no script, no URL), a chart per figure,
 * hostile scenario text escaped, and the numbers and warnings a reader must not miss.
 */
import { describe, expect, it } from 'vitest';
import { renderBenchReport } from '../../bench/report-html.ts';
import { POLICY_NAMES, type Interval, type PolicyFigures, type PolicyName, type ScenarioResult } from '../../bench/types.ts';

const iv = (estimate: number, ciLow = estimate, ciHigh = estimate): Interval => ({ estimate, ciLow, ciHigh });

function figures(overrides: Partial<PolicyFigures> = {}): PolicyFigures {
  return {
    progressionsPer100Touches: iv(1.2, 0.9, 1.5),
    progressions: iv(40, 36, 44),
    incrementalProgressions: iv(12, 9, 15),
    touches: iv(1000, 950, 1050),
    accountsAdvanced: iv(0.3, 0.25, 0.35),
    multiThreading: iv(2.1, 1.9, 2.3),
    noDecisionRate: iv(0.45, 0.4, 0.5),
    unsubscribeRate: iv(0.0025, 0.002, 0.003),
    governanceViolations: iv(0),
    approvalsRequested: iv(14, 12, 16),
    blockedShare: iv(0.04, 0.03, 0.05),
    openRate: iv(0.22, 0.2, 0.24),
    clickRate: iv(0.027, 0.024, 0.03),
    replyRate: iv(0.031, 0.028, 0.034),
    stages: { unaware: 20, problem_aware: 18, solution_aware: 10, evaluating: 6, committed: 2, no_decision: 3, closed_lost: 1 },
    progressionByWeek: [3, 7, 12, 18, 25, 31, 36, 40],
    ...overrides,
  };
}

function scenario(overrides: Partial<ScenarioResult> & Pick<ScenarioResult, 'scenario' | 'lift'>): ScenarioResult {
  const policies = Object.fromEntries(POLICY_NAMES.map((p) => [p, figures()])) as Record<PolicyName, PolicyFigures>;
  return {
    file: `local/simulator/scenarios/${overrides.scenario}.yaml`,
    description: 'A mid-market book.',
    seeds: 20,
    accounts: 60,
    weeks: 8,
    policies: {
      ...policies,
      baseline: figures({ progressionsPer100Touches: iv(1.0, 0.8, 1.2) }),
      oracle: figures({ progressionsPer100Touches: iv(2.0, 1.7, 2.3) }),
      none: figures({ progressionsPer100Touches: iv(0), touches: iv(0), progressionByWeek: [2, 4, 6, 8, 10, 12, 14, 16] }),
    },
    oracleShare: iv(0.2, 0.05, 0.35),
    absoluteLift: iv(1.1, 1.0, 1.2),
    touchRatio: iv(0.9, 0.85, 0.95),
    calibration: [],
    elapsedMs: 12_300,
    ...overrides,
  };
}

const credible = scenario({
  scenario: 'default',
  description: 'Mid-market <img onerror=x> book & friends',
  lift: iv(1.18, 1.05, 1.32),
  calibration: [
    { metric: 'nurture click rate', value: 0.026, low: 0.025, high: 0.029, source: 'Mailchimp 2024', ok: true },
    { metric: 'MQL→SQL', value: 0.62, low: 0.13, high: 0.5, source: 'vendor benchmarks', ok: false },
  ],
});

const suspicious = scenario({
  scenario: 'proxy-rich',
  lift: iv(2.6, 2.1, 3.1),
  policies: { ...credible.policies, agent: figures({ governanceViolations: iv(2, 1, 3) }) },
});

const meta = { command: 'npm run bench -- --seeds 20', generatedAt: '2025-01-06T09:00:00.000Z' };
const count = (html: string, needle: string): number => html.split(needle).length - 1;

describe('renderBenchReport', () => {
  const html = renderBenchReport([credible, suspicious], meta);

  it('renders one HTML document with no script and no URL at all', () => {
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(count(html, '<html')).toBe(1);
    expect(count(html, '</html>')).toBe(1);
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/https?:\/\//i);
    expect(html).not.toMatch(/<link|<img|url\(|@import/i);
  });

  it('draws a forest plot, a funnel and a progression chart per scenario, each a balanced svg', () => {
    expect(count(html, '<svg')).toBe(6);
    expect(count(html, '</svg>')).toBe(6);
    for (const chart of html.match(/<svg[\s\S]*?<\/svg>/g) ?? []) {
      expect(chart).toMatch(/^<svg [^>]*viewBox="0 0 \d+ [\d.]+"/);
      expect(chart).not.toMatch(/NaN|undefined|Infinity/);
      for (const name of ['g', 'text', 'title']) expect(count(chart, `<${name}>`) + count(chart, `<${name} `)).toBe(count(chart, `</${name}>`));
    }
  });

  it('escapes a scenario description carrying markup', () => {
    expect(html).not.toContain('<img onerror=x>');
    expect(html).toContain('Mid-market &lt;img onerror=x&gt; book &amp; friends');
  });

  it('shows the lift with its 95% CI, the oracle share, and the verdict in words', () => {
    expect(html).toContain('1.18×');
    expect(html).toContain('[1.05×, 1.32×]');
    expect(html).toContain('20%');
    expect(html).toContain('The agent wins: 18% more progressions per 100 touches than the baseline');
  });

  it('says the agent cannot be told apart from the baseline when the CI contains 1', () => {
    const tie = renderBenchReport([scenario({ scenario: 'null-control', lift: iv(1.02, 0.9, 1.14) })], meta);
    expect(tie).toContain('cannot be told apart from the baseline: the 95% CI [0.90×, 1.14×] contains 1');
    expect(tie).not.toContain('The agent wins');
  });

  it('marks a non-zero governance violation in red and leaves zeros plain', () => {
    const violations = html.match(/<tr><th scope="row">Governance violations[\s\S]*?<\/tr>/g) ?? [];
    expect(violations).toHaveLength(2);
    expect(violations[0]).not.toContain('class="bad"');
    expect(count(violations[1] ?? '', 'class="bad"')).toBe(1);
    expect(violations[1]).toMatch(/<td class="bad"><span class="mark">⚠<\/span> <span class="est">2<\/span> <span class="ci">\[1, 3\]<\/span><\/td>/);
  });

  it('marks an out-of-range calibration row as out of range', () => {
    expect(html).toMatch(/<tr class="bad-row"><th scope="row">MQL→SQL<\/th><td>62%<\/td><td>13% – 50%<\/td><td>vendor benchmarks<\/td><td><span class="out">✗ out of range<\/span>/);
    expect(html).toMatch(/nurture click rate<\/th>.*?✓ in range/);
    expect(count(html, 'Calibration: is the baseline realistic?')).toBe(1);
  });

  it('warns of a simulator artifact only when the lift is above 2', () => {
    expect(count(html, 'points to a simulator artifact')).toBe(1);
    expect(html).toContain('A lift of 2.60× (above 2×) points to a simulator artifact');
    // And says how much of it is the baseline's volume rather than the agent's choices.
    expect(html).toContain('Not per touch, the agent wins 1.10× [1.00×, 1.20×] the baseline');
    const credibleOnly = renderBenchReport([credible], meta);
    expect(credibleOnly).not.toContain('simulator artifact');
    const atTwo = renderBenchReport([scenario({ scenario: 'edge', lift: iv(2, 1.8, 2.2) })], meta);
    expect(atTwo).not.toContain('simulator artifact');
  });

  it('labels opens, clicks and replies as reported, never scored', () => {
    expect(html).toMatch(/<tbody class="unscored"><tr class="group"><th[^>]*>Reported, never scored/);
    const unscored = html.match(/<tbody class="unscored">[\s\S]*?<\/tbody>/)?.[0] ?? '';
    for (const label of ['Open rate', 'Click rate', 'Reply rate']) expect(unscored).toContain(label);
  });

  it('names every policy, the seeds, accounts and weeks, and the command', () => {
    for (const policy of POLICY_NAMES) expect(html).toContain(`</span>${policy}</dt>`);
    expect(html).toContain('20 paired seeds · 60 accounts · 8 weeks per scenario');
    expect(html).toContain('<code>npm run bench -- --seeds 20</code>');
  });
});
