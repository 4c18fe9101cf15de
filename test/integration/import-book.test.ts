/**
 * The CRM import against a real DynamoDB API (dynalite): the HubSpot fixtures imported, imported
 * again (no write changes anything: versions stay), and imported after the loop learned things
 * (its stage, engaged roles, objections, consensus, observation survive; an unsubscribe is never
 * undone, not even by an import racing with it).
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoAccountRepository } from '../../shared/adapters/dynamodb/account-repository.ts';
import { StaleAccountStateError } from '../../shared/domain/errors.ts';
import { checkBook, importAccounts, importContacts, linkContextOf, listBook, readBook, type ImportBookDeps } from '../../shared/app/import-book.ts';
import { parseCsvText, readAccounts, readContacts } from '../../shared/domain/crm-import/index.ts';
import type { AccountState, Stakeholder } from '../../shared/domain/model.ts';
import { startDynamoFixture, type DynamoFixture } from './dynamodb-fixture.ts';

let db: DynamoFixture;
beforeAll(async () => {
  db = await startDynamoFixture('import');
});
afterAll(async () => {
  await db?.stop();
});

const companiesText = readFileSync('test/fixtures/crm/hubspot-companies.csv', 'utf8');
const contactsText = readFileSync('test/fixtures/crm/hubspot-contacts.csv', 'utf8');
let tick = 0;
const deps = (): ImportBookDeps => ({
  accounts: new DynamoAccountRepository(db.client, db.tables.accounts),
  clock: () => new Date(Date.UTC(2027, 0, 4, 9, 0, tick++)).toISOString(),
});

const importCompanies = (text = companiesText, dryRun = false) => importAccounts(deps(), readAccounts(parseCsvText('hubspot-companies.csv', text), { format: 'auto' }), { dryRun });
async function importPeople(text = contactsText, dryRun = false, d = deps()) {
  const book = await readBook(d.accounts);
  return importContacts(d, readContacts(parseCsvText('hubspot-contacts.csv', text), { format: 'auto', ...linkContextOf(book) }), book, { dryRun });
}
/** Every account state and stakeholder as stored. */
async function snapshot(): Promise<{ accounts: AccountState[]; stakeholders: Stakeholder[] }> {
  const book = await readBook(deps().accounts);
  return { accounts: [...book.accounts], stakeholders: [...book.stakeholders.values()].flat().sort((a, b) => a.id.localeCompare(b.id)) };
}

describe('importing the HubSpot book', { timeout: 120_000 }, () => {
  it('creates the 60 accounts and 403 contacts and stores the book\'s data-quality summary', async () => {
    const accounts = await importCompanies();
    expect(accounts.writes).toEqual({ created: 60, updated: 0, unchanged: 0 });
    const contacts = await importPeople();
    expect(contacts.writes).toEqual({ created: 403, updated: 0, unchanged: 0 });
    const stored = await snapshot();
    expect(stored.accounts).toHaveLength(60);
    expect(stored.stakeholders).toHaveLength(403);
    expect(stored.accounts.every((a) => a.version === 0)).toBe(true);
    expect(stored.stakeholders.find((s) => s.id === 'hs-51000273')).toMatchObject({ consent: 'opted_out', role: 'blocker', accountId: 'hs-9000074' });

    const quality = await deps().accounts.getBookQuality();
    expect(quality).toMatchObject({ accounts: 60, contacts: 403, score: contacts.quality?.score });
    expect(quality?.counts).toMatchObject({ invalid_email: 30, duplicate_contact: 1, duplicate_email: 1, role_unknown: 8, tier_default: 9, no_economic_buyer: 4, no_champion: 31 });
    expect(quality?.imports.accounts?.file).toBe('hubspot-companies.csv');
    expect(quality?.imports.contacts).toMatchObject({ rows: 435, imported: 403, skipped: 32 });
    expect(quality?.coverage.reduce((t, c) => t + c.accounts, 0)).toBe(60);
  });

  it('lists the whole book through the shard index', async () => {
    const all = await listBook(deps().accounts);
    expect(all.map((a) => a.id)).toEqual([...all.map((a) => a.id)].sort());
    expect(new Set(all.map((a) => a.id)).size).toBe(60);
  });

  it('writes nothing on a second import of the same files: every record compared and skipped, versions unchanged', async () => {
    const before = await snapshot();
    const accounts = await importCompanies();
    const contacts = await importPeople();
    expect(accounts.writes).toEqual({ created: 0, updated: 0, unchanged: 60 });
    expect(contacts.writes).toEqual({ created: 0, updated: 0, unchanged: 403 });
    expect(await snapshot()).toEqual(before);
  });

  it('keeps what the loop learned and an unsubscribe it recorded when the CRM changes the profile', async () => {
    const repo = new DynamoAccountRepository(db.client, db.tables.accounts);
    const account = await repo.get('hs-9000000');
    if (!account) throw new Error('hs-9000000 was not imported');
    // What Observe does: the account moves on, and a contact unsubscribes.
    const observed = await repo.saveState(
      {
        ...account,
        stage: 'evaluating',
        engagedRoles: ['champion', 'economic_buyer'],
        objections: ['pricing'],
        consensus: 0.55,
        lastMeaningfulInteraction: '2027-01-11T14:00:00.000Z',
        observedUntil: '2027-01-11T14:00:00.000Z',
        observation: { by: 'page#run-1#0#start', since: null, stage: 'problem_aware' },
      },
      account.version,
    );
    const ben = (await repo.listStakeholders('hs-9000000')).find((s) => s.id === 'hs-51000000');
    if (!ben) throw new Error('hs-51000000 was not imported');
    expect(ben.consent).toBe('unknown');
    await repo.putStakeholder({ ...ben, consent: 'opted_out' });

    // The CRM renamed the company, made it tier 1 and calls it a customer; the contact file still says "not unsubscribed".
    const changed = companiesText.replace('9000000,Bluefin Networks,bluefinnetworks.co,Higher Education,1200,144000000,United Kingdom,lead,2025-08-12 09:32,Tier 2', '9000000,Bluefin Networks Ltd,bluefinnetworks.co,Higher Education,1300,144000000,United Kingdom,customer,2025-08-12 09:32,Tier 1');
    expect(changed).not.toBe(companiesText);
    const accounts = await importCompanies(changed);
    expect(accounts.writes).toEqual({ created: 0, updated: 1, unchanged: 59 });
    const contacts = await importPeople();
    expect(contacts.writes).toEqual({ created: 0, updated: 0, unchanged: 403 });

    const after = await repo.get('hs-9000000');
    expect(after).toEqual({ ...observed, name: 'Bluefin Networks Ltd', tier: 1, employees: 1300, version: observed.version + 1 });
    expect((await repo.listStakeholders('hs-9000000')).find((s) => s.id === 'hs-51000000')?.consent).toBe('opted_out');
  });

  it('never undoes an unsubscribe recorded between the import\'s read and its write', async () => {
    const repo = new DynamoAccountRepository(db.client, db.tables.accounts);
    const target = 'hs-51000013';
    const stored = (await repo.listStakeholders('hs-9000000')).find((s) => s.id === target);
    if (!stored) throw new Error(`${target} was not imported`);
    // The CRM changed the title, so the import has something to write for this contact.
    const retitled = contactsText.replace('51000013,Jonas,Chen,jchen@bluefinnetworks.co,VP Marketing', '51000013,Jonas,Chen,jchen@bluefinnetworks.co,Chief Marketing Officer');
    let raced = false;
    const racing: ImportBookDeps = {
      clock: deps().clock,
      accounts: Object.assign(Object.create(repo) as DynamoAccountRepository, {
        upsertStakeholder: async (s: Stakeholder) => {
          if (s.id === target && !raced) {
            raced = true;
            // Observe folds an unsubscribe in just before the import's write lands.
            await repo.putStakeholder({ ...stored, consent: 'opted_out' });
          }
          return repo.upsertStakeholder(s);
        },
      }),
    };
    const result = await importPeople(retitled, false, racing);
    expect(raced).toBe(true);
    expect(result.writes.updated).toBe(1);
    expect((await repo.listStakeholders('hs-9000000')).find((s) => s.id === target)).toMatchObject({ title: 'Chief Marketing Officer', consent: 'opted_out' });
  });

  it('refuses a profile write from a stale version and a consent write that would re-subscribe', async () => {
    const repo = new DynamoAccountRepository(db.client, db.tables.accounts);
    const account = await repo.get('hs-9000037');
    if (!account) throw new Error('hs-9000037 was not imported');
    await expect(repo.upsertProfile({ ...account, name: 'X' }, account.version + 3)).rejects.toBeInstanceOf(StaleAccountStateError);
    await expect(repo.upsertProfile(account, null)).rejects.toBeInstanceOf(StaleAccountStateError);
    const opted = (await repo.listStakeholders('hs-9000000')).find((s) => s.consent === 'opted_out');
    if (!opted) throw new Error('no opted-out stakeholder');
    await expect(repo.upsertStakeholder({ ...opted, consent: 'unknown' })).rejects.toBeInstanceOf(StaleAccountStateError);
    expect(await repo.get('hs-9000037')).toEqual(account);
  });

  it('writes nothing in a dry run, and says what it would write', async () => {
    const before = await snapshot();
    const quality = await deps().accounts.getBookQuality();
    const changed = companiesText.replace('Redwood Logistics', 'Redwood Logistics Inc');
    const dry = await importCompanies(changed, true);
    // Redwood renamed, and Bluefin's profile back to the fixture's (the test above changed it).
    expect(dry.writes).toEqual({ created: 0, updated: 2, unchanged: 58 });
    expect(dry.quality).toBeUndefined();
    expect(await snapshot()).toEqual(before);
    expect(await deps().accounts.getBookQuality()).toEqual(quality);
  });

  it('keeps the newer summary when an older check finishes last', async () => {
    const d = deps();
    const newer = await checkBook(d);
    const older = { ...newer, at: '2020-01-01T00:00:00.000Z', score: 1 };
    await d.accounts.putBookQuality(older);
    expect(await d.accounts.getBookQuality()).toEqual(newer);
  });
});
