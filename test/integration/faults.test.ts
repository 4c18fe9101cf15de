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

/**
 * Every Lambda step delivered twice (the first result dropped, as when a retry fires after the
 * function finished) books exactly what one delivery books: the same counters, spend, learned
 * model, audit events and world touches as the same weeks delivered once.
 */
describe('every step delivered twice', () => {
  const config = tempConfig({ 'guardrails/default.yaml': BUSY_WEEKS });
  let once: Awaited<ReturnType<typeof startTestRuntime>>;
  let twice: Awaited<ReturnType<typeof startTestRuntime>>;
  beforeAll(async () => {
    once = await startTestRuntime(config.campaignFile, { accounts: 20 });
    twice = await startTestRuntime(config.campaignFile, { accounts: 20, faults: parseFaults('duplicates', 'dup-test') });
  }, 60_000);
  afterAll(async () => {
    await once?.stop();
    await twice?.stop();
    config.cleanup();
  });

  /** What a run booked, as an operator reads it back from the tables and the world. */
  async function books(env: Awaited<ReturnType<typeof startTestRuntime>>, runId: string) {
    const { runtime } = env;
    const run = await runtime.deps.runs.get(runId);
    // `replayed` counts tool calls answered from their idempotency record: the one figure that
    // must differ (the second delivery of Act finds the first one's calls).
    const { replayed: _replayed, ...counters } = run?.counters ?? {};
    const events = await runtime.deps.audit.readRun(runId);
    const kinds: Record<string, number> = {};
    // Progress notes of two-person approvals depend on which member's step runs first (a second
    // delivery can find the other seat decided): timing, not duplication, so they are not compared.
    for (const e of events) if (e.kind !== 'approval_quorum') kinds[e.kind] = (kinds[e.kind] ?? 0) + 1;
    const agents = runtime.bundle.charters.map((c) => c.charter.id).sort();
    const models = await Promise.all(agents.map(async (a) => (await runtime.deps.memory.getModel(a)).arms));
    const spend = await Promise.all(agents.map((a) => runtime.deps.runs.getAgentSpend(a, run?.now.slice(0, 7) ?? '')));
    return { counters, kinds, models, spend, touches: [...runtime.market.touchesByAction().values()].reduce((a, b) => a + b, 0) };
  }

  it('books every week as one delivery does', async () => {
    let executed = 0;
    for (let week = 0; week < 3; week++) {
      const a = await runWeekWith(once.runtime, { decide: () => 'approve' });
      const b = await runWeekWith(twice.runtime, { decide: () => 'approve' });
      expect(twice.runtime.faults.snapshot().duplicateDeliveries).toBeGreaterThan(0);
      const [expected, actual] = [await books(once, a.result.runId), await books(twice, b.result.runId)];
      executed += expected.counters['executed'] ?? 0;
      expect(actual).toEqual(expected);
    }
    // The weeks did something to book: actions executed, autonomously and after approval.
    expect(executed).toBeGreaterThan(0);
    expect([...twice.runtime.market.touchesByAction()].filter(([, n]) => n > 1)).toEqual([]);
  }, 240_000);
});
