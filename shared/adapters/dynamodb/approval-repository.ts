/**
 * ApprovalRepository on the approvals table. Every transition is a single-item conditional write,
 * so a decision is single-use even when a link is clicked twice or two approvers race.
 */
import { GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ApprovalAlreadyDecidedError, ApprovalNotFoundError } from '../../domain/errors.ts';
import { Approval } from '../../domain/model.ts';
import type { ApprovalRepository } from '../../ports/index.ts';
import { documentClient, isConditionalCheckFailed, queryAll } from './client.ts';
import {
  approvalIdFromIndexKey,
  decideApproval,
  getApproval,
  markApprovalPending,
  putApprovalIfAbsent,
  queryApprovalIdsForRunShard,
  type ApprovalDecision,
} from './requests.ts';

/** Approval requests in DynamoDB (see tables.ts, `approvals`). */
export class DynamoApprovalRepository implements ApprovalRepository {
  private readonly doc: DynamoDBDocumentClient;

  constructor(
    private readonly client: DynamoDBClient,
    private readonly table: string,
  ) {
    this.doc = documentClient(this.client);
  }

  /** Stores a new approval; when the id exists already (a retried Govern/Record), nothing changes. */
  async create(approval: Approval): Promise<void> {
    try {
      await this.doc.send(new PutCommand(putApprovalIfAbsent(this.table, approval)));
    } catch (err) {
      if (isConditionalCheckFailed(err)) return;
      throw err;
    }
  }

  /** Reads one approval (strongly consistent), or undefined. */
  async get(approvalId: string): Promise<Approval | undefined> {
    const out = await this.doc.send(new GetCommand(getApproval(this.table, approvalId)));
    return out.Item === undefined ? undefined : Approval.parse(out.Item);
  }

  /** Ids of the approvals one shard queued in one run, ordered by id; with `range`, those in (after, through]. */
  async listIdsForRunShard(runId: string, shard: number, range?: { readonly after?: string; readonly through?: string }): Promise<string[]> {
    const items = (await queryAll(this.doc, (startKey) => queryApprovalIdsForRunShard(this.table, runId, shard, startKey, range))).filter(
      (item) => range?.after === undefined || item['gsi1sk'] !== `APPROVAL#${range.after}`,
    );
    return items.map((item) => {
      const key = item['gsi1sk'];
      if (typeof key !== 'string') throw new Error('approval index item without gsi1sk');
      return approvalIdFromIndexKey(key);
    });
  }

  /**
   * queued -> pending. A retry with the token already stored returns the stored approval (the
   * first attempt succeeded but its caller failed afterwards); any other non-queued state throws
   * ApprovalAlreadyDecidedError, an unknown id ApprovalNotFoundError.
   */
  async markPending(approvalId: string, taskToken: string, expiresAt: string): Promise<Approval> {
    try {
      const out = await this.doc.send(new UpdateCommand(markApprovalPending(this.table, approvalId, taskToken, expiresAt)));
      return Approval.parse(out.Attributes);
    } catch (err) {
      if (!isConditionalCheckFailed(err)) throw err;
      const current = await this.mustGet(approvalId, err);
      throw new ApprovalAlreadyDecidedError(`approval ${approvalId} is ${current.status}, not queued or pending`, { cause: err });
    }
  }

  /**
   * pending -> approved/rejected/expired/skipped, once. Approving or rejecting after expiresAt
   * (compared with decision.at) fails like a second decision: the link is no longer valid, and
   * with no TTL locally the application is what expires it.
   */
  async decide(approvalId: string, decision: ApprovalDecision): Promise<Approval> {
    try {
      const out = await this.doc.send(new UpdateCommand(decideApproval(this.table, approvalId, decision)));
      return Approval.parse(out.Attributes);
    } catch (err) {
      if (!isConditionalCheckFailed(err)) throw err;
      const current = await this.mustGet(approvalId, err);
      const why =
        current.status === 'pending' ? `expired at ${current.expiresAt ?? '?'}` : `already ${current.status}`;
      throw new ApprovalAlreadyDecidedError(`approval ${approvalId} cannot be ${decision.status}: ${why}`, { cause: err });
    }
  }

  /** After a failed condition, tells "no such approval" from "wrong state". */
  private async mustGet(approvalId: string, cause: unknown): Promise<Approval> {
    const current = await this.get(approvalId);
    if (current === undefined) throw new ApprovalNotFoundError(`approval ${approvalId} not found`, { cause });
    return current;
  }
}
