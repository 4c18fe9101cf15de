/**
 * Nobody runs a different workflow locally by accident: the ASL that `amk run` executes has the
 * same SHA-256 as the state machine in the template the `cdk synth` CLI writes, with tokens
 * resolved the same way.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveTemplate } from '../../local/engine/template.ts';

const run = promisify(execFile);
const env = { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', CDK_DISABLE_CLI_TELEMETRY: 'true' };

describe('the workflow amk runs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'amk-hash-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is the state machine of the template `cdk synth` produces, byte for byte', async () => {
    const out = join(dir, 'cdk.out');
    await run('npx', ['cdk', 'synth', '--no-notices', '-q', '-c', 'bundling=false', '-o', out], { env, timeout: 180_000 });
    const templateFile = readdirSync(out).find((f) => f.endsWith('.template.json'));
    expect(templateFile).toBeDefined();
    const template = resolveTemplate(JSON.parse(readFileSync(join(out, templateFile ?? ''), 'utf8')));
    const standard = [...template.stateMachines.values()].filter((sm) => sm.type === 'STANDARD');
    const express = [...template.stateMachines.values()].filter((sm) => sm.type === 'EXPRESS');
    expect(standard).toHaveLength(1);
    expect(express).toHaveLength(1);

    const { stdout } = await run('node', ['local/cli/bin.mjs', 'run', '--runs', '1', '--accounts', '12', '--reset', '--json', '--data', join(dir, 'data')], { env, timeout: 180_000 });
    const report = JSON.parse(stdout) as {
      definitionSha256: string;
      childDefinitionSha256: Record<string, string>;
      runs: number;
      accounts: number;
      actions: Record<string, number>;
      stateTransitions: number;
    };
    expect(report.definitionSha256).toBe(standard[0]?.sha256);
    expect(Object.values(report.childDefinitionSha256)).toEqual([express[0]?.sha256]);
    expect(report.runs).toBe(1);
    expect(report.accounts).toBe(12);
    expect(report.stateTransitions).toBeGreaterThan(0);
    for (const key of ['proposed', 'executed', 'needsApproval', 'approved', 'rejected', 'expired', 'blocked']) {
      expect(report.actions[key], key).toEqual(expect.any(Number));
    }
    expect(report.actions.proposed).toBeGreaterThan(0);
  }, 240_000);
});
