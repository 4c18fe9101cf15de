/**
 * A campaign's data-quality gate, pure: the campaign's thresholds against the book's stored
 * summary. Each finding says what is short, by how much, what to fix and how to check again, so
 * the person reading the failed run knows the next step without opening the code.
 */
import type { DataQuality } from '../config.ts';
import type { CommitteeRole } from '../model.ts';
import { roleName } from './contacts.ts';
import type { BookQuality } from './quality.ts';

/** The command that refreshes the summary the gate reads. */
export const RECHECK_COMMAND = 'amk data check';

/** The gate's answer: pass, or the findings that stop the run. */
export type GateResult = { readonly ok: true } | { readonly ok: false; readonly findings: readonly string[] };

const pct = (x: number): string => `${Math.round(x * 100)}%`;

/** The accounts (of the segment's tiers) and how many lack each required role, from the summary's histogram. */
function coverageOf(report: BookQuality, roles: readonly CommitteeRole[], tiers: readonly number[] | undefined) {
  const rows = report.coverage.filter((c) => tiers === undefined || tiers.includes(c.tier));
  const total = rows.reduce((t, c) => t + c.accounts, 0);
  const complete = rows.filter((c) => roles.every((r) => c.roles.includes(r))).reduce((t, c) => t + c.accounts, 0);
  const lacking = roles.map((role) => ({
    role,
    accounts: rows.filter((c) => !c.roles.includes(role)).reduce((t, c) => t + c.accounts, 0),
    examples: report.missing.filter((m) => m.role === role && (tiers === undefined || tiers.includes(m.tier))).flatMap((m) => m.examples).sort().slice(0, 3),
  }));
  return { total, complete, lacking };
}

/**
 * Checks the book against a campaign's `dataQuality` thresholds (none: always ok). `segment.tiers`
 * limits the role coverage to the campaign's tiers. Without a stored summary, a campaign with
 * thresholds does not pass: nobody has looked at the data yet.
 */
export function dataQualityGate(thresholds: DataQuality | undefined, report: BookQuality | undefined, segment?: { readonly tiers?: readonly number[] }): GateResult {
  if (thresholds === undefined || (thresholds.minScore === undefined && thresholds.requiredRoles === undefined)) return { ok: true };
  if (report === undefined) {
    return {
      ok: false,
      findings: [`No data-quality report for the book yet: import it (\`amk import accounts FILE\`, then \`amk import contacts FILE\`) or run \`${RECHECK_COMMAND}\`, then start the run again.`],
    };
  }
  const findings: string[] = [];
  if (thresholds.minScore !== undefined && report.score < thresholds.minScore) {
    const worst = Object.entries(report.counts)
      .filter(([code]) => code !== 'unsubscribed' && code !== 'email_normalized' && code !== 'tier_default' && code !== 'stage_default' && code !== 'account_id_unknown')
      .sort((a, b) => (b[1] ?? 0) - (a[1] ?? 0))
      .slice(0, 3)
      .map(([code, n]) => `${n} ${code}`);
    findings.push(
      `The book's data-quality score is ${report.score}, below the campaign's minimum of ${thresholds.minScore}${worst.length > 0 ? ` (most frequent issues: ${worst.join(', ')})` : ''}: fix those rows in the CRM, re-import, and re-check with \`${RECHECK_COMMAND}\`.`,
    );
  }
  if (thresholds.requiredRoles !== undefined) {
    const need = thresholds.minAccountsWithRequiredRoles ?? 1;
    const tiers = segment?.tiers;
    const { total, complete, lacking } = coverageOf(report, thresholds.requiredRoles, tiers);
    const scope = tiers === undefined ? 'the book' : `the segment (tier ${tiers.join(', ')})`;
    const roles = thresholds.requiredRoles.map(roleName).join(' and ');
    if (total === 0) {
      findings.push(`No accounts in ${scope} to check for a known ${roles}: import the accounts and contacts, then re-check with \`${RECHECK_COMMAND}\`.`);
    } else if (complete / total < need) {
      const short = lacking
        .filter((l) => l.accounts > 0)
        .map((l) => `no ${roleName(l.role)} on ${l.accounts} account(s)${l.examples.length > 0 ? ` (e.g. ${l.examples.join(', ')})` : ''}`)
        .join('; ');
      findings.push(
        `Only ${complete} of ${total} accounts in ${scope} (${pct(complete / total)}) have a known ${roles}; the campaign needs ${pct(need)}: ${short}. Add those contacts in the CRM (or map their titles with \`roles:\` in an import mapping file), re-import the contacts, and re-check with \`${RECHECK_COMMAND}\`.`,
      );
    }
  }
  return findings.length === 0 ? { ok: true } : { ok: false, findings };
}
