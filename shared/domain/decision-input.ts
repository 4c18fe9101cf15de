/**
 * What a decision was made from, recorded so that it can be replayed: the run's inputs once (in its
 * `run_started` event) and each account's inputs in the turn that records its decisions. Together
 * they are everything the planners and governance read — the account snapshot with its people,
 * signals and memory window, the agents' statistics and month spend, the campaign, charters and
 * guardrails, the spend of the page before the account, the seed and the clock — so that running
 * the same pure functions on them again must give the same plans and verdicts.
 *
 * Stored as they are, with a sha256 digest of their canonical JSON (the audit log gzips an event's
 * data over 1 KiB, so a turn's inputs cost a few hundred bytes). Stakeholder addresses are pseudonymized before they are stored (the audit trail is
 * append-only, so nothing personal should need erasing from it): the local part becomes a hash and
 * the domain stays, and the guardrails' suppression list is pseudonymized the same way, so that
 * every rule that compares addresses (suppression) or domains decides exactly as it did.
 */
import * as z from 'zod';
import { canonicalJson } from './canonical-json.ts';
import { Campaign, Charter, Guardrails, type CampaignBundle } from './config.ts';
import { ContentLibrary } from './content.ts';
import { sha256 } from './digest.ts';
import { ObservedAccount } from './memory.ts';

/** An address with its local part replaced by a hash (same address, same pseudonym; domain kept). */
export function pseudonymousEmail(email: string): string {
  const lower = email.trim().toLowerCase();
  const at = lower.lastIndexOf('@');
  const domain = at >= 0 ? lower.slice(at + 1) : 'invalid';
  return `p-${sha256(lower).slice(0, 20)}@${domain}`;
}

/** The spend a page had committed before an account, as the planners and governance were given it. */
export const SpentInput = z.object({ run: z.number(), month: z.record(z.string(), z.number()) });
export type SpentInput = z.infer<typeof SpentInput>;

/** The run-wide inputs of every decision of a run. */
export const RunInputs = z.object({
  runId: z.string().min(1),
  /** The run's clock. */
  now: z.string().min(1),
  /** The planners' exploration seed. */
  seed: z.string(),
  /** Each active agent's outcome statistics when the run started (the run header's snapshot). */
  models: z.record(z.string(), z.record(z.string(), z.object({ trials: z.number(), successes: z.number() }))),
  /** Each agent's spend in the month before the run. */
  spend: z.record(z.string(), z.number()),
  campaign: Campaign,
  /** The guardrails, their suppression list pseudonymized as the stored addresses are. */
  guardrails: Guardrails,
  charters: z.array(z.object({ charter: Charter, hash: z.string() })),
  /** The content library the emails were worded from (absent: the built-in copy). */
  content: ContentLibrary.optional(),
});
export type RunInputs = z.infer<typeof RunInputs>;

/** One account's inputs: its observation, and what the page had spent before it. */
export const AccountInputs = z.object({
  observed: ObservedAccount,
  spent: z.object({ plan: SpentInput, govern: SpentInput }),
});
export type AccountInputs = z.infer<typeof AccountInputs>;

/** The run inputs of a run from its campaign bundle and run header (addresses pseudonymized). */
export function runInputsOf(input: {
  readonly runId: string;
  readonly now: string;
  readonly seed: string;
  readonly bundle: Pick<CampaignBundle, 'campaign' | 'guardrails' | 'charters' | 'content'>;
  readonly models: RunInputs['models'];
  readonly spend: RunInputs['spend'];
}): RunInputs {
  const { guardrails } = input.bundle;
  return {
    runId: input.runId,
    now: input.now,
    seed: input.seed,
    models: input.models,
    spend: input.spend,
    campaign: input.bundle.campaign,
    guardrails: { ...guardrails, suppression: { ...guardrails.suppression, emails: guardrails.suppression.emails.map(pseudonymousEmail) } },
    charters: input.bundle.charters.map(({ charter, hash }) => ({ charter, hash })),
    ...(input.bundle.content ? { content: input.bundle.content } : {}),
  };
}

/** An account's inputs with its people's addresses pseudonymized. */
export function accountInputsOf(observed: ObservedAccount, spent: AccountInputs['spent']): AccountInputs {
  return { observed: { ...observed, stakeholders: observed.stakeholders.map((s) => ({ ...s, email: pseudonymousEmail(s.email) })) }, spent };
}

/** The digest of inputs: sha256 hex of their canonical JSON. */
export const digestOfInputs = (value: unknown): string => sha256(canonicalJson(value));

/** Stored inputs whose digest is not the recorded one, or that are not inputs at all. */
export class AlteredInputsError extends Error {
  override readonly name = 'AlteredInputsError';
}

/** Checks stored inputs against their recorded digest, and parses them with `schema`. */
export function checkedInputs<T>(value: unknown, digest: string, schema: z.ZodType<T>): T {
  const actual = digestOfInputs(value);
  if (actual !== digest) throw new AlteredInputsError(`the stored inputs hash to ${actual.slice(0, 12)}…, not the recorded ${digest.slice(0, 12)}…`);
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new AlteredInputsError(`the stored inputs do not parse: ${parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return parsed.data;
}

/** The digest of a decision's full input: the run's inputs and the account's, by their digests. */
export const decisionInputDigest = (runInputsDigest: string, accountInputsDigest: string): string =>
  sha256(canonicalJson({ account: accountInputsDigest, run: runInputsDigest }));
