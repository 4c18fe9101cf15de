/**
 * `amk audit verify`: every audit stream's hash chain, its head item, and every run digest (its
 * signature, then each head it signed against the stream as it is now). Reports each edited,
 * deleted, inserted, reordered, truncated or rewritten event with its stream and position.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { GENESIS_HASH, hashAuditEvent } from '../../shared/adapters/dynamodb/audit-log.ts';
import { auditEventOfItem } from '../../shared/adapters/dynamodb/requests.ts';
import { digestMacMessage } from '../../shared/adapters/audit-digests.ts';
import { chainFindings, digestFindings, headFindings, SignedAuditDigest, type AuditFinding } from '../../shared/domain/audit-digest.ts';
import type { AuditEvent } from '../../shared/domain/model.ts';
import { localMacKey } from '../engine/local-keys.ts';
import type { ReadOnlyData } from './read-only.ts';

/** What verify found. */
export interface VerifyReport {
  readonly ok: boolean;
  readonly streams: number;
  readonly events: number;
  /** Digest files read, and how many of them carry a valid signature. */
  readonly digests: { readonly files: number; readonly valid: number };
  readonly findings: AuditFinding[];
}

/** The digest files of the data folder's S3 stand-in (`s3/<bucket>/digests/*.json`). */
function digestFiles(dataDir: string): string[] {
  const s3 = join(dataDir, 's3');
  if (!existsSync(s3)) return [];
  return readdirSync(s3).flatMap((bucket) => {
    const dir = join(s3, bucket, 'digests');
    return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => join(dir, f)) : [];
  });
}

/** A digest file's signed heads, or why it cannot be trusted. */
function readDigest(dataDir: string, file: string): { ok: true; digest: SignedAuditDigest } | { ok: false; why: string } {
  let parsed: ReturnType<typeof SignedAuditDigest.safeParse>;
  try {
    parsed = SignedAuditDigest.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  } catch (err) {
    return { ok: false, why: `not JSON (${(err as Error).message})` };
  }
  if (!parsed.success) return { ok: false, why: `not a digest: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}` };
  const signed = parsed.data;
  const keyId = /:key\/([A-Za-z0-9_-]+)$/.exec(signed.signature.keyId)?.[1];
  if (keyId === undefined) return { ok: false, why: `signed with an unknown key ${signed.signature.keyId}` };
  let key: Buffer;
  try {
    key = localMacKey(dataDir, keyId, false);
  } catch {
    return { ok: false, why: `no key material for ${signed.signature.keyId} in this data folder` };
  }
  const expected = createHmac('sha256', key).update(digestMacMessage(signed.digest)).digest();
  const actual = Buffer.from(signed.signature.value, 'base64');
  if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) return { ok: false, why: 'its signature does not match its content (the digest was altered or forged)' };
  return { ok: true, digest: signed };
}

/** Verifies everything in the audit table against its heads and the run digests. */
export async function verifyAudit(data: ReadOnlyData): Promise<VerifyReport> {
  const events = new Map<string, Array<{ sk: string; event: AuditEvent }>>();
  const heads = new Map<string, { seq: number; hash: string }>();
  const findings: AuditFinding[] = [];
  for (const item of await data.auditItems()) {
    const stream = String(item['pk']);
    const sk = String(item['sk']);
    if (sk === 'HEAD') heads.set(stream, { seq: Number(item['seq']), hash: String(item['hash']) });
    else if (sk.startsWith('SEQ#')) {
      try {
        const list = events.get(stream) ?? [];
        list.push({ sk, event: auditEventOfItem(item) });
        events.set(stream, list);
      } catch (err) {
        findings.push({ stream, seq: Number(sk.slice(4)), problem: 'edited', detail: `the stored item is not an audit event (${(err as Error).message.slice(0, 120)})` });
      }
    }
  }
  const signedHeads = new Map<string, Array<{ runId: string; head: { seq: number; hash: string } }>>();
  const files = digestFiles(data.dataDir);
  let valid = 0;
  for (const file of files) {
    const read = readDigest(data.dataDir, file);
    if (!read.ok) {
      findings.push({ stream: relative(data.dataDir, file), seq: 0, problem: 'bad_digest', detail: read.why });
      continue;
    }
    valid += 1;
    for (const h of read.digest.digest.heads) {
      const list = signedHeads.get(h.stream) ?? [];
      list.push({ runId: read.digest.digest.runId, head: { seq: h.seq, hash: h.hash } });
      signedHeads.set(h.stream, list);
    }
  }
  const streams = [...new Set([...events.keys(), ...heads.keys(), ...signedHeads.keys()])].sort();
  let count = 0;
  for (const stream of streams) {
    const chain = (events.get(stream) ?? []).sort((a, b) => (a.sk < b.sk ? -1 : a.sk > b.sk ? 1 : 0)).map((e) => e.event);
    count += chain.length;
    findings.push(
      ...chainFindings(stream, chain, hashAuditEvent, GENESIS_HASH),
      ...headFindings(stream, chain, heads.get(stream)),
      ...digestFindings(stream, chain, signedHeads.get(stream) ?? []),
    );
  }
  // One line per place: a truncation seen by the head and by a digest is one truncation.
  const seen = new Set<string>();
  const unique = findings.filter((f) => {
    const key = `${f.stream}|${f.seq}|${f.problem}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  unique.sort((a, b) => (a.stream < b.stream ? -1 : a.stream > b.stream ? 1 : a.seq - b.seq));
  return { ok: unique.length === 0, streams: streams.length, events: count, digests: { files: files.length, valid }, findings: unique };
}
