/**
 * What each Lambda may touch, declared once. A step names the ports it uses (for the table ports,
 * the very repository methods it calls); everything else follows from this one table:
 * - the use case's type: `DepsOf<typeof STEP_PORTS[name]>` holds exactly those ports and methods,
 *   so a use case that reaches for another port does not compile;
 * - the CDK grants and environment variables of the function (cdk/constructs/agent-function.ts);
 * - the ports the composition root builds for it, in AWS and on the embedded default alike
 *   (shared/adapters/lambda/compose.ts), from that function's own environment;
 * - the function's bundle, which imports only the adapters of those ports.
 */
import type {
  AccountRepository,
  ApprovalRepository,
  AuditDigestPublisher,
  AuditDigestReader,
  AuditLog,
  ConfigSource,
  ExecutionStarter,
  IdempotentRunner,
  Mailer,
  MemoryRepository,
  RunRepository,
  TaskCallback,
  ToolGateway,
} from '../ports/index.ts';
import type { ReplayGuard, SignalLedger } from '../ports/signal-ledger.ts';

/** The repository ports, each backed by one DynamoDB table. */
export interface TablePorts {
  readonly accounts: AccountRepository;
  readonly memory: MemoryRepository;
  readonly approvals: ApprovalRepository;
  readonly audit: AuditLog;
  readonly runs: RunRepository;
}
/** Name of a repository port. */
export type TablePort = keyof TablePorts;
/** The repository ports, in a fixed order. */
export const TABLE_PORTS: readonly TablePort[] = ['accounts', 'memory', 'approvals', 'audit', 'runs'];

/** Ports that are there or not (no methods to choose), with what each one gives the use case. */
export interface FlagPorts {
  /** The validated campaigns (charters, guardrails) bundled at synth. */
  readonly config: { readonly config: ConfigSource };
  /** The planners' exploration seed, fixed per deployment so that decisions replay. */
  readonly seed: { readonly seed: string };
  /** Side effects at most once per key (the idempotency table). */
  readonly idempotent: { readonly idempotent: IdempotentRunner };
  /** The connectors that act on the world (email through SES in AWS). */
  readonly tools: { readonly tools: ToolGateway };
  /** Email to people of the team (approval requests, run reports) from the sender address. */
  readonly mailer: { readonly mailer: Mailer; readonly mailFrom: string };
  /** Completes a waiting `.waitForTaskToken` task of the CampaignRun. */
  readonly callback: { readonly callback: TaskCallback };
  /** The key that signs approval links (Secrets Manager). */
  readonly signingKey: { readonly signingKey: Buffer };
  /** Where approval links point (the approval Function URL). */
  readonly approvalBaseUrl: { readonly approvalBaseUrl: string };
  /** Starts CampaignRun executions by name. */
  readonly starter: { readonly starter: ExecutionStarter };
  /** Signs run digests of the audit streams' heads (KMS) and publishes them outside the table (S3). */
  readonly digests: { readonly digests: AuditDigestPublisher };
  /** Reads the published run digests back and checks their MACs (KMS VerifyMac): the audit verifier. */
  readonly digestReader: { readonly digestReader: AuditDigestReader };
  /** The key that signs requests to the signals endpoint (Secrets Manager). */
  readonly signalsKey: { readonly signalsKey: Buffer };
  /** Which signal ids are stored, first write wins (claims on the accounts table). */
  readonly signalLedger: { readonly signalLedger: SignalLedger };
  /** Which signed requests were accepted, until they expire (records in the idempotency table). */
  readonly replayGuard: { readonly replayGuard: ReplayGuard };
  /**
   * The SES configuration set the tools' emails are sent through, which publishes their events
   * (delivery, open, click, bounce, complaint) to EventBridge; only with `tools`. It configures
   * the tools' mailer; its name is there for the record, no use case needs to read it.
   */
  readonly emailEvents: { readonly emailEvents?: string };
}
/** Name of a flag port. */
export type FlagPort = keyof FlagPorts;
/** The flag ports, in a fixed order. */
export const FLAG_PORTS: readonly FlagPort[] = ['config', 'seed', 'idempotent', 'tools', 'mailer', 'callback', 'signingKey', 'approvalBaseUrl', 'starter', 'digests', 'digestReader', 'signalsKey', 'signalLedger', 'replayGuard', 'emailEvents'];

/** A step's declaration: the repository methods it calls and the flag ports it uses. */
export type StepPorts = { readonly [K in TablePort]?: readonly (keyof TablePorts[K])[] } & { readonly [K in FlagPort]?: true };

/** What every step gets whatever it declares: the wall clock (timestamps of records only). */
export interface BaseDeps {
  readonly clock: () => string;
}

type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never;
type Methods<P extends StepPorts, K extends TablePort> = P[K] extends readonly (infer M)[] ? Extract<M, keyof TablePorts[K]> : never;
type TableDepsOf<P extends StepPorts> = { readonly [K in TablePort as P[K] extends readonly unknown[] ? K : never]: Pick<TablePorts[K], Methods<P, K>> };
type FlagDepsOf<P extends StepPorts> = UnionToIntersection<{ [K in FlagPort]: P[K] extends true ? FlagPorts[K] : never }[FlagPort]>;

/** The ports a step with declaration `P` receives: exactly the declared ones, and the clock. */
export type DepsOf<P extends StepPorts> = BaseDeps & TableDepsOf<P> & ([FlagDepsOf<P>] extends [never] ? unknown : FlagDepsOf<P>);

/** Flag ports of the signal intake alone (signals-http, signals-events, ses-events). */
export type IntakeFlagPort = 'signalsKey' | 'signalLedger' | 'replayGuard';

/**
 * Every port of the campaign's steps at once (tests that drive several steps; never a Lambda's).
 * The signal intake's own ports are left out: no campaign step uses them.
 */
export type AppDeps = BaseDeps & TablePorts & UnionToIntersection<FlagPorts[Exclude<FlagPort, IntakeFlagPort>]>;

/** Declares a step's ports (identity at run time; keeps the literal types). */
export const declarePorts = <const P extends StepPorts>(ports: P): P => ports;

/**
 * Every Lambda of the system and its ports. Adding a repository call to a use case without adding
 * it here is a type error; adding it here gives the function its grant and environment.
 */
export const STEP_PORTS = {
  // The schedule's target: names the CampaignRun execution after its run, so a double-fired
  // schedule starts one execution.
  'start-run': declarePorts({ config: true, starter: true }),
  'load-campaign': declarePorts({ config: true, seed: true, runs: ['start', 'getAgentSpend'], memory: ['getModel'], accounts: ['getBookQuality'], audit: ['appendOnce'] }),
  observe: declarePorts({
    config: true,
    runs: ['getPage'],
    accounts: ['listByShard', 'listStakeholders', 'listSignalsSince', 'saveState', 'suppressStakeholder'],
    memory: ['listForAccount', 'addOutcomes'],
  }),
  plan: declarePorts({ config: true, seed: true, runs: ['get'] }),
  govern: declarePorts({ config: true, runs: ['reserveSpend', 'reserveTouches', 'releaseTouches'] }),
  act: declarePorts({ config: true, idempotent: true, tools: true, emailEvents: true, signingKey: true, approvalBaseUrl: true, approvals: ['create'], runs: ['deferSends'] }),
  record: declarePorts({ config: true, seed: true, audit: ['appendOnce'], memory: ['append', 'addOutcomes'], runs: ['get', 'addCounters', 'addAgentSpend', 'releaseSpend', 'releaseTouches', 'putPage'] }),
  'list-shard-approvals': declarePorts({ approvals: ['listIdsForRunShard', 'get'] }),
  'request-approval': declarePorts({
    mailer: true,
    idempotent: true,
    callback: true,
    signingKey: true,
    approvalBaseUrl: true,
    approvals: ['get', 'markPending'],
    accounts: ['get', 'listStakeholders'],
    audit: ['appendOnce'],
  }),
  'act-approved': declarePorts({
    config: true,
    idempotent: true,
    tools: true,
    emailEvents: true,
    signingKey: true,
    approvalBaseUrl: true,
    approvals: ['get'],
    accounts: ['get', 'listStakeholders'],
    audit: ['appendOnce'],
    memory: ['append', 'addOutcomes'],
    runs: ['get', 'addCounters', 'addAgentSpend', 'releaseSpend', 'releaseTouches'],
  }),
  // Deferred sends: the shard's send slots, then each slot's actions at its time.
  'list-send-slots': declarePorts({ runs: ['listSendSlots'] }),
  'send-deferred': declarePorts({
    config: true,
    idempotent: true,
    tools: true,
    emailEvents: true,
    signingKey: true,
    approvalBaseUrl: true,
    accounts: ['get', 'listStakeholders'],
    audit: ['appendOnce'],
    memory: ['append', 'addOutcomes'],
    runs: ['listDeferredSends', 'addCounters', 'addAgentSpend', 'releaseSpend', 'releaseTouches'],
  }),
  'record-decision': declarePorts({ approvals: ['get'], audit: ['appendOnce'], memory: ['append'], runs: ['get', 'addCounters', 'releaseSpend', 'releaseTouches'] }),
  'approval-timed-out': declarePorts({ config: true, approvals: ['get', 'decide', 'create'], audit: ['appendOnce'], runs: ['get', 'addCounters', 'releaseSpend', 'releaseTouches'] }),
  summarize: declarePorts({ config: true, mailer: true, idempotent: true, digests: true, runs: ['get'], audit: ['appendOnce', 'streamsOfRun', 'heads'] }),
  'record-failure': declarePorts({ audit: ['appendOnce'], runs: ['addCounters'] }),
  // The approval links, and the marketing emails' one-click unsubscribe links (an unsubscribe is
  // a signal, stored through the ledger and applied at once).
  'approval-http': declarePorts({
    callback: true,
    signingKey: true,
    signalLedger: true,
    approvals: ['get', 'decide'],
    accounts: ['get', 'listStakeholders', 'putSignals', 'suppressStakeholder'],
    audit: ['append', 'appendOnce'],
    runs: ['countRefused'],
  }),
  // Signals in (shared/app/signals-*.ts): the signed HTTP endpoint (with its replay records), the
  // EventBridge rule for signal events, and SES's email events. Each stores through the ledger,
  // suppresses bounced and complaining people at once, audits that, and counts what it refuses.
  'signals-http': declarePorts({
    signalsKey: true,
    replayGuard: true,
    signalLedger: true,
    accounts: ['putSignals', 'listStakeholders', 'suppressStakeholder'],
    audit: ['appendOnce'],
    runs: ['countRefused'],
  }),
  'signals-events': declarePorts({ signalLedger: true, accounts: ['putSignals', 'listStakeholders', 'suppressStakeholder'], audit: ['appendOnce'], runs: ['countRefused'] }),
  // SES's events reach it only through the rule (no anonymous traffic): nothing to count.
  'ses-events': declarePorts({ signalLedger: true, accounts: ['putSignals', 'listStakeholders', 'suppressStakeholder'], audit: ['appendOnce'] }),
  // The daily audit verification (shared/app/audit-verification.ts): the digests, the streams they sign, one record.
  'audit-verify': declarePorts({ digestReader: true, audit: ['heads', 'readStream', 'appendOnce'] }),
} as const satisfies Record<string, StepPorts>;

/** Name of a Lambda of the system (a folder under functions/). */
export type StepName = keyof typeof STEP_PORTS;
/** Every Lambda of the system. */
export const STEP_NAMES = Object.keys(STEP_PORTS) as StepName[];

/** The ports of one named step. */
export type StepDeps<N extends StepName> = DepsOf<(typeof STEP_PORTS)[N]>;

/** The table ports a declaration uses, with their methods. */
export function tablePortsOf(ports: StepPorts): Array<[TablePort, readonly string[]]> {
  return TABLE_PORTS.flatMap((port) => {
    const methods = ports[port] as readonly string[] | undefined;
    return methods && methods.length > 0 ? [[port, methods] as [TablePort, readonly string[]]] : [];
  });
}

/** The flag ports a declaration uses. */
export const flagPortsOf = (ports: StepPorts): FlagPort[] => FLAG_PORTS.filter((port) => ports[port] === true);
