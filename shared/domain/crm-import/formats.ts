/**
 * Export formats: the header sets HubSpot and Salesforce write (API names and report labels),
 * detection of the format from row 1, and the column plan an import reads a file by (format
 * columns, overlaid by a mapping file's). A file whose headers fit no format, or lack a column
 * the import cannot do without, fails as a whole before anything is read.
 */
import { InvalidConfigError } from '../errors.ts';
import { FIELDS_OF, type ImportKind, type ImportMapping } from './mapping.ts';

/** A known export format. */
export type FormatName = 'hubspot' | 'salesforce';

/** What `--format` accepts. */
export type FormatOption = FormatName | 'auto';

/** Headers each field may have in each format's exports (compared case-insensitively, trimmed). */
export const FORMAT_HEADERS: Readonly<Record<FormatName, Readonly<Record<ImportKind, Readonly<Record<string, readonly string[]>>>>>> = {
  hubspot: {
    accounts: {
      id: ['Record ID', 'Company ID', 'Record ID - Company'],
      name: ['Company name', 'Company Name', 'Name'],
      domain: ['Company Domain Name', 'Domain'],
      website: ['Website URL', 'Website'],
      industry: ['Industry'],
      employees: ['Number of Employees'],
      revenue: ['Annual Revenue'],
      country: ['Country/Region', 'Country'],
      stage: ['Lifecycle Stage'],
      createdAt: ['Create Date', 'Created Date'],
      tier: ['Target Account Tier', 'Ideal Customer Profile Tier'],
    },
    contacts: {
      id: ['Record ID', 'Record ID - Contact'],
      firstName: ['First Name'],
      lastName: ['Last Name'],
      email: ['Email', 'Email Address'],
      title: ['Job Title'],
      companyName: ['Associated Company', 'Company Name', 'Company'],
      accountId: ['Associated Company ID', 'Company ID', 'Associated Company IDs'],
      companyDomain: ['Company Domain Name', 'Website URL'],
      stage: ['Lifecycle Stage'],
      optOut: ['Unsubscribed from all email', 'Opted out of all email'],
      lastActivityAt: ['Last Activity Date'],
    },
  },
  salesforce: {
    accounts: {
      id: ['Id', 'Account ID'],
      name: ['Name', 'Account Name'],
      website: ['Website'],
      industry: ['Industry'],
      employees: ['NumberOfEmployees', 'Employees'],
      revenue: ['AnnualRevenue', 'Annual Revenue'],
      country: ['BillingCountry', 'Billing Country'],
      stage: ['Type', 'Account Type'],
      createdAt: ['CreatedDate', 'Created Date'],
      tier: ['Tier__c', 'Account Tier', 'Tier'],
    },
    contacts: {
      id: ['Id', 'Contact ID'],
      accountId: ['AccountId', 'Account ID'],
      firstName: ['FirstName', 'First Name'],
      lastName: ['LastName', 'Last Name'],
      name: ['Name', 'Full Name'],
      email: ['Email'],
      title: ['Title'],
      optOut: ['HasOptedOutOfEmail', 'Email Opt Out'],
      companyName: ['Account.Name', 'Account Name'],
      companyDomain: ['Account.Website'],
      lastActivityAt: ['LastActivityDate', 'Last Activity'],
    },
  },
};

/** The id prefix of each format: `hs-9000000`, `sf-001...`. */
export const ID_PREFIX: Readonly<Record<FormatName, string>> = { hubspot: 'hs', salesforce: 'sf' };

/** Fields without which a row cannot become a record. */
export const REQUIRED_FIELDS: Readonly<Record<ImportKind, readonly string[]>> = {
  accounts: ['id', 'name'],
  contacts: ['id', 'email'],
};

/** How a file is read: its format, the id prefix, and the column (index) of each field. */
export interface ColumnPlan {
  readonly format: FormatName | 'mapping';
  readonly idPrefix: string;
  readonly columns: Readonly<Record<string, number>>;
  /** Headers no field reads (ignored; listed so a person can map them). */
  readonly ignored: readonly string[];
}

const key = (h: string): string => h.trim().toLowerCase();

/** Fields of a format's header set that row 1 has, with their columns. */
function matchFormat(headers: readonly string[], set: Readonly<Record<string, readonly string[]>>): Record<string, number> {
  const columns: Record<string, number> = {};
  for (const [field, names] of Object.entries(set)) {
    const wanted = new Set(names.map(key));
    const i = headers.findIndex((h) => wanted.has(key(h)));
    if (i >= 0) columns[field] = i;
  }
  return columns;
}

/**
 * The format of a file from its headers: the one whose required columns are all there and which
 * reads the most columns; an error when none fits, or two fit equally (name one with --format).
 */
export function detectFormat(file: string, kind: ImportKind, headers: readonly string[]): FormatName {
  const scored = (Object.keys(FORMAT_HEADERS) as FormatName[])
    .map((format) => ({ format, columns: matchFormat(headers, FORMAT_HEADERS[format][kind]) }))
    .filter((f) => REQUIRED_FIELDS[kind].every((field) => field in f.columns))
    .map((f) => ({ ...f, score: Object.keys(f.columns).length }))
    .sort((a, b) => b.score - a.score);
  const [best, second] = scored;
  if (best === undefined) {
    const expected = (Object.keys(FORMAT_HEADERS) as FormatName[])
      .map((f) => `${f}: ${REQUIRED_FIELDS[kind].map((field) => `"${FORMAT_HEADERS[f][kind][field]?.[0] ?? field}"`).join(', ')}`)
      .join('; ');
    throw new InvalidConfigError(file, [
      { path: 'row 1 (header)', message: `these headers are not a HubSpot or Salesforce ${kind} export (${expected}); got ${headers.slice(0, 8).map((h) => `"${h}"`).join(', ')}${headers.length > 8 ? ', ...' : ''}. Give --format, or --mapping FILE for another export` },
    ]);
  }
  if (second !== undefined && second.score === best.score) {
    throw new InvalidConfigError(file, [{ path: 'row 1 (header)', message: `the headers fit both ${best.format} and ${second.format} ${kind} exports: say which with --format` }]);
  }
  return best.format;
}

/**
 * The column plan of a file: the format's columns (detected when `auto` and there is no mapping
 * without a format), overlaid by the mapping's `columns`. Throws InvalidConfigError naming the
 * header row when a required field has no column, or two columns fill one field.
 */
export function planColumns(file: string, kind: ImportKind, headers: readonly string[], option: FormatOption, mapping?: ImportMapping): ColumnPlan {
  const fromMapping = mapping?.format;
  const format: FormatName | undefined = option !== 'auto' ? option : fromMapping ?? (mapping !== undefined && Object.keys(mapping.columns).length > 0 ? undefined : detectFormat(file, kind, headers));
  const problems: Array<{ path: string; message: string }> = [];
  const columns: Record<string, number> = format === undefined ? {} : matchFormat(headers, FORMAT_HEADERS[format][kind]);
  const byMapping = new Map<string, string>();
  for (const [header, field] of Object.entries(mapping?.columns ?? {})) {
    const i = headers.findIndex((h) => key(h) === key(header));
    if (i < 0) continue; // a mapping kept for several exports may name columns this one lacks
    if (!FIELDS_OF[kind].includes(field)) {
      problems.push({ path: `mapping columns."${header}"`, message: `"${field}" is not a field of ${kind}; expected one of ${FIELDS_OF[kind].join(', ')}` });
      continue;
    }
    const other = byMapping.get(field);
    if (other !== undefined) problems.push({ path: `mapping columns."${header}"`, message: `both "${other}" and "${header}" are mapped to ${field}: map one` });
    byMapping.set(field, header);
    columns[field] = i;
  }
  const seen = new Map<string, number>();
  headers.forEach((h, i) => {
    const first = seen.get(key(h));
    if (first !== undefined && Object.values(columns).includes(first) && h.trim() !== '') {
      problems.push({ path: 'row 1 (header)', message: `column "${h}" appears twice (columns ${first + 1} and ${i + 1}): the import would not know which to read` });
    }
    if (first === undefined) seen.set(key(h), i);
  });
  for (const field of REQUIRED_FIELDS[kind]) {
    if (!(field in columns)) {
      const names = format === undefined ? [] : (FORMAT_HEADERS[format][kind][field] ?? []);
      problems.push({
        path: 'row 1 (header)',
        message: `no column for ${field}${names.length > 0 ? `: expected one of ${names.map((n) => `"${n}"`).join(', ')}` : ''} — or map one in the mapping file (columns: { "Your header": ${field} })`,
      });
    }
  }
  if (problems.length > 0) throw new InvalidConfigError(file, problems);
  const read = new Set(Object.values(columns));
  return {
    format: format ?? 'mapping',
    idPrefix: mapping?.idPrefix ?? (format === undefined ? 'crm' : ID_PREFIX[format]),
    columns,
    ignored: headers.filter((h, i) => !read.has(i) && h.trim() !== ''),
  };
}

const SF_SUFFIX = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345';

/**
 * Salesforce's case-insensitive 18-character form of a 15-character record id (reports export 15,
 * Data Loader 18): the same record gets the same id whichever export it came from.
 */
export function salesforceId18(id: string): string {
  if (!/^[a-zA-Z0-9]{15}$/.test(id)) return id;
  let suffix = '';
  for (let chunk = 0; chunk < 3; chunk++) {
    let bits = 0;
    for (let i = 0; i < 5; i++) {
      const c = id.charAt(chunk * 5 + i);
      if (c >= 'A' && c <= 'Z') bits |= 1 << i;
    }
    suffix += SF_SUFFIX.charAt(bits);
  }
  return id + suffix;
}

/**
 * The stable id of a record: `<prefix>-<source record id>` (Salesforce ids in their 18-character
 * form), so a re-import of the same record maps to the same account or stakeholder. Undefined
 * for a source id the system's ids cannot carry.
 */
export function stableIdOf(plan: Pick<ColumnPlan, 'format' | 'idPrefix'>, sourceId: string): string | undefined {
  const raw = sourceId.trim();
  // HubSpot exports large ids as "9.00E+06" when a spreadsheet saved them: not recoverable.
  if (!/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,79}$/.test(raw)) return undefined;
  return `${plan.idPrefix}-${plan.format === 'salesforce' ? salesforceId18(raw) : raw}`;
}

/**
 * A row's record id and its stable id, reporting a blank one (missing_id) or one the system's ids
 * cannot carry (invalid_id) through `add`; `what` says what the id makes ("the account's").
 */
export function recordIdOf(
  plan: Pick<ColumnPlan, 'format' | 'idPrefix'>,
  sourceId: string,
  header: string,
  add: (field: string, code: 'missing_id' | 'invalid_id', message: string) => void,
  what: { readonly record: string; readonly makes: string; readonly expected: string; readonly garbled: string },
): string | undefined {
  const id = sourceId === '' ? undefined : stableIdOf(plan, sourceId);
  if (sourceId === '') add('id', 'missing_id', `${header} is blank: every ${what.record} needs its CRM record id (it makes ${what.makes} stable id)`);
  else if (id === undefined) add('id', 'invalid_id', `${header} "${sourceId}" is not a record id (expected ${what.expected}; a spreadsheet may have turned it into ${what.garbled})`);
  return id;
}

/** The trimmed cell of a field in a row ("" when the file has no such column or the row is short). */
export const cellOf = (plan: ColumnPlan, values: readonly string[], field: string): string => {
  const i = plan.columns[field];
  return i === undefined ? '' : (values[i] ?? '').trim();
};
