import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  OutboxMailer,
  decodeQuotedPrintable,
  encodeQuotedPrintable,
  findApprovalLinks,
  readEml,
} from '../../local/outbox.ts';

const link =
  'http://127.0.0.1:4321/approvals/apr-1?a=ZGFuYUBleGFtcGxlLmNvbQ&exp=1893542400&sig=abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'amk-outbox-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('the local outbox', () => {
  it('writes one .eml file named after the time and message id, and leaves no temporary file', async () => {
    const mailer = new OutboxMailer(join(dir, 'outbox'), () => '2030-01-01T08:09:10.123Z');
    const { messageId } = await mailer.send({
      to: ['dana@example.com'],
      from: 'amk@example.com',
      subject: 'Approval needed',
      text: `Open ${link}`,
      html: `<p><a href="${link.replace(/&/g, '&amp;')}">Review</a></p>`,
    });
    const files = readdirSync(join(dir, 'outbox'));
    expect(files).toEqual([`20300101T080910123Z-${messageId.split('@')[0]}.eml`]);
  });

  it('writes a multipart/alternative RFC 5322 message with the required headers and CRLF lines', async () => {
    const mailer = new OutboxMailer(dir, () => '2030-01-01T08:09:10.000Z');
    await mailer.send({ to: ['dana@example.com'], from: 'amk@example.com', subject: 'Hi', text: 'plain', html: '<p>html</p>' });
    const [file] = readdirSync(dir);
    const source = readFileSync(join(dir, file ?? ''), 'utf8');
    const head = source.slice(0, source.indexOf('\r\n\r\n'));
    expect(head).toMatch(/^From: amk@example\.com$/m);
    expect(head).toMatch(/^To: dana@example\.com$/m);
    expect(head).toMatch(/^Subject: Hi$/m);
    expect(head).toMatch(/^Date: Tue, 01 Jan 2030 08:09:10 \+0000$/m);
    expect(head).toMatch(/^Message-ID: <[^>]+@outbox\.amk\.local>$/m);
    expect(head).toMatch(/^MIME-Version: 1\.0$/m);
    expect(head).toMatch(/^Content-Type: multipart\/alternative;\r\n boundary="[^"]+"$/m);
    expect(source).toContain('Content-Type: text/plain; charset=utf-8');
    expect(source).toContain('Content-Type: text/html; charset=utf-8');
    expect(source.replace(/\r\n/g, '')).not.toContain('\n');
    for (const line of source.split('\r\n')) expect(line.length).toBeLessThanOrEqual(78);
  });

  it('reads back the recipients, a non-ASCII subject, the text and the HTML exactly', async () => {
    const mailer = new OutboxMailer(dir, () => '2030-01-01T08:09:10.000Z');
    const email = {
      to: ['dana@example.com', 'sam@example.com'],
      from: 'amk@example.com',
      subject: 'Freigabe nötig: Führungskräfte-Briefing für Müller & Söhne — ein sehr langer Betreff, der umbrochen wird',
      text: `Grüße,\nsee ${link}\n\ttrailing space \nend=done`,
      html: `<p style="color:#1a1a1a">Grüße <a href="${link.replace(/&/g, '&amp;')}">Review</a></p>`,
    };
    await mailer.send(email);
    const [file] = readdirSync(dir);
    const source = readFileSync(join(dir, file ?? ''), 'utf8');
    expect(source).toMatch(/^Subject: =\?UTF-8\?B\?/m);
    const parsed = readEml(join(dir, file ?? ''));
    expect(parsed.to).toEqual(email.to);
    expect(parsed.subject).toBe(email.subject);
    expect(parsed.text).toBe(email.text);
    expect(parsed.html).toBe(email.html);
  });

  it('finds the approval link in the text and in the HTML of the email it wrote', async () => {
    const mailer = new OutboxMailer(dir, () => '2030-01-01T08:09:10.000Z');
    await mailer.send({
      to: ['dana@example.com'],
      from: 'amk@example.com',
      subject: 'Approval needed',
      text: `Review here:\n${link}\n`,
      html: `<a href="${link.replace(/&/g, '&amp;')}">Review</a>`,
    });
    const [file] = readdirSync(dir);
    const parsed = readEml(join(dir, file ?? ''));
    expect(findApprovalLinks(parsed.text)).toEqual([link]);
    expect(findApprovalLinks(parsed.html)).toEqual([link]);
  });

  it('ignores links that are not approval links and drops trailing punctuation', () => {
    expect(findApprovalLinks(`See https://example.com/docs and ${link}.`)).toEqual([link]);
  });

  it('round-trips any text through quoted-printable with lines of at most 76 characters', () => {
    const text = `${'é'.repeat(100)} = ${'x'.repeat(200)}\t\n line two  `;
    const encoded = encodeQuotedPrintable(text);
    for (const line of encoded.split('\r\n')) expect(line.length).toBeLessThanOrEqual(76);
    expect(decodeQuotedPrintable(encoded)).toBe(text);
  });
});
