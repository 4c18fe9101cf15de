/**
 * Cell values of CRM exports as the model needs them: numbers with thousands separators and
 * currency symbols, dates in the formats CRMs export (with day/month order decided per column,
 * never guessed), domains, email addresses and yes/no flags. Each parser returns the value or a
 * reason naming the bad value and what was expected.
 */
import { Stakeholder } from '../model.ts';

/** A parsed value, or why the cell could not be read. */
export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const fail = <T>(reason: string): Parsed<T> => ({ ok: false, reason });

// ---------------------------------------------------------------------------------------------
// Numbers
// ---------------------------------------------------------------------------------------------

/** How a file writes numbers: the thousands separator and the decimal mark. */
export interface NumberFormat {
  readonly thousands: ',' | '.' | ' ' | "'" | '';
  readonly decimal: '.' | ',';
}

/** US/UK exports (HubSpot and Salesforce in English locales): 1,200,000.50. */
export const DEFAULT_NUMBER_FORMAT: NumberFormat = { thousands: ',', decimal: '.' };

// Currency symbols and the ISO codes exports put beside amounts; an amount is a number either way.
const CURRENCY = /[$€£¥₹₩₽]|\b(?:USD|EUR|GBP|AUD|CAD|CHF|JPY|NZD|SEK|NOK|DKK|INR)\b/gi;
const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Reads a number written with the file's separators ("$1,200,000", "1.200.000 €" with decimal
 * ","): thousands groups must have three digits, so a decimal-comma value read with the default
 * format ("1,5") is refused rather than read as 15.
 */
export function parseNumber(text: string, format: NumberFormat = DEFAULT_NUMBER_FORMAT): Parsed<number> {
  const raw = text.trim();
  // Spaces around a currency sign are layout; inside digits they are only a separator when the
  // format says so (1 200 000 in French exports).
  let s = raw.replace(CURRENCY, ' ').trim();
  if (format.thousands !== ' ') s = s.replace(/\s+/g, '');
  else s = s.replace(/[\s\u00a0\u202f]+/g, ' ');
  const negative = s.startsWith('-');
  if (negative) s = s.slice(1);
  const t = format.thousands === '' ? null : escapeRe(format.thousands);
  const d = escapeRe(format.decimal);
  const grouped = t === null ? '\\d+' : `(?:\\d{1,3}(?:${t}\\d{3})+|\\d+)`;
  const shape = new RegExp(`^${grouped}(?:${d}\\d+)?$`);
  const example = `1${format.thousands}200${format.thousands}000${format.decimal}50`;
  if (!shape.test(s)) return fail(`"${raw}" is not a number written as ${example} (thousands "${format.thousands}", decimal "${format.decimal}")`);
  const plain = (t === null ? s : s.split(format.thousands).join('')).replace(format.decimal, '.');
  const n = Number(plain);
  return Number.isFinite(n) ? ok(negative ? -n : n) : fail(`"${raw}" is not a finite number`);
}

// ---------------------------------------------------------------------------------------------
// Dates
// ---------------------------------------------------------------------------------------------

/** The order of day, month and year in dates like 12/08/2025. */
export type DateOrder = 'DMY' | 'MDY' | 'YMD';

const ISO_LIKE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?\s*(Z|[+-]\d{2}:?\d{2})?)?$/i;
const YMD_SLASH = /^(\d{4})[/.](\d{1,2})[/.](\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AP]M)?)?$/i;
const NUMERIC = /^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(?:[ T,]+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AP]M)?)?$/i;

/** What a day/month value says about the order of its column: nothing, day first, or month first. */
export type DateEvidence = 'none' | 'DMY' | 'MDY';

/** The order a day-month-year value proves (13/08/2025: day first), or none when both readings work. */
export function dateEvidence(text: string): DateEvidence {
  const m = NUMERIC.exec(text.trim());
  if (!m) return 'none';
  const a = Number(m[1]);
  const b = Number(m[2]);
  if (a > 12 && b <= 12) return 'DMY';
  if (b > 12 && a <= 12) return 'MDY';
  return 'none';
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

function isoOf(y: number, mo: number, d: number, h = 0, mi = 0, s = 0, ms = 0, offset = 'Z'): Parsed<string> {
  if (mo < 1 || mo > 12) return fail(`month ${mo} does not exist`);
  const days = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  if (d < 1 || d > days) return fail(`day ${d} does not exist in ${y}-${pad(mo)}`);
  if (h > 23 || mi > 59 || s > 59) return fail(`time ${pad(h)}:${pad(mi)}:${pad(s)} does not exist`);
  const zone = offset.toUpperCase() === 'Z' ? 'Z' : offset.includes(':') ? offset : `${offset.slice(0, 3)}:${offset.slice(3)}`;
  const at = Date.parse(`${pad(y, 4)}-${pad(mo)}-${pad(d)}T${pad(h)}:${pad(mi)}:${pad(s)}.${pad(ms, 3)}${zone}`);
  return Number.isNaN(at) ? fail('not a time') : ok(new Date(at).toISOString());
}

const hour12 = (h: number, ampm: string | undefined): number => {
  if (ampm === undefined) return h;
  const pm = ampm.toUpperCase() === 'PM';
  return (h % 12) + (pm ? 12 : 0);
};

const EXPECTED_DATES = 'expected 2025-08-12, 2025-08-12 09:32, 2025-08-12T09:32:00Z, or 12/08/2025 (day/month order from the file or the mapping\'s `dates`)';

/**
 * Reads a date as an ISO time (UTC when the value has no offset). A day/month value where both
 * numbers are at most 12 needs `order` (from the column's other values, or the mapping); without
 * it the result is `ambiguous`, never a guess.
 */
export function parseDate(text: string, order: DateOrder | undefined): Parsed<string> & { readonly ambiguous?: true } {
  const s = text.trim();
  const iso = ISO_LIKE.exec(s);
  if (iso) {
    const [, y, mo, d, h, mi, sec, frac, zone] = iso;
    return isoOf(Number(y), Number(mo), Number(d), Number(h ?? 0), Number(mi ?? 0), Number(sec ?? 0), Number((frac ?? '0').slice(0, 3).padEnd(3, '0')), zone ?? 'Z');
  }
  const ymd = YMD_SLASH.exec(s);
  if (ymd) {
    const [, y, mo, d, h, mi, sec, ampm] = ymd;
    return isoOf(Number(y), Number(mo), Number(d), hour12(Number(h ?? 0), ampm), Number(mi ?? 0), Number(sec ?? 0));
  }
  const m = NUMERIC.exec(s);
  if (!m) return fail(`"${s}" is not a date: ${EXPECTED_DATES}`);
  const [, a, b, y, h, mi, sec, ampm] = m;
  const first = Number(a);
  const second = Number(b);
  const proven = dateEvidence(s);
  // The same number twice (05/05/2025) reads the same either way: not ambiguous.
  const use: DateOrder | undefined = proven !== 'none' ? proven : first === second ? 'DMY' : order === 'YMD' ? undefined : order;
  if (use === undefined) {
    return { ok: false, ambiguous: true, reason: `"${s}" could be ${pad(first)} ${monthName(second)} or ${monthName(first)} ${pad(second)}: no value in this column has a day above 12 to decide, and the mapping sets no \`dates: DMY|MDY\`` };
  }
  if (order !== undefined && order !== 'YMD' && proven !== 'none' && proven !== order) {
    return fail(`"${s}" cannot be read as ${order} (the mapping's \`dates\`): ${proven === 'DMY' ? `month ${second}` : `month ${first}`} is the only reading`);
  }
  const [day, month] = use === 'DMY' ? [first, second] : [second, first];
  return isoOf(Number(y), month, day, hour12(Number(h ?? 0), ampm), Number(mi ?? 0), Number(sec ?? 0));
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const monthName = (n: number): string => MONTHS[n - 1] ?? String(n);

/**
 * The day/month order of a date column from its values: the order every unambiguous value proves,
 * else the mapping's. A column whose values prove both orders has none: its ambiguous values are
 * issues unless the mapping decides.
 */
export function columnDateOrder(values: readonly string[], mapping: DateOrder | undefined): { order: DateOrder | undefined; mixed: boolean } {
  const seen = new Set(values.map(dateEvidence).filter((e) => e !== 'none'));
  if (seen.size === 2) return { order: mapping, mixed: true };
  const [only] = [...seen];
  return { order: only === 'DMY' || only === 'MDY' ? only : mapping, mixed: false };
}

// ---------------------------------------------------------------------------------------------
// Domains and email addresses
// ---------------------------------------------------------------------------------------------

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/**
 * A company's domain from a domain or website cell: lowercased, without scheme, user, `www.`,
 * port, path, query or trailing dot ("https://WWW.Acme.com:443/about" → acme.com); international
 * names in their ASCII (punycode) form, as DNS and email use them.
 */
export function normalizeDomain(text: string): Parsed<string> {
  const raw = text.trim();
  if (raw === '') return fail('blank');
  let host: string;
  try {
    const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`;
    host = new URL(withScheme).hostname;
  } catch {
    return fail(`"${raw}" is not a domain or website address (expected acme.com or https://www.acme.com)`);
  }
  host = host.toLowerCase().replace(/\.+$/, '').replace(/^www\d*\./, '');
  if (host.startsWith('[') || /^\d+(\.\d+){3}$/.test(host)) return fail(`"${raw}" is an IP address, not a company domain`);
  const labels = host.split('.');
  const tld = labels[labels.length - 1] ?? '';
  if (labels.length < 2 || !labels.every((l) => LABEL.test(l)) || !/^(?:[a-z]{2,63}|xn--[a-z0-9-]+)$/.test(tld)) {
    return fail(`"${raw}" is not a domain or website address (expected acme.com or https://www.acme.com)`);
  }
  return ok(host);
}

/** The address schema of the model: what a stakeholder's email must satisfy to be stored. */
const EMAIL = Stakeholder.shape.email;

/**
 * An email address trimmed and lowercased (addresses compare case-insensitively; `mailto:`
 * dropped), checked against the model's address schema. `changed` says the export wrote it
 * differently.
 */
export function normalizeEmail(text: string): Parsed<{ email: string; changed: boolean }> {
  const raw = text;
  const email = text.trim().replace(/^mailto:/i, '').toLowerCase();
  if (email === '') return fail('blank');
  if (!EMAIL.safeParse(email).success) {
    // Say what is wrong in terms a CRM admin can act on.
    const why = !email.includes('@')
      ? 'it has no "@"'
      : /\s/.test(email)
        ? 'it contains spaces'
        : !/^[\x20-\x7e]*$/.test(email)
          ? 'it has non-ASCII characters (the system sends through SES, which accepts ASCII addresses only; the CRM may hold a transliteration)'
          : 'it is not an address of the form name@company.com';
    return fail(`"${raw.trim()}" is not a valid email address: ${why}`);
  }
  return ok({ email, changed: email !== raw });
}

/** The domain of a normalized email address. */
export const emailDomain = (email: string): string => email.slice(email.lastIndexOf('@') + 1);

// ---------------------------------------------------------------------------------------------
// Flags and names
// ---------------------------------------------------------------------------------------------

const TRUE = new Set(['true', 'yes', 'y', '1', 'x', 'checked', 'opted out', 'opted_out', 'unsubscribed', 'wahr', 'ja', 'oui', 'si', 'sí']);
const FALSE = new Set(['false', 'no', 'n', '0', '', 'unchecked', 'falsch', 'nein', 'non']);

/** A yes/no cell (true/false, yes/no, 1/0, checked; blank is no), or why it is neither. */
export function parseFlag(text: string): Parsed<boolean> {
  const s = text.trim().toLowerCase();
  if (TRUE.has(s)) return ok(true);
  if (FALSE.has(s)) return ok(false);
  return fail(`"${text.trim()}" is neither yes nor no (expected true/false, yes/no, 1/0 or blank)`);
}

/**
 * A company name for matching contacts to accounts: lowercase, accents, punctuation and legal
 * forms (Inc, Ltd, GmbH, ...) removed, so "Acme, Inc." and "ACME Inc" meet.
 */
export function companyKey(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/&/g, ' and ')
    .replace(/[^a-z0-9]+/g, ' ')
    .replace(/\b(inc|incorporated|ltd|limited|llc|llp|plc|gmbh|ag|sa|sas|sarl|bv|nv|oy|ab|as|spa|srl|pty|co|corp|corporation|company|group|holdings?)\b/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** A person's name for duplicate detection: accents and case folded, spaces collapsed. */
export function personKey(name: string): string {
  return name.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').toLowerCase().replace(/\s+/g, ' ').trim();
}
