/**
 * What a prospect receives: prospect-facing copy per action type, rendered from the action's type,
 * the person and the account — never the planning topic, an objection note from the CRM, or the
 * agent's rationale, which are internal. Merge fields are escaped for HTML and every header value
 * is one line. A campaign's content library (shared/domain/content.ts) words the emails it has
 * templates for; this built-in copy words the rest.
 */
import { fillMerge, mergeValues, resolveChoice, type Claim, type ContentAsset, type ContentLibrary, type EmailTemplate } from './content.ts';
import type { Action, ActionType, Stakeholder } from './model.ts';

/** A rendered email to one or more people of an account. */
export interface ProspectEmail {
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

/** One line, no control characters, at most `max` characters: safe as a header value. */
export function oneLine(value: string, max = 200): string {
  // eslint-disable-next-line no-control-regex
  const flat = value.replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, ' ').replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

const escapeHtml = (value: string): string =>
  value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

/** The prospect-facing copy of each email action type: subject and paragraphs, with {account}. */
const COPY: Partial<Record<ActionType, { subject: string; body: readonly string[] }>> = {
  nurture_email: {
    subject: 'Ideas for {account}',
    body: ['Teams like yours at {account} often ask how others approach this.', 'We put together a short read on what worked for them; happy to share it if useful.'],
  },
  objection_response: {
    subject: 'Your questions about our fit for {account}',
    body: ['Thank you for the questions your team raised.', 'We would be glad to walk you through the details that matter most to {account}, in whatever form suits you.'],
  },
  executive_briefing: {
    subject: 'A briefing prepared for {account}',
    body: ["We prepared a short briefing on what we are seeing in {account}'s market.", 'If a 20-minute conversation would help, reply with a time that suits you.'],
  },
  role_content: {
    subject: 'A guide for {account}',
    body: ['We thought this guide could be useful to you and your team at {account}.'],
  },
  event_invite: {
    subject: 'You are invited: our monthly webinar',
    body: ['Our monthly webinar looks at how B2B teams like {account} run account-based programmes.', 'Reply if you would like a seat; we will send the details.'],
  },
  sdr_email: {
    subject: "A quick question about {account}'s pipeline",
    body: ['Would a short call about how {account} builds pipeline be useful?', 'If now is not the right time, just let me know.'],
  },
};

/** The built-in email of an action of `type` to `people` at `accountName`; undefined if the type has no copy. */
export function builtInEmail(type: ActionType, people: readonly Pick<Stakeholder, 'name'>[], accountName: string): ProspectEmail | undefined {
  const copy = COPY[type];
  if (copy === undefined) return undefined;
  const account = oneLine(accountName, 120);
  const firstName = people.length === 1 ? oneLine(people[0]?.name ?? '', 80).split(' ')[0] ?? '' : '';
  const greeting = firstName !== '' ? `Hello ${firstName},` : 'Hello,';
  // A replacer function: a `$&` or `$'` in an account's name is text, not a replacement pattern.
  const fill = (s: string, esc: (v: string) => string) => s.replace(/\{account\}/g, () => esc(account));
  const paragraphs = copy.body.map((p) => fill(p, (v) => v));
  return {
    subject: oneLine(fill(copy.subject, (v) => v)),
    text: [greeting, '', ...paragraphs.flatMap((p) => [p, '']), 'Best regards'].join('\n'),
    html: [`<p>${escapeHtml(greeting)}</p>`, ...copy.body.map((p) => `<p>${fill(escapeHtml(p), escapeHtml)}</p>`), '<p>Best regards</p>'].join(''),
  };
}

/** An email from a library template to one person (merge fields escaped for where they go). */
function templateEmail(template: EmailTemplate, asset: ContentAsset | undefined, person: Pick<Stakeholder, 'name' | 'role'>, accountName: string): ProspectEmail {
  const values = mergeValues({ name: oneLine(person.name, 80), role: person.role }, oneLine(accountName, 120), asset);
  const paragraphs = template.body
    .split(/\r?\n\s*\r?\n/)
    .map((p) => p.trim())
    .filter((p) => p !== '');
  const linksAsset = asset !== undefined && !/\{\{\s*asset_url\s*\}\}/.test(template.body);
  const text = [...paragraphs.map((p) => fillMerge(p, values, (v) => v)), ...(linksAsset ? [`${asset.title}: ${asset.url}`] : [])].join('\n\n');
  const html = [
    ...paragraphs.map((p) => `<p>${fillMerge(escapeHtml(p), values, escapeHtml).replace(/\r?\n/g, '<br>')}</p>`),
    ...(linksAsset ? [`<p><a href="${escapeHtml(asset.url)}">${escapeHtml(asset.title)}</a></p>`] : []),
  ].join('');
  return { subject: oneLine(fillMerge(template.subject, values, (v) => v), 150), text, html };
}

/** What renders an action's email: the words, or why none may be sent. */
export type RenderedProspectEmail = (ProspectEmail & { readonly claims: readonly Claim[] }) | { readonly refused: string };

/**
 * The email of an action to one person at `accountName`: from the library template the action
 * was planned with (refused if the library no longer holds it as it was), else the built-in copy
 * of its type (refused if the type has none). Prospect-facing words only: never the planning
 * topic, an objection note from the CRM or the agent's rationale.
 */
export function renderProspectEmail(
  action: Pick<Action, 'type' | 'content'>,
  person: Pick<Stakeholder, 'name' | 'role'>,
  accountName: string,
  library: ContentLibrary | undefined,
): RenderedProspectEmail {
  const choice = action.content.template;
  if (choice !== undefined) {
    const resolved = resolveChoice(library, choice);
    if ('changed' in resolved) return { refused: `${resolved.changed}; nothing is sent that was not planned (and, where required, approved) as it reads now` };
    return { ...templateEmail(resolved.template, resolved.asset, person, accountName), claims: resolved.claims };
  }
  const email = builtInEmail(action.type, [person], accountName);
  return email === undefined ? { refused: `No prospect-facing copy for ${action.type} emails` } : { ...email, claims: [] };
}

/** The preview an approver reads: the email as it will be sent to the action's first person. */
export function emailPreview(
  action: Pick<Action, 'type' | 'content' | 'channel' | 'stakeholderIds'>,
  people: readonly Pick<Stakeholder, 'id' | 'name' | 'role'>[],
  accountName: string,
  library: ContentLibrary | undefined,
): { subject: string; text: string; claims: Array<{ statement: string; source: string }> } | undefined {
  if (action.channel !== 'email') return undefined;
  const person = people.find((p) => action.stakeholderIds.includes(p.id));
  if (person === undefined) return undefined;
  const email = renderProspectEmail(action, person, accountName, library);
  if ('refused' in email) return undefined;
  return { subject: email.subject, text: email.text, claims: email.claims.map(({ statement, source }) => ({ statement, source })) };
}
