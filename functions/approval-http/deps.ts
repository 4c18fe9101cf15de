/**
 * Production ports of the approvals Function URL, built from environment variables (parsed once
 * with zod) and AWS clients created once per process. The signing key is read from Secrets
 * Manager at cold start, never from the environment.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SFNClient } from '@aws-sdk/client-sfn';
import { z } from 'zod';
import { InvalidConfigError } from '../../shared/domain/errors.ts';
import { createDynamoClient } from '../../shared/adapters/dynamodb/client.ts';
import { DynamoAccountRepository } from '../../shared/adapters/dynamodb/account-repository.ts';
import { DynamoApprovalRepository } from '../../shared/adapters/dynamodb/approval-repository.ts';
import { DynamoAuditLog } from '../../shared/adapters/dynamodb/audit-log.ts';
import { SesMailer } from '../../shared/adapters/ses-mailer.ts';
import { SfnTaskCallback } from '../../shared/adapters/sfn-callback.ts';
import { accountNames, type ApprovalDeps } from '../../shared/app/approvals.ts';

/** Environment of the approvals Function URL. */
export const ApprovalHttpEnv = z.object({
  APPROVALS_TABLE: z.string().min(1),
  AUDIT_TABLE: z.string().min(1),
  SIGNING_KEY_SECRET_ARN: z.string().min(1),
  /** Optional: in AWS the page's origin is the Function URL host of each request. */
  APPROVAL_BASE_URL: z.url({ protocol: /^https?$/ }).optional(),
  MAIL_FROM: z.string().min(3),
  /** Optional: with it the page shows account and stakeholder names instead of ids (needs read access). */
  ACCOUNTS_TABLE: z.string().min(1).optional(),
});
export type ApprovalHttpEnv = z.infer<typeof ApprovalHttpEnv>;

/** Shortest signing key accepted (bytes): HMAC-SHA256 wants at least its output size. */
export const MIN_SIGNING_KEY_BYTES = 32;

/** Parses the environment; a missing or invalid variable fails with its name. */
export function parseApprovalHttpEnv(env: Readonly<Record<string, string | undefined>>): ApprovalHttpEnv {
  const parsed = ApprovalHttpEnv.safeParse(env);
  if (!parsed.success) {
    throw new InvalidConfigError(
      'environment',
      parsed.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message })),
      { cause: parsed.error },
    );
  }
  return parsed.data;
}

/**
 * Turns a secret value into the signing key: SecretBinary as raw bytes, otherwise SecretString
 * as UTF-8 bytes (what CDK's generateSecretString produces).
 */
export function signingKeyFromSecret(secret: { SecretString?: string | undefined; SecretBinary?: Uint8Array | undefined }): Buffer {
  const key =
    secret.SecretBinary !== undefined && secret.SecretBinary.length > 0
      ? Buffer.from(secret.SecretBinary)
      : Buffer.from(secret.SecretString ?? '', 'utf8');
  if (key.length < MIN_SIGNING_KEY_BYTES) {
    throw new InvalidConfigError('SIGNING_KEY_SECRET_ARN', [
      { path: '', message: `the signing key secret must hold at least ${MIN_SIGNING_KEY_BYTES} bytes` },
    ]);
  }
  return key;
}

/** Reads the link-signing key from Secrets Manager. */
export async function loadSigningKey(client: SecretsManagerClient, secretId: string): Promise<Buffer> {
  const out = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
  return signingKeyFromSecret(out);
}

/** Builds the approval ports from the environment (call once per process). */
export async function approvalHttpDeps(env: Readonly<Record<string, string | undefined>> = process.env): Promise<ApprovalDeps> {
  const config = parseApprovalHttpEnv(env);
  const dynamo = createDynamoClient();
  const key = await loadSigningKey(new SecretsManagerClient({}), config.SIGNING_KEY_SECRET_ARN);
  return {
    approvals: new DynamoApprovalRepository(dynamo, config.APPROVALS_TABLE),
    audit: new DynamoAuditLog(dynamo, config.AUDIT_TABLE),
    // This function only answers link requests; the mailer is there because the port set is shared.
    mailer: new SesMailer(new SESv2Client({})),
    callback: new SfnTaskCallback(new SFNClient({})),
    key,
    clock: () => new Date().toISOString(),
    baseUrl: (config.APPROVAL_BASE_URL ?? '').replace(/\/+$/, ''),
    from: config.MAIL_FROM,
    // Never in AWS: the simulated reviewer exists only in the local demo.
    allowSimulatedReviewer: false,
    log: (entry) => console.error(JSON.stringify(entry)),
    ...(config.ACCOUNTS_TABLE !== undefined
      ? { names: accountNames(new DynamoAccountRepository(dynamo, config.ACCOUNTS_TABLE)) }
      : {}),
  };
}
