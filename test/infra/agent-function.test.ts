/**
 * The project Function construct on its own: a real esbuild bundle from a throw-away project root
 * (ESM for Node 22, a working `require` for CommonJS code, the AWS SDK left out, extra files
 * copied), template-only synths without handler sources, and the props it refuses.
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AttributeType, Table, type CfnTable } from 'aws-cdk-lib/aws-dynamodb';
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
  const fn = new AgentFunction(stack, 'Fn', { projectRoot: root, ...props });
  return { app, stack, fn };
}

describe('AgentFunction bundling', () => {
  it('bundles an ESM handler whose CommonJS code can require, leaves the AWS SDK external and copies bundledFiles', async () => {
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
    const { app, stack } = stackWith(root, { name: 'demo', bundledFiles: { 'campaigns.json': join(root, 'campaigns-source.json') } }, true);
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

  it('rejects a name, memory size, timeout or bundled file name it cannot use, naming the prop', () => {
    expect(() => stackWith(root(), { name: 'Bad_Name' }, false)).toThrow(/props\.name/);
    expect(() => stackWith(root(), { name: 'ok', memorySize: 64 }, false)).toThrow(/props\.memorySize/);
    expect(() => stackWith(root(), { name: 'ok', timeout: Duration.minutes(16) }, false)).toThrow(/props\.timeout/);
    expect(() => stackWith(root(), { name: 'ok', bundledFiles: { '../escape.json': '/etc/hosts' } }, false)).toThrow(/props\.bundledFiles/);
    expect(() => stackWith(root(), { name: 'ok', environment: { ACCOUNTS_TABLE: 'x' } }, false)).toThrow(/props\.environment must not set ACCOUNTS_TABLE/);
  });

  it('sets a table variable only together with its grant, and only once per table', () => {
    const { stack, fn } = stackWith(root(), { name: 'ok' }, false);
    const table = new Table(stack, 'Audit', { partitionKey: { name: 'pk', type: AttributeType.STRING } });
    fn.useTable(table, 'audit', 'append');
    expect(() => fn.useTable(table, 'audit', 'readwrite')).toThrow(/useTable\("audit"\) called twice/);
    const template = Template.fromStack(stack);
    const tableId = stack.resolve((table.node.defaultChild as CfnTable).logicalId) as string;
    template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: { AUDIT_TABLE: { Ref: tableId } } } });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: ['dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:GetItem'],
            Effect: 'Allow',
            // The audit table's one index is named, not matched with index/*.
            Resource: [{ 'Fn::GetAtt': [tableId, 'Arn'] }, { 'Fn::Join': ['', [{ 'Fn::GetAtt': [tableId, 'Arn'] }, '/index/byRun']] }],
          }),
        ]),
      },
    });
  });
});
