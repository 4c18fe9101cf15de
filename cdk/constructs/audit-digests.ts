/**
 * Where run digests go, outside the audit table: an HMAC key in KMS that only the Summarize
 * function may use (GenerateMac; the key material never leaves KMS, so no audit writer can sign),
 * and a versioned bucket only Summarize writes to (each run's digest once, with If-None-Match),
 * as CloudTrail keeps its digest files. Auditors verify with kms:VerifyMac.
 */
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { Key, KeySpec, KeyUsage } from 'aws-cdk-lib/aws-kms';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

export class AuditDigests extends Construct {
  /** The HMAC key that signs digests (HMAC_SHA_256). */
  readonly key: Key;
  /** The bucket digests are published to (`digests/<runId>.json`). */
  readonly bucket: Bucket;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.key = new Key(this, 'DigestKey', {
      description: 'Signs audit digests (the heads of the audit streams a run touched); only Summarize may GenerateMac',
      keySpec: KeySpec.HMAC_256,
      keyUsage: KeyUsage.GENERATE_VERIFY_MAC,
      removalPolicy: RemovalPolicy.RETAIN,
      pendingWindow: Duration.days(30),
    });
    this.bucket = new Bucket(this, 'DigestBucket', {
      versioned: true,
      enforceSSL: true,
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'One writer (the Summarize role, PutObject with If-None-Match on digests/*) and versioning keep every digest ever written; ' +
        'access to it is in CloudTrail data events where the account records them, not in a second log bucket.',
    });
  }
}
