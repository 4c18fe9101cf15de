/**
 * The composition root of every Lambda, in AWS and on the embedded default alike: builds exactly
 * the ports a step declares (shared/app/steps.ts) from that function's own environment, and
 * nothing else. What differs between the two is only the platform: where the SDK clients send
 * (AWS, or the local stand-ins on 127.0.0.1) and what watches them (locally, the IAM check of the
 * function's synthesized policy).
 */
import { translateTransientErrors } from '../transient.ts';
import { resolve } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SFNClient } from '@aws-sdk/client-sfn';
import { STEP_PORTS, flagPortsOf, tablePortsOf, type StepDeps, type StepName, type StepPorts, type TablePort } from '../../app/steps.ts';
import { InvalidConfigError } from '../../domain/errors.ts';
import type { ToolGateway } from '../../ports/index.ts';
import { StaticConfigSource } from '../config-source.ts';
import { meterConsumedCapacity, type CapacityMeter } from '../dynamodb/client.ts';
import { DynamoAccountRepository } from '../dynamodb/account-repository.ts';
import { DynamoApprovalRepository } from '../dynamodb/approval-repository.ts';
import { DynamoAuditLog } from '../dynamodb/audit-log.ts';
import { DynamoMemoryRepository } from '../dynamodb/memory-repository.ts';
import { DynamoRunRepository } from '../dynamodb/run-repository.ts';
import { DynamoReplayGuard, DynamoSignalLedger } from '../dynamodb/signal-ledger.ts';
import { TABLES } from '../dynamodb/tables.ts';
import { ConnectorToolGateway } from '../email-connector.ts';
import { routedToolGateway } from '../connectors/index.ts';
import { connectorsFromEnv } from '../../domain/connectors.ts';
import { createIdempotentRunner } from '../idempotency.ts';
import { SesMailer } from '../ses-mailer.ts';
import { SfnExecutionStarter, SfnTaskCallback } from '../sfn-callback.ts';
import { loadSigningKey, secretString } from '../signing-key.ts';
import { KmsS3DigestPublisher, KmsS3DigestReader } from '../audit-digests.ts';
import { Logger } from '@aws-lambda-powertools/logger';
import { auditLinesOf, type AuditLine } from '../../domain/audit-lines.ts';
import { portEnvOf } from './port-env.ts';

/** The AWS services a function may call. */
export type AwsService = 'dynamodb' | 'sfn' | 'sesv2' | 'secretsmanager' | 'kms' | 's3';

/** An SDK client as the platform sees it: its middleware stack. */
export interface InstrumentableClient {
  readonly middlewareStack:
    | DynamoDBClient['middlewareStack']
    | SFNClient['middlewareStack']
    | SESv2Client['middlewareStack']
    | SecretsManagerClient['middlewareStack']
    | KMSClient['middlewareStack']
    | S3Client['middlewareStack'];
}

/** Where a function runs: AWS (all defaults) or the embedded default. */
export interface Platform {
  /**
   * Extra SDK client configuration per service (a local endpoint, region and credentials).
   * @default - none: the SDK's own resolution, as in Lambda
   */
  readonly clientConfig?: (
    service: AwsService,
  ) => { endpoint?: string; region?: string; credentials?: { accessKeyId: string; secretAccessKey: string }; forcePathStyle?: boolean } | undefined;
  /**
   * Called on every SDK client the function gets, once, before any call (the embedded default
   * adds the IAM check and fault injection here).
   * @default - nothing
   */
  readonly instrument?: (client: InstrumentableClient, service: AwsService) => void;
  /**
   * Meters the DynamoDB capacity the function consumes (the cost model).
   * @default - not metered
   */
  readonly meter?: CapacityMeter;
  /**
   * Wraps the deployed connectors: the embedded default puts the simulated world behind them.
   * @default - the connectors as they are
   */
  readonly tools?: (connectors: ToolGateway) => ToolGateway;
  /**
   * Where the decision log lines go (one per audit event a function writes; audit-lines.ts).
   * @default - Powertools Logger: one JSON line on stdout, which Lambda sends to the function's log group
   */
  readonly auditLines?: (line: AuditLine) => void;
  /**
   * Wall clock of the records' timestamps.
   * @default - the system clock
   */
  readonly clock?: () => string;
}

const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;
/** What SES accepts as a configuration set name. */
const CONFIGURATION_SET = /^[A-Za-z0-9_-]{1,64}$/;

/** Checks the declared variables are there and well-formed; names the function, variable and port. */
function requireEnv(name: StepName, ports: StepPorts, env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const problems: Array<{ path: string; message: string }> = [];
  const values: Record<string, string> = {};
  for (const [variable, port] of portEnvOf(ports)) {
    const value = env[variable];
    if (value === undefined || value === '') {
      problems.push({ path: variable, message: `is not set, and the ${port} port of function ${name} needs it (does its template grant it?)` });
      continue;
    }
    if (variable === 'MAIL_FROM' && !EMAIL.test(value)) problems.push({ path: variable, message: `must be an email address, got "${value}"` });
    if (variable === 'APPROVAL_BASE_URL' && !/^https?:\/\/[^\s/]+/.test(value)) problems.push({ path: variable, message: `must be an http(s) URL, got "${value}"` });
    if (variable === 'SES_CONFIGURATION_SET' && !CONFIGURATION_SET.test(value)) problems.push({ path: variable, message: `must be an SES configuration set name (letters, digits, "_" or "-", at most 64), got "${value}"` });
    values[variable] = value;
  }
  if (problems.length > 0) throw new InvalidConfigError(`environment of function ${name}`, problems);
  return values;
}

/**
 * Builds the ports of step `name` from its environment on a platform. Only declared ports exist
 * in the result; a declared port whose variable is missing fails here, naming it.
 */
export async function buildStepDeps<N extends StepName>(
  name: N,
  env: Readonly<Record<string, string | undefined>>,
  platform: Platform = {},
): Promise<StepDeps<N>> {
  const ports: StepPorts = STEP_PORTS[name];
  const vars = requireEnv(name, ports, env);
  const variable = (v: string): string => vars[v] as string;
  const config = (service: AwsService) => platform.clientConfig?.(service) ?? {};
  const instrumented = <C extends InstrumentableClient>(client: C, service: AwsService): C => {
    platform.instrument?.(client, service);
    return translateTransientErrors(client, service);
  };
  let dynamo: DynamoDBClient | undefined;
  const dynamoClient = (): DynamoDBClient => {
    if (dynamo === undefined) {
      dynamo = instrumented(new DynamoDBClient({ maxAttempts: 3, ...config('dynamodb') }), 'dynamodb');
      if (platform.meter) meterConsumedCapacity(dynamo, platform.meter);
    }
    return dynamo;
  };
  let sfn: SFNClient | undefined;
  const sfnClient = (): SFNClient => (sfn ??= instrumented(new SFNClient({ ...config('sfn') }), 'sfn'));
  let sesv2: SESv2Client | undefined;
  const sesClient = (): SESv2Client => (sesv2 ??= instrumented(new SESv2Client({ ...config('sesv2') }), 'sesv2'));
  let ses: SesMailer | undefined;
  const mailer = (): SesMailer => (ses ??= new SesMailer(sesClient()));
  let secretsManager: SecretsManagerClient | undefined;
  const secretsClient = (): SecretsManagerClient => (secretsManager ??= instrumented(new SecretsManagerClient({ ...config('secretsmanager') }), 'secretsmanager'));
  // A key that fails its checks is named by the variable that points to it.
  // Read once per cold start, however many ports use the same key (the tools sign unsubscribe links with the approval link key).
  const keys = new Map<string, Promise<Buffer>>();
  const keyOf = (keyVariable: string): Promise<Buffer> => {
    let key = keys.get(keyVariable);
    if (key === undefined) keys.set(keyVariable, (key = readKey(keyVariable)));
    return key;
  };
  const readKey = async (keyVariable: string): Promise<Buffer> => {
    try {
      return await loadSigningKey(secretsClient(), variable(keyVariable));
    } catch (err) {
      if (err instanceof InvalidConfigError) throw new InvalidConfigError(keyVariable, err.problems, { cause: err });
      throw err;
    }
  };

  const deps: Record<string, unknown> = { clock: platform.clock ?? (() => new Date().toISOString()) };
  const sink = platform.auditLines ?? powertoolsAuditLines();
  const repositories: { [K in TablePort]: (table: string) => unknown } = {
    accounts: (t) => new DynamoAccountRepository(dynamoClient(), t),
    memory: (t) => new DynamoMemoryRepository(dynamoClient(), t),
    approvals: (t) => new DynamoApprovalRepository(dynamoClient(), t),
    audit: (t) =>
      new DynamoAuditLog(dynamoClient(), t, {
        onAppended: (event) => {
          try {
            auditLinesOf(event).forEach(sink);
          } catch {
            // The event is in the table, the source of truth: a log line never fails the step that wrote it.
          }
        },
      }),
    runs: (t) => new DynamoRunRepository(dynamoClient(), t),
  };
  for (const [port] of tablePortsOf(ports)) deps[port] = repositories[port](variable(TABLES[port].envVar));
  for (const port of flagPortsOf(ports)) {
    switch (port) {
      case 'config':
        // Relative to the function's code, as Lambda runs it (LAMBDA_TASK_ROOT is /var/task there).
        deps.config = StaticConfigSource.fromJsonFile(resolve(env.LAMBDA_TASK_ROOT ?? '.', variable('CAMPAIGNS_FILE')));
        break;
      case 'seed':
        deps.seed = variable('PLANNER_SEED');
        break;
      case 'idempotent':
        deps.idempotent = createIdempotentRunner({ client: dynamoClient(), table: variable(TABLES.idempotency.envVar) });
        break;
      case 'tools': {
        // Prospect emails go through the configuration set that publishes their events (the
        // team's own emails, from the mailer port, do not: their events are no one's signals).
        const sender = ports.emailEvents === true ? new SesMailer(sesClient(), { configurationSetName: variable('SES_CONFIGURATION_SET') }) : mailer();
        if (ports.signingKey !== true || ports.approvalBaseUrl !== true) {
          throw new InvalidConfigError(`ports of function ${name}`, [{ path: 'tools', message: 'signs unsubscribe links on the approval endpoint, so it needs signingKey and approvalBaseUrl too' }]);
        }
        const connectors = new ConnectorToolGateway(sender, {
          from: variable('MAIL_FROM'),
          name: variable('SENDER_NAME'),
          postalAddress: variable('SENDER_POSTAL_ADDRESS'),
          unsubscribeBaseUrl: variable('APPROVAL_BASE_URL').replace(/\/+$/, ''),
          linkKey: await keyOf('SIGNING_KEY_SECRET_ARN'),
        });
        // The connectors beyond email (config/connectors.yaml), their secrets read on first use.
        const routed = routedToolGateway(connectors, connectorsFromEnv(variable('CONNECTORS')), {
          secretOf: (arn) => secretString(secretsClient(), arn),
          clock: deps.clock as () => string,
        });
        deps.tools = platform.tools ? platform.tools(routed) : routed;
        break;
      }
      case 'mailer':
        deps.mailer = mailer();
        deps.mailFrom = variable('MAIL_FROM');
        break;
      case 'callback':
        deps.callback = new SfnTaskCallback(sfnClient());
        break;
      case 'starter':
        deps.starter = new SfnExecutionStarter(sfnClient(), variable('CAMPAIGN_RUN_ARN'));
        break;
      case 'signingKey':
        deps.signingKey = await keyOf('SIGNING_KEY_SECRET_ARN');
        break;
      case 'approvalBaseUrl':
        deps.approvalBaseUrl = variable('APPROVAL_BASE_URL').replace(/\/+$/, '');
        break;
      case 'digests': {
        const { forcePathStyle: _s3Only, ...kmsConfig } = config('kms');
        deps.digests = new KmsS3DigestPublisher(
          instrumented(new KMSClient({ ...kmsConfig }), 'kms'),
          instrumented(new S3Client({ ...config('s3') }), 's3'),
          variable('AUDIT_DIGEST_KEY_ARN'),
          variable('AUDIT_DIGEST_BUCKET'),
        );
        break;
      }
      case 'digestReader': {
        const { forcePathStyle: _s3Only, ...kmsConfig } = config('kms');
        deps.digestReader = new KmsS3DigestReader(
          instrumented(new KMSClient({ ...kmsConfig }), 'kms'),
          instrumented(new S3Client({ ...config('s3') }), 's3'),
          variable('AUDIT_DIGEST_KEY_ARN'),
          variable('AUDIT_DIGEST_BUCKET'),
        );
        break;
      }
      case 'signalsKey':
        deps.signalsKey = await keyOf('SIGNALS_KEY_SECRET_ARN');
        break;
      case 'signalLedger':
        deps.signalLedger = new DynamoSignalLedger(dynamoClient(), variable(TABLES.accounts.envVar), deps.clock as () => string);
        break;
      case 'replayGuard':
        deps.replayGuard = new DynamoReplayGuard(dynamoClient(), variable(TABLES.idempotency.envVar), deps.clock as () => string);
        break;
      case 'emailEvents':
        if (ports.tools !== true) throw new InvalidConfigError(`ports of function ${name}`, [{ path: 'emailEvents', message: 'is a port of the tools (their emails), so it needs tools too' }]);
        deps.emailEvents = variable('SES_CONFIGURATION_SET');
        break;
    }
  }
  return deps as StepDeps<N>;
}

/** Decision log lines through Powertools Logger (created on first use, once per process). */
let logger: Logger | undefined;
function powertoolsAuditLines(): (line: AuditLine) => void {
  return (line) => {
    logger ??= new Logger({ serviceName: 'autonomous-marketing' });
    logger.info('audit', { ...line });
  };
}

const cached = new Map<StepName, Promise<unknown>>();

/** The step's ports in Lambda: built once per process from process.env (a failed build is retried). */
export function lambdaStepDeps<N extends StepName>(name: N): Promise<StepDeps<N>> {
  let deps = cached.get(name) as Promise<StepDeps<N>> | undefined;
  if (deps === undefined) {
    deps = buildStepDeps(name, process.env).catch((err: unknown) => {
      cached.delete(name);
      throw err;
    });
    cached.set(name, deps);
  }
  return deps;
}
