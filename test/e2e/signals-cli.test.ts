/**
 * `amk signals ingest FILE.jsonl` as registered by registerSignalsCommands: a bad file is refused
 * whole before anything starts, naming line, field, value and expectation; a good one is signed
 * and POSTed to the local signals endpoint of the data folder a run left, each signal stored once
 * however often the file is ingested.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerSignalsCommands } from '../../local/cli/signals.ts';
import { LocalRuntime } from '../../local/runtime.ts';
import { startTestRuntime, tempConfig } from '../integration/workflow-fixture.ts';

class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Runs `amk signals ...args` in-process; its exit code and what it printed. */
async function amkSignals(args: string[], campaign: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const program = new Command('amk').exitOverride();
  registerSignalsCommands(program, { usageError: (m) => new UsageError(m), defaultCampaign: campaign });
  const out: string[] = [];
  const err: string[] = [];
  const stdout = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => (out.push(String(chunk)), true));
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => (err.push(String(chunk)), true));
  process.exitCode = undefined;
  try {
    await program.parseAsync(['node', 'amk', 'signals', ...args]);
    return { code: typeof process.exitCode === 'number' ? process.exitCode : 0, stdout: out.join(''), stderr: err.join('') };
  } finally {
    stdout.mockRestore();
    stderr.mockRestore();
    process.exitCode = undefined;
  }
}

describe('amk signals ingest', () => {
  const config = tempConfig();
  const files = mkdtempSync(join(tmpdir(), 'amk-signals-cli-'));
  let dataDir: string;
  let accountId: string;
  let at: string;
  beforeAll(async () => {
    // A data folder as `amk run` leaves it: a book, a week, the local secrets.
    const env = await startTestRuntime(config.campaignFile, { accounts: 6 });
    await env.runtime.runWeek();
    accountId = env.runtime.market.book().accounts[0]?.id ?? '';
    at = env.runtime.clock();
    dataDir = env.dataDir;
    await env.runtime.close();
  }, 90_000);
  afterAll(() => {
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(files, { recursive: true, force: true });
    config.cleanup();
  });
  afterEach(() => vi.restoreAllMocks());

  it('refuses a file with a bad line before starting anything, naming each line, field, value and what was expected', async () => {
    const file = join(files, 'bad.jsonl');
    writeFileSync(file, [`{"id":"a","accountId":"acc-0001","kind":"web_visit","at":"2027-01-01T00:00:00Z"}`, `{"id":"b","accountId":"acc-0001","kind":"click","at":"last tuesday"}`, `{"id":"c","acountId":"acc-0001","kind":"open","at":"2027-01-01T00:00:00Z"}`].join('\n'));
    const start = vi.spyOn(LocalRuntime, 'start');
    const out = await amkSignals(['ingest', file, '--data', dataDir], config.campaignFile);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('3 problem(s); nothing was sent');
    expect(out.stderr).toContain('line 2, at: got "last tuesday", expected an ISO 8601 time');
    expect(out.stderr).toContain('line 3, acountId: got "acc-0001", no field "acountId"');
    expect(out.stderr).toContain('line 3, accountId: got (missing)');
    expect(start).not.toHaveBeenCalled();
    const json = await amkSignals(['ingest', file, '--data', dataDir, '--json'], config.campaignFile);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, problems: [{ line: 2, path: 'at', value: '"last tuesday"' }, { line: 3 }, { line: 3 }] });
  });

  it('refuses a data folder no run made, saying how to get one', async () => {
    const file = join(files, 'one.jsonl');
    writeFileSync(file, `{"id":"a","accountId":"acc-0001","kind":"web_visit","at":"2027-01-01T00:00:00Z"}\n`);
    await expect(amkSignals(['ingest', file, '--data', join(files, 'nothing-here')], config.campaignFile)).rejects.toThrow(/no data in .*: run `amk run`/);
  });

  it('signs and POSTs a good file to the local endpoint; ingested again, it stores nothing twice', async () => {
    const file = join(files, 'good.jsonl');
    const lines = Array.from({ length: 3 }, (_, i) => JSON.stringify({ id: `cli-${i}`, accountId, kind: 'web_visit', at }));
    writeFileSync(file, `${lines.join('\n')}\n`);
    const first = await amkSignals(['ingest', file, '--data', dataDir, '--json'], config.campaignFile);
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ ok: true, signals: 3, requests: 1, stored: 3, duplicates: 0, endpoint: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/signals$/) });
    const again = await amkSignals(['ingest', file, '--data', dataDir], config.campaignFile);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('stored     0 new, 3 already stored (unchanged)');
  }, 90_000);
});
