/**
 * The tool connectors deployed with the stack. Email is the one connector so far: it sends
 * through SES from the sender address. A tool without a connector is refused at synth (a charter
 * may not allow it) and, should a call still arrive, refused at send with ToolRejectedError, so
 * nothing pretends to have acted.
 */
import { ToolRejectedError } from '../domain/errors.ts';
import type { Action, Stakeholder, Tool } from '../domain/model.ts';
import type { Mailer, ToolGateway, ToolResult } from '../ports/index.ts';

/** The tools that have a connector in the deployed stack. */
export const DEPLOYED_CONNECTORS: readonly Tool[] = ['email'];

/** SES tag that marks an email to a prospect (the embedded default files those apart). */
export const PROSPECT_EMAIL_TAG = { name: 'amk-kind', value: 'prospect' } as const;

/** The deployed connectors: email through SES; every other tool is refused. */
export class ConnectorToolGateway implements ToolGateway {
  constructor(
    private readonly mailer: Mailer,
    private readonly from: string,
  ) {}

  async execute(action: Action, stakeholders: Stakeholder[]): Promise<ToolResult> {
    if (!DEPLOYED_CONNECTORS.includes(action.tool)) throw new ToolRejectedError(`No connector for tool "${action.tool}" is deployed`);
    const to = stakeholders.map((s) => s.email);
    if (to.length === 0) throw new ToolRejectedError(`Action ${action.id} has no reachable stakeholder`);
    const subject = action.content.subject ?? action.content.topic;
    const { messageId } = await this.mailer.send({
      to,
      from: this.from,
      subject,
      text: action.content.topic,
      html: `<p>${action.content.topic.replace(/[<>&"]/g, '')}</p>`,
      tags: { [PROSPECT_EMAIL_TAG.name]: PROSPECT_EMAIL_TAG.value },
    });
    return { ok: true, externalId: messageId };
  }
}
