/**
 * The project's Lambda function: owns the defaults every handler shares (Node.js 22 on arm64, ESM
 * bundle, X-Ray, a log group with retention) and the one way a function reaches a table, so that
 * an environment variable never exists without its least-privilege grant.
 */
import { existsSync } from 'node:fs';
import { join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, Stack, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Effect, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Code, Runtime, Tracing, type CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { LogLevel, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { TABLES, type TableKey } from '../../shared/adapters/dynamodb/tables.ts';

/** The repository root (cdk/constructs/../..), so entries resolve the same from any working directory. */
export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** How a function may use a table. */
export type TableAccess = 'read' | 'readwrite' | 'append';

/** Exact DynamoDB actions per access level; never a wildcard. */
export const TABLE_ACTIONS: Readonly<Record<TableAccess, readonly string[]>> = {
  read: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:BatchGetItem'],
  readwrite: [
    'dynamodb:GetItem',
    'dynamodb:Query',
    'dynamodb:BatchGetItem',
    'dynamodb:PutItem',
    'dynamodb:UpdateItem',
    'dynamodb:DeleteItem',
    'dynamodb:BatchWriteItem',
  ],
  // The audit trail is append-only and hash-chained: reading the tail is allowed, rewriting is not.
  append: ['dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:GetItem'],
};

/** Environment variable that carries the sender address to functions that send email. */
export const SENDER_ENV = 'MAIL_FROM';

/** CloudFormation metadata keys the local runtime maps a Lambda to its handler module by. */
export const FUNCTION_METADATA = { entry: 'amk:entry', name: 'amk:function' } as const;

// esbuild's ESM output has no `require`; CommonJS dependencies bundled into it still call it.
const REQUIRE_BANNER = "import { createRequire as __amkCreateRequire } from 'node:module'; const require = __amkCreateRequire(import.meta.url);";

/** Properties of {@link AgentFunction}. */
export interface AgentFunctionProps {
  /** Folder name under `functions/`; the handler is `functions/<name>/handler.ts`, export `handler`. */
  readonly name: string;
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
   * Retention of the function's log group.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
  /**
   * Extra environment variables (table variables come from {@link AgentFunction.useTable}).
   * @default - none
   */
  readonly environment?: Readonly<Record<string, string>>;
  /**
   * Files copied into the bundle next to the handler: file name in the bundle -> absolute path of
   * the source file (which must exist when bundling runs).
   * @default - none
   */
  readonly bundledFiles?: Readonly<Record<string, string>>;
  /**
   * Powertools service name.
   * @default 'autonomous-marketing'
   */
  readonly serviceName?: string;
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
  private readonly granted = new Map<TableKey, TableAccess>();

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
    const bundledFiles = Object.entries(props.bundledFiles ?? {});
    for (const [fileName] of bundledFiles) {
      if (!/^[A-Za-z0-9._-]+$/.test(fileName) || fileName.startsWith('.')) {
        throw new Error(`AgentFunction ${props.name}: props.bundledFiles key "${fileName}" must be a plain file name`);
      }
    }
    const environment = props.environment ?? {};
    for (const reserved of ['NODE_OPTIONS', 'POWERTOOLS_SERVICE_NAME', SENDER_ENV, ...Object.values(TABLES).map((t) => t.envVar)]) {
      if (reserved in environment) {
        throw new Error(`AgentFunction ${props.name}: props.environment must not set ${reserved} (the construct owns it)`);
      }
    }

    const projectRoot = props.projectRoot ?? PROJECT_ROOT;
    this.functionName = props.name;
    this.entry = posix.join('functions', props.name, 'handler.ts');
    const entryPath = join(projectRoot, 'functions', props.name, 'handler.ts');

    this.logGroup = new LogGroup(this, 'Logs', { retention: props.logRetention ?? RetentionDays.ONE_MONTH });
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
      logGroup: this.logGroup,
      description: `Autonomous Marketing: ${props.name}`,
      environment: {
        ...environment,
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: props.serviceName ?? 'autonomous-marketing',
      },
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

  /** Gives the function a table: its env var (TABLES[key].envVar) together with a least-privilege grant. */
  useTable(table: ITable, key: TableKey, access: TableAccess): void {
    const def = TABLES[key];
    const previous = this.granted.get(key);
    if (previous) {
      throw new Error(`AgentFunction ${this.functionName}: useTable("${key}") called twice (already "${previous}", now "${access}")`);
    }
    this.granted.set(key, access);
    this.lambda.addEnvironment(def.envVar, table.tableName);
    // Every access level may Query; naming each index (not `index/*`) keeps the grant wildcard-free.
    const indexArns = def.indexes.map((index) => `${table.tableArn}/index/${index.name}`);
    this.role.addToPolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: [...TABLE_ACTIONS[access]],
        resources: [table.tableArn, ...indexArns],
      }),
    );
  }

  /**
   * Lets the function send email from one address through SESv2: sets MAIL_FROM together with
   * ses:SendEmail on that address's identity and its domain's (whichever of the two is verified).
   */
  useEmailSender(senderAddress: string): void {
    const domain = /^[^@\s]+@([^@\s]+\.[^@\s]+)$/.exec(senderAddress)?.[1];
    if (!domain) throw new Error(`AgentFunction ${this.functionName}: useEmailSender("${senderAddress}") needs an email address`);
    this.lambda.addEnvironment(SENDER_ENV, senderAddress);
    const stack = Stack.of(this);
    this.role.addToPolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['ses:SendEmail'],
        resources: [senderAddress, domain].map((identity) => stack.formatArn({ service: 'ses', resource: 'identity', resourceName: identity })),
      }),
    );
  }

  /** The table keys granted so far, with their access. */
  get tableAccess(): ReadonlyMap<TableKey, TableAccess> {
    return this.granted;
  }
}

const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
