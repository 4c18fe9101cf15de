/**
 * The tool connectors deployed with the stack. Email is the one connector so far: it sends
 * through SES from the sender address. A tool without a connector is refused at synth (a charter
 * may not allow it) and, should a call still arrive, refused at send with ToolRejectedError, so
 * nothing pretends to have acted.
 */
import { ToolRejectedError } from '../domain/errors.ts';
import type { Action, Stakeholder, Tool } from '../domain/model.ts';
import type { Mailer, ToolAccount, ToolGateway, ToolResult } from '../ports/index.ts';
import { renderProspectEmail } from '../domain/prospect-email.ts';

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

  async execute(action: Action, stakeholders: Stakeholder[], account: ToolAccount): Promise<ToolResult> {
    if (!DEPLOYED_CONNECTORS.includes(action.tool)) throw new ToolRejectedError(`No connector for tool "${action.tool}" is deployed`);
    const to = stakeholders.map((s) => s.email);
    if (to.length === 0) throw new ToolRejectedError(`Action ${action.id} has no reachable stakeholder`);
    // Prospect-facing copy only: never the planning topic, the CRM's notes or the rationale.
    const email = renderProspectEmail(action.type, stakeholders, account.name);
    if (email === undefined) throw new ToolRejectedError(`No prospect-facing copy for ${action.type} emails`);
    const { messageId } = await this.mailer.send({
      to,
      from: this.from,
      ...email,
      tags: { [PROSPECT_EMAIL_TAG.name]: PROSPECT_EMAIL_TAG.value },
    });
    return { ok: true, externalId: messageId };
  }
}
