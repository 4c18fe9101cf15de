/**
 * The local mailer: every email becomes an RFC 5322 `.eml` file under an outbox folder, which any
 * mail client can open, and which `readEml` / `findApprovalLinks` read back so a reviewer (or a
 * test) can follow the approval link.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Mailer, OutgoingEmail } from '../shared/ports/index.ts';

/** An email read back from an `.eml` file. */
export interface ParsedEml {
  readonly to: string[];
  readonly from: string;
  readonly subject: string;
  readonly messageId: string;
  readonly text: string;
  readonly html: string;
  /** Every top-level header, by lower-case name (the first of a repeated one). */
  readonly headers: Readonly<Record<string, string>>;
}

const CRLF = '\r\n';
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Writes each email as `<timestamp>-<messageId>.eml` in `dir`, atomically. */
export class OutboxMailer implements Mailer {
  constructor(
    private readonly dir: string,
    private readonly clock: () => string,
  ) {}

  /** Writes the email and returns its message id (without angle brackets). */
  async send(email: OutgoingEmail): Promise<{ messageId: string }> {
    const now = this.clock();
    const id = randomUUID();
    const messageId = `${id}@outbox.amk.local`;
    const source = buildEml(email, { messageId, date: now, boundary: `amk-${randomUUID()}` });
    mkdirSync(this.dir, { recursive: true });
    const name = `${fileStamp(now)}-${id}.eml`;
    // Write under a dot-name first, then rename: a watcher of *.eml never sees half a message.
    const temp = join(this.dir, `.${name}.tmp`);
    writeFileSync(temp, source, { encoding: 'utf8', flag: 'wx' });
    renameSync(temp, join(this.dir, name));
    return { messageId };
  }
}

function fileStamp(iso: string): string {
  const ms = Date.parse(iso);
  const normal = Number.isFinite(ms) ? new Date(ms).toISOString() : iso;
  return normal.replace(/[^0-9TZ]/g, '');
}

/** Formats an ISO time as an RFC 5322 date (`Tue, 26 Nov 2024 01:07:00 +0000`). */
export function rfc5322Date(iso: string): string {
  const d = new Date(Date.parse(iso));
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${DAYS[d.getUTCDay()]}, ${pad(d.getUTCDate())} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
}

// A CR or LF in a header value would start a new header (header injection).
function headerSafe(value: string): string {
  return value.replace(/[\r\n]+/g, ' ');
}

/** Encodes a header value as RFC 2047 encoded-words when it is not plain ASCII. */
export function encodeHeaderWord(value: string): string {
  const flat = headerSafe(value);
  if (/^[\x20-\x7e]*$/.test(flat)) return flat;
  // Each encoded-word holds at most 45 bytes (60 base64 chars + 12 of framing < 75), split on
  // code points so no UTF-8 sequence is cut in half.
  const words: string[] = [];
  let chunk = '';
  for (const ch of flat) {
    if (Buffer.byteLength(chunk + ch, 'utf8') > 45) {
      words.push(chunk);
      chunk = '';
    }
    chunk += ch;
  }
  if (chunk !== '') words.push(chunk);
  return words.map((w) => `=?UTF-8?B?${Buffer.from(w, 'utf8').toString('base64')}?=`).join(`${CRLF} `);
}

/** Encodes text as quoted-printable (RFC 2045) with CRLF line breaks and 76-character lines. */
export function encodeQuotedPrintable(text: string): string {
  const lines = text.replace(/\r\n|\r|\n/g, '\n').split('\n');
  return lines
    .map((line) => {
      const bytes = Buffer.from(line, 'utf8');
      const tokens: string[] = [];
      bytes.forEach((b, i) => {
        const last = i === bytes.length - 1;
        const printable = (b >= 33 && b <= 126 && b !== 61) || ((b === 32 || b === 9) && !last);
        tokens.push(printable ? String.fromCharCode(b) : `=${b.toString(16).toUpperCase().padStart(2, '0')}`);
      });
      // Soft line breaks ("=" at the end) keep every physical line within 76 characters.
      const out: string[] = [];
      let current = '';
      for (const token of tokens) {
        if (current.length + token.length > 75) {
          out.push(`${current}=`);
          current = '';
        }
        current += token;
      }
      out.push(current);
      return out.join(CRLF);
    })
    .join(CRLF);
}

/** Decodes quoted-printable text (soft line breaks removed, bytes read as UTF-8). */
export function decodeQuotedPrintable(encoded: string): string {
  const joined = encoded.replace(/=\r?\n/g, '');
  const bytes: number[] = [];
  for (let i = 0; i < joined.length; i++) {
    const ch = joined[i] ?? '';
    const hex = joined.slice(i + 1, i + 3);
    if (ch === '=' && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(ch, 'utf8'));
    }
  }
  return Buffer.from(bytes).toString('utf8').replace(/\r\n/g, '\n');
}

/** Builds the RFC 5322 source of a multipart/alternative email (text and HTML, quoted-printable). */
export function buildEml(email: OutgoingEmail, meta: { messageId: string; date: string; boundary: string }): string {
  const part = (type: string, body: string): string =>
    [
      `--${meta.boundary}`,
      `Content-Type: ${type}; charset=utf-8`,
      'Content-Transfer-Encoding: quoted-printable',
      '',
      encodeQuotedPrintable(body),
    ].join(CRLF);
  return [
    `From: ${headerSafe(email.from)}`,
    `To: ${email.to.map(headerSafe).join(', ')}`,
    `Subject: ${encodeHeaderWord(email.subject)}`,
    `Date: ${rfc5322Date(meta.date)}`,
    `Message-ID: <${meta.messageId}>`,
    ...Object.entries(email.headers ?? {}).map(([name, value]) => `${name}: ${headerSafe(value)}`),
    'MIME-Version: 1.0',
    // Folded: with the boundary on one line the header would pass the 78-character guideline.
    `Content-Type: multipart/alternative;${CRLF} boundary="${meta.boundary}"`,
    '',
    'This is a multi-part message in MIME format.',
    part('text/plain', email.text),
    part('text/html', email.html),
    `--${meta.boundary}--`,
    '',
  ].join(CRLF);
}

function decodeEncodedWords(value: string): string {
  // Whitespace between adjacent encoded-words is folding, not content (RFC 2047 section 6.2).
  const joined = value.replace(/\?=\s+=\?/g, '?==?');
  return joined.replace(/=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g, (_all, _charset: string, enc: string, data: string) =>
    enc.toUpperCase() === 'B'
      ? Buffer.from(data, 'base64').toString('utf8')
      : decodeQuotedPrintable(data.replace(/_/g, ' ')),
  );
}

function parseHeaders(block: string): Map<string, string> {
  const headers = new Map<string, string>();
  // Unfold continuation lines before splitting (RFC 5322 section 2.2.3).
  for (const line of block.replace(/\r?\n[ \t]/g, ' ').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!headers.has(name)) headers.set(name, line.slice(colon + 1).trim());
  }
  return headers;
}

function splitHeadBody(source: string): { head: string; body: string } {
  const match = /\r?\n\r?\n/.exec(source);
  if (match === null) return { head: source, body: '' };
  return { head: source.slice(0, match.index), body: source.slice(match.index + match[0].length) };
}

function decodeBody(body: string, transferEncoding: string | undefined): string {
  switch ((transferEncoding ?? '7bit').toLowerCase()) {
    case 'quoted-printable':
      return decodeQuotedPrintable(body);
    case 'base64':
      return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
    default:
      return body.replace(/\r\n/g, '\n');
  }
}

/** Parses the source of an `.eml` file written by OutboxMailer (or any simple MIME email). */
export function parseEml(source: string): ParsedEml {
  const { head, body } = splitHeadBody(source);
  const headers = parseHeaders(head);
  const result = {
    to: (headers.get('to') ?? '').split(',').map((s) => s.trim()).filter((s) => s !== ''),
    from: headers.get('from') ?? '',
    subject: decodeEncodedWords(headers.get('subject') ?? ''),
    messageId: (headers.get('message-id') ?? '').replace(/^<|>$/g, ''),
    text: '',
    html: '',
    headers: Object.fromEntries(headers),
  };
  const contentType = headers.get('content-type') ?? 'text/plain';
  const boundary = /boundary="?([^";]+)"?/i.exec(contentType)?.[1];
  const parts =
    boundary === undefined
      ? [{ type: contentType, content: decodeBody(body, headers.get('content-transfer-encoding')) }]
      : body
          .split(`--${boundary}`)
          .slice(1)
          .filter((chunk) => !chunk.startsWith('--'))
          .map((chunk) => {
            const part = splitHeadBody(chunk.replace(/^\r?\n/, ''));
            const partHeaders = parseHeaders(part.head);
            return {
              type: partHeaders.get('content-type') ?? 'text/plain',
              // The CRLF before the next boundary belongs to the boundary, not the content.
              content: decodeBody(part.body.replace(/\r?\n$/, ''), partHeaders.get('content-transfer-encoding')),
            };
          });
  for (const part of parts) {
    const type = part.type.toLowerCase();
    if (type.startsWith('text/plain') && result.text === '') result.text = part.content;
    if (type.startsWith('text/html') && result.html === '') result.html = part.content;
  }
  return result;
}

/** Reads an `.eml` file back: recipients, subject, text and HTML. */
export function readEml(path: string): ParsedEml {
  return parseEml(readFileSync(path, 'utf8'));
}

/** Finds the approval links in an email's text (or HTML), in order, without duplicates. */
export function findApprovalLinks(text: string): string[] {
  const found = text.match(/https?:\/\/[^\s<>"'()]+\/approvals\/[^\s<>"'()]+/g) ?? [];
  // Links inside HTML attributes arrive with "&amp;"; a reviewer needs the real URL.
  // Sentence punctuation after a link is not part of it (a signature never ends with it).
  return [...new Set(found.map((link) => link.replace(/&amp;/g, '&').replace(/[.,;:!?]+$/, '')))];
}
