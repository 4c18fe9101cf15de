/**
 * One-click unsubscribe (RFC 8058): a POST to a recipient's signed link opts them out at once.
 * It is an `unsubscribe` signal about them, stored and applied the one way every signal is
 * (shared/app/signals-ingest.ts): the stakeholder record every send path reads is opted out before
 * the answer, the suppression is audited once on the account's stream, and Observe folds the same
 * signal into the next run. A link that is not authentic is only counted (anyone can send those).
 */
import { verifyUnsubscribeToken } from '../domain/unsubscribe.ts';
import { ingestSignals, type SignalsIngestDeps } from './signals-ingest.ts';

/** What an unsubscribe needs: the signal intake's ports, the link key, and the refusal counter. */
export interface UnsubscribeDeps extends SignalsIngestDeps {
  /** The key unsubscribe links are signed with (the approval link key, under its own purpose). */
  readonly key: Buffer;
  /** Counts a request with no authentic link, per hour and reason (never appended one by one). */
  readonly refused: (r: { readonly at: string; readonly reason: string }) => Promise<void>;
}

/** What became of an unsubscribe request. */
export type UnsubscribeOutcome = { readonly kind: 'invalid' } | { readonly kind: 'unsubscribed'; readonly accountId: string; readonly stakeholderId: string };

/** The signal id of a person's unsubscribe: one per person, so repeated clicks store it once. */
export const unsubscribeSignalId = (stakeholderId: string): string => `unsubscribe-${stakeholderId}`;

/** Opts the link's person out, once however often it is posted. */
export async function unsubscribe(deps: UnsubscribeDeps, token: string | undefined): Promise<UnsubscribeOutcome> {
  const claims = verifyUnsubscribeToken(token, deps.key);
  const at = deps.clock();
  if (claims === undefined) {
    await deps.refused({ at, reason: 'unsubscribe_invalid' });
    return { kind: 'invalid' };
  }
  const person = (await deps.accounts.listStakeholders(claims.accountId)).find((s) => s.id === claims.stakeholderId);
  if (person === undefined) {
    // Authentic, but the person is no longer in the book: nothing to opt out, nobody to mail.
    await deps.refused({ at, reason: 'unsubscribe_unknown' });
    return { kind: 'unsubscribed', ...claims };
  }
  // Stamped with the hour of the click: a mailbox provider's retries and a second click soon after
  // are the same signal, stored once and applied again harmlessly (which also finishes a first
  // delivery that stopped half way).
  const hour = `${at.slice(0, 13)}:00:00.000Z`;
  await ingestSignals(deps, [{ id: unsubscribeSignalId(claims.stakeholderId), accountId: claims.accountId, stakeholderId: claims.stakeholderId, kind: 'unsubscribe', at: hour }], 'unsubscribe-link');
  // A click in a later hour is the same signal id at another time (a conflict the ledger drops):
  // the first stands. Should it have stopped between its claim and the record, finish the opt-out here.
  const now = (await deps.accounts.listStakeholders(claims.accountId)).find((s) => s.id === claims.stakeholderId);
  if (now !== undefined && now.consent !== 'opted_out') await deps.accounts.suppressStakeholder({ ...now, consent: 'opted_out' });
  return { kind: 'unsubscribed', ...claims };
}
