/**
 * What reading a file needs besides its rows: the format option and mapping, how the file writes
 * numbers, and the day/month order of each date column (decided from the whole column first).
 */
import type { CsvTable } from './csv.ts';
import { cellOf, type ColumnPlan, type FormatOption } from './formats.ts';
import type { ImportMapping } from './mapping.ts';
import { DEFAULT_NUMBER_FORMAT, columnDateOrder, parseDate, type DateOrder, type NumberFormat } from './values.ts';
import { issue, type ImportIssue } from './issues.ts';

/** How to read a file: `--format` and the parsed `--mapping` (if any). */
export interface ReadOptions {
  readonly format: FormatOption;
  readonly mapping?: ImportMapping;
}

/** The number format of a mapping (decimal "," defaults the thousands separator to "."). */
export function numberFormatOf(mapping: ImportMapping | undefined): NumberFormat {
  const n = mapping?.numbers;
  if (n === undefined) return DEFAULT_NUMBER_FORMAT;
  return { decimal: n.decimal, thousands: n.thousands ?? (n.decimal === ',' ? '.' : ',') };
}

/** The day/month order of each date field of a file, from its values and the mapping. */
export function dateOrdersOf(table: CsvTable, plan: ColumnPlan, fields: readonly string[], mapping: ImportMapping | undefined): Record<string, DateOrder | undefined> {
  return Object.fromEntries(fields.map((field) => [field, columnDateOrder(table.rows.map((r) => cellOf(plan, r.values, field)), mapping?.dates).order]));
}

/** Checks a date cell: a warning when it is not a date or its day/month order is undecided (the date is not stored either way). */
export function checkDate(file: string, row: number, field: string, header: string, text: string, order: DateOrder | undefined): ImportIssue | undefined {
  if (text === '') return undefined;
  const parsed = parseDate(text, order);
  if (parsed.ok) return undefined;
  return issue(file, row, field, parsed.ambiguous ? 'ambiguous_date' : 'invalid_date', `${header}: ${parsed.reason}`);
}

/** The header of a field's column in a file (for messages), or the field name. */
export const headerOf = (table: CsvTable, plan: ColumnPlan, field: string): string => {
  const i = plan.columns[field];
  return i === undefined ? field : (table.headers[i] ?? field);
};
