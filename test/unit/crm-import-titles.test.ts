/**
 * The title table: committee role and seniority from a job title, first matching rule wins, a
 * mapping file's rules first; and the stage and tier tables of new accounts.
 */
import { describe, expect, it } from 'vitest';
import type { CommitteeRole, Seniority } from '../../shared/domain/model.ts';
import { DEFAULT_TIER, normalizeTitle, ROLE_RULES, stageOf, tierOf, titleReader } from '../../shared/domain/crm-import/index.ts';

const read = titleReader();

describe('the role table', () => {
  it.each<[string, CommitteeRole, Seniority]>([
    // Business owners of the budget.
    ['Chief Financial Officer', 'economic_buyer', 'c_level'],
    ['CEO', 'economic_buyer', 'c_level'],
    ['SVP Operations', 'economic_buyer', 'vp'],
    ['Vice President, Finance', 'economic_buyer', 'vp'],
    ['VP Marketing', 'economic_buyer', 'vp'],
    ['Finance Director', 'economic_buyer', 'director'],
    // Leaders of the change.
    ['Director, Demand Generation', 'champion', 'director'],
    ['Head of Marketing Operations', 'champion', 'director'],
    ['Director of Revenue Operations', 'champion', 'director'],
    ['Revenue Operations Manager', 'champion', 'manager'],
    ['VP Growth', 'champion', 'vp'],
    // Technical evaluation.
    ['IT Director', 'technical_evaluator', 'director'],
    ['Principal Architect', 'technical_evaluator', 'individual'],
    ['Head of Data Engineering', 'technical_evaluator', 'director'],
    ['CTO', 'technical_evaluator', 'c_level'],
    ['Salesforce Administrator', 'technical_evaluator', 'individual'],
    // Those who can stop it: security, risk, legal, procurement (before "IT" and "Director").
    ['CISO', 'blocker', 'c_level'],
    ['Director of IT Security', 'blocker', 'director'],
    ['Vendor Risk Manager', 'blocker', 'manager'],
    ['Legal Counsel', 'blocker', 'individual'],
    ['Director of Procurement', 'blocker', 'director'],
    ['Data Protection Officer', 'blocker', 'individual'],
    // Practitioners.
    ['SDR Team Lead', 'end_user', 'manager'],
    ['Sales Operations Analyst', 'end_user', 'individual'],
    ['Marketing Manager', 'end_user', 'manager'],
    ['Content Strategist', 'end_user', 'individual'],
    // Advisors and adjacent leaders.
    ['Chief of Staff', 'influencer', 'director'],
    ['Board Advisor', 'influencer', 'individual'],
    ['Senior Consultant', 'influencer', 'individual'],
    ['VP Sales', 'influencer', 'vp'],
    ['Product Marketing Manager', 'influencer', 'manager'],
  ])('reads "%s" as %s (%s)', (title, role, seniority) => {
    expect(read(title)).toMatchObject({ role, seniority });
  });

  it('never reads "Vice President" as a President', () => {
    expect(normalizeTitle('Senior Vice President of Sales & Marketing')).toBe('svp of sales and marketing');
    expect(read('Vice President of Customer Success').role).toBe('influencer');
  });

  it('infers no role from a blank title or one no rule matches, but still a seniority', () => {
    expect(read('')).toEqual({ role: undefined, seniority: 'individual' });
    expect(read('Chief Happiness Officer')).toEqual({ role: undefined, seniority: 'c_level' });
  });

  it('agrees with the simulated market on the titles it gives each role', () => {
    // The titles local/simulator/book.ts draws per role: an imported book and the demo book mean the same.
    const book: Record<CommitteeRole, string[]> = {
      economic_buyer: ['Chief Marketing Officer', 'Chief Revenue Officer', 'Chief Financial Officer', 'VP Marketing', 'VP Revenue Operations', 'VP Finance'],
      champion: ['Director of Marketing Operations', 'Director of Demand Generation', 'Revenue Operations Manager', 'ABM Program Manager', 'VP Growth'],
      technical_evaluator: ['Director of IT', 'Head of Data Engineering', 'Marketing Technology Manager', 'Solutions Architect', 'Salesforce Administrator', 'Data Engineer'],
      end_user: ['Demand Generation Manager', 'SDR Team Lead', 'Marketing Operations Specialist', 'Campaign Manager', 'Account Executive', 'Content Marketer'],
      blocker: ['Procurement Manager', 'Chief Information Security Officer', 'Director of Information Security', 'Security Architect', 'Head of Procurement', 'Strategic Sourcing Manager', 'General Counsel', 'Data Protection Officer', 'Legal Counsel', 'Director of IT Risk', 'IT Governance Manager'],
      influencer: ['VP Sales', 'VP Customer Success', 'Director of Sales Operations', 'Head of Brand', 'Product Marketing Manager'],
    };
    const wrong = Object.entries(book).flatMap(([role, titles]) => titles.filter((t) => read(t).role !== role).map((t) => `${t}: ${read(t).role ?? 'none'} (expected ${role})`));
    expect(wrong).toEqual([]);
  });

  it('tries a mapping file\'s rules first, with the seniority they set', () => {
    const custom = titleReader([{ pattern: '\\bleiter(in)? marketing\\b', role: 'champion', why: 'mapping file', seniority: 'director' }, { pattern: 'ciso', role: 'technical_evaluator', why: 'mapping file' }]);
    expect(custom('Leiterin Marketing')).toMatchObject({ role: 'champion', seniority: 'director', rule: '\\bleiter(in)? marketing\\b' });
    expect(custom('CISO')).toMatchObject({ role: 'technical_evaluator' });
    expect(custom('CFO')).toMatchObject({ role: 'economic_buyer' });
  });

  it('compiles every built-in pattern', () => {
    for (const r of ROLE_RULES) expect(() => new RegExp(r.pattern)).not.toThrow();
  });
});

describe('stages and tiers of new accounts', () => {
  it('maps HubSpot lifecycle stages and Salesforce account types to stages', () => {
    expect(stageOf('lead')).toBe('unaware');
    expect(stageOf('marketingqualifiedlead')).toBe('problem_aware');
    expect(stageOf('Sales Qualified Lead')).toBe('solution_aware');
    expect(stageOf('opportunity')).toBe('evaluating');
    expect(stageOf('customer')).toBe('committed');
    expect(stageOf('Customer - Direct')).toBe('committed');
    expect(stageOf('Prospect')).toBe('unaware');
    expect(stageOf('Kunde', { Kunde: 'committed' })).toBe('committed');
    expect(stageOf('something else')).toBeUndefined();
  });

  it('reads Tier 1..3 in the spellings CRMs use, the mapping\'s names, and nothing else', () => {
    expect(tierOf('Tier 1')).toBe(1);
    expect(tierOf('tier2')).toBe(2);
    expect(tierOf('T3')).toBe(3);
    expect(tierOf('3')).toBe(3);
    expect(tierOf('Strategisch', { Strategisch: 1 })).toBe(1);
    expect(tierOf('Tier 4')).toBeUndefined();
    expect(DEFAULT_TIER).toBe(3);
  });
});
