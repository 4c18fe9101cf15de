/**
 * `npm run bench` as a person runs it: `node --import tsx bench/bench.ts ...` in a child process
 * from the repository root, on a tiny book. `--json` prints one JSON object a script can read, the
 * HTML report is written where asked, and bad input fails with a non-zero exit code and a message
 * naming the file and the field, never a stack trace, before anything is run or written.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { POLICY_NAMES } from '../../bench/types.ts';

const REPO = resolve('.');
const TINY = ['--seeds', '2', '--accounts', '30', '--weeks', '4', '--workers', '1'];

interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the bench CLI; resolves with the exit code and output whatever the code. */
function bench(...args: string[]): Promise<CliResult> {
  return new Promise((done, fail) => {
    execFile(process.execPath, ['--import', 'tsx', 'bench/bench.ts', ...args], { cwd: REPO, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') return fail(err);
      done({ code: err && typeof err.code === 'number' ? err.code : 0, stdout, stderr });
    });
  });
}

/** No stack frames anywhere in the output (the CLI prints messages, not traces). */
const expectNoStack = (r: CliResult): void => {
  expect(`${r.stdout}\n${r.stderr}`).not.toMatch(/^[ \t]+at /m);
};

const Finite = z.number().refine(Number.isFinite, 'expected a finite number');
const Interval = z.object({ estimate: Finite, ciLow: Finite, ciHigh: Finite });
/** A ratio JSON cannot hold when it is undefined (0/0, x/0): the CLI prints NaN and Infinity as null. */
const Ratio = z.object({ estimate: Finite.nullable(), ciLow: Finite.nullable(), ciHigh: Finite.nullable() });
// A rate is null where nothing was there to divide by (no email sent, no deal decided).
const Figures = z.object({ progressionsPer100Touches: Ratio, unsubscribeRate: Ratio, noDecisionRate: Ratio, governanceViolations: Interval, touches: Interval });
const BenchJson = z.object({
  format: z.literal('amk-bench/1'),
  scenario: z.literal('default'),
  seeds: z.literal(2),
  accounts: z.literal(30),
  weeks: z.literal(4),
  policies: z.object(Object.fromEntries(POLICY_NAMES.map((p) => [p, Figures])) as Record<(typeof POLICY_NAMES)[number], typeof Figures>),
  lift: Ratio,
});

const work = mkdtempSync(join(tmpdir(), 'amk-bench-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe.concurrent('npm run bench', () => {
  it('prints one JSON object with every policy’s figures and the lift, and writes the HTML report', async () => {
    const report = join(work, 'report.html');
    const r = await bench('--scenario', 'scenarios/default.yaml', ...TINY, '--json', '--report', report);
    expect(r.code, r.stderr).toBe(0);
    // One JSON value on stdout and nothing else (progress goes to stderr).
    const parsed: unknown = JSON.parse(r.stdout);
    expect(typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)).toBe(true);
    const body = BenchJson.parse(parsed);
    for (const p of POLICY_NAMES) expect(body.policies[p].governanceViolations.estimate, p).toBe(0);
    // Every acting policy touched someone, so its primary metric is a number; none touches nobody.
    for (const p of POLICY_NAMES.filter((x) => x !== 'none')) {
      expect(body.policies[p].touches.estimate, p).toBeGreaterThan(0);
      expect(body.policies[p].progressionsPer100Touches.estimate, p).not.toBeNull();
    }
    expect(body.policies.none.touches.estimate).toBe(0);
    // The lift is agent / baseline on the primary metric: undefined (null) exactly when the baseline's is 0.
    expect(body.lift.estimate === null).toBe(body.policies.baseline.progressionsPer100Touches.estimate === 0);

    expect(existsSync(report)).toBe(true);
    const html = readFileSync(report, 'utf8');
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).toContain('default');
    expectNoStack(r);
  });

  it('refuses a scenario with a negative hazard, naming the file and the field, with no stack trace and no report', async () => {
    const file = join(work, 'negative-hazard.yaml');
    writeFileSync(file, `extends: ${join(REPO, 'scenarios', 'default.yaml')}\nname: negative-hazard\nprogression:\n  baseHazard: { unaware: -0.01 }\n`);
    const report = join(work, 'negative-hazard.html');
    const r = await bench('--scenario', file, ...TINY, '--json', '--report', report);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(file);
    expect(r.stderr).toContain('progression.baseHazard.unaware');
    expect(r.stderr).toContain('-0.01');
    expect(r.stdout).toBe('');
    expect(existsSync(report)).toBe(false);
    expectNoStack(r);
  });

  it('refuses a scenario file that does not exist, naming it, with no stack trace and no report', async () => {
    const file = join(work, 'no-such-scenario.yaml');
    const report = join(work, 'missing.html');
    const r = await bench('--scenario', file, ...TINY, '--report', report);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(file);
    expect(r.stderr).toMatch(/cannot read|ENOENT/);
    expect(r.stdout).toBe('');
    expect(existsSync(report)).toBe(false);
    expectNoStack(r);
  });

  it('refuses --seeds 0 with a message naming the option, before running anything', async () => {
    const report = join(work, 'zero-seeds.html');
    const r = await bench('--scenario', 'scenarios/default.yaml', '--seeds', '0', '--accounts', '30', '--weeks', '4', '--json', '--report', report);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('--seeds');
    expect(r.stderr).toMatch(/at least 1/);
    expect(r.stdout).toBe('');
    expect(existsSync(report)).toBe(false);
    expectNoStack(r);
  });
});
