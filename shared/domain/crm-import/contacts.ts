/**
 * Stakeholders from a contact export: each valid row linked to an account of the book (by the
 * account id it names, then by its email or company domain, then by company name), with its
 * committee role and seniority from the title table, and its consent from the opt-out column.
 * Rows with an error are skipped and listed; accounts linked by the file are checked for a known
 * economic buyer and champion.
 */
import { CommitteeRole, Stakeholder, type AccountState } from '../model.ts';
import { finishReport, type FileReport } from './accounts.ts';
import { isBlankRow, type CsvTable } from './csv.ts';
import { cellOf, planColumns, recordIdOf, stableIdOf } from './formats.ts';
import { issue, type ImportIssue, type IssueCode } from './issues.ts';
import { checkDate, dateOrdersOf, headerOf, type ReadOptions } from './reading.ts';
import { FALLBACK_ROLE, titleReader, type RoleRule } from './titles.ts';
import { companyKey, emailDomain, normalizeDomain, normalizeEmail, parseFlag, personKey } from './values.ts';

/** What linking needs of an account of the book. */
export type AccountRef = Pick<AccountState, 'id' | 'name' | 'domain'>;

/** How a contact found its account. */
export type LinkedBy = 'account_id' | 'email_domain' | 'company_domain' | 'company_name';

/** One stakeholder read from a row. */
export interface ImportedContact {
  readonly row: number;
  readonly sourceId: string;
  readonly stakeholder: Stakeholder;
  /** Whether the file gave a time zone (otherwise a stored one is kept, and a new contact gets UTC). */
  readonly timeZoneGiven: boolean;
  /** Whether the role came from the title (false: the fallback role of an unmatched title). */
  readonly roleInferred: boolean;
  readonly linkedBy: LinkedBy;
}

/** A contacts file, read. */
export interface ContactsImport extends FileReport {
  readonly kind: 'contacts';
  readonly contacts: readonly ImportedContact[];
  /** Roles known per account the file linked contacts to (the file's inferred roles and the stored ones), roles in model order. */
  readonly knownRoles: Readonly<Record<string, readonly CommitteeRole[]>>;
}

/** What reading contacts needs beside the file: the book's accounts, and the roles already stored per account. */
export interface ContactContext extends ReadOptions {
  readonly accounts: readonly AccountRef[];
  readonly storedRoles?: Readonly<Record<string, readonly CommitteeRole[]>>;
}

const ROLE_NAMES: Readonly<Record<CommitteeRole, string>> = {
  economic_buyer: 'economic buyer',
  champion: 'champion',
  technical_evaluator: 'technical evaluator',
  end_user: 'end user',
  blocker: 'blocker',
  influencer: 'influencer',
};

/** A role in words ("economic buyer"). */
export const roleName = (role: CommitteeRole): string => ROLE_NAMES[role];

const isTimeZone = (tz: string): boolean => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
};

/** Indexes of the book for linking: by id, by domain (only unambiguous ones), by company name (likewise). */
function bookIndex(accounts: readonly AccountRef[]) {
  const byId = new Map(accounts.map((a) => [a.id, a]));
  const unique = (key: (a: AccountRef) => string) => {
    const seen = new Map<string, AccountRef | null>();
    for (const a of accounts) {
      const k = key(a);
      if (k === '') continue;
      seen.set(k, seen.has(k) ? null : a);
    }
    return seen;
  };
  return { byId, byDomain: unique((a) => a.domain), byName: unique((a) => companyKey(a.name)) };
}

/** The account of a domain or of the nearest parent domain that is one (eu.acme.com → acme.com). */
function byDomainOrParent(index: Map<string, AccountRef | null>, domain: string): AccountRef | null | undefined {
  const labels = domain.split('.');
  for (let i = 0; i < labels.length - 1; i++) {
    const hit = index.get(labels.slice(i).join('.'));
    if (hit !== undefined) return hit;
  }
  return undefined;
}

/** Reads a contacts export against the book. Throws InvalidConfigError (file, header row) when the headers do not fit. */
export function readContacts(table: CsvTable, context: ContactContext): ContactsImport {
  const { file } = table;
  const plan = planColumns(file, 'contacts', table.headers, context.format, context.mapping);
  const orders = dateOrdersOf(table, plan, ['lastActivityAt'], context.mapping);
  const header = (field: string) => headerOf(table, plan, field);
  const overrides: RoleRule[] = (context.mapping?.roles ?? []).map((r) => ({ pattern: r.match, role: r.role, why: 'mapping file', ...(r.seniority ? { seniority: r.seniority } : {}) }));
  const readTitle = titleReader(overrides);
  const index = bookIndex(context.accounts);
  const issues: ImportIssue[] = [];
  const contacts: ImportedContact[] = [];
  const keptById = new Map<string, { row: number; values: readonly string[] }>();
  const keptByEmail = new Map<string, { row: number; sourceId: string; name: string }>();
  const keptByPerson = new Map<string, { row: number; email: string }>();
  let rows = 0;

  for (const r of table.rows) {
    if (isBlankRow(r)) continue;
    rows += 1;
    const cell = (field: string) => cellOf(plan, r.values, field);
    const mine: ImportIssue[] = [];
    const add = (field: string, code: IssueCode, message: string) => mine.push(issue(file, r.row, field, code, message));

    const sourceId = cell('id');
    const id = recordIdOf(plan, sourceId, header('id'), add, { record: 'contact', makes: "the stakeholder's", expected: 'letters and digits', garbled: '5.1E+07' });

    const name = cell('name') || [cell('firstName'), cell('lastName')].filter((n) => n !== '').join(' ');
    if (name === '') add('name', 'missing_name', `the name is blank (${['name', 'firstName', 'lastName'].filter((f) => f in plan.columns).map(header).join(', ') || 'no name column'}): emails to a person need their name`);

    const emailText = cell('email');
    const parsedEmail = emailText === '' ? undefined : normalizeEmail(r.values[plan.columns['email'] ?? -1] ?? '');
    let email: string | undefined;
    if (parsedEmail === undefined) add('email', 'missing_email', `${header('email')} is blank: the system reaches people by email, so a contact needs an address`);
    else if (!parsedEmail.ok) add('email', 'invalid_email', `${header('email')}: ${parsedEmail.reason}`);
    else {
      email = parsedEmail.value.email;
      if (parsedEmail.value.changed) add('email', 'email_normalized', `${header('email')} "${emailText}" stored as ${email} (addresses compare case-insensitively)`);
    }

    const title = cell('title');
    const reading = readTitle(title);
    const role = reading.role ?? FALLBACK_ROLE;
    if (reading.role === undefined) {
      add('title', 'role_unknown', `${title === '' ? `${header('title')} is blank` : `no role rule matches the title "${title}"`}: imported as ${roleName(FALLBACK_ROLE)} (the role the agents assume least about; the model needs a role) with seniority ${reading.seniority} — set the title in the CRM or add a \`roles:\` rule to the mapping file`);
    }

    let consent: Stakeholder['consent'] = 'unknown';
    const optOut = cell('optOut');
    if (optOut !== '') {
      const flag = parseFlag(optOut);
      if (!flag.ok) {
        add('optOut', 'invalid_consent', `${header('optOut')}: ${flag.reason}; treated as opted out (an unreadable opt-out is never read as consent)`);
        consent = 'opted_out';
      } else if (flag.value) {
        add('optOut', 'unsubscribed', `${header('optOut')} is ${optOut}: imported as opted out; no agent will email this person`);
        consent = 'opted_out';
      }
    }
    let doNotContact = false;
    const dnc = cell('doNotContact');
    if (dnc !== '') {
      const flag = parseFlag(dnc);
      if (!flag.ok) add('doNotContact', 'invalid_consent', `${header('doNotContact')}: ${flag.reason}; treated as do-not-contact`);
      doNotContact = !flag.ok || flag.value;
    }

    const tz = cell('timeZone');
    const timeZoneGiven = tz !== '' && isTimeZone(tz);
    if (tz !== '' && !timeZoneGiven) add('timeZone', 'invalid_time_zone', `${header('timeZone')} "${tz}" is not an IANA time zone (expected e.g. Europe/Berlin, America/New_York); quiet hours fall back to UTC`);

    const dated = checkDate(file, r.row, 'lastActivityAt', header('lastActivityAt'), cell('lastActivityAt'), orders['lastActivityAt']);
    if (dated) mine.push(dated);

    // Linking: the account id the row names, then its email's or company's domain, then the
    // company name. A domain or name two accounts share links nobody (it would be a guess).
    const accountText = cell('accountId');
    const namedId = accountText === '' ? undefined : stableIdOf(plan, accountText.split(/[;,]/)[0]?.trim() ?? '');
    let account: AccountRef | undefined;
    let linkedBy: LinkedBy | undefined;
    if (namedId !== undefined && index.byId.has(namedId)) {
      account = index.byId.get(namedId);
      linkedBy = 'account_id';
    }
    const companyDomain = normalizeDomain(cell('companyDomain'));
    const tries: Array<[LinkedBy, string | undefined, Map<string, AccountRef | null>]> = [
      ['email_domain', email === undefined ? undefined : emailDomain(email), index.byDomain],
      ['company_domain', companyDomain.ok ? companyDomain.value : undefined, index.byDomain],
      ['company_name', cell('companyName') === '' ? undefined : companyKey(cell('companyName')), index.byName],
    ];
    for (const [how, k, map] of tries) {
      if (account !== undefined || k === undefined || k === '') continue;
      const hit = how === 'company_name' ? map.get(k) : byDomainOrParent(map, k);
      if (hit) {
        account = hit;
        linkedBy = how;
      }
    }
    if (account === undefined || linkedBy === undefined) {
      const named = [accountText !== '' ? `${header('accountId')} ${accountText}` : '', email ? `email domain ${emailDomain(email)}` : '', cell('companyName') !== '' ? `company "${cell('companyName')}"` : ''].filter((s) => s !== '');
      add('accountId', 'no_account', `no account of the book matches ${named.join(', ') || 'this contact (no account id, company or valid email)'}: import the account first (amk import accounts) or fix the contact's company in the CRM; contact skipped`);
    } else if (accountText !== '' && linkedBy !== 'account_id') {
      add('accountId', 'account_id_unknown', `${header('accountId')} ${accountText} is not an account of the book; linked to ${account.id} (${account.name}) by ${linkedBy.replace('_', ' ')}`);
    }

    if (mine.some((i) => i.severity === 'error') || id === undefined || email === undefined || account === undefined || linkedBy === undefined) {
      issues.push(...mine);
      continue;
    }

    const same = keptById.get(id);
    if (same !== undefined) {
      const identical = same.values.length === r.values.length && same.values.every((v, i) => v.trim() === (r.values[i] ?? '').trim());
      issues.push(
        identical
          ? issue(file, r.row, 'id', 'duplicate_row', `the same row as row ${same.row} (record ${sourceId}): imported once`)
          : issue(file, r.row, 'id', 'conflicting_duplicate', `record ${sourceId} is also row ${same.row} with other values: row ${same.row} was imported, this one skipped — merge the records in the CRM`),
      );
      continue;
    }
    const sameEmail = keptByEmail.get(email);
    if (sameEmail !== undefined) {
      const samePerson = personKey(sameEmail.name) === personKey(name);
      issues.push(
        samePerson
          ? issue(file, r.row, 'id', 'duplicate_contact', `${name} <${email}> is already record ${sameEmail.sourceId} (row ${sameEmail.row}): the same person under two record ids; row ${sameEmail.row} was imported, this one skipped — merge the records in the CRM`)
          : issue(file, r.row, 'email', 'duplicate_email', `${email} is already the address of ${sameEmail.name} (record ${sameEmail.sourceId}, row ${sameEmail.row}): two people cannot share an address (consent and contact limits follow it); this row skipped — fix the address in the CRM`),
      );
      continue;
    }
    issues.push(...mine);
    const personAt = `${account.id}\u0000${personKey(name)}`;
    const namesake = keptByPerson.get(personAt);
    if (namesake !== undefined) {
      issues.push(issue(file, r.row, 'name', 'possible_duplicate', `${name} at ${account.name} is also row ${namesake.row} with ${namesake.email}: both imported; if it is one person, merge the records in the CRM`));
    } else {
      keptByPerson.set(personAt, { row: r.row, email });
    }
    keptById.set(id, { row: r.row, values: r.values });
    keptByEmail.set(email, { row: r.row, sourceId, name });
    const stakeholder = Stakeholder.parse({
      id,
      accountId: account.id,
      name,
      email,
      title,
      role,
      seniority: reading.seniority,
      ...(timeZoneGiven ? { timeZone: tz } : {}),
      consent,
      doNotContact,
    });
    contacts.push({ row: r.row, sourceId, stakeholder, timeZoneGiven, roleInferred: reading.role !== undefined, linkedBy });
  }

  // Committee coverage of every account the file reached: without a known economic buyer or
  // champion, the agents cannot multi-thread the deal where it is decided.
  const known = new Map<string, Set<CommitteeRole>>();
  for (const c of contacts) {
    const set = known.get(c.stakeholder.accountId) ?? new Set(context.storedRoles?.[c.stakeholder.accountId] ?? []);
    if (c.roleInferred) set.add(c.stakeholder.role);
    known.set(c.stakeholder.accountId, set);
  }
  const names = new Map(context.accounts.map((a) => [a.id, a.name]));
  for (const [accountId, roles] of known) {
    for (const [role, code] of [['economic_buyer', 'no_economic_buyer'], ['champion', 'no_champion']] as const) {
      if (roles.has(role)) continue;
      const hints = role === 'economic_buyer' ? 'a CFO, CEO, COO or the VP who owns the budget' : 'a marketing or revenue-operations leader';
      issues.push(issue(file, null, 'role', code, `${accountId} (${names.get(accountId) ?? accountId}) has no known ${roleName(role)} among its contacts: add one to the CRM (${hints}) or map their titles with \`roles:\` in the mapping file`, accountId));
    }
  }
  const knownRoles = Object.fromEntries([...known].sort(([a], [b]) => a.localeCompare(b)).map(([id, set]) => [id, CommitteeRole.options.filter((r) => set.has(r))]));
  return { kind: 'contacts', ...finishReport({ file, format: plan.format, rows, ignoredColumns: plan.ignored, extraUnits: known.size }, issues), contacts, knownRoles };
}
