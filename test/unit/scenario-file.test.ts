/**
 * Scenario files: the shipped YAML files load, the default one holds exactly the numbers the
 * simulator used to hard-code, every parameter carries its source or "assumed", and a broken file
 * is refused with a message naming the file, the field, the value and what was expected.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, visit } from 'yaml';
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../shared/domain/errors.ts';
import { deepMerge } from '../../local/simulator/scenario-file.ts';
import { defaultScenario, loadScenarioFile, Scenario, SCENARIO_DIR, SCENARIO_FILES, SCENARIOS, scenarioByName } from '../../local/simulator/scenario.ts';

/** The default scenario as local/simulator/scenario.ts hard-coded it before it moved to scenarios/default.yaml. */
const HARD_CODED_DEFAULT = {
  name: 'default',
  book: {
    committeeSize: { min: 4, max: 12 },
    tierShares: [0.15, 0.35, 0.5],
    employeesByTier: [
      { min: 2000, max: 20000 },
      { min: 500, max: 5000 },
      { min: 100, max: 1000 },
    ],
    timeZones: {
      'America/New_York': 0.45,
      'Europe/London': 0.2,
      'Europe/Berlin': 0.18,
      'Australia/Sydney': 0.1,
      'America/Chicago': 0.04,
      'America/Los_Angeles': 0.03,
    },
    inMarketShare: 0.1,
    championPresence: 0.7,
    activeBlockerShare: 0.3,
    passiveBlockerPresence: 0.5,
    consent: { opted_in: 0.82, unknown: 0.15, opted_out: 0.03 },
    initialStage: {
      inMarket: { problem_aware: 0.55, solution_aware: 0.45 },
      outOfMarket: { unaware: 0.6, problem_aware: 0.35, solution_aware: 0.05 },
    },
    interest: { range: { min: 0.05, max: 0.35 }, inMarketBonus: 0.25, championBonus: 0.15, blockerPenalty: 0.05 },
    trust: { min: 0.4, max: 0.6 },
    consensus: { min: 0.05, max: 0.3 },
  },
  responses: {
    open: 0.22,
    click: 0.025,
    reply: { generic: 0.01, targeted: 0.03 },
    meetingGivenReply: 0.23,
    contentGivenClick: 0.6,
    unsubscribe: 0.0025,
    relevanceCurvature: 0.3,
    genericRelevance: 0.1,
    genericReplyDecay: 0.85,
    genericReplyFloor: 0.3,
    salesReplyMultiplier: 3,
    salesMeetingGivenReply: 0.5,
    adWebVisit: 0.02,
    webContent: 0.03,
  },
  relevance: {
    nurture_email: { economic_buyer: 0.1, champion: 0.1, technical_evaluator: 0.1, end_user: 0.1, blocker: 0.1, influencer: 0.1 },
    role_content: { economic_buyer: 0.7, champion: 0.75, technical_evaluator: 0.75, end_user: 0.7, blocker: 0.6, influencer: 0.65 },
    objection_response: { economic_buyer: 0.4, champion: 0.4, technical_evaluator: 0.6, end_user: 0.25, blocker: 0.85, influencer: 0.3 },
    executive_briefing: { economic_buyer: 0.9, champion: 0.5, technical_evaluator: 0.3, end_user: 0.15, blocker: 0.3, influencer: 0.45 },
    reference_call_offer: { economic_buyer: 0.7, champion: 0.6, technical_evaluator: 0.6, end_user: 0.3, blocker: 0.8, influencer: 0.4 },
    sales_handoff: { economic_buyer: 0.7, champion: 0.75, technical_evaluator: 0.5, end_user: 0.35, blocker: 0.3, influencer: 0.5 },
    ad_audience_add: { economic_buyer: 0.1, champion: 0.1, technical_evaluator: 0.1, end_user: 0.1, blocker: 0.1, influencer: 0.1 },
    event_invite: { economic_buyer: 0.15, champion: 0.2, technical_evaluator: 0.15, end_user: 0.2, blocker: 0.1, influencer: 0.25 },
    sdr_email: { economic_buyer: 0.15, champion: 0.2, technical_evaluator: 0.15, end_user: 0.15, blocker: 0.1, influencer: 0.15 },
    sdr_call: { economic_buyer: 0.3, champion: 0.3, technical_evaluator: 0.3, end_user: 0.3, blocker: 0.2, influencer: 0.3 },
  },
  roleTopics: {
    economic_buyer: ['economic buyer', 'economic_buyer', 'business case', 'return on investment', 'roi', 'budget', 'executive'],
    champion: ['champion', 'internal case', 'case for change', 'rollout', 'playbook'],
    technical_evaluator: ['technical evaluator', 'technical_evaluator', 'architecture', 'integration', 'api', 'implementation'],
    end_user: ['end user', 'end_user', 'workflow', 'productivity', 'day-to-day', 'how-to'],
    blocker: ['blocker', 'security', 'compliance', 'privacy', 'legal', 'procurement', 'pricing', 'risk'],
    influencer: ['influencer', 'industry trends', 'peer practices', 'benchmark', 'trend report'],
  },
  topicMatchBonus: 0.15,
  fatigue: {
    touchesPerWeek: 2,
    unsubscribePerExcessTouch: 1.5,
    responsePenaltyPerExcessTouch: 0.5,
    trustLossPerExcessTouch: 0.03,
    genericTolerance: 4,
    trustLossPerGenericTouch: 0.005,
    unsubscribePerGenericTouch: 0.1,
  },
  hidden: {
    interestGainOnEngagement: 0.15,
    interestGainOnExposure: 0.01,
    interestReversion: 0.05,
    trustGainOnRelevant: 0.01,
    trustGainOnEngagement: 0.03,
    engagementWindowWeeks: 13,
  },
  objections: {
    concerns: ['security', 'pricing', 'data_privacy', 'implementation_risk'],
    raiseOnTouchActive: 0.25,
    raiseOnTouchPassive: 0.02,
    raiseOrganicActive: 0.15,
    resolveByObjectionResponse: 0.4,
    resolveByReferenceCall: 0.5,
    preemptiveDerisk: 0.25,
  },
  market: {
    enterPerWeek: 0.004,
    exitPerWeek: 0.04,
    intentSurgeInMarket: 0.3,
    intentSurgeOutOfMarket: 0.01,
    webVisitInMarket: 0.5,
    webVisitOutOfMarket: 0.05,
    knownVisitorShare: 0.3,
    categoryTopic: 'account-based marketing automation',
  },
  progression: {
    baseHazard: { unaware: 0.004, problem_aware: 0.003, solution_aware: 0.002, evaluating: 0.004 },
    inMarketMultiplier: { unaware: 6, problem_aware: 6, solution_aware: 5, evaluating: 2 },
    momentumLift: { unaware: 1.6, problem_aware: 1.3, solution_aware: 1.1, evaluating: 0.8 },
    momentumHalfSaturation: 0.4,
    momentumDecay: 0.6,
    // Changed on purpose since: relevance is no longer counted twice (0.25 -> 1).
    momentumPerEngagement: { reply: 1, content_consumed: 0.6, meeting_booked: 2, relevanceFloor: 1 },
    multiThreading: { max: 2.5, fullAtRoles: 4, exponent: { unaware: 0, problem_aware: 0.5, solution_aware: 1, evaluating: 1 } },
    economicBuyerAbsent: { unaware: 1, problem_aware: 1, solution_aware: 0.5, evaluating: 0.3 },
    veto: { unaware: 1, problem_aware: 1, solution_aware: 0.7, evaluating: 0.25 },
    openObjection: 0.6,
    committeeSizeElasticity: 0.54,
    referenceCommitteeSize: 8,
    noDecisionPerWeek: 0.035, // calibrated since (was 0.05)
    closedLostPerWeek: 0.025,
    vetoNoDecisionFactor: 1.5,
    deriskedNoDecisionFactor: 0.6,
    consensus: { base: 0.1, perEngagedRole: 0.12, economicBuyerEngaged: 0.15, championEngaged: 0.1, perOpenObjection: -0.25, veto: -0.15, adjustment: 0.5 },
    handoff: { consensusThreshold: 0.55, commitPerWeek: 0.08, prematureTrustLoss: 0.02 },
  },
};

/** The default's values for the parameters added with the new mechanics: all off, except the SDR model (sdr_email had none). */
const NEW_IN_DEFAULT = {
  book: { knownContactShare: 1 },
  responses: { fakeOpenShare: 0, sdr: { reply: 0.012, decay: 0.64, unsubscribe: 0.007, unsubscribeGrowth: 1.3, meetingGivenReply: 0.23 } },
  proxies: {},
  blockers: { angerOnChampionOnly: 0, angerTrustLoss: 0.05 },
  progression: { crmDelayWeeks: 0 },
  effects: { mode: 'modelled', uniformAdvancePerTouch: 0 },
};

const scratch = mkdtempSync(join(tmpdir(), 'amk-scenario-'));
let files = 0;
/** Writes a scenario file into a scratch folder and returns its path. */
const file = (text: string, name = `s${(files += 1)}.yaml`): string => {
  const path = join(scratch, name);
  writeFileSync(path, text);
  return path;
};
const DEFAULT_FILE = join(SCENARIO_DIR, 'default.yaml');
const variant = (body: string): string => file(`extends: ${JSON.stringify(DEFAULT_FILE)}\nname: variant\ndescription: a test variant\n${body}`);
const problem = (path: string): string => {
  try {
    loadScenarioFile(path);
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidInputError);
    return (e as Error).message;
  }
  throw new Error(`${path} loaded, expected it to be refused`);
};


const SOURCED = /assumed|simulator\.md|Gartner|CEB|Forrester|JOLT|6sense|95:5/i;

/**
 * Every leaf parameter of a scenario file (a scalar, or a one-line flow mapping or list, as a
 * mapping value or a block list item), and the ones with no comment naming a source or "assumed"
 * on their line or in the comment lines right above. name, description and extends are not parameters.
 */
const sourceCheck = (text: string): { checked: number; unsourced: string[] } => {
  const lines = text.split('\n');
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter });
  const unsourced: string[] = [];
  let checked = 0;
  const isLeaf = (node: unknown): boolean => isScalar(node) || ((isMap(node) || isSeq(node)) && node.flow === true);
  const check = (start: number, valueEnd: number, what: string): void => {
    checked += 1;
    const { line } = lineCounter.linePos(start);
    const end = lineCounter.linePos(valueEnd);
    const trailing = (lines[end.line - 1] ?? '').slice(end.col - 1);
    const above: string[] = [];
    for (let i = line - 2; i >= 0 && /^\s*#/.test(lines[i] ?? ''); i -= 1) above.push(lines[i] ?? '');
    if (!SOURCED.test(`${trailing.includes('#') ? trailing : ''} ${above.join(' ')}`)) unsourced.push(`${line}: ${what}`);
  };
  visit(doc, {
    Pair(_, pair, ancestors) {
      const key = isScalar(pair.key) ? String(pair.key.value) : '?';
      if (ancestors.length === 2 && ['name', 'description', 'extends'].includes(key)) return visit.SKIP;
      // Inside a one-line flow collection: the collection's line was checked as one parameter.
      if (ancestors.some((a) => (isMap(a) || isSeq(a)) && a.flow === true)) return visit.SKIP;
      const value = pair.value;
      if (isLeaf(value) && isScalar(pair.key) && pair.key.range && (value as { range?: [number, number, number] }).range) {
        check(pair.key.range[0], (value as { range: [number, number, number] }).range[1], key);
        return visit.SKIP;
      }
      return undefined;
    },
    Seq(_, seq) {
      if (seq.flow === true) return visit.SKIP;
      for (const item of seq.items) {
        const range = (item as { range?: [number, number, number] } | null)?.range;
        if (isLeaf(item) && range) check(range[0], range[1], 'list item');
      }
      return undefined;
    },
  });
  return { checked, unsourced };
};

describe('the shipped scenario files', () => {
  it('are default, proxy-rich, strong-blocker, cold-data and null-control, each named after its file', () => {
    expect(Object.keys(SCENARIO_FILES).sort()).toEqual(['cold-data', 'default', 'null-control', 'proxy-rich', 'strong-blocker']);
    for (const [name, path] of Object.entries(SCENARIO_FILES)) {
      expect(basename(path)).toBe(`${name}.yaml`);
      expect(SCENARIOS[name]?.name).toBe(name);
      expect(scenarioByName(name)).toBe(SCENARIOS[name]);
      expect(SCENARIOS[name]?.description.length).toBeGreaterThan(40);
    }
    expect(scenarioByName('default')).toBe(defaultScenario);
    expect(() => scenarioByName('nope')).toThrow(/unknown scenario "nope"; known: cold-data, default/);
  });

  it('load the default scenario from scenarios/default.yaml with exactly the numbers that used to be hard-coded', () => {
    const expected = deepMerge({ ...HARD_CODED_DEFAULT, description: defaultScenario.description }, NEW_IN_DEFAULT);
    expect(defaultScenario).toEqual(expected);
    expect(Scenario.parse(expected)).toEqual(defaultScenario);
  });

  it('let variants list only what they change on top of the default', () => {
    const changed = (name: string): string[] => {
      const out: string[] = [];
      const walk = (a: unknown, b: unknown, path: string): void => {
        if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a)) {
          for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) walk((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], path ? `${path}.${k}` : k);
        } else if (JSON.stringify(a) !== JSON.stringify(b)) out.push(path);
      };
      walk(scenarioByName(name), defaultScenario, '');
      return out.filter((p) => p !== 'name' && p !== 'description').sort();
    };
    expect(changed('proxy-rich')).toEqual(['proxies.event_invite', 'proxies.nurture_email']);
    expect(changed('null-control')).toEqual(['effects.mode', 'effects.uniformAdvancePerTouch']);
    expect(changed('cold-data')).toEqual([
      'book.knownContactShare', 'market.intentSurgeInMarket', 'market.intentSurgeOutOfMarket', 'progression.crmDelayWeeks', 'responses.fakeOpenShare',
    ]);
    expect(changed('strong-blocker')).toContain('blockers.angerOnChampionOnly');
    expect(scenarioByName('strong-blocker').book.committeeSize).toEqual({ min: 8, max: 20 });
    // Deep merge: a variant that sets one key of a mapping keeps the default's other keys.
    expect(scenarioByName('strong-blocker').book.interest).toEqual({ ...defaultScenario.book.interest, blockerPenalty: 0.15 });
  });

  it('carry a source or "assumed" in a comment on or right above every parameter line', () => {
    for (const path of Object.values(SCENARIO_FILES)) {
      const { checked, unsourced } = sourceCheck(readFileSync(path, 'utf8'));
      expect(unsourced.map((u) => `${basename(path)}:${u}`)).toEqual([]);
      expect(checked).toBeGreaterThan(basename(path) === 'default.yaml' ? 100 : 0);
    }
  });

  it('flags a parameter line whose comment names no source, so the check above can fail', () => {
    const text = readFileSync(DEFAULT_FILE, 'utf8');
    expect(text).toContain('topicMatchBonus: 0.15 # assumed\n');
    const stripped = text.replace('topicMatchBonus: 0.15 # assumed\n', 'topicMatchBonus: 0.15 # a nice round number\n');
    const line = stripped.split('\n').indexOf('topicMatchBonus: 0.15 # a nice round number') + 1;
    expect(sourceCheck(stripped).unsourced).toEqual([`${line}: topicMatchBonus`]);
  });
});

describe('loadScenarioFile', () => {
  it('names the file, the field path, the bad value and what was expected', () => {
    const path = variant('progression:\n  baseHazard: { unaware: -1 }\n');
    expect(problem(path)).toBe(`${path}: progression.baseHazard.unaware: expected a number >= 0, got -1`);
  });

  it('refuses unknown keys as typos, listing the keys allowed there', () => {
    const message = problem(variant('book:\n  comitteeSize: { min: 4, max: 8 }\n'));
    expect(message).toMatch(/: book\.comitteeSize: unknown key \(expected one of: committeeSize, tierShares,/);
    expect(problem(variant('proxies:\n  nurture_mail: { openMultiplier: 2, clickMultiplier: 2, trustLossPerTouch: 0 }\n'))).toMatch(
      /proxies\.nurture_mail: unknown key \(expected one of: nurture_email, role_content,/,
    );
    expect(problem(variant('colour: blue\n'))).toMatch(/: colour: unknown key/);
  });

  it('reports wrong types, enum values, integers, ranges and missing fields in the same words', () => {
    const message = problem(
      variant(
        [
          'effects: { mode: random }',
          'progression: { crmDelayWeeks: 1.5 }',
          'book: { trust: { min: 0.9, max: 0.1 } }',
          'proxies: { event_invite: { openMultiplier: 2 } }',
          'responses: { open: "lots" }',
        ].join('\n'),
      ),
    );
    expect(message).toContain('effects.mode: expected one of "modelled", "uniform", got "random"');
    expect(message).toContain('progression.crmDelayWeeks: expected an integer, got 1.5');
    expect(message).toContain('book.trust: expected min <= max, got {"min":0.9,"max":0.1}');
    expect(message).toContain('proxies.event_invite.clickMultiplier: expected a number, got nothing (the field is missing)');
    expect(message).toContain('responses.open: expected a number, got "lots"');
  });

  it('reports YAML syntax errors with the line and column', () => {
    const path = file('name: x\ndescription: y\nbook: { committeeSize: [1, 2 }\n');
    expect(problem(path)).toMatch(new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3:\\d+: YAML syntax error: `));
    expect(problem(file('name: a\nname: b\n'))).toMatch(/:2:1: YAML syntax error: Map keys must be unique/);
  });

  it('names a missing extends target, the path it looked at, and refuses cycles', () => {
    const path = file('extends: nowhere.yaml\nname: x\n');
    expect(problem(path)).toBe(`${path}: extends: cannot find "nowhere.yaml" (looked for ${join(scratch, 'nowhere.yaml')})`);
    file('extends: loop-b.yaml\n', 'loop-a.yaml');
    file('extends: loop-a.yaml\n', 'loop-b.yaml');
    expect(problem(join(scratch, 'loop-a.yaml'))).toMatch(/extends: loop-a\.yaml makes a cycle/);
    expect(problem(join(scratch, 'absent.yaml'))).toMatch(/absent\.yaml: cannot read the file \(ENOENT\)/);
  });

  it('resolves extends relative to the file, merges mappings deeply and replaces lists', () => {
    file(readFileSync(DEFAULT_FILE, 'utf8'), 'base.yaml');
    const child = file(
      'extends: base.yaml\nname: child\ndescription: d\nbook: { committeeSize: { max: 6 } }\nobjections: { concerns: [pricing] }\n',
      'child.yaml',
    );
    const s = loadScenarioFile(child);
    expect(s.book.committeeSize).toEqual({ min: 4, max: 6 });
    expect(s.objections.concerns).toEqual(['pricing']);
    expect(s.book.inMarketShare).toBe(defaultScenario.book.inMarketShare);
    // A problem in the parent is reported against the parent.
    file(readFileSync(DEFAULT_FILE, 'utf8').replace('inMarketShare: 0.1', 'inMarketShare: 2'), 'bad-base.yaml');
    const orphan = file('extends: bad-base.yaml\nname: o\ndescription: d\n', 'orphan.yaml');
    expect(problem(orphan)).toBe(`${join(scratch, 'bad-base.yaml')}: book.inMarketShare: expected a number <= 1, got 2`);
  });
});
