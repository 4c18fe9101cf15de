/**
 * Ports: what the use cases need from the outside world. Adapters (DynamoDB, SFN, SES, the local
 * simulator) implement them; domain and app code never import an AWS SDK.
 */
import type {
  AccountState,
  Action,
  Approval,
  AuditEvent,
  DeferredSend,
  PipelineSignal,
  ReviewerKind,
  Stakeholder,
} from '../domain/model.ts';
import type { AuditDigest, SignedAuditDigest, StreamHead } from '../domain/audit-digest.ts';
import type { ContentLibrary } from '../domain/content.ts';
import type { CampaignBundle } from '../domain/config.ts';
import type { BookQuality } from '../domain/crm-import/quality.ts';
import type { EffectKey } from '../domain/effects.ts';

/** One page of results and the opaque cursor of the next page (undefined at the end). */
export interface Page<T> {
  readonly items: T[];
  readonly cursor?: string;
}

/** Accounts, their stakeholders and signals (the accounts table). */
export interface AccountRepository {
  /** Creates or replaces an account and its stakeholders (import / seeding). */
  importAccount(state: AccountState, stakeholders: Stakeholder[]): Promise<void>;
  /** Reads one account state, or undefined. */
  get(accountId: string): Promise<AccountState | undefined>;
  /** Pages through the accounts of one virtual shard (GSI query, never Scan). */
  listByShard(virtualShard: number, limit: number, cursor?: string): Promise<Page<AccountState>>;
  /** Writes a new state if the stored version still equals `expectedVersion`; throws StaleAccountStateError. */
  saveState(state: AccountState, expectedVersion: number): Promise<AccountState>;
  /** Every stakeholder of an account. */
  listStakeholders(accountId: string): Promise<Stakeholder[]>;
  /** Replaces one stakeholder record (operators and tests; the loop only ever suppresses). */
  putStakeholder(stakeholder: Stakeholder): Promise<void>;
  /**
   * Applies the suppression the given record holds — consent `opted_out`, do-not-contact — to the
   * stored one and changes nothing else: concurrent suppressions all hold, none is undone by a
   * stale read. A person no longer in the book is left alone.
   */
  suppressStakeholder(stakeholder: Stakeholder): Promise<void>;
  /** Stores signals (idempotent per signal id). */
  putSignals(signals: PipelineSignal[]): Promise<void>;
  /** Signals of an account strictly after `since` (ISO), oldest first. */
  listSignalsSince(accountId: string, since: string | null): Promise<PipelineSignal[]>;
  /**
   * Writes an account's CRM profile (the CRM import). `expectedVersion` null: creates `state` at
   * version 0, only if the account does not exist yet. A number: sets only the profile fields
   * (ACCOUNT_PROFILE_FIELDS of domain/crm-import) of `state`, never what the loop learned, only
   * while the stored version equals it, and bumps the version. Returns the stored state; throws
   * StaleAccountStateError when another writer was first.
   */
  upsertProfile(state: AccountState, expectedVersion: number | null): Promise<AccountState>;
  /**
   * Creates or updates one stakeholder (the CRM import) in one conditional write that never
   * loosens consent: a write that is not `opted_out` (or not do-not-contact) fails with
   * StaleAccountStateError when the stored record has meanwhile become so (read again and merge).
   */
  upsertStakeholder(stakeholder: Stakeholder): Promise<void>;
  /** Stores the book's data-quality summary, one item; an older summary never replaces a newer one. */
  putBookQuality(quality: BookQuality): Promise<void>;
  /** The book's latest data-quality summary (one GetItem), or undefined before the first import or check. */
  getBookQuality(): Promise<BookQuality | undefined>;
}

export type { MemoryEntry, OutcomeModel } from '../domain/memory.ts';
import type { MemoryEntry, OutcomeModel } from '../domain/memory.ts';

/** Agent memory and learned outcome statistics (the memory table). */
export interface MemoryRepository {
  append(entries: MemoryEntry[]): Promise<void>;
  /** Entries of an account newer than `since` (ISO), for every agent. */
  listForAccount(accountId: string, since: string): Promise<MemoryEntry[]>;
  getModel(agentId: string): Promise<OutcomeModel>;
  /** Adds trials/successes atomically per arm. */
  addOutcomes(agentId: string, deltas: Record<string, { trials: number; successes: number }>, once: EffectKey): Promise<void>;
}

/** Approval requests (the approvals table). */
export interface ApprovalRepository {
  /** Creates a queued approval; a second create with the same id is a no-op. */
  create(approval: Approval): Promise<void>;
  get(approvalId: string): Promise<Approval | undefined>;
  /**
   * Ids of the approvals a shard queued in a run, in id order; with `range`, only those after
   * `range.after` (exclusive) up to `range.through` (inclusive).
   */
  listIdsForRunShard(runId: string, shard: number, range?: { readonly after?: string; readonly through?: string }): Promise<string[]>;
  /** queued -> pending with the task token and expiry (conditional); returns the stored approval. */
  markPending(approvalId: string, taskToken: string, expiresAt: string): Promise<Approval>;
  /**
   * pending -> approved/rejected/expired/skipped, once (conditional); throws ApprovalAlreadyDecidedError.
   * `escalatedTo` (with expired) links the escalation that stands in for this approval.
   */
  decide(
    approvalId: string,
    decision: {
      status: 'approved' | 'rejected' | 'expired' | 'skipped';
      at: string;
      by: string;
      reviewerKind?: ReviewerKind;
      reason?: string;
      escalatedTo?: string;
    },
  ): Promise<Approval>;
}

/** The append-only, hash-chained audit trail (the audit table). */
export interface AuditLog {
  /** Appends events to their streams, filling seq, prevHash and hash. */
  append(events: Array<Omit<AuditEvent, 'seq' | 'prevHash' | 'hash' | 'key'>>): Promise<AuditEvent[]>;
  /**
   * Appends events that each record one effect (their `key`, see domain/effects.ts) once per
   * stream: a repeated append of a key, from a retry or a duplicate delivery, returns the event
   * already in the stream and writes nothing.
   */
  appendOnce(events: Array<Omit<AuditEvent, 'seq' | 'prevHash' | 'hash'> & { key: string }>): Promise<AuditEvent[]>;
  /** Events of one stream in order. */
  readStream(stream: string): Promise<AuditEvent[]>;
  /** Every stream a run wrote an event to (its own RUN# stream and its accounts'). */
  streamsOfRun(runId: string): Promise<string[]>;
  /** Where each stream ends now, by its head item (streams without one are left out). */
  heads(streams: readonly string[]): Promise<StreamHead[]>;
}

/**
 * Publishes a run's audit digest outside the audit table, signed with a key the writers do not
 * hold (KMS in AWS, a local key file on the embedded default). Once per run: a repeated publish of
 * the same run replaces its digest with one signed over the heads as they are then.
 */
export interface AuditDigestPublisher {
  publish(digest: AuditDigest): Promise<{ location: string }>;
}

/** Reads the published run digests back, and checks their signatures (the audit verifier). */
export interface AuditDigestReader {
  /** The digests published at or after `since` (ISO), each as stored (unparsed) with where it is. */
  publishedSince(since: string): Promise<Array<{ readonly location: string; readonly body: string }>>;
  /** Whether a digest's signature is the signing key's MAC of it. */
  verify(signed: SignedAuditDigest): Promise<boolean>;
}

/** The cost of one action, held on its run and its agent's month until it executes or is given up. */
export interface SpendReservation {
  readonly runId: string;
  readonly agentId: string;
  /** `YYYY-MM` of the run's clock. */
  readonly month: string;
  readonly actionId: string;
  readonly usd: number;
}

/** The touch of one action, held on its account's week (of the run's clock) until it goes out or is given up. */
export interface TouchReservation {
  readonly accountId: string;
  /** ISO week of the run's clock, e.g. `2026-W10`. */
  readonly week: string;
  readonly actionId: string;
  readonly stakeholderIds: readonly string[];
}

/** A page a run recorded (its ledger entry): where it left the shard, what it queued and deferred. */
export interface RecordedPageItem {
  readonly nextCursor: string | null;
  /** Approval requests the page queued. */
  readonly queued: number;
  /** Actions the page deferred to their send time (absent in pages recorded before deferred sends). */
  readonly deferred?: number;
}

/** Run counters and status (kept in the audit table's run header item). */
export interface RunRepository {
  /**
   * Opens a run once: a second start of the same run id changes nothing and returns the run as
   * first started (`created: false`), so a repeated start resumes it at its own clock.
   */
  start(run: {
    runId: string;
    campaignId: string;
    now: string;
    shards: number;
    charterHashes: Record<string, string>;
    models?: Record<string, OutcomeModel['arms']>;
    /** What each agent had committed in the run's month when it started (the planners pace with it). */
    spend?: Record<string, number>;
  }): Promise<{
    created: boolean;
    run: { runId: string; campaignId: string; now: string; models?: Record<string, OutcomeModel['arms']>; spend?: Record<string, number> };
  }>;
  /** The page of a shard this run already recorded, by the cursor it started at (null: the first). */
  getPage(runId: string, shard: number, cursor: string | null): Promise<RecordedPageItem | undefined>;
  /** Records a page once (conditional); a second record of the same page changes nothing. */
  putPage(runId: string, shard: number, cursor: string | null, page: RecordedPageItem): Promise<void>;
  /**
   * Stores actions for sending in their slots, each once (conditional), with the slots they wait
   * in: a repeated store (a redelivered Act) stores nothing twice.
   */
  deferSends(sends: readonly DeferredSend[]): Promise<void>;
  /** The send slots (ISO, in time order) that a shard's deferred actions wait in, in a run. */
  listSendSlots(runId: string, shard: number): Promise<string[]>;
  /** One page of the actions deferred to one send slot of a shard, in action id order. */
  listDeferredSends(runId: string, shard: number, slot: string, page: { readonly limit: number; readonly cursor?: string }): Promise<Page<DeferredSend>>;
  /** Adds to named counters atomically. */
  addCounters(runId: string, counters: Record<string, number>, once: EffectKey): Promise<void>;
  /** The run header: its counters, and the agents' learned statistics as they were when it started (every page plans with them). */
  get(runId: string): Promise<
    { runId: string; campaignId: string; now: string; counters: Record<string, number>; models?: Record<string, OutcomeModel['arms']>; spend?: Record<string, number> } | undefined
  >;
  /** Adds to what an agent spent in a calendar month (`YYYY-MM`, UTC), atomically across runs and shards. */
  addAgentSpend(agentId: string, month: string, usd: number, once: EffectKey): Promise<void>;
  /** What an agent committed in a calendar month (`YYYY-MM`): reserved, or executed if more; 0 when nothing was recorded. */
  getAgentSpend(agentId: string, month: string): Promise<number>;
  /**
   * Reserves an action's cost on its run and its agent's month, atomically within each cap (two
   * shards or two overlapping runs cannot both take the last room), once per action.
   */
  reserveSpend(r: SpendReservation & { runCapUsd: number; monthCapUsd: number }): Promise<{ reserved: true } | { reserved: false; over: 'run' | 'month' }>;
  /** Gives a reservation back (rejected, expired, failed, blocked at send); once; a no-op if none was made. */
  releaseSpend(r: SpendReservation): Promise<void>;
  /**
   * Reserves one touch of an action's stakeholders and their account in the week of the run's
   * clock, atomically within the weekly limits (overlapping runs cannot both take the last one),
   * once per action; false when there is no room.
   */
  reserveTouches(r: TouchReservation & { maxPerStakeholder: number; maxPerAccount: number }): Promise<boolean>;
  /** Gives an action's touch back; once; a no-op if none was made. */
  releaseTouches(r: TouchReservation): Promise<void>;
  /** Counts a refused anonymous request in its hour (UTC), by reason: one item per hour, however many. */
  countRefused(at: string, reason: string): Promise<void>;
}

/** What a tool returned. */
export interface ToolResult {
  readonly ok: boolean;
  readonly externalId: string;
  readonly detail?: string;
}

/** The account an action is for, as a tool needs it. */
export interface ToolAccount {
  readonly id: string;
  readonly name: string;
  /** The campaign's content library, which words the emails planned from its templates. */
  readonly library?: ContentLibrary;
}

/** Starts CampaignRun executions (the schedule's target does, by name). */
export interface ExecutionStarter {
  /**
   * Starts an execution named `name` with `input`. Standard executions are idempotent by name: a
   * second start with the same name and input returns the first execution and starts nothing.
   */
  start(name: string, input: unknown): Promise<{ executionArn: string }>;
}

/** The side-effecting connectors (email, CRM task, ads, ...). */
export interface ToolGateway {
  /** Carries out one action for its stakeholders at `account` (the name is for prospect-facing copy). */
  execute(action: Action, stakeholders: Stakeholder[], account: ToolAccount): Promise<ToolResult>;
}

/** An email to send (approval requests, owner notifications). */
export interface OutgoingEmail {
  readonly to: string[];
  readonly from: string;
  readonly subject: string;
  readonly text: string;
  readonly html: string;
  /** Message tags (SES EmailTags: letters, digits, `_` and `-`), e.g. what kind of email this is. */
  readonly tags?: Readonly<Record<string, string>>;
  /** Extra headers (e.g. RFC 8058's List-Unsubscribe and List-Unsubscribe-Post), each value one line. */
  readonly headers?: Readonly<Record<string, string>>;
}

/** Sends email (SESv2 in AWS, .eml files locally). */
export interface Mailer {
  send(email: OutgoingEmail): Promise<{ messageId: string }>;
}

/** Completes a waiting `.waitForTaskToken` task with its output (SendTaskSuccess). */
export interface TaskCallback {
  succeed(taskToken: string, output: unknown): Promise<void>;
}

/** Runs a side effect at most once per key; `replayed` when the stored result was returned. */
export type IdempotentRunner = <T>(key: string, fn: () => Promise<T>) => Promise<{ value: T; replayed: boolean }>;

/** Loads a campaign with its charters and guardrails. */
export interface ConfigSource {
  load(campaignId: string): Promise<CampaignBundle>;
}
