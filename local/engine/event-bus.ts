/**
 * The embedded default's EventBridge: the default bus with the rules the synthesized template
 * declares (AWS::Events::Rule), matching each put event against their event patterns and
 * invoking their Lambda targets, as AWS would, with the envelope a rule's target receives.
 *
 * As strict as it can be: the patterns are the template's own (intrinsics resolved as for every
 * other resource), and a pattern operator this bus does not implement fails the put instead of
 * matching by guess. Lambda's asynchronous invocation is modelled by its retries (two more
 * attempts after a failure); what a target returns or last threw is reported, where AWS would only
 * log it. Deliveries are awaited one after the other, so a test sees their effects on return.
 */
import { randomUUID } from 'node:crypto';
import { LOCAL_ACCOUNT, LOCAL_REGION, resolveIntrinsics, type ResolveHooks, type ResolvedTemplate } from './template.ts';

/** A rule of the template, resolved. */
export interface LocalRule {
  readonly logicalId: string;
  readonly pattern: Readonly<Record<string, unknown>>;
  /** Logical ids of the Lambda functions it targets. */
  readonly targets: readonly string[];
}

/** One event as PutEvents takes it. */
export interface PutEventsEntry {
  readonly source: string;
  readonly detailType: string;
  /** The detail object (PutEvents takes it as JSON text; the bus parses it as AWS does). */
  readonly detail: unknown;
  /** @default the bus's clock */
  readonly time?: string;
  /** @default [] */
  readonly resources?: readonly string[];
}

/** The event a rule's target receives. */
export interface BusEvent {
  readonly version: '0';
  readonly id: string;
  readonly 'detail-type': string;
  readonly source: string;
  readonly account: string;
  readonly time: string;
  readonly region: string;
  readonly resources: readonly string[];
  readonly detail: unknown;
}

/** What became of one event: each delivery to a target, with its result or last error. */
export interface PutEventResult {
  readonly event: BusEvent;
  readonly deliveries: ReadonlyArray<{ readonly rule: string; readonly target: string; readonly attempts: number; readonly result?: unknown; readonly error?: string }>;
}

/** A pattern operator this bus does not implement (the put fails rather than guess). */
export class UnsupportedPatternError extends Error {
  override readonly name = 'UnsupportedPatternError';
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The enabled rules of the default bus whose targets are functions of the template. */
export function rulesOf(template: ResolvedTemplate, hooks: ResolveHooks = {}): LocalRule[] {
  const rules: LocalRule[] = [];
  for (const [logicalId, res] of Object.entries(template.resources)) {
    if (res.Type !== 'AWS::Events::Rule') continue;
    const props = res.Properties ?? {};
    if (props.State !== undefined && props.State !== 'ENABLED') continue;
    if (props.EventBusName !== undefined && props.EventBusName !== 'default') continue;
    const pattern = resolveIntrinsics(props.EventPattern, template.resources, hooks);
    if (!isRecord(pattern)) continue;
    const targets = (Array.isArray(props.Targets) ? props.Targets : [])
      .map((t: unknown) => (isRecord(t) ? String(resolveIntrinsics(t.Arn, template.resources, hooks)) : ''))
      .map((arn) => /:function:([^:]+)$/.exec(arn)?.[1])
      .filter((id): id is string => id !== undefined && template.functions.has(id));
    rules.push({ logicalId, pattern, targets });
  }
  return rules;
}

/** Whether one value of the event matches one entry of a pattern's list. */
function matchesOne(entry: unknown, value: unknown, present: boolean): boolean {
  if (!isRecord(entry)) return present && (Array.isArray(value) ? value.some((v) => v === entry) : value === entry);
  const [op, arg] = Object.entries(entry)[0] ?? [];
  const values = Array.isArray(value) ? value : [value];
  switch (op) {
    case 'exists':
      return arg === present;
    case 'prefix':
      return present && typeof arg === 'string' && values.some((v) => typeof v === 'string' && v.startsWith(arg));
    case 'anything-but': {
      const excluded = Array.isArray(arg) ? arg : [arg];
      if (excluded.some(isRecord)) throw new UnsupportedPatternError(`anything-but with ${JSON.stringify(arg)} is not supported by the local bus`);
      return present && values.every((v) => !excluded.includes(v));
    }
    default:
      throw new UnsupportedPatternError(`event pattern operator ${JSON.stringify(op)} is not supported by the local bus`);
  }
}

/** EventBridge's matching of an event against a pattern (literal values, prefix, exists, anything-but). */
export function matchesPattern(pattern: Readonly<Record<string, unknown>>, event: unknown): boolean {
  for (const [key, expected] of Object.entries(pattern)) {
    const present = isRecord(event) && key in event && event[key] !== undefined;
    const value = isRecord(event) ? event[key] : undefined;
    if (isRecord(expected)) {
      if (!present || !matchesPattern(expected, value)) return false;
      continue;
    }
    if (!Array.isArray(expected)) throw new UnsupportedPatternError(`pattern field ${key} must be a list or an object, got ${JSON.stringify(expected)}`);
    if (!expected.some((entry: unknown) => matchesOne(entry, value, present))) return false;
  }
  return true;
}

/** How the bus reaches a target function: its handler, as the runtime built it. */
export type BusTarget = (logicalId: string, event: BusEvent) => Promise<unknown>;

/** Attempts of one asynchronous invocation: the first, and Lambda's two retries. */
const ASYNC_ATTEMPTS = 3;

/** The default bus of the embedded default. */
export class LocalEventBus {
  constructor(
    private readonly rules: readonly LocalRule[],
    private readonly invoke: BusTarget,
    private readonly clock: () => string,
  ) {}

  /** The rules the bus routes by (from the template). */
  get ruleIds(): string[] {
    return this.rules.map((r) => r.logicalId);
  }

  /** PutEvents: each event to every target of every rule it matches. */
  async putEvents(entries: readonly PutEventsEntry[]): Promise<PutEventResult[]> {
    const results: PutEventResult[] = [];
    for (const entry of entries) {
      // As PutEvents: the detail travels as JSON text and arrives parsed (a non-JSON value fails here).
      const detail: unknown = JSON.parse(JSON.stringify(entry.detail ?? {}));
      const event: BusEvent = {
        version: '0',
        id: randomUUID(),
        'detail-type': entry.detailType,
        source: entry.source,
        account: LOCAL_ACCOUNT,
        time: new Date(Date.parse(entry.time ?? this.clock())).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        region: LOCAL_REGION,
        resources: [...(entry.resources ?? [])],
        detail,
      };
      const deliveries: Array<PutEventResult['deliveries'][number]> = [];
      for (const rule of this.rules) {
        if (!matchesPattern(rule.pattern, event)) continue;
        for (const target of rule.targets) deliveries.push({ rule: rule.logicalId, target, ...(await this.deliver(target, event)) });
      }
      results.push({ event, deliveries });
    }
    return results;
  }

  private async deliver(target: string, event: BusEvent): Promise<{ attempts: number; result?: unknown; error?: string }> {
    let error = '';
    for (let attempt = 1; attempt <= ASYNC_ATTEMPTS; attempt++) {
      try {
        // Each attempt gets the same event (same id): what at-least-once delivery looks like.
        return { attempts: attempt, result: await this.invoke(target, structuredClone(event)) };
      } catch (err) {
        error = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      }
    }
    return { attempts: ASYNC_ATTEMPTS, error };
  }
}
