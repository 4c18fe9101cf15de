/**
 * A page planned again (a retry, a run restarted after a crash, a redrive) plans the same actions:
 * every page of a run plans with the agents' statistics as they were when the run started (the run
 * header holds them), not with what other pages and runs have recorded since. Against the real
 * repositories on dynalite.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StaticConfigSource } from '../../shared/adapters/config-source.ts';
import { DynamoAuditLog } from '../../shared/adapters/dynamodb/audit-log.ts';
import { DynamoAccountRepository } from '../../shared/adapters/dynamodb/account-repository.ts';
import { DynamoMemoryRepository } from '../../shared/adapters/dynamodb/memory-repository.ts';
import { DynamoRunRepository } from '../../shared/adapters/dynamodb/run-repository.ts';
import { loadCampaign, planShard } from '../../shared/app/campaign-run.ts';
import type { StepDeps } from '../../shared/app/steps.ts';
import { NOW, aCampaign, aCharter, aStakeholder, anAccount, anObservedAccount, someGuardrails } from '../unit/builders.ts';
import { startDynamoFixture, type DynamoFixture } from './dynamodb-fixture.ts';

describe('a page planned again', () => {
  let db: DynamoFixture;
  beforeAll(async () => {
    db = await startDynamoFixture('replan');
  }, 60_000);
  afterAll(async () => {
    await db?.stop();
  });

  it('plans the same actions after other pages recorded what they learned', async () => {
    const campaign = aCampaign();
    const config = new StaticConfigSource([{ campaign, campaignHash: 'c', charters: [{ charter: aCharter(), hash: 'h', file: 'f' }], guardrails: someGuardrails(), guardrailsHash: 'g' }]);
    const memory = new DynamoMemoryRepository(db.client, db.tables.memory);
    const runs = new DynamoRunRepository(db.client, db.tables.runs);
    await memory.addOutcomes('test-agent', { 'nurture_email:champion': { trials: 10, successes: 1 }, 'role_content:champion': { trials: 10, successes: 1 } }, 'history');
    const base = { clock: () => NOW, config, seed: 'replan' };
    const load = { ...base, memory, runs, accounts: new DynamoAccountRepository(db.client, db.tables.accounts), audit: new DynamoAuditLog(db.client, db.tables.audit) } as unknown as StepDeps<'load-campaign'>;
    const { run } = await loadCampaign(load, { campaignId: campaign.id, runId: 'replan-run', scheduledTime: NOW });
    const observed = {
      accounts: Array.from({ length: 6 }, (_, i) => {
        const id = `acc-r${i}`;
        return anObservedAccount({ state: anAccount({ id, tier: 1 }), stakeholders: [aStakeholder({ id: `st-r${i}`, accountId: id, role: 'champion' })] });
      }),
    };
    const input = { shard: { ...run, shard: 0, shardCount: 1 }, cursor: null, queued: 0, deferred: 0, pages: 0, observed };
    const plan = { ...base, runs } as unknown as StepDeps<'plan'>;
    const first = await planShard(plan, input);
    expect(first.plans.flatMap((p) => p.actions).length).toBeGreaterThan(0);
    // Meanwhile other pages and runs learn a lot: one arm now looks far better than the other.
    await memory.addOutcomes('test-agent', { 'role_content:champion': { trials: 500, successes: 490 } }, 'another-page');
    const again = await planShard(plan, input);
    expect(again).toEqual(first);
    // The run started again resumes with the statistics it started with.
    await loadCampaign(load, { campaignId: campaign.id, runId: 'replan-run', scheduledTime: NOW });
    expect(await planShard(plan, input)).toEqual(first);
    expect((await runs.get('replan-run'))?.models?.['test-agent']).toEqual({ 'nurture_email:champion': { trials: 10, successes: 1 }, 'role_content:champion': { trials: 10, successes: 1 } });
  });
});
