/**
 * Run digests published as CloudTrail publishes its digest files: signed by KMS (an HMAC key only
 * the Summarize function may use, GenerateMac) and put in a bucket the audit writers cannot reach.
 * The MAC covers the SHA-256 of the digest's canonical JSON (KMS MACs messages of at most 4 KB; a
 * run's digest lists every account stream it touched).
 */
import { createHash } from 'node:crypto';
import { GenerateMacCommand, VerifyMacCommand, type KMSClient } from '@aws-sdk/client-kms';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { digestBytes, type AuditDigest, type SignedAuditDigest } from '../domain/audit-digest.ts';
import type { AuditDigestPublisher, AuditDigestReader } from '../ports/index.ts';

/** Where a run's digest lives in the digest bucket. */
export const digestObjectKey = (runId: string): string => `digests/${runId}.json`;

/** What the MAC is computed over: the SHA-256 of the digest's canonical bytes. */
export const digestMacMessage = (digest: AuditDigest): Buffer => createHash('sha256').update(digestBytes(digest)).digest();

export class KmsS3DigestPublisher implements AuditDigestPublisher {
  constructor(
    private readonly kms: KMSClient,
    private readonly s3: S3Client,
    private readonly keyId: string,
    private readonly bucket: string,
  ) {}

  async publish(digest: AuditDigest): Promise<{ location: string }> {
    const mac = await this.kms.send(new GenerateMacCommand({ KeyId: this.keyId, Message: digestMacMessage(digest), MacAlgorithm: 'HMAC_SHA_256' }));
    if (mac.Mac === undefined) throw new Error(`KMS GenerateMac on ${this.keyId} returned no MAC`);
    const signed: SignedAuditDigest = {
      digest,
      signature: { algorithm: 'HMAC_SHA_256', keyId: mac.KeyId ?? this.keyId, value: Buffer.from(mac.Mac).toString('base64') },
    };
    const key = digestObjectKey(digest.runId);
    const location = `s3://${this.bucket}/${key}`;
    try {
      // Write-once: the first digest of a run stands (a redriven Summarize cannot re-sign a cut stream).
      await this.s3.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: `${JSON.stringify(signed, null, 2)}\n`, ContentType: 'application/json', IfNoneMatch: '*' }));
    } catch (err) {
      if (!isAlreadyThere(err)) throw err;
    }
    return { location };
  }
}

/**
 * The digests read back for verification: listed under `digests/` (one LIST per thousand), each
 * published since the window's start read in full, and its MAC checked by KMS VerifyMac (the
 * verifier may check MACs, never make one).
 */
export class KmsS3DigestReader implements AuditDigestReader {
  constructor(
    private readonly kms: KMSClient,
    private readonly s3: S3Client,
    private readonly keyId: string,
    private readonly bucket: string,
  ) {}

  async publishedSince(since: string): Promise<Array<{ location: string; body: string }>> {
    const sinceMs = Date.parse(since);
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.s3.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: 'digests/', ...(token ? { ContinuationToken: token } : {}) }));
      for (const o of page.Contents ?? []) if (o.Key !== undefined && (o.LastModified?.getTime() ?? 0) >= sinceMs) keys.push(o.Key);
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    const out: Array<{ location: string; body: string }> = [];
    for (const key of keys) {
      const object = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      out.push({ location: `s3://${this.bucket}/${key}`, body: (await object.Body?.transformToString('utf8')) ?? '' });
    }
    return out;
  }

  async verify(signed: SignedAuditDigest): Promise<boolean> {
    try {
      const out = await this.kms.send(
        new VerifyMacCommand({ KeyId: this.keyId, Message: digestMacMessage(signed.digest), Mac: Buffer.from(signed.signature.value, 'base64'), MacAlgorithm: 'HMAC_SHA_256' }),
      );
      return out.MacValid === true;
    } catch (err) {
      // KMS answers a MAC that does not verify with an error, not with MacValid false.
      if (err instanceof Error && err.name === 'KMSInvalidMacException') return false;
      throw err;
    }
  }
}

/** S3's answer to a conditional put on a key that exists (412 Precondition Failed). */
const isAlreadyThere = (err: unknown): boolean =>
  err instanceof Error && (err.name === 'PreconditionFailed' || (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 412);
