/**
 * The bench report as one self-contained HTML file: inline CSS and inline SVG, no script, no
 * font, no image and no URL, so it opens offline, prints, and survives being mailed around.
 *
 * Pure string rendering from `ScenarioResult`s; every value from the data goes through
 * `escapeHtml`, because scenario names and descriptions come from files anyone can edit.
 */
import { escapeHtml } from '../shared/app/approval-views.ts';
import { STAGE_KEYS, forestPlot, isFiniteInterval, lineChart, stackedBars, type StackKey } from './svg.ts';
import { POLICY_NAMES, type CalibrationRow, type Interval, type PolicyFigures, type PolicyName, type ScenarioResult } from './types.ts';

/** What the report header prints besides the results. */
export interface BenchReportMeta {
  /** The command line that produced the results. */
  readonly command: string;
  /** When the results were produced (ISO). */
  readonly generatedAt: string;
}

interface PolicyStyle {
  readonly color: string;
  readonly dash?: string;
  readonly description: string;
}

/**
 * Okabe–Ito colours (distinguishable with every common colour-vision deficiency), plus a dash
 * per line so the progression chart also reads in greyscale print.
 */
const POLICY_STYLES: Readonly<Record<PolicyName, PolicyStyle>> = {
  agent: { color: '#0072B2', description: 'the product’s agents, through the planner, orchestration and governance' },
  baseline: {
    color: '#E69F00',
    dash: '9 4',
    description:
      'marketing automation as simulator.md describes it: a weekly nurture email to every known contact, an ad audience over all accounts, a lead score from opens and clicks that triggers an MQL and a fixed 5-step SDR sequence, monthly event invites, executives only once an opportunity exists; same tools and governance as the agent',
  },
  random: { color: '#CC79A7', dash: '2 4', description: 'a random choice among the actions governance permits' },
  oracle: { color: '#009E73', dash: '12 4 3 4', description: 'reads the simulator’s hidden state: the upper bound' },
  none: { color: '#6E6E6E', dash: '4 4', description: 'no action at all: the untouched market, the counterfactual every “incremental” figure subtracts' },
};


// ---------------------------------------------------------------------------------------------
// Numbers

/** How a figure is shown: a whole count, a plain number, or a share printed as a percentage. */
type Unit = 'count' | 'number' | 'share';

/** Decimals for a group of values printed together, so an estimate and its bounds line up. */
function decimalsFor(values: readonly number[], unit: Unit): number {
  if (values.every((v) => Number.isInteger(v))) return 0;
  const largest = Math.max(...values.map(Math.abs));
  if (largest >= 100) return 0;
  if (largest >= 10) return unit === 'share' ? 0 : 1;
  if (largest >= 1) return 1;
  return 2;
}

function formatFixed(value: number, decimals: number): string {
  const rounded = Number(value.toFixed(decimals));
  // Rounding can leave -0, which would print as "-0".
  return (rounded === 0 ? 0 : rounded).toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
}

/** An interval's three numbers formatted alike ("n/a" when any is not finite). */
function intervalParts(i: Interval, unit: Unit): { estimate: string; low: string; high: string } {
  if (!isFiniteInterval(i)) return { estimate: 'n/a', low: 'n/a', high: 'n/a' };
  const factor = unit === 'share' ? 100 : 1;
  const suffix = unit === 'share' ? '%' : '';
  const values = [i.estimate, i.ciLow, i.ciHigh].map((v) => v * factor);
  const decimals = decimalsFor(values, unit);
  const [estimate, low, high] = values.map((v) => `${formatFixed(v, decimals)}${suffix}`);
  return { estimate: estimate ?? 'n/a', low: low ?? 'n/a', high: high ?? 'n/a' };
}

/** `estimate [low, high]`, as the figures table and the charts print an interval. */
function formatInterval(i: Interval, unit: Unit): string {
  if (!isFiniteInterval(i)) return 'n/a';
  const { estimate, low, high } = intervalParts(i, unit);
  return `${estimate} [${low}, ${high}]`;
}

/** A lift (a ratio) with two decimals and a times sign: `1.18×`. */
function formatRatio(value: number): string {
  return Number.isFinite(value) ? `${formatFixed(value, 2)}×` : 'n/a';
}

/** Formats an ISO time as `YYYY-MM-DD HH:MM UTC`; anything else is printed as given. */
function formatTime(iso: string): string {
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC` : iso;
}

function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return 'n/a';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${formatFixed(ms / 1000, 1)} s`;
  return `${formatFixed(ms / 60_000, 1)} min`;
}

const plural = (n: number, word: string): string => `${n.toLocaleString('en-US')} ${word}${n === 1 ? '' : 's'}`;

// ---------------------------------------------------------------------------------------------
// Verdicts

/** How the agent compares with the baseline on the primary metric, read from the lift's 95% CI. */
export type Verdict = 'wins' | 'loses' | 'tie' | 'unknown';

/** Wins when the whole CI of the lift is above 1, loses when below, a tie when it contains 1. */
export function verdictOf(lift: Interval): Verdict {
  if (!isFiniteInterval(lift)) return 'unknown';
  if (lift.ciLow > 1) return 'wins';
  if (lift.ciHigh < 1) return 'loses';
  return 'tie';
}

const VERDICT_BADGES: Readonly<Record<Verdict, string>> = {
  wins: 'agent wins',
  loses: 'agent loses',
  tie: 'no clear difference',
  unknown: 'cannot tell',
};

/** The plain sentence under a scenario's headline. */
function verdictSentence(lift: Interval): string {
  const ci = `[${formatRatio(lift.ciLow)}, ${formatRatio(lift.ciHigh)}]`;
  const change = Math.abs(Math.round((lift.estimate - 1) * 100));
  switch (verdictOf(lift)) {
    case 'wins':
      return `The agent wins: ${change}% more progressions per 100 touches than the baseline, and the whole 95% CI ${ci} lies above 1.`;
    case 'loses':
      return `The agent loses: ${change}% fewer progressions per 100 touches than the baseline, and the whole 95% CI ${ci} lies below 1.`;
    case 'tie':
      return `The agent cannot be told apart from the baseline: the 95% CI ${ci} contains 1.`;
    case 'unknown':
      return 'The lift cannot be computed on this scenario (the baseline’s primary metric is zero or missing).';
  }
}

/** Warnings a reader must see before quoting the lift (simulator.md, "Metrics"). */
function liftWarnings(result: ScenarioResult): string[] {
  const warnings: string[] = [];
  if (result.lift.estimate > 2) {
    warnings.push(
      `A lift of ${formatRatio(result.lift.estimate)} (above 2×) points to a simulator artifact rather than a better agent: credible lift over a sensible cadence is +10–30%. Check the scenario before quoting it.`,
    );
    {
      warnings.push(
        `Not per touch, the agent wins ${formatRatio(result.absoluteLift.estimate)} [${formatRatio(result.absoluteLift.ciLow)}, ${formatRatio(result.absoluteLift.ciHigh)}] the baseline's progressions over the untouched market while sending ${formatRatio(result.touchRatio.estimate)} its touches: the rest of the per-touch lift is the baseline's volume of generic touches that move almost nothing.`,
      );
    }
  }
  const verdict = verdictOf(result.lift);
  if (result.scenario === 'null-control' && (verdict === 'wins' || verdict === 'loses')) {
    warnings.push('On null-control every action has the same true effect, so any lift points to a simulator artifact.');
  }
  return warnings;
}

/** The oracle share only means something when the oracle beats the baseline. */
function oracleBeatsBaseline(result: ScenarioResult): boolean {
  return result.policies.oracle.progressionsPer100Touches.estimate > result.policies.baseline.progressionsPer100Touches.estimate;
}

// ---------------------------------------------------------------------------------------------
// Sections

const swatch = (policy: PolicyName): string =>
  `<span class="swatch" style="background:${POLICY_STYLES[policy].color}" aria-hidden="true"></span>`;

const policyName = (policy: PolicyName): string => `${swatch(policy)}${escapeHtml(policy)}`;

/** "20 paired seeds · 60 accounts · 12 weeks" for one scenario. */
function shapeOf(result: ScenarioResult): string {
  return `${plural(result.seeds, 'paired seed')} · ${plural(result.accounts, 'account')} · ${plural(result.weeks, 'week')}`;
}

/** The report header: what was compared, on what, and the command that produced it. */
function header(results: readonly ScenarioResult[], meta: BenchReportMeta): string {
  const shapes = [...new Set(results.map(shapeOf))];
  const shape = shapes.length === 1 ? `${shapes[0] ?? ''} per scenario` : 'seeds, accounts and weeks vary by scenario (see each)';
  const policies = POLICY_NAMES.map(
    (p) => `<div><dt>${policyName(p)}</dt><dd>${escapeHtml(POLICY_STYLES[p].description)}</dd></div>`,
  ).join('');
  return [
    '<header>',
    '<h1>Benchmark: the agent against marketing automation</h1>',
    `<p class="lede">${escapeHtml(plural(results.length, 'scenario'))} of the seeded market simulator · ${escapeHtml(shape)}. Every policy runs on the same seeds, so each comparison is paired; intervals are 95% bootstrap CIs over the seeds.</p>`,
    `<dl class="policies">${policies}</dl>`,
    `<p class="meta">Generated ${escapeHtml(formatTime(meta.generatedAt))} by <code>${escapeHtml(meta.command)}</code></p>`,
    '</header>',
  ].join('\n');
}

const anchorOf = (result: ScenarioResult, index: number): string =>
  `s${index + 1}-${result.scenario.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '')}`;

/** One line per scenario at the top: the lift, the oracle share and the verdict at a glance. */
function summaryTable(results: readonly ScenarioResult[]): string {
  const rows = results.map((r, index) => {
    const verdict = verdictOf(r.lift);
    const flag = r.lift.estimate > 2 ? ' <span class="flag">⚠ above 2×</span>' : '';
    return [
      '<tr>',
      `<th scope="row"><a href="#${anchorOf(r, index)}">${escapeHtml(r.scenario)}</a></th>`,
      `<td>${liftCell(r.lift)}${flag}</td>`,
      `<td>${oracleBeatsBaseline(r) ? intervalCell(r.oracleShare, 'share') : 'n/a'}</td>`,
      `<td><span class="badge ${verdict}">${VERDICT_BADGES[verdict]}</span></td>`,
      '</tr>',
    ].join('');
  });
  return [
    '<section class="summary" aria-label="Summary">',
    '<div class="scroll"><table>',
    '<thead><tr><th scope="col">Scenario</th><th scope="col">Agent ÷ baseline<br><span class="sub">progressions per 100 touches</span></th><th scope="col">Share of the oracle’s lift</th><th scope="col">Verdict</th></tr></thead>',
    `<tbody>${rows.join('')}</tbody>`,
    '</table></div>',
    '</section>',
  ].join('\n');
}

function intervalCell(i: Interval, unit: Unit): string {
  const { estimate, low, high } = intervalParts(i, unit);
  return isFiniteInterval(i) ? `<span class="est">${escapeHtml(estimate)}</span> <span class="ci">[${escapeHtml(low)}, ${escapeHtml(high)}]</span>` : 'n/a';
}

function liftCell(lift: Interval): string {
  return isFiniteInterval(lift)
    ? `<span class="est">${escapeHtml(formatRatio(lift.estimate))}</span> <span class="ci">[${escapeHtml(formatRatio(lift.ciLow))}, ${escapeHtml(formatRatio(lift.ciHigh))}]</span>`
    : 'n/a';
}

/** The scenario's headline: the lift, the oracle share, the verdict and any warning. */
function headline(result: ScenarioResult): string {
  const verdict = verdictOf(result.lift);
  const oracleShare = intervalParts(result.oracleShare, 'share');
  const share = oracleBeatsBaseline(result)
    ? { big: oracleShare.estimate, ci: `95% CI [${oracleShare.low}, ${oracleShare.high}]` }
    : { big: 'n/a', ci: 'the oracle does not beat the baseline here' };
  const warnings = liftWarnings(result).map((w) => `<p class="warn" role="note"><strong>⚠ Warning.</strong> ${escapeHtml(w)}</p>`);
  return [
    `<div class="headline ${verdict}">`,
    '<div class="stats">',
    `<div class="stat"><span class="kicker">Lift over the baseline</span><span class="big">${escapeHtml(formatRatio(result.lift.estimate))}</span><span class="what">the baseline’s progressions per 100 touches</span><span class="ci">95% CI [${escapeHtml(formatRatio(result.lift.ciLow))}, ${escapeHtml(formatRatio(result.lift.ciHigh))}]</span></div>`,
    `<div class="stat"><span class="kicker">Share of the oracle’s lift</span><span class="big">${escapeHtml(share.big)}</span><span class="what">of what the oracle gains over the baseline</span><span class="ci">${escapeHtml(share.ci)}</span></div>`,
    '</div>',
    `<p class="verdict"><span class="badge ${verdict}">${VERDICT_BADGES[verdict]}</span> ${escapeHtml(verdictSentence(result.lift))}</p>`,
    '</div>',
    ...warnings,
  ].join('\n');
}

function figure(title: string, caption: string, chart: string): string {
  return `<figure><h3>${escapeHtml(title)}</h3>${chart}<figcaption>${escapeHtml(caption)}</figcaption></figure>`;
}

/** The primary metric per policy: dot at the mean, whiskers to the 95% CI, a line at the untouched market. */
function primaryMetricPlot(result: ScenarioResult): string {
  const chart = forestPlot(
    POLICY_NAMES.map((p) => ({ label: p, color: POLICY_STYLES[p].color, interval: result.policies[p].progressionsPer100Touches })),
    {
      title: `${result.scenario}: progressions per 100 touches above the untouched market, per policy`,
      axisLabel: 'progressions per 100 touches, above the untouched market',
      formatInterval: (i) => formatInterval(i, 'number'),
      references: [{ value: 0, label: 'untouched market' }],
    },
  );
  return figure(
    'Primary metric',
    'Progressions above the untouched market per 100 touches. Dot: mean over the seeds; whiskers: 95% CI. Right of the line, a policy moves buyers faster than the market does on its own.',
    chart,
  );
}

/** Accounts per stage at the end, one stacked bar per policy on a shared scale. */
function funnelBars(result: ScenarioResult): string {
  const known = new Set(STAGE_KEYS.map((k) => k.key));
  // A stage this report does not know still counts, in neutral grey, rather than vanishing.
  const extra = [...new Set(POLICY_NAMES.flatMap((p) => Object.keys(result.policies[p].stages)))]
    .filter((key) => !known.has(key))
    .sort()
    .map((key): StackKey => ({ key, label: key.replace(/_/g, ' '), color: '#8c8c8c', ink: '#ffffff' }));
  // One set of decimals for every segment, so "24.0" sits next to "16.2" rather than "24".
  const decimals = decimalsFor(POLICY_NAMES.flatMap((p) => Object.values(result.policies[p].stages)), 'number');
  const chart = stackedBars(
    POLICY_NAMES.map((p) => ({ label: p, color: POLICY_STYLES[p].color, values: result.policies[p].stages })),
    [...STAGE_KEYS, ...extra],
    { title: `${result.scenario}: accounts per stage at the end, per policy`, format: (v) => formatFixed(v, decimals) },
  );
  return figure(
    'Funnel at the end',
    `Accounts per true stage after ${plural(result.weeks, 'week')} (mean per seed, ${plural(result.accounts, 'account')} in the book). Darker blue is further along; grey and vermillion are deals that ended without a purchase.`,
    chart,
  );
}

/** Cumulative progressions by week, one line per policy, starting from zero at week 0. */
function progressionChart(result: ScenarioResult): string {
  const weeks = Math.max(0, ...POLICY_NAMES.map((p) => result.policies[p].progressionByWeek.length));
  const chart = lineChart(
    POLICY_NAMES.map((p) => ({
      label: p,
      color: POLICY_STYLES[p].color,
      dash: POLICY_STYLES[p].dash,
      values: [0, ...result.policies[p].progressionByWeek],
    })),
    {
      title: `${result.scenario}: cumulative progressions by week, per policy`,
      xLabel: 'week',
      yLabel: 'cumulative progressions',
      xs: Array.from({ length: weeks + 1 }, (_, i) => i),
    },
  );
  return figure(
    'Progressions over time',
    'Cumulative progressions at the end of each week (mean per seed). The gap between a line and “none” is what the policy added to the market’s own movement.',
    chart,
  );
}

type IntervalKey = { [K in keyof PolicyFigures]: PolicyFigures[K] extends Interval ? K : never }[keyof PolicyFigures];

interface FigureRow {
  readonly key: IntervalKey;
  readonly label: string;
  readonly hint: string;
  readonly unit: Unit;
  /** Any non-zero value is a defect and is highlighted. */
  readonly mustBeZero?: boolean;
}

const SCORED_ROWS: readonly FigureRow[] = [
  { key: 'progressionsPer100Touches', label: 'Progressions per 100 touches', hint: 'primary; above the untouched market', unit: 'number' },
  { key: 'progressions', label: 'Progressions', hint: 'stage moves and accepted meetings, per seed', unit: 'number' },
  { key: 'incrementalProgressions', label: 'Incremental progressions', hint: 'above the untouched market, per seed', unit: 'number' },
  { key: 'touches', label: 'Touches', hint: 'stakeholder deliveries, per seed', unit: 'number' },
  { key: 'accountsAdvanced', label: 'Accounts advanced', hint: 'share ending above their starting stage', unit: 'share' },
  { key: 'multiThreading', label: 'Multi-threading', hint: 'distinct roles engaged per account', unit: 'number' },
  { key: 'noDecisionRate', label: 'No-decision rate', hint: 'share of decided deals', unit: 'share' },
  { key: 'unsubscribeRate', label: 'Unsubscribe rate', hint: 'per email delivered', unit: 'share' },
  { key: 'governanceViolations', label: 'Governance violations', hint: 'must be 0', unit: 'number', mustBeZero: true },
  { key: 'approvalsRequested', label: 'Approvals requested', hint: 'per seed', unit: 'number' },
  { key: 'blockedShare', label: 'Blocked share', hint: 'proposed actions governance blocked', unit: 'share' },
];

const UNSCORED_ROWS: readonly FigureRow[] = [
  { key: 'openRate', label: 'Open rate', hint: 'reported, never scored', unit: 'share' },
  { key: 'clickRate', label: 'Click rate', hint: 'reported, never scored', unit: 'share' },
  { key: 'replyRate', label: 'Reply rate', hint: 'reported, never scored', unit: 'share' },
];

const isNonZero = (i: Interval): boolean => [i.estimate, i.ciLow, i.ciHigh].some((v) => v !== 0);

function figureRow(result: ScenarioResult, row: FigureRow): string {
  const cells = POLICY_NAMES.map((p) => {
    const interval = result.policies[p][row.key];
    return row.mustBeZero === true && isNonZero(interval)
      ? `<td class="bad"><span class="mark">⚠</span> ${intervalCell(interval, row.unit)}</td>`
      : `<td>${intervalCell(interval, row.unit)}</td>`;
  });
  return `<tr><th scope="row">${escapeHtml(row.label)}<span class="sub">${escapeHtml(row.hint)}</span></th>${cells.join('')}</tr>`;
}

/** Every figure per policy, `estimate [low, high]`; proxies in their own group, never scored. */
function figuresTable(result: ScenarioResult): string {
  const head = POLICY_NAMES.map((p) => `<th scope="col">${policyName(p)}</th>`).join('');
  return [
    '<h3>All figures</h3>',
    '<div class="scroll"><table class="figures">',
    `<thead><tr><th scope="col">Mean over the seeds [95% CI]</th>${head}</tr></thead>`,
    `<tbody>${SCORED_ROWS.map((row) => figureRow(result, row)).join('')}</tbody>`,
    `<tbody class="unscored"><tr class="group"><th scope="rowgroup" colspan="${POLICY_NAMES.length + 1}">Reported, never scored: opens, clicks and replies are proxies (opens are inflated by privacy proxies)</th></tr>${UNSCORED_ROWS.map((row) => figureRow(result, row)).join('')}</tbody>`,
    '</table></div>',
  ].join('\n');
}

/** Calibration values are shares when they and their range lie within [0, 1]: printed as percentages. */
function calibrationUnit(row: CalibrationRow): Unit {
  return [row.value, row.low, row.high].every((v) => v >= 0 && v <= 1) ? 'share' : 'number';
}

/** The baseline against published ranges; out-of-range rows are marked in words and colour. */
function calibrationTable(rows: readonly CalibrationRow[]): string {
  if (rows.length === 0) return '';
  const outside = rows.filter((r) => !r.ok).length;
  const summary =
    outside === 0
      ? `All ${rows.length} baseline figures lie in their published ranges.`
      : `${outside} of ${rows.length} baseline figures ${outside === 1 ? 'lies' : 'lie'} outside the published range: a lift measured on this market means less.`;
  const body = rows.map((r) => {
    // One set of decimals for the value and its range, so they compare at a glance.
    const { estimate: value, low, high } = intervalParts({ estimate: r.value, ciLow: r.low, ciHigh: r.high }, calibrationUnit(r));
    const status = r.ok ? '<span class="ok">✓ in range</span>' : '<span class="out">✗ out of range</span>';
    return `<tr class="${r.ok ? '' : 'bad-row'}"><th scope="row">${escapeHtml(r.metric)}</th><td>${escapeHtml(value)}</td><td>${escapeHtml(`${low} – ${high}`)}</td><td>${escapeHtml(r.source)}</td><td>${status}</td></tr>`;
  });
  return [
    '<h3>Calibration: is the baseline realistic?</h3>',
    `<p class="${outside === 0 ? 'note' : 'warn'}">${escapeHtml(summary)}</p>`,
    '<div class="scroll"><table class="calibration">',
    '<thead><tr><th scope="col">Metric</th><th scope="col">Baseline</th><th scope="col">Published range</th><th scope="col">Source</th><th scope="col">Status</th></tr></thead>',
    `<tbody>${body.join('')}</tbody>`,
    '</table></div>',
  ].join('\n');
}

/** Everything about one scenario: headline, the three charts, the figures and calibration. */
function scenarioSection(result: ScenarioResult, index: number): string {
  return [
    `<section class="scenario" id="${anchorOf(result, index)}">`,
    `<h2>${escapeHtml(result.scenario)}</h2>`,
    result.description === '' ? '' : `<p class="desc">${escapeHtml(result.description)}</p>`,
    `<p class="meta">${escapeHtml(shapeOf(result))} · <code>${escapeHtml(result.file)}</code> · ran in ${escapeHtml(formatDuration(result.elapsedMs))}</p>`,
    headline(result),
    '<div class="charts">',
    primaryMetricPlot(result),
    funnelBars(result),
    progressionChart(result),
    '</div>',
    figuresTable(result),
    calibrationTable(result.calibration),
    '</section>',
  ].join('\n');
}

const STYLE = `
:root { color-scheme: light; --ink: #1a1a1a; --muted: #555555; --rule: #dddddd; --bad: #a4161a; --bad-bg: #fdecea; --good: #0b6b2f; --good-bg: #e6f4ea; --tie-bg: #f0f0f0; --note-bg: #eef3fc; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; color: var(--ink); background: #ffffff; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
main { max-width: 920px; margin: 0 auto; padding: 24px 16px 56px; }
h1 { font-size: 1.7rem; line-height: 1.2; margin: 0 0 8px; }
h2 { font-size: 1.4rem; margin: 0 0 4px; }
h3 { font-size: 1.05rem; margin: 28px 0 8px; }
code { font: 0.85em/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: #f4f4f4; padding: 1px 4px; border-radius: 3px; overflow-wrap: anywhere; }
a { color: #0b57d0; }
.lede { font-size: 1.05rem; margin: 0 0 12px; }
.meta { color: var(--muted); font-size: 0.9rem; margin: 4px 0 12px; }
.desc { margin: 4px 0; }
.policies { display: grid; gap: 6px; margin: 0 0 12px; padding: 12px 14px; background: #fafafa; border: 1px solid var(--rule); border-radius: 6px; }
.policies div { display: grid; grid-template-columns: 6.5em 1fr; gap: 8px; }
.policies dt { font-weight: 600; }
.policies dd { margin: 0; color: var(--muted); font-size: 0.95rem; }
.swatch { display: inline-block; width: 0.8em; height: 0.8em; border-radius: 2px; margin-right: 0.35em; vertical-align: -0.05em; }
.summary { margin: 20px 0 8px; }
.scenario { border-top: 3px solid var(--ink); margin-top: 40px; padding-top: 16px; }
.headline { border-radius: 8px; padding: 14px 16px; margin: 12px 0; background: var(--tie-bg); }
.headline.wins { background: var(--good-bg); }
.headline.loses { background: var(--bad-bg); }
.stats { display: flex; flex-wrap: wrap; gap: 12px 40px; }
.stat { display: flex; flex-direction: column; min-width: 12em; }
.stat .kicker { font-size: 0.8rem; font-weight: 700; text-transform: uppercase; letter-spacing: 0.04em; color: var(--muted); }
.stat .big { font-size: 2.4rem; font-weight: 700; line-height: 1.1; font-variant-numeric: tabular-nums; }
.stat .what { font-size: 0.95rem; }
.stat .ci { color: var(--muted); font-size: 0.9rem; font-variant-numeric: tabular-nums; }
.verdict { margin: 12px 0 0; font-size: 1.05rem; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 0.8rem; font-weight: 700; text-transform: uppercase; letter-spacing: 0.03em; background: #dddddd; color: var(--ink); white-space: nowrap; }
.badge.wins { background: var(--good); color: #ffffff; }
.badge.loses { background: var(--bad); color: #ffffff; }
.warn { background: var(--bad-bg); border-left: 4px solid var(--bad); padding: 8px 12px; margin: 8px 0; }
.note { background: var(--note-bg); padding: 8px 12px; margin: 8px 0; }
.flag { color: var(--bad); font-weight: 700; white-space: nowrap; }
figure { margin: 8px 0 20px; break-inside: avoid; page-break-inside: avoid; }
figure svg { display: block; width: 100%; max-width: 640px; height: auto; }
figure svg text { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; }
figcaption { color: var(--muted); font-size: 0.9rem; max-width: 640px; }
.scroll { overflow-x: auto; -webkit-overflow-scrolling: touch; }
table { border-collapse: collapse; font-size: 0.9rem; font-variant-numeric: tabular-nums; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: 6px 8px; border-bottom: 1px solid var(--rule); }
thead th { border-bottom: 2px solid var(--ink); white-space: nowrap; }
.figures td { white-space: nowrap; }
.figures td .ci { display: block; font-size: 0.85em; }
.figures th:first-child { position: sticky; left: 0; z-index: 1; background: #ffffff; min-width: 8.5em; max-width: 13em; white-space: normal; }
.figures .unscored tr.group th { position: static; }
.sub { display: block; color: var(--muted); font-weight: 400; font-size: 0.8rem; }
.est { font-weight: 600; }
.ci { color: var(--muted); }
td.bad { background: var(--bad-bg); color: var(--bad); }
td.bad .ci { color: var(--bad); }
.mark { font-weight: 700; }
.unscored { color: var(--muted); }
.unscored tr.group th { font-style: italic; font-weight: 600; background: #fafafa; border-top: 2px solid var(--rule); }
.calibration .ok { color: var(--good); font-weight: 700; white-space: nowrap; }
.calibration .out { color: var(--bad); font-weight: 700; white-space: nowrap; }
tr.bad-row { background: var(--bad-bg); }
@media print {
  @page { margin: 14mm; }
  body { font-size: 11pt; }
  main { max-width: none; padding: 0; }
  .scenario + .scenario { break-before: page; page-break-before: always; border-top: none; margin-top: 0; }
  .scroll { overflow: visible; }
  a { color: inherit; text-decoration: none; }
  table { font-size: 9pt; }
  h3, thead { break-after: avoid; }
  tr { break-inside: avoid; }
}
`;

/** Renders benchmark results as one self-contained HTML document (no script, no external resource). */
export function renderBenchReport(results: readonly ScenarioResult[], meta: BenchReportMeta): string {
  const body =
    results.length === 0
      ? '<p class="warn">No scenario was run, so there is nothing to compare.</p>'
      : [summaryTable(results), ...results.map(scenarioSection)].join('\n');
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<title>Benchmark: agent vs marketing automation</title>',
    `<style>${STYLE}</style>`,
    '</head>',
    '<body><main>',
    header(results, meta),
    body,
    '</main></body>',
    '</html>',
    '',
  ].join('\n');
}
