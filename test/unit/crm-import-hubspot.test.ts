/**
 * The synthetic HubSpot exports (test/fixtures/crm) are unclean like real ones. Each flaw was
 * found by reading the files, and the report must list exactly those rows — no more, no fewer —
 * and import everything else.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseCsvText, readAccounts, readContacts, type ImportIssue } from '../../shared/domain/crm-import/index.ts';

const fixture = (name: string) => parseCsvText(name, readFileSync(`test/fixtures/crm/${name}`, 'utf8'));
const accounts = readAccounts(fixture('hubspot-companies.csv'), { format: 'auto' });
const contacts = readContacts(fixture('hubspot-contacts.csv'), { format: 'auto', accounts: accounts.accounts.map((a) => a.state) });

const rowsOf = (issues: readonly ImportIssue[], code: string) => issues.filter((i) => i.code === code).map((i) => i.row);
const accountsOf = (issues: readonly ImportIssue[], code: string) => issues.filter((i) => i.code === code).map((i) => i.accountId);

// Found by hand in hubspot-contacts.csv (row = spreadsheet row, header = 1).
/** " at " instead of "@". */
const AT_WRITTEN_OUT = [7, 104, 201, 298, 395];
/** Names with Ł or ü kept in the address's local part (łgarcia@, smüller@, UMÜLLER@...): not addresses the model or SES accept. */
const NON_ASCII = [16, 27, 36, 78, 79, 122, 125, 162, 170, 173, 191, 207, 221, 251, 273, 278, 289, 316, 321, 336, 372, 381, 404, 414, 427];
/** Upper-case addresses (LGARCIA@BLUEFINNETWORKS.CO ...), valid once lowercased (173 is upper-case and non-ASCII). */
const UPPER_CASE = [9, 50, 91, 132, 214, 255, 296, 337, 378, 419];
/** Blank job titles. */
const BLANK_TITLES = [13, 66, 119, 172, 225, 278, 331, 384];
/** "Unsubscribed from all email" = true. */
const UNSUBSCRIBED = [23, 29, 34, 43, 55, 67, 77, 101, 110, 112, 121, 137, 152, 157, 173, 182, 195, 203, 214, 233, 262, 273, 275, 293, 296, 325, 380, 408, 419, 427, 432];
/** Accounts whose importable contacts include no CFO, CEO, COO, SVP Operations, VP Finance or VP Marketing. */
const NO_ECONOMIC_BUYER = ['hs-9000296', 'hs-9000370', 'hs-9000481', 'hs-9000851'];
/** Accounts whose importable contacts include no marketing/revenue-operations leader. */
const NO_CHAMPION = [
  'hs-9000000', 'hs-9000037', 'hs-9000148', 'hs-9000259', 'hs-9000333', 'hs-9000370', 'hs-9000481', 'hs-9000555', 'hs-9000592', 'hs-9000703',
  'hs-9000777', 'hs-9000814', 'hs-9000851', 'hs-9000925', 'hs-9000962', 'hs-9001036', 'hs-9001073', 'hs-9001110', 'hs-9001406', 'hs-9001480',
  'hs-9001517', 'hs-9001554', 'hs-9001591', 'hs-9001665', 'hs-9001702', 'hs-9001739', 'hs-9001887', 'hs-9001924', 'hs-9001998', 'hs-9002035', 'hs-9002146',
];

describe('hubspot-companies.csv', () => {
  it('is detected as a HubSpot export and imports all 60 companies with stable ids', () => {
    expect(accounts.format).toBe('hubspot');
    expect(accounts.rows).toBe(60);
    expect(accounts.accounts).toHaveLength(60);
    expect(accounts.skippedRows).toEqual([]);
    expect(accounts.accounts[0]?.state).toMatchObject({ id: 'hs-9000000', name: 'Bluefin Networks', domain: 'bluefinnetworks.co', tier: 2, industry: 'Higher Education', employees: 1200, stage: 'unaware', version: 0 });
  });

  it('reports exactly its flaw — nine blank tiers, imported as tier 3 — and nothing else', () => {
    expect(accounts.issues.map((i) => [i.row, i.code, i.severity])).toEqual([11, 20, 21, 29, 36, 39, 41, 53, 56].map((row) => [row, 'tier_default', 'info']));
    expect(accounts.accounts.filter((a) => [11, 20, 21, 29, 36, 39, 41, 53, 56].includes(a.row)).every((a) => a.state.tier === 3)).toBe(true);
    expect(accounts.score).toBe(100);
  });

  it('starts the customer at committed and the leads at unaware', () => {
    expect(accounts.accounts.find((a) => a.state.id === 'hs-9002109')?.state.stage).toBe('committed');
    expect(accounts.accounts.filter((a) => a.state.stage === 'unaware')).toHaveLength(59);
  });
});

describe('hubspot-contacts.csv', () => {
  it('lists exactly the invalid addresses, naming each value', () => {
    expect(rowsOf(contacts.issues, 'invalid_email')).toEqual([...AT_WRITTEN_OUT, ...NON_ASCII].sort((a, b) => a - b));
    const row7 = contacts.issues.find((i) => i.row === 7);
    expect(row7).toMatchObject({ file: 'hubspot-contacts.csv', field: 'email', severity: 'error' });
    expect(row7?.message).toContain('"xrossi at bluefinnetworks.co"');
  });

  it('lowercases the addresses that differ only in case, saying so as an info', () => {
    expect(rowsOf(contacts.issues, 'email_normalized')).toEqual(UPPER_CASE);
    expect(contacts.contacts.find((c) => c.row === 9)?.stakeholder.email).toBe('lgarcia@bluefinnetworks.co');
  });

  it('finds the person who is there twice under two record ids, and the two people sharing one address', () => {
    expect(contacts.issues.filter((i) => i.code === 'duplicate_contact').map((i) => [i.row, i.message])).toEqual([
      [436, expect.stringContaining('already record 51000130 (row 12)')],
    ]);
    expect(contacts.issues.filter((i) => i.code === 'duplicate_email').map((i) => [i.row, i.message])).toEqual([
      [165, expect.stringContaining('mibrahim@lumennetworks.io is already the address of Mariè Ibrahim (record 51002106, row 164)')],
    ]);
  });

  it('imports blank titles with the fallback role and says which role that is', () => {
    expect(rowsOf(contacts.issues, 'role_unknown')).toEqual(BLANK_TITLES);
    expect(contacts.issues.find((i) => i.code === 'role_unknown')?.message).toMatch(/imported as influencer/);
    expect(contacts.contacts.find((c) => c.row === 13)?.stakeholder).toMatchObject({ role: 'influencer', seniority: 'individual' });
  });

  it('imports unsubscribed contacts as opted out, with an info each', () => {
    expect(rowsOf(contacts.issues, 'unsubscribed')).toEqual(UNSUBSCRIBED);
    const imported = contacts.contacts.filter((c) => UNSUBSCRIBED.includes(c.row));
    expect(imported.length).toBeGreaterThan(0);
    expect(imported.every((c) => c.stakeholder.consent === 'opted_out')).toBe(true);
    expect(contacts.contacts.filter((c) => !UNSUBSCRIBED.includes(c.row)).every((c) => c.stakeholder.consent === 'unknown')).toBe(true);
  });

  it('names the accounts without a known economic buyer or champion', () => {
    expect(accountsOf(contacts.issues, 'no_economic_buyer')).toEqual(NO_ECONOMIC_BUYER);
    expect(accountsOf(contacts.issues, 'no_champion')).toEqual(NO_CHAMPION);
    expect(contacts.issues.filter((i) => i.row === null).every((i) => i.severity === 'warning' && i.field === 'role')).toBe(true);
  });

  it('reports nothing else, skips exactly the rows with errors and imports the other 403', () => {
    const expectedCodes = new Set(['invalid_email', 'email_normalized', 'duplicate_contact', 'duplicate_email', 'role_unknown', 'unsubscribed', 'no_economic_buyer', 'no_champion']);
    expect(contacts.issues.filter((i) => !expectedCodes.has(i.code))).toEqual([]);
    expect(contacts.counts).toEqual({
      invalid_email: 30,
      duplicate_email: 1,
      duplicate_contact: 1,
      role_unknown: 8,
      no_economic_buyer: 4,
      no_champion: 31,
      email_normalized: 10,
      unsubscribed: 31,
    });
    expect(contacts.skippedRows).toEqual([...AT_WRITTEN_OUT, ...NON_ASCII, 165, 436].sort((a, b) => a - b));
    expect(contacts.rows).toBe(435);
    expect(contacts.contacts).toHaveLength(435 - 32);
    expect(new Set(contacts.contacts.map((c) => c.stakeholder.id)).size).toBe(403);
    expect(contacts.contacts.every((c) => c.linkedBy === 'account_id')).toBe(true);
  });

  it('gives each contact a stable id from its record id, so a re-import maps to the same stakeholder', () => {
    expect(contacts.contacts[0]?.stakeholder).toMatchObject({ id: 'hs-51000000', accountId: 'hs-9000000', name: 'Ben Lopez', email: 'blopez@bluefinnetworks.co', title: 'VP Finance', role: 'economic_buyer', seniority: 'vp' });
    const again = readContacts(fixture('hubspot-contacts.csv'), { format: 'hubspot', accounts: accounts.accounts.map((a) => a.state) });
    expect(again.contacts.map((c) => c.stakeholder)).toEqual(contacts.contacts.map((c) => c.stakeholder));
    expect(again.issues).toEqual(contacts.issues);
  });

  it('scores the file by the formula: 32 error rows, 7 more warning rows and 32 accounts with a missing role', () => {
    // Row 278 is both invalid and untitled: it counts once, as an error.
    const errorRows = 32;
    const warningRows = BLANK_TITLES.filter((r) => r !== 278).length;
    const lackingAccounts = new Set([...NO_ECONOMIC_BUYER, ...NO_CHAMPION]).size;
    expect(lackingAccounts).toBe(32);
    expect(contacts.parts).toEqual({ units: 435 + 60, penalty: errorRows + 0.25 * (warningRows + lackingAccounts) });
    expect(contacts.score).toBe(Math.round(100 * (1 - (32 + 0.25 * (7 + 32)) / 495)));
    expect(contacts.score).toBe(92);
  });
});
