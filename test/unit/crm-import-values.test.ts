/**
 * The cells of CRM exports, read as the model needs them: CSV structure (BOM, CRLF, quoted commas
 * and line breaks, spreadsheet row numbers), numbers with separators and currency, dates with the
 * day/month order never guessed, domains, email addresses and flags.
 */
import { describe, expect, it } from 'vitest';
import { InvalidConfigError } from '../../shared/domain/errors.ts';
import {
  columnDateOrder,
  companyKey,
  normalizeDomain,
  normalizeEmail,
  parseCsvText,
  parseDate,
  parseFlag,
  parseNumber,
  readAccounts,
} from '../../shared/domain/crm-import/index.ts';

const value = <T>(p: { ok: true; value: T } | { ok: false; reason: string }): T => {
  if (!p.ok) throw new Error(`expected a value, got: ${p.reason}`);
  return p.value;
};

describe('CSV files', () => {
  it('drops a UTF-8 byte-order mark so the first header is found by its name', () => {
    const t = parseCsvText('f.csv', '\uFEFFRecord ID,Company name\r\n1,Acme\r\n');
    expect(t.headers).toEqual(['Record ID', 'Company name']);
    expect(t.rows).toEqual([{ row: 2, values: ['1', 'Acme'] }]);
  });

  it('keeps quoted commas and line breaks inside one value and numbers rows as a spreadsheet shows them', () => {
    const t = parseCsvText('f.csv', 'a,b\r\n"Acme, Inc.","two\r\nlines"\r\n\r\nlast,row\n');
    expect(t.rows).toEqual([
      { row: 2, values: ['Acme, Inc.', 'two\r\nlines'] },
      // The blank line is row 3 in a spreadsheet, so the row after it is row 4.
      { row: 3, values: [''] },
      { row: 4, values: ['last', 'row'] },
    ]);
  });

  it('reads rows shorter or longer than the header instead of failing the file', () => {
    const t = parseCsvText('f.csv', 'a,b,c\n1\n1,2,3,4\n');
    expect(t.rows.map((r) => r.values.length)).toEqual([1, 4]);
  });

  it('fails a file with an unclosed quote as a whole, naming the file and the line', () => {
    try {
      parseCsvText('broken.csv', 'a,b\n1,"open\n2,3\n');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(InvalidConfigError);
      const e = err as InvalidConfigError;
      expect(e.file).toBe('broken.csv');
      expect(e.problems[0]?.path).toMatch(/^line \d+$/);
      expect(e.problems[0]?.message).toMatch(/quoted value is never closed/);
    }
  });

  it('fails an empty file, asking for a header row', () => {
    expect(() => parseCsvText('empty.csv', '')).toThrow(/expected a header row/);
  });

  it('reads semicolon-separated files when told the delimiter', () => {
    expect(parseCsvText('f.csv', 'a;b\n"x;y";2\n', ';').rows[0]?.values).toEqual(['x;y', '2']);
  });
});

describe('numbers', () => {
  it('reads thousands separators and currency symbols', () => {
    expect(value(parseNumber('$1,200,000'))).toBe(1_200_000);
    expect(value(parseNumber('1,200,000.50 USD'))).toBe(1_200_000.5);
    expect(value(parseNumber('12000'))).toBe(12_000);
  });

  it('reads decimal commas when the mapping says so', () => {
    const eu = { thousands: '.', decimal: ',' } as const;
    expect(value(parseNumber('1.200.000 €', eu))).toBe(1_200_000);
    expect(value(parseNumber('950.000,50 €', eu))).toBe(950_000.5);
    expect(value(parseNumber("1'200'000", { thousands: "'", decimal: '.' }))).toBe(1_200_000);
    expect(value(parseNumber('1 200 000', { thousands: ' ', decimal: ',' }))).toBe(1_200_000);
  });

  it('refuses a decimal-comma value read with the default format instead of reading 1,5 as 15', () => {
    const r = parseNumber('1,5');
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toMatch(/"1,5" is not a number written as 1,200,000\.50/);
    expect(parseNumber('twelve').ok).toBe(false);
  });
});

describe('dates', () => {
  it('reads ISO dates, HubSpot date-times and Salesforce offsets as UTC instants', () => {
    expect(value(parseDate('2025-08-12', undefined))).toBe('2025-08-12T00:00:00.000Z');
    expect(value(parseDate('2025-08-12 09:32', undefined))).toBe('2025-08-12T09:32:00.000Z');
    expect(value(parseDate('2024-11-03T14:05:00.000+0000', undefined))).toBe('2024-11-03T14:05:00.000Z');
    expect(value(parseDate('2025-08-12T09:32:00+02:00', undefined))).toBe('2025-08-12T07:32:00.000Z');
    expect(value(parseDate('8/12/2025 9:32 PM', 'MDY'))).toBe('2025-08-12T21:32:00.000Z');
  });

  it('reads a day above 12 as the day whatever the order, and a month above 12 as impossible', () => {
    expect(value(parseDate('13/08/2025', undefined))).toBe('2025-08-13T00:00:00.000Z');
    expect(value(parseDate('08/13/2025', undefined))).toBe('2025-08-13T00:00:00.000Z');
    expect(parseDate('2025-02-30', undefined).ok).toBe(false);
  });

  it('never guesses 12/08/2025: without an order it is ambiguous, with one it is read that way', () => {
    const r = parseDate('12/08/2025', undefined);
    expect(r.ok).toBe(false);
    expect('ambiguous' in r && r.ambiguous).toBe(true);
    expect(!r.ok && r.reason).toMatch(/could be 12 Aug or Dec 08/);
    expect(value(parseDate('12/08/2025', 'DMY'))).toBe('2025-08-12T00:00:00.000Z');
    expect(value(parseDate('12/08/2025', 'MDY'))).toBe('2025-12-08T00:00:00.000Z');
    expect(value(parseDate('05/05/2025', undefined))).toBe('2025-05-05T00:00:00.000Z');
  });

  it('decides a column from its one unambiguous value, before the mapping', () => {
    expect(columnDateOrder(['12/08/2025', '03/04/2025', '25/04/2025'], undefined)).toEqual({ order: 'DMY', mixed: false });
    expect(columnDateOrder(['12/08/2025', '04/25/2025'], 'DMY')).toEqual({ order: 'MDY', mixed: false });
    expect(columnDateOrder(['12/08/2025', '03/04/2025'], undefined)).toEqual({ order: undefined, mixed: false });
    expect(columnDateOrder(['12/08/2025', '03/04/2025'], 'DMY')).toEqual({ order: 'DMY', mixed: false });
    // Values proving both orders: the column has none of its own; only the mapping can decide.
    expect(columnDateOrder(['25/04/2025', '04/25/2025'], undefined)).toEqual({ order: undefined, mixed: true });
  });

  it('reports an ambiguous create date on its row when the file cannot tell, and not when one row can', () => {
    const head = 'Record ID,Company name,Company Domain Name,Create Date\n';
    const undecided = readAccounts(parseCsvText('a.csv', `${head}1,A,a.example,12/08/2025\n2,B,b.example,03/04/2025\n`), { format: 'auto' });
    expect(undecided.issues.map((i) => [i.row, i.code])).toEqual([
      [2, 'ambiguous_date'],
      [3, 'ambiguous_date'],
    ]);
    expect(undecided.accounts).toHaveLength(2);
    const decided = readAccounts(parseCsvText('a.csv', `${head}1,A,a.example,12/08/2025\n2,B,b.example,25/04/2025\n`), { format: 'auto' });
    expect(decided.issues).toEqual([]);
  });
});

describe('domains', () => {
  it('strips scheme, www, port, path, query and trailing dot, lowercased', () => {
    expect(value(normalizeDomain('https://WWW.Acme.com:443/about?x=1#top'))).toBe('acme.com');
    expect(value(normalizeDomain('acme.co.uk.'))).toBe('acme.co.uk');
    expect(value(normalizeDomain('www2.acme.io'))).toBe('acme.io');
    expect(value(normalizeDomain('HTTP://Zephyr-Freight.example.'))).toBe('zephyr-freight.example');
    expect(value(normalizeDomain('info@acme.com'))).toBe('acme.com');
    expect(value(normalizeDomain('bücher.de'))).toBe('xn--bcher-kva.de');
  });

  it('refuses what is not a company domain, saying what was expected', () => {
    for (const bad of ['localhost', 'http://10.0.0.1', 'not a domain', 'acme', '-acme.com']) {
      const r = normalizeDomain(bad);
      expect(r.ok, bad).toBe(false);
    }
    const r = normalizeDomain('acme');
    expect(!r.ok && r.reason).toMatch(/expected acme\.com or https:\/\/www\.acme\.com/);
  });
});

describe('email addresses', () => {
  it('trims and lowercases, and says when the export wrote it differently', () => {
    expect(value(normalizeEmail('  Ada.Byron@Northwind.example '))).toEqual({ email: 'ada.byron@northwind.example', changed: true });
    expect(value(normalizeEmail('mailto:a@b.co'))).toEqual({ email: 'a@b.co', changed: true });
    expect(value(normalizeEmail('a@b.co'))).toEqual({ email: 'a@b.co', changed: false });
  });

  it('refuses addresses the model cannot store, naming the value and why', () => {
    const at = normalizeEmail('xrossi at bluefinnetworks.co');
    expect(!at.ok && at.reason).toBe('"xrossi at bluefinnetworks.co" is not a valid email address: it has no "@"');
    const accented = normalizeEmail('łgarcia@redwoodlogistics.co');
    expect(!accented.ok && accented.reason).toMatch(/non-ASCII characters/);
    expect(normalizeEmail('a@@b.co').ok).toBe(false);
  });
});

describe('flags and company names', () => {
  it('reads the opt-out spellings of HubSpot and Salesforce, blank as no', () => {
    for (const yes of ['true', 'TRUE', '1', 'Yes', 'x']) expect(value(parseFlag(yes)), yes).toBe(true);
    for (const no of ['false', '0', 'no', '']) expect(value(parseFlag(no)), no).toBe(false);
    expect(parseFlag('maybe').ok).toBe(false);
  });

  it('matches company names across punctuation, accents and legal forms', () => {
    expect(companyKey('Zephyr Freight, Pty Ltd')).toBe(companyKey('Zephyr Freight'));
    expect(companyKey('ACME Inc.')).toBe(companyKey('Acme'));
    expect(companyKey('Müller GmbH')).toBe('muller');
    expect(companyKey('Acme Analytics')).not.toBe(companyKey('Acme Logistics'));
  });
});
