import { describe, expect, it } from 'vitest';
import { bookFromImport } from '../../local/simulator/book.ts';
import { Market } from '../../local/simulator/market.ts';
import { defaultScenario } from '../../local/simulator/scenario.ts';
import { aStakeholder, anAccount } from './builders.ts';

const real = {
  accounts: [anAccount({ id: 'hs-2', name: 'Beta Ltd', domain: 'beta.example', tier: 2, stage: 'solution_aware' }), anAccount({ id: 'hs-1', name: 'Alpha Inc', domain: 'alpha.example', tier: 1 })],
  stakeholders: [
    aStakeholder({ id: 'hs-c-2', accountId: 'hs-1', role: 'blocker', email: 'bo@alpha.example', consent: 'opted_out' }),
    aStakeholder({ id: 'hs-c-1', accountId: 'hs-1', role: 'champion', email: 'cy@alpha.example' }),
    aStakeholder({ id: 'hs-c-3', accountId: 'hs-2', role: 'economic_buyer', email: 'di@beta.example' }),
  ],
};

describe('a simulated world on an imported book', () => {
  it('keeps what the CRM knows and draws the rest from the seed, the same way every time', () => {
    const book = bookFromImport('seed-1', defaultScenario, real);
    expect(book).toEqual(bookFromImport('seed-1', defaultScenario, { accounts: [...real.accounts].reverse(), stakeholders: [...real.stakeholders].reverse() }));
    expect(book.accounts.map((a) => [a.id, a.name, a.domain, a.tier, a.stage, a.publicStage])).toEqual([
      ['hs-1', 'Alpha Inc', 'alpha.example', 1, 'problem_aware', 'problem_aware'],
      ['hs-2', 'Beta Ltd', 'beta.example', 2, 'solution_aware', 'solution_aware'],
    ]);
    expect(book.accounts[0]?.stakeholderIds).toEqual(['hs-c-1', 'hs-c-2']);
    const blocker = book.stakeholders.find((s) => s.id === 'hs-c-2');
    expect(blocker).toMatchObject({ role: 'blocker', consent: 'opted_out', known: true, concern: expect.any(String) });
    for (const s of book.stakeholders) expect(s.interest).toBeGreaterThanOrEqual(0);
    expect(bookFromImport('seed-2', defaultScenario, real).stakeholders.map((s) => s.trust)).not.toEqual(book.stakeholders.map((s) => s.trust));
  });

  it('shows the agents the imported book, people and all', () => {
    const market = Market.create({ seed: 's', accounts: 0, start: '2027-01-04T14:00:00.000Z', book: bookFromImport('s', defaultScenario, real) });
    const seen = market.book();
    expect(seen.accounts.map((a) => a.id).sort()).toEqual(['hs-1', 'hs-2']);
    expect(seen.stakeholders.map((s) => s.email).sort()).toEqual(['bo@alpha.example', 'cy@alpha.example', 'di@beta.example']);
  });
});
