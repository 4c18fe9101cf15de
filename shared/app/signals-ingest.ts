/**
 * Storing signals from outside, the one way every intake does it (the signed HTTP endpoint, the
 * EventBridge rule, SES's email events, `amk signals ingest`):
 * 1. claim each signal's id in the ledger, first write wins: a signal delivered twice (a batch
 *    sent again, an event redelivered) is stored once, and another signal under an id already
 *    taken is dropped and reported as a conflict, never overwriting the first;
 * 2. store the claimed signals (the first time, and again for a repeat: a put of the same item
 *    changes nothing and heals a crash between claim and store);
 * 3. suppress at once whom a hard bounce or a complaint is about: do-not-contact (and opted out,
 *    for a complaint) on the stakeholder record every send path reads before it mails, so no
 *    later run, approval or deferred send mails them; each suppression audited once, on the
 *    account's stream. Observe folds the same signals the same way (observe.ts, suppressedBy).
 *
 * Every write is keyed by what it is (the signal), so a second delivery of the same input writes
 * nothing new.
 */
import type { PipelineSignal, Stakeholder } from '../domain/model.ts';
import { suppressedBy } from '../domain/observe.ts';
import { canonicalSignal } from '../domain/signals-batch.ts';
import type { AccountRepository, AuditLog } from '../ports/index.ts';
import type { SignalLedger } from '../ports/signal-ledger.ts';

/** What storing signals needs (every intake step declares these). */
export interface SignalsIngestDeps {
  readonly clock: () => string;
  readonly signalLedger: SignalLedger;
  readonly accounts: Pick<AccountRepository, 'putSignals' | 'listStakeholders' | 'suppressStakeholder'>;
  readonly audit: Pick<AuditLog, 'appendOnce'>;
}

/** A stakeholder suppressed by a signal. */
export interface Suppression {
  readonly accountId: string;
  readonly stakeholderId: string;
  readonly signalId: string;
  readonly kind: 'bounce' | 'complaint' | 'unsubscribe';
}

/** What a batch came to. */
export interface IngestResult {
  /** Signals in the batch. */
  readonly received: number;
  /** Signals stored for the first time. */
  readonly stored: number;
  /** Signals stored before with the same content (nothing changed). */
  readonly duplicates: number;
  /** Ids stored before with other content: the first signal stands, these were dropped. */
  readonly conflicts: readonly string[];
  /** People suppressed by the batch's bounces and complaints (also when a repeat finished the job). */
  readonly suppressed: readonly Suppression[];
  /** Bounces and complaints about a stakeholder the account does not have (stored; nobody to suppress). */
  readonly unknownStakeholders: number;
}

/** Kinds that suppress their stakeholder at once. */
const SUPPRESSING: ReadonlySet<PipelineSignal['kind']> = new Set(['bounce', 'complaint', 'unsubscribe']);

/** Key of the audit event of one signal's suppression (once per signal, however often it arrives). */
export const suppressionKey = (signal: Pick<PipelineSignal, 'accountId' | 'id'>): string => `signal#${signal.accountId}#${signal.id}#suppressed`;

/** Stores signals once each and suppresses bounced and complaining people (see the module comment). */
export async function ingestSignals(deps: SignalsIngestDeps, batch: readonly PipelineSignal[], via: string): Promise<IngestResult> {
  const signals = batch.map(canonicalSignal);
  const claims = await deps.signalLedger.claim(signals);
  const accepted = [...claims.fresh, ...claims.repeated];
  if (accepted.length > 0) await deps.accounts.putSignals(accepted);

  const suppressed: Suppression[] = [];
  let unknownStakeholders = 0;
  const byAccount = new Map<string, PipelineSignal[]>();
  for (const s of accepted) {
    if (!SUPPRESSING.has(s.kind) || s.stakeholderId === undefined) continue;
    byAccount.set(s.accountId, [...(byAccount.get(s.accountId) ?? []), s]);
  }
  for (const [accountId, list] of byAccount) {
    const people = new Map((await deps.accounts.listStakeholders(accountId)).map((p) => [p.id, p]));
    // Oldest first: when a bounce and a complaint hit one person, the record ends as both leave it.
    for (const signal of [...list].sort((a, b) => a.at.localeCompare(b.at) || a.id.localeCompare(b.id))) {
      const before = people.get(signal.stakeholderId as string);
      if (before === undefined) {
        unknownStakeholders += 1;
        continue;
      }
      const after = suppressedBy(before, signal.kind) ?? before;
      // The record first, the audit second: what must hold (nobody mails them) holds even if the
      // audit write fails; a retry finds them suppressed and audits the same key once.
      if (after !== before) await deps.accounts.suppressStakeholder(after);
      people.set(after.id, after);
      await deps.audit.appendOnce([suppressionEvent(deps.clock(), signal, before, after, via)]);
      suppressed.push({ accountId, stakeholderId: after.id, signalId: signal.id, kind: signal.kind as Suppression['kind'] });
    }
  }
  return {
    received: batch.length,
    stored: claims.fresh.length,
    duplicates: claims.repeated.length,
    conflicts: claims.conflicts.map((s) => s.id),
    suppressed,
    unknownStakeholders,
  };
}

function suppressionEvent(at: string, signal: PipelineSignal, before: Stakeholder, after: Stakeholder, via: string) {
  return {
    stream: `ACCOUNT#${signal.accountId}`,
    key: suppressionKey(signal),
    at,
    kind: 'alert' as const,
    accountId: signal.accountId,
    actor: `system:${via}`,
    // Ids only: the address stays out of the audit trail and its log lines.
    data: {
      alert: 'stakeholder_suppressed',
      stakeholderId: after.id,
      signalId: signal.id,
      signalKind: signal.kind,
      signalAt: signal.at,
      ...(signal.causedBy !== undefined ? { actionId: signal.causedBy } : {}),
      before: { consent: before.consent, doNotContact: before.doNotContact },
      after: { consent: after.consent, doNotContact: after.doNotContact },
    },
  };
}
