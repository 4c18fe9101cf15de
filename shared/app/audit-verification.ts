/**
 * The audit verifier that runs in AWS (once a day, on a schedule): the digests published in the
 * window, each signature checked by KMS, and every stream they sign walked — its hash chain, its
 * head item and each signed head — as `amk audit verify` does locally. What it finds is recorded
 * as one `audit_verified` event (and so one log line), whose `findings` count the
 * AuditDigestMismatch alarm watches; a verification delivered twice records once.
 *
 * Cost: one LIST per thousand digests, one GET and one VerifyMac per digest in the window, and one
 * Query per stream those digests sign (the streams of a week's runs), daily.
 */
import * as z from 'zod';
import { chainFindings, digestFindings, headFindings, SignedAuditDigest, type AuditFinding } from '../domain/audit-digest.ts';
import { GENESIS_HASH, hashAuditEvent } from '../adapters/dynamodb/audit-log.ts';
import type { StepDeps } from './steps.ts';

/** The stream the verifier's records are chained in. */
export const VERIFICATION_STREAM = 'AUDIT#verification';

/** Days of digests each verification reads: a weekly campaign's latest digest, and a margin. */
export const VERIFICATION_WINDOW_DAYS = 8;

/** Findings a verification record lists (it counts them all). */
const MAX_LISTED_FINDINGS = 25;

/** What the schedule sends: its scheduled time, which names the verification (redeliveries are one). */
export const VerifyInput = z.object({ scheduledAt: z.iso.datetime({ offset: true }).optional() }).loose();
export type VerifyInput = z.infer<typeof VerifyInput>;

/** What one verification found. */
export interface VerifyOutcome {
  readonly since: string;
  readonly digests: number;
  readonly validDigests: number;
  readonly streams: number;
  readonly events: number;
  readonly findings: readonly AuditFinding[];
}

/** Verifies the digests published in the window and the streams they sign; records the outcome once. */
export async function verifyAuditTrail(deps: StepDeps<'audit-verify'>, input: VerifyInput): Promise<VerifyOutcome> {
  const at = input.scheduledAt ?? deps.clock();
  const since = new Date(Date.parse(at) - VERIFICATION_WINDOW_DAYS * 86_400_000).toISOString();
  const findings: AuditFinding[] = [];
  const signed = new Map<string, Array<{ runId: string; head: { seq: number; hash: string } }>>();
  const published = await deps.digestReader.publishedSince(since);
  let valid = 0;
  for (const { location, body } of published) {
    let parsed: ReturnType<typeof SignedAuditDigest.safeParse>;
    try {
      parsed = SignedAuditDigest.safeParse(JSON.parse(body));
    } catch {
      findings.push({ stream: location, seq: 0, problem: 'bad_digest', detail: 'not JSON' });
      continue;
    }
    if (!parsed.success) {
      findings.push({ stream: location, seq: 0, problem: 'bad_digest', detail: `not a digest: ${parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}` });
      continue;
    }
    if (!(await deps.digestReader.verify(parsed.data))) {
      findings.push({ stream: location, seq: 0, problem: 'bad_digest', detail: 'its signature does not match its content (the digest was altered or forged)' });
      continue;
    }
    valid += 1;
    for (const h of parsed.data.digest.heads) signed.set(h.stream, [...(signed.get(h.stream) ?? []), { runId: parsed.data.digest.runId, head: { seq: h.seq, hash: h.hash } }]);
  }
  const streams = [...signed.keys()].sort();
  const heads = new Map((await deps.audit.heads(streams)).map((h) => [h.stream, { seq: h.seq, hash: h.hash }]));
  let events = 0;
  for (const stream of streams) {
    let chain;
    try {
      chain = await deps.audit.readStream(stream);
    } catch (err) {
      findings.push({ stream, seq: 0, problem: 'edited', detail: `the stored stream cannot be read as audit events (${err instanceof Error ? err.message.slice(0, 120) : String(err)})` });
      continue;
    }
    events += chain.length;
    findings.push(...chainFindings(stream, chain, hashAuditEvent, GENESIS_HASH), ...headFindings(stream, chain, heads.get(stream)), ...digestFindings(stream, chain, signed.get(stream) ?? []));
  }
  // One line per place: a truncation seen by the head and by a digest is one truncation.
  const seen = new Set<string>();
  const unique = findings.filter((f) => {
    const key = `${f.stream}|${f.seq}|${f.problem}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  await deps.audit.appendOnce([
    {
      stream: VERIFICATION_STREAM,
      key: `audit_verified#${at}`,
      at,
      kind: 'audit_verified',
      actor: 'system:audit-verify',
      data: { since, digests: published.length, validDigests: valid, streams: streams.length, events, findings: unique.length, problems: unique.slice(0, MAX_LISTED_FINDINGS) },
    },
  ]);
  return { since, digests: published.length, validDigests: valid, streams: streams.length, events, findings: unique };
}
