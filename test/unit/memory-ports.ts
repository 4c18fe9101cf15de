/**
 * In-memory stand-ins of the approval ports for use-case tests: single-item conditional writes as
 * the DynamoDB adapters make them, an audit log that keeps what was appended, and recorders.
 */
import { ApprovalAlreadyDecidedError, ApprovalNotFoundError, TaskNotWaitingError } from '../../shared/domain/errors.ts';
import type { Action, Approval, AuditEvent, ReviewerKind } from '../../shared/domain/model.ts';
import type { ApprovalRepository, AuditLog, IdempotentRunner, Mailer, OutgoingEmail, TaskCallback } from '../../shared/ports/index.ts';

// Copies, so a use case never holds a reference into a store (hand-written: structuredClone of
// every read would be most of a property test's run time).
const copyAction = (a: Action): Action => ({ ...a, stakeholderIds: [...a.stakeholderIds], content: { ...a.content } });
const copyApproval = (a: Approval): Approval => ({
  ...a,
  action: copyAction(a.action),
  rules: a.rules.map((r) => ({ ...r, approvers: [...r.approvers] })),
  ...(a.quorum ? { quorum: { ...a.quorum, approvalIds: [...a.quorum.approvalIds] } } : {}),
});

/** Approvals in a map, with the DynamoDB adapter's conditions: pending once, decided once. */
export class InMemoryApprovals implements ApprovalRepository {
  readonly items = new Map<string, Approval>();
  decideCalls = 0;
  async create(approval: Approval): Promise<void> {
    if (!this.items.has(approval.id)) this.items.set(approval.id, copyApproval(approval));
  }
  async get(id: string): Promise<Approval | undefined> {
    const item = this.items.get(id);
    return item === undefined ? undefined : copyApproval(item);
  }
  async listIdsForRunShard(runId: string, shard: number): Promise<string[]> {
    return [...this.items.values()].filter((a) => a.runId === runId && a.shard === shard).map((a) => a.id).sort();
  }
  async markPending(id: string, taskToken: string, expiresAt: string): Promise<Approval> {
    const item = this.items.get(id);
    if (item === undefined) throw new ApprovalNotFoundError(id);
    if (item.status !== 'queued' && item.status !== 'pending') throw new ApprovalAlreadyDecidedError(id);
    Object.assign(item, { status: 'pending', taskToken, expiresAt, version: item.version + 1 });
    return copyApproval(item);
  }
  async decide(
    id: string,
    d: { status: 'approved' | 'rejected' | 'expired' | 'skipped'; at: string; by: string; reviewerKind?: ReviewerKind; reason?: string; escalatedTo?: string },
  ): Promise<Approval> {
    this.decideCalls++;
    const item = this.items.get(id);
    if (item === undefined) throw new ApprovalNotFoundError(id);
    if (item.status !== 'pending') throw new ApprovalAlreadyDecidedError(`${id} is ${item.status}`);
    Object.assign(item, {
      status: d.status,
      decidedAt: d.at,
      decidedBy: d.by,
      version: item.version + 1,
      ...(d.reviewerKind !== undefined ? { reviewerKind: d.reviewerKind } : {}),
      ...(d.reason !== undefined ? { reason: d.reason } : {}),
      ...(d.escalatedTo !== undefined ? { escalatedTo: d.escalatedTo } : {}),
    });
    return copyApproval(item);
  }
}

/** An audit log that keeps every appended event; a keyed event is kept once per stream, as in DynamoDB. */
export class InMemoryAudit implements AuditLog {
  readonly events: AuditEvent[] = [];
  async append(events: Array<Omit<AuditEvent, 'seq' | 'prevHash' | 'hash' | 'key'>>): Promise<AuditEvent[]> {
    return this.appendOnce(events as Array<Omit<AuditEvent, 'seq' | 'prevHash' | 'hash'> & { key: string }>);
  }
  async appendOnce(events: Array<Omit<AuditEvent, 'seq' | 'prevHash' | 'hash'> & { key?: string }>): Promise<AuditEvent[]> {
    return events.map((e) => {
      const earlier = e.key === undefined ? undefined : this.events.find((x) => x.stream === e.stream && x.key === e.key);
      if (earlier !== undefined) return earlier;
      const sealed = { ...e, seq: this.events.length, prevHash: '', hash: '' };
      this.events.push(sealed);
      return sealed;
    });
  }
  async readStream(stream: string): Promise<AuditEvent[]> {
    return this.events.filter((e) => e.stream === stream);
  }
  async streamsOfRun(runId: string): Promise<string[]> {
    return [...new Set(this.events.filter((e) => e.runId === runId).map((e) => e.stream))].sort();
  }
  async heads(streams: readonly string[]): Promise<Array<{ stream: string; seq: number; hash: string }>> {
    return streams.flatMap((stream) => {
      const last = this.events.filter((e) => e.stream === stream).at(-1);
      return last === undefined ? [] : [{ stream, seq: last.seq, hash: last.hash }];
    });
  }
  ofKind(kind: AuditEvent['kind']): AuditEvent[] {
    return this.events.filter((e) => e.kind === kind);
  }
}

/** At most once per key, replaying the stored value (as the Powertools runner does). */
export function inMemoryIdempotent(): IdempotentRunner {
  const done = new Map<string, string>();
  return async <T,>(key: string, fn: () => Promise<T>) => {
    const stored = done.get(key);
    if (stored !== undefined) return { value: JSON.parse(stored) as T, replayed: true };
    const value = await fn();
    done.set(key, JSON.stringify(value));
    return { value, replayed: false };
  };
}

/** A mailer that keeps what it was asked to send. */
export class RecordingMailer implements Mailer {
  readonly sent: OutgoingEmail[] = [];
  async send(email: OutgoingEmail): Promise<{ messageId: string }> {
    this.sent.push(email);
    return { messageId: `msg-${this.sent.length}` };
  }
}

/** A task callback that records, or fails as told. */
export class RecordingCallback implements TaskCallback {
  readonly succeeded: Array<{ token: string; output: unknown }> = [];
  failWith: string | undefined;
  async succeed(token: string, output: unknown): Promise<void> {
    if (this.failWith !== undefined) {
      // As the SFN adapter reports it: its "no longer waits" names become TaskNotWaitingError.
      if (['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken'].includes(this.failWith)) throw new TaskNotWaitingError('gone', this.failWith);
      const err = new Error('Task Timed Out');
      err.name = this.failWith;
      throw err;
    }
    this.succeeded.push({ token, output });
  }
}
