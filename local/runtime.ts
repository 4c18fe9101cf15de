/**
 * The embedded default: the real parts on 127.0.0.1. dynalite (the DynamoDB API, on a thread of
 * its own) with data under the data folder, the state machines that `cdk synth` produces run by
 * aws-local-stepfunctions, the real approval handler behind a local HTTP server (and the signals
 * handler behind a second one), the default EventBridge bus with the template's rules, local Step
 * Functions, SES and Secrets Manager endpoints, emails as .eml files, and the seeded market
 * simulator standing in for the world.
 *
 * As strict as AWS: each Lambda's ports are built by the same composition root as in AWS, from
 * that function's own synthesized environment (tables resolved to the local ones, endpoints on
 * 127.0.0.1), and every SDK call it makes is checked against its synthesized IAM statements.
 * Each run also reports what it used (transitions, executions, Lambda time, metered DynamoDB
 * capacity, emails) in the cost model's terms.
 */
import * as z from 'zod';
import { performance } from 'node:perf_hooks';
import { appendFileSync, chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { AsyncLocalStorage } from 'node:async_hooks';
import { basename, dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { loadCampaignBundle } from '../shared/config/load.ts';
import type { CampaignBundle } from '../shared/domain/config.ts';
import { InvalidConfigError } from '../shared/domain/errors.ts';
import { StaticConfigSource } from '../shared/adapters/config-source.ts';
import { CapacityMeter, createDynamoClient, documentClient, meteredIndexes, type CapacitySnapshot } from '../shared/adapters/dynamodb/client.ts';
import { sendBatchWrites } from '../shared/adapters/dynamodb/batch-write.ts';
import { batchPutStakeholders, batchWriteChunks, importAccountState } from '../shared/adapters/dynamodb/requests.ts';
import { ensureTables } from '../shared/adapters/dynamodb/create-tables.ts';
import { TABLES, VIRTUAL_SHARDS, localTableName, type TableKey } from '../shared/adapters/dynamodb/tables.ts';
import { PROJECT_ROOT } from '../cdk/constructs/agent-function.ts';
import { DynamoAccountRepository } from '../shared/adapters/dynamodb/account-repository.ts';
import { DynamoMemoryRepository } from '../shared/adapters/dynamodb/memory-repository.ts';
import { DynamoApprovalRepository } from '../shared/adapters/dynamodb/approval-repository.ts';
import { DynamoAuditLog } from '../shared/adapters/dynamodb/audit-log.ts';
import { DynamoRunRepository } from '../shared/adapters/dynamodb/run-repository.ts';
import { buildStepDeps, type AwsService, type Platform } from '../shared/adapters/lambda/compose.ts';
import { STEP_PORTS, type StepName } from '../shared/app/steps.ts';
import type { AccountRepository, ApprovalRepository, MemoryRepository } from '../shared/ports/index.ts';
import { synthesizeTemplate } from '../cdk/synth.ts';
import { TABLE_METADATA } from '../cdk/constructs/data-tables.ts';
import { approvalDepsOf } from '../functions/approval-http/deps.ts';
import { IamGuard, statementsOf, type IamGrantUse, type ResolvedStatement } from './engine/iam.ts';
import { startAwsEndpoints, type SentProspectEmail } from './engine/aws-endpoints.ts';
import { LocalEventBus, rulesOf, type PutEventResult, type PutEventsEntry } from './engine/event-bus.ts';
import { MAX_SIGNALS_BODY_BYTES } from '../shared/adapters/http/signals-endpoint.ts';
import { attachRecorder, recordInvocation, recordingTools, type InvocationRecord } from './engine/cassette.ts';
import { FaultTally, NO_FAULTS, faultyTools, throttle, type FaultPlan } from './engine/faults.ts';
import { startDynaliteThread } from './engine/dynalite-worker.ts';
import { readImportedBook } from './audit/read-only.ts';
import { OutboxMailer } from './outbox.ts';
import { startApprovalServer } from './approval-server.ts';
import { Market } from './simulator/market.ts';
import { bookFromImport } from './simulator/book.ts';
import { defaultScenario } from './simulator/scenario.ts';
import { SimulatedToolGateway } from './simulator/tool-gateway.ts';
import { localMacKeys } from './engine/local-keys.ts';
import { localLogsDir } from './engine/data-dirs.ts';
import { LOCAL_REGION, localBucketName, localSecretArn, resolveIntrinsics, resolveTemplate, type ResolveHooks, type ResolvedTemplate, type TemplateFunction, type TemplateStateMachine } from './engine/template.ts';
import { TaskTokenRegistry } from './engine/task-tokens.ts';
import { StartExecutionError, startSfnEndpoint } from './engine/sfn-endpoint.ts';
import { runIdOf } from '../shared/app/campaign-run.ts';
import { randomUUID } from 'node:crypto';
import { WorkflowEngine, type ExecutionStats, type LambdaUsage, type LocalLambda } from './engine/workflow-engine.ts';
import { withLogTally } from './engine/log-meter.ts';
import { costInputsOf, type RunUsage } from './engine/cost-inputs.ts';
import { DecidedApprovalInput, RunSummary, SendDeferredInput } from '../shared/app/contracts.ts';
import { CampaignRunStates } from '../cdk/constructs/campaign-workflow.ts';
import type { CostInputs } from '../shared/domain/cost.ts';
import type { AccountState, Stakeholder } from '../shared/domain/model.ts';

/** Options of the embedded default. */
export interface LocalRuntimeOptions {
  /** The campaign to run (its charters and guardrails are found relative to it). */
  readonly campaignFile: string;
  /** Where dynalite, the outbox, the market and the signing key live. @default '.data' */
  readonly dataDir?: string;
  /** Start from empty data. @default false */
  readonly reset?: boolean;
  /** Seed of the market and of the planners' exploration. @default 'amk-demo' */
  readonly seed?: string;
  /** Accounts in a newly created market. @default 60 */
  readonly accounts?: number;
  /**
   * Which book a newly created market is made of: a generated one (`accounts` of them), or the book
   * `amk import` put in the data folder, with hidden state drawn for it (local/simulator/book.ts).
   * @default 'simulated'
   */
  readonly book?: 'simulated' | 'imported';
  /** The first run's date (ISO) for a newly created market. @default '2027-01-04T14:00:00.000Z' */
  readonly start?: string;
  /** Port of the approval page server (0 = any free port). @default 0 */
  readonly approvalPort?: number;
  /** Retry waits in ms (tests make them instant). @default the definition's */
  readonly retryIntervalMs?: number;
  /** Tool calls (1-based) that fail once with a transient error (tests). */
  readonly toolFaults?: number[];
  /** Tool calls of one function (1-based, by step name) that fail once with a transient error (tests). */
  readonly toolFaultsOf?: Readonly<Record<string, readonly number[]>>;
  /** Told how the CRM import of a new market progresses (it dominates start-up for large books). */
  readonly onImportProgress?: (done: number, total: number) => void;
  /**
   * A cloud assembly (`cdk.out`) to run instead of synthesizing one: state machines, handler
   * mapping, environments and IAM all come from it. @default - synthesize in-process from the
   * campaign file's config folder
   */
  readonly assemblyDir?: string;
  /** Told of every SDK call IAM allowed: which function used which statement. */
  readonly onIamAllowed?: (use: IamGrantUse) => void;
  /**
   * Changes what one function is wired with before its ports are built (tests take a grant or a
   * variable away and show the function then fails as in AWS). @default - as synthesized
   */
  readonly rewire?: (fn: TemplateFunction, wiring: FunctionWiring) => FunctionWiring;
  /**
   * Steps (by name) whose every invocation is delivered twice with the same input, as Step
   * Functions does when it retries a task whose function had already finished. @default none
   */
  readonly duplicateDelivery?: readonly string[];
  /**
   * Invocations of a step (1-based, by step name) that fail before its handler runs, as a crashed
   * or throttled Lambda would (tests: a failing shard or approval branch). @default none
   */
  readonly stepFaults?: Readonly<Record<string, readonly number[]>>;
  /** Run-report emails the local SES refuses with a 503 before accepting one (tests). @default 0 */
  readonly failReportEmails?: number;
  /** Approval-request emails the local SES refuses with a 503 before accepting one (tests). @default 0 */
  readonly failApprovalEmails?: number;
  /** Faults to inject at a rate (tools, throttling, duplicate delivery). @default none */
  readonly faults?: FaultPlan;
  /** Told of every finished invocation with its event and the SDK calls it made (tests replay them). */
  readonly onInvocation?: (record: InvocationRecord) => void;
}

/** What a function runs with: its environment and its role's statements. */
export interface FunctionWiring {
  readonly env: Readonly<Record<string, string>>;
  readonly statements: readonly ResolvedStatement[];
}

/** The operator's view of the data (the CLI's own credentials), never handed to a function. */
export interface OperatorView {
  readonly accounts: AccountRepository;
  readonly memory: MemoryRepository;
  readonly approvals: ApprovalRepository;
  readonly audit: DynamoAuditLog;
  readonly runs: DynamoRunRepository;
  /** The link-signing key as the functions read it from the (local) secret. */
  readonly signingKey: Buffer;
  /** The key signal requests are signed with, as signals-http reads it from the (local) secret. */
  readonly signalsKey: Buffer;
}

/** The signal intake of the embedded default: the signed endpoint, the default bus, what SES sent. */
export interface LocalSignalIntake {
  /** `http://127.0.0.1:<port>`: POST signed batches to `<url>/signals`. */
  readonly url: string;
  /** The default EventBridge bus with the template's rules. */
  readonly bus: LocalEventBus;
  /** The prospect emails the SES stand-in accepted (what their SES events name them by), oldest first. */
  readonly sentProspectEmails: readonly SentProspectEmail[];
}

/** Prospect emails remembered for their SES events (the oldest are forgotten past this). */
const SENT_EMAILS_KEPT = 100_000;

/** One campaign run's outcome. */
export interface LocalRunResult {
  readonly runId: string;
  readonly now: string;
  readonly summary: unknown;
  readonly stats: ExecutionStats;
  readonly signalsNextWeek: number;
  /** What the run used, as counted (DynamoDB capacity metered per table). */
  readonly usage: RunUsage;
  /** The run's usage in the cost model's terms (price it with estimateCost). */
  readonly cost: CostInputs;
  /** Tool calls that reached the world and emails sent in this execution; pages replayed from the ledger. */
  readonly sideEffects: { readonly new: number; readonly replayed: number };
}

/** Usage of the Lambda functions the workflow does not invoke (the approval page), per run. */
class LambdaTally {
  private usage = new Map<string, { invocations: number; billedMs: number }>();
  logBytes = 0;

  add(logicalId: string, ms: number): void {
    const u = this.usage.get(logicalId) ?? { invocations: 0, billedMs: 0 };
    this.usage.set(logicalId, { invocations: u.invocations + 1, billedMs: u.billedMs + Math.max(1, Math.ceil(ms)) });
  }

  take(): { lambdas: Record<string, LambdaUsage>; logBytes: number } {
    const out = { lambdas: Object.fromEntries(this.usage), logBytes: this.logBytes };
    this.usage = new Map();
    this.logBytes = 0;
    return out;
  }
}

/** BatchWriteItem requests in flight during a bulk import (dynalite serves ~1,000 ops/s with 16). */
const IMPORT_CONCURRENCY = 8;

/** `--book imported` on a data folder that holds no imported book, or a simulated one asked for beside an imported book. */
export class NoImportedBookError extends Error {
  override readonly name = 'NoImportedBookError';
}

/** Whether the tables hold any account (a Query per virtual shard until one answers). */
async function anyAccount(accounts: DynamoAccountRepository): Promise<boolean> {
  for (let v = 0; v < VIRTUAL_SHARDS; v += 1) if ((await accounts.listByShard(v, 1)).items.length > 0) return true;
  return false;
}

/**
 * The CRM import of a new book in bulk: account states and stakeholders as 25-item BatchWriteItem
 * requests, several in flight. Only for a book whose tables hold none of its accounts yet (a new
 * market): unlike importAccount it does not remove contacts a previous import left behind.
 */
async function importBook(
  client: Parameters<typeof documentClient>[0],
  table: string,
  book: { accounts: AccountState[]; stakeholders: Stakeholder[] },
  onProgress?: (done: number, total: number) => void,
): Promise<void> {
  const doc = documentClient(client);
  const states = book.accounts.map((a) => ({ PutRequest: { Item: importAccountState(table, a).Item ?? {} } }));
  const contacts = batchPutStakeholders(table, book.stakeholders).flatMap((b) => b.RequestItems?.[table] ?? []);
  const batches = batchWriteChunks(table, [...states, ...contacts]);
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < batches.length) {
      const batch = batches[next++];
      if (batch) await sendBatchWrites(doc, [batch]);
      done += 1;
      if (done % 20 === 0 || done === batches.length) onProgress?.(done, batches.length);
    }
  };
  await Promise.all(Array.from({ length: IMPORT_CONCURRENCY }, worker));
}

const WEEK_MS = 7 * 86_400_000;

/**
 * Waits for a time of the simulated world, and the step each one releases. The world's clock is
 * simulated (a run is at its scheduled time, not now), so the engine skips the wait, and the step
 * runs at the time it waited for: what its wall clock reads in AWS after the Wait.
 */
const SIMULATED_WAITS: ReadonlyArray<{ readonly state: string; readonly step: StepName; readonly timeOf: (event: unknown) => string | undefined }> = [
  { state: CampaignRunStates.WaitForSendTime, step: 'send-deferred', timeOf: (event) => SendDeferredInput.safeParse(event).data?.slot.at },
  { state: CampaignRunStates.WaitForApprovedSendTime, step: 'act-approved', timeOf: (event) => DecidedApprovalInput.safeParse(event).data?.sent?.deferredTo },
];

/** The sender address of the in-process synth (the local SES stand-in accepts any). */
export const LOCAL_SENDER = 'agents@amk.localhost';

/**
 * The campaign an assembly runs: the bundled campaigns.json (what synth validated), picked by the
 * id of the given campaign file, or the only one.
 */
function campaignOfAssembly(assemblyDir: string, template: Record<string, unknown>, campaignFile: string | undefined): CampaignBundle {
  const resolved = resolveTemplate(template);
  const reader = [...resolved.functions.values()].find((f) => f.files['campaigns.json'] !== undefined);
  if (!reader) throw new InvalidConfigError(assemblyDir, [{ path: '', message: 'no function of the assembly carries campaigns.json' }]);
  const file = resolve(assemblyDir, reader.files['campaigns.json'] as string);
  const bundles = StaticConfigSource.fromJsonFile(file);
  const ids = bundles.ids();
  let wanted: string | undefined;
  if (campaignFile !== undefined && existsSync(campaignFile)) wanted = loadCampaignBundle(resolve(campaignFile)).campaign.id;
  const id = wanted !== undefined && ids.includes(wanted) ? wanted : ids.length === 1 ? ids[0] : undefined;
  if (id === undefined) {
    throw new InvalidConfigError(file, [{ path: '', message: `the assembly holds campaigns ${ids.join(', ')}; name one with --campaign (its file's id)` }]);
  }
  return bundles.get(id) as CampaignBundle;
}

/** Finds the config folder a campaign file belongs to (`<config>/campaigns/x.yaml`). */
function configDirOf(campaignFile: string): string {
  const dir = dirname(resolve(campaignFile));
  if (basename(dir) !== 'campaigns') {
    throw new InvalidConfigError(campaignFile, [{ path: '', message: 'expected the campaign file inside a "campaigns" folder of a config folder (like config/campaigns/x.yaml)' }]);
  }
  return dirname(dir);
}

/** Writes a file atomically (temp name, then rename), so a crash never leaves half a file. */
function writeAtomic(file: string, text: string, mode?: number): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text, mode === undefined ? undefined : { mode });
  renameSync(tmp, file);
}

/** A cloud assembly's stack template (the one with the state machines). */
export function readAssemblyTemplate(assemblyDir: string): Record<string, unknown> {
  const manifestFile = join(assemblyDir, 'manifest.json');
  if (!existsSync(manifestFile)) {
    throw new InvalidConfigError(assemblyDir, [{ path: 'manifest.json', message: 'not found: expected a cloud assembly (the cdk.out folder that `npx cdk synth` writes)' }]);
  }
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as { artifacts?: Record<string, { type?: string; properties?: { templateFile?: string } }> };
  const stacks = Object.values(manifest.artifacts ?? {}).filter((a) => a.type === 'aws:cloudformation:stack' && a.properties?.templateFile);
  for (const stack of stacks) {
    const template = JSON.parse(readFileSync(join(assemblyDir, stack.properties?.templateFile as string), 'utf8')) as Record<string, unknown>;
    const resources = Object.values((template.Resources ?? {}) as Record<string, { Type?: string }>);
    if (resources.some((r) => r.Type === 'AWS::StepFunctions::StateMachine')) return template;
  }
  throw new InvalidConfigError(assemblyDir, [{ path: 'manifest.json', message: 'no stack of this assembly has a state machine: is it an Autonomous Marketing assembly?' }]);
}

/** Names a template's tables locally by their key (`amk:table` metadata): the tables ensureTables creates. */
const localTableNames: ResolveHooks['tableName'] = (logicalId, resource) => {
  const key = resource.Metadata?.[TABLE_METADATA];
  if (typeof key !== 'string' || !(key in TABLES)) {
    throw new InvalidConfigError(`table ${logicalId}`, [{ path: `Metadata.${TABLE_METADATA}`, message: 'is missing: synthesize the assembly with this version of the project' }]);
  }
  return localTableName(key as TableKey);
};

/** The Lambda runtime's own variables (AWS sets these for every function; they are not in the template). */
function lambdaRuntimeEnv(fn: TemplateFunction, taskRoot: string): Record<string, string> {
  return { AWS_REGION: LOCAL_REGION, AWS_DEFAULT_REGION: LOCAL_REGION, AWS_LAMBDA_FUNCTION_NAME: fn.logicalId, LAMBDA_TASK_ROOT: taskRoot };
}

/**
 * The function's code folder as Lambda would unpack it: the bundle's asset folder when the
 * assembly was bundled, else a folder in the data folder with the files the bundle would carry.
 */
function taskRootOf(fn: TemplateFunction, assemblyDir: string, dataDir: string): string {
  const files = Object.entries(fn.files);
  if (fn.assetPath !== undefined) {
    const asset = resolve(assemblyDir, fn.assetPath);
    if (files.every(([name]) => existsSync(join(asset, name)))) return asset;
  }
  const root = join(dataDir, 'functions', fn.logicalId);
  mkdirSync(root, { recursive: true });
  for (const [name, source] of files) copyFileSync(resolve(assemblyDir, source), join(root, name));
  return root;
}

/** The generated secrets of a template, kept in the data folder (as Secrets Manager keeps them). */
function localSecrets(template: ResolvedTemplate, dataDir: string): Map<string, string> {
  const dir = join(dataDir, 'secrets');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const secrets = new Map<string, string>();
  for (const [logicalId, res] of Object.entries(template.resources)) {
    if (res.Type !== 'AWS::SecretsManager::Secret') continue;
    const file = join(dir, logicalId);
    if (!existsSync(file)) writeAtomic(file, randomBytes(48).toString('base64url').slice(0, 64), 0o600);
    chmodSync(file, 0o600);
    secrets.set(localSecretArn(logicalId), readFileSync(file, 'utf8').trim());
  }
  // Secrets the stack does not create but reads by ARN (the connectors' tokens and keys): their
  // values, by ARN, in secrets/imported.json. One missing there is missing here as in AWS.
  const imported = join(dir, IMPORTED_SECRETS_FILE);
  if (existsSync(imported)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(imported, 'utf8'));
    } catch (err) {
      throw new InvalidConfigError(imported, [{ path: '(root)', message: `not JSON (${err instanceof Error ? err.message : String(err)}); expected { "<secret ARN>": "<value>" }` }], { cause: err });
    }
    const values = z.record(z.string().startsWith('arn:', 'a secret ARN'), z.string().min(1)).safeParse(parsed);
    if (!values.success) {
      throw new InvalidConfigError(imported, values.error.issues.map((i) => ({ path: i.path.join('.') || '(root)', message: `${i.message}; expected { "<secret ARN>": "<value>" }` })));
    }
    for (const [arn, value] of Object.entries(values.data)) secrets.set(arn, value);
  }
  return secrets;
}

/** The file of a data folder's `secrets/` that holds the values of secrets the stack reads by ARN. */
export const IMPORTED_SECRETS_FILE = 'imported.json';

/** The S3 stand-in's folder, with one folder per bucket of the template. */
export function localBuckets(template: ResolvedTemplate, dataDir: string): string {
  const dir = join(dataDir, 's3');
  for (const [logicalId, res] of Object.entries(template.resources)) {
    if (res.Type === 'AWS::S3::Bucket') mkdirSync(join(dir, localBucketName(logicalId)), { recursive: true });
  }
  return dir;
}

/** The embedded default, started. */
export class LocalRuntime {
  private runNow: string;
  private runStartedAt = Date.now();

  private constructor(
    /** Consumed DynamoDB capacity of this process's clients, reset per run. */
    readonly meter: CapacityMeter,
    private readonly mailCounter: { sent: number; team: number },
    private readonly extraLambdas: LambdaTally,
    readonly dataDir: string,
    readonly bundle: CampaignBundle,
    readonly template: ResolvedTemplate,
    readonly campaignRun: TemplateStateMachine,
    readonly engine: WorkflowEngine,
    /** The operator's view of the data; the functions each have their own, narrower ports. */
    readonly deps: OperatorView,
    readonly market: Market,
    readonly tokens: TaskTokenRegistry,
    readonly approvalUrl: string,
    readonly outboxDir: string,
    readonly toolGateway: SimulatedToolGateway,
    /** What each function runs with (its synthesized environment and statements, resolved). */
    readonly wiring: ReadonlyMap<string, FunctionWiring>,
    /** The local stand-in of each AWS service the functions call. */
    readonly endpoints: Readonly<Record<AwsService, string>>,
    /** What was injected so far (all zero without a fault plan). */
    readonly faults: FaultTally,
    private readonly closers: Array<() => Promise<void>>,
    /** The schedules' target (StartRun), invoked for every scheduled run. */
    private readonly startRun: { readonly logicalId: string; readonly lambda: LocalLambda },
    /** Where signals come in: the signed endpoint, the default bus, the sent prospect emails. */
    readonly signals: LocalSignalIntake,
    /** The daily schedule's other target: the audit verifier (audit-verify). */
    private readonly verifier: { readonly logicalId: string; readonly lambda: LocalLambda } | undefined,
  ) {
    this.runNow = market.now();
  }

  /** Starts every part; throws InvalidConfigError before anything is written if the config is bad. */
  static async start(options: LocalRuntimeOptions): Promise<LocalRuntime> {
    const dataDir = resolve(options.dataDir ?? '.data');
    let template: Record<string, unknown>;
    let assemblyDir: string;
    let bundle: CampaignBundle;
    if (options.assemblyDir !== undefined) {
      // What the user is about to deploy: nothing is synthesized, the campaigns are the bundled ones.
      assemblyDir = resolve(options.assemblyDir);
      template = readAssemblyTemplate(assemblyDir);
      bundle = campaignOfAssembly(assemblyDir, template, options.campaignFile);
      if (options.reset) rmSync(dataDir, { recursive: true, force: true });
    } else {
      const campaignFile = resolve(options.campaignFile);
      // Validate first: a bad file must fail before any data is touched.
      bundle = loadCampaignBundle(campaignFile);
      const configDir = configDirOf(campaignFile);
      if (options.reset) rmSync(dataDir, { recursive: true, force: true });
      mkdirSync(dataDir, { recursive: true });
      // The very template `cdk synth` produces (bundling skipped: the handlers run from source here).
      const synthesized = synthesizeTemplate({
        outdir: join(dataDir, 'cdk.out'),
        configDir,
        bundling: false,
        context: { sender: LOCAL_SENDER, plannerSeed: options.seed ?? 'amk-demo' },
      });
      template = synthesized.template;
      assemblyDir = synthesized.assemblyDir;
    }
    mkdirSync(dataDir, { recursive: true });
    const outboxDir = join(dataDir, 'outbox');
    mkdirSync(join(outboxDir, 'prospects'), { recursive: true });

    const resolved = resolveTemplate(template);
    const campaignRun = [...resolved.stateMachines.values()].find((sm) => sm.type === 'STANDARD');
    if (!campaignRun) throw new Error('The synthesized template has no STANDARD state machine');

    const closers: Array<() => Promise<void>> = [];
    try {
      // On a thread of its own: dynalite would otherwise share one core with every handler.
      const dynamo = await startDynaliteThread({ path: join(dataDir, 'dynamodb') });
      closers.push(() => dynamo.close());
      const names = Object.fromEntries((Object.keys(TABLES) as TableKey[]).map((k) => [k, localTableName(k)])) as Record<TableKey, string>;
      // The indexes per table name, as declared (tables.ts), so the meter can add the index
      // writes dynalite does not report.
      const meter = new CapacityMeter({ indexes: meteredIndexes(names) });
      // The operator's client (the CLI's credentials): creates the tables, imports the book, and
      // lets the world deliver its signals. No function uses it.
      const client = createDynamoClient({ endpoint: dynamo.endpoint, meter });
      closers.push(async () => client.destroy());
      await ensureTables(client, names);

      const seed = options.seed ?? 'amk-demo';
      const marketFile = join(dataDir, 'market.json');
      const accounts = new DynamoAccountRepository(client, names.accounts);
      let market: Market;
      if (existsSync(marketFile)) {
        market = Market.fromJSON(JSON.parse(readFileSync(marketFile, 'utf8')));
      } else if (options.book === 'imported') {
        // The team's own book, as `amk import` stored it: the simulator answers for these accounts
        // and people. Nothing is imported again (the tables already hold the book).
        const real = await readImportedBook(accounts);
        if (real.accounts.length === 0) {
          throw new NoImportedBookError(`no imported book in ${dataDir}: run \`amk import accounts FILE --data ${dataDir}\` and \`amk import contacts FILE --data ${dataDir}\` first (or leave out --book imported to run on a simulated book)`);
        }
        market = Market.create({ seed, accounts: 0, start: options.start ?? '2027-01-04T14:00:00.000Z', book: bookFromImport(seed, defaultScenario, real) });
        writeAtomic(marketFile, JSON.stringify(market.toJSON()));
      } else {
        // A simulated book never lands beside an imported one (their accounts would mix).
        if (await anyAccount(accounts)) {
          throw new NoImportedBookError(`${dataDir} holds an imported book: run it with --book imported, or point --data at another folder for a simulated one`);
        }
        market = Market.create({ seed, accounts: options.accounts ?? 60, start: options.start ?? '2027-01-04T14:00:00.000Z' });
        // The CRM import: what the world lets us know about the book. market.json is written only
        // after it, so a new market always lands in tables that hold none of its accounts.
        await importBook(client, names.accounts, market.book(), options.onImportProgress);
        writeAtomic(marketFile, JSON.stringify(market.toJSON()));
      }
      // The world's journal: every touch, written before the tool call returns. The snapshot holds
      // the touches up to its count; the ones after it (a run killed mid-week) are replayed, so
      // what a tool did to the world survives a kill -9 and duplicates are counted from its side.
      const journal = join(dataDir, 'market-touches.jsonl');
      if (existsSync(journal)) {
        const upTo = market.totalTouches();
        for (const line of readFileSync(journal, 'utf8').split('\n')) {
          if (line.trim() === '') continue;
          const entry = JSON.parse(line) as { n: number; touch: unknown };
          if (entry.n > upTo) market.replay(entry.touch);
        }
      }
      market.onTouch = (touch) => appendFileSync(journal, `${JSON.stringify({ n: market.totalTouches(), touch })}\n`);

      const tokens = new TaskTokenRegistry();
      let runtime: LocalRuntime | undefined;
      // StartExecution (the schedule's target starts runs by name) is served by this runtime's engine.
      const sfn = await startSfnEndpoint(tokens, 0, (r) => {
        if (runtime === undefined) throw new Error('StartExecution before the runtime started');
        return runtime.startExecution(r);
      });
      closers.push(() => sfn.close());

      // The clock of an invocation that a simulated Wait released is the time it waited for, moving
      // on in real time from there (SIMULATED_WAITS); everything else runs at the run's clock.
      const waited = new AsyncLocalStorage<{ readonly at: number; readonly since: number }>();
      const clock = () => {
        const now = runtime ? runtime.clock() : market.now();
        const moved = waited.getStore();
        return moved === undefined ? now : new Date(Math.max(Date.parse(now), moved.at + (Date.now() - moved.since))).toISOString();
      };
      const atItsTime = (name: StepName, handler: LocalLambda): LocalLambda => {
        const wait = SIMULATED_WAITS.find((w) => w.step === name);
        if (wait === undefined) return handler;
        return async (event, context) => {
          const at = wait.timeOf(event);
          return at === undefined ? handler(event, context) : waited.run({ at: Date.parse(at), since: Date.now() }, () => handler(event, context));
        };
      };
      const toolGateway = new SimulatedToolGateway(market, clock, { faults: { failOnCall: options.toolFaults ?? [] } });
      const faults = new FaultTally(options.faults ?? NO_FAULTS);
      const mailCounter = { sent: 0, team: 0 };
      const secrets = localSecrets(resolved, dataDir);
      const sentProspectEmails: SentProspectEmail[] = [];
      const aws = await startAwsEndpoints({
        macKeys: localMacKeys(resolved, dataDir),
        s3Dir: localBuckets(resolved, dataDir),
        clock,
        outbox: new OutboxMailer(outboxDir, clock),
        prospects: new OutboxMailer(join(outboxDir, 'prospects'), clock),
        secrets,
        ...(options.failReportEmails !== undefined ? { failReportEmails: options.failReportEmails } : {}),
        ...(options.failApprovalEmails !== undefined ? { failApprovalEmails: options.failApprovalEmails } : {}),
        onEmail: (to) => {
          mailCounter.sent += 1;
          if (to === 'team') mailCounter.team += 1;
        },
        onProspectEmail: (sent) => {
          sentProspectEmails.push(sent);
          if (sentProspectEmails.length > SENT_EMAILS_KEPT) sentProspectEmails.shift();
        },
      });
      closers.push(() => aws.close());

      let approvalHandler: ((e: APIGatewayProxyEventV2) => Promise<APIGatewayProxyResultV2>) | undefined;
      // Each page view and decision is one invocation of the approval function's URL in AWS.
      const extraLambdas = new LambdaTally();
      const approvalFunction = [...resolved.functions.values()].find((f) => f.name === 'approval-http');
      const server = await startApprovalServer({
        port: options.approvalPort ?? 0,
        handler: async (e) => {
          const handler = approvalHandler;
          if (!handler) throw new Error('approval handler not ready');
          const started = performance.now();
          const logs = { bytes: 0 };
          try {
            return await withLogTally(logs, () => handler(e));
          } finally {
            if (approvalFunction) extraLambdas.add(approvalFunction.logicalId, performance.now() - started);
            extraLambdas.logBytes += logs.bytes;
          }
        },
      });
      closers.push(() => server.close());

      // The signals endpoint's Function URL: a second local server, the signals-http handler behind it.
      let signalsHandler: ((e: APIGatewayProxyEventV2) => Promise<APIGatewayProxyResultV2>) | undefined;
      const signalsFunction = [...resolved.functions.values()].find((f) => f.name === 'signals-http');
      const signalsServer = await startApprovalServer({
        port: 0,
        functionName: 'signals-http',
        maxBodyBytes: MAX_SIGNALS_BODY_BYTES,
        handler: async (e) => {
          const handler = signalsHandler;
          if (!handler) throw new Error('signals handler not ready');
          const started = performance.now();
          const logs = { bytes: 0 };
          try {
            return await withLogTally(logs, () => handler(e));
          } finally {
            if (signalsFunction) extraLambdas.add(signalsFunction.logicalId, performance.now() - started);
            extraLambdas.logBytes += logs.bytes;
          }
        },
      });
      closers.push(() => signalsServer.close());
      // Each Function URL resolves to the local server of the function it fronts.
      const urlOf = (urlLogicalId: string): string => {
        const target = resolved.resources[urlLogicalId]?.Properties?.TargetFunctionArn as { 'Fn::GetAtt'?: [string, string] } | undefined;
        const fn = resolved.functions.get(target?.['Fn::GetAtt']?.[0] ?? '');
        return fn?.name === 'signals-http' ? `${signalsServer.url}/` : `${server.url}/`;
      };

      // Each function: its own environment from the template, its own SDK clients on the local
      // endpoints, each checked against its own role's statements.
      const hooks: ResolveHooks = { tableName: localTableNames, functionUrl: urlOf };
      const endpoints: Record<AwsService, string> = { dynamodb: dynamo.endpoint, sfn: sfn.url, sesv2: aws.url, secretsmanager: aws.url, kms: aws.url, s3: aws.url };
      const wiring = new Map<string, FunctionWiring>();
      const logsDir = localLogsDir(dataDir);
      const platformOf = (fn: TemplateFunction): { platform: Platform; env: Record<string, string> } => {
        const taskRoot = taskRootOf(fn, assemblyDir, dataDir);
        const synthesizedEnv = Object.fromEntries(Object.entries(fn.environment).map(([k, v]) => [k, String(resolveIntrinsics(v, resolved.resources, hooks))]));
        let wired: FunctionWiring = { env: { ...synthesizedEnv, ...lambdaRuntimeEnv(fn, taskRoot) }, statements: statementsOf(resolved, fn, hooks) };
        if (options.rewire) wired = options.rewire(fn, wired);
        wiring.set(fn.logicalId, wired);
        const guard = new IamGuard({
          functionName: fn.name,
          logicalId: fn.logicalId,
          roleLogicalId: fn.roleLogicalId,
          statements: wired.statements,
          stateMachineOfToken: (token) => tokens.stateMachineOf(token),
          ...(options.onIamAllowed ? { onAllowed: options.onIamAllowed } : {}),
        });
        const platform: Platform = {
          clientConfig: (service) => ({
            endpoint: endpoints[service],
            region: LOCAL_REGION,
            credentials: { accessKeyId: `local-${fn.logicalId}`, secretAccessKey: 'local' },
            // The S3 stand-in serves path-style requests (no bucket subdomains on 127.0.0.1).
            ...(service === 's3' ? { forcePathStyle: true } : {}),
          }),
          instrument: (c, service) => {
            guard.attach(c, service);
            if (service === 'dynamodb') throttle(c, faults);
            if (options.onInvocation) attachRecorder(c, service);
          },
          meter,
          // The function's log group: its decision lines, one JSON object per line (what Logs Insights reads).
          auditLines: (line) => {
            mkdirSync(logsDir, { recursive: true });
            appendFileSync(join(logsDir, `${fn.name}.jsonl`), `${JSON.stringify({ '@timestamp': clock(), function: fn.name, ...line })}\n`);
          },
          // The world stands behind the deployed connectors: what they deliver reaches the market.
          tools: (connectors) => {
            const world = faultyTools(toolGateway.through(connectors, options.toolFaultsOf?.[fn.name]), faults);
            return options.onInvocation ? recordingTools(world) : world;
          },
          clock,
        };
        return { platform, env: { ...wired.env } };
      };
      const stepOf = (fn: TemplateFunction): StepName => {
        if (!(fn.name in STEP_PORTS)) throw new Error(`Function ${fn.logicalId} (${fn.entry}) is not a step of this version (no STEP_PORTS entry "${fn.name}")`);
        return fn.name as StepName;
      };
      const once = <T>(make: () => Promise<T>): (() => Promise<T>) => {
        let value: Promise<T> | undefined;
        return () => {
          value ??= make().catch((err: unknown) => {
            value = undefined;
            throw err;
          });
          return value;
        };
      };

      // With stepFaults, the given invocations of a step fail before its handler runs.
      const faulty = (name: string, handler: LocalLambda): LocalLambda => {
        const failOn = new Set(options.stepFaults?.[name] ?? []);
        if (failOn.size === 0) return handler;
        let calls = 0;
        return async (event, context) => {
          calls += 1;
          if (failOn.has(calls)) throw Object.assign(new Error(`injected failure of ${name}, invocation ${calls}`), { name: 'InjectedFault' });
          return handler(event, context);
        };
      };
      // With onInvocation, each invocation's SDK calls are recorded (attachRecorder) under its event.
      const recorded = <E, C extends unknown[], R>(fn: TemplateFunction, handler: (event: E, ...rest: C) => Promise<R>) => {
        const onInvocation = options.onInvocation;
        if (!onInvocation) return handler;
        return async (event: E, ...rest: C): Promise<R> => {
          const record: InvocationRecord = { functionName: fn.name, logicalId: fn.logicalId, event: structuredClone(event), at: clock(), calls: [], tools: [] };
          try {
            return await recordInvocation(record, () => handler(event, ...rest));
          } catch (err) {
            record.failed = true;
            throw err;
          } finally {
            onInvocation(record);
          }
        };
      };
      if (approvalFunction) {
        const { platform, env } = platformOf(approvalFunction);
        const { createHandler: createApprovalHandler } = await import('../functions/approval-http/handler.ts');
        const handler = createApprovalHandler(
          once(async () => approvalDepsOf(await buildStepDeps('approval-http', env, platform), { allowSimulatedReviewer: true })),
        ) as unknown as (e: APIGatewayProxyEventV2) => Promise<APIGatewayProxyResultV2>;
        approvalHandler = recorded(approvalFunction, (e: APIGatewayProxyEventV2) => handler(e));
      }
      if (signalsFunction) {
        const { platform, env } = platformOf(signalsFunction);
        const { createHandler: createSignalsHandler } = await import('../functions/signals-http/handler.ts');
        const handler = createSignalsHandler(once(() => buildStepDeps('signals-http', env, platform))) as unknown as (e: APIGatewayProxyEventV2) => Promise<APIGatewayProxyResultV2>;
        signalsHandler = recorded(signalsFunction, (e: APIGatewayProxyEventV2) => handler(e));
      }

      const lambdas = new Map<string, LocalLambda>();
      let startRunLambda: { logicalId: string; lambda: LocalLambda } | undefined;
      let verifierLambda: { logicalId: string; lambda: LocalLambda } | undefined;
      for (const fn of resolved.functions.values()) {
        if (fn.name === 'approval-http' || fn.name === 'signals-http') continue; // served by their local Function URLs, not the workflow
        const name = stepOf(fn);
        const mod = (await import(pathToFileURL(resolve(PROJECT_ROOT, fn.entry)).href)) as { createHandler?: (deps: () => Promise<unknown>) => LocalLambda };
        if (typeof mod.createHandler !== 'function') throw new Error(`${fn.entry} exports no createHandler`);
        const { platform, env } = platformOf(fn);
        const handler = faulty(name, atItsTime(name, recorded(fn, mod.createHandler(once(() => buildStepDeps(name, env, platform))))));
        const twice = faults.plan.duplicates || options.duplicateDelivery?.includes(name) === true;
        // The first delivery's result is dropped, as when its response was lost to a retry.
        lambdas.set(
          fn.logicalId,
          twice
            ? async (event, context) => {
                await handler(structuredClone(event), context);
                faults.duplicateDeliveries += 1;
                return handler(event, context);
              }
            : handler,
        );
      }
      const engine = new WorkflowEngine({
        template: resolved,
        lambdas,
        tokens,
        retryIntervalMs: options.retryIntervalMs,
        waitTimeOverrides: Object.fromEntries(SIMULATED_WAITS.map((w) => [w.state, 0])),
      });

      // Each key as the function that reads it finds it: the secret its own environment names.
      const secretOf = (step: string, variable: string): Buffer => {
        const fn = [...resolved.functions.values()].find((f) => f.name === step);
        const arn = fn === undefined ? undefined : wiring.get(fn.logicalId)?.env[variable];
        return Buffer.from((arn === undefined ? undefined : secrets.get(arn)) ?? '', 'utf8');
      };
      // The default bus: a matched event invokes its target as Lambda's asynchronous invocation does.
      const bus = new LocalEventBus(
        rulesOf(resolved, hooks),
        async (logicalId, event) => {
          const lambda = lambdas.get(logicalId);
          if (lambda === undefined) throw new Error(`the rule's target ${logicalId} is not a function of the template`);
          const started = performance.now();
          try {
            return await lambda(event, { functionName: logicalId, awsRequestId: randomUUID(), getRemainingTimeInMillis: () => 30_000, callbackWaitsForEmptyEventLoop: false });
          } finally {
            extraLambdas.add(logicalId, performance.now() - started);
          }
        },
        clock,
      );
      const operator: OperatorView = {
        accounts,
        memory: new DynamoMemoryRepository(client, names.memory),
        approvals: new DynamoApprovalRepository(client, names.approvals),
        audit: new DynamoAuditLog(client, names.audit),
        runs: new DynamoRunRepository(client, names.runs),
        signingKey: secretOf('approval-http', 'SIGNING_KEY_SECRET_ARN'),
        signalsKey: secretOf('signals-http', 'SIGNALS_KEY_SECRET_ARN'),
      };
      for (const fn of resolved.functions.values()) {
        const lambda = lambdas.get(fn.logicalId);
        if (fn.name === 'start-run' && lambda) startRunLambda = { logicalId: fn.logicalId, lambda };
        if (fn.name === 'audit-verify' && lambda) verifierLambda = { logicalId: fn.logicalId, lambda };
      }
      if (startRunLambda === undefined) throw new Error('the template has no start-run function (the schedules\' target)');
      runtime = new LocalRuntime(meter, mailCounter, extraLambdas, dataDir, bundle, resolved, campaignRun, engine, operator, market, tokens, server.url, outboxDir, toolGateway, wiring, endpoints, faults, closers, startRunLambda, {
        url: signalsServer.url,
        bus,
        sentProspectEmails,
      }, verifierLambda);
      return runtime;
    } catch (err) {
      for (const close of closers.reverse()) await close().catch(() => undefined);
      throw err;
    }
  }

  /**
   * What the daily schedule does in AWS: the audit verifier checks the trail against the run
   * digests published in its window and records what it found (an `audit_verified` event, and
   * its decision line, which the AuditDigestMismatch alarm counts). Returns its result.
   */
  async verifyAudit(scheduledAt: string = this.clock()): Promise<{ digests: number; validDigests: number; streams: number; events: number; findings: number }> {
    if (this.verifier === undefined) throw new Error('the template has no audit-verify function');
    const started = performance.now();
    try {
      return (await this.verifier.lambda(
        { scheduledAt },
        { functionName: this.verifier.logicalId, awsRequestId: randomUUID(), getRemainingTimeInMillis: () => 600_000, callbackWaitsForEmptyEventLoop: false },
      )) as { digests: number; validDigests: number; streams: number; events: number; findings: number };
    } finally {
      this.extraLambdas.add(this.verifier.logicalId, performance.now() - started);
    }
  }

  /** PutEvents on the local default bus: each event to the targets of the template's rules it matches. */
  putEvents(entries: readonly PutEventsEntry[]): Promise<PutEventResult[]> {
    return this.signals.bus.putEvents(entries);
  }

  /** The local clock: the simulated week's start plus real time elapsed in this run. */
  clock(): string {
    return new Date(Date.parse(this.runNow) + (Date.now() - this.runStartedAt)).toISOString();
  }

  /**
   * Runs one weekly CampaignRun on the synthesized definition, then lets the market answer. With
   * `runId` of a run that exists, that run is started again at its own clock (it resumes: pages it
   * recorded replay from the ledger) and the world does not move on.
   */
  async runWeek(
    opts: {
      onEvent?: (e: { type: string; state?: string; machine: string }) => void;
      runId?: string;
      /**
       * Another run started at the same moment on the same book and clock (a manual run beside the
       * scheduled one): both execute at once, overlapping; the result is the first's.
       */
      alongside?: string;
    } = {},
  ): Promise<LocalRunResult> {
    const existing = opts.runId !== undefined ? await this.deps.runs.get(opts.runId) : undefined;
    this.runNow = existing?.now ?? this.market.now();
    this.runStartedAt = Date.now();
    // A scheduled run is named by StartRun from its scheduled time (the same function in AWS).
    const runId = opts.runId ?? runIdOf(this.bundle.campaign.id, this.runNow);
    const touchesBefore = this.market.totalTouches();
    const pagesBefore = await this.deps.runs.countPages(runId);
    // Everything counted from here to the end of the execution is this run's.
    this.meter.reset();
    const emailsBefore = this.mailCounter.sent;
    const teamEmailsBefore = this.mailCounter.team;
    this.extraLambdas.take();
    const execute = (id: string, onEvent?: typeof opts.onEvent) =>
      this.engine.execute(this.campaignRun.logicalId, { campaignId: this.bundle.campaign.id, scheduledTime: this.runNow, runId: id }, { name: id, onEvent });
    // Scheduled (no run id): as EventBridge Scheduler does, invoke StartRun, which starts the
    // execution named after the run through StartExecution. A run id given: a manual start of it.
    const scheduled = async () => {
      this.currentOnEvent = opts.onEvent;
      const started = performance.now();
      const out = (await this.startRun.lambda(
        { campaignId: this.bundle.campaign.id, scheduledTime: this.runNow },
        { functionName: this.startRun.logicalId, awsRequestId: randomUUID(), getRemainingTimeInMillis: () => 30_000, callbackWaitsForEmptyEventLoop: false },
      )) as { runId: string };
      this.extraLambdas.add(this.startRun.logicalId, performance.now() - started);
      const execution = this.executions.get(out.runId);
      if (out.runId !== runId || execution === undefined) throw new Error(`StartRun started ${out.runId}, expected the execution ${runId}`);
      return execution.done;
    };
    const [{ output, stats }] = await Promise.all([opts.runId === undefined ? scheduled() : execute(runId, opts.onEvent), ...(opts.alongside !== undefined ? [execute(opts.alongside)] : [])]);
    const capacity: CapacitySnapshot = this.meter.snapshot();
    const extra = this.extraLambdas.take();
    const usage: RunUsage = {
      stats: { ...stats, handlerLogBytes: stats.handlerLogBytes + extra.logBytes },
      capacity,
      accountIterations: RunSummary.parse(output).counters.accounts ?? 0,
      emails: this.mailCounter.sent - emailsBefore,
      extraLambdas: extra.lambdas,
    };
    // What reached the world (the market's own count: every prospect email is one) or the team's
    // mailboxes in this execution, and how many pages replayed from the ledger instead of being worked.
    const sideEffects = { new: this.market.totalTouches() - touchesBefore + (this.mailCounter.team - teamEmailsBefore), replayed: pagesBefore };
    // The world answers: next week's signals, which the next run observes; once per week (not for
    // a run repeated after its week was answered, but for one restarted before it was).
    let signals: ReturnType<Market['advance']> = [];
    if (Date.parse(this.market.now()) <= Date.parse(this.runNow)) {
      const next = new Date(Date.parse(this.runNow) + WEEK_MS).toISOString();
      signals = this.market.advance(next);
      await this.deps.accounts.putSignals(signals);
      writeAtomic(join(this.dataDir, 'market.json'), JSON.stringify(this.market.toJSON()));
    }
    return { runId, now: this.runNow, summary: output, stats, signalsNextWeek: signals.length, usage, cost: costInputsOf(usage, this.template), sideEffects };
  }

  /** Executions started through StartExecution in this process, by name. */
  private readonly executions = new Map<string, { input: string; startDate: number; running: boolean; done: ReturnType<WorkflowEngine['execute']> }>();
  private currentOnEvent: ((e: { type: string; state?: string; machine: string }) => void) | undefined;

  /**
   * StartExecution as Step Functions answers it for a Standard state machine: a name that is
   * running with the same input is that execution (nothing new starts); a name already used
   * otherwise is ExecutionAlreadyExists.
   */
  startExecution(r: { stateMachineArn: string; name: string; input: unknown }): { executionArn: string; startDate: number } {
    const logicalId = r.stateMachineArn.split(':stateMachine:')[1];
    if (logicalId !== this.campaignRun.logicalId) throw new StartExecutionError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${r.stateMachineArn}'`);
    const executionArn = r.stateMachineArn.replace(':stateMachine:', ':execution:') + `:${r.name}`;
    const input = JSON.stringify(r.input);
    const existing = this.executions.get(r.name);
    if (existing !== undefined) {
      if (existing.running && existing.input === input) return { executionArn, startDate: existing.startDate };
      throw new StartExecutionError('ExecutionAlreadyExists', `Execution Already Exists: '${executionArn}'`);
    }
    const entry = { input, startDate: Date.now(), running: true, done: this.engine.execute(logicalId, r.input, { name: r.name, onEvent: this.currentOnEvent }) };
    const finished = () => {
      entry.running = false;
    };
    entry.done.then(finished, finished);
    this.executions.set(r.name, entry);
    return { executionArn, startDate: entry.startDate };
  }

  /** Stops every server and closes the database. */
  async close(): Promise<void> {
    for (const close of this.closers.reverse()) await close().catch(() => undefined);
  }
}
