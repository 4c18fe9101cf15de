/**
 * How a campaign's book is worked: shards, pages and hand-overs, as the schema accepts them, and
 * where Record says a shard stands after a page (the AccountBatch loop and the parent's hand-over).
 */
import { describe, expect, it } from 'vitest';
import { Campaign, MAX_ACCOUNTS_PER_EXECUTION } from '../../shared/domain/config.ts';
import { nextOf } from '../../shared/app/campaign-run.ts';
import type { RecordInput } from '../../shared/app/contracts.ts';
import { aCampaign } from './builders.ts';

describe('the campaign schema', () => {
  it('works a book in one shard, 20 pages per AccountBatch execution, unless told otherwise', () => {
    expect(aCampaign()).toMatchObject({ shards: 1, pageSize: 25, pagesPerExecution: 20 });
  });

  it(`refuses executions of more than ${MAX_ACCOUNTS_PER_EXECUTION} accounts, naming pagesPerExecution and Express's limit`, () => {
    const { id, name, owner, goal, charters, guardrails, schedule } = aCampaign();
    const base = { id, name, owner, goal, charters, guardrails, schedule };
    expect(Campaign.safeParse({ ...base, pageSize: 50, pagesPerExecution: 20 }).success).toBe(true);
    const tooMany = Campaign.safeParse({ ...base, pageSize: 50, pagesPerExecution: 21 });
    expect(tooMany.success).toBe(false);
    expect(tooMany.error?.issues[0]).toMatchObject({ path: ['pagesPerExecution'], message: expect.stringContaining("Express's 5 minutes") });
  });
});

describe('where Record says a shard stands', () => {
  const shard = { runId: 'r', campaignId: 'c', now: '2027-01-04T14:00:00.000Z', shard: 0, shardCount: 1 };
  const page = (over: { pages: number; queued: number; nextCursor?: string; queuedNow?: number; deferred?: number; deferredNow?: number }): RecordInput => ({
    shard,
    cursor: 'this-page',
    queued: over.queued,
    deferred: over.deferred ?? 0,
    pages: over.pages,
    observed: { accounts: [], ...(over.nextCursor === undefined ? {} : { nextCursor: over.nextCursor }) },
    planned: { plans: [] },
    governed: { verdicts: [] },
    acted: {
      results: [],
      queuedApprovalIds: Array.from({ length: over.queuedNow ?? 0 }, (_, i) => `a${i}`),
      deferredActionIds: Array.from({ length: over.deferredNow ?? 0 }, (_, i) => `d${i}`),
    },
  });

  it('goes on to the next page within the execution, counting pages, queued approvals and deferred sends', () => {
    expect(nextOf(page({ pages: 0, queued: 2, nextCursor: 'p2', queuedNow: 3, deferred: 1, deferredNow: 2 }), 3)).toEqual({
      next: { shard, cursor: 'p2', queued: 5, deferred: 3, pages: 1 },
      continue: true,
      accounts: 0,
    });
  });

  it('hands the rest of the shard over after pagesPerExecution pages, to an execution that starts at page 0', () => {
    expect(nextOf(page({ pages: 2, queued: 5, nextCursor: 'p4' }), 3)).toEqual({
      next: { shard, cursor: 'p4', queued: 5, deferred: 0, pages: 0 },
      continue: false,
      accounts: 0,
    });
  });

  it('ends the shard when no page is left, with a null cursor the parent can test', () => {
    expect(nextOf(page({ pages: 0, queued: 0, queuedNow: 1 }), 3)).toEqual({
      next: { shard, cursor: null, queued: 1, deferred: 0, pages: 0 },
      continue: false,
      accounts: 0,
    });
  });
});
