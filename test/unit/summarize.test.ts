/**
 * The run report email: what comes from the run's input (its id, whatever the scheduler or a
 * person passed) never becomes markup in the owner's mailbox.
 */
import { describe, expect, it } from 'vitest';
import { summarizeRun } from '../../shared/app/campaign-run.ts';
import type { StepDeps } from '../../shared/app/steps.ts';
import type { OutgoingEmail } from '../../shared/ports/index.ts';
import { aCampaign, aCharter, someGuardrails } from './builders.ts';

describe('Summarize', () => {
  it('escapes the run id and the counters in the report email', async () => {
    const sent: OutgoingEmail[] = [];
    const campaign = aCampaign();
    const deps: StepDeps<'summarize'> = {
      clock: () => '2027-01-04T15:00:00.000Z',
      config: { load: async () => ({ campaign, campaignHash: 'c', charters: [{ charter: aCharter(), hash: 'h', file: 'f' }], guardrails: someGuardrails(), guardrailsHash: 'g' }) },
      runs: { get: async () => ({ runId: 'x', campaignId: campaign.id, now: '2027-01-04T14:00:00.000Z', counters: { 'blocked.<b>': 1 } }) },
      audit: { appendOnce: async () => [], streamsOfRun: async () => [], heads: async () => [] },
      digests: { publish: async () => ({ location: 'memory' }) },
      mailer: { send: async (e) => (sent.push(e), { messageId: 'm' }) },
      mailFrom: 'agents@corp.example',
      idempotent: async (_key, fn) => ({ value: await fn(), replayed: false }),
    };
    await summarizeRun(deps, { run: { runId: 'run-<img src=x onerror=alert(1)>', campaignId: campaign.id, now: '2027-01-04T14:00:00.000Z' } });
    const html = sent[0]?.html ?? '';
    expect(html).toContain('run-&lt;img src=x onerror=alert(1)&gt;');
    expect(html).toContain('blocked.&lt;b&gt;: 1');
    expect(html).not.toMatch(/<img|<b>:/);
  });
});
