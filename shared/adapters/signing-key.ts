/**
 * The link-signing key, read from Secrets Manager at cold start (never from the environment).
 */
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { InvalidConfigError } from '../domain/errors.ts';

/** Shortest signing key accepted (bytes): HMAC-SHA256 wants at least its output size. */
export const MIN_SIGNING_KEY_BYTES = 32;

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

/** Reads a secret's string value (a connector's token or webhook key) from Secrets Manager. */
export async function secretString(client: SecretsManagerClient, secretId: string): Promise<string> {
  const out = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
  const value = out.SecretString ?? (out.SecretBinary ? Buffer.from(out.SecretBinary).toString('utf8') : '');
  if (value.trim() === '') throw new InvalidConfigError(secretId, [{ path: '', message: 'the secret is empty' }]);
  return value.trim();
}

/** Reads the link-signing key from Secrets Manager. */
export async function loadSigningKey(client: SecretsManagerClient, secretId: string): Promise<Buffer> {
  const out = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
  return signingKeyFromSecret(out);
}
