/**
 * Reads the state machines and Lambda functions out of a synthesized CloudFormation template and
 * resolves the intrinsic functions in their definitions to concrete ARNs, so the very ASL that
 * `cdk synth` produces can run locally. Nothing here knows the workflow's states.
 */
import { createHash } from 'node:crypto';
import * as z from 'zod';

/** The account and region that resolved ARNs use locally. */
export const LOCAL_ACCOUNT = '123456789012';
/** The region that resolved ARNs use locally. */
export const LOCAL_REGION = 'us-east-1';

/** A state machine found in the template. */
export interface TemplateStateMachine {
  readonly logicalId: string;
  readonly type: 'STANDARD' | 'EXPRESS';
  /** The resolved ASL as a string, exactly as it would be deployed (modulo account/region). */
  readonly definitionString: string;
  readonly definition: Record<string, unknown>;
  /** SHA-256 of definitionString. */
  readonly sha256: string;
  /** The execution-log settings of the state machine (what CloudWatch Logs will ingest). */
  readonly logging: StateMachineLogging;
}

/** A state machine's LoggingConfiguration, as deployed. */
export interface StateMachineLogging {
  /** ALL, ERROR, FATAL or OFF (no LoggingConfiguration means OFF). */
  readonly level: 'ALL' | 'ERROR' | 'FATAL' | 'OFF';
  /** Whether log events carry state input and output. */
  readonly includeExecutionData: boolean;
}

/** A Lambda function found in the template, with the handler module it runs. */
export interface TemplateFunction {
  readonly logicalId: string;
  /** Source entry of the handler (`amk:entry` metadata), relative to the project root. */
  readonly entry: string;
  readonly name: string;
  /** Configured memory (MemorySize) in MB: Lambda bills duration at this size. @default 128, as Lambda */
  readonly memoryMb: number;
  /** Instruction set (Architectures), which sets the duration price. @default 'x86_64', as Lambda */
  readonly architecture: 'arm64' | 'x86_64';
  /** Environment.Variables as synthesized (intrinsics unresolved: see resolveIntrinsics). */
  readonly environment: Readonly<Record<string, unknown>>;
  /** Logical id of the function's execution role. */
  readonly roleLogicalId: string;
  /** The function's asset folder in the cloud assembly (`aws:asset:path`), when it has one. */
  readonly assetPath?: string;
  /** Files the bundle carries (`amk:files`): file name -> path relative to the cloud assembly. */
  readonly files: Readonly<Record<string, string>>;
}

/** An IAM policy statement as synthesized (intrinsics unresolved). */
export interface TemplateStatement {
  readonly Effect: 'Allow' | 'Deny';
  readonly Action?: string | string[];
  readonly NotAction?: string | string[];
  readonly Resource?: unknown;
  readonly NotResource?: unknown;
  readonly Condition?: unknown;
  readonly Sid?: string;
}

/** A policy attached to a role: where it comes from (for messages) and its statements. */
export interface TemplatePolicy {
  /** Logical id of the AWS::IAM::Policy, or `<role>.Policies[i]` for an inline role policy. */
  readonly id: string;
  readonly statements: readonly TemplateStatement[];
}

/** What the local runtime needs from a template. */
export interface ResolvedTemplate {
  readonly stateMachines: ReadonlyMap<string, TemplateStateMachine>;
  readonly functions: ReadonlyMap<string, TemplateFunction>;
  /** Policies attached to each role, by the role's logical id. */
  readonly rolePolicies: ReadonlyMap<string, readonly TemplatePolicy[]>;
  /** Every resource of the template (to resolve intrinsics of environments and policies). */
  readonly resources: Readonly<Record<string, TemplateResource>>;
}

/** A resource of the template. */
export interface TemplateResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly Metadata?: Record<string, unknown>;
}

/** How resources without a fixed local identity resolve (tables, Function URLs). */
export interface ResolveHooks {
  /** The physical name of a table resource (its Ref). @default the logical id */
  readonly tableName?: (logicalId: string, resource: TemplateResource) => string;
  /** The URL of a Function URL resource (its FunctionUrl attribute). @default a placeholder */
  readonly functionUrl?: (logicalId: string) => string;
}

const Resource = z.object({ Type: z.string(), Properties: z.record(z.string(), z.unknown()).optional(), Metadata: z.record(z.string(), z.unknown()).optional() });
const Statement = z.looseObject({ Effect: z.enum(['Allow', 'Deny']) });
const PolicyDocument = z.object({ Statement: z.union([z.array(Statement), Statement]) });
const RoleRef = z.object({ Ref: z.string() });
const RoleArn = z.object({ 'Fn::GetAtt': z.tuple([z.string(), z.literal('Arn')]) });
const Template = z.object({ Resources: z.record(z.string(), Resource) });
const Logging = z
  .object({ Level: z.enum(['ALL', 'ERROR', 'FATAL', 'OFF']).default('OFF'), IncludeExecutionData: z.boolean().default(false) })
  .optional();
const FunctionProps = z.object({
  MemorySize: z.number().int().positive().default(128),
  Architectures: z.array(z.enum(['arm64', 'x86_64'])).default(['x86_64']),
  Role: RoleArn,
  Environment: z.object({ Variables: z.record(z.string(), z.unknown()).default({}) }).default({ Variables: {} }),
});

/** ARN of a Lambda function as resolved locally (the function name is its logical id). */
export const localFunctionArn = (logicalId: string): string => `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:${logicalId}`;
/** ARN of a state machine as resolved locally (its name is its logical id). */
export const localStateMachineArn = (logicalId: string): string => `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:stateMachine:${logicalId}`;

/** Resolves Ref, Fn::GetAtt, Fn::Join and Fn::Sub (pseudo parameters and resources) to strings. */
export function resolveIntrinsics(value: unknown, resources: Readonly<Record<string, TemplateResource>>, hooks: ResolveHooks = {}): unknown {
  const recurse = (v: unknown): unknown => resolveIntrinsics(v, resources, hooks);
  if (Array.isArray(value)) return value.map(recurse);
  if (value === null || typeof value !== 'object') return value;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj);
  if (keys.length === 1) {
    const [key] = keys as [string];
    const arg = obj[key];
    if (key === 'Ref') return resolveRef(String(arg), resources, hooks);
    if (key === 'Fn::GetAtt') {
      const [id, attr] = (Array.isArray(arg) ? arg : String(arg).split('.')) as [string, string];
      return resolveGetAtt(id, attr, resources, hooks);
    }
    if (key === 'Fn::Join') {
      const [sep, parts] = arg as [string, unknown[]];
      return parts.map((p) => String(recurse(p))).join(sep);
    }
    if (key === 'Fn::Select') {
      const [index, list] = arg as [number | string, unknown];
      const items = recurse(list);
      if (!Array.isArray(items)) throw new Error('Template: Fn::Select over something that is not a list');
      return items[Number(index)];
    }
    if (key === 'Fn::Split') {
      const [sep, text] = arg as [string, unknown];
      return String(recurse(text)).split(sep);
    }
    if (key === 'Fn::Sub') {
      const [text, vars] = (Array.isArray(arg) ? arg : [arg, {}]) as [string, Record<string, unknown>];
      return text.replace(/\$\{([^}]+)\}/g, (_, name: string) => {
        if (name in vars) return String(recurse(vars[name]));
        const [id, attr] = name.split('.') as [string, string | undefined];
        return String(attr ? resolveGetAtt(id, attr, resources, hooks) : resolveRef(id, resources, hooks));
      });
    }
  }
  return Object.fromEntries(keys.map((k) => [k, recurse(obj[k])]));
}

/** ARN of a table as resolved locally. */
export const localTableArn = (name: string): string => `arn:aws:dynamodb:${LOCAL_REGION}:${LOCAL_ACCOUNT}:table/${name}`;
/** ARN of a KMS key as resolved locally (its id is its logical id). */
export const localKeyArn = (logicalId: string): string => `arn:aws:kms:${LOCAL_REGION}:${LOCAL_ACCOUNT}:key/${logicalId}`;
/** Name of a bucket as resolved locally: its logical id, lower-cased (bucket names are). */
export const localBucketName = (logicalId: string): string => logicalId.toLowerCase();
/** ARN of a secret as resolved locally (its name is its logical id). */
export const localSecretArn = (logicalId: string): string => `arn:aws:secretsmanager:${LOCAL_REGION}:${LOCAL_ACCOUNT}:secret:${logicalId}`;

function tableNameOf(id: string, resources: Readonly<Record<string, TemplateResource>>, hooks: ResolveHooks): string {
  const resource = resources[id] as TemplateResource;
  return hooks.tableName ? hooks.tableName(id, resource) : id;
}

function resolveRef(id: string, resources: Readonly<Record<string, TemplateResource>>, hooks: ResolveHooks): string {
  switch (id) {
    case 'AWS::Partition':
      return 'aws';
    case 'AWS::Region':
      return LOCAL_REGION;
    case 'AWS::AccountId':
      return LOCAL_ACCOUNT;
    case 'AWS::URLSuffix':
      return 'amazonaws.com';
    case 'AWS::StackName':
      return 'local';
  }
  const type = resources[id]?.Type;
  if (type === 'AWS::StepFunctions::StateMachine') return localStateMachineArn(id);
  if (type === 'AWS::DynamoDB::Table') return tableNameOf(id, resources, hooks);
  if (type === 'AWS::SecretsManager::Secret') return localSecretArn(id);
  if (type === 'AWS::S3::Bucket') return localBucketName(id);
  if (type === 'AWS::KMS::Key') return id;
  if (type === undefined) throw new Error(`Template: Ref to unknown resource ${id}`);
  return id;
}

function resolveGetAtt(id: string, attr: string, resources: Readonly<Record<string, TemplateResource>>, hooks: ResolveHooks): string {
  const type = resources[id]?.Type;
  if (type === 'AWS::DynamoDB::Table' && attr === 'Arn') return localTableArn(tableNameOf(id, resources, hooks));
  if (type === 'AWS::Lambda::Url' && attr === 'FunctionUrl') return hooks.functionUrl ? hooks.functionUrl(id) : `https://${id.toLowerCase()}.lambda-url.${LOCAL_REGION}.on.aws/`;
  if (type === 'AWS::Lambda::Function' && attr === 'Arn') return localFunctionArn(id);
  if (type === 'AWS::StepFunctions::StateMachine' && attr === 'Arn') return localStateMachineArn(id);
  if (type === 'AWS::KMS::Key' && attr === 'Arn') return localKeyArn(id);
  if (type === 'AWS::S3::Bucket' && attr === 'Arn') return `arn:aws:s3:::${localBucketName(id)}`;
  if (attr === 'Name') return id;
  if (attr === 'Arn') return `arn:aws:local:${LOCAL_REGION}:${LOCAL_ACCOUNT}:${id}`;
  throw new Error(`Template: cannot resolve Fn::GetAtt ${id}.${attr} locally`);
}

/** SHA-256 (hex) of a definition string. */
export const definitionSha256 = (definitionString: string): string => createHash('sha256').update(definitionString).digest('hex');

/** Extracts and resolves every state machine and function of a synthesized template. */
export function resolveTemplate(template: unknown): ResolvedTemplate {
  const { Resources } = Template.parse(template);
  const stateMachines = new Map<string, TemplateStateMachine>();
  const functions = new Map<string, TemplateFunction>();
  const rolePolicies = new Map<string, TemplatePolicy[]>();
  const attach = (role: string, policy: TemplatePolicy) => rolePolicies.set(role, [...(rolePolicies.get(role) ?? []), policy]);
  const statementsOf = (doc: unknown): TemplateStatement[] => {
    const { Statement: st } = PolicyDocument.parse(doc);
    return (Array.isArray(st) ? st : [st]) as TemplateStatement[];
  };
  for (const [logicalId, res] of Object.entries(Resources)) {
    if (res.Type === 'AWS::IAM::Policy') {
      const props = res.Properties ?? {};
      const roles = z.array(RoleRef).default([]).parse(props.Roles);
      for (const role of roles) attach(role.Ref, { id: logicalId, statements: statementsOf(props.PolicyDocument) });
    } else if (res.Type === 'AWS::IAM::Role') {
      const inline = z.array(z.object({ PolicyDocument: z.unknown() })).default([]).parse(res.Properties?.Policies);
      inline.forEach((p, i) => attach(logicalId, { id: `${logicalId}.Policies[${i}]`, statements: statementsOf(p.PolicyDocument) }));
      if (!rolePolicies.has(logicalId)) rolePolicies.set(logicalId, []);
    }
    if (res.Type === 'AWS::StepFunctions::StateMachine') {
      const props = res.Properties ?? {};
      const raw = props.DefinitionString ?? (props.Definition !== undefined ? JSON.stringify(props.Definition) : undefined);
      if (raw === undefined) throw new Error(`Template: state machine ${logicalId} has no definition`);
      const definitionString = String(resolveIntrinsics(raw, Resources));
      const logging = Logging.parse(props.LoggingConfiguration);
      stateMachines.set(logicalId, {
        logicalId,
        type: props.StateMachineType === 'EXPRESS' ? 'EXPRESS' : 'STANDARD',
        definitionString,
        definition: JSON.parse(definitionString) as Record<string, unknown>,
        sha256: definitionSha256(definitionString),
        logging: { level: logging?.Level ?? 'OFF', includeExecutionData: logging?.IncludeExecutionData ?? false },
      });
    } else if (res.Type === 'AWS::Lambda::Function') {
      const entry = res.Metadata?.['amk:entry'];
      const name = res.Metadata?.['amk:function'];
      if (typeof entry === 'string') {
        const { MemorySize, Architectures, Role, Environment } = FunctionProps.parse(res.Properties ?? {});
        const assetPath = res.Metadata?.['aws:asset:path'];
        const files = z.record(z.string(), z.string()).default({}).parse(res.Metadata?.['amk:files']);
        functions.set(logicalId, {
          logicalId,
          entry,
          name: typeof name === 'string' ? name : logicalId,
          memoryMb: MemorySize,
          architecture: Architectures[0] ?? 'x86_64',
          environment: Environment.Variables,
          roleLogicalId: Role['Fn::GetAtt'][0],
          ...(typeof assetPath === 'string' ? { assetPath } : {}),
          files,
        });
      }
    }
  }
  return { stateMachines, functions, rolePolicies, resources: Resources };
}
