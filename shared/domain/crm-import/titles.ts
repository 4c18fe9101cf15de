/**
 * Committee role and seniority from a job title, by two ordered tables (data, shown in the
 * README): the first rule whose pattern matches the normalized title wins. A mapping file's
 * `roles:` rules are tried before the built-in ones, so a team whose titles mean something else
 * overrides them without code. A title no rule matches gets no role (the importer reports it).
 */
import type { CommitteeRole, Seniority } from '../model.ts';

/** One rule of the role table: a pattern over the normalized title, and the seniorities it applies at (all when absent). */
export interface RoleRule {
  readonly pattern: string;
  readonly role: CommitteeRole;
  readonly seniorities?: readonly Seniority[];
  /** Why the rule says so (for the README and for people overriding it). */
  readonly why: string;
  /** A seniority the rule sets instead of the seniority table's (mapping overrides only). */
  readonly seniority?: Seniority;
}

/** One rule of the seniority table. */
export interface SeniorityRule {
  readonly pattern: string;
  readonly seniority: Seniority;
}

/**
 * Titles are compared in a normal form: lowercase, accents and punctuation removed, "&" as "and",
 * "vice president" as "vp" (so "Vice President" never reads as "President"), "sr." as "senior".
 */
export function normalizeTitle(title: string): string {
  return title
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/&/g, ' and ')
    .replace(/[^a-z0-9]+/g, ' ')
    .replace(/\b(senior|executive)\s+vice\s+president\b/g, (m) => (m.startsWith('senior') ? 'svp' : 'evp'))
    .replace(/\bvice\s+president\b/g, 'vp')
    .replace(/\bsr\b/g, 'senior')
    .replace(/\s+/g, ' ')
    .trim();
}

/** Seniority by title, first match wins; no match is `individual`. */
export const SENIORITY_RULES: readonly SeniorityRule[] = [
  // Chief of Staff advises the C-suite; it is not one of its seats.
  { pattern: '\\bchief of staff\\b', seniority: 'director' },
  { pattern: '\\b(c[a-z]o|ciso|chief|president|founder|co founder|managing director|managing partner)\\b', seniority: 'c_level' },
  { pattern: '\\b(s|e|a)?vp\\b', seniority: 'vp' },
  { pattern: '\\b(director|head|dir)\\b', seniority: 'director' },
  { pattern: '\\b(manager|mgr|lead|leader|supervisor)\\b', seniority: 'manager' },
];

const EXEC = ['c_level', 'vp'] as const satisfies readonly Seniority[];
const LEADER = ['c_level', 'vp', 'director'] as const satisfies readonly Seniority[];

/**
 * Committee role by title, first match wins. The order matters: advisors before executives
 * ("Chief of Staff" is not a buyer), blockers (security, risk, legal, procurement) before the
 * technical and business rules ("Director of IT Security" guards, "IT Director" evaluates),
 * business owners of the budget before the champions who lead the change.
 */
export const ROLE_RULES: readonly RoleRule[] = [
  { pattern: '\\b(chief of staff|advis[oe]rs?|consultants?|board members?|analyst relations)\\b', role: 'influencer', why: 'advisors shape the decision without owning it' },
  { pattern: '\\b(ciso|security|infosec|cyber\\w*|risk|compliance|governance|audit\\w*)\\b', role: 'blocker', why: 'security and risk review can stop a purchase' },
  { pattern: '\\b(legal|counsel|attorney|lawyer|paralegal|privacy|data protection|dpo|contracts?)\\b', role: 'blocker', why: 'legal and privacy review can stop a purchase' },
  { pattern: '\\b(procurement|purchasing|sourcing|vendor management|supplier)\\b', role: 'blocker', why: 'procurement negotiates and can stall a purchase' },
  {
    pattern: '\\b(ceo|cfo|coo|cmo|cro|chief (executive|financial|finance|operating|operations|marketing|revenue|commercial|growth|customer) officer|president|founder|co founder|managing director|general manager)\\b',
    role: 'economic_buyer',
    why: 'the business executives who own the budget',
  },
  { pattern: '\\b(cio|cto|cdo|chief (information|technology|digital|data) officer)\\b', role: 'technical_evaluator', why: 'technology executives judge fit and risk of the stack' },
  { pattern: '\\b(finance|financial|fp and a|controller|treasurer)\\b', role: 'economic_buyer', seniorities: LEADER, why: 'finance leaders sign off the spend' },
  { pattern: '\\b(operations|marketing|revenue|commercial)\\b', role: 'economic_buyer', seniorities: EXEC, why: 'VPs of the functions that buy own the budget' },
  {
    pattern: '\\b(it|information technology|engineering|engineers?|architects?|architecture|developers?|devops|data|systems|infrastructure|technical|technology|martech|crm|salesforce|administrator|platform)\\b',
    role: 'technical_evaluator',
    why: 'IT, data and architecture evaluate integration and security fit',
  },
  { pattern: '\\bproduct marketing\\b', role: 'influencer', why: 'product marketing shapes the messaging, rarely the decision' },
  {
    pattern: '\\b(marketing|demand gen\\w*|growth|abm|account based|revenue operations|revops|marketing operations|mops|lifecycle)\\b',
    role: 'champion',
    seniorities: LEADER,
    why: 'marketing and revenue-operations leaders lead the change and sell it inside',
  },
  { pattern: '\\b(revenue operations|revops|marketing operations|abm|account based)\\b', role: 'champion', seniorities: ['manager'], why: 'the managers who run ABM and RevOps own the program' },
  { pattern: '\\b(sales|customer success|customer experience|partnerships?|product|brand)\\b', role: 'influencer', seniorities: LEADER, why: 'adjacent leaders are consulted, not deciding' },
  {
    pattern: '\\b(marketing|marketer|demand gen\\w*|campaigns?|content|social|seo|sem|email|events?|sdr|bdr|sales development|business development|account executive|sales|operations|ops|coordinator|specialist|analyst|strategist|representative|designer|copywriter|writer)\\b',
    role: 'end_user',
    why: 'practitioners who will use the product day to day',
  },
];

/** The role a title maps to (and which rule said so), or none when no rule matches. */
export interface TitleReading {
  readonly role: CommitteeRole | undefined;
  readonly seniority: Seniority;
  /** The pattern that decided the role (the mapping's or the built-in table's). */
  readonly rule?: string;
}

/** Compiles rules once (patterns are data: validated when a mapping file is loaded). */
export function compileRules<R extends { readonly pattern: string }>(rules: readonly R[]): Array<R & { readonly re: RegExp }> {
  return rules.map((r) => ({ ...r, re: new RegExp(r.pattern, 'i') }));
}

const BUILT_IN_ROLES = compileRules(ROLE_RULES);
const BUILT_IN_SENIORITY = compileRules(SENIORITY_RULES);

/** A title-reading function over the mapping's overrides (tried first) and the built-in tables. */
export function titleReader(overrides: readonly RoleRule[] = []): (title: string) => TitleReading {
  const rules = [...compileRules(overrides), ...BUILT_IN_ROLES];
  return (title) => {
    const t = normalizeTitle(title);
    const seniority = BUILT_IN_SENIORITY.find((r) => r.re.test(t))?.seniority ?? 'individual';
    if (t === '') return { role: undefined, seniority };
    const rule = rules.find((r) => r.re.test(t) && (r.seniorities === undefined || r.seniorities.includes(seniority)));
    if (rule === undefined) return { role: undefined, seniority };
    return { role: rule.role, seniority: rule.seniority ?? seniority, rule: rule.pattern };
  };
}

/** The role given to a contact whose title maps to none: the role the agents assume least about. */
export const FALLBACK_ROLE: CommitteeRole = 'influencer';
