/**
 * Observe, retried after failing between its writes, on the real account repository (dynalite):
 * an unsubscribe it read is honoured whatever write failed, because the account state (which moves
 * the signal cursor) is written after the people.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StaticConfigSource } from '../../shared/adapters/config-source.ts';
import { DynamoAccountRepository } from '../../shared/adapters/dynamodb/account-repository.ts';
import { DynamoMemoryRepository } from '../../shared/adapters/dynamodb/memory-repository.ts';
import { DynamoRunRepository } from '../../shared/adapters/dynamodb/run-repository.ts';
import { observeShard } from '../../shared/app/campaign-run.ts';
import type { StepDeps } from '../../shared/app/steps.ts';
import { aCampaign, aCharter, anAccount, aSignal, aStakeholder, someGuardrails } from '../unit/builders.ts';
import { failingOnce, startDynamoFixture, type DynamoFixture } from './dynamodb-fixture.ts';

describe('Observe failing between its writes, then retried', () => {
  let db: DynamoFixture;
  beforeAll(async () => {
    db = await startDynamoFixture('observe-retry');
  }, 60_000);
  afterAll(async () => {
    await db?.stop();
  });

  it.each(['suppressStakeholder', 'saveState'] as const)('honours the unsubscribe when %s fails once', async (failing) => {
    const accounts = new DynamoAccountRepository(db.client, db.tables.accounts);
    const id = `acc-${failing}`;
    const account = anAccount({ id, tier: 1, stage: 'problem_aware' });
    const person = aStakeholder({ id: `st-${failing}`, accountId: id, consent: 'opted_in' });
    await accounts.importAccount(account, [person]);
    await accounts.putSignals([aSignal({ id: `sig-${failing}`, kind: 'unsubscribe', accountId: id, stakeholderId: person.id, at: '2027-01-03T10:00:00.000Z' })]);
    const flaky = failingOnce(accounts, failing, `${failing} failed`);
    const campaign = aCampaign();
    const deps = {
      clock: () => '2027-01-04T14:00:00.000Z',
      config: new StaticConfigSource([{ campaign, campaignHash: 'c', charters: [{ charter: aCharter(), hash: 'h', file: 'f' }], guardrails: someGuardrails(), guardrailsHash: 'g' }]),
      accounts: flaky,
      memory: new DynamoMemoryRepository(db.client, db.tables.memory),
      runs: new DynamoRunRepository(db.client, db.tables.runs),
    } as unknown as StepDeps<'observe'>;
    const input = { shard: { runId: `run-${failing}`, campaignId: campaign.id, now: '2027-01-04T14:00:00.000Z', shard: 0, shardCount: 1 }, cursor: null, queued: 0, deferred: 0, pages: 0 };
    await expect(observeShard(deps, input)).rejects.toThrow('injected');
    await observeShard(deps, input); // the retry
    const after = (await accounts.listStakeholders(id)).find((s) => s.id === person.id);
    expect(after?.consent).toBe('opted_out');
  });
});
