/**
 * The `amk` command as a user runs it: `node local/cli/bin.mjs ...` in a child process, from the
 * repository root. Bad input must fail with the file, the path inside it and what was expected,
 * a non-zero exit code, no stack trace, and nothing written.
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const REPO = resolve('.');
const BIN = join(REPO, 'local', 'cli', 'bin.mjs');

interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `amk ...args`; resolves with the exit code and output whatever the code. */
function amk(...args: string[]): Promise<CliResult> {
  return new Promise((done, fail) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      {
        cwd: REPO,
        env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', AMK_DEBUG: '' },
        timeout: 60_000,
        maxBuffer: 16 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        if (err && typeof err.code !== 'number') return fail(err);
        done({ code: err && typeof err.code === 'number' ? err.code : 0, stdout, stderr });
      },
    );
  });
}

/** No stack frames anywhere in the output (the CLI prints messages, not traces). */
const expectNoStack = (r: CliResult) => {
  expect(`${r.stdout}\n${r.stderr}`).not.toMatch(/^ {4}at /m);
};

/** The sample executive charter with its goal removed and a threshold on a field that does not exist. */
function brokenCharterText(): string {
  const text = readFileSync(join(REPO, 'config', 'charters', 'executive-outreach-agent.yaml'), 'utf8');
  const withoutGoal = text.replace(/^goal:\n(?: {2}.*\n)+/m, '');
  const withRevenue = withoutGoal.replace('{ field: account.tier, op: eq, value: 1 }', '{ field: account.revenue, op: gt, value: 1000000 }');
  if (withoutGoal === text || withRevenue === withoutGoal) throw new Error('the sample charter changed shape; update this fixture');
  return withRevenue;
}

const work = mkdtempSync(join(tmpdir(), 'amk-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe.concurrent('amk charter validate', () => {
  it('accepts the sample charters with exit code 0', async () => {
    // What the shell makes of `config/charters/*.yaml`.
    const charters = readdirSync(join(REPO, 'config', 'charters')).filter((f) => f.endsWith('.yaml')).sort().map((f) => `config/charters/${f}`);
    expect(charters.length).toBeGreaterThanOrEqual(2);
    const r = await amk('charter', 'validate', ...charters);
    expect(r.code).toBe(0);
    expectNoStack(r);
    expect(r.stdout).toMatch(/^ok +config\/charters\/executive-outreach-agent\.yaml/m);
    expect(r.stdout).toMatch(/^ok +config\/charters\/nurture-agent\.yaml/m);
  });

  it('rejects a charter with a missing goal and an unknown rule field with exit code 2, naming file, paths and expected values', async () => {
    const file = join(work, 'broken-charter.yaml');
    writeFileSync(file, brokenCharterText());
    const r = await amk('charter', 'validate', file);
    expect(r.code).toBe(2);
    const output = `${r.stdout}${r.stderr}`;
    expect(output).toContain(file);
    expect(output).toMatch(/goal: is required/);
    expect(output).toMatch(/thresholds\.0\.when\.all\.0\.field \(line \d+\): expected one of "action\.type".*"account\.tier"/);
    expectNoStack(r);
  });

  it('prints parseable JSON with --json', async () => {
    const file = join(work, 'broken-charter-json.yaml');
    writeFileSync(file, brokenCharterText());
    const r = await amk('charter', 'validate', '--json', 'config/charters/nurture-agent.yaml', file);
    expect(r.code).toBe(2);
    const parsed = JSON.parse(r.stdout) as { results: Array<{ file: string; ok: boolean; problems?: Array<{ path: string; message: string }> }> };
    expect(parsed.results.map((x) => x.ok)).toEqual([true, false]);
    const paths = parsed.results[1]?.problems?.map((p) => p.path) ?? [];
    expect(paths).toContain('goal');
    expect(paths.some((p) => p.startsWith('thresholds.0.when.all.0.field'))).toBe(true);
    expectNoStack(r);
  });
});

describe.concurrent('amk schema and amk run', () => {
  it('prints the charter JSON Schema with goal and thresholds properties', async () => {
    const r = await amk('schema', 'charter');
    expect(r.code).toBe(0);
    const schema = JSON.parse(r.stdout) as { type?: string; properties?: Record<string, unknown> };
    expect(schema.type).toBe('object');
    expect(Object.keys(schema.properties ?? {})).toEqual(expect.arrayContaining(['goal', 'thresholds', 'budgets', 'escalation']));
  });

  it('refuses to run a campaign with a broken charter, naming file and field, without creating the data folder', async () => {
    const config = join(work, 'config');
    cpSync(join(REPO, 'config'), config, { recursive: true });
    const charter = join(config, 'charters', 'executive-outreach-agent.yaml');
    writeFileSync(charter, brokenCharterText());
    const data = join(work, 'data-never-created');
    const r = await amk('run', '--campaign', join(config, 'campaigns', 'q1-committee-expansion.yaml'), '--runs', '1', '--data', data);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(charter);
    expect(r.stderr).toMatch(/goal: is required/);
    expect(r.stderr).toMatch(/thresholds\.0\.when\.all\.0\.field/);
    expectNoStack(r);
    // Validation comes before anything is written: no half-made data folder.
    expect(existsSync(data)).toBe(false);
  });
});

describe('amk run, then amk audit', () => {
  it('prints an account\'s turns with every decision and verdict, verifies the chain, and names a missing stream', { timeout: 120_000 }, async () => {
    const data = join(work, 'data-audit');
    const run = await amk('run', '--runs', '1', '--accounts', '12', '--data', data, '--json');
    expect(run.code).toBe(0);
    const { runIds } = JSON.parse(run.stdout) as { runIds: string[] };
    const runId = runIds[0] ?? '';

    const json = await amk('audit', '--run', runId, '--data', data, '--json');
    expect(json.code).toBe(0);
    const runStream = JSON.parse(json.stdout) as { events: Array<{ kind: string }>; chain: { ok: boolean } };
    expect(runStream.chain.ok).toBe(true);
    expect(runStream.events.map((e) => e.kind)).toEqual(expect.arrayContaining(['run_started', 'run_summarized']));

    const text = await amk('audit', '--account', 'acc-0001', '--data', data);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^ {3}0 {2}\S+ {2}turn /m);
    // One line per decision: agent, action type, verdict, the agent's rationale.
    expect(text.stdout).toMatch(/^ {8}· [a-z-]+-agent: [a-z_]+ → (autonomous, executed|autonomous, tool failed: .*|BLOCKED by [a-z_]+|NEEDS APPROVAL \([^)]+\)) — \S/m);
    expect(text.stdout).toMatch(/hash chain: intact \(\d+ events\)/);

    const missing = await amk('audit', '--account', 'acc-9999', '--data', data);
    expect(missing.code).toBe(0);
    expect(missing.stdout).toContain('No audit events in ACCOUNT#acc-9999');
    expectNoStack(missing);

    // A folder with no data: a clear error, and nothing is created there.
    const empty = join(work, 'no-data-here');
    const none = await amk('audit', '--account', 'acc-0001', '--data', empty);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain(`no data in ${empty}`);
    expectNoStack(none);
    expect(existsSync(empty)).toBe(false);
  });
});
