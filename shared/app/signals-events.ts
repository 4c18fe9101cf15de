/**
 * Signals that arrive as EventBridge events: batches put on the default bus by anything in the
 * account (source `amk.signals`, detail-type `Pipeline Signals`, detail `{ "signals": [...] }`),
 * and SES's events of prospect emails (source `aws.ses`, through the stack's configuration set).
 * Both store through ingestSignals. EventBridge delivers at least once: a redelivered event maps
 * to the same signals (ids from the event, never random) and stores nothing twice.
 *
 * An event that cannot be used is answered, not thrown: Lambda would retry it twice and it would
 * fail the same way. It is counted; a signal batch with a schema problem is also audited once per
 * event (only principals of the account can put events on its bus).
 */
import * as z from 'zod';
import { SIGNALS_EVENT_DETAIL_TYPE, SIGNALS_EVENT_SOURCE, parseSignalBatch, type SignalIssue } from '../domain/signals-batch.ts';
import { SES_EVENT_SOURCE, SesEmailEvent, idsOfTags, signalsOfSesEvent, type SesMapping } from '../domain/signals-ses.ts';
import type { StepDeps } from './steps.ts';
import { ingestSignals, type IngestResult } from './signals-ingest.ts';

/** The envelope of an EventBridge event, as a rule's Lambda target receives it. */
export const EventBridgeEvent = z.looseObject({
  id: z.string().min(1),
  source: z.string().min(1),
  'detail-type': z.string().min(1),
  time: z.string().optional(),
  detail: z.unknown(),
});
export type EventBridgeEvent = z.infer<typeof EventBridgeEvent>;

/** What one event came to. */
export type SignalEventOutcome =
  | { readonly ingested: IngestResult }
  | { readonly refused: 'SignalSchemaError'; readonly issues: readonly SignalIssue[] }
  | { readonly ignored: string };

/** Audit stream of refused signal events (shared with the refused signed requests). */
const SIGNALS_STREAM = 'SIGNALS';

/** A batch of signals put on the bus (signals-events). */
export async function ingestSignalEvent(deps: StepDeps<'signals-events'>, event: EventBridgeEvent): Promise<SignalEventOutcome> {
  // The rule only routes these; anything else reached the function by another path.
  if (event.source !== SIGNALS_EVENT_SOURCE || event['detail-type'] !== SIGNALS_EVENT_DETAIL_TYPE) {
    await deps.runs.countRefused(deps.clock(), 'signals_event_unexpected');
    return { ignored: 'unexpected_event' };
  }
  const parsed = parseSignalBatch(event.detail);
  if (!parsed.ok) {
    await deps.runs.countRefused(deps.clock(), 'signals_event_invalid');
    await deps.audit.appendOnce([
      {
        stream: SIGNALS_STREAM,
        key: `signals-event#${event.id}#refused`,
        at: deps.clock(),
        kind: 'alert',
        actor: 'eventbridge',
        data: { alert: 'signals_refused', reason: 'signals_event_invalid', eventId: event.id, issues: parsed.issues.slice(0, 10) },
      },
    ]);
    return { refused: 'SignalSchemaError', issues: parsed.issues };
  }
  return { ingested: await ingestSignals(deps, parsed.signals, 'signals-events') };
}

/** An SES event of an email (ses-events): its signals about the account's stakeholders. */
export async function ingestSesEvent(deps: StepDeps<'ses-events'>, event: EventBridgeEvent): Promise<SignalEventOutcome> {
  const parsed = event.source === SES_EVENT_SOURCE ? SesEmailEvent.safeParse(event.detail) : undefined;
  // Only the rule routes events here, and SES sends these fields on every email event: one that
  // lacks them is answered (and logged by the handler), not retried.
  if (parsed === undefined || !parsed.success) return { ignored: 'not_an_ses_email_event' };
  const { accountId } = idsOfTags(parsed.data.mail.tags);
  // Not one of the tools' emails (no account tag): nobody's signal.
  if (accountId === undefined) return { ignored: 'not_a_prospect_email' };
  const mapped: SesMapping = signalsOfSesEvent(parsed.data, await deps.accounts.listStakeholders(accountId));
  if ('ignored' in mapped) return { ignored: mapped.ignored };
  return { ingested: await ingestSignals(deps, mapped.signals, 'ses-events') };
}
