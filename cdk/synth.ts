/**
 * Builds the CDK app in-process. `cdk/app.ts` uses it for `cdk synth`/`deploy`; the local runtime
 * and the infra tests use it to obtain the very template (and state machine definitions) AWS
 * would get, offline and in a few seconds with bundling skipped.
 */
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { InvalidConfigError } from '../shared/domain/errors.ts';
import { PROJECT_ROOT } from './constructs/agent-function.ts';
import { CampaignStack } from './stacks/campaign-stack.ts';

/** Options of {@link buildApp} and {@link synthesizeTemplate}. */
export interface BuildAppOptions {
  /**
   * Cloud assembly directory.
   * @default - `CDK_OUTDIR` (set by the CLI) or a new temporary folder
   */
  readonly outdir?: string;
  /**
   * Folder with the campaign, charter and guardrails YAML.
   * @default - context `configDir`, else 'config'
   */
  readonly configDir?: string;
  /**
   * Whether to bundle the Lambda handlers with esbuild; `false` skips bundling for every stack
   * (context `aws:cdk:bundling-stacks: []`) and the handler sources need not exist.
   * @default - context `bundling` (`-c bundling=false`), else the CLI's choice (bundle every stack)
   */
  readonly bundling?: boolean;
  /**
   * Extra context, as `-c key=value` would give (`sender`, `senderName`, `postalAddress`, `approvers`, `configDir`, `stackName`, `plannerSeed`, `bundling`).
   * @default - none
   */
  readonly context?: Record<string, unknown>;
  /**
   * Whether CDK's built-in CloudFormation schema validation runs at synth. It only warns, and
   * loading its schemas costs a few seconds of a cold synth, which the local runtime skips.
   * @default true
   */
  readonly builtinValidation?: boolean;
}

/** Default stack name (context `stackName` overrides it). */
export const DEFAULT_STACK_NAME = 'AutonomousMarketing';
/** Default planner seed (context `plannerSeed` overrides it). */
export const DEFAULT_PLANNER_SEED = 'amk';

/** The sender's name in marketing emails when `-c senderName` is not given. */
export const DEFAULT_SENDER_NAME = 'Autonomous Marketing (demo)';
/** A placeholder postal address (synth warns about it): set `-c postalAddress=...` before you deploy. */
export const DEFAULT_POSTAL_ADDRESS = '1 Example Street, Springfield, EX1 2MP, Exampleland';

/** Creates the app and the stack (throws InvalidConfigError when a campaign file is invalid). */
export function buildApp(opts: BuildAppOptions = {}): { app: App; stack: CampaignStack } {
  const app = new App({
    ...(opts.outdir !== undefined ? { outdir: opts.outdir } : {}),
    // Like the CLI: resources name their asset folder, so the local runtime can find bundles.
    context: { 'aws:cdk:enable-asset-metadata': true, ...opts.context },
    builtinCloudFormationValidation: opts.builtinValidation ?? true,
  });
  const context = (key: string): unknown => app.node.tryGetContext(key);
  // The CLI refuses `-c aws:...` keys, hence `-c bundling=false` as the switch for template-only synths.
  if ((opts.bundling ?? booleanContext(context('bundling'), 'bundling')) === false) {
    app.node.setContext('aws:cdk:bundling-stacks', []);
  }
  const stack = new CampaignStack(app, stringContext(context('stackName'), 'stackName') ?? DEFAULT_STACK_NAME, {
    description: 'Autonomous Marketing: agents that plan and execute B2B campaigns under human governance',
    configDir: opts.configDir ?? stringContext(context('configDir'), 'configDir') ?? 'config',
    // No default: every email leaves from this address, so it is configuration (cdk.json or -c).
    senderAddress: requiredContext(stringContext(context('sender'), 'sender'), 'sender', 'the From address of every email, an SES-verified identity'),
    plannerSeed: stringContext(context('plannerSeed'), 'plannerSeed') ?? DEFAULT_PLANNER_SEED,
    // Who sends the marketing emails and from where: every one carries the postal address.
    // (The defaults are placeholders that synth warns about: amk:placeholder-postal-address.)
    senderName: stringContext(context('senderName'), 'senderName') ?? DEFAULT_SENDER_NAME,
    postalAddress: stringContext(context('postalAddress'), 'postalAddress') ?? DEFAULT_POSTAL_ADDRESS,
    // Optional allow-list: when given, config that routes approvals to anyone else fails synth.
    ...(context('approvers') === undefined ? {} : { approverEmails: listContext(context('approvers'), 'approvers') }),
  });
  return { app, stack };
}

/**
 * Synthesizes in-process and returns the stack's template; by default fast and offline: bundling,
 * built-in validation and stack traces off (cdk-nag is not run here; `cdk synth` runs it).
 */
export function synthesizeTemplate(opts: BuildAppOptions = {}): { template: Record<string, unknown>; assemblyDir: string } {
  const { app, stack } = buildApp({
    ...opts,
    bundling: opts.bundling ?? false,
    builtinValidation: opts.builtinValidation ?? false,
    // Construct stack traces only serve validation reports; recording them slows synth down.
    context: { 'aws:cdk:disable-stack-trace': true, ...opts.context },
    // Inside the project's ignored cdk.out, never the system temp folder.
    outdir: opts.outdir ?? join(PROJECT_ROOT, 'cdk.out', 'local-synth'),
  });
  const assembly = app.synth();
  const template = assembly.getStackArtifact(stack.artifactId).template as Record<string, unknown>;
  return { template, assemblyDir: assembly.directory };
}

function stringContext(value: unknown, key: string): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw new Error(`context "${key}" must be a string, got ${JSON.stringify(value)}`);
  return value;
}

/** A context value the app cannot do without: a clear synth error naming it and how to set it. */
function requiredContext(value: string | undefined, key: string, what: string): string {
  if (value === undefined) throw new InvalidConfigError(`context "${key}"`, [{ path: key, message: `is not set: it is ${what}. Set it with -c ${key}=... or in cdk.json's "context"` }]);
  return value;
}

function booleanContext(value: unknown, key: string): boolean | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  throw new Error(`context "${key}" must be true or false, got ${JSON.stringify(value)}`);
}

function listContext(value: unknown, key: string): string[] | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  // `-c approvers=a@x.com,b@y.com` arrives as one string; cdk.json may hold a list.
  if (typeof value === 'string') return value.split(',').map((s) => s.trim()).filter(Boolean);
  if (Array.isArray(value) && value.every((v): v is string => typeof v === 'string')) return value;
  throw new Error(`context "${key}" must be a comma-separated string or a list of strings`);
}
