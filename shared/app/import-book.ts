/**
 * Use cases of the CRM import: upsert a parsed accounts or contacts file through the
 * AccountRepository, and keep the book's data-quality summary that a campaign's gate reads.
 *
 * Every write is compared first and skipped when it would change nothing, so importing the same
 * file again writes nothing at all (versions stay). An account's profile is the CRM's, its learned
 * state the loop's (see domain/crm-import/merge.ts); consent only ever tightens. Writes are single
 * conditional items: a writer that lost a race re-reads, merges again and retries.
 */
import { StaleAccountStateError } from '../domain/errors.ts';
import type { AccountState, CommitteeRole, Stakeholder } from '../domain/model.ts';
import type { AccountsImport, FileReport } from '../domain/crm-import/accounts.ts';
import type { AccountRef, ContactsImport } from '../domain/crm-import/contacts.ts';
import { mergeAccount, mergeStakeholder, type Change } from '../domain/crm-import/merge.ts';
import { bookQualityOf, type BookQuality, type ImportSummary } from '../domain/crm-import/quality.ts';
import { penaltyOf } from '../domain/crm-import/score.ts';
import { VIRTUAL_SHARDS } from '../adapters/dynamodb/tables.ts';
import type { AccountRepository } from '../ports/index.ts';

/** What the import needs: the accounts table's methods it calls, and the clock that stamps the summary. */
export interface ImportBookDeps {
  readonly accounts: Pick<AccountRepository, 'get' | 'listByShard' | 'listStakeholders' | 'upsertProfile' | 'upsertStakeholder' | 'putBookQuality' | 'getBookQuality'>;
  readonly clock: () => string;
}

/** Writes (or, in a dry run, would-be writes) by what they do. */
export interface WriteCounts {
  readonly created: number;
  readonly updated: number;
  readonly unchanged: number;
}

/** What an import did. */
export interface ImportOutcome {
  readonly report: FileReport;
  /** Records the file yields (rows without errors, duplicates merged). */
  readonly imported: number;
  readonly writes: WriteCounts;
  readonly dryRun: boolean;
  /** The book's summary as stored after the import (absent in a dry run). */
  readonly quality?: BookQuality;
}

/** Options of an import run. */
export interface ImportRunOptions {
  readonly dryRun: boolean;
  /** Told how many records are done (written, or compared), of how many. */
  readonly onProgress?: (done: number, total: number) => void;
}

/** Page size of the book listing (a Query per page of a virtual shard). */
const LIST_PAGE = 100;
/** Records written side by side (one conditional write each; dynalite serves about 1,000 a second). */
const WRITE_CONCURRENCY = 8;
/** Attempts of one record when other writers keep winning the race. */
const MAX_ATTEMPTS = 5;

/** Runs tasks with at most `limit` in flight, in input order of starting. */
async function inParallel<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const item = items[next++] as T;
        await task(item);
      }
    }),
  );
}

/** Retries a read-merge-write step while another writer wins the conditional write. */
async function withRetries<T>(step: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await step();
    } catch (err) {
      if (!(err instanceof StaleAccountStateError) || attempt >= MAX_ATTEMPTS) throw err;
    }
  }
}

const tally = (changes: readonly Change[]): WriteCounts => ({
  created: changes.filter((c) => c === 'create').length,
  updated: changes.filter((c) => c === 'update').length,
  unchanged: changes.filter((c) => c === 'unchanged').length,
});

/** Every account of the book: each virtual shard paged through its index (Query, never Scan), in id order. */
export async function listBook(accounts: Pick<AccountRepository, 'listByShard'>): Promise<AccountState[]> {
  const all: AccountState[] = [];
  for (let v = 0; v < VIRTUAL_SHARDS; v++) {
    let cursor: string | undefined;
    do {
      const page = await accounts.listByShard(v, LIST_PAGE, cursor);
      all.push(...page.items);
      cursor = page.cursor;
    } while (cursor !== undefined);
  }
  return all.sort((a, b) => a.id.localeCompare(b.id));
}

/** The stored book: its accounts and every account's stakeholders. */
export interface StoredBook {
  readonly accounts: readonly AccountState[];
  readonly stakeholders: ReadonlyMap<string, readonly Stakeholder[]>;
}

/** Reads the whole book (accounts, then each account's stakeholders, a few at a time). */
export async function readBook(accounts: Pick<AccountRepository, 'listByShard' | 'listStakeholders'>): Promise<StoredBook> {
  const list = await listBook(accounts);
  const stakeholders = new Map<string, Stakeholder[]>();
  await inParallel(list, WRITE_CONCURRENCY * 2, async (a) => {
    stakeholders.set(a.id, await accounts.listStakeholders(a.id));
  });
  return { accounts: list, stakeholders };
}

/** What reading a contacts file needs of the stored book: the accounts to link to, and the roles each already knows. */
export function linkContextOf(book: StoredBook): { accounts: AccountRef[]; storedRoles: Record<string, CommitteeRole[]> } {
  return {
    accounts: book.accounts.map((a) => ({ id: a.id, name: a.name, domain: a.domain })),
    storedRoles: Object.fromEntries(book.accounts.map((a) => [a.id, [...new Set((book.stakeholders.get(a.id) ?? []).map((s) => s.role))]])),
  };
}

/** The summary of one file's import as the book's summary keeps it (its rows only; coverage is the book's). */
export function importSummaryOf(at: string, report: FileReport, imported: number): ImportSummary {
  const rowIssues = report.issues.filter((i) => i.row !== null);
  return {
    at,
    file: report.file,
    format: report.format,
    rows: report.rows,
    imported,
    skipped: report.skippedRows.length,
    score: report.score,
    units: report.rows,
    penalty: penaltyOf(rowIssues),
    counts: report.counts,
  };
}

/**
 * Recomputes the book's data-quality summary from the stored book and stores it (what `amk data
 * check` runs, and every import after its writes). `imports` replaces the latest import of a kind;
 * the other kind's is kept from the stored summary.
 */
export async function checkBook(deps: ImportBookDeps, imports: Partial<BookQuality['imports']> = {}, book?: StoredBook): Promise<BookQuality> {
  const stored = await deps.accounts.getBookQuality();
  const current = book ?? (await readBook(deps.accounts));
  const merged: BookQuality['imports'] = { ...(stored?.imports ?? {}), ...imports };
  const quality = bookQualityOf({
    at: deps.clock(),
    book: current.accounts.map((account) => ({ account, roles: (current.stakeholders.get(account.id) ?? []).map((s) => s.role) })),
    contacts: [...current.stakeholders.values()].reduce((t, list) => t + list.length, 0),
    imports: merged,
  });
  await deps.accounts.putBookQuality(quality);
  return quality;
}

/**
 * Upserts the accounts of a read file: new ones are created (stage from the CRM), existing ones
 * get the profile fields that changed (their learned state and stage untouched), unchanged ones
 * are not written. A dry run only reads. After the writes, the book's summary is refreshed.
 */
export async function importAccounts(deps: ImportBookDeps, parsed: AccountsImport, options: ImportRunOptions): Promise<ImportOutcome> {
  const changes: Change[] = [];
  let done = 0;
  await inParallel(parsed.accounts, WRITE_CONCURRENCY, async ({ state }) => {
    const change = await withRetries(async () => {
      const stored = await deps.accounts.get(state.id);
      const { next, change } = mergeAccount(stored, state);
      if (!options.dryRun && change !== 'unchanged') await deps.accounts.upsertProfile(next, stored === undefined ? null : stored.version);
      return change;
    });
    changes.push(change);
    options.onProgress?.(++done, parsed.accounts.length);
  });
  const writes = tally(changes);
  if (options.dryRun) return { report: parsed, imported: parsed.accounts.length, writes, dryRun: true };
  const quality = await checkBook(deps, { accounts: importSummaryOf(deps.clock(), parsed, parsed.accounts.length) });
  return { report: parsed, imported: parsed.accounts.length, writes, dryRun: false, quality };
}

/**
 * Upserts the stakeholders of a read contacts file against the stored book it was linked to. A
 * contact keeps an opt-out stored under its id or its address anywhere in the book (a person
 * re-created in the CRM stays unsubscribed). A dry run only reads.
 */
export async function importContacts(deps: ImportBookDeps, parsed: ContactsImport, book: StoredBook, options: ImportRunOptions): Promise<ImportOutcome> {
  const optedOut = new Set<string>();
  for (const list of book.stakeholders.values()) {
    for (const s of list) if (s.consent === 'opted_out') optedOut.add(`id:${s.id}`).add(`email:${s.email.toLowerCase()}`);
  }
  const byAccount = new Map<string, ContactsImport['contacts'][number][]>();
  for (const c of parsed.contacts) {
    const list = byAccount.get(c.stakeholder.accountId) ?? [];
    list.push(c);
    byAccount.set(c.stakeholder.accountId, list);
  }
  const changes: Change[] = [];
  let done = 0;
  await inParallel([...byAccount], WRITE_CONCURRENCY, async ([accountId, contacts]) => {
    let stored = new Map((book.stakeholders.get(accountId) ?? []).map((s) => [s.id, s]));
    for (const contact of contacts) {
      let first = true;
      const change = await withRetries(async () => {
        // A retry means the stored record changed under us: read the account's contacts again.
        if (!first) stored = new Map((await deps.accounts.listStakeholders(accountId)).map((s) => [s.id, s]));
        first = false;
        const s = contact.stakeholder;
        const { next, change } = mergeStakeholder(stored.get(s.id), contact, { optedOutElsewhere: optedOut.has(`id:${s.id}`) || optedOut.has(`email:${s.email}`) });
        if (!options.dryRun && change !== 'unchanged') await deps.accounts.upsertStakeholder(next);
        return change;
      });
      changes.push(change);
      options.onProgress?.(++done, parsed.contacts.length);
    }
  });
  const writes = tally(changes);
  if (options.dryRun) return { report: parsed, imported: parsed.contacts.length, writes, dryRun: true };
  const quality = await checkBook(deps, { contacts: importSummaryOf(deps.clock(), parsed, parsed.contacts.length) });
  return { report: parsed, imported: parsed.contacts.length, writes, dryRun: false, quality };
}
