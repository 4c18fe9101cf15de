/**
 * `amk import accounts|contacts FILE` and `amk data check`: a team's own book into the accounts
 * table (the embedded default's data folder, or the deployed stack's table with the user's AWS
 * credentials), with the data-quality report. The mapping and the whole file are read and checked
 * before the first write; a dry run writes nothing; a bad file or mapping is one clear message
 * and exit code 2.
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { cpSync, createReadStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Option, type Command } from 'commander';
import { parse as parseStream } from 'csv-parse';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoAccountRepository } from '../../shared/adapters/dynamodb/account-repository.ts';
import { createDynamoClient } from '../../shared/adapters/dynamodb/client.ts';
import { ensureTables } from '../../shared/adapters/dynamodb/create-tables.ts';
import { localTableName, TABLES, type TableKey } from '../../shared/adapters/dynamodb/tables.ts';
import { parseYamlText } from '../../shared/config/load.ts';
import { InvalidConfigError } from '../../shared/domain/errors.ts';
import * as CrmImport from '../../shared/domain/crm-import/index.ts';
import { checkBook, importAccounts, importContacts, linkContextOf, readBook, type ImportBookDeps, type ImportOutcome } from '../../shared/app/import-book.ts';
import { startDynalite } from '../dynalite.ts';

/** Where the CLI writes: its output and its messages (stdout and stderr by default). */
export interface ImportCliIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  /** Whether progress bars may be drawn (stderr is a terminal). */
  readonly tty: boolean;
}

const processIo: ImportCliIo = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  tty: process.stderr.isTTY === true,
};

/** A bad command-line value or an unusable data folder: one message, exit code 2. */
class ImportUsageError extends Error {
  override readonly name = 'ImportUsageError';
}

interface TargetFlags {
  readonly data: string;
  readonly target: 'local' | 'aws';
  readonly accountsTable?: string;
  readonly stack: string;
  readonly region?: string;
  readonly json?: boolean;
}

interface ImportFlags extends TargetFlags {
  readonly format: CrmImport.FormatOption;
  readonly mapping?: string;
  readonly dryRun?: boolean;
}

const rel = (p: string): string => {
  const r = relative(process.cwd(), p);
  return r && !r.startsWith('..') ? r : p;
};

// ---------------------------------------------------------------------------------------------
// Progress
// ---------------------------------------------------------------------------------------------

/** A one-line progress bar on stderr, like `amk run`'s, drawn only on a terminal. */
function progressBar(io: ImportCliIo, enabled: boolean, label: string): { update(done: number, total: number): void; end(): void } {
  let last = -1;
  return {
    update(done, total) {
      if (!enabled || total <= 0) return;
      const width = 20;
      const filled = Math.min(width, Math.round((done / total) * width));
      if (filled === last && done !== total) return;
      last = filled;
      process.stderr.write(`\r  ${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`);
    },
    end() {
      if (enabled && last >= 0) process.stderr.write('\r\x1b[2K');
      last = -1;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Reading the files (all of it before any write)
// ---------------------------------------------------------------------------------------------

/** Reads and validates a mapping file; InvalidConfigError names the file, the path and the line. */
function readMapping(file: string | undefined, kind: CrmImport.ImportKind): CrmImport.ImportMapping | undefined {
  if (file === undefined) return undefined;
  if (!existsSync(file)) throw new InvalidConfigError(rel(file), [{ path: '', message: 'mapping file not found' }]);
  const { value } = parseYamlText(rel(file), readFileUtf8(file), CrmImport.ImportMapping);
  if (value.kind !== undefined && value.kind !== kind) {
    throw new InvalidConfigError(rel(file), [{ path: 'kind', message: `the mapping is for ${value.kind}, but this is \`amk import ${kind}\`` }]);
  }
  return value;
}

function readFileUtf8(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const code = err instanceof Error && 'code' in err ? String(err.code) : 'unreadable';
    throw new InvalidConfigError(rel(file), [{ path: '', message: `cannot read the file (${code})` }], { cause: err });
  }
}

/**
 * Streams a CSV file through csv-parse (the domain's options, so rows are numbered alike), with a
 * progress bar by bytes. A file that is not UTF-8 (a spreadsheet's "CSV" in a legacy code page)
 * fails as a whole rather than importing garbled names.
 */
async function readCsvFile(file: string, delimiter: string | undefined, bar: ReturnType<typeof progressBar>): Promise<CrmImport.CsvTable> {
  const name = rel(file);
  if (!existsSync(file)) throw new InvalidConfigError(name, [{ path: '', message: 'file not found' }]);
  const size = statSync(file).size;
  const records: string[][] = [];
  const parser = createReadStream(file).pipe(parseStream(CrmImport.csvOptions(delimiter)));
  try {
    for await (const record of parser as AsyncIterable<string[]>) {
      records.push(record);
      if (records.length % 500 === 0) bar.update(parser.info.bytes, size);
    }
  } catch (err) {
    throw CrmImport.csvFailure(name, err) ?? err;
  } finally {
    bar.end();
  }
  const garbled = records.findIndex((r) => r.some((v) => v.includes('\uFFFD')));
  if (garbled >= 0) {
    throw new InvalidConfigError(name, [{ path: `row ${garbled + 1}`, message: 'the file is not UTF-8 text: export it again as "CSV UTF-8" (Excel: Save As → CSV UTF-8)' }]);
  }
  return CrmImport.tableOf(name, records);
}

// ---------------------------------------------------------------------------------------------
// Where the book is
// ---------------------------------------------------------------------------------------------

/** The accounts table to work on, and how to let it go. */
interface Store {
  readonly accounts: DynamoAccountRepository;
  readonly where: string;
  close(): Promise<void>;
}

/** The LevelDB module dynalite opens its folder with (resolved from dynalite, so it is that very copy). */
interface LevelDb {
  open(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Fails clearly when another process (`amk run`, `npm start`) holds the data folder: dynalite
 * would otherwise throw from inside its request handler, out of reach of any catch.
 */
async function assertFolderFree(path: string, dataDir: string): Promise<void> {
  const fromDynalite = createRequire(createRequire(import.meta.url).resolve('dynalite'));
  // `level` is dynalite's own dependency: typed here by the two calls the probe makes.
  const { Level } = fromDynalite('level') as { Level: new (location: string) => LevelDb };
  const db = new Level(path);
  try {
    await db.open();
  } catch (err) {
    const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : String(err);
    throw new ImportUsageError(`the data folder ${dataDir} is in use by another amk process (${cause}): wait for it to finish, or import into another --data folder`);
  }
  await db.close();
}

/** The stack output that names the deployed accounts table (cdk/stacks/campaign-stack.ts). */
export const ACCOUNTS_TABLE_OUTPUT = 'AccountsTableName';

/**
 * The deployed accounts table, from the stack's outputs (CloudFormation DescribeStacks with the
 * shell's credentials). Fails naming the stack, the region and how to fix it.
 */
async function accountsTableOf(stack: string, region: string | undefined): Promise<string> {
  const client = new CloudFormationClient(region === undefined ? {} : { region });
  try {
    const out = await client.send(new DescribeStacksCommand({ StackName: stack }));
    const value = out.Stacks?.[0]?.Outputs?.find((o) => o.OutputKey === ACCOUNTS_TABLE_OUTPUT)?.OutputValue;
    if (value === undefined || value === '') {
      throw new ImportUsageError(`stack ${stack} has no ${ACCOUNTS_TABLE_OUTPUT} output: deploy this version (\`npx cdk deploy\`), or name the table with --accounts-table`);
    }
    return value;
  } catch (err) {
    if (err instanceof ImportUsageError) throw err;
    const name = err instanceof Error ? err.name : 'Error';
    const message = err instanceof Error ? err.message : String(err);
    const where = `in ${region ?? (await client.config.region().catch(() => 'your default region'))}`;
    if (name === 'ValidationError') throw new ImportUsageError(`no stack ${stack} ${where} (${message}): pass --stack NAME and --region, or --accounts-table NAME`);
    throw new ImportUsageError(`cannot read the outputs of stack ${stack} ${where}: ${name}: ${message} (check your AWS credentials, or pass --accounts-table NAME)`);
  } finally {
    client.destroy();
  }
}

/**
 * Opens the accounts table: the data folder's dynalite (a private copy for a dry run, so that
 * nothing is written), or the deployed table in AWS with the shell's credentials.
 */
async function openStore(flags: TargetFlags, opts: { write: boolean; mustExist?: boolean }): Promise<Store> {
  if (flags.target === 'aws') {
    const table = flags.accountsTable !== undefined && flags.accountsTable !== '' ? flags.accountsTable : await accountsTableOf(flags.stack, flags.region);
    const client = createDynamoClient(flags.region === undefined ? {} : { region: flags.region });
    return { accounts: new DynamoAccountRepository(client, table), where: `DynamoDB table ${table}`, close: async () => client.destroy() };
  }
  const tables = join(flags.data, 'dynamodb');
  if (opts.mustExist && !existsSync(tables)) throw new ImportUsageError(`no data in ${flags.data}: import a book first (\`amk import accounts FILE --data ${flags.data}\`)`);
  let path: string | undefined = tables;
  let copy: string | undefined;
  if (!opts.write) {
    // A dry run reads a private copy: opening LevelDB writes lock and log files even to read.
    copy = mkdtempSync(join(tmpdir(), 'amk-import-'));
    if (existsSync(tables)) cpSync(tables, join(copy, 'dynamodb'), { recursive: true });
    path = existsSync(tables) ? join(copy, 'dynamodb') : undefined;
  } else {
    mkdirSync(tables, { recursive: true });
    await assertFolderFree(tables, flags.data);
  }
  let dynamo: Awaited<ReturnType<typeof startDynalite>>;
  try {
    dynamo = await startDynalite(path === undefined ? {} : { path });
  } catch (err) {
    if (copy) rmSync(copy, { recursive: true, force: true });
    throw new ImportUsageError(`cannot open the data folder ${flags.data} (${err instanceof Error ? err.message : String(err)}): is another amk command using it? Wait for it to finish`);
  }
  let client: DynamoDBClient | undefined;
  const close = async () => {
    client?.destroy();
    await dynamo.close();
    if (copy) rmSync(copy, { recursive: true, force: true });
  };
  try {
    client = createDynamoClient({ endpoint: dynamo.endpoint });
    const names = Object.fromEntries((Object.keys(TABLES) as TableKey[]).map((k) => [k, localTableName(k)])) as Record<TableKey, string>;
    await ensureTables(client, names);
    return { accounts: new DynamoAccountRepository(client, names.accounts), where: `${rel(flags.data)}/dynamodb`, close };
  } catch (err) {
    await close();
    throw new ImportUsageError(`cannot open the data folder ${flags.data} (${err instanceof Error ? err.message : String(err)}): is another amk command using it? Wait for it to finish`);
  }
}

// ---------------------------------------------------------------------------------------------
// Reports
// ---------------------------------------------------------------------------------------------

/** The `--json` shape of an import. */
function importJson(outcome: ImportOutcome) {
  const r = outcome.report;
  return {
    rows: r.rows,
    imported: outcome.imported,
    skipped: r.skippedRows.length,
    score: r.score,
    issues: r.issues.map((i) => ({ row: i.row, field: i.field, code: i.code, severity: i.severity, message: i.message, ...(i.accountId ? { accountId: i.accountId } : {}) })),
    file: r.file,
    format: r.format,
    dryRun: outcome.dryRun,
    writes: outcome.writes,
    skippedRows: r.skippedRows,
    counts: r.counts,
    ignoredColumns: r.ignoredColumns,
    ...(outcome.quality ? { book: { score: outcome.quality.score, accounts: outcome.quality.accounts, contacts: outcome.quality.contacts, at: outcome.quality.at } } : {}),
  };
}

/** How many issues of each code a human report shows in full. */
const SHOWN_PER_CODE = 3;

/** The human report of an import: figures, then each code with its count and first rows. */
function renderImport(kind: CrmImport.ImportKind, outcome: ImportOutcome, where: string): string[] {
  const r = outcome.report;
  const lines = [
    `amk import ${kind} ${r.file} (${r.format}${outcome.dryRun ? ', dry run: nothing written' : ''})`,
    `  rows       ${r.rows}: ${outcome.imported} imported, ${r.skippedRows.length} skipped`,
    `  score      ${r.score}/100 (errors cost a row 1, warnings 0.25, infos nothing)`,
    `  ${outcome.dryRun ? 'would write' : 'writes    '} ${outcome.writes.created} new, ${outcome.writes.updated} updated, ${outcome.writes.unchanged} unchanged — ${where}`,
  ];
  if (r.ignoredColumns.length > 0) lines.push(`  ignored    columns ${r.ignoredColumns.map((c) => `"${c}"`).join(', ')} (map them in a mapping file to use them)`);
  if (r.issues.length === 0) lines.push('  issues     none');
  for (const [code, n] of Object.entries(r.counts) as Array<[CrmImport.IssueCode, number]>) {
    const of = r.issues.filter((i) => i.code === code);
    lines.push(`  ${CrmImport.ISSUE_SEVERITY[code].padEnd(8)} ${code.padEnd(22)} ${String(n).padStart(5)}`);
    for (const i of of.slice(0, SHOWN_PER_CODE)) lines.push(`      ${i.row === null ? '' : `row ${i.row}: `}${i.message}`);
    if (of.length > SHOWN_PER_CODE) lines.push(`      … ${of.length - SHOWN_PER_CODE} more (--json lists every one)`);
  }
  if (r.skippedRows.length > 0) lines.push(`  skipped    rows ${r.skippedRows.slice(0, 30).join(', ')}${r.skippedRows.length > 30 ? ', …' : ''}: fix them in the CRM and import again (an import never duplicates what it already wrote)`);
  if (outcome.quality) lines.push(`  book       score ${outcome.quality.score}/100 over ${outcome.quality.accounts} accounts and ${outcome.quality.contacts} contacts (stored for the campaigns' data-quality gate; \`amk data check\` re-checks)`);
  return lines;
}

/** The human report of the book's summary. */
function renderQuality(q: CrmImport.BookQuality, where: string): string[] {
  const withRole = (role: string) => q.coverage.filter((c) => c.roles.includes(role as never)).reduce((t, c) => t + c.accounts, 0);
  const pct = (n: number) => (q.accounts === 0 ? '0%' : `${Math.round((100 * n) / q.accounts)}%`);
  const lines = [
    `book data quality — ${where}, checked ${q.at}`,
    `  score      ${q.score}/100`,
    `  book       ${q.accounts} accounts, ${q.contacts} contacts`,
    `  roles      ${CrmImport.SCORED_ROLES.concat(['technical_evaluator', 'blocker']).map((r) => `${CrmImport.roleName(r)} known at ${withRole(r)} (${pct(withRole(r))})`).join(', ')}`,
  ];
  for (const [kind, s] of Object.entries(q.imports)) {
    if (s) lines.push(`  ${kind.padEnd(10)} latest import ${s.file} at ${s.at}: ${s.rows} rows, ${s.imported} imported, ${s.skipped} skipped, score ${s.score}`);
  }
  for (const [code, n] of Object.entries(q.counts) as Array<[CrmImport.IssueCode, number]>) lines.push(`  ${CrmImport.ISSUE_SEVERITY[code].padEnd(8)} ${code.padEnd(22)} ${String(n).padStart(5)}`);
  return lines;
}

// ---------------------------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------------------------

async function importCommand(io: ImportCliIo, kind: CrmImport.ImportKind, file: string, flags: ImportFlags): Promise<number> {
  const mapping = readMapping(flags.mapping, kind);
  const bar = progressBar(io, io.tty && !flags.json, `reading ${rel(file)}`);
  const table = await readCsvFile(file, mapping?.delimiter, bar);
  const options: CrmImport.ReadOptions = { format: flags.format, ...(mapping ? { mapping } : {}) };
  // Headers that fit no format fail before the data folder is even opened.
  CrmImport.planColumns(table.file, kind, table.headers, options.format, mapping);
  // Accounts need nothing of the book to be read: the whole file is checked before the table opens.
  const accountsRead = kind === 'accounts' ? CrmImport.readAccounts(table, options) : undefined;
  const store = await openStore(flags, { write: !flags.dryRun });
  try {
    const deps: ImportBookDeps = { accounts: store.accounts, clock: () => new Date().toISOString() };
    const writing = progressBar(io, io.tty && !flags.json, flags.dryRun ? 'comparing' : 'writing');
    let outcome: ImportOutcome;
    if (accountsRead) {
      outcome = await importAccounts(deps, accountsRead, { dryRun: Boolean(flags.dryRun), onProgress: writing.update });
    } else {
      const book = await readBook(store.accounts);
      const parsed = CrmImport.readContacts(table, { ...options, ...linkContextOf(book) });
      outcome = await importContacts(deps, parsed, book, { dryRun: Boolean(flags.dryRun), onProgress: writing.update });
    }
    writing.end();
    if (flags.json) io.out(JSON.stringify(importJson(outcome), null, 2));
    else io.out(renderImport(kind, outcome, store.where).join('\n'));
    return 0;
  } finally {
    await store.close();
  }
}

async function checkCommand(io: ImportCliIo, flags: TargetFlags): Promise<number> {
  const store = await openStore(flags, { write: true, mustExist: flags.target === 'local' });
  try {
    const deps: ImportBookDeps = { accounts: store.accounts, clock: () => new Date().toISOString() };
    const quality = await checkBook(deps);
    if (quality.accounts === 0) throw new ImportUsageError(`the book in ${store.where} has no accounts: import them first (\`amk import accounts FILE\`)`);
    io.out(flags.json ? JSON.stringify(quality, null, 2) : renderQuality(quality, store.where).join('\n'));
    return 0;
  } finally {
    await store.close();
  }
}

/** Runs a command, printing a bad file, mapping or flag as one message with exit code 2 (no stack). */
async function guarded(io: ImportCliIo, run: () => Promise<number>): Promise<void> {
  try {
    process.exitCode = await run();
  } catch (err) {
    if (err instanceof InvalidConfigError) {
      io.err(`amk: problems in ${err.file}`);
      for (const p of err.problems) io.err(`  ${p.path || '(file)'}: ${p.message}`);
      io.err('Nothing was written. Fix the file and run again (add --dry-run to check without writing).');
      process.exitCode = 2;
      return;
    }
    if (err instanceof ImportUsageError) {
      io.err(`amk: ${err.message}`);
      process.exitCode = 2;
      return;
    }
    throw err;
  }
}

const targetOptions = (cmd: Command): Command =>
  cmd
    .option('--data <dir>', 'data folder of the embedded default (with --target local)', '.data')
    .addOption(new Option('--target <where>', 'where the book is: the local data folder, or the deployed stack in AWS (your credentials)').choices(['local', 'aws']).default('local'))
    .option('--stack <name>', 'with --target aws: the deployed stack, whose AccountsTableName output names the table', 'AutonomousMarketing')
    .option('--accounts-table <name>', 'with --target aws: the accounts table, instead of the stack\'s output')
    .option('--region <region>', 'with --target aws: the AWS region (default: your profile\'s)')
    .option('--json', 'print one JSON object instead of the report');

/** Adds `amk import accounts|contacts FILE` and `amk data check` to the program. */
export function registerImportCommands(program: Command, io: ImportCliIo = processIo): void {
  const imports = program.command('import').description("import your book from CRM exports (HubSpot, Salesforce, or any CSV with a mapping file), with a data-quality report");
  for (const kind of CrmImport.ImportKind.options) {
    targetOptions(
      imports
        .command(`${kind} <file>`)
        .description(kind === 'accounts' ? 'import accounts (companies) from a CSV export' : 'import contacts from a CSV export, linked to the accounts of the book')
        .addOption(new Option('--format <format>', 'the export format (auto: from the headers)').choices(['hubspot', 'salesforce', 'auto']).default('auto'))
        .option('--mapping <file>', 'YAML mapping file: columns, date and number formats, title → role rules, tiers, stages')
        .option('--dry-run', 'read, check and compare with the book, write nothing'),
    ).action(async (file: string, flags: ImportFlags) => {
      await guarded(io, () => importCommand(io, kind, file, flags));
    });
  }
  const data = program.command('data').description("the book's data quality");
  targetOptions(data.command('check').description("re-check the book's data quality from the stored accounts and contacts, and store the summary the campaigns' gate reads")).action(
    async (flags: TargetFlags) => {
      await guarded(io, () => checkCommand(io, flags));
    },
  );
}
