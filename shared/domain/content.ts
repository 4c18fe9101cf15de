/**
 * The content library: the assets and email templates a campaign's agents may send, tagged by the
 * committee role, the account's stage, the topic (an open objection) and the claims they make. The
 * planner picks the most specific template that fits an email action; the email is rendered from
 * it at send time (merge fields escaped), and the approval page previews exactly that rendering.
 * A template is pinned by its digest: if a deploy changes it after an action was planned or
 * approved, the send is refused rather than sending words nobody approved.
 */
import * as z from 'zod';
import { ACTION_CATALOG } from './catalog.ts';
import { canonicalJson } from './canonical-json.ts';
import { sha256 } from './digest.ts';
import { ActionType, CommitteeRole, Stage } from './model.ts';

/** Fields a template may merge: `{{first_name}}`, `{{account}}`, ... (anything else is a config error). */
export const MERGE_FIELDS = ['first_name', 'name', 'account', 'role', 'asset_title', 'asset_url'] as const;
export type MergeField = (typeof MERGE_FIELDS)[number];
const MERGE = /\{\{\s*([^{}]*?)\s*\}\}/g;

const Id = z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and dashes');
/** Topics are compared the way objections are written in a CRM: case and separators ignored. */
export const topicKey = (topic: string): string => topic.trim().toLowerCase().replace(/[\s_-]+/g, '_');
const Topic = z.string().min(1).transform(topicKey);

/** A claim content makes, with the evidence behind it (what an approver and legal read). */
export const Claim = z.object({ id: Id, statement: z.string().min(1), source: z.string().min(1) }).strict();
export type Claim = z.infer<typeof Claim>;

/** The tags that decide where a piece of content fits; an empty list fits every value. */
const Tags = {
  roles: z.array(CommitteeRole).default([]),
  stages: z.array(Stage).default([]),
  topics: z.array(Topic).default([]),
  claims: z.array(Id).default([]),
};

/** An asset a template links to: a guide, a case study, a calculator. */
export const ContentAsset = z
  .object({
    id: Id,
    title: z.string().min(1).max(200),
    url: z.url({ protocol: /^https$/, error: 'expected an https:// URL' }),
    ...Tags,
  })
  .strict();
export type ContentAsset = z.infer<typeof ContentAsset>;

/** Action types whose tool call is an email to the stakeholder (the ones a template can word). */
export const EMAIL_ACTION_TYPES: readonly ActionType[] = ActionType.options.filter((t) => ACTION_CATALOG[t].channel === 'email');
const EmailActionType = ActionType.refine((t) => EMAIL_ACTION_TYPES.includes(t), {
  error: (issue) => `${JSON.stringify(issue.input)} sends no email; templates word ${EMAIL_ACTION_TYPES.join(', ')}`,
});

/** An email template: subject and body with merge fields, for some action types. */
export const EmailTemplate = z
  .object({
    id: Id,
    actions: z.array(EmailActionType).min(1),
    ...Tags,
    /** The asset the email links to (its id in `assets`). */
    asset: Id.optional(),
    subject: z.string().min(1).max(150),
    /** Paragraphs separated by a blank line; plain text (merge fields are escaped into the HTML). */
    body: z.string().min(1).max(5000),
  })
  .strict();
export type EmailTemplate = z.infer<typeof EmailTemplate>;

/** A content library file. */
export const ContentLibrary = z
  .object({
    id: Id,
    /**
     * When no template fits an email action: `builtin` words it with the built-in copy of its
     * type; `none` proposes no such action (every email then comes from this library).
     */
    fallback: z.enum(['builtin', 'none']).default('builtin'),
    claims: z.array(Claim).default([]),
    assets: z.array(ContentAsset).default([]),
    templates: z.array(EmailTemplate).min(1),
  })
  .strict()
  .superRefine((lib, ctx) => {
    const unique = (key: 'claims' | 'assets' | 'templates') => {
      const seen = new Set<string>();
      lib[key].forEach((item, i) => {
        if (seen.has(item.id)) ctx.addIssue({ code: 'custom', path: [key, i, 'id'], message: `id "${item.id}" appears twice in ${key}` });
        seen.add(item.id);
      });
    };
    unique('claims');
    unique('assets');
    unique('templates');
    const claims = new Set(lib.claims.map((c) => c.id));
    const assets = new Set(lib.assets.map((a) => a.id));
    const checkClaims = (key: 'assets' | 'templates', i: number, ids: readonly string[]) =>
      ids.forEach((id, j) => {
        if (!claims.has(id)) ctx.addIssue({ code: 'custom', path: [key, i, 'claims', j], message: `claim "${id}" is not declared in claims (each claim needs its statement and source)` });
      });
    lib.assets.forEach((a, i) => checkClaims('assets', i, a.claims));
    lib.templates.forEach((t, i) => {
      checkClaims('templates', i, t.claims);
      if (t.asset !== undefined && !assets.has(t.asset)) ctx.addIssue({ code: 'custom', path: ['templates', i, 'asset'], message: `asset "${t.asset}" is not in assets` });
      for (const field of ['subject', 'body'] as const) {
        for (const m of t[field].matchAll(MERGE)) {
          const name = m[1] ?? '';
          if (!(MERGE_FIELDS as readonly string[]).includes(name)) {
            ctx.addIssue({ code: 'custom', path: ['templates', i, field], message: `unknown merge field {{${name}}}; expected one of ${MERGE_FIELDS.map((f) => `{{${f}}}`).join(', ')}` });
          } else if (name.startsWith('asset_') && t.asset === undefined) {
            ctx.addIssue({ code: 'custom', path: ['templates', i, field], message: `{{${name}}} needs the template to name an asset` });
          }
        }
      }
    });
  });
export type ContentLibrary = z.infer<typeof ContentLibrary>;

/** What an email action is for: the facts a template is matched on. */
export interface ContentFit {
  readonly type: ActionType;
  readonly role: CommitteeRole;
  readonly stage: Stage;
  /** The open objection the action answers, if any. */
  readonly topic?: string;
}

/** The content an action was planned with: its template and asset, pinned by digest. */
export interface ContentChoice {
  readonly templateId: string;
  readonly assetId?: string;
  readonly contentDigest: string;
}

const fits = <T extends { roles: readonly string[]; stages: readonly string[]; topics: readonly string[] }>(item: T, fit: ContentFit): number | undefined => {
  if (item.roles.length > 0 && !item.roles.includes(fit.role)) return undefined;
  if (item.stages.length > 0 && !item.stages.includes(fit.stage)) return undefined;
  const topic = fit.topic === undefined ? undefined : topicKey(fit.topic);
  if (item.topics.length > 0 && (topic === undefined || !item.topics.includes(topic))) return undefined;
  return (item.roles.length > 0 ? 1 : 0) + (item.stages.length > 0 ? 1 : 0) + (item.topics.length > 0 ? 2 : 0);
};

/** The digest that pins a template and its asset (what the approver previewed is what is sent). */
export function contentDigest(template: EmailTemplate, asset: ContentAsset | undefined): string {
  return sha256(canonicalJson({ template, asset: asset ?? null }));
}

/**
 * The template for an email action: of those that word its type and fit its role, stage and
 * topic, the most specific (a topic counts double, then role and stage); ties go to the one listed
 * first, so the library's order is the team's preference. Undefined when none fits.
 */
export function pickTemplate(library: ContentLibrary, fit: ContentFit): ContentChoice | undefined {
  let best: { template: EmailTemplate; score: number } | undefined;
  for (const template of library.templates) {
    if (!template.actions.includes(fit.type)) continue;
    const score = fits(template, fit);
    if (score === undefined) continue;
    if (best === undefined || score > best.score) best = { template, score };
  }
  if (best === undefined) return undefined;
  const asset = library.assets.find((a) => a.id === best.template.asset);
  return { templateId: best.template.id, ...(asset ? { assetId: asset.id } : {}), contentDigest: contentDigest(best.template, asset) };
}

/** The template and asset an action names, if the library still holds them exactly as planned. */
export function resolveChoice(
  library: ContentLibrary | undefined,
  choice: ContentChoice,
): { template: EmailTemplate; asset?: ContentAsset; claims: Claim[] } | { changed: string } {
  const template = library?.templates.find((t) => t.id === choice.templateId);
  if (template === undefined) return { changed: `template "${choice.templateId}" is no longer in the content library` };
  const asset = library?.assets.find((a) => a.id === template.asset);
  if (contentDigest(template, asset) !== choice.contentDigest) return { changed: `template "${choice.templateId}" changed since the action was planned` };
  const claimIds = new Set([...template.claims, ...(asset?.claims ?? [])]);
  return { template, ...(asset ? { asset } : {}), claims: (library?.claims ?? []).filter((c) => claimIds.has(c.id)) };
}

/** The merge values of one email (unescaped; the renderer escapes them for where they go). */
export function mergeValues(person: { name: string; role?: string }, accountName: string, asset: ContentAsset | undefined): Record<MergeField, string> {
  const name = person.name.trim();
  return {
    first_name: name.split(/\s+/)[0] ?? '',
    name,
    account: accountName,
    role: (person.role ?? '').replace(/_/g, ' '),
    asset_title: asset?.title ?? '',
    asset_url: asset?.url ?? '',
  };
}

/** Fills `{{field}}`s with `values`, each passed through `escape`. */
export function fillMerge(text: string, values: Record<MergeField, string>, escape: (value: string) => string): string {
  return text.replace(MERGE, (_m, name: string) => escape(values[name as MergeField] ?? ''));
}
