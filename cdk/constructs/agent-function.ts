/**
 * The project's Lambda function: owns the defaults every handler shares (Node.js 22 on arm64, ESM
 * bundle, X-Ray, a log group with retention) and derives the function's environment and grants
 * from its step's port declaration (shared/app/steps.ts): an environment variable never exists
 * without its least-privilege grant, and neither exists without a port that uses it.
 */
import { existsSync } from 'node:fs';
import { join, posix, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type CfnElement, Duration, Stack, Stage, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Effect, Policy, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { NO_CONNECTORS, connectorSecretArns, connectorsEnvValue, type Connectors } from '../../shared/domain/connectors.ts';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Architecture, Code, Runtime, Tracing, type CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { LogLevel, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { CustomDataIdentifier, DataIdentifier, DataProtectionPolicy, LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';

/** An approval link's signature as it appears in a URL (`sig=` and a base64url HMAC). */
export const LINK_SIGNATURE_PATTERN = 'sig=[A-Za-z0-9_-]{20,}';
import { Construct } from 'constructs';
import { TABLES, type TableKey } from '../../shared/adapters/dynamodb/tables.ts';
import { IDEMPOTENCY_CALLS, callsOf, type DynamoAction } from '../../shared/adapters/dynamodb/access.ts';
import { REPLAY_GUARD_CALLS, SIGNAL_LEDGER_CALLS } from '../../shared/adapters/dynamodb/signal-ledger.ts';
import { FLAG_PORT_ENV, portEnvOf } from '../../shared/adapters/lambda/port-env.ts';
import { flagPortsOf, tablePortsOf, type StepPorts } from '../../shared/app/steps.ts';

/** The repository root (cdk/constructs/../..), so entries resolve the same from any working directory. */
export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Environment variable that carries the sender address to functions that send email. */
export const SENDER_ENV = 'MAIL_FROM';

/** File name of the validated campaign configuration inside a bundle. */
export const CAMPAIGNS_FILE_NAME = 'campaigns.json';

/** CloudFormation metadata keys the local runtime maps a Lambda to its handler module by. */
export const FUNCTION_METADATA = { entry: 'amk:entry', name: 'amk:function', files: 'amk:files' } as const;

// esbuild's ESM output has no `require`; CommonJS dependencies bundled into it still call it.
const REQUIRE_BANNER = "import { createRequire as __amkCreateRequire } from 'node:module'; const require = __amkCreateRequire(import.meta.url);";

/** Properties of {@link AgentFunction}. */
export interface AgentFunctionProps {
  /** Folder name under `functions/`; the handler is `functions/<name>/handler.ts`, export `handler`. */
  readonly name: string;
  /** The ports the function's step uses (STEP_PORTS[name]): its environment and grants follow from them. */
  readonly ports: StepPorts;
  /**
   * The validated campaigns (`cdk synth` writes them), bundled as campaigns.json; required when
   * the ports include `config`.
   * @default - none
   */
  readonly campaignsFile?: string;
  /**
   * Memory in MB.
   * @default 256
   */
  readonly memorySize?: number;
  /**
   * Timeout of one invocation.
   * @default Duration.seconds(30)
   */
  readonly timeout?: Duration;
  /**
   * Concurrent executions reserved for (and at most allowed to) the function: a public endpoint
   * under a flood cannot take the account's concurrency from the workflow, nor scale without bound.
   * @default - none (the account's unreserved pool)
   */
  readonly reservedConcurrentExecutions?: number;
  /**
   * Retention of the function's log group.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
  /**
   * Root of the repository (holds `functions/` and `package-lock.json`).
   * @default PROJECT_ROOT
   */
  readonly projectRoot?: string;
}

/** A Lambda handler of the project with its own role, log group and table grants. */
export class AgentFunction extends Construct {
  /** The Lambda function. */
  readonly lambda: NodejsFunction;
  /** The function's role (only what `useTable` and other grants add). */
  readonly role: Role;
  /** The function's log group. */
  readonly logGroup: LogGroup;
  /** Folder name under `functions/`. */
  readonly functionName: string;
  /** Entry module, relative to the project root (POSIX separators). */
  readonly entry: string;
  /** The ports the function uses. */
  readonly ports: StepPorts;
  private bound = false;

  constructor(scope: Construct, id: string, props: AgentFunctionProps) {
    super(scope, id);
    if (!/^[a-z0-9]+(-[a-z0-9]+)*$/.test(props.name)) {
      throw new Error(`AgentFunction: props.name "${props.name}" must be a kebab-case folder name under functions/`);
    }
    const memorySize = props.memorySize ?? 256;
    if (!Number.isInteger(memorySize) || memorySize < 128 || memorySize > 10240) {
      throw new Error(`AgentFunction ${props.name}: props.memorySize must be an integer between 128 and 10240 MB, got ${memorySize}`);
    }
    const timeout = props.timeout ?? Duration.seconds(30);
    if (!timeout.isUnresolved() && (timeout.toSeconds() < 1 || timeout.toSeconds() > 900)) {
      throw new Error(`AgentFunction ${props.name}: props.timeout must be between 1 and 900 seconds`);
    }
    if (props.ports.config === true && props.campaignsFile === undefined) {
      throw new Error(`AgentFunction ${props.name}: props.campaignsFile is required, since props.ports include config`);
    }
    if (props.ports.config !== true && props.campaignsFile !== undefined) {
      throw new Error(`AgentFunction ${props.name}: props.campaignsFile is given, but props.ports do not include config`);
    }
    const bundledFiles: Array<[string, string]> = props.campaignsFile !== undefined ? [[CAMPAIGNS_FILE_NAME, props.campaignsFile]] : [];
    this.ports = props.ports;

    const projectRoot = props.projectRoot ?? PROJECT_ROOT;
    this.functionName = props.name;
    this.entry = posix.join('functions', props.name, 'handler.ts');
    const entryPath = join(projectRoot, 'functions', props.name, 'handler.ts');

    this.logGroup = new LogGroup(this, 'Logs', {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      // The safety net behind the log lines' own rule (ids, never addresses, tokens or link
      // signatures): anything that still looks like an email address or a link signature is
      // masked for every reader without logs:Unmask. Approvers' addresses in the approval lines
      // are masked too; an auditor given logs:Unmask reads them with unmask(@message).
      dataProtectionPolicy: new DataProtectionPolicy({
        name: 'amk-log-safety-net',
        description: 'Masks email addresses and approval-link signatures in function logs',
        identifiers: [DataIdentifier.EMAILADDRESS, new CustomDataIdentifier('ApprovalLinkSignature', LINK_SIGNATURE_PATTERN)],
      }),
    });
    // An own role instead of CDK's default one: the managed AWSLambdaBasicExecutionRole would let
    // every function write to every log group in the account.
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Runs the ${props.name} handler`,
    });
    this.role.addToPolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.logGroup.logGroupArn],
      }),
    );

    // Template-only synths (tests, the local runtime) skip bundling and must not need the handler
    // sources, which other work may not have written yet; a real bundle still requires them.
    const placeholder = !existsSync(entryPath) && !Stack.of(this).bundlingRequired;
    this.lambda = new NodejsFunction(this, 'Function', {
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize,
      timeout,
      tracing: Tracing.ACTIVE,
      role: this.role,
      ...(props.reservedConcurrentExecutions !== undefined ? { reservedConcurrentExecutions: props.reservedConcurrentExecutions } : {}),
      logGroup: this.logGroup,
      description: `Autonomous Marketing: ${props.name}`,
      // Read by the Node.js runtime itself (stack traces through the bundle's source map); every
      // other variable comes from a port (bind).
      environment: { NODE_OPTIONS: '--enable-source-maps' },
      ...(placeholder
        ? { code: Code.fromInline(`// ${this.entry} is not bundled in template-only synths`), handler: 'index.handler' }
        : {
            entry: entryPath,
            handler: 'handler',
            projectRoot,
            depsLockFilePath: join(projectRoot, 'package-lock.json'),
            bundling: {
              format: OutputFormat.ESM,
              target: 'node22',
              mainFields: ['module', 'main'],
              banner: REQUIRE_BANNER,
              // The Node.js 22 runtime ships SDK v3; bundling it would only grow cold starts.
              externalModules: ['@aws-sdk/*'],
              sourceMap: true,
              sourcesContent: false,
              minify: true,
              // Sizes of 13 bundles on every synth drown the one line that matters.
              logLevel: LogLevel.WARNING,
              ...(bundledFiles.length > 0
                ? {
                    commandHooks: {
                      beforeBundling: () => [],
                      beforeInstall: () => [],
                      afterBundling: (_inputDir: string, outputDir: string) =>
                        bundledFiles.map(([fileName, source]) => `cp ${shellQuote(source)} ${shellQuote(join(outputDir, fileName))}`),
                    },
                  }
                : {}),
            },
          }),
    });
    const cfn = this.lambda.node.defaultChild as CfnFunction;
    cfn.addMetadata(FUNCTION_METADATA.entry, this.entry);
    cfn.addMetadata(FUNCTION_METADATA.name, props.name);
    // Where the files the bundle carries come from, relative to the cloud assembly, so that the
    // embedded default can lay out the same task root when bundling was skipped.
    if (bundledFiles.length > 0) {
      const outdir = Stage.of(this)?.outdir;
      cfn.addMetadata(
        FUNCTION_METADATA.files,
        Object.fromEntries(bundledFiles.map(([name, source]) => [name, outdir !== undefined ? relative(outdir, source).split('\\').join('/') : source])),
      );
    }

    Validations.of(cfn).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'nodejs22.x is pinned on purpose: the bundles target node22 and the handlers are tested on Node 20/22; ' +
        'moving to a newer runtime is a deliberate, tested change rather than whatever "latest" is at synth time.',
    });
    const defaultPolicy = this.role.node.tryFindChild('DefaultPolicy');
    if (defaultPolicy) {
      Validations.of(defaultPolicy).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'Only active X-Ray tracing asks for Resource "*" here: xray:PutTraceSegments and xray:PutTelemetryRecords ' +
          'support no resource-level permissions (test/infra/template.test.ts keeps "*" limited to these two actions).',
      });
    }
  }

  /**
   * Gives the function what its ports need, once: for each port its environment variable and its
   * least-privilege grant (exact actions on exact resources), derived from the declaration.
   */
  bind(resources: PortResources): void {
    if (this.bound) throw new Error(`AgentFunction ${this.functionName}: bind() called twice`);
    this.bound = true;
    const env = portEnvOf(this.ports);
    const setEnv = (variable: string, value: string): void => {
      if (!env.has(variable)) throw new Error(`AgentFunction ${this.functionName}: ${variable} is not an environment variable of its ports`);
      this.lambda.addEnvironment(variable, value);
    };
    const grantTable = (key: TableKey, table: ActionsOn): void => {
      const t = resources.tables(key);
      setEnv(TABLES[key].envVar, t.tableName);
      if (table.table.length > 0) this.allow(table.table.map((a) => `dynamodb:${a}`), [t.tableArn]);
      for (const [index, actions] of table.indexes) this.allow(actions.map((a) => `dynamodb:${a}`), [`${t.tableArn}/index/${index}`]);
    };
    // A flag port that also writes a table a table port grants adds its actions to that grant (one
    // statement per table: IAM would judge each call by one of two, leaving the other unused).
    const alsoOn = (port: TableKey): DynamoAction[] => [
      ...(port === 'accounts' && this.ports.signalLedger === true ? SIGNAL_LEDGER_CALLS.map((c) => c.action) : []),
    ];
    for (const [port, methods] of tablePortsOf(this.ports)) {
      const calls = callsOf(port, methods);
      grantTable(port, { table: [...new Set([...calls.table, ...alsoOn(port)])].sort(), indexes: calls.indexes });
    }
    const flags = flagPortsOf(this.ports);
    // Read by useEmailSender below: the tools' emails go through it, so SendEmail needs it too.
    let configurationSet: string | undefined;
    for (const port of flags) {
      switch (port) {
        case 'config':
          setEnv(FLAG_PORT_ENV.config as string, CAMPAIGNS_FILE_NAME);
          break;
        case 'seed':
          setEnv(FLAG_PORT_ENV.seed as string, resources.plannerSeed);
          break;
        case 'idempotent':
          grantTable('idempotency', { table: [...new Set(IDEMPOTENCY_CALLS.map((c) => c.action))], indexes: new Map() });
          break;
        case 'tools': {
          // Every marketing email carries a one-click unsubscribe link signed with the link key
          // and served by the approval endpoint, and the sender's postal address.
          if (!flags.includes('signingKey') || !flags.includes('approvalBaseUrl')) {
            throw new Error(`AgentFunction ${this.functionName}: the tools port signs unsubscribe links on the approval endpoint, so its ports must include signingKey and approvalBaseUrl`);
          }
          const [, nameVariable, addressVariable, connectorsVariable] = FLAG_PORT_ENV.tools as readonly [string, string, string, string];
          setEnv(nameVariable, resources.senderName);
          setEnv(addressVariable, resources.postalAddress);
          // The connectors beyond email, and exactly their secrets (each by its full ARN).
          const connectors = resources.connectors ?? NO_CONNECTORS;
          setEnv(connectorsVariable, connectorsEnvValue(connectors));
          const secretArns = connectorSecretArns(connectors);
          if (secretArns.length > 0) this.allow(['secretsmanager:GetSecretValue'], secretArns);
          break; // the sender itself below, once for tools and mailer
        }
        case 'mailer':
          break; // below, once for both
        case 'signingKey':
          setEnv(FLAG_PORT_ENV.signingKey as string, resources.signingKey.secretArn);
          this.allow(['secretsmanager:GetSecretValue'], [resources.signingKey.secretArn]);
          break;
        case 'approvalBaseUrl':
          setEnv(FLAG_PORT_ENV.approvalBaseUrl as string, resources.approvalBaseUrl);
          break;
        case 'digests': {
          const [keyVariable, bucketVariable] = FLAG_PORT_ENV.digests as readonly [string, string];
          setEnv(keyVariable, resources.digests.key.keyArn);
          setEnv(bucketVariable, resources.digests.bucket.bucketName);
          this.allow(['kms:GenerateMac'], [resources.digests.key.keyArn]);
          this.allow(['s3:PutObject'], [resources.digests.bucket.arnForObjects('digests/*')]);
          const bucketId = Stack.of(this).getLogicalId(resources.digests.bucket.node.defaultChild as CfnElement);
          const policy = this.role.node.tryFindChild('DefaultPolicy');
          if (policy) {
            Validations.of(policy).acknowledge({
              id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/digests/*]`,
              reason: 'Summarize puts one digest object per run under digests/ (the key is the run id); it can read, list or delete nothing in the bucket.',
            });
          }
          break;
        }
        case 'digestReader': {
          // The verifier lists and reads the digests and checks their MACs: it can make none,
          // and write nothing to the bucket.
          const [keyVariable, bucketVariable] = FLAG_PORT_ENV.digestReader as readonly [string, string];
          setEnv(keyVariable, resources.digests.key.keyArn);
          setEnv(bucketVariable, resources.digests.bucket.bucketName);
          this.allow(['kms:VerifyMac'], [resources.digests.key.keyArn]);
          this.allow(['s3:ListBucket'], [resources.digests.bucket.bucketArn]);
          this.allow(['s3:GetObject'], [resources.digests.bucket.arnForObjects('digests/*')]);
          const bucketId = Stack.of(this).getLogicalId(resources.digests.bucket.node.defaultChild as CfnElement);
          const policy = this.role.node.tryFindChild('DefaultPolicy');
          if (policy) {
            Validations.of(policy).acknowledge({
              id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/digests/*]`,
              reason: 'The audit verifier reads the run digests under digests/ (one object per run) to check them; it can write or delete nothing in the bucket.',
            });
          }
          break;
        }
        case 'signalsKey': {
          const key = required(resources.signalsKey, 'signalsKey');
          setEnv(FLAG_PORT_ENV.signalsKey as string, key.secretArn);
          this.allow(['secretsmanager:GetSecretValue'], [key.secretArn]);
          break;
        }
        case 'signalLedger':
          // Claims on the accounts table (a conditional PutItem, and a GetItem of a claim taken),
          // in the accounts port's statement when the step has one (alsoOn, above).
          if (!(this.ports.accounts !== undefined && this.ports.accounts.length > 0)) grantTable('accounts', { table: [...new Set(SIGNAL_LEDGER_CALLS.map((c) => c.action))].sort(), indexes: new Map() });
          break;
        case 'replayGuard':
          // One conditional PutItem per signed request (its record expires by the table's TTL);
          // the idempotent port's grant already holds it.
          if (!flags.includes('idempotent')) grantTable('idempotency', { table: [...new Set(REPLAY_GUARD_CALLS.map((c) => c.action))].sort(), indexes: new Map() });
          break;
        case 'emailEvents':
          if (!flags.includes('tools')) throw new Error(`AgentFunction ${this.functionName}: the emailEvents port configures the tools' emails, so its ports must include tools`);
          configurationSet = required(resources.emailEvents, 'emailEvents').configurationSetName;
          setEnv(FLAG_PORT_ENV.emailEvents as string, configurationSet);
          break;
        case 'starter':
          // Nothing the state machine invokes: the grant can sit in the function's default policy.
          setEnv(FLAG_PORT_ENV.starter as string, resources.stateMachine().stateMachineArn);
          this.allow(['states:StartExecution'], [resources.stateMachine().stateMachineArn]);
          break;
        case 'callback':
          // Its own policy, which nothing depends on: the state machine depends on the functions it
          // invokes, so a grant in the function's default policy would close a cycle.
          new Policy(this, 'TaskResponsePolicy', {
            roles: [this.role],
            statements: [
              new PolicyStatement({
                effect: Effect.ALLOW,
                actions: ['states:SendTaskSuccess'],
                resources: [resources.stateMachine().stateMachineArn],
              }),
            ],
          });
          break;
      }
    }
    if (flags.includes('tools') || flags.includes('mailer')) this.useEmailSender(resources.sender, configurationSet);
    // The audit trail is append-only for every function, whatever a grant above or added later
    // says: no event, head or claim is ever updated or deleted (PutItem with conditions only).
    this.role.addToPolicy(
      new PolicyStatement({
        effect: Effect.DENY,
        actions: AUDIT_DENIED_ACTIONS.map((a) => `dynamodb:${a}`),
        resources: [resources.tables('audit').tableArn],
      }),
    );
  }

  private allow(actions: string[], resources: string[]): void {
    this.role.addToPolicy(new PolicyStatement({ effect: Effect.ALLOW, actions, resources }));
  }

  /**
   * Lets the function send email from one address through SESv2: sets MAIL_FROM together with
   * ses:SendEmail on that address's identity and its domain's (whichever of the two is verified),
   * and on the configuration set its emails go through, if any (SES authorizes a send on both).
   */
  private useEmailSender(senderAddress: string, configurationSet?: string): void {
    const domain = /^[^@\s]+@([^@\s]+\.[^@\s]+)$/.exec(senderAddress)?.[1];
    if (!domain) throw new Error(`AgentFunction ${this.functionName}: the sender "${senderAddress}" is not an email address`);
    this.lambda.addEnvironment(SENDER_ENV, senderAddress);
    const stack = Stack.of(this);
    this.allow(
      ['ses:SendEmail'],
      [
        ...[senderAddress, domain].map((identity) => stack.formatArn({ service: 'ses', resource: 'identity', resourceName: identity })),
        ...(configurationSet !== undefined ? [stack.formatArn({ service: 'ses', resource: 'configuration-set', resourceName: configurationSet })] : []),
      ],
    );
  }
}

/** What no function may do to the audit table (an explicit Deny in every role). */
export const AUDIT_DENIED_ACTIONS = ['UpdateItem', 'DeleteItem', 'BatchWriteItem', 'PartiQLUpdate', 'PartiQLDelete'] as const;

/** DynamoDB actions on a table and on its indexes. */
interface ActionsOn {
  readonly table: readonly DynamoAction[];
  readonly indexes: ReadonlyMap<string, readonly DynamoAction[]>;
}

/** The resources ports are bound to. */
export interface PortResources {
  /** The table of a table key. */
  readonly tables: (key: TableKey) => ITable;
  /** The From address of every email (an SES identity). */
  readonly sender: string;
  /** Who sends the marketing emails (their footer names it). */
  readonly senderName: string;
  /** The sender's postal address, in every marketing email's footer. */
  readonly postalAddress: string;
  /** The planners' exploration seed. */
  readonly plannerSeed: string;
  /** The secret holding the link-signing key. */
  readonly signingKey: ISecret;
  /** The approval page's base URL (the Function URL). */
  readonly approvalBaseUrl: string;
  /** The key that signs run digests and the bucket they go to. */
  readonly digests: { readonly key: IKey; readonly bucket: IBucket };
  /** The state machine whose waiting tasks a callback completes (looked up only when used). */
  readonly stateMachine: () => IStateMachine;
  /**
   * The secret holding the key that signs requests to the signals endpoint; required by the
   * signalsKey port. @default - none
   */
  readonly signalsKey?: ISecret;
  /**
   * The SES configuration set that publishes the tools' email events; required by the emailEvents
   * port. @default - none
   */
  readonly emailEvents?: { readonly configurationSetName: string };
  /** The connectors beyond email (config/connectors.yaml), which the tools port is given. @default - none */
  readonly connectors?: Connectors;
}

/** A resource a declared port needs, or an error naming both. */
function required<T>(value: T | undefined, port: string): T {
  if (value === undefined) throw new Error(`AgentFunction.bind: resources.${port} is required, since the ports include ${port}`);
  return value;
}

const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
