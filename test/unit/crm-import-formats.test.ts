/**
 * Formats and mapping files: Salesforce exports (API names and report labels, 15- and 18-character
 * ids), format detection from row 1, a user's mapping file for anything else (validated, errors
 * naming file, field and line), and how contacts find their accounts.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseYamlText } from '../../shared/config/load.ts';
import { InvalidConfigError } from '../../shared/domain/errors.ts';
import {
  detectFormat,
  ImportMapping,
  parseCsvText,
  readAccounts,
  readContacts,
  salesforceId18,
  stableIdOf,
  type ImportIssue,
} from '../../shared/domain/crm-import/index.ts';

const text = (name: string) => readFileSync(`test/fixtures/crm/${name}`, 'utf8');
const codes = (issues: readonly ImportIssue[]) => issues.map((i) => [i.row, i.code]);

const problemsOf = (fn: () => unknown): Array<{ path: string; message: string }> => {
  try {
    fn();
  } catch (err) {
    if (err instanceof InvalidConfigError) return [...err.problems];
    throw err;
  }
  throw new Error('expected an InvalidConfigError');
};

describe('Salesforce exports', () => {
  const accounts = readAccounts(parseCsvText('salesforce-accounts.csv', text('salesforce-accounts.csv')), { format: 'auto' });
  const contacts = readContacts(parseCsvText('salesforce-contacts.csv', text('salesforce-contacts.csv')), { format: 'auto', accounts: accounts.accounts.map((a) => a.state) });

  it('detects Data Loader API names and report labels', () => {
    expect(accounts.format).toBe('salesforce');
    expect(contacts.format).toBe('salesforce');
  });

  it('reads the accounts: domains from websites, numbers with separators, types as stages', () => {
    expect(accounts.accounts.map((a) => [a.state.id, a.state.domain, a.state.employees, a.state.stage, a.state.tier])).toEqual([
      ['sf-0015g00000AbCdEAAV', 'northwind.example', 1200, 'committed', 3],
      ['sf-0015g00000AbCdFAAV', 'quillon.example', 85, 'unaware', 3],
      ['sf-0015g00000AbCdHAAV', 'zephyr-freight.example', 3000, 'unaware', 3],
      ['sf-0015g00000AbCdIAAV', 'larkspur.example', 0, 'unaware', 3],
    ]);
  });

  it('skips the account without a website and imports the one with an unreadable head count as 0', () => {
    expect(codes(accounts.issues)).toEqual([
      [4, 'no_domain'],
      [6, 'invalid_number'],
    ]);
    expect(accounts.issues[1]?.message).toContain('"twelve" is not a number');
    expect(accounts.skippedRows).toEqual([4]);
  });

  it('links contacts by 15-character account id, by email subdomain and by company name, and skips the one nobody matches', () => {
    expect(contacts.contacts.map((c) => [c.row, c.stakeholder.id, c.stakeholder.accountId, c.linkedBy])).toEqual([
      [2, 'sf-0035g00000XyZaBAAV', 'sf-0015g00000AbCdEAAV', 'account_id'],
      [3, 'sf-0035g00000XyZaCAAV', 'sf-0015g00000AbCdEAAV', 'account_id'],
      [4, 'sf-0035g00000XyZaDAAV', 'sf-0015g00000AbCdFAAV', 'email_domain'],
      [5, 'sf-0035g00000XyZaEAAV', 'sf-0015g00000AbCdHAAV', 'company_name'],
      [7, 'sf-0035g00000XyZaGAAV', 'sf-0015g00000AbCdHAAV', 'account_id'],
    ]);
    expect(contacts.issues.find((i) => i.code === 'no_account')).toMatchObject({ row: 6, severity: 'error' });
  });

  it('reads "Email Opt Out" 1 as opted out, and an unreadable opt-out as opted out too, never as consent', () => {
    expect(contacts.contacts.find((c) => c.row === 3)?.stakeholder.consent).toBe('opted_out');
    expect(contacts.contacts.find((c) => c.row === 2)?.stakeholder.consent).toBe('unknown');
    expect(contacts.contacts.find((c) => c.row === 7)?.stakeholder.consent).toBe('opted_out');
    expect(contacts.issues.find((i) => i.row === 7 && i.code === 'invalid_consent')?.message).toMatch(/"maybe" is neither yes nor no.*treated as opted out/);
  });

  it('keeps a quoted title with a comma and one with a line break', () => {
    expect(contacts.contacts.find((c) => c.row === 3)?.stakeholder).toMatchObject({ title: 'Director, Marketing Operations', role: 'champion' });
    expect(contacts.contacts.find((c) => c.row === 7)?.stakeholder).toMatchObject({ title: 'Head of IT\nInfrastructure', role: 'technical_evaluator' });
  });

  it('turns 15-character record ids into the 18-character form, so report and Data Loader exports meet', () => {
    expect(salesforceId18('001D000000IqhSL')).toBe('001D000000IqhSLIAZ');
    expect(salesforceId18('001D000000IqhSLIAZ')).toBe('001D000000IqhSLIAZ');
    expect(stableIdOf({ format: 'salesforce', idPrefix: 'sf' }, '0015g00000AbCdE')).toBe(stableIdOf({ format: 'salesforce', idPrefix: 'sf' }, '0015g00000AbCdEAAV'));
    expect(stableIdOf({ format: 'hubspot', idPrefix: 'hs' }, '9.00E+06')).toBeUndefined();
  });
});

describe('format detection', () => {
  it('tells HubSpot from Salesforce by their headers', () => {
    expect(detectFormat('f', 'accounts', ['Record ID', 'Company name', 'Website URL'])).toBe('hubspot');
    expect(detectFormat('f', 'accounts', ['Id', 'Name', 'Website', 'BillingCountry'])).toBe('salesforce');
    expect(detectFormat('f', 'contacts', ['Record ID', 'First Name', 'Last Name', 'Email Address', 'Company ID'])).toBe('hubspot');
    expect(detectFormat('f', 'contacts', ['Id', 'AccountId', 'Email', 'HasOptedOutOfEmail'])).toBe('salesforce');
  });

  it('fails headers of neither, naming what was expected and the way out', () => {
    const [problem] = problemsOf(() => detectFormat('odd.csv', 'contacts', ['Person', 'Mail']));
    expect(problem?.path).toBe('row 1 (header)');
    expect(problem?.message).toMatch(/not a HubSpot or Salesforce contacts export.*"Record ID", "Email".*--mapping FILE/);
  });

  it('fails a file without an id column as a whole, before any row is read', () => {
    const problems = problemsOf(() => readAccounts(parseCsvText('f.csv', 'Company name,Company Domain Name\nAcme,acme.com\n'), { format: 'hubspot' }));
    expect(problems).toEqual([{ path: 'row 1 (header)', message: expect.stringMatching(/no column for id: expected one of "Record ID", "Company ID"/) }]);
  });
});

describe('mapping files', () => {
  const mapping = parseYamlText('custom-accounts.mapping.yaml', text('custom-accounts.mapping.yaml'), ImportMapping).value;

  it('reads an export of neither format: semicolons, day-first dates, decimal commas, own tiers and stages', () => {
    const table = parseCsvText('custom-accounts.csv', text('custom-accounts.csv'), mapping.delimiter);
    const read = readAccounts(table, { format: 'auto', mapping });
    expect(read.format).toBe('mapping');
    expect(read.accounts.map((a) => [a.state.id, a.state.name, a.state.domain, a.state.employees, a.state.tier, a.state.stage])).toEqual([
      ['erp-A-1', 'Müller Maschinenbau GmbH', 'mueller-maschinen.example', 1200, 1, 'committed'],
      ['erp-A-2', 'Beispiel AG', 'beispiel.example', 85, 2, 'unaware'],
      ['erp-A-3', 'Drei GmbH', 'drei.example', 40, 3, 'unaware'],
    ]);
    // 03.08.2025 alone is ambiguous; 13.04.2025 in the same column proves day-first.
    expect(codes(read.issues)).toEqual([
      [4, 'tier_default'],
      [4, 'stage_default'],
    ]);
  });

  it('rejects a bad mapping naming the file, each field, its line and what was expected', () => {
    const bad = ['columns:', '  E-Mail: emial', 'dates: DDMMYYYY', 'numbers: { decimal: ",", thousands: "," }', 'roles:', '  - { match: "(unclosed", role: champion }', 'tiers: { Gold: 4 }'].join('\n');
    const problems = problemsOf(() => parseYamlText('team.mapping.yaml', bad, ImportMapping));
    const byPath = Object.fromEntries(problems.map((p) => [p.path, p.message]));
    expect(byPath['columns.E-Mail (line 2)']).toMatch(/expected one of "id", "name"/);
    expect(byPath['dates (line 3)']).toMatch(/expected one of "DMY", "MDY", "YMD"/);
    expect(byPath['tiers.Gold (line 7)']).toMatch(/expected one of 1, 2, 3/);
  });

  it('rejects what only the whole mapping can show: a pattern that is no regular expression, equal separators, a field of the other kind', () => {
    const bad = ['kind: accounts', 'columns: { Mail: email }', 'numbers: { decimal: ",", thousands: "," }', 'roles:', '  - { match: "(unclosed", role: champion }'].join('\n');
    const byPath = Object.fromEntries(problemsOf(() => parseYamlText('team.mapping.yaml', bad, ImportMapping)).map((p) => [p.path.replace(/ \(line \d+\)$/, ''), p.message]));
    expect(byPath['roles.0.match']).toMatch(/not a regular expression/);
    expect(byPath['numbers.thousands']).toMatch(/must differ from the decimal mark/);
    expect(byPath['columns.Mail']).toMatch(/"email" is not a field of accounts/);
  });

  it('applies its title rules before the built-in table', () => {
    const m = ImportMapping.parse({ format: 'hubspot', roles: [{ match: 'principal architect', role: 'champion' }] });
    const table = parseCsvText('c.csv', 'Record ID,First Name,Last Name,Email,Job Title,Associated Company ID\n1,Ada,Byron,ada@a.example,Principal Architect,7\n');
    const read = readContacts(table, { format: 'auto', mapping: m, accounts: [{ id: 'hs-7', name: 'A', domain: 'a.example' }] });
    expect(read.contacts[0]?.stakeholder.role).toBe('champion');
  });
});

describe('contacts against the book', () => {
  const head = 'Record ID,First Name,Last Name,Email,Job Title,Associated Company,Associated Company ID\n';
  const book = [
    { id: 'hs-1', name: 'Acme Inc', domain: 'acme.example' },
    { id: 'hs-2', name: 'Twin A', domain: 'twin.example' },
    { id: 'hs-3', name: 'Twin B', domain: 'twin.example' },
  ];

  it('links nobody by a domain two accounts share (that would be a guess)', () => {
    const read = readContacts(parseCsvText('c.csv', `${head}1,A,B,a@twin.example,CFO,,\n`), { format: 'auto', accounts: book });
    expect(read.issues.map((i) => i.code)).toEqual(['no_account']);
  });

  it('links by domain when the named account id is unknown, and says so', () => {
    const read = readContacts(parseCsvText('c.csv', `${head}1,A,B,a@acme.example,CFO,Acme,999\n`), { format: 'auto', accounts: book });
    expect(read.contacts[0]?.stakeholder.accountId).toBe('hs-1');
    expect(read.issues.find((i) => i.code === 'account_id_unknown')?.message).toMatch(/999 is not an account of the book; linked to hs-1 \(Acme Inc\) by email domain/);
  });

  it('counts roles already stored for an account, so a file adding one contact does not call the account uncovered', () => {
    const read = readContacts(parseCsvText('c.csv', `${head}1,A,B,a@acme.example,IT Director,,1\n`), { format: 'auto', accounts: book, storedRoles: { 'hs-1': ['economic_buyer', 'champion'] } });
    expect(read.issues).toEqual([]);
    expect(read.knownRoles).toEqual({ 'hs-1': ['economic_buyer', 'champion', 'technical_evaluator'] });
  });

  it('flags the same name twice at one account with two addresses as a possible duplicate, importing both', () => {
    const read = readContacts(parseCsvText('c.csv', `${head}1,Ada,Byron,ada@acme.example,CFO,,1\n2,Ada,Byron,ab@acme.example,CFO,,1\n`), { format: 'auto', accounts: book });
    expect(read.contacts).toHaveLength(2);
    expect(read.issues.filter((i) => i.row !== null).map((i) => [i.row, i.code])).toEqual([[3, 'possible_duplicate']]);
  });

  it('merges a row exported twice and refuses a record id with two different rows', () => {
    const twice = readContacts(parseCsvText('c.csv', `${head}1,Ada,Byron,ada@acme.example,CFO,,1\n1,Ada,Byron,ada@acme.example,CFO,,1\n1,Ada,Byron,ada@acme.example,CEO,,1\n`), { format: 'auto', accounts: book });
    expect(twice.contacts).toHaveLength(1);
    expect(twice.issues.filter((i) => i.row !== null).map((i) => [i.row, i.code, i.severity])).toEqual([
      [3, 'duplicate_row', 'warning'],
      [4, 'conflicting_duplicate', 'error'],
    ]);
  });
});
