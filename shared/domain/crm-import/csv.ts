/**
 * CSV files as records with their spreadsheet row numbers (header = row 1; a quoted value with
 * line breaks is one row, as a spreadsheet shows it; a blank line is a row too). One set of
 * csv-parse options serves the whole-text parser here and the streaming reader of the CLI, so
 * both number rows alike. A file that is not CSV at all fails as a whole, naming its line.
 */
import { CsvError, parse, type Options } from 'csv-parse/sync';
import { InvalidConfigError } from '../errors.ts';

/** One record of a file: its spreadsheet row and its cells (untrimmed, as exported). */
export interface CsvRow {
  readonly row: number;
  readonly values: readonly string[];
}

/** A parsed file: its header cells and its data rows (blank rows included, with no cells but ""). */
export interface CsvTable {
  readonly file: string;
  readonly headers: readonly string[];
  readonly rows: readonly CsvRow[];
}

/**
 * The parser's options: a UTF-8 byte-order mark dropped (Excel writes one), CRLF or LF, quoted
 * delimiters and line breaks, rows of another width kept (the importer reports them), empty lines
 * kept so that row numbers match the spreadsheet's.
 */
export function csvOptions(delimiter = ','): Options {
  // Every line ending at once: a file edited by hand after its export mixes them, and csv-parse
  // would otherwise keep the first one it sees and fold the other lines into values.
  return { bom: true, delimiter, record_delimiter: ['\r\n', '\n', '\r'], relax_column_count: true, skip_empty_lines: false, max_record_size: 1_000_000 };
}

/** Turns csv-parse's records (header first) into a table; throws InvalidConfigError for a file without a header. */
export function tableOf(file: string, records: readonly (readonly string[])[]): CsvTable {
  const [header, ...data] = records;
  if (header === undefined || header.every((h) => h.trim() === '')) {
    throw new InvalidConfigError(file, [{ path: 'row 1', message: 'the file is empty: expected a header row (e.g. Record ID,Company name,...) and one row per record' }]);
  }
  return { file, headers: header.map((h) => h.trim()), rows: data.map((values, i) => ({ row: i + 2, values })) };
}

/** The file-level error of a CSV the parser cannot read (an unclosed quote, a stray quote), with its line. */
export function csvFailure(file: string, err: unknown): InvalidConfigError | undefined {
  if (!(err instanceof CsvError)) return undefined;
  const line = typeof err.lines === 'number' ? err.lines : undefined;
  const what = err.code === 'CSV_QUOTE_NOT_CLOSED' ? 'a quoted value is never closed' : err.code === 'INVALID_OPENING_QUOTE' ? 'a quote inside an unquoted value (quote the whole value and double the inner quote: "say ""hi""")' : err.message;
  return new InvalidConfigError(file, [{ path: line === undefined ? '(file)' : `line ${line}`, message: `not readable as CSV: ${what}` }], { cause: err });
}

/** Parses a whole CSV text (tests, small files); the CLI streams large files with the same options. */
export function parseCsvText(file: string, text: string, delimiter = ','): CsvTable {
  let records: string[][];
  try {
    records = parse(text, csvOptions(delimiter)) as string[][];
  } catch (err) {
    throw csvFailure(file, err) ?? err;
  }
  return tableOf(file, records);
}

/** True for a row a spreadsheet shows empty (a blank line, or only empty cells). */
export const isBlankRow = (row: CsvRow): boolean => row.values.every((v) => v.trim() === '');
