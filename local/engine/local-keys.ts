/**
 * KMS HMAC keys of the embedded default: their material in the data folder's `secrets/`, one file
 * per key (in AWS it never leaves KMS). The KMS stand-in MACs with it; `amk audit verify` checks
 * digests with it.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { localKeyArn, type ResolvedTemplate } from './template.ts';

/** The template's HMAC keys (KMS), their material kept in the data folder by logical id. */
export function localMacKeys(template: ResolvedTemplate, dataDir: string): Map<string, Buffer> {
  const dir = join(dataDir, 'secrets');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const keys = new Map<string, Buffer>();
  for (const [logicalId, res] of Object.entries(template.resources)) {
    if (res.Type !== 'AWS::KMS::Key') continue;
    keys.set(localKeyArn(logicalId), localMacKey(dataDir, logicalId));
  }
  return keys;
}

/** One KMS key's material in the data folder, made on first use (32 random bytes, base64). */
export function localMacKey(dataDir: string, logicalId: string, create = true): Buffer {
  const file = join(dataDir, 'secrets', `kms-${logicalId}`);
  if (!existsSync(file)) {
    if (!create) throw new Error(`no key material for KMS key ${logicalId} in ${join(dataDir, 'secrets')}`);
    writeFileSync(`${file}.tmp`, randomBytes(32).toString('base64'), { mode: 0o600 });
    renameSync(`${file}.tmp`, file);
  }
  return Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
}

