/**
 * The embedded default: the real parts on 127.0.0.1. dynalite (the DynamoDB API, on a thread of
 * its own) with data under the data folder, the state machines that `cdk synth` produces run by
 * aws-local-stepfunctions, the real approval handler behind a local HTTP server, a local Step
 * Functions callback endpoint, emails as .eml files, and the seeded market simulator standing in
 * for the world. Each run also reports what it used (transitions, executions, Lambda time, metered
 * DynamoDB capacity, emails) in the cost model's terms.
 */
import { performance } from 'node:perf_hooks';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SFNClient } from '@aws-sdk/client-sfn';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { loadCampaignBundle } from '../shared/config/load.ts';
import type { CampaignBundle } from '../shared/domain/config.ts';
import { InvalidConfigError } from '../shared/domain/errors.ts';
import type { AppDeps } from '../shared/app/deps.ts';
import { StaticConfigSource } from '../shared/adapters/config-source.ts';
import { approvalDepsOf } from '../shared/app/request-approval-step.ts';
import { CapacityMeter, createDynamoClient, documentClient, meteredIndexes, type CapacitySnapshot } from '../shared/adapters/dynamodb/client.ts';
import { sendBatchWrites } from '../shared/adapters/dynamodb/batch-write.ts';
import { batchPutStakeholders, batchWriteChunks, importAccountState } from '../shared/adapters/dynamodb/requests.ts';
import { ensureTables } from '../shared/adapters/dynamodb/create-tables.ts';
import { TABLES, localTableName, type TableKey } from '../shared/adapters/dynamodb/tables.ts';
import { DynamoAccountRepository } from '../shared/adapters/dynamodb/account-repository.ts';
import { DynamoMemoryRepository } from '../shared/adapters/dynamodb/memory-repository.ts';
import { DynamoApprovalRepository } from '../shared/adapters/dynamodb/approval-repository.ts';
import { DynamoAuditLog } from '../shared/adapters/dynamodb/audit-log.ts';
import { DynamoRunRepository } from '../shared/adapters/dynamodb/run-repository.ts';
import { createIdempotentRunner } from '../shared/adapters/idempotency.ts';
import { SfnTaskCallback } from '../shared/adapters/sfn-callback.ts';
import { synthesizeTemplate } from '../cdk/synth.ts';
import { startDynaliteThread } from './engine/dynalite-worker.ts';
import { OutboxMailer } from './outbox.ts';
import { startApprovalServer } from './approval-server.ts';
import { Market } from './simulator/market.ts';
import { SimulatedToolGateway } from './simulator/tool-gateway.ts';
import { resolveTemplate, type ResolvedTemplate, type TemplateStateMachine } from './engine/template.ts';
import { TaskTokenRegistry } from './engine/task-tokens.ts';
import { startSfnEndpoint } from './engine/sfn-endpoint.ts';
import { WorkflowEngine, type ExecutionStats, type LambdaUsage, type LocalLambda } from './engine/workflow-engine.ts';
import { withLogTally } from './engine/log-meter.ts';
import { costInputsOf, type RunUsage } from './engine/cost-inputs.ts';
import { RunSummary } from '../shared/app/contracts.ts';
import type { CostInputs } from '../shared/domain/cost.ts';
import type { Mailer, OutgoingEmail } from '../shared/ports/index.ts';
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
  /** The first run's date (ISO) for a newly created market. @default '2027-01-04T14:00:00.000Z' */
  readonly start?: string;
  /** Port of the approval page server (0 = any free port). @default 0 */
  readonly approvalPort?: number;
  /** Retry waits in ms (tests make them instant). @default the definition's */
  readonly retryIntervalMs?: number;
  /** Tool calls (1-based) that fail once with a transient error (tests). */
  readonly toolFaults?: number[];
  /** Told how the CRM import of a new market progresses (it dominates start-up for large books). */
  readonly onImportProgress?: (done: number, total: number) => void;
}

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
}

/** Counts what a run sends; in AWS each of these is one SES email. */
class CountingMailer implements Mailer {
  sent = 0;
  constructor(private readonly inner: Mailer) {}

  async send(email: OutgoingEmail): Promise<{ messageId: string }> {
    const out = await this.inner.send(email);
    this.sent += 1;
    return out;
  }
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

/** The embedded default, started. */
export class LocalRuntime {
  private runNow: string;
  private runStartedAt = Date.now();

  private constructor(
    /** Consumed DynamoDB capacity of this process's client, reset per run. */
    readonly meter: CapacityMeter,
    private readonly mailCounter: CountingMailer,
    private readonly extraLambdas: LambdaTally,
    readonly dataDir: string,
    readonly bundle: CampaignBundle,
    readonly template: ResolvedTemplate,
    readonly campaignRun: TemplateStateMachine,
    readonly engine: WorkflowEngine,
    readonly deps: AppDeps,
    readonly market: Market,
    readonly tokens: TaskTokenRegistry,
    readonly approvalUrl: string,
    readonly outboxDir: string,
    readonly toolGateway: SimulatedToolGateway,
    private readonly closers: Array<() => Promise<void>>,
  ) {
    this.runNow = market.now();
  }

  /** Starts every part; throws InvalidConfigError before anything is written if the config is bad. */
  static async start(options: LocalRuntimeOptions): Promise<LocalRuntime> {
    const campaignFile = resolve(options.campaignFile);
    // Validate first: a bad file must fail before any data is touched.
    const bundle = loadCampaignBundle(campaignFile);
    const configDir = configDirOf(campaignFile);
    const dataDir = resolve(options.dataDir ?? '.data');
    if (options.reset) rmSync(dataDir, { recursive: true, force: true });
    mkdirSync(dataDir, { recursive: true });
    const outboxDir = join(dataDir, 'outbox');
    mkdirSync(outboxDir, { recursive: true });

    // The very template `cdk synth` produces (bundling skipped: the handlers run from source here).
    const { template } = synthesizeTemplate({ outdir: join(dataDir, 'cdk.out'), configDir, bundling: false });
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
      const client = createDynamoClient({ endpoint: dynamo.endpoint, meter });
      closers.push(async () => client.destroy());
      await ensureTables(client, names);

      const keyFile = join(dataDir, 'signing.key');
      if (!existsSync(keyFile)) writeAtomic(keyFile, randomBytes(32).toString('base64'), 0o600);
      chmodSync(keyFile, 0o600);
      const signingKey = Buffer.from(readFileSync(keyFile, 'utf8').trim(), 'base64');

      const seed = options.seed ?? 'amk-demo';
      const marketFile = join(dataDir, 'market.json');
      const accounts = new DynamoAccountRepository(client, names.accounts);
      let market: Market;
      if (existsSync(marketFile)) {
        market = Market.fromJSON(JSON.parse(readFileSync(marketFile, 'utf8')));
      } else {
        market = Market.create({ seed, accounts: options.accounts ?? 60, start: options.start ?? '2027-01-04T14:00:00.000Z' });
        // The CRM import: what the world lets us know about the book. market.json is written only
        // after it, so a new market always lands in tables that hold none of its accounts.
        await importBook(client, names.accounts, market.book(), options.onImportProgress);
        writeAtomic(marketFile, JSON.stringify(market.toJSON()));
      }

      const tokens = new TaskTokenRegistry();
      const sfn = await startSfnEndpoint(tokens);
      closers.push(() => sfn.close());
      const sfnClient = new SFNClient({ endpoint: sfn.url, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
      closers.push(async () => sfnClient.destroy());

      let runtime: LocalRuntime | undefined;
      const clock = () => (runtime ? runtime.clock() : market.now());
      const toolGateway = new SimulatedToolGateway(market, clock, { faults: { failOnCall: options.toolFaults ?? [] } });
      const mailer = new CountingMailer(new OutboxMailer(outboxDir, clock));
      const callback = new SfnTaskCallback(sfnClient);
      const approvals = new DynamoApprovalRepository(client, names.approvals);
      const audit = new DynamoAuditLog(client, names.audit);

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

      const deps: AppDeps = {
        config: new StaticConfigSource([bundle]),
        accounts,
        memory: new DynamoMemoryRepository(client, names.memory),
        approvals,
        audit,
        runs: new DynamoRunRepository(client, names.runs),
        tools: toolGateway,
        idempotent: createIdempotentRunner({ client, table: names.idempotency }),
        mailer,
        callback,
        clock,
        seed,
        signingKey,
        approvalBaseUrl: server.url,
        mailFrom: 'amk@localhost',
        allowSimulatedReviewer: true,
      };
      const { createHandler: createApprovalHandler } = await import('../functions/approval-http/handler.ts');
      approvalHandler = createApprovalHandler(approvalDepsOf(deps)) as unknown as (e: APIGatewayProxyEventV2) => Promise<APIGatewayProxyResultV2>;

      const lambdas = new Map<string, LocalLambda>();
      for (const fn of resolved.functions.values()) {
        if (fn.name === 'approval-http') continue; // served by the approval server, not the workflow
        const mod = (await import(pathToFileURL(resolve(fn.entry)).href)) as { createHandler?: (deps: () => Promise<AppDeps>) => LocalLambda };
        if (typeof mod.createHandler !== 'function') throw new Error(`${fn.entry} exports no createHandler`);
        lambdas.set(fn.logicalId, mod.createHandler(async () => deps));
      }
      const engine = new WorkflowEngine({ template: resolved, lambdas, tokens, retryIntervalMs: options.retryIntervalMs });
      runtime = new LocalRuntime(meter, mailer, extraLambdas, dataDir, bundle, resolved, campaignRun, engine, deps, market, tokens, server.url, outboxDir, toolGateway, closers);
      return runtime;
    } catch (err) {
      for (const close of closers.reverse()) await close().catch(() => undefined);
      throw err;
    }
  }

  /** The local clock: the simulated week's start plus real time elapsed in this run. */
  clock(): string {
    return new Date(Date.parse(this.runNow) + (Date.now() - this.runStartedAt)).toISOString();
  }

  /** Runs one weekly CampaignRun on the synthesized definition, then lets the market answer. */
  async runWeek(opts: { onEvent?: (e: { type: string; state?: string; machine: string }) => void } = {}): Promise<LocalRunResult> {
    this.runNow = this.market.now();
    this.runStartedAt = Date.now();
    const runId = `${this.bundle.campaign.id}-${this.runNow.slice(0, 10)}`;
    // Everything counted from here to the end of the execution is this run's.
    this.meter.reset();
    const emailsBefore = this.mailCounter.sent;
    this.extraLambdas.take();
    const { output, stats } = await this.engine.execute(
      this.campaignRun.logicalId,
      { campaignId: this.bundle.campaign.id, scheduledTime: this.runNow, runId },
      { name: runId, onEvent: opts.onEvent },
    );
    const capacity: CapacitySnapshot = this.meter.snapshot();
    const extra = this.extraLambdas.take();
    const usage: RunUsage = {
      stats: { ...stats, handlerLogBytes: stats.handlerLogBytes + extra.logBytes },
      capacity,
      accountIterations: RunSummary.parse(output).counters.accounts ?? 0,
      emails: this.mailCounter.sent - emailsBefore,
      extraLambdas: extra.lambdas,
    };
    // The world answers: next week's signals, which the next run observes.
    const next = new Date(Date.parse(this.runNow) + WEEK_MS).toISOString();
    const signals = this.market.advance(next);
    await this.deps.accounts.putSignals(signals);
    writeAtomic(join(this.dataDir, 'market.json'), JSON.stringify(this.market.toJSON()));
    return { runId, now: this.runNow, summary: output, stats, signalsNextWeek: signals.length, usage, cost: costInputsOf(usage, this.template) };
  }

  /** Stops every server and closes the database. */
  async close(): Promise<void> {
    for (const close of this.closers.reverse()) await close().catch(() => undefined);
  }
}
