/**
 * How an imported record meets the stored one. The CRM owns an account's profile (name, domain,
 * tier, industry, employees) and a contact's identity (name, email, title, role, seniority); the
 * loop owns what it learned (stage reached, engaged roles, objections, consensus, observations,
 * version), which an import never touches. Consent only ever tightens: an import can opt a person
 * out, never back in.
 */
import type { AccountState, Stakeholder } from '../model.ts';
import type { ImportedContact } from './contacts.ts';

/** The account fields an import writes; everything else of an account state is the loop's. */
export const ACCOUNT_PROFILE_FIELDS = ['name', 'domain', 'tier', 'industry', 'employees'] as const;

/** The profile of an account: what the CRM says about the company. */
export type AccountProfile = Pick<AccountState, 'id' | (typeof ACCOUNT_PROFILE_FIELDS)[number]>;

/** What an upsert will do with a record. */
export type Change = 'create' | 'update' | 'unchanged';

/**
 * The account to store: the imported one when none is stored; otherwise the stored state with
 * the profile fields the CRM changed (and the list of them), its learned state as it was.
 */
export function mergeAccount(stored: AccountState | undefined, imported: AccountState): { next: AccountState; change: Change; changed: string[] } {
  if (stored === undefined) return { next: imported, change: 'create', changed: [] };
  const changed = ACCOUNT_PROFILE_FIELDS.filter((f) => stored[f] !== imported[f]);
  if (changed.length === 0) return { next: stored, change: 'unchanged', changed };
  const next: AccountState = { ...stored };
  for (const f of changed) Object.assign(next, { [f]: imported[f] });
  return { next, change: 'update', changed: [...changed] };
}

/** The stakeholder fields an import writes (consent and do-not-contact only tighten; see mergeStakeholder). */
export const STAKEHOLDER_PROFILE_FIELDS = ['accountId', 'name', 'email', 'title', 'role', 'seniority'] as const;

/**
 * The stakeholder to store. Consent: opted out when the import or the stored record (or another
 * stored record of the same address at the account, e.g. the person re-created in the CRM) says
 * so; otherwise what was stored (an opt-in the loop recorded stays). Do-not-contact likewise only
 * turns on. The time zone is the file's when it has one, else the stored one.
 */
export function mergeStakeholder(
  stored: Stakeholder | undefined,
  imported: ImportedContact,
  opts: { readonly optedOutElsewhere?: boolean } = {},
): { next: Stakeholder; change: Change; changed: string[] } {
  const s = imported.stakeholder;
  const optedOut = s.consent === 'opted_out' || stored?.consent === 'opted_out' || opts.optedOutElsewhere === true;
  const next: Stakeholder = {
    ...s,
    timeZone: imported.timeZoneGiven || stored === undefined ? s.timeZone : stored.timeZone,
    consent: optedOut ? 'opted_out' : (stored?.consent ?? s.consent),
    doNotContact: s.doNotContact || stored?.doNotContact === true,
  };
  if (stored === undefined) return { next, change: 'create', changed: [] };
  const changed = (['accountId', 'name', 'email', 'title', 'role', 'seniority', 'timeZone', 'consent', 'doNotContact'] as const).filter((f) => stored[f] !== next[f]);
  return changed.length === 0 ? { next: stored, change: 'unchanged', changed } : { next, change: 'update', changed: [...changed] };
}
