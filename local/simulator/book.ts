/**
 * The book generator: a seeded book of fictional B2B accounts, their buying committees (roles,
 * titles, names, consent) and the hidden state each starts with (in market, stage, interest, trust,
 * consensus, vetoes). Every draw is keyed by account or stakeholder id, so the same seed and scenario
 * give the same book whatever else changes.
 */
import type { AccountState, CommitteeRole, Seniority, Stage, Stakeholder, Tier } from '../../shared/domain/model.ts';
import { draws, intBetween, pick, pickWeighted } from './rng.ts';
import type { Scenario } from './scenario.ts';
import type { SimAccount, SimStakeholder } from './snapshot.ts';
import { clamp01, lerp } from './tick.ts';

const COMPANY_PREFIXES = [
  'Northwind', 'Bluefin', 'Ironbark', 'Cobalt', 'Harbor', 'Juniper', 'Larkspur', 'Meridian', 'Nimbus', 'Oakridge',
  'Pinecrest', 'Quillon', 'Redwater', 'Silverline', 'Tidewell', 'Umbra', 'Valemont', 'Westmark', 'Yarrow', 'Zephyr',
  'Ashgrove', 'Brightfield', 'Cedarpoint', 'Driftwood', 'Emberly', 'Foxhollow', 'Granite', 'Highmoor', 'Inkwell', 'Kestrel',
  'Lumen', 'Mosswood', 'Northgate', 'Orchid', 'Pebblestone', 'Quarry', 'Riverbend', 'Stonecroft', 'Thornbury', 'Upland',
  'Vantage', 'Willowby', 'Amberlight', 'Blackthorn', 'Copperleaf', 'Dunmore', 'Eastlake', 'Fernhill', 'Goldcrest', 'Hollowell',
];
const COMPANY_SUFFIXES = [
  'Analytics', 'Systems', 'Logistics', 'Labs', 'Holdings', 'Dynamics', 'Networks', 'Health', 'Robotics', 'Foods',
  'Energy', 'Capital', 'Software', 'Materials', 'Partners', 'Industries', 'Works', 'Digital', 'Freight', 'Biotech',
];
const INDUSTRIES = [
  'Software', 'Manufacturing', 'Financial Services', 'Healthcare', 'Logistics', 'Retail', 'Professional Services',
  'Telecommunications', 'Energy', 'Education',
];
const LEGAL_FORM: Record<string, string> = {
  'Europe/London': 'Ltd',
  'Europe/Berlin': 'GmbH',
  'Australia/Sydney': 'Pty Ltd',
};
const FIRST_NAMES = [
  'Avery', 'Blake', 'Camila', 'Dev', 'Elena', 'Farah', 'Gabriel', 'Hana', 'Ines', 'Jonas', 'Keiko', 'Liam', 'Maya', 'Nikhil',
  'Olivia', 'Priya', 'Quentin', 'Rosa', 'Samir', 'Tessa', 'Umar', 'Vera', 'Wes', 'Xin', 'Yara', 'Zane', 'Amara', 'Bruno',
  'Chloe', 'Dmitri', 'Esther', 'Felix', 'Greta', 'Hugo', 'Isla', 'Jamal', 'Kira', 'Lukas', 'Mei', 'Noah',
];
const LAST_NAMES = [
  'Abbott', 'Bergstrom', 'Castillo', 'Duarte', 'Eriksen', 'Fischer', 'Goldberg', 'Hayashi', 'Ivanova', 'Jensen', 'Kowalski',
  'Lindqvist', 'Moreau', 'Nakamura', 'Okafor', 'Petrov', 'Quinn', 'Rahman', 'Schneider', 'Tanaka', 'Ueda', 'Vasquez',
  'Whitfield', 'Xu', 'Yilmaz', 'Zimmermann', 'Achebe', 'Brennan', 'Carvalho', 'Dubois', 'Engel', 'Farouk', 'Gallagher',
  'Holm', 'Iqbal', 'Joshi', 'Keller', 'Larsen', 'Mbeki', 'Novak',
];
/** Titles per role, each with the seniority it implies. */
const TITLES: Record<CommitteeRole, ReadonlyArray<readonly [Seniority, string]>> = {
  economic_buyer: [
    ['c_level', 'Chief Marketing Officer'], ['c_level', 'Chief Revenue Officer'], ['c_level', 'Chief Financial Officer'],
    ['vp', 'VP Marketing'], ['vp', 'VP Revenue Operations'], ['vp', 'VP Finance'],
  ],
  champion: [
    ['director', 'Director of Marketing Operations'], ['director', 'Director of Demand Generation'],
    ['manager', 'Revenue Operations Manager'], ['manager', 'ABM Program Manager'], ['vp', 'VP Growth'],
  ],
  technical_evaluator: [
    ['director', 'Director of IT'], ['director', 'Head of Data Engineering'], ['manager', 'Marketing Technology Manager'],
    ['individual', 'Solutions Architect'], ['individual', 'Salesforce Administrator'], ['individual', 'Data Engineer'],
  ],
  end_user: [
    ['manager', 'Demand Generation Manager'], ['manager', 'SDR Team Lead'], ['individual', 'Marketing Operations Specialist'],
    ['individual', 'Campaign Manager'], ['individual', 'Account Executive'], ['individual', 'Content Marketer'],
  ],
  blocker: [['manager', 'Procurement Manager']],
  influencer: [
    ['vp', 'VP Sales'], ['vp', 'VP Customer Success'], ['director', 'Director of Sales Operations'],
    ['director', 'Head of Brand'], ['manager', 'Product Marketing Manager'],
  ],
};
/** Blocker titles follow the concern they carry (procurement / security / legal). */
const BLOCKER_TITLES: Record<string, ReadonlyArray<readonly [Seniority, string]>> = {
  security: [['c_level', 'Chief Information Security Officer'], ['director', 'Director of Information Security'], ['individual', 'Security Architect']],
  pricing: [['director', 'Head of Procurement'], ['manager', 'Procurement Manager'], ['manager', 'Strategic Sourcing Manager']],
  data_privacy: [['director', 'General Counsel'], ['manager', 'Data Protection Officer'], ['individual', 'Legal Counsel']],
  implementation_risk: [['director', 'Director of IT Risk'], ['manager', 'IT Governance Manager']],
};
/** Roles that fill a committee after the fixed seats (economic buyer, champion, blocker, evaluator). */
const FILL_ROLES: Readonly<Record<'technical_evaluator' | 'end_user' | 'influencer', number>> = {
  technical_evaluator: 0.3,
  end_user: 0.4,
  influencer: 0.3,
};
const slug = (s: string): string => s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');

/** A generated book: accounts (acc-0001...) and their committee members (stk-0001-01...), hidden state included. */
export interface GeneratedBook {
  readonly accounts: SimAccount[];
  readonly stakeholders: SimStakeholder[];
}

/** An account of the simulated world as it starts: its profile and the hidden state drawn for it. */
function startingAccount(a: Pick<SimAccount, 'id' | 'name' | 'domain' | 'tier' | 'industry' | 'employees' | 'timeZone' | 'stakeholderIds' | 'stage' | 'inMarket' | 'consensus' | 'veto'>): SimAccount {
  return {
    ...a,
    publicStage: a.stage,
    startStage: a.stage,
    derisked: false,
    momentum: 0,
    handoffTick: -1,
    handoffActionId: null,
    salesAccepted: false,
    progressions: 0,
    stageReports: [],
  };
}

/** A person's interest as they start: the scenario's range, raised in market and for a champion, lowered for a blocker. */
function startingInterest(b: Scenario['book'], u: number, inMarket: boolean, role: CommitteeRole): number {
  let interest = lerp(b.interest.range.min, b.interest.range.max, u);
  if (inMarket) interest += b.interest.inMarketBonus;
  if (role === 'champion') interest += b.interest.championBonus;
  if (role === 'blocker') interest -= b.interest.blockerPenalty;
  return clamp01(interest);
}

/** Generates `count` accounts and their buying committees from a seed and the scenario's book parameters. */
export const generateBook = (seed: string, count: number, scenario: Scenario): GeneratedBook => {
  const b = scenario.book;
  const width = Math.max(4, String(count).length);
  const usedNames = new Map<string, number>();
  const accounts: SimAccount[] = [];
  const stakeholders: SimStakeholder[] = [];

  for (let n = 1; n <= count; n += 1) {
    const id = `acc-${String(n).padStart(width, '0')}`;
    const [uTier, uIndustry, uEmployees, uZone, uMarket, uStage, uChampion, uBlocker, uPassive, uPrefix, uSuffix, uSize, uConsensus, uConcern] =
      draws(14, seed, 'account', id) as [number, number, number, number, number, number, number, number, number, number, number, number, number, number];
    const tier = (uTier < b.tierShares[0] ? 1 : uTier < b.tierShares[0] + b.tierShares[1] ? 2 : 3) as Tier;
    const employeeRange = b.employeesByTier[tier - 1] ?? { min: 100, max: 1000 };
    // Log-uniform: company sizes are heavy-tailed.
    const employees = Math.round(employeeRange.min * Math.pow(employeeRange.max / employeeRange.min, uEmployees));
    const timeZone = pickWeighted(b.timeZones, uZone);
    const inMarket = uMarket < b.inMarketShare;
    const stage: Stage = inMarket ? pickWeighted(b.initialStage.inMarket, uStage) : pickWeighted(b.initialStage.outOfMarket, uStage);
    const baseName = `${pick(COMPANY_PREFIXES, uPrefix)} ${pick(COMPANY_SUFFIXES, uSuffix)}`;
    const seen = (usedNames.get(baseName) ?? 0) + 1;
    usedNames.set(baseName, seen);
    const uniqueName = seen === 1 ? baseName : `${baseName} ${seen}`;
    const legal = LEGAL_FORM[timeZone] ?? 'Inc';
    const domain = `${slug(uniqueName)}.example`; // RFC 2606: .example can never be a real company's domain
    const hasChampion = uChampion < b.championPresence;
    const activeBlocker = uBlocker < b.activeBlockerShare;
    const hasBlocker = activeBlocker || uPassive < b.passiveBlockerPresence;
    const size = intBetween(b.committeeSize.min, b.committeeSize.max, uSize);
    const concern = pick(scenario.objections.concerns, uConcern);

    const seats: CommitteeRole[] = ['economic_buyer'];
    if (hasChampion) seats.push('champion');
    if (hasBlocker) seats.push('blocker');
    seats.push('technical_evaluator');
    const stakeholderIds: string[] = [];
    const usedEmails = new Set<string>();
    for (let j = 0; j < Math.max(size, seats.length); j += 1) {
      const sid = `${id.replace('acc-', 'stk-')}-${String(j + 1).padStart(2, '0')}`;
      // Eight uniforms cost one sha256 like seven did: the eighth (known to the CRM) shifts nothing.
      const [uFirst, uLast, uTitle, uConsent, uInterest, uTrust, uFill, uKnown] = draws(8, seed, 'stakeholder', sid) as [
        number, number, number, number, number, number, number, number,
      ];
      const role: CommitteeRole = seats[j] ?? pickWeighted(FILL_ROLES, uFill);
      const titles = role === 'blocker' ? (BLOCKER_TITLES[concern] ?? TITLES.blocker) : TITLES[role];
      const [seniority, title] = pick(titles, uTitle);
      const first = pick(FIRST_NAMES, uFirst);
      const last = pick(LAST_NAMES, uLast);
      let local = `${first}.${last}`.toLowerCase();
      for (let k = 2; usedEmails.has(local); k += 1) local = `${first}.${last}${k}`.toLowerCase();
      usedEmails.add(local);
      const interest = startingInterest(b, uInterest, inMarket, role);
      stakeholders.push({
        id: sid,
        accountId: id,
        name: `${first} ${last}`,
        email: `${local}@${domain}`,
        title,
        role,
        seniority,
        timeZone,
        consent: pickWeighted(b.consent, uConsent),
        doNotContact: false,
        interest,
        interestBase: interest,
        trust: lerp(b.trust.min, b.trust.max, uTrust),
        engagedTick: -1,
        genericTouches: 0,
        concern: role === 'blocker' ? concern : null,
        activeBlocker: role === 'blocker' && activeBlocker,
        openObjection: null,
        known: uKnown < b.knownContactShare,
        sdrTouches: 0,
      });
      stakeholderIds.push(sid);
    }
    accounts.push(
      startingAccount({
        id,
        name: `${uniqueName} ${legal}`,
        domain,
        tier,
        industry: pick(INDUSTRIES, uIndustry),
        employees,
        timeZone,
        stakeholderIds,
        stage,
        inMarket,
        consensus: lerp(b.consensus.min, b.consensus.max, uConsensus),
        veto: activeBlocker,
      }),
    );
  }
  return { accounts, stakeholders };
};

/**
 * A team's own book (an imported CRM export) with hidden state drawn for it from the scenario, so
 * the agents can be run on *their* accounts and committees before anything is sent. What the CRM
 * knows is kept as it is (names, domains, tiers, stages, people, roles, titles, consent); what no
 * CRM knows is drawn per account and per person exactly as for a generated book (same keys, same
 * scenario parameters): whether the account is in market, its consensus, an active blocker and its
 * concern, each person's interest and trust. Every imported person is known to the CRM.
 */
/** A team's book as `amk import` stored it: account states and their people. */
export interface ImportedBook {
  readonly accounts: readonly AccountState[];
  readonly stakeholders: readonly Stakeholder[];
}

export const bookFromImport = (seed: string, scenario: Scenario, real: ImportedBook): GeneratedBook => {
  const b = scenario.book;
  const byAccount = new Map<string, Stakeholder[]>();
  for (const s of [...real.stakeholders].sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0))) byAccount.set(s.accountId, [...(byAccount.get(s.accountId) ?? []), s]);
  const accounts: SimAccount[] = [];
  const stakeholders: SimStakeholder[] = [];
  for (const account of [...real.accounts].sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0))) {
    const [, , , uZone, uMarket, , , uBlocker, , , , , uConsensus, uConcern] = draws(14, seed, 'account', account.id) as number[] as [
      number, number, number, number, number, number, number, number, number, number, number, number, number, number,
    ];
    const people = byAccount.get(account.id) ?? [];
    const inMarket = (uMarket as number) < b.inMarketShare;
    const activeBlocker = people.some((p) => p.role === 'blocker') && (uBlocker as number) < b.activeBlockerShare;
    const concern = pick(scenario.objections.concerns, uConcern as number);
    const timeZone = people.find((p) => p.timeZone !== 'UTC')?.timeZone ?? pickWeighted(b.timeZones, uZone as number);
    for (const p of people) {
      const [, , , , uInterest, uTrust] = draws(8, seed, 'stakeholder', p.id) as number[];
      const interest = startingInterest(b, uInterest as number, inMarket, p.role);
      stakeholders.push({
        id: p.id,
        accountId: account.id,
        name: p.name,
        email: p.email,
        title: p.title,
        role: p.role,
        seniority: p.seniority,
        timeZone: p.timeZone,
        consent: p.consent,
        doNotContact: p.doNotContact,
        interest,
        interestBase: interest,
        trust: lerp(b.trust.min, b.trust.max, uTrust as number),
        engagedTick: -1,
        genericTouches: 0,
        concern: p.role === 'blocker' ? concern : null,
        activeBlocker: p.role === 'blocker' && activeBlocker,
        openObjection: null,
        known: true,
        sdrTouches: 0,
      });
    }
    accounts.push(
      startingAccount({
        id: account.id,
        name: account.name,
        domain: account.domain,
        tier: account.tier,
        industry: account.industry,
        employees: account.employees,
        timeZone,
        stakeholderIds: people.map((p) => p.id),
        stage: account.stage,
        inMarket,
        consensus: lerp(b.consensus.min, b.consensus.max, uConsensus as number),
        veto: activeBlocker,
      }),
    );
  }
  return { accounts, stakeholders };
};
