/**
 * The named audit queries, defined once as data: rendered to CloudWatch Logs Insights query
 * strings (CDK makes one QueryDefinition of each) and evaluated by `amk audit query` over the
 * embedded default's JSON log files. Every query reads the decision log lines (audit-lines.ts),
 * each written once per audit event.
 */

/** A condition on one field: compared with a value, or present. */
export type Condition =
  | { readonly field: string; readonly op: '=' | '!=' | '>' | '<' | '>='; readonly value: string | number }
  | { readonly field: string; readonly op: 'present' };

/** An aggregate of stats. */
export type Aggregate = { readonly fn: 'count'; readonly as: string } | { readonly fn: 'sum' | 'avg' | 'max' | 'min'; readonly field: string; readonly as: string };

/** One named query. */
export interface NamedQuery {
  readonly name: string;
  readonly description: string;
  /** Fields shown, when the query lists lines instead of aggregating them. */
  readonly fields?: readonly string[];
  /** Conditions every line must meet (ANDed). */
  readonly filters: readonly Condition[];
  /** A field the user gives a value for (`--param name=value`); in AWS the query holds `placeholder`. */
  readonly param?: { readonly name: string; readonly field: string; readonly placeholder: string };
  readonly stats?: { readonly aggregates: readonly Aggregate[]; readonly by: readonly string[] };
  readonly sort: { readonly field: string; readonly order: 'asc' | 'desc' };
  readonly limit: number;
}

const AUDIT: Condition = { field: 'eventId', op: 'present' };
/** How many approvals were decided, approved and rejected (per approver, per agent). */
const DECIDED: readonly Aggregate[] = [
  { fn: 'count', as: 'decided' },
  { fn: 'sum', field: 'approvedFlag', as: 'approved' },
  { fn: 'sum', field: 'rejectedFlag', as: 'rejected' },
];
const kind = (k: string): Condition => ({ field: 'kind', op: '=', value: k });

/** The queries, by name. */
export const AUDIT_QUERIES: readonly NamedQuery[] = [
  {
    name: 'decisions-for-account',
    description: 'Every action proposed for one account: agent, type, people, verdict, rules or guardrail, tool result.',
    fields: ['@timestamp', 'runId', 'agentId', 'actionId', 'actionType', 'stakeholderIds', 'outcome', 'ruleIds', 'guardrail', 'toolOk'],
    filters: [AUDIT, kind('decision')],
    param: { name: 'account', field: 'accountId', placeholder: 'ACCOUNT_ID' },
    sort: { field: '@timestamp', order: 'asc' },
    limit: 1000,
  },
  {
    name: 'approvals-by-approver',
    description: 'Approvals decided per approver: how many, approved, rejected, and the seconds from request to decision.',
    filters: [AUDIT, kind('approval_decided')],
    stats: {
      aggregates: [
        ...DECIDED,
        { fn: 'avg', field: 'secondsToDecide', as: 'avgSecondsToDecide' },
        { fn: 'max', field: 'secondsToDecide', as: 'maxSecondsToDecide' },
      ],
      by: ['decidedBy'],
    },
    sort: { field: 'decided', order: 'desc' },
    limit: 1000,
  },
  {
    name: 'executed-without-approval',
    description: 'Actions that needed a human approval and were executed at Act anyway. Must always be empty.',
    fields: ['@timestamp', 'runId', 'accountId', 'agentId', 'actionId', 'actionType', 'ruleIds', 'toolOk'],
    filters: [AUDIT, kind('decision'), { field: 'needsApproval', op: '=', value: 1 }, { field: 'executed', op: '=', value: 1 }],
    sort: { field: '@timestamp', order: 'desc' },
    limit: 1000,
  },
  {
    name: 'blocked-by-guardrail',
    description: 'Proposed actions governance blocked, per guardrail.',
    filters: [AUDIT, kind('decision'), { field: 'blocked', op: '=', value: 1 }],
    stats: { aggregates: [{ fn: 'count', as: 'blocked' }], by: ['guardrail'] },
    sort: { field: 'blocked', order: 'desc' },
    limit: 1000,
  },
  {
    name: 'tool-failures-by-tool',
    description: 'Tool calls that failed (at Act, after approval, or in a deferred send), per tool and where.',
    filters: [AUDIT, { field: 'toolOk', op: '=', value: 0 }],
    stats: { aggregates: [{ fn: 'count', as: 'failures' }], by: ['tool', 'kind'] },
    sort: { field: 'failures', order: 'desc' },
    limit: 1000,
  },
  {
    name: 'cost-and-volume-per-run',
    description: 'Each run: accounts, actions proposed, executed, needing approval, approved, rejected, blocked, tool failures, and spend.',
    fields: ['@timestamp', 'runId', 'accounts', 'proposed', 'executed', 'needsApproval', 'approved', 'rejected', 'blocked', 'toolFailures', 'spendUsd'],
    filters: [AUDIT, kind('run_summarized')],
    sort: { field: '@timestamp', order: 'desc' },
    limit: 1000,
  },
  {
    name: 'agents-by-proposal-outcome',
    description: 'Per agent: actions proposed, blocked, needing approval, and executed at Act.',
    filters: [AUDIT, kind('decision')],
    stats: {
      aggregates: [
        { fn: 'count', as: 'proposed' },
        { fn: 'sum', field: 'blocked', as: 'blocked' },
        { fn: 'sum', field: 'needsApproval', as: 'needingApproval' },
        { fn: 'sum', field: 'executed', as: 'executedAtAct' },
      ],
      by: ['agentId'],
    },
    sort: { field: 'proposed', order: 'desc' },
    limit: 1000,
  },
  {
    name: 'agents-by-approval-outcome',
    description: 'Per agent: approvals decided, approved and rejected.',
    filters: [AUDIT, kind('approval_decided')],
    stats: { aggregates: DECIDED, by: ['agentId'] },
    sort: { field: 'decided', order: 'desc' },
    limit: 1000,
  },
];

/** A query by name, or undefined. */
export const auditQuery = (name: string): NamedQuery | undefined => AUDIT_QUERIES.find((q) => q.name === name);

const literal = (v: string | number): string => (typeof v === 'number' ? String(v) : JSON.stringify(v));

const renderCondition = (c: Condition): string => (c.op === 'present' ? `ispresent(${c.field})` : `${c.field} ${c.op} ${literal(c.value)}`);

const renderAggregate = (a: Aggregate): string => (a.fn === 'count' ? `count(*) as ${a.as}` : `${a.fn}(${a.field}) as ${a.as}`);

/** The query as CloudWatch Logs Insights syntax; a param as its value, or its placeholder. */
export function renderQuery(q: NamedQuery, paramValue?: string): string {
  const conditions = [...q.filters, ...(q.param ? [{ field: q.param.field, op: '=' as const, value: paramValue ?? q.param.placeholder }] : [])];
  const lines: string[] = [];
  if (q.fields) lines.push(`fields ${q.fields.join(', ')}`);
  lines.push(`filter ${conditions.map(renderCondition).join(' and ')}`);
  if (q.stats) lines.push(`stats ${q.stats.aggregates.map(renderAggregate).join(', ')}${q.stats.by.length > 0 ? ` by ${q.stats.by.join(', ')}` : ''}`);
  lines.push(`sort ${q.sort.field} ${q.sort.order}`);
  lines.push(`limit ${q.limit}`);
  return lines.map((l, i) => (i === 0 ? l : `| ${l}`)).join('\n');
}

/** One log line as read back: its JSON fields, `@timestamp` among them. */
export type LogRecord = Readonly<Record<string, unknown>>;

const matches = (r: LogRecord, c: Condition): boolean => {
  const v = r[c.field];
  if (c.op === 'present') return v !== undefined && v !== null;
  if (v === undefined || v === null) return false;
  switch (c.op) {
    case '=':
      return v === c.value || String(v) === String(c.value);
    case '!=':
      return String(v) !== String(c.value);
    case '>':
      return Number(v) > Number(c.value);
    case '<':
      return Number(v) < Number(c.value);
    case '>=':
      return Number(v) >= Number(c.value);
  }
};

/** Evaluates a query over log records, as Logs Insights would: filter, stats by group, sort, limit. */
export function evaluateQuery(q: NamedQuery, records: readonly LogRecord[], paramValue?: string): Array<Record<string, unknown>> {
  const conditions = [...q.filters, ...(q.param && paramValue !== undefined ? [{ field: q.param.field, op: '=' as const, value: paramValue }] : [])];
  const kept = records.filter((r) => conditions.every((c) => matches(r, c)));
  let rows: Array<Record<string, unknown>>;
  if (q.stats) {
    const groups = new Map<string, LogRecord[]>();
    for (const r of kept) {
      const key = JSON.stringify(q.stats.by.map((b) => r[b] ?? null));
      const list = groups.get(key) ?? [];
      list.push(r);
      groups.set(key, list);
    }
    rows = [...groups.entries()].map(([key, group]) => {
      const row: Record<string, unknown> = {};
      (JSON.parse(key) as unknown[]).forEach((v, i) => (row[q.stats?.by[i] as string] = v));
      for (const a of q.stats?.aggregates ?? []) {
        if (a.fn === 'count') {
          row[a.as] = group.length;
          continue;
        }
        const values = group.map((r) => r[a.field]).filter((v): v is number => typeof v === 'number');
        row[a.as] =
          values.length === 0
            ? null
            : a.fn === 'sum'
              ? values.reduce((s, v) => s + v, 0)
              : a.fn === 'avg'
                ? values.reduce((s, v) => s + v, 0) / values.length
                : a.fn === 'max'
                  ? Math.max(...values)
                  : Math.min(...values);
      }
      return row;
    });
  } else {
    rows = kept.map((r) => Object.fromEntries((q.fields ?? Object.keys(r)).map((f) => [f, r[f] ?? null])));
  }
  const { field, order } = q.sort;
  const sign = order === 'asc' ? 1 : -1;
  rows.sort((a, b) => {
    const x = a[field];
    const y = b[field];
    if (x === y) return 0;
    if (x === null || x === undefined) return 1;
    if (y === null || y === undefined) return -1;
    return (typeof x === 'number' && typeof y === 'number' ? x - y : String(x) < String(y) ? -1 : 1) * sign;
  });
  return rows.slice(0, q.limit);
}
