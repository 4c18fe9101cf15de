/**
 * The fields an import fills and the user's mapping file (YAML, validated here with zod) for
 * exports that are neither HubSpot's nor Salesforce's: which column holds which field, how the
 * file writes dates and numbers, and the team's own title, tier and stage vocabulary.
 */
import * as z from 'zod';
import { CommitteeRole, Seniority, Stage } from '../model.ts';

/** What is imported: accounts (companies) or contacts (people). */
export const ImportKind = z.enum(['accounts', 'contacts']);
export type ImportKind = z.infer<typeof ImportKind>;

/** Fields of an account row. Revenue, country and create date are read and checked, not stored (the model has no field for them). */
export const AccountField = z.enum(['id', 'name', 'domain', 'website', 'industry', 'employees', 'revenue', 'country', 'stage', 'createdAt', 'tier']);
export type AccountField = z.infer<typeof AccountField>;

/** Fields of a contact row. The contact's lifecycle stage and last activity are read and checked, not stored. */
export const ContactField = z.enum([
  'id',
  'firstName',
  'lastName',
  'name',
  'email',
  'title',
  'accountId',
  'companyName',
  'companyDomain',
  'optOut',
  'doNotContact',
  'timeZone',
  'stage',
  'lastActivityAt',
]);
export type ContactField = z.infer<typeof ContactField>;

/** A field of either kind. */
export const ImportField = z.enum([...new Set([...AccountField.options, ...ContactField.options])] as [string, ...string[]]);
/** A field of either kind (the mapping file names them; the kind of the command decides which are allowed). */
export type ImportField = AccountField | ContactField;

/** The fields of a kind. */
export const FIELDS_OF: Readonly<Record<ImportKind, readonly string[]>> = {
  accounts: AccountField.options,
  contacts: ContactField.options,
};

/** A title rule of a mapping file: tried before the built-in table, in file order. */
export const MappingRoleRule = z
  .object({
    /** A regular expression over the normalized title (lowercase, punctuation as spaces, "vice president" as "vp"). */
    match: z.string().min(1),
    role: CommitteeRole,
    /** The seniority such titles have, when the built-in seniority table reads them wrong. */
    seniority: Seniority.optional(),
  })
  .strict();
export type MappingRoleRule = z.infer<typeof MappingRoleRule>;

const TierNumber = z.literal([1, 2, 3]);

/** A mapping file (`amk import ... --mapping FILE`). */
export const ImportMapping = z
  .object({
    /** What the file holds; checked against the command when given. */
    kind: ImportKind.optional(),
    /** Start from this format's columns and add or change some (absent: only `columns`). */
    format: z.enum(['hubspot', 'salesforce']).optional(),
    /** Prefix of the stable ids (`<prefix>-<record id>`); default: `hs`, `sf`, or `crm` without a format. */
    idPrefix: z.string().regex(/^[a-z][a-z0-9]{0,9}$/, 'lower-case letters and digits, starting with a letter, at most 10').optional(),
    /** CSV header (as in row 1) → field. */
    columns: z.record(z.string().min(1), ImportField).default({}),
    /** Field separator of the file. @default "," */
    delimiter: z.enum([',', ';', '\t', '|']).optional(),
    /** Order of day, month and year in dates like 12/08/2025, when no value of a column tells. */
    dates: z.enum(['DMY', 'MDY', 'YMD']).optional(),
    /** How numbers are written. @default { thousands: ",", decimal: "." } (decimal "," defaults thousands to ".") */
    numbers: z
      .object({ thousands: z.enum([',', '.', ' ', "'", '']).optional(), decimal: z.enum(['.', ',']) })
      .strict()
      .optional(),
    /** Title → role rules tried before the built-in table. */
    roles: z.array(MappingRoleRule).default([]),
    /** Tier cell value → tier, beside the built-in "Tier 1".."Tier 3". */
    tiers: z.record(z.string().min(1), TierNumber).default({}),
    /** Lifecycle or type value → stage of a new account, beside the built-in table. */
    stages: z.record(z.string().min(1), Stage).default({}),
  })
  .strict()
  .superRefine((m, ctx) => {
    m.roles.forEach((r, i) => {
      try {
        new RegExp(r.match, 'i');
      } catch (err) {
        ctx.addIssue({ code: 'custom', path: ['roles', i, 'match'], message: `not a regular expression: ${err instanceof Error ? err.message : String(err)}` });
      }
    });
    if (m.numbers && m.numbers.thousands === m.numbers.decimal) {
      ctx.addIssue({ code: 'custom', path: ['numbers', 'thousands'], message: `must differ from the decimal mark "${m.numbers.decimal}"` });
    }
    if (m.kind !== undefined) {
      for (const [header, field] of Object.entries(m.columns)) {
        if (!FIELDS_OF[m.kind].includes(field)) {
          ctx.addIssue({ code: 'custom', path: ['columns', header], message: `"${field}" is not a field of ${m.kind}; expected one of ${FIELDS_OF[m.kind].join(', ')}` });
        }
      }
    }
  });
export type ImportMapping = z.infer<typeof ImportMapping>;
