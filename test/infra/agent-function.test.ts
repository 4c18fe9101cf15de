/**
 * The project Function construct on its own: a real esbuild bundle from a throw-away project root
 * (ESM for Node 22, a working `require` for CommonJS code, the AWS SDK left out, extra files
 * copied), template-only synths without handler sources, and the props it refuses.
 */
import { AuditDigests } from '../../cdk/constructs/audit-digests.ts';
import { AUDIT_DENIED_ACTIONS } from '../../cdk/constructs/agent-function.ts';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AttributeType, Table, type CfnTable } from 'aws-cdk-lib/aws-dynamodb';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Pass, StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { afterEach, describe, expect, it } from 'vitest';
import { AgentFunction, PROJECT_ROOT, type AgentFunctionProps } from '../../cdk/constructs/agent-function.ts';

const temps: string[] = [];
const tempDir = (prefix: string): string => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temps.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A minimal project root: a lock file, the project's node_modules, and the given handler files. */
function projectRoot(files: Record<string, string>): string {
  const root = tempDir('amk-infra-root-');
  writeFileSync(join(root, 'package-lock.json'), readFileSync(join(PROJECT_ROOT, 'package-lock.json')));
  symlinkSync(join(PROJECT_ROOT, 'node_modules'), join(root, 'node_modules'), 'dir');
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

function stackWith(root: string, props: Partial<AgentFunctionProps> & { name: string }, bundling: boolean) {
  const app = new App({
    outdir: join(root, 'cdk.out'),
    // As the CLI does: record each asset's folder on its resource.
    context: { 'aws:cdk:enable-asset-metadata': true },
    builtinCloudFormationValidation: false,
    ...(bundling ? {} : { postCliContext: { 'aws:cdk:bundling-stacks': [] } }),
  });
  const stack = new Stack(app, 'Test');
  const fn = new AgentFunction(stack, 'Fn', { projectRoot: root, ports: {}, ...props });
  return { app, stack, fn };
}

describe('AgentFunction bundling', () => {
  it('bundles an ESM handler whose CommonJS code can require, leaves the AWS SDK external and carries the campaigns file', async () => {
    const root = projectRoot({
      // CommonJS code calling require() at run time: without the banner's createRequire, esbuild's
      // ESM output throws "Dynamic require of node:os is not supported".
      'functions/demo/legacy.cjs': "module.exports = function platform() { return require('node:os').platform(); };\n",
      'functions/demo/handler.ts': [
        "import { readFileSync } from 'node:fs';",
        "import { marshall } from '@aws-sdk/util-dynamodb';",
        "import platform from './legacy.cjs';",
        'export const handler = async () => ({',
        '  platform: platform(),',
        "  sdk: typeof marshall,",
        "  campaigns: JSON.parse(readFileSync(new URL('./campaigns.json', import.meta.url), 'utf8')),",
        '});',
        '',
      ].join('\n'),
      'campaigns-source.json': '[{"campaign":{"id":"demo"}}]\n',
    });
    const { app, stack } = stackWith(root, { name: 'demo', ports: { config: true }, campaignsFile: join(root, 'campaigns-source.json') }, true);
    const assembly = app.synth();
    const template = assembly.getStackArtifact(stack.artifactId).template as { Resources: Record<string, { Type: string; Metadata?: Record<string, string> }> };
    const fn = Object.values(template.Resources).find((r) => r.Type === 'AWS::Lambda::Function');
    const assetDir = join(assembly.directory, fn?.Metadata?.['aws:asset:path'] ?? 'missing');

    expect(readdirSync(assetDir).sort()).toEqual(['campaigns.json', 'index.mjs', 'index.mjs.map']);
    const bundle = readFileSync(join(assetDir, 'index.mjs'), 'utf8');
    expect(bundle.startsWith("import { createRequire as __amkCreateRequire } from 'node:module';")).toBe(true);
    expect(bundle).toMatch(/from\s*"@aws-sdk\/util-dynamodb"/);
    // The asset sits under the temporary root, whose node_modules link resolves the external SDK.
    const mod = (await import(pathToFileURL(join(assetDir, 'index.mjs')).href)) as { handler: () => Promise<Record<string, unknown>> };
    expect(await mod.handler()).toEqual({ platform: process.platform, sdk: 'function', campaigns: [{ campaign: { id: 'demo' } }] });
  }, 120_000);

  it('synthesizes a template without the handler source when bundling is skipped', () => {
    const root = projectRoot({});
    const { stack } = stackWith(root, { name: 'not-written-yet' }, false);
    Template.fromStack(stack).hasResource('AWS::Lambda::Function', {
      Properties: { Runtime: 'nodejs22.x', Handler: 'index.handler', Code: { ZipFile: Match.stringLikeRegexp('not bundled') } },
      Metadata: { 'amk:entry': 'functions/not-written-yet/handler.ts', 'amk:function': 'not-written-yet' },
    });
  });

  it('refuses to bundle a handler that does not exist', () => {
    const root = projectRoot({});
    expect(() => stackWith(root, { name: 'not-written-yet' }, true)).toThrow(/Cannot find entry file/);
  });
});

describe('AgentFunction props and grants', () => {
  const root = (): string => projectRoot({});

  it('rejects a name, memory size, timeout or campaigns file it cannot use, naming the prop', () => {
    expect(() => stackWith(root(), { name: 'Bad_Name' }, false)).toThrow(/props\.name/);
    expect(() => stackWith(root(), { name: 'ok', memorySize: 64 }, false)).toThrow(/props\.memorySize/);
    expect(() => stackWith(root(), { name: 'ok', timeout: Duration.minutes(16) }, false)).toThrow(/props\.timeout/);
    expect(() => stackWith(root(), { name: 'ok', ports: { config: true } }, false)).toThrow(/props\.campaignsFile is required/);
    expect(() => stackWith(root(), { name: 'ok', campaignsFile: '/tmp/c.json' }, false)).toThrow(/props\.ports do not include config/);
  });

  /** Binds a function with `ports` to fresh resources; returns the template and the logical ids. */
  function bound(ports: AgentFunctionProps['ports']) {
    const { stack, fn } = stackWith(root(), { name: 'ok', ports }, false);
    const tables = new Map<string, Table>();
    const table = (key: string) => {
      let t = tables.get(key);
      if (!t) tables.set(key, (t = new Table(stack, `T${key}`, { partitionKey: { name: 'pk', type: AttributeType.STRING } })));
      return t;
    };
    const secret = new Secret(stack, 'Key');
    fn.bind({
      tables: table,
      sender: 'agents@corp.example',
      senderName: 'Corp',
      postalAddress: '1 Corp Way, Corptown',
      plannerSeed: 'seed-1',
      signingKey: secret,
      digests: new AuditDigests(stack, 'Digests'),
      approvalBaseUrl: 'https://approvals.example/',
      stateMachine: () => new StateMachine(stack, 'Machine', { definition: new Pass(stack, 'P') }),
    });
    const id = (key: string) => stack.resolve((table(key).node.defaultChild as CfnTable).logicalId) as string;
    return { stack, fn, template: Template.fromStack(stack), id };
  }

  it('gives each declared repository method exactly its DynamoDB actions, on the table or the one index it queries', () => {
    const { template, id } = bound({ audit: ['append'], approvals: ['listIdsForRunShard', 'get'] });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: { AUDIT_TABLE: { Ref: id('audit') }, APPROVALS_TABLE: { Ref: id('approvals') }, NODE_OPTIONS: '--enable-source-maps' } },
    });
    const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
      (p) => (p as { Properties: { PolicyDocument: { Statement: Array<{ Action: unknown; Resource: unknown }> } } }).Properties.PolicyDocument.Statement,
    );
    const dynamo = statements.filter((st) => JSON.stringify(st.Action).includes('dynamodb:') && (st as { Effect?: string }).Effect === 'Allow');
    expect(dynamo).toHaveLength(3);
    expect(dynamo).toEqual(expect.arrayContaining([
      expect.objectContaining({ Action: ['dynamodb:PutItem', 'dynamodb:Query'].sort(), Resource: { 'Fn::GetAtt': [id('audit'), 'Arn'] } }),
      expect.objectContaining({ Action: 'dynamodb:GetItem', Resource: { 'Fn::GetAtt': [id('approvals'), 'Arn'] } }),
      expect.objectContaining({ Action: 'dynamodb:Query', Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [id('approvals'), 'Arn'] }, '/index/byRunShard']] } }),
    ]));
  });

  it('denies every function updating or deleting anything in the audit table, whatever its grants', () => {
    for (const ports of [{ seed: true }, { audit: ['append', 'appendOnce', 'readStream'] }] as const) {
      const { template, id } = bound(ports as AgentFunctionProps['ports']);
      const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
        (p) => (p as { Properties: { PolicyDocument: { Statement: Array<Record<string, unknown>> } } }).Properties.PolicyDocument.Statement,
      );
      expect(statements).toContainEqual(
        expect.objectContaining({ Effect: 'Deny', Action: AUDIT_DENIED_ACTIONS.map((a) => `dynamodb:${a}`), Resource: { 'Fn::GetAtt': [id('audit'), 'Arn'] } }),
      );
    }
  });

  it('gives only a step with the digests port the digest key (GenerateMac) and the digest bucket (PutObject under digests/)', () => {
    const { template } = bound({ digests: true });
    const text = JSON.stringify(template.toJSON());
    expect(text).toContain('AUDIT_DIGEST_KEY_ARN');
    expect(text).toContain('AUDIT_DIGEST_BUCKET');
    const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
      (p) => (p as { Properties: { PolicyDocument: { Statement: Array<Record<string, unknown>> } } }).Properties.PolicyDocument.Statement,
    );
    const allowed = statements.filter((st) => st.Effect === 'Allow').map((st) => st.Action);
    expect(allowed).toContainEqual('kms:GenerateMac');
    expect(allowed).toContainEqual('s3:PutObject');
    expect(JSON.stringify(statements)).not.toMatch(/kms:VerifyMac|s3:GetObject|s3:DeleteObject|kms:\*/);
  });

  it('sets no variable and grants nothing for a port the step does not declare, and binds once', () => {
    const { template, fn } = bound({ seed: true });
    template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: { NODE_OPTIONS: '--enable-source-maps', PLANNER_SEED: 'seed-1' } } });
    // Its one DynamoDB statement is the audit table's Deny (below).
    const text = JSON.stringify({ functions: template.findResources('AWS::Lambda::Function'), policies: template.findResources('AWS::IAM::Policy') }).replace(/"dynamodb:(UpdateItem|DeleteItem|BatchWriteItem|PartiQLUpdate|PartiQLDelete)"/g, '');
    for (const absent of ['MAIL_FROM', 'CAMPAIGNS_FILE', 'SIGNING_KEY_SECRET_ARN', 'APPROVAL_BASE_URL', 'AUDIT_DIGEST', 'kms:', 's3:', 'dynamodb:', 'ses:', 'secretsmanager:', 'states:SendTask']) {
      expect(text).not.toContain(absent);
    }
    expect(() => fn.bind({} as never)).toThrow(/bind\(\) called twice/);
  });

  it('gives the mailer and tools ports the sender with ses:SendEmail on its address and domain, and the callback its own policy', () => {
    const { template } = bound({ mailer: true, tools: true, callback: true, signingKey: true, approvalBaseUrl: true });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: { MAIL_FROM: 'agents@corp.example', SIGNING_KEY_SECRET_ARN: Match.anyValue(), SENDER_NAME: 'Corp', SENDER_POSTAL_ADDRESS: '1 Corp Way, Corptown' } },
    });
    const text = JSON.stringify(template.toJSON());
    expect(text).toContain(':identity/agents@corp.example');
    expect(text).toContain(':identity/corp.example');
    expect(text).toContain('"secretsmanager:GetSecretValue"');
    expect(template.findResources('AWS::IAM::Policy', { Properties: { PolicyName: Match.stringLikeRegexp('TaskResponsePolicy') } })).not.toEqual({});
  });

  it('refuses the tools port without the link key and the approval URL its unsubscribe links need, naming them', () => {
    expect(() => bound({ tools: true })).toThrow(/tools port signs unsubscribe links on the approval endpoint, so its ports must include signingKey and approvalBaseUrl/);
  });
});
