/**
 * `amk import` and `amk data check` as a user runs them: `node local/cli/bin.mjs ...` in a child
 * process with a temporary data folder. The JSON report has the documented shape; a bad file or
 * mapping fails with one message naming it, exit code 2, no stack trace, and nothing written.
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startDynalite } from '../../local/dynalite.ts';
import { DynamoAccountRepository } from '../../shared/adapters/dynamodb/account-repository.ts';
import { createDynamoClient } from '../../shared/adapters/dynamodb/client.ts';
import { ensureTables } from '../../shared/adapters/dynamodb/create-tables.ts';
import { TABLES, type TableKey } from '../../shared/adapters/dynamodb/tables.ts';

const REPO = resolve('.');
const BIN = join(REPO, 'local', 'cli', 'bin.mjs');

interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `amk ...args`; resolves with the exit code and output whatever the code. */
function amk(...args: string[]): Promise<CliResult> {
  return amkWith({}, ...args);
}

/** Runs `amk ...args` with extra environment variables. */
function amkWith(extraEnv: Readonly<Record<string, string>>, ...args: string[]): Promise<CliResult> {
  return new Promise((done, fail) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { cwd: REPO, env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', AMK_DEBUG: '', ...extraEnv }, timeout: 90_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err && typeof err.code !== 'number') return fail(err);
        done({ code: err && typeof err.code === 'number' ? err.code : 0, stdout, stderr });
      },
    );
  });
}

const expectNoStack = (r: CliResult) => expect(`${r.stdout}\n${r.stderr}`).not.toMatch(/^ {4}at /m);

const work = mkdtempSync(join(tmpdir(), 'amk-import-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('amk import and amk data check', { timeout: 240_000 }, () => {
  const data = join(work, 'data');

  it('imports the HubSpot book with --json reports of the documented shape, then re-imports it writing nothing', async () => {
    const accounts = await amk('import', 'accounts', 'test/fixtures/crm/hubspot-companies.csv', '--data', data, '--json');
    expect(accounts.code).toBe(0);
    expectNoStack(accounts);
    const a = JSON.parse(accounts.stdout) as Record<string, unknown>;
    expect(a).toMatchObject({ rows: 60, imported: 60, skipped: 0, score: 100, writes: { created: 60, updated: 0, unchanged: 0 } });
    expect(a['issues']).toHaveLength(9);

    const contacts = await amk('import', 'contacts', 'test/fixtures/crm/hubspot-contacts.csv', '--data', data, '--json', '--format', 'hubspot');
    expect(contacts.code).toBe(0);
    const c = JSON.parse(contacts.stdout) as { rows: number; imported: number; skipped: number; score: number; issues: Array<Record<string, unknown>>; writes: unknown };
    expect(c).toMatchObject({ rows: 435, imported: 403, skipped: 32, score: 92, writes: { created: 403, updated: 0, unchanged: 0 } });
    expect(c.issues).toContainEqual({ row: 7, field: 'email', code: 'invalid_email', severity: 'error', message: 'Email: "xrossi at bluefinnetworks.co" is not a valid email address: it has no "@"' });
    expect(c.issues.find((i) => i['code'] === 'duplicate_contact')).toMatchObject({ row: 436, field: 'id' });
    for (const i of c.issues) expect(Object.keys(i).slice(0, 4)).toEqual(['row', 'field', 'code', 'severity']);

    const again = await amk('import', 'contacts', 'test/fixtures/crm/hubspot-contacts.csv', '--data', data, '--json');
    expect(JSON.parse(again.stdout)).toMatchObject({ imported: 403, writes: { created: 0, updated: 0, unchanged: 403 } });
  });

  it('prints a human report with the counts per code, the first rows of each and the score', async () => {
    const r = await amk('import', 'contacts', 'test/fixtures/crm/hubspot-contacts.csv', '--data', data, '--dry-run');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/rows +435: 403 imported, 32 skipped/);
    expect(r.stdout).toMatch(/score +92\/100/);
    expect(r.stdout).toMatch(/error +invalid_email +30\n +row 7: Email: "xrossi at bluefinnetworks\.co"/);
    expect(r.stdout).toMatch(/warning +role_unknown +8/);
    expect(r.stdout).toContain('dry run: nothing written');
  });

  it('re-checks the stored book and prints its summary', async () => {
    const r = await amk('data', 'check', '--data', data, '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ accounts: 60, contacts: 403, counts: { no_champion: 31, no_economic_buyer: 4 } });
  });

  it('refuses to run a campaign whose data-quality gate the imported book misses, saying what to fix, and works no account', async () => {
    const config = join(work, 'config');
    cpSync(join(REPO, 'config'), config, { recursive: true });
    const campaign = join(config, 'campaigns', 'q1-committee-expansion.yaml');
    writeFileSync(campaign, `${readFileSync(campaign, 'utf8')}\ndataQuality:\n  minScore: 95\n  requiredRoles: [economic_buyer, champion]\n  minAccountsWithRequiredRoles: 0.9\n`);
    const r = await amk('run', '--campaign', campaign, '--book', 'imported', '--data', data, '--runs', '1', '--json');
    expect(r.code).not.toBe(0);
    expectNoStack(r);
    expect(r.stderr).toMatch(/DataQualityGateError/);
    expect(r.stderr).toMatch(/score is 92, below the campaign's minimum of 95/);
    expect(r.stderr).toMatch(/no champion on 31 account\(s\)/);
    expect(r.stderr).toMatch(/re-check with `amk data check`/);
    // The refusal is in the run's audit stream; nothing was planned.
    const audit = await amk('audit', 'query', 'cost-and-volume-per-run', '--data', data, '--json');
    expect((JSON.parse(audit.stdout) as { rows: unknown[] }).rows).toEqual([]);
  });

  it('runs a campaign on the imported book, the simulator answering for its accounts and people', async () => {
    // A simulated book is never mixed into a folder that holds an imported one.
    const other = join(work, 'other');
    expect((await amk('import', 'accounts', 'test/fixtures/crm/hubspot-companies.csv', '--data', other)).code).toBe(0);
    const simulated = await amk('run', '--runs', '1', '--data', other);
    expect(simulated.code).toBe(2);
    expect(simulated.stderr).toMatch(/holds an imported book: run it with --book imported/);
    const r = await amk('run', '--book', 'imported', '--runs', '2', '--data', data, '--json');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as { accounts: number; actions: { proposed: number; executed: number } };
    expect(report.accounts).toBe(60);
    expect(report.actions.proposed).toBeGreaterThan(0);
    // Every email went to a person of the imported book, none to an unsubscribed one.
    const prospects = join(data, 'outbox', 'prospects');
    const to = readdirSync(prospects).flatMap((f) => /^To: (.+)$/m.exec(readFileSync(join(prospects, f), 'utf8'))?.[1]?.split(/,\s*/) ?? []);
    const contacts = readFileSync('test/fixtures/crm/hubspot-contacts.csv', 'utf8').toLowerCase();
    expect(to.length).toBeGreaterThan(0);
    for (const address of to) {
      const email = address.replace(/^.*<|>$/g, '').toLowerCase();
      expect(contacts, email).toContain(email);
      expect(contacts, email).not.toMatch(new RegExp(`${email.replace(/[.+]/g, '\\$&')},[^\n]*,true,`));
    }
    const story = await amk('explain', 'hs-9000000', '--data', data);
    expect(story.code).toBe(0);
    expect(story.stdout).toMatch(/Bluefin Networks/);
  });

  it('benchmarks the agents on the imported book (npm run bench -- --book DIR), and names a folder without one', async () => {
    const bench = (...args: string[]) =>
      new Promise<CliResult>((done, fail) => {
        execFile(process.execPath, ['--import', 'tsx', 'bench/bench.ts', ...args], { cwd: REPO, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
          if (err && typeof err.code !== 'number') return fail(err);
          done({ code: err && typeof err.code === 'number' ? err.code : 0, stdout, stderr });
        });
      });
    const r = await bench('--book', data, '--seeds', '1', '--weeks', '3', '--report', join(work, 'bench.html'), '--json');
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { accounts: number; policies: Record<string, { touches: { estimate: number } }> };
    expect(out.accounts).toBe(60);
    expect(out.policies.agent?.touches.estimate).toBeGreaterThan(0);
    const none = await bench('--book', join(work, 'nowhere'), '--seeds', '1', '--weeks', '1', '--report', join(work, 'bench2.html'));
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no imported book in .*nowhere: run `amk import accounts FILE/);
    expectNoStack(none);
  });

});

describe.concurrent('amk import with bad input', { timeout: 240_000 }, () => {
  it('fails a file that is no CRM export with exit code 2, naming file and header row, and writes nothing', async () => {
    const file = join(work, 'people.csv');
    writeFileSync(file, 'Person,Mail\nAda,ada@example.com\n');
    const fresh = join(work, 'fresh');
    const r = await amk('import', 'contacts', file, '--data', fresh);
    expect(r.code).toBe(2);
    expectNoStack(r);
    expect(r.stderr).toContain(file);
    expect(r.stderr).toMatch(/row 1 \(header\): these headers are not a HubSpot or Salesforce contacts export/);
    expect(r.stderr).toContain('Nothing was written');
    expect(existsSync(fresh)).toBe(false);
  });

  it('fails a bad mapping file with exit code 2, naming the file, each field and its line', async () => {
    const mapping = join(work, 'bad.mapping.yaml');
    writeFileSync(mapping, 'kind: contacts\ncolumns:\n  Mail: e-mail\ndates: sometimes\n');
    const r = await amk('import', 'contacts', 'test/fixtures/crm/hubspot-contacts.csv', '--mapping', mapping, '--data', join(work, 'fresh-2'));
    expect(r.code).toBe(2);
    expectNoStack(r);
    expect(r.stderr).toContain(mapping);
    expect(r.stderr).toMatch(/columns\.Mail \(line 3\): expected one of "id"/);
    expect(r.stderr).toMatch(/dates \(line 4\): expected one of "DMY", "MDY", "YMD"/);
    expect(existsSync(join(work, 'fresh-2'))).toBe(false);
  });

  it('with --target aws, writes the table the deployed stack names in its outputs, and names a stack that is not there', async () => {
    // CloudFormation's DescribeStacks (the query protocol, as the SDK speaks it) and DynamoDB
    // (dynalite) on 127.0.0.1, reached by the SDK's endpoint variables: the CLI runs unchanged.
    const requests: string[] = [];
    const cfn = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        requests.push(body);
        const params = new URLSearchParams(body);
        const stack = params.get('StackName');
        res.setHeader('content-type', 'text/xml');
        if (params.get('Action') !== 'DescribeStacks' || stack !== 'AmkProd') {
          res.statusCode = 400;
          res.end(`<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><Error><Type>Sender</Type><Code>ValidationError</Code><Message>Stack with id ${stack} does not exist</Message></Error><RequestId>r-1</RequestId></ErrorResponse>`);
          return;
        }
        res.end(
          '<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult><Stacks><member>' +
            '<StackName>AmkProd</StackName><StackId>arn:aws:cloudformation:us-east-1:123456789012:stack/AmkProd/1</StackId><CreationTime>2026-11-01T00:00:00Z</CreationTime><StackStatus>CREATE_COMPLETE</StackStatus>' +
            '<Outputs><member><OutputKey>AccountsTableName</OutputKey><OutputValue>AmkProd-TablesAccounts-X1</OutputValue></member></Outputs>' +
            '</member></Stacks></DescribeStacksResult><ResponseMetadata><RequestId>r-2</RequestId></ResponseMetadata></DescribeStacksResponse>',
        );
      });
    });
    await new Promise<void>((done) => cfn.listen(0, '127.0.0.1', done));
    const db = await startDynalite();
    try {
      const client = createDynamoClient({ endpoint: db.endpoint, region: 'us-east-1' });
      const names = Object.fromEntries((Object.keys(TABLES) as TableKey[]).map((k) => [k, `AmkProd-Tables${k[0]?.toUpperCase()}${k.slice(1)}-X1`])) as Record<TableKey, string>;
      await ensureTables(client, names);
      const env = {
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
        AWS_REGION: 'us-east-1',
        AWS_ENDPOINT_URL_CLOUDFORMATION: `http://127.0.0.1:${(cfn.address() as AddressInfo).port}`,
        AWS_ENDPOINT_URL_DYNAMODB: db.endpoint,
      };
      const r = await amkWith(env, 'import', 'accounts', 'test/fixtures/crm/hubspot-companies.csv', '--target', 'aws', '--stack', 'AmkProd', '--json');
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ imported: 60, writes: { created: 60 } });
      expect(requests[0]).toMatch(/Action=DescribeStacks/);
      const stored = await new DynamoAccountRepository(client, names.accounts).get('hs-9000000');
      expect(stored?.name).toBe('Bluefin Networks');
      const missing = await amkWith(env, 'import', 'accounts', 'test/fixtures/crm/hubspot-companies.csv', '--target', 'aws', '--dry-run');
      expect(missing.code).toBe(2);
      expectNoStack(missing);
      expect(missing.stderr).toMatch(/no stack AutonomousMarketing in us-east-1 \(Stack with id AutonomousMarketing does not exist\): pass --stack NAME/);
      client.destroy();
    } finally {
      cfn.close();
      await db.close();
    }
  });

  it('imports a Salesforce export and a mapped one in a dry run, leaving a new data folder unwritten', async () => {
    const fresh = join(work, 'dry');
    const sf = await amk('import', 'accounts', 'test/fixtures/crm/salesforce-accounts.csv', '--data', fresh, '--dry-run', '--json');
    expect(sf.code).toBe(0);
    expect(JSON.parse(sf.stdout)).toMatchObject({ format: 'salesforce', rows: 5, imported: 4, skipped: 1, skippedRows: [4], dryRun: true, writes: { created: 4 } });
    const mapped = await amk('import', 'accounts', 'test/fixtures/crm/custom-accounts.csv', '--mapping', 'test/fixtures/crm/custom-accounts.mapping.yaml', '--data', fresh, '--dry-run', '--json');
    expect(mapped.code).toBe(0);
    expect(JSON.parse(mapped.stdout)).toMatchObject({ format: 'mapping', rows: 3, imported: 3, skipped: 0 });
    expect(existsSync(fresh)).toBe(false);
  });
});
