/**
 * The daily audit verifier (audit-verify, EventBridge Scheduler in AWS) on the embedded default: it
 * lists the run digests in the S3 stand-in, checks each MAC with the KMS stand-in's VerifyMac, walks
 * every stream they sign, and records one `audit_verified` event whose decision line the
 * AuditDigestMismatch alarm counts. Clean runs verify clean; an event deleted from the end of a
 * stream, an event edited in the middle and a forged digest are each found, named by stream and
 * position; the same verification delivered twice records once.
 */
import { existsSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DeleteCommand, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VERIFICATION_STREAM } from '../../shared/app/audit-verification.ts';
import { createDynamoClient, documentClient } from '../../shared/adapters/dynamodb/client.ts';
import { auditEventKey, auditHeadKey } from '../../shared/adapters/dynamodb/requests.ts';
import { localTableName } from '../../shared/adapters/dynamodb/tables.ts';
import { runWeekWith, startTestRuntime, tempConfig } from './workflow-fixture.ts';

describe('the daily audit verification', { timeout: 240_000 }, () => {
  const config = tempConfig();
  let env: Awaited<ReturnType<typeof startTestRuntime>>;
  const TABLE = localTableName('audit');

  beforeAll(async () => {
    env = await startTestRuntime(config.campaignFile, { accounts: 12 });
    await runWeekWith(env.runtime, { approveRate: 1 });
    await runWeekWith(env.runtime, { approveRate: 1 });
  }, 200_000);

  afterAll(async () => {
    await env?.stop();
    config.cleanup();
  });

  const records = async () => (await env.runtime.deps.audit.readStream(VERIFICATION_STREAM)).filter((e) => e.kind === 'audit_verified');
  const digestDir = (): string => {
    const bucketDir = join(env.dataDir, 's3');
    return join(bucketDir, readdirSync(bucketDir)[0] ?? '', 'digests');
  };
  const latestDigestHeads = (): Array<{ stream: string; seq: number }> => {
    const file = join(digestDir(), readdirSync(digestDir()).sort().at(-1) ?? '');
    return (JSON.parse(readFileSync(file, 'utf8')) as { digest: { heads: Array<{ stream: string; seq: number }> } }).digest.heads;
  };
  const logLines = (): Array<Record<string, unknown>> => {
    const file = join(env.dataDir, 'logs', 'audit-verify.jsonl');
    return existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>) : [];
  };

  it('finds nothing wrong after clean runs, and records it once however often it is delivered', async () => {
    const at = env.runtime.clock();
    const result = await env.runtime.verifyAudit(at);
    expect(result.digests).toBe(2);
    expect(result.validDigests).toBe(2);
    expect(result.streams).toBeGreaterThan(12);
    expect(result.findings).toBe(0);
    await env.runtime.verifyAudit(at);
    expect(await records()).toHaveLength(1);
    expect(logLines().filter((l) => l.kind === 'audit_verified')).toEqual([expect.objectContaining({ kind: 'audit_verified', digests: 2, findings: 0 })]);
  });

  it('finds a stream cut back by its last event (its head put back too) and an event edited in another, naming stream and position', async () => {
    const db = documentClient(createDynamoClient({ endpoint: env.runtime.endpoints.dynamodb }));
    // Two account streams the last run's digest signs, one of them at least two events long.
    const signedHeads = latestDigestHeads().filter((h) => h.stream.startsWith('ACCOUNT#'));
    const head = signedHeads.find((h) => h.seq >= 1);
    if (head === undefined) throw new Error('no account stream of two events or more');
    const { stream } = head;
    // The last event deleted, and the head put back where it was, so only the digest can tell.
    await db.send(new DeleteCommand({ TableName: TABLE, Key: auditEventKey(stream, head.seq) }));
    await db.send(new PutCommand({ TableName: TABLE, Item: { ...auditHeadKey(stream), seq: head.seq - 1, hash: (await db.send(new GetCommand({ TableName: TABLE, Key: auditEventKey(stream, head.seq - 1) }))).Item?.hash } }));
    // An event in the middle of another stream edited.
    const other = signedHeads.find((h) => h.stream !== stream)?.stream ?? '';
    const middle = (await db.send(new GetCommand({ TableName: TABLE, Key: auditEventKey(other, 0) }))).Item;
    await db.send(new PutCommand({ TableName: TABLE, Item: { ...middle, actor: 'human:someone-else@example.com' } }));
    const result = await env.runtime.verifyAudit(new Date(Date.parse(env.runtime.clock()) + 3_600_000).toISOString());
    expect(result.findings).toBe(2);
    const [, latest] = await records();
    expect(latest?.data['problems']).toEqual(
      expect.arrayContaining([expect.objectContaining({ stream, seq: head.seq, problem: 'truncated' }), expect.objectContaining({ stream: other, seq: 0, problem: 'edited' })]),
    );
    // The line the AuditDigestMismatch alarm's metric filter counts ($.kind = "audit_verified" && $.findings > 0).
    const line = logLines().filter((l) => l.kind === 'audit_verified').at(-1);
    expect(line?.findings).toBe(result.findings);
    expect(String(line?.firstFindings)).toContain(stream);
  });

  it('finds a digest altered in the bucket: its signature no longer covers it', async () => {
    // A digest altered in the bucket (its signature no longer covers it).
    const file = join(digestDir(), readdirSync(digestDir()).sort()[0] ?? '');
    const signed = JSON.parse(readFileSync(file, 'utf8')) as { digest: { at: string } };
    signed.digest.at = '2000-01-01T00:00:00.000Z';
    // Rewritten in the window (as an edit in S3 would be: a new LastModified, now).
    const { mtime } = statSync(file);
    writeFileSync(file, JSON.stringify(signed));
    utimesSync(file, mtime, mtime);

    const result = await env.runtime.verifyAudit(new Date(Date.parse(env.runtime.clock()) + 7_200_000).toISOString());
    expect(result.validDigests).toBe(result.digests - 1);
    const latest = (await records()).at(-1);
    expect(latest?.data['problems']).toEqual(expect.arrayContaining([expect.objectContaining({ problem: 'bad_digest', stream: expect.stringContaining('digests/') })]));
  });
});
