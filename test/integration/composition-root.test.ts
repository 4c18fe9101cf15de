/**
 * The AWS wiring, tested: every handler's ports are built by the composition root Lambda uses
 * (lambdaStepDeps over process.env, SDK clients with their default configuration) from that
 * function's own synthesized environment, each in a worker thread of its own so that its
 * process.env is that environment and nothing else. The SDK clients reach the local stand-ins
 * through the standard AWS_ENDPOINT_URL_* variables, as they would reach AWS.
 */
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flagPortsOf, STEP_PORTS, tablePortsOf, type StepName, type StepPorts } from '../../shared/app/steps.ts';
import { startTestRuntime, tempConfig } from './workflow-fixture.ts';

interface ColdStart {
  ok: boolean;
  ports?: string[];
  reads?: string[];
  signingKeyBytes?: number;
  error?: string;
}

function coldStart(name: string, env: Record<string, string>): Promise<ColdStart> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('../fixtures/lambda-cold-start.mjs', import.meta.url), { workerData: { name }, env });
    worker.once('message', (m: ColdStart) => {
      resolve(m);
      void worker.terminate();
    });
    worker.once('error', reject);
  });
}

/** The ports a declaration gives a use case (and the clock every step has). */
function declaredKeys(ports: StepPorts): string[] {
  const flags = flagPortsOf(ports).flatMap((f) => (f === 'mailer' ? ['mailer', 'mailFrom'] : [f]));
  return ['clock', ...tablePortsOf(ports).map(([p]) => p), ...flags].sort();
}

describe('the AWS composition root of every handler', () => {
  const config = tempConfig();
  let env: Awaited<ReturnType<typeof startTestRuntime>>;
  beforeAll(async () => {
    env = await startTestRuntime(config.campaignFile, { accounts: 6 });
  }, 60_000);
  afterAll(async () => {
    await env?.stop();
    config.cleanup();
  });

  it('builds exactly the declared ports from each function\'s synthesized environment, and reads through each table port', async () => {
    const { runtime } = env;
    const e = runtime.endpoints;
    const functions = [...runtime.template.functions.values()];
    expect(functions).toHaveLength(Object.keys(STEP_PORTS).length);
    for (const fn of functions) {
      const wiring = runtime.wiring.get(fn.logicalId);
      const result = await coldStart(fn.name, {
        ...wiring?.env,
        // What Lambda adds (the role's credentials) and how the SDK is pointed at the stand-ins.
        AWS_ACCESS_KEY_ID: 'local',
        AWS_SECRET_ACCESS_KEY: 'local',
        AWS_ENDPOINT_URL_DYNAMODB: e.dynamodb,
        AWS_ENDPOINT_URL_SFN: e.sfn,
        AWS_ENDPOINT_URL_SESV2: e.sesv2,
        AWS_ENDPOINT_URL_SECRETS_MANAGER: e.secretsmanager,
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      });
      const ports: StepPorts = STEP_PORTS[fn.name as StepName];
      expect(result, fn.name).toMatchObject({ ok: true, ports: declaredKeys(ports) });
      // One read through every table port it has, against the tables its variables name.
      expect(result.reads?.map((r) => r.split('.')[0]).sort(), fn.name).toEqual(tablePortsOf(ports).map(([p]) => p).sort());
      if (ports.signingKey) expect(result.signingKeyBytes, fn.name).toBeGreaterThanOrEqual(32);
    }
  }, 120_000);

  it('refuses to start a function whose environment lacks a variable its ports need, naming both', async () => {
    const { runtime } = env;
    const fn = [...runtime.template.functions.values()].find((f) => f.name === 'govern');
    const { RUNS_TABLE: _gone, ...rest } = runtime.wiring.get(fn?.logicalId ?? '')?.env ?? {};
    const result = await coldStart('govern', { ...rest, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' });
    expect(result.ok).toBe(false);
    expect(result.error).toContain('InvalidConfigError: environment of function govern: RUNS_TABLE: is not set, and the runs port of function govern needs it');
  }, 60_000);
});
