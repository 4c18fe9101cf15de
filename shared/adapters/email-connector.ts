/**
 * The email connector: marketing email (and the content recommendations it carries) through SES
 * from the sender address. The other tools go through the connectors of config/connectors.yaml
 * (shared/adapters/connectors); a tool without a connector is refused at synth (a charter may not
 * allow it) and, should a call still arrive, refused at send with ToolRejectedError.
 */
import { ToolRejectedError } from '../domain/errors.ts';
import { EMAIL_TOOLS } from '../domain/connectors.ts';
import type { Action, Stakeholder } from '../domain/model.ts';
import type { Mailer, ToolAccount, ToolGateway, ToolResult } from '../ports/index.ts';
import { renderProspectEmail } from '../domain/prospect-email.ts';
import { prospectEmailTags } from '../domain/signals-ses.ts';
import { emailFooter, unsubscribeHeaders, unsubscribeUrl } from '../domain/unsubscribe.ts';


/** SES tag that marks an email to a prospect (the embedded default files those apart). */
export const PROSPECT_EMAIL_TAG = { name: 'amk-kind', value: 'prospect' } as const;

/** What every marketing email carries besides its copy: a way out, and who sent it from where. */
export interface MarketingEmailSender {
  /** The From address. */
  readonly from: string;
  /** The sender's name and postal address, in every email's footer. */
  readonly name: string;
  readonly postalAddress: string;
  /** The approval endpoint's base URL, which serves the unsubscribe links. */
  readonly unsubscribeBaseUrl: string;
  /** The key unsubscribe links are signed with. */
  readonly linkKey: Buffer;
}

/**
 * The deployed connectors: email through SES; every other tool is refused. Each person gets their
 * own email, so that its one-click unsubscribe link (in the RFC 8058 headers and the footer) is
 * theirs; the action's external id lists the messages.
 */
export class ConnectorToolGateway implements ToolGateway {
  constructor(
    private readonly mailer: Mailer,
    private readonly sender: MarketingEmailSender,
  ) {}

  async execute(action: Action, stakeholders: Stakeholder[], account: ToolAccount): Promise<ToolResult> {
    if (!EMAIL_TOOLS.includes(action.tool)) throw new ToolRejectedError(`The email connector does not carry tool "${action.tool}"`);
    if (stakeholders.length === 0) throw new ToolRejectedError(`Action ${action.id} has no reachable stakeholder`);
    const ids: string[] = [];
    for (const person of stakeholders) {
      // Prospect-facing copy only: never the planning topic, the CRM's notes or the rationale.
      const email = renderProspectEmail(action, person, account.name, account.library);
      if ('refused' in email) throw new ToolRejectedError(email.refused);
      const url = unsubscribeUrl(this.sender.unsubscribeBaseUrl, { accountId: action.accountId, stakeholderId: person.id }, this.sender.linkKey);
      const footer = emailFooter({ unsubscribeUrl: url, senderName: this.sender.name, postalAddress: this.sender.postalAddress });
      const { messageId } = await this.mailer.send({
        to: [person.email],
        from: this.sender.from,
        subject: email.subject,
        text: `${email.text}\n\n${footer.text}`,
        html: `${email.html}${footer.html}`,
        headers: unsubscribeHeaders(url),
        // The tags come back on every SES event of the email (delivery, open, click, bounce,
        // complaint): they map it to its account, person and action (shared/domain/signals-ses.ts).
        tags: { [PROSPECT_EMAIL_TAG.name]: PROSPECT_EMAIL_TAG.value, ...prospectEmailTags({ accountId: action.accountId, stakeholderIds: [person.id], actionId: action.id }) },
      });
      ids.push(messageId);
    }
    return { ok: true, externalId: ids.join(',') };
  }
}
