/**
 * What SES would publish about a prospect email the local SES stand-in accepted: the EventBridge
 * event of a delivery, open, click, bounce or complaint, in the shape AWS documents (source
 * `aws.ses`, detail-type `Email Bounced` etc., detail the SES event record with the email's tags,
 * each as a list, and the configuration set's name among them). The embedded default has no mail
 * servers to bounce, so tests and demos publish these on the local bus themselves.
 */
import { SES_CONFIGURATION_SET_TAG, SES_EVENT_DETAIL_TYPES, SES_EVENT_SOURCE } from '../../shared/domain/signals-ses.ts';
import type { SentProspectEmail } from './aws-endpoints.ts';
import type { PutEventsEntry } from './event-bus.ts';
import { LOCAL_ACCOUNT, LOCAL_REGION } from './template.ts';

/** The SES events the stack's configuration set publishes. */
export type SesEventKind = keyof typeof SES_EVENT_DETAIL_TYPES;

/** Options of one event. */
export interface SesEventOptions {
  /** When it happened (ISO). */
  readonly at: string;
  /** Whom it is about (bounce, complaint, delivery). @default every recipient of the email */
  readonly recipients?: readonly string[];
  /** A bounce's type. @default 'Permanent' (a hard bounce) */
  readonly bounceType?: 'Permanent' | 'Transient' | 'Undetermined';
  /** A clicked link. @default 'https://example.com/' */
  readonly link?: string;
}

const EVENT_TYPE: Readonly<Record<SesEventKind, string>> = { delivery: 'Delivery', open: 'Open', click: 'Click', bounce: 'Bounce', complaint: 'Complaint' };

/** The EventBridge entry SES would put on the default bus for `kind` of `sent`. */
export function sesEventOf(sent: SentProspectEmail, kind: SesEventKind, options: SesEventOptions): PutEventsEntry {
  const recipients = [...(options.recipients ?? sent.to)];
  const domain = sent.from.split('@')[1] ?? sent.from;
  const tags: Record<string, string[]> = Object.fromEntries(Object.entries(sent.tags).map(([k, v]) => [k, [v]]));
  if (sent.configurationSet !== undefined) tags[SES_CONFIGURATION_SET_TAG] = [sent.configurationSet];
  tags['ses:from-domain'] = [domain];
  tags['ses:caller-identity'] = ['local'];
  const mail = {
    timestamp: options.at,
    source: sent.from,
    sourceArn: `arn:aws:ses:${LOCAL_REGION}:${LOCAL_ACCOUNT}:identity/${domain}`,
    sendingAccountId: LOCAL_ACCOUNT,
    messageId: sent.messageId,
    destination: [...sent.to],
    headersTruncated: false,
    tags,
  };
  const at = options.at;
  const detail: Record<string, unknown> = { eventType: EVENT_TYPE[kind], mail };
  switch (kind) {
    case 'bounce':
      detail.bounce = {
        bounceType: options.bounceType ?? 'Permanent',
        bounceSubType: 'General',
        bouncedRecipients: recipients.map((emailAddress) => ({ emailAddress, action: 'failed', status: '5.1.1', diagnosticCode: 'smtp; 550 5.1.1 user unknown' })),
        timestamp: at,
        feedbackId: `local-${sent.messageId}-bounce`,
        reportingMTA: 'dsn; mta.amk.localhost',
      };
      break;
    case 'complaint':
      detail.complaint = {
        complainedRecipients: recipients.map((emailAddress) => ({ emailAddress })),
        timestamp: at,
        feedbackId: `local-${sent.messageId}-complaint`,
        userAgent: 'local',
        complaintFeedbackType: 'abuse',
        arrivalDate: at,
      };
      break;
    case 'delivery':
      detail.delivery = { timestamp: at, processingTimeMillis: 500, recipients, smtpResponse: '250 ok', reportingMTA: 'mta.amk.localhost' };
      break;
    case 'open':
      detail.open = { ipAddress: '127.0.0.1', timestamp: at, userAgent: 'local' };
      break;
    case 'click':
      detail.click = { ipAddress: '127.0.0.1', timestamp: at, userAgent: 'local', link: options.link ?? 'https://example.com/', linkTags: {} };
      break;
  }
  return {
    source: SES_EVENT_SOURCE,
    detailType: SES_EVENT_DETAIL_TYPES[kind],
    detail,
    time: at,
    resources: sent.configurationSet !== undefined ? [`arn:aws:ses:${LOCAL_REGION}:${LOCAL_ACCOUNT}:configuration-set/${sent.configurationSet}`] : [],
  };
}
