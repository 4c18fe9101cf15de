/**
 * Local stand-ins on 127.0.0.1 for the AWS services that have none of their own, speaking their
 * wire protocols so that the functions' unmodified SDK clients reach them:
 * - SESv2 `SendEmail` (REST-JSON, POST /v2/email/outbound-emails): each email becomes an `.eml`
 *   file; emails tagged as prospect email go to their own folder.
 * - Secrets Manager `GetSecretValue` (JSON 1.1): the template's generated secrets, kept in the
 *   data folder.
 * The IAM check runs in each function's SDK clients before a request gets here.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as z from 'zod';
import { PROSPECT_EMAIL_TAG } from '../../shared/adapters/email-connector.ts';
import type { Mailer } from '../../shared/ports/index.ts';

const Content = z.object({ Data: z.string(), Charset: z.string().optional() });
const SendEmail = z.object({
  FromEmailAddress: z.string().min(3),
  Destination: z.object({ ToAddresses: z.array(z.string().min(3)).min(1).max(50) }),
  Content: z.object({ Simple: z.object({ Subject: Content, Body: z.object({ Text: Content.optional(), Html: Content.optional() }) }) }),
  EmailTags: z.array(z.object({ Name: z.string().regex(/^[\w-]{1,256}$/), Value: z.string().regex(/^[\w-]{1,256}$/) })).optional(),
});
const GetSecretValue = z.object({ SecretId: z.string().min(1) });

/** Options of {@link startAwsEndpoints}. */
export interface AwsEndpointsOptions {
  /** Where the team's emails (approvals, reports) are written. */
  readonly outbox: Mailer;
  /** Where emails to prospects are written. */
  readonly prospects: Mailer;
  /** Secret values by ARN. */
  readonly secrets: ReadonlyMap<string, string>;
  /**
   * How many SendEmail requests of run reports (subject "[amk] ...") answer 503 before one is
   * accepted (tests: a Summarize whose email fails past the SDK's own retries). @default 0
   */
  readonly failReportEmails?: number;
  /**
   * How many attempts to send the first approval request (every other email to the team) answer
   * 503: with 3, its RequestApproval fails past the SDK's retries. Others sent meanwhile go out. @default 0
   */
  readonly failApprovalEmails?: number;
  /** Told of every email accepted (one SES email each, for the cost model), and whose it is. */
  readonly onEmail?: (to: 'team' | 'prospect') => void;
}

const readBody = (req: IncomingMessage, limit = 10 * 1024 * 1024): Promise<string> =>
  new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) reject(new Error('payload too large'));
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });

/** Starts the stand-ins; returns the endpoint URL for the SESv2 and Secrets Manager clients. */
export async function startAwsEndpoints(options: AwsEndpointsOptions, port = 0): Promise<{ url: string; close(): Promise<void> }> {
  let reportFailures = 0;
  let approvalFailures = 0;
  let failingApproval: string | undefined;
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const send = (status: number, body: unknown, type = 'application/json', errorType?: string) => {
      res.writeHead(status, { 'content-type': type, ...(errorType ? { 'x-amzn-errortype': errorType } : {}) });
      res.end(JSON.stringify(body));
    };
    try {
      const body = await readBody(req);
      const target = String(req.headers['x-amz-target'] ?? '');
      if (req.method === 'POST' && (req.url ?? '').split('?')[0] === '/v2/email/outbound-emails') {
        const parsed = SendEmail.safeParse(JSON.parse(body || '{}'));
        if (!parsed.success) return send(400, { message: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') }, 'application/json', 'BadRequestException');
        const e = parsed.data;
        if (e.Content.Simple.Subject.Data.startsWith('[amk]') && reportFailures < (options.failReportEmails ?? 0)) {
          reportFailures += 1;
          return send(503, { message: 'injected: service unavailable' }, 'application/json', 'ServiceUnavailable');
        }
        const prospect = e.EmailTags?.some((t) => t.Name === PROSPECT_EMAIL_TAG.name && t.Value === PROSPECT_EMAIL_TAG.value) ?? false;
        // One email, not one subject: two approvals can share a recipient and a subject, and the
        // injected failures must hit the retries of one send (its link makes the body unique).
        const approvalEmail = `${e.Destination.ToAddresses.join(',')} ${e.Content.Simple.Subject.Data} ${e.Content.Simple.Body.Text?.Data ?? ''}`;
        if (!prospect && !e.Content.Simple.Subject.Data.startsWith('[amk]') && approvalFailures < (options.failApprovalEmails ?? 0) && (failingApproval ??= approvalEmail) === approvalEmail) {
          approvalFailures += 1;
          return send(503, { message: 'injected: service unavailable' }, 'application/json', 'ServiceUnavailable');
        }
        const { messageId } = await (prospect ? options.prospects : options.outbox).send({
          to: e.Destination.ToAddresses,
          from: e.FromEmailAddress,
          subject: e.Content.Simple.Subject.Data,
          text: e.Content.Simple.Body.Text?.Data ?? '',
          html: e.Content.Simple.Body.Html?.Data ?? '',
        });
        options.onEmail?.(prospect ? 'prospect' : 'team');
        return send(200, { MessageId: messageId });
      }
      if (target === 'secretsmanager.GetSecretValue') {
        const parsed = GetSecretValue.safeParse(JSON.parse(body || '{}'));
        if (!parsed.success) return send(400, { __type: 'InvalidParameterException', message: 'SecretId is required' }, 'application/x-amz-json-1.1');
        const value = options.secrets.get(parsed.data.SecretId);
        if (value === undefined) {
          return send(400, { __type: 'ResourceNotFoundException', message: "Secrets Manager can't find the specified secret." }, 'application/x-amz-json-1.1');
        }
        const name = parsed.data.SecretId.split(':secret:')[1] ?? parsed.data.SecretId;
        return send(200, { ARN: parsed.data.SecretId, Name: name, SecretString: value, VersionId: 'local', VersionStages: ['AWSCURRENT'] }, 'application/x-amz-json-1.1');
      }
      return send(400, { __type: 'UnknownOperationException', message: `${req.method} ${req.url} ${target} is not served locally` }, 'application/x-amz-json-1.1');
    } catch {
      return send(500, { __type: 'InternalFailure', message: 'internal error' }, 'application/x-amz-json-1.1');
    }
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const { port: actual } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${actual}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
