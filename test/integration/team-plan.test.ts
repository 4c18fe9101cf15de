/**
 * What `npm start` shows of the agents as a team, through the real runtime (the synthesized state
 * machines on dynalite, the sample campaign and its two agents, the market): governance blocks are
 * the exception (at most 10% of proposals), and no two agents touch one stakeholder in one run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decisionsOfTurn } from '../../shared/domain/turn.ts';
import { resolve } from 'node:path';
import { runWeekWith, startTestRuntime } from './workflow-fixture.ts';

const WEEKS = 4;
const ACCOUNTS = 60;

describe('the sample campaign planned as one team per account', () => {
  let env: Awaited<ReturnType<typeof startTestRuntime>>;
  const weeks: Array<Awaited<ReturnType<typeof runWeekWith>>> = [];

  beforeAll(async () => {
    env = await startTestRuntime(resolve('config/campaigns/q1-committee-expansion.yaml'), { accounts: ACCOUNTS, seed: 'amk-demo' });
    for (let w = 0; w < WEEKS; w += 1) weeks.push(await runWeekWith(env.runtime, { approveRate: 0.8 }));
  }, 300_000);
  afterAll(async () => {
    await env?.stop();
  });

  it(`has governance block at most 10% of what the agents propose over ${WEEKS} weeks`, () => {
    const proposed = weeks.reduce((n, w) => n + (w.counters['proposed'] ?? 0), 0);
    const blocked = weeks.reduce((n, w) => n + (w.counters['blocked'] ?? 0), 0);
    expect(proposed).toBeGreaterThan(ACCOUNTS);
    expect(blocked / proposed).toBeLessThanOrEqual(0.1);
  });

  it('never has two agents act on one stakeholder in one run', async () => {
    let checked = 0;
    for (const { result } of weeks) {
      const agentsOf = new Map<string, Set<string>>();
      const accountIds = env.runtime.market.book().accounts.map((a) => a.id);
      for (const accountId of accountIds) {
        const turns = (await env.runtime.deps.audit.readStream(`ACCOUNT#${accountId}`)).filter((e) => e.kind === 'turn' && e.runId === result.runId);
        for (const d of turns.flatMap((e) => decisionsOfTurn(e))) {
          if (d.verdict?.outcome === 'blocked') continue;
          for (const id of d.action.stakeholderIds) {
            const agents = agentsOf.get(id) ?? new Set<string>();
            agents.add(d.agentId);
            agentsOf.set(id, agents);
            checked += 1;
          }
        }
      }
      const shared = [...agentsOf].filter(([, agents]) => agents.size > 1);
      expect(shared, `run ${result.runId}`).toEqual([]);
    }
    expect(checked).toBeGreaterThan(0);
  });
});
