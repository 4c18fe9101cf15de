/**
 * `amk signals ingest FILE.jsonl`: pipeline signals from a file (one JSON signal per line) into
 * the embedded default's data. The whole file is validated first; a problem names its line, its
 * field, the value found and what was expected, and nothing is sent. Then the signals go in
 * batches of 500, each signed with the local signals key and POSTed to the local signals endpoint:
 * the same handler, signature check, replay record, IAM check and ledger as a sender's request in
 * AWS, so the CLI proves the path it feeds instead of writing to the tables behind its back.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { IncomingSignal, MAX_SIGNALS_PER_BATCH, issuesOf, type SignalIssue } from '../../shared/domain/signals-batch.ts';
import { signalRequestHeaders } from '../../shared/domain/signals-signature.ts';
import type { IngestResult } from '../../shared/app/signals-ingest.ts';
import type { PipelineSignal } from '../../shared/domain/model.ts';
import { LocalRuntime } from '../runtime.ts';

/** How `registerSignalsCommands` fits into the CLI. */
export interface SignalsCommandOptions {
  /** The CLI's usage error (printed as `amk: <message>`, exit 2). @default Error */
  readonly usageError?: (message: string) => Error;
  /** The campaign the embedded default starts with (the functions' template comes from its config). */
  readonly defaultCampaign: string;
}

/** One problem of the file, on its line. */
export interface SignalFileProblem extends SignalIssue {
  readonly line: number;
}

/** Reads and validates a JSONL file of signals: every signal, or every problem (up to 50). */
export function readSignalFile(file: string): { readonly signals: PipelineSignal[]; readonly problems: SignalFileProblem[] } {
  const signals: PipelineSignal[] = [];
  const problems: SignalFileProblem[] = [];
  const firstLine = new Map<string, number>();
  const lines = readFileSync(file, 'utf8').split(/\r?\n/);
  lines.forEach((text, i) => {
    const line = i + 1;
    if (text.trim() === '' || problems.length >= 50) return;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      problems.push({ line, path: '(line)', value: text.length > 60 ? `${text.slice(0, 59)}…` : text, expected: `expected one JSON object per line (${err instanceof Error ? err.message : 'unreadable'})` });
      return;
    }
    const parsed = IncomingSignal.safeParse(json);
    if (!parsed.success) {
      for (const issue of issuesOf(parsed.error, json)) problems.push({ line, ...issue });
      return;
    }
    const key = `${parsed.data.accountId}\u0000${parsed.data.id}`;
    const seen = firstLine.get(key);
    if (seen !== undefined) {
      problems.push({ line, path: 'id', value: JSON.stringify(parsed.data.id), expected: `expected a signal id used once per account (line ${seen} has it too)` });
      return;
    }
    firstLine.set(key, line);
    signals.push(parsed.data);
  });
  if (signals.length === 0 && problems.length === 0) problems.push({ line: 1, path: '(file)', value: '(empty)', expected: 'expected at least one signal, one JSON object per line' });
  return { signals, problems };
}

/** The text of the problems, one per line. */
export const renderProblems = (file: string, problems: readonly SignalFileProblem[]): string =>
  [`${file}: ${problems.length} problem(s); nothing was sent`, ...problems.map((p) => `  line ${p.line}, ${p.path}: got ${p.value}, ${p.expected}`)].join('\n');

/** What an ingest did, summed over its requests. */
export interface IngestSummary {
  readonly file: string;
  readonly signals: number;
  readonly requests: number;
  readonly stored: number;
  readonly duplicates: number;
  readonly conflicts: readonly string[];
  readonly suppressed: IngestResult['suppressed'];
  readonly endpoint: string;
}

/** Signs and POSTs the signals in batches to a running embedded default's signals endpoint. */
export async function postSignals(runtime: Pick<LocalRuntime, 'signals' | 'deps' | 'clock'>, file: string, signals: readonly PipelineSignal[]): Promise<IngestSummary> {
  let stored = 0;
  let duplicates = 0;
  let requests = 0;
  const conflicts: string[] = [];
  const suppressed: Array<IngestResult['suppressed'][number]> = [];
  const endpoint = `${runtime.signals.url}/signals`;
  for (let i = 0; i < signals.length; i += MAX_SIGNALS_PER_BATCH) {
    const body = JSON.stringify({ signals: signals.slice(i, i + MAX_SIGNALS_PER_BATCH) });
    // Signed at the embedded default's clock (the simulated world's time), which the function
    // checks against. That clock starts at the same simulated moment in every process, so the same
    // file ingested twice within a second would be signed the same: a replay to the endpoint. A
    // sender refused as a replay for a request it is sending anew signs again a second later.
    const start = Math.floor(Date.parse(runtime.clock()) / 1000);
    let response: Response;
    let answer: Partial<IngestResult> & { error?: string; message?: string };
    let bump = 0;
    do {
      response = await fetch(endpoint, { method: 'POST', headers: { 'content-type': 'application/json', ...signalRequestHeaders(runtime.deps.signalsKey, start + bump, body) }, body });
      answer = (await response.json()) as typeof answer;
      bump += 1;
    } while (response.status === 409 && answer.error === 'SignalReplayError' && bump < 30);
    requests += 1;
    if (response.status !== 200) throw new Error(`the signals endpoint refused batch ${requests} (signals ${i + 1}-${Math.min(signals.length, i + MAX_SIGNALS_PER_BATCH)} of ${file}) with ${response.status} ${answer.error ?? ''}: ${answer.message ?? ''}`);
    stored += answer.stored ?? 0;
    duplicates += answer.duplicates ?? 0;
    conflicts.push(...(answer.conflicts ?? []));
    suppressed.push(...(answer.suppressed ?? []));
  }
  return { file, signals: signals.length, requests, stored, duplicates, conflicts, suppressed, endpoint };
}

/** The summary as text. */
export function renderSummary(s: IngestSummary): string {
  const lines = [
    `${s.file}: ${s.signals} signal(s) in ${s.requests} signed request(s) to ${s.endpoint}`,
    `  stored     ${s.stored} new, ${s.duplicates} already stored (unchanged)`,
  ];
  if (s.conflicts.length > 0) lines.push(`  conflicts  ${s.conflicts.length} id(s) already stored with other content; the first stands: ${s.conflicts.slice(0, 10).join(', ')}${s.conflicts.length > 10 ? ', …' : ''}`);
  if (s.suppressed.length > 0) lines.push(`  suppressed ${s.suppressed.map((x) => `${x.stakeholderId} at ${x.accountId} (${x.kind})`).join(', ')}: do-not-contact from now on`);
  lines.push('  (the next run observes them: `amk run --runs 1`)');
  return lines.join('\n');
}

interface IngestFlags {
  readonly data: string;
  readonly campaign: string;
  readonly json?: boolean;
}

/** Adds `amk signals ingest` to the CLI. */
export function registerSignalsCommands(program: Command, options: SignalsCommandOptions): Command {
  const usage = options.usageError ?? ((message: string) => new Error(message));
  const signals = program.command('signals').description('pipeline signals from outside (CRM, intent, web, email events)');
  signals
    .command('ingest <file>')
    .description('validate a JSONL file of signals (one per line), then sign and POST it to the local signals endpoint; each signal is stored once')
    .option('--data <dir>', 'data folder (as `amk run` made it)', '.data')
    .option('--campaign <file>', 'campaign YAML whose configuration the local functions are synthesized from', options.defaultCampaign)
    .option('--json', 'print JSON')
    .action(async (file: string, flags: IngestFlags) => {
      const path = resolve(file);
      if (!existsSync(path)) throw usage(`no file ${file}: give a JSONL file of signals, one JSON object per line`);
      const { signals: parsed, problems } = readSignalFile(path);
      if (problems.length > 0) {
        if (flags.json) process.stdout.write(`${JSON.stringify({ ok: false, file, problems }, null, 2)}\n`);
        else process.stderr.write(`amk: ${renderProblems(file, problems)}\n`);
        process.exitCode = 2;
        return;
      }
      if (!existsSync(join(resolve(flags.data), 'dynamodb'))) throw usage(`no data in ${flags.data}: run \`amk run\` (or \`npm start\`) first, or give --data`);
      const runtime = await LocalRuntime.start({ campaignFile: flags.campaign, dataDir: flags.data });
      try {
        const summary = await postSignals(runtime, file, parsed);
        process.stdout.write(`${flags.json ? JSON.stringify({ ok: true, ...summary }, null, 2) : renderSummary(summary)}\n`);
        process.exitCode = 0;
      } finally {
        await runtime.close();
      }
    });
  return signals;
}
