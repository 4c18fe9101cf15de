/**
 * Reads the state machines and Lambda functions out of a synthesized CloudFormation template and
 * resolves the intrinsic functions in their definitions to concrete ARNs, so the very ASL that
 * `cdk synth` produces can run locally. Nothing here knows the workflow's states.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';

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
}

/** What the local runtime needs from a template. */
export interface ResolvedTemplate {
  readonly stateMachines: ReadonlyMap<string, TemplateStateMachine>;
  readonly functions: ReadonlyMap<string, TemplateFunction>;
}

const Resource = z.object({ Type: z.string(), Properties: z.record(z.string(), z.unknown()).optional(), Metadata: z.record(z.string(), z.unknown()).optional() });
const Template = z.object({ Resources: z.record(z.string(), Resource) });
const Logging = z
  .object({ Level: z.enum(['ALL', 'ERROR', 'FATAL', 'OFF']).default('OFF'), IncludeExecutionData: z.boolean().default(false) })
  .optional();
const FunctionProps = z.object({ MemorySize: z.number().int().positive().default(128), Architectures: z.array(z.enum(['arm64', 'x86_64'])).default(['x86_64']) });

/** ARN of a Lambda function as resolved locally (the function name is its logical id). */
export const localFunctionArn = (logicalId: string): string => `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:${logicalId}`;
/** ARN of a state machine as resolved locally (its name is its logical id). */
export const localStateMachineArn = (logicalId: string): string => `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:stateMachine:${logicalId}`;

/** Resolves Ref, Fn::GetAtt, Fn::Join and Fn::Sub (pseudo parameters and resources) to strings. */
export function resolveIntrinsics(value: unknown, resources: Record<string, { Type: string }>): unknown {
  if (Array.isArray(value)) return value.map((v) => resolveIntrinsics(v, resources));
  if (value === null || typeof value !== 'object') return value;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj);
  if (keys.length === 1) {
    const [key] = keys as [string];
    const arg = obj[key];
    if (key === 'Ref') return resolveRef(String(arg), resources);
    if (key === 'Fn::GetAtt') {
      const [id, attr] = (Array.isArray(arg) ? arg : String(arg).split('.')) as [string, string];
      return resolveGetAtt(id, attr, resources);
    }
    if (key === 'Fn::Join') {
      const [sep, parts] = arg as [string, unknown[]];
      return parts.map((p) => String(resolveIntrinsics(p, resources))).join(sep);
    }
    if (key === 'Fn::Sub') {
      const [text, vars] = (Array.isArray(arg) ? arg : [arg, {}]) as [string, Record<string, unknown>];
      return text.replace(/\$\{([^}]+)\}/g, (_, name: string) => {
        if (name in vars) return String(resolveIntrinsics(vars[name], resources));
        const [id, attr] = name.split('.') as [string, string | undefined];
        return String(attr ? resolveGetAtt(id, attr, resources) : resolveRef(id, resources));
      });
    }
  }
  return Object.fromEntries(keys.map((k) => [k, resolveIntrinsics(obj[k], resources)]));
}

function resolveRef(id: string, resources: Record<string, { Type: string }>): string {
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
  if (type === undefined) throw new Error(`Template: Ref to unknown resource ${id}`);
  return id;
}

function resolveGetAtt(id: string, attr: string, resources: Record<string, { Type: string }>): string {
  const type = resources[id]?.Type;
  if (type === 'AWS::Lambda::Function' && attr === 'Arn') return localFunctionArn(id);
  if (type === 'AWS::StepFunctions::StateMachine' && attr === 'Arn') return localStateMachineArn(id);
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
  for (const [logicalId, res] of Object.entries(Resources)) {
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
      const { MemorySize, Architectures } = FunctionProps.parse(res.Properties ?? {});
      if (typeof entry === 'string') {
        functions.set(logicalId, { logicalId, entry, name: typeof name === 'string' ? name : logicalId, memoryMb: MemorySize, architecture: Architectures[0] ?? 'x86_64' });
      }
    }
  }
  return { stateMachines, functions };
}
