/**
 * Everything a use case may need, as ports. Each Lambda builds the subset it uses once per
 * process (from environment in AWS, from the local runtime on the embedded default) and injects it.
 */
import type {
  AccountRepository,
  ApprovalRepository,
  AuditLog,
  ConfigSource,
  Mailer,
  MemoryRepository,
  RunRepository,
  TaskCallback,
  ToolGateway,
} from '../ports/index.ts';

/** Runs a side effect at most once per key; `replayed` when the stored result was returned. */
export type IdempotentRunner = <T>(key: string, fn: () => Promise<T>) => Promise<{ value: T; replayed: boolean }>;

/** The ports of the whole application. */
export interface AppDeps {
  readonly config: ConfigSource;
  readonly accounts: AccountRepository;
  readonly memory: MemoryRepository;
  readonly approvals: ApprovalRepository;
  readonly audit: AuditLog;
  readonly runs: RunRepository;
  readonly tools: ToolGateway;
  readonly idempotent: IdempotentRunner;
  readonly mailer: Mailer;
  readonly callback: TaskCallback;
  /** Wall clock, for timestamps of records only; decisions use the run's `now`. */
  readonly clock: () => string;
  /** Seed of the planners' exploration, so a run's decisions replay. */
  readonly seed: string;
  /** Key that signs approval links. */
  readonly signingKey: Buffer;
  /** Base URL of the approval page (Function URL in AWS, the local server here). */
  readonly approvalBaseUrl: string;
  /** Sender of approval and report emails. */
  readonly mailFrom: string;
  /** Lets the local demo's labelled simulated reviewer decide (never in AWS). */
  readonly allowSimulatedReviewer?: boolean;
}
