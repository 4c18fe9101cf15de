/**
 * The campaign run report as one self-contained HTML file, the picture of what `renderSummary`
 * prints: inline CSS and inline SVG (the bench's chart helpers), no script, no font, no image and
 * no URL, so it opens offline, prints, and survives being mailed around.
 *
 * Pure string rendering from a `CampaignReport` and each weekly run's counters. Every value from
 * the data goes through `escapeHtml` (campaign ids, guardrail names and paths come from files
 * anyone can edit); the chart helpers escape the labels they are given, so those get raw text.
 * The approval server's address is left out on purpose: the page holds no URL at all.
 */
import { escapeHtml } from '../../shared/app/approval-views.ts';
import { SERVICES, type Service } from '../../shared/domain/cost.ts';
import { CommitteeRole, STAGE_ORDER, type Stage } from '../../shared/domain/model.ts';
import { STAGE_KEYS, lineChart, stackedBars, type StackKey } from '../../bench/svg.ts';
import { SERVICE_LABELS, type CampaignReport } from './report.ts';

/** One weekly run as `renderRunLine` sees it: its counters from the run's `RunSummary`. */
export interface RunReportWeek {
  readonly week: number;
  /** The run's clock (a date or an ISO time), printed as given. */
  readonly date: string;
  readonly runId: string;
  readonly counters: Readonly<Record<string, number>>;
}

/** What the report header prints besides the figures. */
export interface RunReportMeta {
  /** When the report was produced (ISO). */
  readonly generatedAt: string;
  /** The command line that produced the runs. */
  readonly command: string;
}

/**
 * Above this share of proposals blocked, the report warns: governance blocks should be rare, and
 * many of them mean the planners keep proposing what the guardrails forbid (wasted turns).
 */
export const BLOCKED_SHARE_WARNING = 0.05;

// ---------------------------------------------------------------------------------------------
// Numbers

const count = (n: number): string => (Number.isFinite(n) ? n.toLocaleString('en-US') : 'n/a');

/** A share as a percentage: one decimal below 10% (so 0.4% does not read 0%), none above. */
function percent(share: number): string {
  if (!Number.isFinite(share)) return 'n/a';
  const pct = share * 100;
  if (pct === 0) return '0%';
  return `${pct.toLocaleString('en-US', { maximumFractionDigits: pct < 10 ? 1 : 0 })}%`;
}

/** Dollars with the decimals a figure needs: cents from $0.10 up, four decimals below. */
function money(usd: number | null): string {
  if (usd === null || !Number.isFinite(usd)) return 'n/a';
  if (usd === 0) return '$0';
  if (usd < 0.0001) return '< $0.0001';
  return usd >= 0.1 ? `$${usd.toFixed(2)}` : `$${usd.toFixed(4)}`;
}

/** Formats an ISO time as `YYYY-MM-DD HH:MM UTC`; anything else is printed as given. */
function formatTime(iso: string): string {
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC` : iso;
}

function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return 'n/a';
  return ms < 1000 ? `${Math.round(ms)} ms` : ms < 120_000 ? `${(ms / 1000).toFixed(1)} s` : `${(ms / 60_000).toFixed(1)} min`;
}

const plural = (n: number, word: string): string => `${count(n)} ${word}${n === 1 ? '' : 's'}`;

/** The share of proposed actions governance blocked (NaN when nothing was proposed). */
const blockedShareOf = (r: CampaignReport): number => (r.actions.proposed > 0 ? r.actions.blocked / r.actions.proposed : Number.NaN);

const humanize = (id: string): string => id.replace(/_/g, ' ');

// ---------------------------------------------------------------------------------------------
// Colours: Okabe–Ito, as the bench report, so both read with every common colour-vision deficiency.

const ROUTE_KEYS: readonly StackKey[] = [
  { key: 'proposed', label: 'proposed', color: '#bdbdbd', ink: '#1a1a1a' },
  { key: 'atOnce', label: 'autonomous, sent at once', color: '#0072B2', ink: '#ffffff' },
  { key: 'deferred', label: 'deferred to business hours', color: '#56B4E9', ink: '#1a1a1a' },
  { key: 'needsApproval', label: 'needed approval', color: '#E69F00', ink: '#1a1a1a' },
  { key: 'blocked', label: 'blocked', color: '#D55E00', ink: '#1a1a1a' },
  { key: 'approved', label: 'approved', color: '#009E73', ink: '#1a1a1a' },
  { key: 'rejected', label: 'rejected', color: '#CC79A7', ink: '#1a1a1a' },
  { key: 'expired', label: 'expired', color: '#8c8c8c', ink: '#1a1a1a' },
  { key: 'undecided', label: 'undecided', color: '#e8e8e8', ink: '#1a1a1a' },
  { key: 'executed', label: 'executed', color: '#3a3a3a', ink: '#ffffff' },
];


const COLOURS = { executed: '#0072B2', blocked: '#D55E00', advances: '#009E73', cumulative: '#08519c' } as const;

// ---------------------------------------------------------------------------------------------
// Building blocks

function figure(title: string, caption: string, chart: string): string {
  return `<figure><h3>${escapeHtml(title)}</h3>${chart}<figcaption>${escapeHtml(caption)}</figcaption></figure>`;
}

/** A headline figure: a kicker, the big number, and a line saying what it counts. */
function stat(kicker: string, big: string, what: string, tone = ''): string {
  return `<div class="stat${tone ? ` ${tone}` : ''}"><span class="kicker">${escapeHtml(kicker)}</span><span class="big">${escapeHtml(big)}</span><span class="what">${escapeHtml(what)}</span></div>`;
}

/** A horizontal bar in CSS (for rows whose labels are too long for an SVG axis), `share` of the track. */
function meter(share: number, color: string): string {
  const width = Number.isFinite(share) ? Math.max(0, Math.min(100, share * 100)) : 0;
  // Any value, however small, keeps a sliver, so a row never looks like zero when it is not.
  const shown = width > 0 ? Math.max(width, 0.6) : 0;
  return `<span class="track" aria-hidden="true"><span class="fill" style="width:${shown.toFixed(1)}%;background:${color}"></span></span>`;
}

/** Rows of label, count and bar, largest first, on one scale. */
function barTable(rows: readonly { label: string; value: number; note?: string }[], color: string, head: readonly [string, string, string]): string {
  const max = Math.max(0, ...rows.map((r) => r.value));
  const body = rows.map(
    (r) =>
      `<tr><th scope="row"><code>${escapeHtml(r.label)}</code></th><td class="num">${escapeHtml(count(r.value))}</td><td class="bar">${meter(max > 0 ? r.value / max : 0, color)}${r.note ? `<span class="sub">${escapeHtml(r.note)}</span>` : ''}</td></tr>`,
  );
  return `<table class="bars"><thead><tr>${head.map((h) => `<th scope="col">${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>${body.join('')}</tbody></table>`;
}

// ---------------------------------------------------------------------------------------------
// Sections

function header(r: CampaignReport, weeks: readonly RunReportWeek[], meta: RunReportMeta): string {
  const first = weeks[0]?.date;
  const last = weeks.at(-1)?.date;
  const span = first !== undefined && last !== undefined ? ` · ${first === last ? first : `${first} to ${last}`}` : '';
  const reviewer =
    r.reviewer === 'simulated'
      ? '<p class="reviewer simulated"><span class="badge simulated">Reviewer: SIMULATED</span> Approvals were decided by a simulated reviewer that follows each emailed link (it opens the page and posts the form). No person reviewed these actions.</p>'
      : '<p class="reviewer human"><span class="badge human">Reviewer: human</span> Approvals were decided by people, through the links in the approval emails.</p>';
  return [
    '<header>',
    `<p class="kicker">Campaign run report</p>`,
    `<h1>${escapeHtml(r.campaign)}</h1>`,
    `<p class="lede">${escapeHtml(plural(r.runs, 'weekly run'))} · ${escapeHtml(plural(r.accounts, 'account'))}${escapeHtml(span)}</p>`,
    '<p class="goal"><strong>What the agents optimize:</strong> pipeline progression (accounts moving forward a buying stage) and multi-threading (more roles of each buying committee engaged). Opens and clicks are never scored.</p>',
    reviewer,
    `<p class="meta">Generated ${escapeHtml(formatTime(meta.generatedAt))} by <code>${escapeHtml(meta.command)}</code> · the runs took ${escapeHtml(formatDuration(r.durationMs))}</p>`,
    '</header>',
  ].join('\n');
}

function headlineStats(r: CampaignReport): string {
  const share = blockedShareOf(r);
  const roles = CommitteeRole.options.length;
  return [
    '<section class="headline" aria-label="Headline figures"><div class="stats">',
    stat('Stage advances', count(r.pipeline.stageAdvances), `accounts moving forward a stage over ${plural(r.runs, 'run')}`),
    stat('Engaged roles', String(r.pipeline.meanEngagedRoles), `per account, of ${roles} committee roles`),
    stat('Executed', count(r.actions.executed), `of ${count(r.actions.proposed)} proposed actions`),
    stat('Blocked', percent(share), `of proposals blocked by governance (${count(r.actions.blocked)})`, share > BLOCKED_SHARE_WARNING ? 'bad' : 'good'),
    stat('Cost', money(r.cost.perThousandAccountIterationsUsd), 'per 1,000 account-iterations on AWS'),
    '</div></section>',
  ].join('\n');
}

/** Proposed → how governance routed each action → what approvals decided → executed, on one scale. */
function actionsSection(r: CampaignReport): string {
  const a = r.actions;
  const atOnce = Math.max(0, a.proposed - a.deferred - a.needsApproval - a.blocked);
  // An expiry under a reject rule counts as rejected and expired both, hence the floor at zero.
  const undecided = Math.max(0, a.needsApproval - a.approved - a.rejected - a.expired);
  const chart = stackedBars(
    [
      { label: 'proposed', values: { proposed: a.proposed } },
      { label: 'routed', values: { atOnce, deferred: a.deferred, needsApproval: a.needsApproval, blocked: a.blocked } },
      { label: 'approvals', values: { approved: a.approved, rejected: a.rejected, expired: a.expired, undecided } },
      { label: 'executed', values: { executed: a.executed } },
    ],
    ROUTE_KEYS,
    { title: `${r.campaign}: actions proposed, routed by governance, decided and executed`, format: count },
  );
  const share = blockedShareOf(r);
  const warn = share > BLOCKED_SHARE_WARNING;
  const guardrails = Object.entries(r.blockedBy).sort((x, y) => y[1] - x[1] || x[0].localeCompare(y[0]));
  const blockedBody =
    guardrails.length === 0
      ? `<p class="note">${a.blocked === 0 ? 'No proposed action was blocked.' : `${escapeHtml(count(a.blocked))} blocked, with no guardrail recorded.`}</p>`
      : barTable(
          guardrails.map(([g, n]) => ({ label: g, value: n, note: a.blocked > 0 ? `${percent(n / a.blocked)} of blocks` : '' })),
          '#D55E00',
          ['Guardrail', 'Blocked', ''],
        );
  const approvalDetail = [
    `approved ${count(a.approved)}`,
    `rejected ${count(a.rejected)}`,
    `expired ${count(a.expired)}`,
    `escalated ${count(a.escalated)}`,
    ...(undecided > 0 ? [`undecided ${count(undecided)}`] : []),
  ].join(' · ');
  const rows: readonly [string, string, string][] = [
    ['Proposed', count(a.proposed), 'actions the agents planned'],
    ['Executed', count(a.executed), 'autonomous ones (deferred ones once sent) plus approved ones'],
    ['Deferred', count(a.deferred), 'autonomous, sent at their people’s next business hour (quiet hours defer, they do not block)'],
    ['Needed approval', count(a.needsApproval), approvalDetail + (r.reviewer === 'simulated' ? ' · decided by the SIMULATED reviewer' : '')],
    ['Blocked', count(a.blocked), `${percent(share)} of proposed, by a guardrail`],
  ];
  return [
    '<section id="actions">',
    '<h2>What the agents did</h2>',
    '<div class="split">',
    figure(
      'The actions funnel',
      'Every proposed action is routed once: sent at once, deferred to business hours, sent for approval, or blocked. Executed counts what reached the market: autonomous actions (deferred ones once sent) and approved ones.',
      chart,
    ),
    `<table class="figures"><tbody>${rows.map(([k, v, hint]) => `<tr><th scope="row">${escapeHtml(k)}</th><td class="num">${escapeHtml(v)}</td><td class="hint">${escapeHtml(hint)}</td></tr>`).join('')}</tbody></table>`,
    '</div>',
    `<div class="blocked ${warn ? 'bad' : 'good'}">`,
    `<p class="share"><span class="big">${escapeHtml(percent(share))}</span> of proposed actions were blocked by governance (${escapeHtml(count(a.blocked))} of ${escapeHtml(count(a.proposed))}).</p>`,
    `<p>${
      warn
        ? `⚠ Above ${escapeHtml(percent(BLOCKED_SHARE_WARNING))}: governance blocks should be rare. The planners are proposing many actions the guardrails forbid; the guardrails below say which rules they run into.`
        : `At or below ${escapeHtml(percent(BLOCKED_SHARE_WARNING))}: governance blocks are rare, as they should be.`
    }</p>`,
    '<h3>Blocked, by guardrail</h3>',
    blockedBody,
    '</div>',
    '</section>',
  ].join('\n');
}

const sortedWeeks = (weeks: readonly RunReportWeek[]): RunReportWeek[] => [...weeks].sort((x, y) => x.week - y.week);

const counter = (w: RunReportWeek, key: string): number => w.counters[key] ?? 0;

function cumulative(values: readonly number[]): number[] {
  let total = 0;
  return values.map((v) => (total += v));
}

/** Per week: two charts (actions, stage advances) and every counter in a table. */
function weeksSection(r: CampaignReport, weeks: readonly RunReportWeek[]): string {
  if (weeks.length === 0) return '<section id="weeks"><h2>Week by week</h2><p class="note">No weekly run to show.</p></section>';
  const xs = weeks.map((w) => w.week);
  const advances = weeks.map((w) => counter(w, 'stageAdvances'));
  const running = cumulative(advances);
  const actions = lineChart(
    [
      { label: 'executed', color: COLOURS.executed, values: weeks.map((w) => counter(w, 'executed')) },
      { label: 'blocked', color: COLOURS.blocked, dash: '9 4', values: weeks.map((w) => counter(w, 'blocked')) },
    ],
    { title: `${r.campaign}: actions executed and blocked per week`, xLabel: 'week', yLabel: 'actions', xs },
  );
  const progress = lineChart(
    [
      { label: 'stage advances that week', color: COLOURS.advances, dash: '9 4', values: advances },
      { label: 'cumulative stage advances', color: COLOURS.cumulative, values: running },
    ],
    { title: `${r.campaign}: stage advances per week and cumulative`, xLabel: 'week', yLabel: 'stage advances', xs },
  );
  // The columns a reader scans first come first; the long run id goes last, where scrolling hides it.
  const columns = ['Week', 'Date', 'Proposed', 'Executed', 'Blocked', 'Deferred', 'Needed approval', 'Stage advances', 'Cumulative', 'Signals', 'Accounts', 'Run'];
  const guardrailsOf = (w: RunReportWeek, prefix: string): string[] =>
    Object.entries(w.counters)
      .filter(([k, v]) => k.startsWith(prefix) && v > 0)
      .sort((x, y) => y[1] - x[1] || x[0].localeCompare(y[0]))
      .map(([k, v]) => `${k.slice(prefix.length)} ${count(v)}`);
  const num = (value: number, sub = '', cls = ''): string =>
    `<td class="num${cls}">${escapeHtml(count(value))}${sub ? `<span class="sub">${escapeHtml(sub)}</span>` : ''}</td>`;
  const body = weeks.map((w, i) => {
    const by = guardrailsOf(w, 'blocked.');
    // Approved actions a changed guardrail stopped at send time: governance too, shown beside the blocks.
    const atSend = guardrailsOf(w, 'blockedAtSend.');
    const blockedSub = [by.join(', '), counter(w, 'blockedAtSend') > 0 ? `at send: ${atSend.length > 0 ? atSend.join(', ') : count(counter(w, 'blockedAtSend'))}` : '']
      .filter((part) => part !== '')
      .join('; ');
    const decided = counter(w, 'needsApproval') > 0 || counter(w, 'approved') + counter(w, 'rejected') + counter(w, 'expired') > 0;
    return [
      '<tr>',
      `<th scope="row">${escapeHtml(w.week)}</th>`,
      `<td>${escapeHtml(w.date)}</td>`,
      num(counter(w, 'proposed')),
      num(counter(w, 'executed')),
      num(counter(w, 'blocked'), blockedSub, counter(w, 'blocked') > 0 ? ' blocked-cell' : ''),
      num(counter(w, 'deferred')),
      num(counter(w, 'needsApproval'), decided ? `${count(counter(w, 'approved'))} approved · ${count(counter(w, 'rejected'))} rejected · ${count(counter(w, 'expired'))} expired` : ''),
      num(advances[i] ?? 0),
      num(running[i] ?? 0),
      num(counter(w, 'signals')),
      num(counter(w, 'accounts')),
      `<td><code>${escapeHtml(w.runId)}</code></td>`,
      '</tr>',
    ].join('');
  });
  return [
    '<section id="weeks">',
    '<h2>Week by week</h2>',
    '<div class="charts">',
    figure('Executed and blocked', 'Actions that reached the market each week, and the ones governance blocked.', actions),
    figure('Stage advances', 'Accounts seen moving forward a buying stage each week (dashed), and their running total (solid): the progression the agents are scored on.', progress),
    '</div>',
    '<div class="scroll"><table class="weeks">',
    `<thead><tr>${columns.map((c) => `<th scope="col">${escapeHtml(c)}</th>`).join('')}</tr></thead>`,
    `<tbody>${body.join('')}</tbody>`,
    '</table></div>',
    '</section>',
  ].join('\n');
}

function pipelineSection(r: CampaignReport): string {
  const byStage = r.pipeline.accountsByStage;
  const known = new Set<string>(STAGE_KEYS.map((k) => k.key));
  // A stage this report does not know still counts, in neutral grey, rather than vanishing.
  const extra = Object.keys(byStage)
    .filter((k) => !known.has(k))
    .sort()
    .map((key): StackKey => ({ key, label: humanize(key), color: '#8c8c8c', ink: '#ffffff' }));
  const keys = [...STAGE_KEYS, ...extra];
  const values: Record<string, number> = {};
  for (const [k, v] of Object.entries(byStage)) values[k] = v ?? 0;
  const total = Object.values(values).reduce((n, v) => n + v, 0);
  const chart = stackedBars([{ label: 'accounts', values }], keys, { title: `${r.campaign}: accounts per stage at the end`, format: count });
  const stages: string[] = [...STAGE_ORDER, ...(['no_decision', 'closed_lost'] satisfies Stage[]), ...extra.map((k) => k.key)];
  const rows = stages
    .map((s) => ({ stage: s, n: values[s] ?? 0, color: keys.find((k) => k.key === s)?.color ?? '#8c8c8c' }))
    .map(
      ({ stage, n, color }) =>
        `<tr><th scope="row"><span class="swatch" style="background:${color}" aria-hidden="true"></span>${escapeHtml(humanize(stage))}</th><td class="num">${escapeHtml(count(n))}</td><td class="num">${escapeHtml(total > 0 ? percent(n / total) : 'n/a')}</td></tr>`,
    );
  const roles = CommitteeRole.options.length;
  return [
    '<section id="pipeline">',
    '<h2>The pipeline</h2>',
    `<p>${escapeHtml(plural(r.pipeline.stageAdvances, 'stage advance'))} over ${escapeHtml(plural(r.runs, 'run'))} · ${escapeHtml(plural(r.pipeline.signals, 'buying signal'))} observed</p>`,
    `<p class="meter-line"><strong>Multi-threading</strong> ${meter(r.pipeline.meanEngagedRoles / roles, '#0072B2')} <span class="sub">${escapeHtml(r.pipeline.meanEngagedRoles)} of ${roles} committee roles engaged per account, at the end</span></p>`,
    '<div class="split">',
    figure(
      'Accounts by stage at the end',
      `Where the ${plural(total, 'account')} stand after the last run. Darker blue is further along; grey and vermillion are deals that ended without a purchase.`,
      chart,
    ),
    `<table class="stages"><thead><tr><th scope="col">Stage</th><th scope="col" class="num">Accounts</th><th scope="col" class="num">Share</th></tr></thead><tbody>${rows.join('')}</tbody></table>`,
    '</div>',
    '</section>',
  ].join('\n');
}

function workflowSection(r: CampaignReport): string {
  const c = r.cost;
  const ranked = SERVICES.map((s): [Service, number, number | null] => [s, c.byService[s].usd, c.byService[s].perThousandAccountIterationsUsd]).sort((x, y) => y[1] - x[1]);
  const total = c.totalUsd;
  const serviceRows = ranked.map(
    ([s, usd, perThousand]) =>
      `<tr><th scope="row">${escapeHtml(SERVICE_LABELS[s])}</th><td class="num">${escapeHtml(money(perThousand))}</td><td class="bar">${meter(total > 0 ? usd / total : 0, '#0072B2')}<span class="sub">${escapeHtml(total > 0 ? percent(usd / total) : '')}</span></td></tr>`,
  );
  const lines = [...c.lines]
    .sort((x, y) => y.usd - x.usd)
    .map(
      (l) =>
        `<tr><th scope="row">${escapeHtml(SERVICE_LABELS[l.service])}</th><td>${escapeHtml(l.item)}</td><td class="num">${escapeHtml(Number(l.quantity.toPrecision(4)).toLocaleString('en-US'))} ${escapeHtml(l.unit)}</td><td class="num">${escapeHtml(money(l.usd))}</td></tr>`,
    );
  return [
    '<section id="workflow">',
    '<h2>The workflow and what it would cost</h2>',
    '<div class="stats">',
    stat('Executions', count(r.executions.STANDARD + r.executions.EXPRESS), `${count(r.executions.STANDARD)} CampaignRun (Standard) + ${count(r.executions.EXPRESS)} AccountBatch (Express)`),
    stat('State transitions', count(r.stateTransitions), `${count(r.stateTransitionsByType.STANDARD)} Standard, ${count(r.stateTransitionsByType.EXPRESS)} Express`),
    stat('Lambda invocations', count(r.lambdaInvocations), `${count(r.toolCalls.failures)} failed tool calls; ${count(r.toolCalls.replayedWithoutResend)} retried steps answered from the idempotency store`),
    '</div>',
    `<p class="meta">State machine definition sha256 <code>${escapeHtml(r.definitionSha256)}</code> (the ASL of <code>cdk synth</code>)</p>`,
    `<h3>Cost on AWS (${escapeHtml(c.prices.region)} list prices, ${escapeHtml(c.prices.currency)})</h3>`,
    '<div class="stats">',
    stat('Per 1,000 account-iterations', money(c.perThousandAccountIterationsUsd), 'one account worked in one run'),
    stat('Per run', money(c.perRunUsd), `of ${plural(r.accounts, 'account')}`),
    stat('Total', money(c.totalUsd), `for the ${plural(r.runs, 'run')}`),
    '</div>',
    `<table class="bars"><thead><tr><th scope="col">Service</th><th scope="col">Per 1,000 account-iterations</th><th scope="col">Share of the cost</th></tr></thead><tbody>${serviceRows.join('')}</tbody></table>`,
    lines.length === 0
      ? ''
      : `<details><summary>Every priced quantity</summary><div class="scroll"><table class="figures"><thead><tr><th scope="col">Service</th><th scope="col">Item</th><th scope="col">Quantity</th><th scope="col">USD</th></tr></thead><tbody>${lines.join('')}</tbody></table></div></details>`,
    c.notes.length === 0 ? '' : `<ul class="notes">${c.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('')}</ul>`,
    '</section>',
  ].join('\n');
}

function whereSection(r: CampaignReport): string {
  const w = r.where;
  const rows: readonly [string, string, string][] = [
    ['Data folder', `${w.data}/`, 'dynalite tables, market.json, secrets/ (npm start starts it afresh)'],
    ['Outbox', `${w.outbox}/`, `${plural(w.emails, '.eml file')}: approval requests with their links, and run reports`],
    ['Sent to the market', `${w.outbox}/prospects/`, `${plural(w.prospectEmails, '.eml file')}: what the agents sent, through the SES connector`],
    ['Audit trail', w.audit, 'or --account acc-0001; the hash chain is verified'],
    ['Why', 'npm run amk -- explain acc-0001', 'one account: every proposal, its verdict and rules, the approval, the result'],
    ['Tamper check', 'npm run amk -- audit verify', 'every chain, head and signed run digest; `audit query` runs the named queries'],
  ];
  return [
    '<section id="where">',
    '<h2>Where to look</h2>',
    `<dl class="where">${rows.map(([k, v, hint]) => `<div><dt>${escapeHtml(k)}</dt><dd><code>${escapeHtml(v)}</code><span class="sub">${escapeHtml(hint)}</span></dd></div>`).join('')}</dl>`,
    r.runIds.length === 0 ? '' : `<p class="meta">Runs: ${r.runIds.map((id) => `<code>${escapeHtml(id)}</code>`).join(' ')}</p>`,
    '</section>',
  ].join('\n');
}

// Deliberately a small sheet of its own: the bench report's one is private to it and carries
// rules (verdicts, forest plots, calibration) this page does not use. Same look, same fonts.
const STYLE = `
:root { color-scheme: light; --ink: #1a1a1a; --muted: #555555; --rule: #dddddd; --bad: #a4161a; --bad-bg: #fdecea; --good: #0b6b2f; --good-bg: #e6f4ea; --note-bg: #eef3fc; --sim: #7a4d00; --sim-bg: #fff4dc; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; color: var(--ink); background: #ffffff; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
main { max-width: 1000px; margin: 0 auto; padding: 24px 16px 56px; }
h1 { font-size: 1.8rem; line-height: 1.2; margin: 0 0 6px; overflow-wrap: anywhere; }
h2 { font-size: 1.35rem; margin: 0 0 8px; }
h3 { font-size: 1.05rem; margin: 20px 0 8px; }
section { border-top: 3px solid var(--ink); margin-top: 32px; padding-top: 14px; }
section.headline { border-top: none; margin-top: 12px; padding-top: 0; }
code { font: 0.85em/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: #f4f4f4; padding: 1px 4px; border-radius: 3px; overflow-wrap: anywhere; }
.kicker { font-size: 0.8rem; font-weight: 700; text-transform: uppercase; letter-spacing: 0.04em; color: var(--muted); margin: 0; }
.lede { font-size: 1.1rem; margin: 0 0 10px; }
.goal { background: var(--note-bg); padding: 8px 12px; border-radius: 6px; margin: 8px 0; }
.reviewer { padding: 8px 12px; border-radius: 6px; margin: 8px 0; }
.reviewer.simulated { background: var(--sim-bg); border-left: 4px solid var(--sim); }
.reviewer.human { background: #f4f4f4; border-left: 4px solid var(--ink); }
.badge { display: inline-block; padding: 1px 8px; margin-right: 6px; border-radius: 999px; font-size: 0.8rem; font-weight: 700; text-transform: uppercase; letter-spacing: 0.03em; white-space: nowrap; }
.badge.simulated { background: var(--sim); color: #ffffff; }
.badge.human { background: var(--ink); color: #ffffff; }
.meta { color: var(--muted); font-size: 0.9rem; margin: 4px 0 12px; }
.stats { display: flex; flex-wrap: wrap; gap: 12px; margin: 8px 0 12px; }
.stat { display: flex; flex-direction: column; flex: 1 1 10em; min-width: 10em; padding: 10px 12px; border: 1px solid var(--rule); border-radius: 8px; }
.stat.good { background: var(--good-bg); border-color: var(--good); }
.stat.bad { background: var(--bad-bg); border-color: var(--bad); }
.stat.bad .big { color: var(--bad); }
.stat .big, .blocked .big { font-size: 2.1rem; font-weight: 700; line-height: 1.1; font-variant-numeric: tabular-nums; }
.stat .what { font-size: 0.9rem; color: var(--muted); }
.blocked { border-radius: 8px; padding: 12px 16px; margin: 12px 0; }
.blocked.good { background: var(--good-bg); }
.blocked.bad { background: var(--bad-bg); }
.blocked.bad .big { color: var(--bad); }
.blocked p { margin: 4px 0; }
.blocked h3 { margin-top: 12px; }
.share .big { margin-right: 8px; }
.note { background: var(--note-bg); padding: 8px 12px; margin: 8px 0; }
.split { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 16px 24px; align-items: start; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 420px), 1fr)); gap: 8px 24px; }
figure { margin: 8px 0 16px; break-inside: avoid; page-break-inside: avoid; }
figure h3 { margin-top: 8px; }
figure svg { display: block; width: 100%; max-width: 640px; height: auto; }
figure svg text { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; }
figcaption { color: var(--muted); font-size: 0.9rem; max-width: 640px; }
.scroll { overflow-x: auto; -webkit-overflow-scrolling: touch; }
table { border-collapse: collapse; font-size: 0.9rem; font-variant-numeric: tabular-nums; width: 100%; margin: 8px 0; }
th, td { text-align: left; vertical-align: top; padding: 5px 8px; border-bottom: 1px solid var(--rule); }
thead th { border-bottom: 2px solid var(--ink); }
td.num { text-align: right; white-space: nowrap; font-weight: 600; }
td.hint { color: var(--muted); }
td.bar { width: 45%; }
.weeks th, .weeks td, .stages th { white-space: nowrap; }
.weeks thead th { white-space: normal; vertical-align: bottom; text-align: right; }
.weeks thead th:nth-child(-n+2), .weeks thead th:last-child { text-align: left; }
.weeks .sub { white-space: normal; min-width: 9em; }
thead th.num, .bars thead th:nth-child(2) { text-align: right; }
.blocked-cell { color: var(--bad); }
.sub { display: block; color: var(--muted); font-weight: 400; font-size: 0.8rem; }
.track { display: inline-block; width: 100%; height: 0.9em; background: #f0f0f0; border-radius: 2px; vertical-align: -0.1em; }
.fill { display: block; height: 100%; border-radius: 2px; }
.meter-line .track { width: 40%; min-width: 8em; }
.meter-line .sub { display: inline; margin-left: 8px; }
.swatch { display: inline-block; width: 0.8em; height: 0.8em; border-radius: 2px; margin-right: 0.4em; vertical-align: -0.05em; border: 1px solid #00000022; }
details { margin: 8px 0; }
summary { cursor: pointer; font-weight: 600; }
.notes { color: var(--muted); font-size: 0.85rem; padding-left: 1.2em; }
.where { display: grid; gap: 8px; margin: 0; }
.where div { display: grid; grid-template-columns: 11em 1fr; gap: 8px; }
.where dt { font-weight: 600; }
.where dd { margin: 0; }
@media (max-width: 640px) { .split { grid-template-columns: 1fr; } .where div { grid-template-columns: 1fr; gap: 0; } }
@media print {
  @page { margin: 14mm; }
  body { font-size: 11pt; }
  main { max-width: none; padding: 0; }
  .scroll { overflow: visible; }
  table { font-size: 9pt; }
  h2, h3, thead { break-after: avoid; }
  tr, .stat { break-inside: avoid; }
}
`;

/** Renders a campaign's weekly runs as one self-contained HTML document (no script, no external resource, no URL). */
export function renderRunReportHtml(report: CampaignReport, weeks: ReadonlyArray<RunReportWeek>, meta: RunReportMeta): string {
  const ordered = sortedWeeks(weeks);
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(`Campaign run report: ${report.campaign}`)}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body><main>',
    header(report, ordered, meta),
    headlineStats(report),
    actionsSection(report),
    weeksSection(report, ordered),
    pipelineSection(report),
    workflowSection(report),
    whereSection(report),
    '</main></body>',
    '</html>',
    '',
  ].join('\n');
}
