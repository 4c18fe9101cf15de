/** Mailer over Amazon SES v2 (SendEmail with simple text + HTML content). */
import { SendEmailCommand, type SESv2Client } from '@aws-sdk/client-sesv2';
import type { Mailer, OutgoingEmail } from '../ports/index.ts';
import { oneLine } from '../domain/prospect-email.ts';

/** Sends email through SESv2; SDK errors propagate with their names. */
export class SesMailer implements Mailer {
  constructor(private readonly client: SESv2Client) {}

  /** Sends one email and returns SES's message id. */
  async send(email: OutgoingEmail): Promise<{ messageId: string }> {
    const out = await this.client.send(
      new SendEmailCommand({
        FromEmailAddress: email.from,
        Destination: { ToAddresses: [...email.to] },
        ...(email.tags ? { EmailTags: Object.entries(email.tags).map(([Name, Value]) => ({ Name, Value })) } : {}),
        Content: {
          Simple: {
            // One line whatever the caller built: a CR/LF must never start another header.
            Subject: { Data: oneLine(email.subject, 998), Charset: 'UTF-8' },
            Body: {
              Text: { Data: email.text, Charset: 'UTF-8' },
              Html: { Data: email.html, Charset: 'UTF-8' },
            },
          },
        },
      }),
    );
    // SES always returns an id on success; without one the send cannot be audited or traced.
    if (out.MessageId === undefined || out.MessageId === '') throw new Error('SES SendEmail returned no MessageId');
    return { messageId: out.MessageId };
  }
}
