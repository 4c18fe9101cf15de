/**
 * What deploys is what runs. The `cdk synth` CLI writes a real, bundled cloud assembly; `amk run`
 * executes the same state machine byte for byte (with tokens resolved the same way), and
 * `amk run --assembly` runs that very assembly: its definitions, handler mapping, environments and
 * IAM. Taking one permission out of a copy of it makes the run fail, naming the function, the
 * action and the resource. The bundles are small and carry only what their function imports.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveTemplate, type ResolvedTemplate } from '../../local/engine/template.ts';

const run = promisify(execFile);
const env = { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', CDK_DISABLE_CLI_TELEMETRY: 'true' };

/** Largest minified bundle a function may have (cold starts grow with it). */
const MAX_BUNDLE_BYTES = 300 * 1024;

interface RunReport {
  definitionSha256: string;
  childDefinitionSha256: Record<string, string>;
  runs: number;
  accounts: number;
  actions: Record<string, number>;
  stateTransitions: number;
}

describe('the workflow amk runs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'amk-hash-'));
  const out = join(dir, 'cdk.out');
  let templateFile = '';
  let template: ResolvedTemplate;
  let raw: { Resources: Record<string, { Type: string; Properties?: Record<string, unknown>; Metadata?: Record<string, unknown> }> };

  beforeAll(async () => {
    // As a user would before `cdk deploy` (the sender comes from cdk.json).
    await run('npx', ['cdk', 'synth', '--no-notices', '-q', '-o', out], { env, timeout: 240_000 });
    templateFile = readdirSync(out).find((f) => f.endsWith('.template.json')) ?? '';
    raw = JSON.parse(readFileSync(join(out, templateFile), 'utf8')) as typeof raw;
    template = resolveTemplate(raw);
  }, 300_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const standard = () => [...template.stateMachines.values()].filter((sm) => sm.type === 'STANDARD');
  const express = () => [...template.stateMachines.values()].filter((sm) => sm.type === 'EXPRESS');

  it('is the state machine of the template `cdk synth` produces, byte for byte', async () => {
    expect(standard()).toHaveLength(1);
    expect(express()).toHaveLength(1);
    const { stdout } = await run('node', ['local/cli/bin.mjs', 'run', '--runs', '1', '--accounts', '12', '--reset', '--json', '--data', join(dir, 'data')], { env, timeout: 180_000 });
    const report = JSON.parse(stdout) as RunReport;
    expect(report.definitionSha256).toBe(standard()[0]?.sha256);
    expect(Object.values(report.childDefinitionSha256)).toEqual([express()[0]?.sha256]);
    expect(report.runs).toBe(1);
    expect(report.accounts).toBe(12);
    expect(report.stateTransitions).toBeGreaterThan(0);
    for (const key of ['proposed', 'executed', 'needsApproval', 'approved', 'rejected', 'expired', 'blocked']) {
      expect(report.actions[key], key).toEqual(expect.any(Number));
    }
    expect(report.actions.proposed).toBeGreaterThan(0);
  }, 240_000);

  it('runs the cloud assembly itself with --assembly: two weekly runs, the same definition hash', async () => {
    const { stdout } = await run('node', ['local/cli/bin.mjs', 'run', '--assembly', out, '--runs', '2', '--reset', '--json', '--data', join(dir, 'data-assembly')], { env, timeout: 180_000 });
    const report = JSON.parse(stdout) as RunReport;
    expect(report.runs).toBe(2);
    expect(report.definitionSha256).toBe(standard()[0]?.sha256);
    expect(report.actions.executed).toBeGreaterThan(0);
  }, 240_000);

  it('fails the run of an assembly with one permission taken away, naming the function, the action and the resource', async () => {
    const broken = join(dir, 'cdk.out-broken');
    cpSync(out, broken, { recursive: true });
    // Govern reserves spend on the run: without dynamodb:UpdateItem on the runs table it cannot grant anything that costs.
    const govern = Object.entries(raw.Resources).find(([, r]) => r.Type === 'AWS::Lambda::Function' && r.Metadata?.['amk:function'] === 'govern');
    const role = ((govern?.[1].Properties?.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'])[0];
    const copy = JSON.parse(JSON.stringify(raw)) as typeof raw;
    let removed = 0;
    for (const r of Object.values(copy.Resources)) {
      if (r.Type !== 'AWS::IAM::Policy' || !JSON.stringify(r.Properties?.Roles).includes(role)) continue;
      const doc = r.Properties?.PolicyDocument as { Statement: Array<{ Action: unknown; Effect: string }> };
      const before = doc.Statement.length;
      // The grant (the audit table's Deny names UpdateItem too, and stays).
      doc.Statement = doc.Statement.filter((s) => !(s.Effect === 'Allow' && JSON.stringify(s.Action).includes('"dynamodb:UpdateItem"')));
      removed += before - doc.Statement.length;
    }
    expect(removed).toBe(1);
    writeFileSync(join(broken, templateFile), JSON.stringify(copy));
    const failed = await run('node', ['local/cli/bin.mjs', 'run', '--assembly', broken, '--runs', '1', '--reset', '--json', '--data', join(dir, 'data-broken')], {
      env,
      timeout: 180_000,
    }).then(
      () => undefined,
      (err: { code?: number; stderr?: string }) => err,
    );
    expect(failed?.code).not.toBe(0);
    expect(failed?.stderr).toContain('AccessDeniedException');
    expect(failed?.stderr).toContain('function govern');
    expect(failed?.stderr).toContain('dynamodb:UpdateItem');
    expect(failed?.stderr).toContain('table/amk-runs');
    expect(failed?.stderr).not.toMatch(/\n\s+at /);
  }, 240_000);

  it('bundles each function within 300 KB, with only what it imports: no YAML parser, no simulator', () => {
    const sizes: Record<string, number> = {};
    for (const fn of template.functions.values()) {
      const asset = join(out, fn.assetPath ?? 'missing');
      const bytes = statSync(join(asset, 'index.mjs')).size;
      sizes[fn.name] = bytes;
      expect(bytes, fn.name).toBeLessThanOrEqual(MAX_BUNDLE_BYTES);
      const sources = (JSON.parse(readFileSync(join(asset, 'index.mjs.map'), 'utf8')) as { sources: string[] }).sources;
      expect(sources.filter((s) => /node_modules\/yaml\/|local\/simulator\/|shared\/config\/load\.ts/.test(s)), fn.name).toEqual([]);
      // The functions that read configuration carry the campaigns synth validated.
      if (fn.files['campaigns.json'] !== undefined) expect(readdirSync(asset), fn.name).toContain('campaigns.json');
    }
    // The 15 workflow tasks (list-send-slots and send-deferred among them), the approval page, StartRun,
    // the three signal intakes (the signed endpoint, the EventBridge rule's, SES's events) and the audit verifier.


    expect(Object.keys(sizes)).toHaveLength(21);
    console.log(`bundle sizes (bytes): ${JSON.stringify(sizes)}`);
  });
});
