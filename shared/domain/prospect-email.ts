/**
 * What a prospect receives: prospect-facing copy per action type, rendered from the action's type,
 * the person and the account — never the planning topic, an objection note from the CRM, or the
 * agent's rationale, which are internal. Merge fields are escaped for HTML and every header value
 * is one line. (A content library in config takes this over later; the rule stays.)
 */
import type { ActionType, Stakeholder } from './model.ts';

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

/** The email of an action of `type` to `people` at `accountName`; undefined if the type has no copy. */
export function renderProspectEmail(type: ActionType, people: readonly Pick<Stakeholder, 'name'>[], accountName: string): ProspectEmail | undefined {
  const copy = COPY[type];
  if (copy === undefined) return undefined;
  const account = oneLine(accountName, 120);
  const firstName = people.length === 1 ? oneLine(people[0]?.name ?? '', 80).split(' ')[0] ?? '' : '';
  const greeting = firstName !== '' ? `Hello ${firstName},` : 'Hello,';
  const fill = (s: string, esc: (v: string) => string) => s.replace(/\{account\}/g, esc(account));
  const paragraphs = copy.body.map((p) => fill(p, (v) => v));
  return {
    subject: oneLine(fill(copy.subject, (v) => v)),
    text: [greeting, '', ...paragraphs.flatMap((p) => [p, '']), 'Best regards'].join('\n'),
    html: [`<p>${escapeHtml(greeting)}</p>`, ...copy.body.map((p) => `<p>${fill(escapeHtml(p), escapeHtml)}</p>`), '<p>Best regards</p>'].join(''),
  };
}
