/**
 * The book's data-quality summary: one small record (stored as one item, read by a campaign's
 * data-quality gate with one GetItem) holding the score, the issue counts of the latest accounts
 * and contacts imports, and which committee roles are known per account. Roles are kept as a
 * histogram by tier and role set (at most 3 × 64 entries) with a few example accounts, not one
 * entry per account: a book of 100,000 accounts must still fit DynamoDB's 400 KB item.
 */
import * as z from 'zod';
import { CommitteeRole, Tier, type AccountState } from '../model.ts';
import { IssueCode } from './issues.ts';
import { qualityScore, WARNING_PENALTY, type ScoreParts } from './score.ts';

const Iso = z.iso.datetime({ offset: true });
const Counts = z.partialRecord(IssueCode, z.number().int().nonnegative());

/** What one import reported, as the summary keeps it. `units`/`penalty` cover its rows only (the book's coverage is assessed apart). */
export const ImportSummary = z.object({
  at: Iso,
  file: z.string(),
  format: z.string(),
  rows: z.number().int().nonnegative(),
  imported: z.number().int().nonnegative(),
  skipped: z.number().int().nonnegative(),
  score: z.number().min(0).max(100),
  units: z.number().nonnegative(),
  penalty: z.number().nonnegative(),
  counts: Counts,
});
export type ImportSummary = z.infer<typeof ImportSummary>;

/** How many accounts of a tier know exactly this set of committee roles. */
export const RoleCoverage = z.object({
  tier: Tier,
  roles: z.array(CommitteeRole),
  accounts: z.number().int().positive(),
});
export type RoleCoverage = z.infer<typeof RoleCoverage>;

/** How many examples of accounts missing a role the summary keeps per tier and role. */
export const MISSING_EXAMPLES = 5;

/** The book's data quality, as the gate reads it. */
export const BookQuality = z.object({
  at: Iso,
  score: z.number().int().min(0).max(100),
  accounts: z.number().int().nonnegative(),
  contacts: z.number().int().nonnegative(),
  /** Issues by code: the latest imports' row issues and the book's missing economic buyers and champions. */
  counts: Counts,
  imports: z.object({ accounts: ImportSummary.optional(), contacts: ImportSummary.optional() }),
  coverage: z.array(RoleCoverage),
  /** A few account ids (sorted) missing each role, per tier. */
  missing: z.array(z.object({ tier: Tier, role: CommitteeRole, examples: z.array(z.string()).max(MISSING_EXAMPLES) })),
});
export type BookQuality = z.infer<typeof BookQuality>;

/** The known roles of one account, for the summary. */
export interface AccountRoles {
  readonly account: Pick<AccountState, 'id' | 'tier'>;
  readonly roles: readonly CommitteeRole[];
}

/** Roles every account should have known for the score (the roles a deal is decided and led by). */
export const SCORED_ROLES: readonly CommitteeRole[] = ['economic_buyer', 'champion'];

/**
 * The book's summary from the roles known per account and the latest imports. Its score is the
 * score formula over the imports' rows and every account of the book, an account without a known
 * economic buyer or champion counting as a warning.
 */
export function bookQualityOf(input: {
  readonly at: string;
  readonly book: readonly AccountRoles[];
  readonly contacts: number;
  readonly imports: BookQuality['imports'];
}): BookQuality {
  const histogram = new Map<string, RoleCoverage>();
  const missing = new Map<string, { tier: Tier; role: CommitteeRole; examples: string[] }>();
  let lacking = 0;
  const byId = [...input.book].sort((a, b) => a.account.id.localeCompare(b.account.id));
  const counts: Partial<Record<IssueCode, number>> = {};
  const bump = (code: IssueCode, n = 1) => {
    counts[code] = (counts[code] ?? 0) + n;
  };
  for (const { account, roles } of byId) {
    const set = CommitteeRole.options.filter((r) => roles.includes(r));
    const k = `${account.tier}|${set.join(',')}`;
    const h = histogram.get(k);
    histogram.set(k, { tier: account.tier, roles: set, accounts: (h?.accounts ?? 0) + 1 });
    for (const role of CommitteeRole.options) {
      if (set.includes(role)) continue;
      const mk = `${account.tier}|${role}`;
      const m = missing.get(mk) ?? { tier: account.tier, role, examples: [] };
      if (m.examples.length < MISSING_EXAMPLES) m.examples.push(account.id);
      missing.set(mk, m);
    }
    if (!set.includes('economic_buyer')) bump('no_economic_buyer');
    if (!set.includes('champion')) bump('no_champion');
    if (SCORED_ROLES.some((r) => !set.includes(r))) lacking += 1;
  }
  for (const summary of [input.imports.accounts, input.imports.contacts]) {
    for (const [code, n] of Object.entries(summary?.counts ?? {}) as Array<[IssueCode, number]>) {
      // The book's own coverage replaces what one file could see of it.
      if (code !== 'no_economic_buyer' && code !== 'no_champion') bump(code, n);
    }
  }
  const parts: ScoreParts[] = [
    ...[input.imports.accounts, input.imports.contacts].flatMap((s) => (s ? [{ units: s.units, penalty: s.penalty }] : [])),
    { units: byId.length, penalty: lacking * WARNING_PENALTY },
  ];
  const ordered = Object.fromEntries(IssueCode.options.filter((c) => counts[c] !== undefined).map((c) => [c, counts[c]]));
  return BookQuality.parse({
    at: input.at,
    score: qualityScore(parts),
    accounts: byId.length,
    contacts: input.contacts,
    counts: ordered,
    imports: input.imports,
    coverage: [...histogram.values()].sort((a, b) => a.tier - b.tier || a.roles.join(',').localeCompare(b.roles.join(','))),
    missing: [...missing.values()].sort((a, b) => a.tier - b.tier || CommitteeRole.options.indexOf(a.role) - CommitteeRole.options.indexOf(b.role)),
  });
}
