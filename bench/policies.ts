/**
 * The policies the benchmark compares. Each turns what the CRM shows (observed accounts) into
 * plans; the episode runner governs them with the same guardrails and executes them through the
 * same market. Only the oracle reads hidden state.
 * - agent: the product's agents, through the coordinator the Plan step calls (planAccounts);
 * - baseline: what marketing automation does (simulator.md, "The automation baseline");
 * - random: uniform over the actions the agents' charters permit, to reachable people;
 * - oracle: reads the hidden committee and picks what truly moves it (the upper bound);
 * - none: does nothing (the untouched market, the counterfactual).
 */
import { ACTION_CATALOG } from '../shared/domain/catalog.ts';
import type { CampaignBundle, Charter, Guardrails } from '../shared/domain/config.ts';
import { nextSendTime } from '../shared/domain/governance.ts';
import type { ObservedAccount, OutcomeModel } from '../shared/domain/memory.ts';
import { stageRank, type Action, type ActionType, type CommitteeRole, type PipelineSignal, type Plan, type Seniority, type Stakeholder } from '../shared/domain/model.ts';
import { planAccounts } from '../shared/domain/orchestration.ts';
import { reachable } from '../shared/domain/planner.ts';
import { keyedRandom, stableId } from '../shared/domain/random.ts';
import type { Market } from '../local/simulator/market.ts';
import type { PolicyName } from './types.ts';

/** One week's planning turn, as a policy sees it. */
export interface Turn {
  readonly week: number;
  readonly runId: string;
  readonly now: string;
  readonly accounts: readonly ObservedAccount[];
  /** The agents' learned statistics as the run starts (the agent policy only reads them). */
  readonly models: ReadonlyMap<string, OutcomeModel>;
  /** What each agent committed in the month so far. */
  readonly monthSpent: Readonly<Record<string, number>>;
}

/** A policy under test. */
export interface Policy {
  readonly name: PolicyName;
  /** The charters its actions are governed under. */
  readonly charters: ReadonlyArray<{ charter: Charter; hash: string }>;
  plan(turn: Turn): Plan[];
  /** Told every signal of the week (the baseline scores leads from opens and clicks). */
  observe?(signals: readonly PipelineSignal[]): void;
  /** Told of every action that reached the world. */
  executed?(action: Action): void;
}

/** What the policies are built from. */
export interface PolicyConfig {
  readonly seed: string;
  /** The agents' campaign (its charters are the product's agents). */
  readonly campaign: CampaignBundle;
  /** The baseline's charter and the reference charter (oracle, random). */
  readonly automation: { charter: Charter; hash: string };
  readonly reference: { charter: Charter; hash: string };
  readonly guardrails: Guardrails;
}

const SENIORITY_RANK: Record<Seniority, number> = { c_level: 0, vp: 1, director: 2, manager: 3, individual: 4 };

const isOpen = (stage: ObservedAccount['state']['stage']): boolean => stageRank(stage) >= 0 && stage !== 'committed';

/** An action of a catalog type to one person, by a policy's charter (propensity: the policy's probability of it). */
function actionOf(x: { runId: string; accountId: string; accountName: string; agentId: string; type: ActionType; person: Stakeholder; role?: CommitteeRole; propensity: number; why: string }): Action {
  const spec = ACTION_CATALOG[x.type];
  const role = x.role ?? x.person.role;
  const subject = spec.subject?.(role, x.accountName);
  const topic = spec.topic(role);
  return {
    id: stableId(x.runId, x.accountId, x.agentId, x.type, x.person.id),
    runId: x.runId,
    accountId: x.accountId,
    agentId: x.agentId,
    type: x.type,
    tool: spec.tool,
    channel: spec.channel,
    stakeholderIds: [x.person.id],
    content: subject === undefined ? { topic } : { topic, subject },
    costUsd: spec.costUsd,
    rationale: x.why,
    expectedValue: 0,
    confidence: 1,
    subGoal: spec.subGoals[0] ?? 'educate_role',
    propensity: x.propensity,
  };
}

/** Sends at the person's next business hour when the clock is in their quiet hours (automation platforms send in the recipient's time zone too). */
function inBusinessHours(action: Action, people: readonly Stakeholder[], guardrails: Guardrails, now: string): Action {
  if (action.channel !== 'email' && action.channel !== 'sales') return action;
  const nowMs = Date.parse(now);
  const at = nextSendTime(nowMs, people, guardrails);
  return at !== undefined && at > nowMs ? { ...action, notBefore: new Date(at).toISOString() } : action;
}

/** The product's agents: every agent proposes, the account's coordinator merges (the Plan step's very code). */
export function agentPolicy(config: PolicyConfig): Policy {
  const { campaign } = config;
  const active = campaign.charters.filter((c) => c.charter.status !== 'paused');
  return {
    name: 'agent',
    charters: active,
    plan: (turn) =>
      planAccounts({
        accounts: turn.accounts,
        campaign: campaign.campaign,
        guardrails: campaign.guardrails,
        agents: active.map(({ charter, hash }) => ({ charter, hash, model: turn.models.get(charter.id) ?? { agentId: charter.id, arms: {}, version: 0 } })),
        runId: turn.runId,
        now: turn.now,
        seed: config.seed,
        monthSpent: turn.monthSpent,
        ...(campaign.content ? { content: campaign.content } : {}),
      }),
  };
}

/** Nothing at all: the market as it moves on its own. */
export const nonePolicy = (): Policy => ({ name: 'none', charters: [], plan: () => [] });

/** Lead-score points per open and click, the MQL threshold and the weekly decay (typical automation defaults; assumed). */
export const LEAD_SCORING = { open: 1, click: 5, mql: 12, weeklyDecay: 0.9 } as const;
/** Steps of the SDR sequence, one a week (emails, with calls on the even steps). */
export const SDR_STEPS = 5;
/** Weeks between event invitations, and between ad audience refreshes of an account. */
const EVENT_EVERY_WEEKS = 4;
const ADS_EVERY_WEEKS = 13;

/** What the baseline counts for calibration: MQLs and the SQLs among them. */
export interface BaselineFunnel {
  readonly mqls: number;
  readonly sqls: number;
}

/**
 * Marketing automation: weekly nurture to every known contact; an ad audience over all accounts;
 * a lead score from opens and clicks that makes an MQL and starts a fixed 5-step SDR sequence (a
 * reply or a meeting during it is an SQL, handed to sales); monthly event invitations; executive
 * contact only once an opportunity exists (evaluating); no role targeting.
 */
export function baselinePolicy(config: PolicyConfig): Policy & { funnel(): BaselineFunnel } {
  const { charter } = config.automation;
  const agentId = charter.id;
  const score = new Map<string, number>();
  /** Contacts in the sequence: the step they are at (1..SDR_STEPS), and whether they qualified. */
  const sequence = new Map<string, { step: number; sql: boolean; handedOff: boolean }>();
  const executiveContacted = new Set<string>();
  let mqls = 0;
  let sqls = 0;
  return {
    name: 'baseline',
    charters: [config.automation],
    funnel: () => ({ mqls, sqls }),
    observe(signals) {
      for (const [id, v] of score) score.set(id, v * LEAD_SCORING.weeklyDecay);
      for (const s of signals) {
        if (s.stakeholderId === undefined) continue;
        const points = s.kind === 'open' ? LEAD_SCORING.open : s.kind === 'click' ? LEAD_SCORING.click : 0;
        if (points > 0) score.set(s.stakeholderId, (score.get(s.stakeholderId) ?? 0) + points);
        const seq = sequence.get(s.stakeholderId);
        if (seq !== undefined && !seq.sql && (s.kind === 'reply' || s.kind === 'meeting_booked')) {
          seq.sql = true;
          sqls += 1;
        }
      }
    },
    plan(turn) {
      const plans: Plan[] = [];
      for (const [index, observed] of turn.accounts.entries()) {
        const { state, stakeholders } = observed;
        if (!isOpen(state.stage)) continue;
        const actions: Action[] = [];
        const add = (type: ActionType, person: Stakeholder, why: string): void => {
          const a = actionOf({ runId: turn.runId, accountId: state.id, accountName: state.name, agentId, type, person, propensity: 1, why });
          actions.push(inBusinessHours(a, [person], config.guardrails, turn.now));
        };
        const known = stakeholders.filter(reachable);
        for (const person of known) {
          // MQL: the lead score crossed the threshold; the sequence starts.
          if (!sequence.has(person.id) && (score.get(person.id) ?? 0) >= LEAD_SCORING.mql) {
            sequence.set(person.id, { step: 0, sql: false, handedOff: false });
            mqls += 1;
          }
          const seq = sequence.get(person.id);
          if (seq !== undefined && seq.sql && !seq.handedOff) {
            seq.handedOff = true;
            add('sales_handoff', person, 'SQL: replied during the SDR sequence; hand to sales.');
          } else if (seq !== undefined && !seq.sql && seq.step < SDR_STEPS) {
            seq.step += 1;
            // The usual cadence: emails, with a call on the second and fourth step.
            add(seq.step % 2 === 0 ? 'sdr_call' : 'sdr_email', person, `MQL: SDR sequence step ${seq.step} of ${SDR_STEPS}.`);
          } else if (turn.week % EVENT_EVERY_WEEKS === 0) {
            add('event_invite', person, 'Monthly event invitation to every contact.');
          } else {
            add('nurture_email', person, 'Weekly nurture to every contact.');
          }
        }
        // Executive contact only once an opportunity exists.
        if (stageRank(state.stage) >= stageRank('evaluating') && !executiveContacted.has(state.id)) {
          const exec = [...known].sort((a, b) => SENIORITY_RANK[a.seniority] - SENIORITY_RANK[b.seniority] || (a.id < b.id ? -1 : 1))[0];
          if (exec !== undefined) {
            executiveContacted.add(state.id);
            add('executive_briefing', exec, 'Opportunity open: executive contact.');
          }
        }
        // The ad audience over all accounts, refreshed a slice of the book each week.
        const first = known[0];
        if (first !== undefined && index % ADS_EVERY_WEEKS === turn.week % ADS_EVERY_WEEKS) add('ad_audience_add', first, 'Ad audience over all accounts.');
        plans.push({ accountId: state.id, agentId, subGoals: [], actions });
      }
      return plans;
    },
  };
}

/** Actions the random policy takes per account and week (about what the agents take). */
const RANDOM_ACTIONS_PER_ACCOUNT = 2;

/** Uniform over permitted actions: any type the reference charter allows that suits the person, to anyone reachable. */
export function randomPolicy(config: PolicyConfig): Policy {
  const { charter } = config.reference;
  const types = charter.allowedActions.filter((t) => charter.allowedTools.includes(ACTION_CATALOG[t].tool));
  return {
    name: 'random',
    charters: [config.reference],
    plan(turn) {
      const plans: Plan[] = [];
      for (const observed of turn.accounts) {
        const { state, stakeholders } = observed;
        if (!isOpen(state.stage)) continue;
        let options = stakeholders
          .filter(reachable)
          .flatMap((person) => types.filter((t) => ACTION_CATALOG[t].suits.includes(person.role)).map((type) => ({ type, person })));
        const actions: Action[] = [];
        for (let k = 0; k < RANDOM_ACTIONS_PER_ACCOUNT && options.length > 0; k += 1) {
          const i = Math.floor(keyedRandom(config.seed, 'random-policy', turn.runId, state.id, k) * options.length);
          const { type, person } = options[i] as (typeof options)[number];
          const a = actionOf({ runId: turn.runId, accountId: state.id, accountName: state.name, agentId: charter.id, type, person, propensity: 1 / options.length, why: 'Random permitted action.' });
          actions.push(inBusinessHours(a, [person], config.guardrails, turn.now));
          options = options.filter((o) => o.person.id !== person.id);
        }
        plans.push({ accountId: state.id, agentId: charter.id, subGoals: [], actions });
      }
      return plans;
    },
  };
}

/** Actions the oracle takes per account and week. */
const ORACLE_ACTIONS_PER_ACCOUNT = 3;

/**
 * Reads the hidden committee: works accounts in market first, lifts vetoes with de-risking moves,
 * hands off when the committee truly is aligned, and otherwise engages the roles that have not
 * engaged with the action truly most relevant to them, picking people by hidden interest and trust.
 */
export function oraclePolicy(config: PolicyConfig, market: Market): Policy {
  const { charter } = config.reference;
  const types = charter.allowedActions.filter((t) => charter.allowedTools.includes(ACTION_CATALOG[t].tool));
  const scenario = market.scenarioOf();
  return {
    name: 'oracle',
    charters: [config.reference],
    plan(turn) {
      const plans: Plan[] = [];
      for (const observed of turn.accounts) {
        const { state, stakeholders } = observed;
        const truth = market.hidden(state.id);
        if (truth === undefined || !isOpen(truth.stage)) continue;
        // Out of market and unaware: nothing we do moves it much; spend the touches elsewhere.
        if (!truth.inMarket && truth.stage === 'unaware') continue;
        const hiddenOf = new Map(truth.members.map((m) => [m.id, m]));
        const people = stakeholders.filter(reachable).filter((s) => hiddenOf.has(s.id));
        const actions: Action[] = [];
        const used = new Set<string>();
        const add = (type: ActionType, person: Stakeholder, why: string): void => {
          if (used.has(person.id) || actions.length >= ORACLE_ACTIONS_PER_ACCOUNT || !types.includes(type)) return;
          used.add(person.id);
          const a = actionOf({ runId: turn.runId, accountId: state.id, accountName: state.name, agentId: charter.id, type, person, propensity: 1, why });
          actions.push(inBusinessHours(a, [person], config.guardrails, turn.now));
        };
        const blocker = people.find((p) => hiddenOf.get(p.id)?.activeBlocker === true);
        if (blocker !== undefined && (truth.veto || hiddenOf.get(blocker.id)?.openObjection != null)) {
          add(hiddenOf.get(blocker.id)?.openObjection != null ? 'objection_response' : 'reference_call_offer', blocker, 'Oracle: lift the veto.');
        }
        const champion = people.find((p) => p.role === 'champion') ?? people.find((p) => p.role === 'economic_buyer');
        if (truth.stage === 'evaluating' && !truth.salesAccepted && truth.consensus >= scenario.progression.handoff.consensusThreshold && champion !== undefined) {
          add('sales_handoff', champion, 'Oracle: the committee is aligned.');
        }
        // Engage the roles that have not engaged, most interested and trusting first, with the truly best action.
        const candidates = people
          .filter((p) => hiddenOf.get(p.id)?.engaged !== true)
          .map((p) => {
            const h = hiddenOf.get(p.id);
            let best: ActionType | undefined;
            let bestRel = -1;
            for (const t of types) {
              if (!ACTION_CATALOG[t].suits.includes(p.role) || t === 'sales_handoff' || t === 'ad_audience_add') continue;
              const rel = market.relevanceOf(t, p.role, ACTION_CATALOG[t].topic(p.role)) - ACTION_CATALOG[t].costUsd / 2000;
              if (rel > bestRel) {
                bestRel = rel;
                best = t;
              }
            }
            return { p, best, value: bestRel * (0.5 + (h?.interest ?? 0)) * (0.5 + (h?.trust ?? 0)) };
          })
          .filter((c) => c.best !== undefined)
          .sort((a, b) => b.value - a.value || (a.p.id < b.p.id ? -1 : 1));
        const seenRoles = new Set<CommitteeRole>();
        for (const c of candidates) {
          if (seenRoles.has(c.p.role)) continue;
          seenRoles.add(c.p.role);
          add(c.best as ActionType, c.p, 'Oracle: the action truly most relevant to an unengaged role.');
        }
        plans.push({ accountId: state.id, agentId: charter.id, subGoals: [], actions });
      }
      return plans;
    },
  };
}
