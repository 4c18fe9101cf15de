/**
 * What an approver sees: the approval email and the pages behind the link. Pure string
 * rendering; every dynamic value goes through `escapeHtml`, because rationale, topics and names
 * come from agents and CRM imports and must be treated as hostile.
 *
 * Pages carry no JavaScript (the CSP forbids it anyway) and inline CSS only, so they work under
 * `default-src 'none'` and nothing on them can submit a decision by itself.
 */
import type { Approval, FiredRule, ReviewerKind } from '../domain/model.ts';

/** An email ready for a Mailer (recipients and sender are added by the caller). */
export interface RenderedEmail {
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

/** Names that make an approval readable (the approval itself holds only ids). */
export interface ApprovalNames {
  readonly accountName: string;
  readonly stakeholderNames: readonly string[];
}

/** Inputs of the confirmation page. */
export interface ApprovalPageInput extends ApprovalNames {
  readonly approval: Approval;
  /** The approver the link was issued to (equal to approval.approver once checked). */
  readonly approver: string;
  /** When the link stops working (ISO). */
  readonly expiresAt: string;
  readonly csrf: string;
  readonly nonce: string;
  /** A problem with the previous submission, shown above the form. */
  readonly error?: string;
  /** The reason typed before a failed submission, so it is not lost. */
  readonly reason?: string;
}

/** The earlier decision an "already decided" page reports. */
export interface EarlierDecision {
  readonly status: Approval['status'];
  readonly decidedBy?: string | undefined;
  readonly decidedAt?: string | undefined;
  readonly reviewerKind?: ReviewerKind | undefined;
}

/** The maximum length of a decision reason, enforced by the form and the server. */
export const REASON_MAX_LENGTH = 500;

/** Foreground/background pairs the pages use; each meets WCAG AA (4.5:1) for normal text. */
export const PAGE_COLOURS = {
  text: { fg: '#1a1a1a', bg: '#ffffff' },
  muted: { fg: '#4a4a4a', bg: '#ffffff' },
  link: { fg: '#0b57d0', bg: '#ffffff' },
  approve: { fg: '#ffffff', bg: '#0b6b2f' },
  reject: { fg: '#ffffff', bg: '#a4161a' },
  error: { fg: '#1a1a1a', bg: '#fdecea' },
  note: { fg: '#1a1a1a', bg: '#eef3fc' },
} as const;

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes a value for HTML text and double- or single-quoted attributes. */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (ch) => HTML_ESCAPES[ch] ?? ch);
}

// Control characters in a subject would let a hostile topic inject mail headers downstream.
function oneLine(value: string, max: number): string {
  const flat = value.replace(/[\u0000-\u001f\u007f]+/g, ' ').replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

function humanize(identifier: string): string {
  const words = identifier.replace(/_/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function formatUsd(amount: number): string {
  return `$${amount.toFixed(2)}`;
}

function formatPercent(ratio: number): string {
  return `${Math.round(ratio * 100)}%`;
}

/** Formats an ISO time as `YYYY-MM-DD HH:MM UTC` (unambiguous across the approver's zones). */
function formatTime(iso: string | undefined): string {
  if (iso === undefined) return 'an unknown time';
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms)) return iso;
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

function stakeholderList(names: readonly string[]): string {
  return names.length > 0 ? names.join(', ') : 'no named stakeholder';
}

function contentSummary(approval: Approval): string {
  const { topic } = approval.action.content;
  // The subject the prospect will read (the preview's), where there is one.
  const subject = approval.preview?.subject ?? approval.action.content.subject;
  return subject !== undefined && subject !== '' ? `topic “${topic}”, subject “${subject}”` : `topic “${topic}”`;
}

function ruleLabel(rule: FiredRule): string {
  return `${rule.ruleId} (${rule.source})`;
}

/** One sentence on what approving will do, in the tool's own terms. */
function whatWillHappen(approval: Approval, names: ApprovalNames): string {
  const who = stakeholderList(names.stakeholderNames);
  const { action } = approval;
  const topic = `“${action.content.topic}”`;
  const cost = formatUsd(action.costUsd);
  switch (action.tool) {
    case 'email':
      return `The agent will send an email on ${topic} to ${who} at ${names.accountName} (estimated cost ${cost}).`;
    case 'sales_task':
      return `The agent will create a sales task about ${topic} for ${who} at ${names.accountName} (estimated cost ${cost}).`;
    case 'ad_audience':
      return `The agent will add ${who} at ${names.accountName} to an ad audience for ${topic} (estimated cost ${cost}).`;
    case 'content_recommendation':
      return `The agent will recommend content on ${topic} to ${who} at ${names.accountName} (estimated cost ${cost}).`;
    case 'webhook':
      return `The agent will call the configured webhook about ${topic} for ${who} at ${names.accountName} (estimated cost ${cost}).`;
  }
}

/** The facts both the email and the page show, as label/value pairs (values unescaped). */
function facts(approval: Approval, names: ApprovalNames, expiresAt: string | undefined): Array<[string, string]> {
  const { action } = approval;
  return [
    ['Account', names.accountName],
    ['Stakeholders', stakeholderList(names.stakeholderNames)],
    ['Action', `${humanize(action.type)} (${action.type})`],
    ['Tool / channel', `${action.tool} / ${action.channel}`],
    ['Estimated cost', formatUsd(action.costUsd)],
    ['Content', contentSummary(approval)],
    ['Agent', action.agentId],
    ['Rationale', action.rationale],
    ['Agent confidence', formatPercent(action.confidence)],
    ['Rules that fired', approval.rules.length > 0 ? approval.rules.map(ruleLabel).join('; ') : 'none recorded'],
    ['Link expires', formatTime(expiresAt)],
    ...(approval.quorum !== undefined ? [['Two-person rule', seatsOf(approval)] as [string, string]] : []),
    ...(approval.escalationOf !== undefined
      ? [['Escalation', `The first approver did not decide approval ${approval.escalationOf} in time.`] as [string, string]]
      : []),
  ];
}

/** Every approver seated on the action's two-person rule, this link's own marked, and what it takes. */
function seatsOf(approval: Approval): string {
  const seated = [...new Set(approval.rules.flatMap((r) => r.approvers))];
  const names = seated.map((a) => (a.toLowerCase() === approval.approver.toLowerCase() ? `${a} (you)` : a));
  return `${approval.quorum?.min ?? 2} distinct approvers must approve: ${names.join(', ')}. It runs only once each of them has; one rejection stops it.`;
}

/** The email the prospect will read, as text lines (empty when the action sends no email). */
function previewText(approval: Approval): string[] {
  const { preview } = approval;
  if (preview === undefined) return [];
  return [
    'What they will read (the unsubscribe link, sender and postal address follow it):',
    `  Subject: ${preview.subject}`,
    ...preview.text.split('\n').map((line) => `  ${line}`.trimEnd()),
    ...(preview.claims.length > 0 ? ['', 'Claims it makes:', ...preview.claims.map((c) => `  - ${c.statement} (source: ${c.source})`)] : []),
    '',
  ];
}

/** The email the prospect will read, as HTML (empty when the action sends no email). */
function previewHtml(approval: Approval, heading: (text: string) => string, blockAttrs: string): string {
  const { preview } = approval;
  if (preview === undefined) return '';
  const paragraphs = preview.text.split(/\n\s*\n/).map((p) => `<p>${escapeHtml(p).replace(/\n/g, '<br>')}</p>`);
  const claims =
    preview.claims.length > 0
      ? `<p><strong>Claims it makes:</strong></p><ul>${preview.claims.map((c) => `<li>${escapeHtml(c.statement)} <span class="muted">(source: ${escapeHtml(c.source)})</span></li>`).join('')}</ul>`
      : '';
  return [
    heading('What they will read'),
    `<blockquote ${blockAttrs}><p><strong>Subject: ${escapeHtml(preview.subject)}</strong></p>${paragraphs.join('')}<p class="muted">The unsubscribe link, sender and postal address follow.</p></blockquote>`,
    claims,
  ].join('');
}

/** Renders the approval request email: the facts, the expiry and the link (text and HTML). */
export function renderApprovalEmail(
  approval: Approval,
  link: string,
  accountName: string,
  stakeholderNames: readonly string[],
): RenderedEmail {
  const names: ApprovalNames = { accountName, stakeholderNames };
  const rows = facts(approval, names, approval.expiresAt);
  const subject = oneLine(`Approval needed: ${humanize(approval.action.type)} for ${accountName}`, 150);
  const width = Math.max(...rows.map(([label]) => label.length)) + 2;

  const text = [
    subject,
    '',
    'An agent proposes an action that needs your approval before it runs.',
    '',
    ...rows.map(([label, value]) => `${`${label}:`.padEnd(width)}${value}`),
    '',
    whatWillHappen(approval, names),
    '',
    ...previewText(approval),
    'Review and decide here (the link opens a confirmation page; nothing is decided until you press Approve or Reject):',
    link,
    '',
    `This link is issued to ${approval.approver} only and expires ${formatTime(approval.expiresAt)}. Do not forward it: whoever opens it can decide as you.`,
    `Approval ${approval.id} · run ${approval.runId} · action digest ${approval.actionDigest.slice(0, 16)}`,
    '',
  ].join('\n');

  const cell = 'padding:6px 12px 6px 0;vertical-align:top;text-align:left;';
  const html = [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(subject)}</title></head>`,
    `<body style="margin:0;padding:16px;background:#ffffff;color:${PAGE_COLOURS.text.fg};font-family:system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;font-size:16px;line-height:1.5;">`,
    '<div style="max-width:640px;margin:0 auto;">',
    `<h1 style="font-size:22px;line-height:1.3;margin:0 0 12px;">${escapeHtml(subject)}</h1>`,
    '<p style="margin:0 0 16px;">An agent proposes an action that needs your approval before it runs.</p>',
    '<table role="presentation" style="border-collapse:collapse;width:100%;margin:0 0 16px;">',
    ...rows.map(
      ([label, value]) =>
        `<tr><th scope="row" style="${cell}font-weight:600;white-space:nowrap;">${escapeHtml(label)}</th><td style="${cell}">${escapeHtml(value)}</td></tr>`,
    ),
    '</table>',
    `<p style="margin:0 0 16px;">${escapeHtml(whatWillHappen(approval, names))}</p>`,
    previewHtml(approval, (text) => `<h2 style="font-size:18px;margin:16px 0 8px;">${escapeHtml(text)}</h2>`, 'style="margin:0 0 16px;padding:8px 16px;border-left:4px solid #595959;background:#f5f5f5;"'),
    `<p style="margin:0 0 8px;"><a href="${escapeHtml(link)}" style="display:inline-block;padding:12px 20px;background:${PAGE_COLOURS.link.fg};color:#ffffff;text-decoration:none;border-radius:4px;font-weight:600;">Review and decide</a></p>`,
    `<p style="margin:0 0 16px;color:${PAGE_COLOURS.muted.fg};font-size:14px;">The link opens a confirmation page; nothing is decided until you press Approve or Reject. If the button does not work, copy this address: <a href="${escapeHtml(link)}" style="color:${PAGE_COLOURS.link.fg};word-break:break-all;">${escapeHtml(link)}</a></p>`,
    `<p style="margin:0 0 8px;color:${PAGE_COLOURS.muted.fg};font-size:14px;">This link is issued to ${escapeHtml(approval.approver)} only and expires ${escapeHtml(formatTime(approval.expiresAt))}. Do not forward it: whoever opens it can decide as you.</p>`,
    `<p style="margin:0;color:${PAGE_COLOURS.muted.fg};font-size:14px;">Approval ${escapeHtml(approval.id)} · run ${escapeHtml(approval.runId)} · action digest ${escapeHtml(approval.actionDigest.slice(0, 16))}</p>`,
    '</div></body></html>',
    '',
  ].join('\n');

  return { subject, text, html };
}

const CSS = `
*,*::before,*::after{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:${PAGE_COLOURS.text.bg};color:${PAGE_COLOURS.text.fg};font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;font-size:1rem;line-height:1.5}
main{max-width:42rem;margin:0 auto;padding:1.25rem 1rem 3rem}
h1{font-size:1.5rem;line-height:1.25;margin:0 0 1rem}
h2{font-size:1.15rem;margin:1.75rem 0 .5rem}
p{margin:0 0 1rem}
a{color:${PAGE_COLOURS.link.fg}}
.muted{color:${PAGE_COLOURS.muted.fg};font-size:.9375rem}
dl.facts{display:grid;grid-template-columns:minmax(8rem,max-content) 1fr;gap:.375rem 1rem;margin:0 0 1rem}
dl.facts dt{font-weight:600}
dl.facts dd{margin:0;overflow-wrap:anywhere}
ul{margin:0 0 1rem;padding-left:1.25rem}
.note{background:${PAGE_COLOURS.note.bg};border-left:4px solid ${PAGE_COLOURS.link.fg};padding:.75rem 1rem;margin:0 0 1rem}
.preview{margin:0 0 1rem;padding:.5rem 1rem;border-left:4px solid #595959;background:${PAGE_COLOURS.note.bg}}
.error{background:${PAGE_COLOURS.error.bg};border-left:4px solid ${PAGE_COLOURS.reject.bg};padding:.75rem 1rem;margin:0 0 1rem}
form{margin:0 0 1.5rem}
label{display:block;font-weight:600;margin:0 0 .25rem}
textarea{display:block;width:100%;min-height:6rem;padding:.5rem;font:inherit;color:inherit;background:#fff;border:1px solid #595959;border-radius:4px}
.actions{display:flex;flex-wrap:wrap;gap:.75rem;margin-top:1rem}
button{font:inherit;font-weight:600;min-height:2.75rem;padding:.625rem 1.25rem;border:0;border-radius:4px;cursor:pointer}
button.approve{background:${PAGE_COLOURS.approve.bg};color:${PAGE_COLOURS.approve.fg}}
button.reject{background:${PAGE_COLOURS.reject.bg};color:${PAGE_COLOURS.reject.fg}}
a:focus-visible,button:focus-visible,textarea:focus-visible{outline:3px solid ${PAGE_COLOURS.link.fg};outline-offset:2px}
@media (max-width:30rem){dl.facts{grid-template-columns:1fr}dl.facts dd{margin-bottom:.5rem}.actions button{flex:1 1 100%}}
`.trim();

function layout(title: string, body: string): string {
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="referrer" content="no-referrer">',
    '<meta name="robots" content="noindex, nofollow">',
    `<title>${escapeHtml(title)} · Autonomous Marketing</title>`,
    `<style>${CSS}</style>`,
    '</head>',
    '<body>',
    '<main>',
    body,
    '</main>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

function messagePage(title: string, paragraphs: readonly string[]): string {
  return layout(title, [`<h1>${escapeHtml(title)}</h1>`, ...paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`)].join('\n'));
}

function reviewerLabel(by: string | undefined, kind: ReviewerKind | undefined): string {
  const who = by ?? 'an unknown reviewer';
  return kind === 'simulated' ? `${who} (simulated reviewer of the local demo)` : who;
}

/** Renders the confirmation page: the facts, what will happen, and the approve/reject form. */
export function renderApprovalPage(input: ApprovalPageInput): string {
  const { approval } = input;
  const names: ApprovalNames = { accountName: input.accountName, stakeholderNames: input.stakeholderNames };
  const rows = facts(approval, names, input.expiresAt).filter(([label]) => label !== 'Rules that fired');
  const title = `Approve ${humanize(approval.action.type).toLowerCase()} for ${input.accountName}?`;
  const rules =
    approval.rules.length > 0
      ? `<ul>${approval.rules
          .map((r) => `<li><code>${escapeHtml(r.ruleId)}</code> from <code>${escapeHtml(r.source)}</code></li>`)
          .join('')}</ul>`
      : '<p>No rule is recorded for this approval.</p>';
  const body = [
    `<h1>${escapeHtml(title)}</h1>`,
    `<p class="note">You are deciding as <strong>${escapeHtml(input.approver)}</strong>. Nothing happens until you press Approve or Reject.</p>`,
    input.error !== undefined ? `<div class="error" role="alert"><p><strong>${escapeHtml(input.error)}</strong></p></div>` : '',
    '<h2>The proposed action</h2>',
    '<dl class="facts">',
    ...rows.map(([label, value]) => `<dt>${escapeHtml(label)}</dt><dd>${escapeHtml(value)}</dd>`),
    '</dl>',
    '<h2>Why it needs your approval</h2>',
    rules,
    '<h2>What will happen</h2>',
    `<p><strong>If you approve:</strong> ${escapeHtml(whatWillHappen(approval, names))}</p>`,
    '<p><strong>If you reject:</strong> nothing is sent; your reason is recorded in the audit trail and the agent plans around it.</p>',
    previewHtml(approval, (text) => `<h2>${escapeHtml(text)}</h2>`, 'class="preview"'),
    '<h2>Your decision</h2>',
    // No action attribute: the form posts back to this very URL, signature included.
    '<form method="post">',
    `<input type="hidden" name="csrf" value="${escapeHtml(input.csrf)}">`,
    `<input type="hidden" name="nonce" value="${escapeHtml(input.nonce)}">`,
    '<label for="reason">Reason (required to reject)</label>',
    `<p id="reason-hint" class="muted">Up to ${REASON_MAX_LENGTH} characters. Optional when approving.</p>`,
    `<textarea id="reason" name="reason" maxlength="${REASON_MAX_LENGTH}" rows="4" aria-describedby="reason-hint">${escapeHtml(input.reason ?? '')}</textarea>`,
    '<div class="actions">',
    '<button type="submit" name="decision" value="approve" class="approve">Approve</button>',
    '<button type="submit" name="decision" value="reject" class="reject">Reject</button>',
    '</div>',
    '</form>',
    `<p class="muted">Approval ${escapeHtml(approval.id)} · run ${escapeHtml(approval.runId)} · action digest <code>${escapeHtml(approval.actionDigest.slice(0, 16))}</code> · charter <code>${escapeHtml(approval.charterHash.slice(0, 12))}</code></p>`,
  ]
    .filter((line) => line !== '')
    .join('\n');
  return layout(title, body);
}

/** Renders the page after a decision was recorded and delivered to the workflow. */
export function renderDecidedPage(decision: {
  status: 'approved' | 'rejected';
  decidedBy: string;
  decidedAt: string;
  reviewerKind: ReviewerKind;
}): string {
  const by = reviewerLabel(decision.decidedBy, decision.reviewerKind);
  return decision.status === 'approved'
    ? messagePage('Approved — the action will run', [
        `Recorded as approved by ${by} at ${formatTime(decision.decidedAt)}.`,
        'You can close this page.',
      ])
    : messagePage('Rejected', [
        `Recorded as rejected by ${by} at ${formatTime(decision.decidedAt)}. Nothing will be sent.`,
        'You can close this page.',
      ]);
}

/** Renders the page for an approval that was decided (or closed) before this request. */
export function renderAlreadyDecidedPage(earlier: EarlierDecision): string {
  const by = reviewerLabel(earlier.decidedBy, earlier.reviewerKind);
  const at = formatTime(earlier.decidedAt);
  switch (earlier.status) {
    case 'approved':
      return messagePage('Already decided', [`This approval was already approved by ${by} at ${at}.`, 'Nothing was changed.']);
    case 'rejected':
      return messagePage('Already decided', [`This approval was already rejected by ${by} at ${at}.`, 'Nothing was changed.']);
    case 'expired':
      return messagePage('Already closed', [`This approval expired at ${at} without a decision; nothing ran.`, 'Nothing was changed.']);
    case 'skipped':
      return messagePage('Already closed', [`This approval was withdrawn at ${at}; nothing ran.`, 'Nothing was changed.']);
    case 'queued':
    case 'pending':
      return messagePage('Not open for decisions', ['This approval is not open for decisions right now.', 'Nothing was changed.']);
  }
}

/** Renders the page for an expired link. */
export function renderExpiredPage(): string {
  return messagePage('This link has expired', [
    'The approval window for this action has closed, so it can no longer be decided from this link.',
    'Nothing was changed. If the action still matters, the campaign owner can rerun or escalate it.',
  ]);
}

/** Renders the generic page for a tampered, malformed or unknown link (no detail helps an attacker). */
export function renderInvalidLinkPage(): string {
  return messagePage('This link is not valid', [
    'The approval link could not be verified. It may have been copied incompletely or altered.',
    'Nothing was changed. Open the link from the original email again, or ask the campaign owner for a new one.',
  ]);
}

/** Renders the page for a link presented by someone it was not issued to. */
export function renderNotYourApprovalPage(): string {
  return messagePage('This link cannot decide this approval', [
    'The link was not issued for this approval’s approver.',
    'Nothing was changed. Use the link from the email that was sent to you.',
  ]);
}

/** Renders the page for a POST whose form token is missing or wrong (e.g. a cross-site form). */
export function renderFormExpiredPage(): string {
  return messagePage('Please review the action again', [
    'This decision did not come from the confirmation page we showed, so it was not accepted.',
    'Nothing was changed. Open the link from the email again and use the buttons on the page.',
  ]);
}

/** Renders the page for a decision that reached an approval whose workflow had already stopped waiting. */
export function renderTooLatePage(): string {
  return messagePage('Too late to decide', [
    'This approval expired before your decision reached the workflow — nothing will run.',
    'Your attempt was recorded in the audit trail.',
  ]);
}

/** Renders a generic error page; the message is shown as given (never pass internal details). */
export function renderErrorPage(
  title = 'Something went wrong',
  message = 'We could not process this request. Your decision may or may not have been recorded: open the link from the email again to see the current status.',
): string {
  return messagePage(title, [message]);
}

/**
 * The page an unsubscribe link opens: one button that POSTs the one-click body to the same
 * address (a GET changes nothing, so a mail scanner that opens the link unsubscribes no one).
 */
export function renderUnsubscribePage(): string {
  return layout(
    'Unsubscribe',
    [
      '<h1>Unsubscribe from these emails?</h1>',
      '<p>Press the button and you will receive no further marketing email from us. Nothing else is needed.</p>',
      '<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">Unsubscribe</button></form>',
    ].join('\n'),
  );
}

/** The page after an unsubscribe (also when the person had already left). */
export function renderUnsubscribedPage(): string {
  return messagePage('You are unsubscribed', ['You will receive no further marketing email from us. If this was a mistake, reply to any earlier email and we will put it right.']);
}

/** The page of an unsubscribe link that is not authentic or names no one we know. */
export function renderInvalidUnsubscribePage(): string {
  return messagePage('This unsubscribe link is not valid', ['Use the link from the email exactly as it arrived, or reply to the email and ask to be removed.']);
}
