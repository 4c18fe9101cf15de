/**
 * Data-quality issues of a CRM import: one code per kind of flaw, each with a fixed severity, so
 * that a report reads the same whichever export it came from. `error` skips the row (the rest of
 * the file imports), `warning` imports it with a documented fallback, `info` only says what the
 * importer did.
 */
import * as z from 'zod';

/** How bad an issue is: an error skips its row; a warning and an info import it. */
export const Severity = z.enum(['error', 'warning', 'info']);
export type Severity = z.infer<typeof Severity>;

/**
 * Every issue code with its severity, in report order (the order a person fixes things in: what
 * skipped rows first, then what imported with a fallback, then what the importer only noted).
 */
export const ISSUE_SEVERITY = {
  missing_id: 'error',
  invalid_id: 'error',
  missing_name: 'error',
  conflicting_duplicate: 'error',
  no_domain: 'error',
  invalid_domain: 'error',
  missing_email: 'error',
  invalid_email: 'error',
  duplicate_email: 'error',
  duplicate_contact: 'error',
  no_account: 'error',
  duplicate_row: 'warning',
  duplicate_domain: 'warning',
  possible_duplicate: 'warning',
  role_unknown: 'warning',
  invalid_consent: 'warning',
  invalid_tier: 'warning',
  stage_unknown: 'warning',
  invalid_number: 'warning',
  invalid_date: 'warning',
  ambiguous_date: 'warning',
  invalid_time_zone: 'warning',
  no_economic_buyer: 'warning',
  no_champion: 'warning',
  email_normalized: 'info',
  unsubscribed: 'info',
  tier_default: 'info',
  stage_default: 'info',
  account_id_unknown: 'info',
} as const satisfies Record<string, Severity>;

/** A kind of data-quality flaw. */
export const IssueCode = z.enum(Object.keys(ISSUE_SEVERITY) as [keyof typeof ISSUE_SEVERITY, ...(keyof typeof ISSUE_SEVERITY)[]]);
export type IssueCode = z.infer<typeof IssueCode>;

/**
 * One flaw: where it is (the spreadsheet row, header = row 1; null for an account-level finding
 * such as a missing economic buyer), which field, what was wrong and what was expected.
 */
export const ImportIssue = z.object({
  row: z.number().int().min(2).nullable(),
  file: z.string(),
  field: z.string(),
  code: IssueCode,
  severity: Severity,
  message: z.string().min(1),
  /** The account an account-level issue is about (set on row-null issues). */
  accountId: z.string().optional(),
});
export type ImportIssue = z.infer<typeof ImportIssue>;

/** Builds an issue with the severity its code carries. */
export function issue(file: string, row: number | null, field: string, code: IssueCode, message: string, accountId?: string): ImportIssue {
  return { row, file, field, code, severity: ISSUE_SEVERITY[code], message, ...(accountId === undefined ? {} : { accountId }) };
}

const CODE_ORDER = new Map(IssueCode.options.map((code, i) => [code, i]));

/** Issues in a deterministic order: by row (account-level last, by account id), then by code order, field and message. */
export function sortIssues(issues: readonly ImportIssue[]): ImportIssue[] {
  return [...issues].sort(
    (a, b) =>
      (a.row ?? Number.MAX_SAFE_INTEGER) - (b.row ?? Number.MAX_SAFE_INTEGER) ||
      (a.accountId ?? '').localeCompare(b.accountId ?? '') ||
      (CODE_ORDER.get(a.code) ?? 0) - (CODE_ORDER.get(b.code) ?? 0) ||
      a.field.localeCompare(b.field) ||
      a.message.localeCompare(b.message),
  );
}

/** How many issues of each code (codes without issues left out), keys in report order. */
export function countByCode(issues: readonly ImportIssue[]): Partial<Record<IssueCode, number>> {
  const counts: Partial<Record<IssueCode, number>> = {};
  for (const code of IssueCode.options) {
    const n = issues.filter((i) => i.code === code).length;
    if (n > 0) counts[code] = n;
  }
  return counts;
}
