/**
 * Signals from outside (a CRM, an intent provider, a web tracker, an ESP): the one schema every way
 * in validates against (the signed HTTP endpoint, the EventBridge rule, `amk signals ingest`), and
 * problems reported so a sender can fix them (where, what was there, what was expected). Pure.
 *
 * A batch is all or nothing: one invalid signal refuses the batch and nothing of it is stored.
 */
import * as z from 'zod';
import { SignalKind, Stage, type PipelineSignal } from './model.ts';

/** Most signals one request (or one event) may carry. */
export const MAX_SIGNALS_PER_BATCH = 500;

/** Longest id (signal, account, stakeholder, action) or topic accepted: keys stay well inside DynamoDB's limits. */
export const MAX_SIGNAL_TEXT = 256;

/** `source` of the EventBridge events that carry signals (custom sources may not start with `aws.`). */
export const SIGNALS_EVENT_SOURCE = 'amk.signals';

/** `detail-type` of the EventBridge events that carry signals; their `detail` is a {@link SignalBatch}. */
export const SIGNALS_EVENT_DETAIL_TYPE = 'Pipeline Signals';

const Text = z.string().min(1, 'expected a non-empty string').max(MAX_SIGNAL_TEXT, `expected at most ${MAX_SIGNAL_TEXT} characters`);

/** Kinds about one person: a signal of these kinds names its stakeholder. */
const PERSONAL: ReadonlySet<SignalKind> = new Set(['reply', 'meeting_booked', 'meeting_accepted', 'unsubscribe', 'delivery', 'bounce', 'complaint']);

/**
 * One signal as a sender sends it: PipelineSignal's fields and no others (a misspelt field is an
 * error, not silently dropped), within length limits, with the fields its kind needs.
 */
export const IncomingSignal = z
  .strictObject({
    id: Text,
    accountId: Text,
    stakeholderId: Text.optional(),
    kind: SignalKind,
    at: z.iso.datetime({ offset: true, error: 'expected an ISO 8601 time with its zone, like 2027-01-04T14:00:00Z' }),
    causedBy: Text.optional(),
    stage: Stage.optional(),
    topic: Text.optional(),
  })
  .superRefine((s, ctx) => {
    // Without these the fold could not apply the signal (a stage change to no stage, an objection
    // about nothing, a bounce of nobody): refused rather than stored and ignored.
    if (s.kind === 'crm_stage_change' && s.stage === undefined) ctx.addIssue({ code: 'custom', path: ['stage'], message: `expected a stage (one of ${Stage.options.join(', ')}) for a crm_stage_change` });
    if ((s.kind === 'objection_raised' || s.kind === 'objection_resolved') && s.topic === undefined) ctx.addIssue({ code: 'custom', path: ['topic'], message: `expected the objection's topic for ${s.kind}` });
    if (PERSONAL.has(s.kind) && s.stakeholderId === undefined) ctx.addIssue({ code: 'custom', path: ['stakeholderId'], message: `expected the stakeholder a ${s.kind} is about` });
  });
export type IncomingSignal = z.infer<typeof IncomingSignal>;

/** A batch of signals: `{ "signals": [...] }`, 1 to 500 of them, each (account, id) once. */
export const SignalBatch = z
  .strictObject({
    signals: z.array(IncomingSignal).min(1, 'expected at least one signal').max(MAX_SIGNALS_PER_BATCH, `expected at most ${MAX_SIGNALS_PER_BATCH} signals per batch`),
  })
  .superRefine((batch, ctx) => {
    const first = new Map<string, number>();
    batch.signals.forEach((s, i) => {
      const key = `${s.accountId}\u0000${s.id}`;
      const seen = first.get(key);
      // One signal, one id: two different signals under one id would leave which one counts to chance.
      if (seen !== undefined) ctx.addIssue({ code: 'custom', path: ['signals', i, 'id'], message: `expected a signal id used once per account in a batch (signals.${seen} has it too)` });
      else first.set(key, i);
    });
  });
export type SignalBatch = z.infer<typeof SignalBatch>;

/** One problem of an input: where, what was there (JSON, clipped), what was expected. */
export interface SignalIssue {
  readonly path: string;
  readonly value: string;
  readonly expected: string;
}

const MAX_ISSUES = 20;
const MAX_VALUE = 80;

function valueAt(input: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let v: unknown = input;
  for (const key of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return v;
}

function shown(value: unknown): string {
  if (value === undefined) return '(missing)';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > MAX_VALUE ? `${text.slice(0, MAX_VALUE - 1)}…` : text;
}

/** The problems of a failed parse, first ones first (at most 20), each naming its field and value. */
export function issuesOf(error: z.ZodError, input: unknown): SignalIssue[] {
  const out: SignalIssue[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const path = [...issue.path, key];
        out.push({ path: path.map(String).join('.'), value: shown(valueAt(input, path)), expected: `no field "${key}" (a signal has id, accountId, stakeholderId, kind, at, causedBy, stage, topic)` });
      }
      continue;
    }
    out.push({ path: issue.path.map(String).join('.') || '(body)', value: shown(valueAt(input, issue.path)), expected: issue.message });
  }
  return out.slice(0, MAX_ISSUES);
}

/** One line per problem: `signals.3.kind: got "opne", expected ...`. */
export const describeIssues = (issues: readonly SignalIssue[]): string => issues.map((i) => `${i.path}: got ${i.value}, ${i.expected}`).join('; ');

/** Parses a batch from JSON already decoded; the signals, or every problem found. */
export function parseSignalBatch(input: unknown): { readonly ok: true; readonly signals: PipelineSignal[] } | { readonly ok: false; readonly issues: SignalIssue[] } {
  const parsed = SignalBatch.safeParse(input);
  return parsed.success ? { ok: true, signals: parsed.data.signals } : { ok: false, issues: issuesOf(parsed.error, input) };
}

/** Decodes a request body (UTF-8 JSON) and parses it as a batch. */
export function parseSignalBatchText(body: string): ReturnType<typeof parseSignalBatch> {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (err) {
    return { ok: false, issues: [{ path: '(body)', value: shown(body.slice(0, MAX_VALUE)), expected: `expected JSON (${err instanceof Error ? err.message : 'unreadable'})` }] };
  }
  return parseSignalBatch(json);
}

/**
 * A signal in the one form it is stored and compared in: its time as UTC ISO with milliseconds
 * (`2027-01-04T14:00:00Z` and `2027-01-04T15:00:00+01:00` are one instant, so one signal), and
 * absent fields absent. A repeat of a signal equals it in this form.
 */
export function canonicalSignal(signal: PipelineSignal): PipelineSignal {
  const out: PipelineSignal = { id: signal.id, accountId: signal.accountId, kind: signal.kind, at: new Date(Date.parse(signal.at)).toISOString() };
  if (signal.stakeholderId !== undefined) out.stakeholderId = signal.stakeholderId;
  if (signal.causedBy !== undefined) out.causedBy = signal.causedBy;
  if (signal.stage !== undefined) out.stage = signal.stage;
  if (signal.topic !== undefined) out.topic = signal.topic;
  return out;
}
