/**
 * Local stand-ins on 127.0.0.1 for the AWS services that have none of their own, speaking their
 * wire protocols so that the functions' unmodified SDK clients reach them:
 * - SESv2 `SendEmail` (REST-JSON, POST /v2/email/outbound-emails): each email becomes an `.eml`
 *   file; emails tagged as prospect email go to their own folder, and what SES would publish
 *   their events with (message id, tags, configuration set) is told to `onProspectEmail`.
 * - Secrets Manager `GetSecretValue` (JSON 1.1): the template's generated secrets, kept in the
 *   data folder.
 * - KMS `GenerateMac` and `VerifyMac` (JSON 1.1, HMAC_SHA_256): the template's HMAC keys, their
 *   material kept in the data folder (in AWS it never leaves KMS).
 * - S3 `PutObject` (with `If-None-Match: *`), `GetObject` and `ListObjectsV2`, path-style: objects
 *   are files under the data folder's `s3/<bucket>/`.
 * The IAM check runs in each function's SDK clients before a request gets here.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { dirname, join, resolve, sep } from 'node:path';
import type { AddressInfo } from 'node:net';
import * as z from 'zod';
import { PROSPECT_EMAIL_TAG } from '../../shared/adapters/email-connector.ts';
import type { Mailer } from '../../shared/ports/index.ts';

const Content = z.object({ Data: z.string(), Charset: z.string().optional() });
const SendEmail = z.object({
  FromEmailAddress: z.string().min(3),
  Destination: z.object({ ToAddresses: z.array(z.string().min(3)).min(1).max(50) }),
  Content: z.object({
    Simple: z.object({
      Subject: Content,
      Body: z.object({ Text: Content.optional(), Html: Content.optional() }),
      // As SESv2 takes them: header names of letters, digits and dashes, values of one line.
      Headers: z.array(z.object({ Name: z.string().regex(/^[A-Za-z0-9-]{1,126}$/), Value: z.string().max(870).regex(/^[^\r\n]*$/) })).max(15).optional(),
    }),
  }),
  EmailTags: z.array(z.object({ Name: z.string().regex(/^[\w-]{1,256}$/), Value: z.string().regex(/^[\w-]{1,256}$/) })).optional(),
  ConfigurationSetName: z.string().regex(/^[\w-]{1,64}$/).optional(),
});
const GetSecretValue = z.object({ SecretId: z.string().min(1) });
const GenerateMac = z.object({ KeyId: z.string().min(1), Message: z.string().min(1), MacAlgorithm: z.literal('HMAC_SHA_256') });
const VerifyMac = GenerateMac.extend({ Mac: z.string().min(1) });

/** Options of {@link startAwsEndpoints}. */
export interface AwsEndpointsOptions {
  /** Where the team's emails (approvals, reports) are written. */
  readonly outbox: Mailer;
  /** Where emails to prospects are written. */
  readonly prospects: Mailer;
  /** Secret values by ARN. */
  readonly secrets: ReadonlyMap<string, string>;
  /** HMAC key material by KMS key ARN. @default none */
  readonly macKeys?: ReadonlyMap<string, Buffer>;
  /** Folder of the S3 stand-in's buckets (one folder each). @default none: S3 is not served */
  readonly s3Dir?: string;
  /** The time an object is put at (its LastModified): the embedded default's simulated clock. @default the system clock */
  readonly clock?: () => string;
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
  /** Told of every prospect email accepted, with what its SES events would carry. @default nothing */
  readonly onProspectEmail?: (sent: SentProspectEmail) => void;
}

/** A prospect email as SES knows it: what its events (delivery, bounce, ...) name it by. */
export interface SentProspectEmail {
  readonly messageId: string;
  readonly from: string;
  readonly to: readonly string[];
  readonly tags: Readonly<Record<string, string>>;
  readonly configurationSet?: string;
}

const readBody = (req: IncomingMessage, limit = 10 * 1024 * 1024): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) reject(new Error('payload too large'));
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });

/** The file of a path-style S3 request (`/bucket/key`), kept inside its bucket's folder. */
function s3ObjectPath(s3Dir: string, url: string): { bucketDir: string; file: string } | undefined {
  const path = decodeURIComponent(url.split('?')[0] ?? '');
  const match = /^\/([a-z0-9][a-z0-9.-]{1,62})\/(.+)$/i.exec(path);
  if (!match) return undefined;
  const bucketDir = resolve(s3Dir, match[1] as string);
  const file = resolve(bucketDir, match[2] as string);
  return file.startsWith(bucketDir + sep) ? { bucketDir, file } : undefined;
}

const xmlEscape = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * ListObjectsV2 (`GET /bucket?list-type=2&prefix=...`, path-style) over a bucket's folder: every
 * key under the prefix in UTF-8 order, with its LastModified (the file's) and size, at most 1,000.
 */
function s3Listing(s3Dir: string, method: string, url: string): { status: number; body: string } | undefined {
  const [path, query = ''] = url.split('?');
  const params = new URLSearchParams(query);
  const match = /^\/([a-z0-9][a-z0-9.-]{1,62})\/?$/i.exec(decodeURIComponent(path ?? ''));
  if (method !== 'GET' || !match || params.get('list-type') !== '2') return undefined;
  const bucket = match[1] as string;
  const bucketDir = resolve(s3Dir, bucket);
  if (!existsSync(bucketDir)) return { status: 404, body: '<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message></Error>' };
  const prefix = params.get('prefix') ?? '';
  const keys: Array<{ key: string; modified: string; size: number }> = [];
  const walk = (dir: string, rel: string): void => {
    for (const name of readdirSync(dir)) {
      const file = join(dir, name);
      const key = rel === '' ? name : `${rel}/${name}`;
      const stat = statSync(file);
      if (stat.isDirectory()) walk(file, key);
      else if (key.startsWith(prefix) && !key.endsWith('.tmp')) keys.push({ key, modified: stat.mtime.toISOString(), size: stat.size });
    }
  };
  walk(bucketDir, '');
  keys.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const page = keys.slice(0, 1000);
  const contents = page.map((k) => `<Contents><Key>${xmlEscape(k.key)}</Key><LastModified>${k.modified}</LastModified><Size>${k.size}</Size><StorageClass>STANDARD</StorageClass></Contents>`).join('');
  return {
    status: 200,
    body: `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>${xmlEscape(bucket)}</Name><Prefix>${xmlEscape(prefix)}</Prefix><KeyCount>${page.length}</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>${keys.length > 1000}</IsTruncated>${contents}</ListBucketResult>`,
  };
}

/** A bucket's folder in the S3 stand-in. */
export const localBucketDir = (s3Dir: string, bucket: string): string => join(s3Dir, bucket);

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
      const raw = await readBody(req);
      const body = raw.toString('utf8');
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
          ...(e.Content.Simple.Headers ? { headers: Object.fromEntries(e.Content.Simple.Headers.map((h) => [h.Name, h.Value])) } : {}),
        });
        options.onEmail?.(prospect ? 'prospect' : 'team');
        if (prospect) {
          options.onProspectEmail?.({
            messageId,
            from: e.FromEmailAddress,
            to: e.Destination.ToAddresses,
            tags: Object.fromEntries((e.EmailTags ?? []).map((t) => [t.Name, t.Value])),
            ...(e.ConfigurationSetName !== undefined ? { configurationSet: e.ConfigurationSetName } : {}),
          });
        }
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
      if (target === 'TrentService.GenerateMac') {
        const parsed = GenerateMac.safeParse(JSON.parse(body || '{}'));
        if (!parsed.success) return send(400, { __type: 'ValidationException', message: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') }, 'application/x-amz-json-1.1');
        const key = options.macKeys?.get(parsed.data.KeyId);
        if (key === undefined) return send(400, { __type: 'NotFoundException', message: `Key '${parsed.data.KeyId}' does not exist` }, 'application/x-amz-json-1.1');
        const mac = createHmac('sha256', key).update(Buffer.from(parsed.data.Message, 'base64')).digest('base64');
        return send(200, { KeyId: parsed.data.KeyId, Mac: mac, MacAlgorithm: 'HMAC_SHA_256' }, 'application/x-amz-json-1.1');
      }
      if (target === 'TrentService.VerifyMac') {
        const parsed = VerifyMac.safeParse(JSON.parse(body || '{}'));
        if (!parsed.success) return send(400, { __type: 'ValidationException', message: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') }, 'application/x-amz-json-1.1');
        const key = options.macKeys?.get(parsed.data.KeyId);
        if (key === undefined) return send(400, { __type: 'NotFoundException', message: `Key '${parsed.data.KeyId}' does not exist` }, 'application/x-amz-json-1.1');
        const expected = createHmac('sha256', key).update(Buffer.from(parsed.data.Message, 'base64')).digest();
        const actual = Buffer.from(parsed.data.Mac, 'base64');
        // As KMS answers a MAC that does not verify: KMSInvalidMacException, not MacValid false.
        if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) return send(400, { __type: 'KMSInvalidMacException', message: 'The MAC did not verify' }, 'application/x-amz-json-1.1');
        return send(200, { KeyId: parsed.data.KeyId, MacValid: true, MacAlgorithm: 'HMAC_SHA_256' }, 'application/x-amz-json-1.1');
      }
      const listing = options.s3Dir === undefined ? undefined : s3Listing(options.s3Dir, req.method ?? '', req.url ?? '');
      if (listing !== undefined) {
        res.writeHead(listing.status, { 'content-type': 'application/xml' });
        return res.end(listing.body);
      }
      const object = options.s3Dir === undefined ? undefined : s3ObjectPath(options.s3Dir, req.url ?? '');
      if (object !== undefined && (req.method === 'PUT' || req.method === 'GET')) {
        const xml = (status: number, code: string, message: string) => {
          res.writeHead(status, { 'content-type': 'application/xml' });
          res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`);
        };
        if (!existsSync(object.bucketDir)) return xml(404, 'NoSuchBucket', 'The specified bucket does not exist');
        if (req.method === 'GET') {
          if (!existsSync(object.file)) return xml(404, 'NoSuchKey', 'The specified key does not exist.');
          res.writeHead(200, { 'content-type': 'application/octet-stream' });
          return res.end(readFileSync(object.file));
        }
        if (req.headers['if-none-match'] === '*' && existsSync(object.file)) return xml(412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold');
        mkdirSync(dirname(object.file), { recursive: true });
        writeFileSync(`${object.file}.tmp`, raw);
        renameSync(`${object.file}.tmp`, object.file);
        if (options.clock) {
          const at = new Date(options.clock());
          utimesSync(object.file, at, at);
        }
        res.writeHead(200, { etag: '"local"' });
        return res.end();
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
