/**
 * ApprovalTimedOut retried after failing between its two writes (the expired seat, then the
 * escalation that stands in for it), on the real approvals repository (dynalite): the retry takes
 * its own write for what it is, creates the escalation, and raises no false alert — so the other
 * seat of a two-person approval is not stranded.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StaticConfigSource } from '../../shared/adapters/config-source.ts';
import { DynamoApprovalRepository } from '../../shared/adapters/dynamodb/approval-repository.ts';
import { DynamoAuditLog } from '../../shared/adapters/dynamodb/audit-log.ts';
import { DynamoRunRepository } from '../../shared/adapters/dynamodb/run-repository.ts';
import { approvalTimedOut } from '../../shared/app/approval-outcomes.ts';
import type { StepDeps } from '../../shared/app/steps.ts';
import type { Approval } from '../../shared/domain/model.ts';
import { aCampaign, aCharter, anAction, someGuardrails } from '../unit/builders.ts';
import { failingOnce, startDynamoFixture, type DynamoFixture } from './dynamodb-fixture.ts';

describe('ApprovalTimedOut failing after it closed the seat, then retried', () => {
  let db: DynamoFixture;
  beforeAll(async () => {
    db = await startDynamoFixture('timeout-retry');
  }, 60_000);
  afterAll(async () => {
    await db?.stop();
  });

  it('creates the escalation on the retry and records the expiry once, with no false alert', async () => {
    const approvals = new DynamoApprovalRepository(db.client, db.tables.approvals);
    const audit = new DynamoAuditLog(db.client, db.tables.audit);
    const runs = new DynamoRunRepository(db.client, db.tables.runs);
    const campaign = aCampaign();
    const charter = aCharter({ escalation: { onTimeout: 'escalate', escalateTo: 'vp@example.com', approvalTimeoutHours: 1 } });
    await runs.start({ runId: 'run-t', campaignId: campaign.id, now: '2027-01-04T14:00:00.000Z', shards: 1, charterHashes: {} });
    const action = anAction({ id: 'act-t', agentId: charter.id });
    const seat = (id: string, approver: string): Approval => ({
      id,
      runId: 'run-t',
      shard: 0,
      accountId: action.accountId,
      agentId: charter.id,
      action,
      rules: [{ ruleId: 'two', source: 'charters/x.yaml', approvers: ['director@example.com', 'cmo@example.com'], minApprovals: 2 }],
      approver,
      quorum: { actionId: action.id, approvalIds: ['apr-dir', 'apr-cmo'], min: 2 },
      actionDigest: 'd'.repeat(64),
      charterHash: 'h',
      status: 'queued',
      timeoutSeconds: 3600,
      createdAt: '2027-01-04T14:00:00.000Z',
      version: 0,
    });
    for (const [id, who] of [['apr-dir', 'director@example.com'], ['apr-cmo', 'cmo@example.com']] as const) {
      await approvals.create(seat(id, who));
      await approvals.markPending(id, `token-${id}`, '2027-01-04T15:00:00.000Z');
    }
    const flaky = failingOnce(approvals, 'create', 'the function died after closing the seat');
    const deps = {
      clock: () => '2027-01-04T15:00:01.000Z',
      config: new StaticConfigSource([{ campaign, campaignHash: 'c', charters: [{ charter, hash: 'h', file: 'f' }], guardrails: someGuardrails(), guardrailsHash: 'g' }]),
      approvals: flaky,
      audit,
      runs,
    } as unknown as StepDeps<'approval-timed-out'>;
    const input = { approvalId: 'apr-dir', runId: 'run-t', timeoutSeconds: 3600 };

    await expect(approvalTimedOut(deps, input)).rejects.toThrow('injected');
    const retried = await approvalTimedOut(deps, input);

    expect(retried.escalate).toBe(true);
    const escalation = await approvals.get(retried.approvalId);
    expect(escalation).toMatchObject({ approver: 'vp@example.com', escalationOf: 'apr-dir', status: 'queued' });
    expect((await approvals.get('apr-dir'))?.escalatedTo).toBe(retried.approvalId);
    const events = await audit.readStream('RUN#run-t');
    expect(events.filter((e) => e.kind === 'approval_expired')).toHaveLength(1);
    expect(events.filter((e) => e.kind === 'alert')).toEqual([]);
  });
});
