/**
 * The buying stage and tier of an imported account, by documented tables (shown in the README).
 * The stage only seeds a new account: once the loop works an account, the stage it reached is
 * its own, and a re-import never moves it.
 */
import type { Stage, Tier } from '../model.ts';

/**
 * CRM lifecycle stage (HubSpot) or account type (Salesforce), lowercased without spaces, dashes
 * or underscores, to the stage a new account starts at.
 */
export const STAGE_TABLE: Readonly<Record<string, Stage>> = {
  // HubSpot lifecycle stages (internal values and labels).
  subscriber: 'unaware',
  lead: 'unaware',
  other: 'unaware',
  marketingqualifiedlead: 'problem_aware',
  mql: 'problem_aware',
  salesqualifiedlead: 'solution_aware',
  sql: 'solution_aware',
  opportunity: 'evaluating',
  customer: 'committed',
  evangelist: 'committed',
  // Salesforce Account.Type picklist values.
  prospect: 'unaware',
  customerdirect: 'committed',
  customerchannel: 'committed',
  channelpartnerreseller: 'unaware',
  installationpartner: 'unaware',
  technologypartner: 'unaware',
  // Opportunity-style stages some teams export on the account.
  closedlost: 'closed_lost',
  closedwon: 'committed',
};

/** The stage of a blank lifecycle cell. */
export const DEFAULT_STAGE: Stage = 'unaware';

/** The lookup key of a lifecycle or type value. */
export const stageKey = (value: string): string => value.trim().toLowerCase().replace(/[\s_\-/]+/g, '');

/** The stage of a lifecycle value (mapping overrides first), or undefined when no table knows it. */
export function stageOf(value: string, overrides: Readonly<Record<string, Stage>> = {}): Stage | undefined {
  const key = stageKey(value);
  const own = Object.entries(overrides).find(([k]) => stageKey(k) === key)?.[1];
  return own ?? STAGE_TABLE[key];
}

/** The tier of an account whose tier cell is blank: the least strategic, so nothing gets tier-1 treatment by accident. */
export const DEFAULT_TIER: Tier = 3;

/**
 * A tier cell: "Tier 1".."Tier 3", "1".."3", "T1".."T3" (case and spaces ignored), or a value the
 * mapping's `tiers` names; undefined when it is none of them.
 */
export function tierOf(value: string, overrides: Readonly<Record<string, Tier>> = {}): Tier | undefined {
  const own = Object.entries(overrides).find(([k]) => k.trim().toLowerCase() === value.trim().toLowerCase())?.[1];
  if (own !== undefined) return own;
  const m = /^(?:tier|t)?\s*([123])$/i.exec(value.trim());
  return m ? (Number(m[1]) as Tier) : undefined;
}
