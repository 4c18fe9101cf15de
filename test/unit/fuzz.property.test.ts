/**
 * Bad input, fuzzed (fast-check, fixed seed; AMK_FUZZ_RUNS=50000 AMK_FUZZ_SEED=n for a longer run): every YAML
 * document is accepted or refused with an InvalidConfigError naming where and what, never
 * anything else; every request to the approval endpoint gets a page with the security headers,
 * never a 500, never a decision without a valid link and form, and at most one audit event.
 */
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../cdk/constructs/agent-function.ts';
import { SECURITY_HEADERS, handleApprovalRequest, type ApprovalHttpRequest } from '../../shared/adapters/http/approval-endpoint.ts';
import type { ApprovalDeps } from '../../shared/app/approval-decision.ts';
import { parseYamlText } from '../../shared/config/load.ts';
import { linkUrl, signLink } from '../../shared/domain/approval-link.ts';
import { Campaign, Charter, Guardrails } from '../../shared/domain/config.ts';
import { InvalidConfigError } from '../../shared/domain/errors.ts';
import type { Approval } from '../../shared/domain/model.ts';
import { InMemoryApprovals, InMemoryAudit, RecordingCallback } from './memory-ports.ts';
import { anAction } from './builders.ts';

const RUNS = Number(process.env.AMK_FUZZ_RUNS ?? 5_000);
const SEED = Number(process.env.AMK_FUZZ_SEED ?? 20_261_201);

const SAMPLES = [
  { file: 'charters/executive-outreach-agent.yaml', schema: Charter },
  { file: 'charters/nurture-agent.yaml', schema: Charter },
  { file: 'campaigns/q1-committee-expansion.yaml', schema: Campaign },
  { file: 'guardrails/default.yaml', schema: Guardrails },
] as const;

/** A scalar as it might be typed into YAML, right or wrong. */
const yamlScalar = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.integer({ min: -1e6, max: 1e6 }).map(String),
  fc.double({ noNaN: false }).map(String),
  fc.constantFrom('.nan', '.inf', '-.inf', '1e400', 'null', '~', 'true', 'no', '"lots"', '[]', '{}', '29:75', '"07:00"', "'", '&a', '*a', '!!binary x', '- x', ': :'),
);

/** A sample document with one line changed: its value replaced, the line dropped, or noise added. */
const mutatedDocument = fc
  .record({
    sample: fc.constantFrom(...SAMPLES.keys()),
    line: fc.nat(),
    how: fc.constantFrom('value', 'drop', 'noise', 'indent'),
    scalar: yamlScalar,
    noise: fc.string({ maxLength: 40 }),
  })
  .map(({ sample: index, line, how, scalar, noise }) => {
    const sample = SAMPLES[index] as (typeof SAMPLES)[number];
    const lines = readFileSync(join(PROJECT_ROOT, 'config', sample.file), 'utf8').split('\n');
    const i = line % lines.length;
    const at = lines[i] ?? '';
    if (how === 'value') lines[i] = at.includes(':') ? `${at.slice(0, at.indexOf(':') + 1)} ${scalar}` : scalar;
    else if (how === 'drop') lines.splice(i, 1);
    else if (how === 'noise') lines.splice(i, 0, noise);
    else lines[i] = `   ${at}`;
    return { sample, text: lines.join('\n'), scalar, how, toString: () => `${sample.file} (${how}):\n${lines.join('\n')}` };
  });

describe('the YAML loaders, fuzzed', () => {
  it(`accept or refuse every document with an InvalidConfigError naming path and problem (${RUNS} cases)`, () => {
    fc.assert(
      fc.property(mutatedDocument, ({ sample, text }) => {
        try {
          parseYamlText(sample.file, text, sample.schema);
        } catch (err) {
          if (!(err instanceof InvalidConfigError)) throw err;
          expect(err.file).toBe(sample.file);
          expect(err.problems.length).toBeGreaterThan(0);
          for (const p of err.problems) {
            expect(typeof p.path).toBe('string');
            expect(p.message.length).toBeGreaterThan(0);
            // A value that is there is shown, never called missing.
            if (p.message.startsWith('expected ') && p.message.includes(', got ')) expect(p.message).toMatch(/, got .+/);
          }
        }
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });

  it('show the bad value of a number field, whatever was typed', () => {
    const charter = readFileSync(join(PROJECT_ROOT, 'config', 'charters/nurture-agent.yaml'), 'utf8');
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 10 }).filter((s) => /^[a-z]+$/i.test(s) && !['null', 'true', 'false', 'yes', 'no', 'on', 'off', 'y', 'n'].includes(s.toLowerCase())), (word) => {
        try {
          parseYamlText('c.yaml', charter.replace('spendPerMonthUsd: 2000', `spendPerMonthUsd: ${word}`), Charter);
          return false;
        } catch (err) {
          return err instanceof InvalidConfigError && err.message.includes(`budgets.spendPerMonthUsd`) && err.message.includes(`got "${word}"`);
        }
      }),
      { numRuns: Math.min(RUNS, 1_000), seed: SEED },
    );
  });
});

const KEY = Buffer.from('fuzz-signing-key-fuzz-signing-key!!');
const BASE = 'https://approve.example.com';

function pendingApproval(): Approval {
  return {
    id: 'apr-1',
    runId: 'run-1',
    shard: 0,
    accountId: 'acc-1',
    agentId: 'agent',
    action: anAction({ id: 'act-1', accountId: 'acc-1' }),
    rules: [{ ruleId: 'r', source: 'charters/x.yaml', approvers: ['dana@example.com'], minApprovals: 1 }],
    approver: 'dana@example.com',
    actionDigest: 'd'.repeat(64),
    charterHash: 'c'.repeat(64),
    status: 'pending',
    taskToken: 'token-1',
    expiresAt: '2030-01-02T00:00:00.000Z',
    timeoutSeconds: 3600,
    createdAt: '2030-01-01T00:00:00.000Z',
    version: 1,
  };
}

/** A request as anyone on the internet could send it: random, or built around a real link. */
const anyRequest = fc.record({
  method: fc.oneof(fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'get', 'post'), fc.string({ maxLength: 8 })),
  path: fc.oneof(fc.constant('/approvals/apr-1'), fc.string({ maxLength: 30 }).map((s) => `/approvals/${s}`), fc.string({ maxLength: 30 })),
  realLink: fc.boolean(),
  query: fc.dictionary(fc.constantFrom('a', 'exp', 'sig', 'decision', 'x', ''), fc.string({ maxLength: 40 }), { maxKeys: 4 }),
  headers: fc.dictionary(fc.constantFrom('origin', 'sec-fetch-site', 'content-type', 'user-agent', 'x-amk-reviewer', 'cookie'), fc.string({ maxLength: 30 }), { maxKeys: 4 }),
  body: fc.option(
    fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.record({ decision: fc.constantFrom('approve', 'reject', 'maybe', ''), csrf: fc.string({ maxLength: 60 }), nonce: fc.string({ maxLength: 30 }), reason: fc.string({ maxLength: 600 }) }).map((f) => new URLSearchParams(f).toString()),
      fc.constant('x'.repeat(17 * 1024)),
    ),
    { nil: undefined },
  ),
});

describe('the approval endpoint, fuzzed', () => {
  it(`answers every request with a page and its security headers, decides nothing without the page's form, and audits or counts it at most once (${RUNS} cases)`, async () => {
    const link = new URL(linkUrl(BASE, signLink({ approvalId: 'apr-1', approver: 'dana@example.com', expiresAt: '2030-01-02T00:00:00.000Z' }, KEY)));
    await fc.assert(
      fc.asyncProperty(anyRequest, async (r) => {
        const approvals = new InMemoryApprovals();
        await approvals.create(pendingApproval());
        const audit = new InMemoryAudit();
        const callback = new RecordingCallback();
        const logged: unknown[] = [];
        const refused: unknown[] = [];
        const deps: ApprovalDeps = { approvals, audit, callback, key: KEY, clock: () => '2030-01-01T00:30:00.000Z', baseUrl: BASE, log: (e) => logged.push(e), refused: async (x) => void refused.push(x) };
        const query = r.realLink ? { ...Object.fromEntries(link.searchParams), ...(r.query.decision !== undefined ? { decision: r.query.decision } : {}) } : r.query;
        const req: ApprovalHttpRequest = { method: r.method, path: r.realLink ? link.pathname : r.path, query, headers: r.headers, body: r.body, sourceIp: '198.51.100.1' };
        const res = await handleApprovalRequest(deps, req);
        expect([200, 400, 403, 404, 405, 409, 410, 413]).toContain(res.status);
        expect(logged).toEqual([]);
        for (const [name, value] of Object.entries(SECURITY_HEADERS)) expect(res.headers[name]).toBe(value);
        // No form from the page, so no CSRF token that verifies: nothing is decided, no task completed.
        expect((await approvals.get('apr-1'))?.status).toBe('pending');
        expect(approvals.decideCalls).toBe(0);
        expect(callback.succeeded).toEqual([]);
        // One record per request at most: audited (an authentic link) or counted (anything else).
        expect(audit.events.length + refused.length).toBeLessThanOrEqual(1);
      }),
      { numRuns: RUNS, seed: SEED },
    );
  }, 120_000);
});
