/**
 * A run started again with the same id (a scheduler double-fire, a manual re-run, a redrive)
 * resumes that run: what it recorded is replayed from its ledger, nothing reaches the world or a
 * mailbox again, and its report is the first one's. Through the CLI a user would type.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const env = { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };

interface Report {
  sideEffects: { new: number; replayed: number };
  actions: Record<string, number>;
  runIds: string[];
}

describe('amk run --run-id, twice in a row', () => {
  const dir = mkdtempSync(join(tmpdir(), 'amk-run-id-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const amk = async (...args: string[]): Promise<Report> =>
    JSON.parse((await run('node', ['local/cli/bin.mjs', 'run', '--json', '--data', join(dir, 'data'), '--accounts', '24', ...args], { env, timeout: 120_000 })).stdout) as Report;

  it('makes no side effect the second time, and reports the same run', async () => {
    const first = await amk('--reset', '--run-id', 'weekly-2027-01-04');
    expect(first.runIds).toEqual(['weekly-2027-01-04']);
    expect(first.sideEffects.new).toBeGreaterThan(0);
    expect(first.sideEffects.replayed).toBe(0);
    const second = await amk('--run-id', 'weekly-2027-01-04');
    expect(second.sideEffects.new).toBe(0);
    expect(second.sideEffects.replayed).toBeGreaterThan(0);
    expect(second.actions).toEqual(first.actions);
  }, 240_000);

  it('refuses --run-id with more than one run, and an id Step Functions could not name an execution by', async () => {
    const failure = (args: string[]) => run('node', ['local/cli/bin.mjs', 'run', '--data', join(dir, 'data2'), ...args], { env }).then(() => undefined, (e: { code: number; stderr: string }) => e);
    expect(await failure(['--run-id', 'x', '--runs', '2'])).toMatchObject({ code: 2, stderr: expect.stringContaining('--run-id starts or resumes exactly one run') });
    expect(await failure(['--run-id', 'bad id!'])).toMatchObject({ code: 2, stderr: expect.stringContaining('--run-id expects letters, digits') });
  }, 60_000);
});
