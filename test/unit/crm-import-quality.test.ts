/**
 * The data-quality score formula, the book's stored summary, and the campaign's gate on it: each
 * finding says what is short, by how much, and the command that checks again.
 */
import { describe, expect, it } from 'vitest';
import { Campaign } from '../../shared/domain/config.ts';
import { DataQualityGateError, DomainError, ErrorName } from '../../shared/domain/errors.ts';
import type { CommitteeRole, Tier } from '../../shared/domain/model.ts';
import { BookQuality, bookQualityOf, dataQualityGate, issue, penaltyOf, qualityScore, RECHECK_COMMAND } from '../../shared/domain/crm-import/index.ts';

describe('the score formula', () => {
  it('costs a row 1 for an error, 0.25 for warnings, nothing for infos, each row once at its worst', () => {
    const issues = [
      issue('f', 2, 'email', 'invalid_email', 'x'),
      issue('f', 2, 'title', 'role_unknown', 'x'),
      issue('f', 3, 'title', 'role_unknown', 'x'),
      issue('f', 3, 'tier', 'invalid_tier', 'x'),
      issue('f', 4, 'optOut', 'unsubscribed', 'x'),
      issue('f', null, 'role', 'no_champion', 'x', 'acc-1'),
      issue('f', null, 'role', 'no_economic_buyer', 'x', 'acc-1'),
    ];
    expect(penaltyOf(issues)).toBe(1 + 0.25 + 0 + 0.25);
  });

  it('is 100 × (1 − penalty / units), rounded and clamped, 100 with nothing assessed', () => {
    expect(qualityScore([{ units: 100, penalty: 0 }])).toBe(100);
    expect(qualityScore([{ units: 100, penalty: 10 }])).toBe(90);
    expect(qualityScore([{ units: 60, penalty: 0 }, { units: 60, penalty: 15 }])).toBe(88);
    expect(qualityScore([{ units: 8, penalty: 1 }])).toBe(88); // 87.5 rounds up
    expect(qualityScore([{ units: 1, penalty: 5 }])).toBe(0);
    expect(qualityScore([])).toBe(100);
  });
});

const at = '2027-01-04T09:00:00.000Z';
const book = (entries: Array<[string, Tier, CommitteeRole[]]>) => entries.map(([id, tier, roles]) => ({ account: { id, tier }, roles }));

describe('the book summary', () => {
  it('keeps role coverage as a histogram by tier with examples, and scores accounts without an economic buyer or champion as warnings', () => {
    const q = bookQualityOf({
      at,
      book: book([
        ['a-1', 1, ['economic_buyer', 'champion']],
        ['a-2', 1, ['champion', 'economic_buyer', 'blocker']],
        ['a-3', 2, ['champion']],
        ['a-4', 2, []],
      ]),
      contacts: 6,
      imports: {},
    });
    expect(BookQuality.parse(q)).toEqual(q);
    expect(q.coverage).toEqual([
      { tier: 1, roles: ['economic_buyer', 'champion'], accounts: 1 },
      { tier: 1, roles: ['economic_buyer', 'champion', 'blocker'], accounts: 1 },
      { tier: 2, roles: [], accounts: 1 },
      { tier: 2, roles: ['champion'], accounts: 1 },
    ]);
    expect(q.missing.find((m) => m.tier === 2 && m.role === 'economic_buyer')?.examples).toEqual(['a-3', 'a-4']);
    expect(q.counts).toEqual({ no_economic_buyer: 2, no_champion: 1 });
    expect(q.score).toBe(qualityScore([{ units: 4, penalty: 0.5 }]));
  });

  it('adds the latest imports\' rows to the score and their counts, keeping the book\'s own coverage counts', () => {
    const summary = { at, file: 'c.csv', format: 'hubspot', rows: 10, imported: 8, skipped: 2, score: 80, units: 10, penalty: 2, counts: { invalid_email: 2, no_champion: 5 } };
    const q = bookQualityOf({ at, book: book([['a-1', 1, ['economic_buyer', 'champion']]]), contacts: 8, imports: { contacts: summary } });
    expect(q.counts).toEqual({ invalid_email: 2 });
    expect(q.score).toBe(qualityScore([{ units: 10, penalty: 2 }, { units: 1, penalty: 0 }]));
  });
});

describe('the data-quality gate', () => {
  const report = bookQualityOf({
    at,
    book: book([
      ['a-1', 1, ['economic_buyer', 'champion']],
      ['a-2', 1, ['champion']],
      ['a-3', 1, []],
      ['a-4', 3, ['economic_buyer', 'champion']],
    ]),
    contacts: 5,
    imports: { contacts: { at, file: 'c.csv', format: 'hubspot', rows: 20, imported: 14, skipped: 6, score: 70, units: 20, penalty: 6, counts: { invalid_email: 6, role_unknown: 2, unsubscribed: 9 } } },
  });

  it('passes a campaign without thresholds, whatever the book', () => {
    expect(dataQualityGate(undefined, undefined)).toEqual({ ok: true });
    expect(dataQualityGate({}, report)).toEqual({ ok: true });
  });

  it('stops a campaign with thresholds when nobody has checked the book yet, saying how to', () => {
    const r = dataQualityGate({ minScore: 50 }, undefined);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.findings[0]).toMatch(/No data-quality report.*amk import accounts FILE.*amk data check/);
  });

  it('names the score, the minimum and the most frequent issues (not infos) when the score is low', () => {
    const r = dataQualityGate({ minScore: report.score + 1 }, report);
    expect(r.ok).toBe(false);
    const [finding] = r.ok ? [] : r.findings;
    expect(finding).toContain(`score is ${report.score}, below the campaign's minimum of ${report.score + 1}`);
    expect(finding).toContain('6 invalid_email');
    expect(finding).not.toContain('unsubscribed');
    expect(finding).toContain(RECHECK_COMMAND);
    expect(dataQualityGate({ minScore: report.score }, report)).toEqual({ ok: true });
  });

  it('says which roles are missing on how many accounts, with examples, against the share the campaign needs', () => {
    const r = dataQualityGate({ requiredRoles: ['economic_buyer', 'champion'], minAccountsWithRequiredRoles: 0.75 }, report);
    expect(r).toEqual({
      ok: false,
      findings: [
        'Only 2 of 4 accounts in the book (50%) have a known economic buyer and champion; the campaign needs 75%: no economic buyer on 2 account(s) (e.g. a-2, a-3); no champion on 1 account(s) (e.g. a-3). Add those contacts in the CRM (or map their titles with `roles:` in an import mapping file), re-import the contacts, and re-check with `amk data check`.',
      ],
    });
    expect(dataQualityGate({ requiredRoles: ['economic_buyer', 'champion'], minAccountsWithRequiredRoles: 0.5 }, report)).toEqual({ ok: true });
  });

  it('requires every account by default and counts only the campaign segment\'s tiers', () => {
    expect(dataQualityGate({ requiredRoles: ['champion'] }, report).ok).toBe(false);
    expect(dataQualityGate({ requiredRoles: ['champion'] }, report, { tiers: [3] })).toEqual({ ok: true });
    const none = dataQualityGate({ requiredRoles: ['champion'] }, report, { tiers: [2] });
    expect(!none.ok && none.findings[0]).toMatch(/No accounts in the segment \(tier 2\)/);
  });

  it('reports every threshold that is not met at once', () => {
    const r = dataQualityGate({ minScore: 100, requiredRoles: ['blocker'] }, report);
    expect(r.ok ? 0 : r.findings.length).toBe(2);
  });
});

describe('the campaign schema and the gate error', () => {
  const campaign = {
    id: 'c',
    name: 'C',
    owner: 'o@example.com',
    goal: { description: 'g', fromStage: 'unaware', toStage: 'problem_aware' },
    charters: ['a.yaml'],
    guardrails: 'g.yaml',
    schedule: { expression: 'rate(7 days)' },
  };

  it('accepts an optional dataQuality section and refuses a share without roles or out of 0..1', () => {
    expect(Campaign.parse(campaign).dataQuality).toBeUndefined();
    expect(Campaign.parse({ ...campaign, dataQuality: { minScore: 80, requiredRoles: ['economic_buyer'], minAccountsWithRequiredRoles: 0.8 } }).dataQuality).toEqual({ minScore: 80, requiredRoles: ['economic_buyer'], minAccountsWithRequiredRoles: 0.8 });
    expect(Campaign.safeParse({ ...campaign, dataQuality: { minAccountsWithRequiredRoles: 0.8 } }).success).toBe(false);
    expect(Campaign.safeParse({ ...campaign, dataQuality: { requiredRoles: ['economic_buyer'], minAccountsWithRequiredRoles: 80 } }).success).toBe(false);
    expect(Campaign.safeParse({ ...campaign, dataQuality: { requiredRoles: ['cfo'] } }).success).toBe(false);
  });

  it('names the gate error stably, so Step Functions can Catch it', () => {
    const err = new DataQualityGateError(['a', 'b']);
    expect(err).toBeInstanceOf(DomainError);
    expect(err.name).toBe(ErrorName.DataQualityGate);
    expect(err.name).toBe('DataQualityGateError');
    expect(err.code).toBe('DATA_QUALITY_GATE');
    expect(err.findings).toEqual(['a', 'b']);
  });
});
