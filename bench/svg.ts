/**
 * Hand-written inline SVG charts for the bench report: pure functions from plain numbers to
 * markup, knowing nothing about policies or scenarios.
 *
 * The SVG carries no `xmlns` (inline in HTML it is implied, and the report must hold no URL at
 * all) and no ids (several charts share one page). Every label goes through `escapeHtml`, because
 * scenario names and descriptions come from files and are treated as hostile.
 */
import { escapeHtml } from '../shared/app/approval-views.ts';
import type { Interval } from './types.ts';

/** The width of every chart's viewBox; narrow, so labels stay readable when a phone scales it down. */
export const CHART_WIDTH = 500;

const FONT_SIZE = 14;
const SMALL_FONT_SIZE = 12;
const INK = '#1a1a1a';
const AXIS_COLOUR = '#4a4a4a';
const GRID_COLOUR = '#e3e3e3';

type AttrValue = string | number | undefined;

/** Coordinates to one decimal: enough for a screen, and the markup stays short. */
function num(value: number): string {
  return String(Math.round(value * 10) / 10);
}

function attrs(values: Readonly<Record<string, AttrValue>>): string {
  return Object.entries(values)
    .filter((entry): entry is [string, string | number] => entry[1] !== undefined)
    .map(([name, value]) => ` ${name}="${typeof value === 'number' ? num(value) : escapeHtml(value)}"`)
    .join('');
}

/** An element; `content` is markup already built by these helpers (never raw data). */
function el(name: string, attributes: Readonly<Record<string, AttrValue>>, content?: string): string {
  return content === undefined ? `<${name}${attrs(attributes)}/>` : `<${name}${attrs(attributes)}>${content}</${name}>`;
}

function text(x: number, y: number, label: string, attributes: Readonly<Record<string, AttrValue>> = {}): string {
  return el('text', { x, y, ...attributes }, escapeHtml(label));
}

function tooltip(label: string): string {
  return el('title', {}, escapeHtml(label));
}

function svg(height: number, title: string, content: readonly string[]): string {
  return el(
    'svg',
    { viewBox: `0 0 ${CHART_WIDTH} ${num(height)}`, role: 'img', 'aria-label': title, 'font-size': FONT_SIZE, fill: INK },
    [tooltip(title), ...content].join(''),
  );
}

/** A linear map from a data domain onto a pixel range (a flat domain maps to the range's start). */
export function linearScale(domain: readonly [number, number], range: readonly [number, number]): (value: number) => number {
  const [d0, d1] = domain;
  const [r0, r1] = range;
  const span = d1 - d0;
  return (value) => (span === 0 ? r0 : r0 + ((value - d0) / span) * (r1 - r0));
}

/** Round tick values (steps of 1, 2 or 5 × 10^k) from at or below `min` to at or above `max`. */
export function niceTicks(min: number, max: number, target = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [0, 1];
  const low = Math.min(min, max);
  let high = Math.max(min, max);
  if (high === low) high = low === 0 ? 1 : low + Math.abs(low) * 0.5;
  const raw = (high - low) / Math.max(1, target);
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / magnitude;
  const step = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * magnitude;
  const first = Math.floor(low / step + 1e-9);
  const last = Math.ceil(high / step - 1e-9);
  const ticks: number[] = [];
  // Multiplying (not adding) and rounding keeps 0.1 + 0.2 noise out of the labels.
  for (let i = first; i <= last; i++) ticks.push(Number((i * step).toPrecision(12)));
  return ticks;
}

/** Formats a tick with as many decimals as its step needs, so `0.5, 1, 1.5` reads `0.5, 1.0, 1.5`. */
export function formatTick(value: number, ticks: readonly number[]): string {
  const step = ticks.length > 1 ? Math.abs((ticks[1] ?? 0) - (ticks[0] ?? 0)) : 1;
  const decimals = step >= 1 || step === 0 ? 0 : Math.min(6, Math.ceil(-Math.log10(step) - 1e-9));
  return value.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
}

/** One entry of a chart legend: a line sample (with its dash) or a filled swatch. */
interface LegendItem {
  readonly label: string;
  readonly color: string;
  readonly dash?: string | undefined;
  readonly shape: 'line' | 'swatch';
}

// A rough width of a label in the chart font: wide enough that legend entries never overlap.
const labelWidth = (label: string, size = FONT_SIZE): number => label.length * size * 0.6;

/** A legend laid out in rows that wrap at the chart's width; returns its markup and height. */
function legend(items: readonly LegendItem[], top: number, left: number): { markup: string; height: number } {
  const rowHeight = 20;
  const parts: string[] = [];
  let x = left;
  let y = top;
  for (const item of items) {
    const width = 26 + labelWidth(item.label, SMALL_FONT_SIZE) + 14;
    if (x + width > CHART_WIDTH && x > left) {
      x = left;
      y += rowHeight;
    }
    const mid = y + rowHeight / 2;
    parts.push(
      item.shape === 'line'
        ? el('line', { x1: x, y1: mid, x2: x + 20, y2: mid, stroke: item.color, 'stroke-width': 3, 'stroke-dasharray': item.dash })
        : el('rect', { x: x + 4, y: mid - 6, width: 12, height: 12, fill: item.color, stroke: '#00000033' }),
      text(x + 26, mid + 4, item.label, { 'font-size': SMALL_FONT_SIZE }),
    );
    x += width;
  }
  return { markup: parts.join(''), height: items.length === 0 ? 0 : y - top + rowHeight };
}

/** One row of a forest plot: a label and its interval, drawn in the row's colour. */
export interface ForestRow {
  readonly label: string;
  readonly color: string;
  readonly interval: Interval;
}

/** Options of a forest plot. */
export interface ForestPlotOptions {
  readonly title: string;
  readonly axisLabel: string;
  /** The text printed right of each row (the estimate and its interval). */
  readonly formatInterval: (interval: Interval) => string;
  /** Vertical reference lines, e.g. the untouched market at 0. */
  readonly references?: readonly { readonly value: number; readonly label: string }[];
}

/** Whether an interval's three numbers are all finite (a missing figure is drawn as "n/a"). */
export const isFiniteInterval = (i: Interval): boolean =>
  Number.isFinite(i.estimate) && Number.isFinite(i.ciLow) && Number.isFinite(i.ciHigh);

/** A horizontal forest plot: one row per label, a dot at the estimate and whiskers to the 95% CI. */
export function forestPlot(rows: readonly ForestRow[], options: ForestPlotOptions): string {
  const references = options.references ?? [];
  const finite = rows.filter((row) => isFiniteInterval(row.interval));
  const values = [
    ...finite.flatMap((row) => [row.interval.ciLow, row.interval.ciHigh, row.interval.estimate]),
    ...references.map((r) => r.value),
  ];
  const ticks = niceTicks(Math.min(...values, 0), Math.max(...values, 0));
  const left = 84;
  const right = CHART_WIDTH - 158;
  const top = references.length > 0 ? 22 : 8;
  const rowHeight = 30;
  const bottom = top + rows.length * rowHeight;
  const x = linearScale([ticks[0] ?? 0, ticks[ticks.length - 1] ?? 1], [left, right]);

  const grid = ticks.map((t) =>
    [
      el('line', { x1: x(t), y1: top, x2: x(t), y2: bottom, stroke: GRID_COLOUR }),
      text(x(t), bottom + 16, formatTick(t, ticks), { 'text-anchor': 'middle', fill: AXIS_COLOUR, 'font-size': SMALL_FONT_SIZE }),
    ].join(''),
  );
  const refs = references.map((r) =>
    [
      el('line', { x1: x(r.value), y1: top - 4, x2: x(r.value), y2: bottom, stroke: AXIS_COLOUR, 'stroke-dasharray': '4 3' }),
      text(x(r.value), top - 8, r.label, { 'text-anchor': 'middle', fill: AXIS_COLOUR, 'font-size': SMALL_FONT_SIZE }),
    ].join(''),
  );
  const marks = rows.map((row, index) => {
    const y = top + index * rowHeight + rowHeight / 2;
    const label = text(left - 10, y + 4.5, row.label, { 'text-anchor': 'end', 'font-weight': 600 });
    const value = text(right + 12, y + 4.5, isFiniteInterval(row.interval) ? options.formatInterval(row.interval) : 'n/a');
    if (!isFiniteInterval(row.interval)) return label + value;
    const { estimate, ciLow, ciHigh } = row.interval;
    return [
      label,
      el('g', { stroke: row.color, 'stroke-width': 2.5 }, [
        el('line', { x1: x(ciLow), y1: y, x2: x(ciHigh), y2: y }),
        el('line', { x1: x(ciLow), y1: y - 6, x2: x(ciLow), y2: y + 6 }),
        el('line', { x1: x(ciHigh), y1: y - 6, x2: x(ciHigh), y2: y + 6 }),
      ].join('')),
      el('circle', { cx: x(estimate), cy: y, r: 6, fill: row.color, stroke: '#ffffff', 'stroke-width': 1.5 },
        tooltip(`${row.label}: ${options.formatInterval(row.interval)}`)),
      value,
    ].join('');
  });
  const axis = [
    el('line', { x1: left, y1: bottom, x2: right, y2: bottom, stroke: AXIS_COLOUR }),
    text((left + right) / 2, bottom + 36, options.axisLabel, { 'text-anchor': 'middle', fill: AXIS_COLOUR }),
  ];
  return svg(bottom + 46, options.title, [...grid, ...refs, ...axis, ...marks]);
}

/** One line of a line chart; `values[i]` belongs to the chart's `xs[i]` (a shorter series stops early). */
export interface LineSeries {
  readonly label: string;
  readonly color: string;
  readonly dash?: string | undefined;
  readonly values: readonly number[];
}

/** Options of a line chart. */
export interface LineChartOptions {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  /** The x value of each point, shared by every series. */
  readonly xs: readonly number[];
}

/** A line chart with a wrapping legend on top, gridlines and both axes labelled. */
export function lineChart(series: readonly LineSeries[], options: LineChartOptions): string {
  const { xs } = options;
  const key = legend(series.map((s) => ({ label: s.label, color: s.color, dash: s.dash, shape: 'line' as const })), 4, 56);
  const left = 62;
  const right = CHART_WIDTH - 14;
  const top = key.height + 18;
  const bottom = top + 200;
  const ys = series.flatMap((s) => s.values.filter(Number.isFinite));
  const yTicks = niceTicks(Math.min(0, ...ys), Math.max(0, ...ys), 5);
  const xTicks = niceTicks(Math.min(...xs), Math.max(...xs), 6).filter((t) => Number.isInteger(t));
  const x = linearScale([xTicks[0] ?? 0, xTicks[xTicks.length - 1] ?? 1], [left, right]);
  const y = linearScale([yTicks[0] ?? 0, yTicks[yTicks.length - 1] ?? 1], [bottom, top]);

  const grid = [
    ...yTicks.map((t) =>
      el('line', { x1: left, y1: y(t), x2: right, y2: y(t), stroke: GRID_COLOUR }) +
      text(left - 6, y(t) + 4, formatTick(t, yTicks), { 'text-anchor': 'end', fill: AXIS_COLOUR, 'font-size': SMALL_FONT_SIZE }),
    ),
    ...xTicks.map((t) =>
      el('line', { x1: x(t), y1: bottom, x2: x(t), y2: bottom + 4, stroke: AXIS_COLOUR }) +
      text(x(t), bottom + 17, formatTick(t, xTicks), { 'text-anchor': 'middle', fill: AXIS_COLOUR, 'font-size': SMALL_FONT_SIZE }),
    ),
  ];
  const axes = [
    el('line', { x1: left, y1: bottom, x2: right, y2: bottom, stroke: AXIS_COLOUR }),
    el('line', { x1: left, y1: top, x2: left, y2: bottom, stroke: AXIS_COLOUR }),
    text((left + right) / 2, bottom + 36, options.xLabel, { 'text-anchor': 'middle', fill: AXIS_COLOUR }),
    text(-(top + bottom) / 2, 16, options.yLabel, { transform: 'rotate(-90)', 'text-anchor': 'middle', fill: AXIS_COLOUR }),
  ];
  const lines = series.map((s) => {
    const points = s.values
      .slice(0, xs.length)
      .map((v, i) => [xs[i] ?? 0, v] as const)
      .filter(([, v]) => Number.isFinite(v));
    const path = points.map(([px, py]) => `${num(x(px))},${num(y(py))}`).join(' ');
    const last = points[points.length - 1];
    return el('g', {}, [
      el('polyline', {
        points: path, fill: 'none', stroke: s.color, 'stroke-width': 2.5, 'stroke-dasharray': s.dash,
        'stroke-linejoin': 'round', 'stroke-linecap': 'round',
      }, tooltip(s.label)),
      last === undefined ? '' : el('circle', { cx: x(last[0]), cy: y(last[1]), r: 3.5, fill: s.color }, tooltip(`${s.label}: ${num(last[1])} at the end`)),
    ].join(''));
  });
  return svg(bottom + 46, options.title, [key.markup, ...grid, ...axes, ...lines]);
}

/** One layer of a stacked bar (a key of every bar's `values`), in stacking order. */
export interface StackKey {
  readonly key: string;
  readonly label: string;
  readonly color: string;
  /** The colour of a count printed on the segment (contrasting with `color`). */
  readonly ink: string;
}

/** One bar of a stacked-bar chart. */
export interface StackedBar {
  readonly label: string;
  /** A swatch drawn left of the label (the bar's series colour). */
  readonly color?: string | undefined;
  readonly values: Readonly<Record<string, number>>;
}

/** Options of a stacked-bar chart. */
export interface StackedBarsOptions {
  readonly title: string;
  readonly format: (value: number) => string;
}

/**
 * Horizontal stacked bars on one shared scale, one row per bar (small multiples of one
 * composition); segments wide enough carry their count, every segment has a tooltip.
 */
export function stackedBars(bars: readonly StackedBar[], keys: readonly StackKey[], options: StackedBarsOptions): string {
  const key = legend(keys.map((k) => ({ label: k.label, color: k.color, shape: 'swatch' as const })), 4, 4);
  const left = 100;
  const right = CHART_WIDTH - 8;
  const top = key.height + 14;
  const rowHeight = 34;
  const barHeight = 22;
  const totals = bars.map((bar) => keys.reduce((sum, k) => sum + Math.max(0, bar.values[k.key] ?? 0), 0));
  const x = linearScale([0, Math.max(...totals, 1e-9)], [0, right - left]);
  const rows = bars.map((bar, index) => {
    const y = top + index * rowHeight;
    let offset = left;
    const segments = keys.map((k) => {
      const value = Math.max(0, bar.values[k.key] ?? 0);
      const width = x(value);
      if (width <= 0) return '';
      const at = offset;
      offset += width;
      const count = options.format(value);
      const fits = width >= labelWidth(count, SMALL_FONT_SIZE) + 6;
      return el('g', {}, [
        el('rect', { x: at, y, width, height: barHeight, fill: k.color, stroke: '#ffffff', 'stroke-width': 1 },
          tooltip(`${bar.label} · ${k.label}: ${count}`)),
        fits ? text(at + width / 2, y + barHeight / 2 + 4, count, { 'text-anchor': 'middle', fill: k.ink, 'font-size': SMALL_FONT_SIZE }) : '',
      ].join(''));
    });
    return [
      bar.color === undefined ? '' : el('rect', { x: 4, y: y + barHeight / 2 - 5, width: 10, height: 10, fill: bar.color }),
      text(left - 10, y + barHeight / 2 + 4.5, bar.label, { 'text-anchor': 'end', 'font-weight': 600 }),
      ...segments,
    ].join('');
  });
  return svg(top + bars.length * rowHeight + 4, options.title, [key.markup, ...rows]);
}

/** Stages at the end of a run, in funnel order, then the two terminal ones (Blues ramp, grey, vermillion): one palette for every report. */
export const STAGE_KEYS: readonly StackKey[] = [
  { key: 'unaware', label: 'unaware', color: '#dbe9f6', ink: '#1a1a1a' },
  { key: 'problem_aware', label: 'problem aware', color: '#a6cde6', ink: '#1a1a1a' },
  { key: 'solution_aware', label: 'solution aware', color: '#6baed6', ink: '#1a1a1a' },
  { key: 'evaluating', label: 'evaluating', color: '#3182bd', ink: '#ffffff' },
  { key: 'committed', label: 'committed', color: '#08519c', ink: '#ffffff' },
  { key: 'no_decision', label: 'no decision', color: '#bdbdbd', ink: '#1a1a1a' },
  { key: 'closed_lost', label: 'closed lost', color: '#d55e00', ink: '#1a1a1a' },
];
