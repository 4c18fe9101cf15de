/**
 * The embedded default: the real parts on 127.0.0.1. dynalite (the DynamoDB API) with data under
 * the data folder, the state machines that `cdk synth` produces run by aws-local-stepfunctions,
 * the real approval handler behind a local HTTP server, a local Step Functions callback endpoint,
 * emails as .eml files, and the seeded market simulator standing in for the world.
 */
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
import { createDynamoClient } from '../shared/adapters/dynamodb/client.ts';
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
import { startDynalite } from './dynalite.ts';
import { OutboxMailer } from './outbox.ts';
import { startApprovalServer } from './approval-server.ts';
import { Market } from './simulator/market.ts';
import { SimulatedToolGateway } from './simulator/tool-gateway.ts';
import { resolveTemplate, type ResolvedTemplate, type TemplateStateMachine } from './engine/template.ts';
import { TaskTokenRegistry } from './engine/task-tokens.ts';
import { startSfnEndpoint } from './engine/sfn-endpoint.ts';
import { WorkflowEngine, type ExecutionStats, type LocalLambda } from './engine/workflow-engine.ts';

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
}

/** One campaign run's outcome. */
export interface LocalRunResult {
  readonly runId: string;
  readonly now: string;
  readonly summary: unknown;
  readonly stats: ExecutionStats;
  readonly signalsNextWeek: number;
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
      const dynamo = await startDynalite({ path: join(dataDir, 'dynamodb') });
      closers.push(() => dynamo.close());
      const client = createDynamoClient({ endpoint: dynamo.endpoint });
      closers.push(async () => client.destroy());
      const names = Object.fromEntries((Object.keys(TABLES) as TableKey[]).map((k) => [k, localTableName(k)])) as Record<TableKey, string>;
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
        // The CRM import: what the world lets us know about the book.
        const book = market.book();
        const byAccount = new Map<string, typeof book.stakeholders>();
        for (const s of book.stakeholders) byAccount.set(s.accountId, [...(byAccount.get(s.accountId) ?? []), s]);
        for (const a of book.accounts) await accounts.importAccount(a, byAccount.get(a.id) ?? []);
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
      const mailer = new OutboxMailer(outboxDir, clock);
      const callback = new SfnTaskCallback(sfnClient);
      const approvals = new DynamoApprovalRepository(client, names.approvals);
      const audit = new DynamoAuditLog(client, names.audit);

      let approvalHandler: ((e: APIGatewayProxyEventV2) => Promise<APIGatewayProxyResultV2>) | undefined;
      const server = await startApprovalServer({
        port: options.approvalPort ?? 0,
        handler: (e) => {
          if (!approvalHandler) throw new Error('approval handler not ready');
          return approvalHandler(e);
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
      runtime = new LocalRuntime(dataDir, bundle, resolved, campaignRun, engine, deps, market, tokens, server.url, outboxDir, toolGateway, closers);
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
    const { output, stats } = await this.engine.execute(
      this.campaignRun.logicalId,
      { campaignId: this.bundle.campaign.id, scheduledTime: this.runNow, runId },
      { name: runId, onEvent: opts.onEvent },
    );
    // The world answers: next week's signals, which the next run observes.
    const next = new Date(Date.parse(this.runNow) + WEEK_MS).toISOString();
    const signals = this.market.advance(next);
    await this.deps.accounts.putSignals(signals);
    writeAtomic(join(this.dataDir, 'market.json'), JSON.stringify(this.market.toJSON()));
    return { runId, now: this.runNow, summary: output, stats, signalsNextWeek: signals.length };
  }

  /** Stops every server and closes the database. */
  async close(): Promise<void> {
    for (const close of this.closers.reverse()) await close().catch(() => undefined);
  }
}
