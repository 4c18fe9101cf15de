/**
 * SES email events as pipeline signals. Every prospect email carries message tags naming its
 * account, its stakeholder (when it has one recipient) and the action that sent it; SES publishes
 * each event of the email (delivery, open, click, bounce, complaint) with those tags, through the
 * stack's configuration set, to EventBridge. This module maps an event back to signals. Pure.
 *
 * Tag values may hold only ASCII letters, digits, `_` and `-`. An id made of those travels as it
 * is (`amk-account`); any other id travels base64url-encoded under the same name with `-b64`
 * (`amk-account-b64`), so every id maps back exactly and nothing is guessed.
 */
import { createHash } from 'node:crypto';
import * as z from 'zod';
import type { PipelineSignal, SignalKind, Stakeholder } from './model.ts';

/** Names of the message tags that map an email's events back to the system's records. */
export const SES_TAG = { account: 'amk-account', stakeholder: 'amk-stakeholder', action: 'amk-action' } as const;

/** SES adds the configuration set's name to every event as this tag. */
export const SES_CONFIGURATION_SET_TAG = 'ses:configuration-set';

/** EventBridge `detail-type` of each SES event that becomes a signal (source `aws.ses`). */
export const SES_EVENT_DETAIL_TYPES = {
  delivery: 'Email Delivered',
  open: 'Email Opened',
  click: 'Email Clicked',
  bounce: 'Email Bounced',
  complaint: 'Email Complaint Received',
} as const;

/** EventBridge `source` of SES events. */
export const SES_EVENT_SOURCE = 'aws.ses';

const PLAIN_TAG = /^[A-Za-z0-9_-]{1,256}$/;
const B64 = '-b64';

/** One id as message tags: plain when SES allows its characters, else base64url under `<name>-b64`. */
function tagOf(name: string, id: string): Record<string, string> {
  return PLAIN_TAG.test(id) ? { [name]: id } : { [`${name}${B64}`]: Buffer.from(id, 'utf8').toString('base64url') };
}

/** The message tags of a prospect email: its account, its stakeholder (one recipient only) and its action. */
export function prospectEmailTags(ids: { readonly accountId: string; readonly stakeholderIds: readonly string[]; readonly actionId: string }): Record<string, string> {
  return {
    ...tagOf(SES_TAG.account, ids.accountId),
    // With several recipients an event names no one (an open is the email's, not a person's);
    // bounces and complaints name their recipients' addresses, which map back on their own.
    ...(ids.stakeholderIds.length === 1 ? tagOf(SES_TAG.stakeholder, ids.stakeholderIds[0] as string) : {}),
    ...tagOf(SES_TAG.action, ids.actionId),
  };
}

/** Reads one id back from an event's tags (each tag's values are a list in SES events). */
function idOf(tags: Readonly<Record<string, readonly string[]>>, name: string): string | undefined {
  const plain = tags[name]?.[0];
  if (plain !== undefined && plain !== '') return plain;
  const encoded = tags[`${name}${B64}`]?.[0];
  if (encoded === undefined || !/^[A-Za-z0-9_-]+$/.test(encoded)) return undefined;
  const id = Buffer.from(encoded, 'base64url').toString('utf8');
  return id === '' ? undefined : id;
}

/** The ids an event's tags name. */
export function idsOfTags(tags: Readonly<Record<string, readonly string[]>>): { accountId?: string; stakeholderId?: string; actionId?: string } {
  const accountId = idOf(tags, SES_TAG.account);
  const stakeholderId = idOf(tags, SES_TAG.stakeholder);
  const actionId = idOf(tags, SES_TAG.action);
  return { ...(accountId ? { accountId } : {}), ...(stakeholderId ? { stakeholderId } : {}), ...(actionId ? { actionId } : {}) };
}

const Iso = z.iso.datetime({ offset: true });
const Recipient = z.looseObject({ emailAddress: z.string().min(1) });

/**
 * The parts of an SES event record (the `detail` of its EventBridge event; the same record SNS
 * and Firehose receive) that map to signals. Everything else SES sends is kept but not read.
 */
export const SesEmailEvent = z.looseObject({
  eventType: z.string().min(1),
  mail: z.looseObject({
    messageId: z.string().min(1),
    timestamp: Iso,
    destination: z.array(z.string()).default([]),
    tags: z.record(z.string(), z.array(z.string())).default({}),
  }),
  bounce: z.looseObject({ bounceType: z.string(), bouncedRecipients: z.array(Recipient), timestamp: Iso }).optional(),
  complaint: z.looseObject({ complainedRecipients: z.array(Recipient), timestamp: Iso, complaintFeedbackType: z.string().optional() }).optional(),
  delivery: z.looseObject({ recipients: z.array(z.string()), timestamp: Iso }).optional(),
  open: z.looseObject({ timestamp: Iso }).optional(),
  click: z.looseObject({ timestamp: Iso, link: z.string().default('') }).optional(),
});
export type SesEmailEvent = z.infer<typeof SesEmailEvent>;

/** What an event came to: its signals, or why it gives none (logged and counted, never retried). */
export type SesMapping =
  | { readonly signals: PipelineSignal[]; readonly accountId: string; readonly unmatched: number }
  | { readonly ignored: 'not_a_prospect_email' | 'soft_bounce' | 'not_spam' | 'event_type' | 'no_recipient_known' };

// "Name <a@b>" (a destination may carry a display name) -> a@b, lower-cased.
const addressOf = (value: string): string => (/<([^<>]+)>\s*$/.exec(value)?.[1] ?? value).trim().toLowerCase();

const shortHash = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex').slice(0, 16);

/**
 * Maps an SES event of a prospect email to signals about the account's stakeholders. Ids are
 * derived from the event (message, kind, person or time), never random, so a redelivered event
 * maps to the same signals and is stored once. Bounces and complaints name their people by
 * address (matched against the account's stakeholders); opens and clicks name the tagged
 * stakeholder, and no one for an email to several people. Only a hard bounce (Permanent) is a
 * bounce signal: a transient one says nothing about the address. A complaint whose feedback type
 * is `not-spam` is not a complaint.
 */
export function signalsOfSesEvent(event: SesEmailEvent, stakeholders: readonly Stakeholder[]): SesMapping {
  const ids = idsOfTags(event.mail.tags);
  if (ids.accountId === undefined) return { ignored: 'not_a_prospect_email' };
  const accountId = ids.accountId;
  const people = stakeholders.filter((s) => s.accountId === accountId);
  const byAddress = new Map(people.map((s) => [s.email.toLowerCase(), s]));
  const messageId = event.mail.messageId;
  const base = { accountId, ...(ids.actionId !== undefined ? { causedBy: ids.actionId } : {}) };
  // Ids name the person by stakeholder id, never by address: signal ids reach the audit trail and logs.
  const perPerson = (kind: SignalKind, addresses: readonly string[], at: string): SesMapping => {
    const seen = new Set<string>();
    const signals: PipelineSignal[] = [];
    let unmatched = 0;
    for (const address of addresses) {
      const s = byAddress.get(addressOf(address));
      if (s === undefined) {
        unmatched += 1;
        continue;
      }
      if (seen.has(s.id)) continue;
      seen.add(s.id);
      signals.push({ ...base, id: `ses-${messageId}-${kind}-${s.id}`, stakeholderId: s.id, kind, at });
    }
    return signals.length === 0 ? { ignored: 'no_recipient_known' } : { signals, accountId, unmatched };
  };
  // The email's one tagged person, or the only stakeholder among its recipients.
  const person = (): string | undefined => {
    if (ids.stakeholderId !== undefined) return people.some((s) => s.id === ids.stakeholderId) ? ids.stakeholderId : undefined;
    const known = event.mail.destination.map((d) => byAddress.get(addressOf(d))).filter((s): s is Stakeholder => s !== undefined);
    return known.length === 1 ? known[0]?.id : undefined;
  };
  const engagement = (kind: 'open' | 'click', at: string, discriminator: string): SesMapping => {
    const stakeholderId = person();
    return { signals: [{ ...base, id: `ses-${messageId}-${kind}-${discriminator}`, ...(stakeholderId !== undefined ? { stakeholderId } : {}), kind, at }], accountId, unmatched: 0 };
  };

  switch (event.eventType) {
    case 'Bounce': {
      if (event.bounce === undefined) return { ignored: 'event_type' };
      if (event.bounce.bounceType !== 'Permanent') return { ignored: 'soft_bounce' };
      return perPerson('bounce', event.bounce.bouncedRecipients.map((r) => r.emailAddress), event.bounce.timestamp);
    }
    case 'Complaint': {
      if (event.complaint === undefined) return { ignored: 'event_type' };
      if (event.complaint.complaintFeedbackType === 'not-spam') return { ignored: 'not_spam' };
      return perPerson('complaint', event.complaint.complainedRecipients.map((r) => r.emailAddress), event.complaint.timestamp);
    }
    case 'Delivery':
      if (event.delivery === undefined) return { ignored: 'event_type' };
      return perPerson('delivery', event.delivery.recipients, event.delivery.timestamp);
    case 'Open':
      if (event.open === undefined) return { ignored: 'event_type' };
      return engagement('open', event.open.timestamp, String(Date.parse(event.open.timestamp)));
    case 'Click':
      if (event.click === undefined) return { ignored: 'event_type' };
      // Two clicks on two links at one instant are two signals; the link itself stays out of the id.
      return engagement('click', event.click.timestamp, `${Date.parse(event.click.timestamp)}-${shortHash(event.click.link)}`);
    default:
      return { ignored: 'event_type' };
  }
}
