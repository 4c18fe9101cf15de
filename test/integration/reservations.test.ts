/**
 * Govern against the runs table on dynalite: spend and touches are reserved when an action is
 * granted or queued, so two shards governing at once, approvals queued on an earlier page, and
 * two overlapping runs cannot commit more than a cap between them (defects 4 and 6 of the
 * "nothing twice" issue: a $300 cap with $600 committed; a stakeholder touched past the weekly
 * limit by two runs that each checked memory the other had not written yet).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoRunRepository } from '../../shared/adapters/dynamodb/run-repository.ts';
import { governShard } from '../../shared/app/campaign-run.ts';
import type { StepDeps } from '../../shared/app/steps.ts';
import type { CampaignBundle } from '../../shared/domain/config.ts';
import type { Action } from '../../shared/domain/model.ts';
import { NOW, aCampaign, aCharter, aStakeholder, anAccount, anAction, anObservedAccount, aRule, someGuardrails } from '../unit/builders.ts';
import { startDynamoFixture, type DynamoFixture } from './dynamodb-fixture.ts';

let db: DynamoFixture;
beforeAll(async () => {
  db = await startDynamoFixture('reserve');
}, 60_000);
afterAll(async () => {
  await db?.stop();
});

function bundleWith(maxSpendPerRunUsd: number, perStakeholder = 5): CampaignBundle {
  // Every executive briefing waits for approval: spend and touches are held while it waits.
  const charter = aCharter({
    thresholds: [aRule({ id: 'briefings', when: { field: 'action.type', op: 'eq', value: 'executive_briefing' } })],
    budgets: { touchesPerStakeholderPerWeek: 5, touchesPerAccountPerWeek: 20, actionsPerAccountPerRun: 5, spendPerMonthUsd: 100_000 },
  });
  return {
    campaign: aCampaign({ shards: 2 }),
    campaignHash: 'c',
    charters: [{ charter, hash: 'h', file: 'test-agent.yaml' }],
    guardrails: someGuardrails({ budget: { maxSpendPerRunUsd }, contactPressure: { maxTouchesPerStakeholderPerWeek: perStakeholder, maxTouchesPerAccountPerWeek: 20 } }),
    guardrailsHash: 'g',
  };
}

/** One page of one shard: each action for its own account (or the same person, when told). */
function page(runId: string, shard: number, actions: Action[]) {
  const accounts = [...new Set(actions.map((a) => a.accountId))].map((id) =>
    anObservedAccount({ state: anAccount({ id }), stakeholders: actions.filter((a) => a.accountId === id).flatMap((a) => a.stakeholderIds.map((s) => aStakeholder({ id: s, accountId: id }))) }),
  );
  return {
    shard: { runId, campaignId: 'test-campaign', now: NOW, shard, shardCount: 2 },
    cursor: null,
    queued: 0,
    deferred: 0,
    pages: 0,
    observed: { accounts },
    planned: { plans: actions.map((a) => ({ accountId: a.accountId, agentId: a.agentId, subGoals: [], actions: [a] })) },
  };
}

const briefing = (id: string, accountId: string, stakeholder = `${accountId}-cfo`): Action =>
  anAction({ id, runId: 'r', accountId, type: 'executive_briefing', stakeholderIds: [stakeholder], costUsd: 300 });

describe('Govern reserves what it grants', { timeout: 60_000 }, () => {
  const deps = (bundle: CampaignBundle): StepDeps<'govern'> => ({ clock: () => NOW, config: { load: async () => bundle }, runs: new DynamoRunRepository(db.client, db.tables.runs) });

  it('lets two shards governing at once commit no more than the run cap, counting approvals still waiting', async () => {
    const runs = new DynamoRunRepository(db.client, db.tables.runs);
    await runs.start({ runId: 'cap-run', campaignId: 'test-campaign', now: NOW, shards: 2, charterHashes: {} });
    const d = deps(bundleWith(300));
    const [a, b] = await Promise.all([governShard(d, page('cap-run', 0, [briefing('b-0', 'acc-a')])), governShard(d, page('cap-run', 1, [briefing('b-1', 'acc-b')]))]);
    const verdicts = [...a.verdicts, ...b.verdicts];
    expect(verdicts.filter((v) => v.outcome === 'needs_approval')).toHaveLength(1);
    expect(verdicts.filter((v) => v.outcome === 'blocked' && v.guardrail === 'budget')).toHaveLength(1);
    // A later page of the run: the $300 still waiting for approval holds the cap.
    const later = await governShard(d, page('cap-run', 0, [briefing('b-2', 'acc-c')]));
    expect(later.verdicts[0]).toMatchObject({ outcome: 'blocked', guardrail: 'budget' });
    expect((await runs.get('cap-run'))?.counters['reservedUsd']).toBe(300);
    // Govern delivered again reserves nothing twice, and decides the same.
    const again = await governShard(d, page('cap-run', 0, [briefing('b-0', 'acc-a')]));
    expect(again.verdicts[0]?.outcome).toBe(a.verdicts[0]?.outcome);
    expect((await runs.get('cap-run'))?.counters['reservedUsd']).toBe(300);
  });

  it('lets two overlapping runs touch a stakeholder no more than the weekly limit between them', async () => {
    const runs = new DynamoRunRepository(db.client, db.tables.runs);
    for (const id of ['scheduled', 'manual']) await runs.start({ runId: id, campaignId: 'test-campaign', now: NOW, shards: 2, charterHashes: {} });
    const d = deps(bundleWith(100_000, 1));
    // Both runs propose a briefing for the same CFO, neither having seen the other's in memory.
    const results = await Promise.all([
      governShard(d, page('scheduled', 0, [briefing('s-1', 'acc-x', 'cfo-x')])),
      governShard(d, page('manual', 0, [briefing('m-1', 'acc-x', 'cfo-x')])),
    ]);
    const verdicts = results.flatMap((r) => r.verdicts);
    expect(verdicts.filter((v) => v.outcome !== 'blocked')).toHaveLength(1);
    expect(verdicts.find((v) => v.outcome === 'blocked')).toMatchObject({ guardrail: 'contact_pressure' });
  });
});
