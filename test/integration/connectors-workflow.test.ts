/**
 * Connectors that act, through the deployed wiring: a connectors.yaml routes sales tasks to HubSpot
 * (the local stand-in that follows its documented API), the synthesized template gives the acting
 * functions exactly the token's secret ARN, the token is read from the Secrets Manager stand-in,
 * and each sales task the agents execute is written to the CRM once, also when every step that
 * acts is delivered twice.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hubSpotTaskMarker } from '../../shared/adapters/connectors/hubspot.ts';
import { IMPORTED_SECRETS_FILE, type FunctionWiring } from '../../local/runtime.ts';
import { startHubSpotStub, type HubSpotStub } from '../../local/engine/saas-stubs.ts';
import { runWeekWith, startTestRuntime, tempConfig } from './workflow-fixture.ts';

const TOKEN = 'pat-local-0123456789abcdef';
const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:amk/hubspot-AbCdEf';

describe('a sales task through the HubSpot connector', { timeout: 240_000 }, () => {
  let hubspot: HubSpotStub;
  const config = tempConfig({
    'charters/nurture-agent.yaml': [
      ['allowedTools: [email]', 'allowedTools: [email, sales_task]'],
      ['allowedActions: [nurture_email, objection_response]', 'allowedActions: [nurture_email, objection_response, sdr_call]'],
    ],
  });
  let env: Awaited<ReturnType<typeof startTestRuntime>>;
  const dataDir = mkdtempSync(join(tmpdir(), 'amk-data-'));
  const wirings = new Map<string, FunctionWiring>();

  beforeAll(async () => {
    hubspot = await startHubSpotStub({ token: TOKEN });
    writeFileSync(join(config.dir, 'connectors.yaml'), `tools:\n  sales_task:\n    kind: hubspot\n    tokenSecretArn: ${SECRET_ARN}\n    baseUrl: ${hubspot.url}\n`);
    mkdirSync(join(dataDir, 'secrets'), { recursive: true });
    writeFileSync(join(dataDir, 'secrets', IMPORTED_SECRETS_FILE), JSON.stringify({ [SECRET_ARN]: TOKEN }));
    env = await startTestRuntime(config.campaignFile, {
      dataDir,
      accounts: 24,
      duplicateDelivery: ['act', 'act-approved', 'send-deferred', 'record'],
      rewire: (fn, wiring) => {
        wirings.set(fn.name, wiring);
        return wiring;
      },
    });
  }, 120_000);

  afterAll(async () => {
    await env?.stop();
    await hubspot?.close();
    config.cleanup();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('writes each executed sales task to HubSpot once, however often its step is delivered', async () => {
    const { runtime } = env;
    await runWeekWith(runtime, { approveRate: 1 });
    await runWeekWith(runtime, { approveRate: 1 });
    const salesActions = [...runtime.market.touchesByAction().keys()].filter((id) => runtime.market.touchChannel(id) === 'sales');
    expect(salesActions.length).toBeGreaterThan(0);
    for (const id of salesActions) expect(runtime.market.touchCount(id)).toBe(1);
    const tasks = [...hubspot.tasks.values()];
    const markers = tasks.map((t) => /\[ref (amk[0-9a-f]{24})\]/.exec(t.properties.hs_task_subject ?? '')?.[1]);
    expect(markers.sort()).toEqual(salesActions.map(hubSpotTaskMarker).sort());
    const creates = hubspot.requests.filter((r) => r.method === 'POST' && r.path === '/crm/v3/objects/tasks');
    expect(creates).toHaveLength(tasks.length);
    // What the seller reads is about the deal, in words, never the token.
    expect(JSON.stringify(hubspot.requests.map((r) => r.body))).not.toContain(TOKEN);
  });
  it('grants the acting functions exactly the token secret, and gives them the connector in their environment', () => {
    // Every function is wired once it is first invoked: a week invokes them all.
    const acting = [...wirings].filter(([, w]) => w.env.CONNECTORS !== undefined);
    expect(acting.map(([name]) => name).sort()).toEqual(['act', 'act-approved', 'send-deferred']);
    for (const [, wiring] of acting) {
      expect(JSON.parse(wiring.env.CONNECTORS ?? '{}')).toMatchObject({ sales_task: { kind: 'hubspot', tokenSecretArn: SECRET_ARN } });
      const secretGrants = wiring.statements.filter((s) => s.actions.includes('secretsmanager:GetSecretValue')).flatMap((s) => s.resources);
      expect(secretGrants).toContain(SECRET_ARN);
    }
    // The token itself is nowhere in any function's environment.
    expect(JSON.stringify([...wirings.values()].map((w) => w.env))).not.toContain(TOKEN);
  });

});
