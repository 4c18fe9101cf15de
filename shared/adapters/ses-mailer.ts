/** Mailer over Amazon SES v2 (SendEmail with simple text + HTML content). */
import { SendEmailCommand, type SESv2Client } from '@aws-sdk/client-sesv2';
import type { Mailer, OutgoingEmail } from '../ports/index.ts';
import { oneLine } from '../domain/prospect-email.ts';

/** Options of {@link SesMailer}. */
export interface SesMailerOptions {
  /**
   * The configuration set every email of this mailer is sent through: SES publishes the emails'
   * events (delivery, open, click, bounce, complaint) through its event destination.
   * @default - none: SES publishes no events for these emails
   */
  readonly configurationSetName?: string;
}

/** Sends email through SESv2; SDK errors propagate with their names. */
export class SesMailer implements Mailer {
  constructor(
    private readonly client: SESv2Client,
    private readonly options: SesMailerOptions = {},
  ) {}

  /** Sends one email and returns SES's message id. */
  async send(email: OutgoingEmail): Promise<{ messageId: string }> {
    const out = await this.client.send(
      new SendEmailCommand({
        FromEmailAddress: email.from,
        Destination: { ToAddresses: [...email.to] },
        ...(this.options.configurationSetName !== undefined ? { ConfigurationSetName: this.options.configurationSetName } : {}),
        ...(email.tags ? { EmailTags: Object.entries(email.tags).map(([Name, Value]) => ({ Name, Value })) } : {}),
        Content: {
          Simple: {
            // One line whatever the caller built: a CR/LF must never start another header.
            Subject: { Data: oneLine(email.subject, 998), Charset: 'UTF-8' },
            Body: {
              Text: { Data: email.text, Charset: 'UTF-8' },
              Html: { Data: email.html, Charset: 'UTF-8' },
            },
            ...(email.headers ? { Headers: Object.entries(email.headers).map(([Name, Value]) => ({ Name, Value: oneLine(Value, 998) })) } : {}),
          },
        },
      }),
    );
    // SES always returns an id on success; without one the send cannot be audited or traced.
    if (out.MessageId === undefined || out.MessageId === '') throw new Error('SES SendEmail returned no MessageId');
    return { messageId: out.MessageId };
  }
}
