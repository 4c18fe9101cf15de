/**
 * Fault injection on the embedded default: tools failing transiently and refusing, DynamoDB
 * throttled (and retried by the SDK), every step delivered twice — and still, from the world's own
 * ledger, no action reached anyone twice.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultSpecError, parseFaults } from '../../local/engine/faults.ts';
import { BUSY_WEEKS, runWeekWith, startTestRuntime, tempConfig } from './workflow-fixture.ts';

describe('a fault plan', () => {
  it('reads rates, duplicates and a seed, and refuses anything else naming the part', () => {
    expect(parseFaults('tools=0.2,throttle=0.05,duplicates', 's')).toEqual({ seed: 's', tools: 0.2, timeouts: 0, rejects: 0, throttle: 0.05, duplicates: true });
    expect(parseFaults('rejects=1,seed=x').seed).toBe('x');
    expect(() => parseFaults('tools=2')).toThrow(new FaultSpecError('faults: "tools=2": tools expects a rate from 0 to 1, got "2"'));
    expect(() => parseFaults('tools=lots')).toThrow(/tools expects a rate from 0 to 1, got "lots"/);
    expect(() => parseFaults('gremlins=0.1')).toThrow(/unknown fault "gremlins"/);
    expect(() => parseFaults('duplicates=maybe')).toThrow(/duplicates takes no value/);
  });
});

describe('a week with faults injected', () => {
  const config = tempConfig({ 'guardrails/default.yaml': BUSY_WEEKS });
  let env: Awaited<ReturnType<typeof startTestRuntime>>;
  beforeAll(async () => {
    env = await startTestRuntime(config.campaignFile, { accounts: 20, faults: parseFaults('tools=0.3,rejects=0.05,throttle=0.02,duplicates', 'faults-test') });
  }, 60_000);
  afterAll(async () => {
    await env?.stop();
    config.cleanup();
  });

  it('injects every kind asked for, and no action reaches the world twice', async () => {
    const { runtime } = env;
    await runWeekWith(runtime, { decide: () => 'approve' });
    const injected = runtime.faults.snapshot();
    expect(injected.toolFailures).toBeGreaterThan(0);
    expect(injected.throttles).toBeGreaterThan(0);
    expect(injected.duplicateDeliveries).toBeGreaterThan(0);
    const touches = [...runtime.market.touchesByAction()];
    expect(touches.length).toBeGreaterThan(0);
    expect(touches.filter(([, n]) => n > 1)).toEqual([]);
  }, 120_000);
});
