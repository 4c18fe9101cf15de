/**
 * Accounts from a company export: one AccountState per valid row (stable id from the source
 * record id, domain normalized, tier and starting stage by the documented tables), and every
 * flaw as an issue on its row. Rows with an error are skipped and listed; the rest import.
 */
import { AccountState } from '../model.ts';
import { isBlankRow, type CsvTable } from './csv.ts';
import { cellOf, planColumns, recordIdOf, type ColumnPlan } from './formats.ts';
import { countByCode, issue, sortIssues, type ImportIssue, type IssueCode } from './issues.ts';
import { checkDate, dateOrdersOf, headerOf, numberFormatOf, type ReadOptions } from './reading.ts';
import { penaltyOf, qualityScore, type ScoreParts } from './score.ts';
import { DEFAULT_STAGE, DEFAULT_TIER, stageOf, tierOf } from './stages.ts';
import { normalizeDomain, parseNumber } from './values.ts';

/** One account read from a row. */
export interface ImportedAccount {
  readonly row: number;
  /** The record id as the CRM exported it. */
  readonly sourceId: string;
  /** The account as a new one starts (stage from the CRM; the learned state empty). */
  readonly state: AccountState;
}

/** What reading one file produced: the records, the issues and the figures of the report. */
export interface FileReport {
  readonly file: string;
  readonly format: ColumnPlan['format'];
  /** Data rows (blank rows are not counted). */
  readonly rows: number;
  readonly issues: readonly ImportIssue[];
  /** Rows not imported because of an error, in order. */
  readonly skippedRows: readonly number[];
  readonly counts: Partial<Record<IssueCode, number>>;
  /** Units and penalty of the score (see score.ts). */
  readonly parts: ScoreParts;
  readonly score: number;
  /** Headers that no field reads. */
  readonly ignoredColumns: readonly string[];
}

/** An accounts file, read. */
export interface AccountsImport extends FileReport {
  readonly kind: 'accounts';
  readonly accounts: readonly ImportedAccount[];
}

/** Finishes a report: issues in order, the skipped rows, counts and score. */
export function finishReport(base: { file: string; format: ColumnPlan['format']; rows: number; ignoredColumns: readonly string[]; extraUnits?: number }, issues: readonly ImportIssue[]): FileReport {
  const sorted = sortIssues(issues);
  const skippedRows = [...new Set(sorted.filter((i) => i.severity === 'error' && i.row !== null).map((i) => i.row as number))].sort((a, b) => a - b);
  const parts = { units: base.rows + (base.extraUnits ?? 0), penalty: penaltyOf(sorted) };
  return { file: base.file, format: base.format, rows: base.rows, issues: sorted, skippedRows, counts: countByCode(sorted), parts, score: qualityScore([parts]), ignoredColumns: base.ignoredColumns };
}

/** Reads an accounts export. Throws InvalidConfigError (file, header row) when the headers do not fit. */
export function readAccounts(table: CsvTable, options: ReadOptions): AccountsImport {
  const { file } = table;
  const plan = planColumns(file, 'accounts', table.headers, options.format, options.mapping);
  const numbers = numberFormatOf(options.mapping);
  const orders = dateOrdersOf(table, plan, ['createdAt'], options.mapping);
  const header = (field: string) => headerOf(table, plan, field);
  const issues: ImportIssue[] = [];
  const accounts: ImportedAccount[] = [];
  const keptById = new Map<string, { row: number; values: readonly string[]; state: AccountState }>();
  const keptByDomain = new Map<string, { row: number; id: string }>();
  let rows = 0;

  for (const r of table.rows) {
    if (isBlankRow(r)) continue;
    rows += 1;
    const cell = (field: string) => cellOf(plan, r.values, field);
    const mine: ImportIssue[] = [];
    const add = (field: string, code: IssueCode, message: string) => mine.push(issue(file, r.row, field, code, message));

    const sourceId = cell('id');
    const id = recordIdOf(plan, sourceId, header('id'), add, { record: 'account', makes: "the account's", expected: 'letters and digits, e.g. 9000000', garbled: '9.00E+06' });
    const name = cell('name');
    if (name === '') add('name', 'missing_name', `${header('name')} is blank: expected the company's name`);

    // The domain column first, the website second: whichever holds a usable domain.
    const candidates = (['domain', 'website'] as const).map((f) => ({ field: f, text: cell(f) })).filter((c) => c.text !== '');
    const readings = candidates.map((c) => ({ ...c, parsed: normalizeDomain(c.text) }));
    const usable = readings.find((c) => c.parsed.ok);
    const domain = usable?.parsed.ok ? usable.parsed.value : undefined;
    if (candidates.length === 0) {
      add('domain', 'no_domain', `no domain: ${['domain', 'website'].filter((f) => f in plan.columns).map(header).join(' and ') || 'the file has no domain or website column'} blank; the system needs a company domain (contacts are matched and suppressed by it): add it in the CRM`);
    } else if (domain === undefined) {
      const first = readings[0];
      add(first?.field ?? 'domain', 'invalid_domain', `${header(first?.field ?? 'domain')}: ${first && !first.parsed.ok ? first.parsed.reason : 'not a domain'}`);
    }

    const employeesText = cell('employees');
    let employees = 0;
    if (employeesText !== '') {
      const n = parseNumber(employeesText, numbers);
      if (!n.ok) add('employees', 'invalid_number', `${header('employees')}: ${n.reason}; imported as 0`);
      else if (!Number.isInteger(n.value) || n.value < 0) add('employees', 'invalid_number', `${header('employees')}: "${employeesText}" is not a whole number of people; imported as 0`);
      else employees = n.value;
    }
    const revenueText = cell('revenue');
    if (revenueText !== '') {
      const n = parseNumber(revenueText, numbers);
      if (!n.ok) add('revenue', 'invalid_number', `${header('revenue')}: ${n.reason}`);
    }

    const tierText = cell('tier');
    let tier = DEFAULT_TIER;
    if (tierText === '') {
      if ('tier' in plan.columns) add('tier', 'tier_default', `${header('tier')} is blank: imported as tier ${DEFAULT_TIER} (the least strategic); set it in the CRM to change that`);
    } else {
      const t = tierOf(tierText, options.mapping?.tiers);
      if (t === undefined) add('tier', 'invalid_tier', `${header('tier')} "${tierText}" is not a tier (expected Tier 1, Tier 2 or Tier 3, or a value of the mapping's \`tiers\`); imported as tier ${DEFAULT_TIER}`);
      else tier = t;
    }

    const stageText = cell('stage');
    let stage = DEFAULT_STAGE;
    if (stageText === '') {
      if ('stage' in plan.columns) add('stage', 'stage_default', `${header('stage')} is blank: a new account starts at ${DEFAULT_STAGE}`);
    } else {
      const s = stageOf(stageText, options.mapping?.stages);
      if (s === undefined) add('stage', 'stage_unknown', `${header('stage')} "${stageText}" is not a stage the import knows (see the stage table; add it to the mapping's \`stages\`); a new account starts at ${DEFAULT_STAGE}`);
      else stage = s;
    }

    const dated = checkDate(file, r.row, 'createdAt', header('createdAt'), cell('createdAt'), orders['createdAt']);
    if (dated) mine.push(dated);

    if (mine.some((i) => i.severity === 'error') || id === undefined || domain === undefined) {
      issues.push(...mine);
      continue;
    }
    const state = AccountState.parse({ id, name, domain, tier, industry: cell('industry') || 'unknown', employees, stage });
    const same = keptById.get(id);
    if (same !== undefined) {
      const identical = same.values.length === r.values.length && same.values.every((v, i) => v.trim() === (r.values[i] ?? '').trim());
      if (identical) {
        issues.push(issue(file, r.row, 'id', 'duplicate_row', `the same row as row ${same.row} (record ${sourceId}): imported once`));
      } else {
        const differs = (['name', 'domain', 'tier', 'industry', 'employees', 'stage'] as const).filter((f) => same.state[f] !== state[f]);
        issues.push(
          issue(file, r.row, 'id', 'conflicting_duplicate', `record ${sourceId} is also row ${same.row} with other values (${differs.map((f) => `${f}: ${JSON.stringify(same.state[f])} there, ${JSON.stringify(state[f])} here`).join('; ') || 'other columns'}): row ${same.row} was imported, this one skipped — merge the records in the CRM`),
        );
      }
      continue;
    }
    issues.push(...mine);
    const sharing = keptByDomain.get(domain);
    if (sharing !== undefined) {
      issues.push(issue(file, r.row, 'domain', 'duplicate_domain', `domain ${domain} is also account ${sharing.id} (row ${sharing.row}): both imported, but contacts cannot be matched to either by their email domain`));
    } else {
      keptByDomain.set(domain, { row: r.row, id });
    }
    keptById.set(id, { row: r.row, values: r.values, state });
    accounts.push({ row: r.row, sourceId, state });
  }
  return { kind: 'accounts', ...finishReport({ file, format: plan.format, rows, ignoredColumns: plan.ignored }, issues), accounts };
}
