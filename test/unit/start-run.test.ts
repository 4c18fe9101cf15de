import { describe, expect, it } from 'vitest';
import { runIdOf, startScheduledRun } from '../../shared/app/campaign-run.ts';
import type { StepDeps } from '../../shared/app/steps.ts';
import { aCampaign, aCharter, someGuardrails } from './builders.ts';

describe('StartRun (the schedule\'s target)', () => {
  it('names the execution after the run, so a double-fired schedule is one execution', async () => {
    const started: Array<{ name: string; input: unknown }> = [];
    const campaign = aCampaign({ id: 'q1-expansion' });
    const deps: StepDeps<'start-run'> = {
      clock: () => '2027-01-04T14:00:01.000Z',
      config: { load: async () => ({ campaign, campaignHash: 'c', charters: [{ charter: aCharter(), hash: 'h', file: 'f' }], guardrails: someGuardrails(), guardrailsHash: 'g' }) },
      starter: { start: async (name, input) => (started.push({ name, input }), { executionArn: `arn:aws:states:us-east-1:1:execution:CampaignRun:${name}` }) },
    };
    const fired = { campaignId: 'q1-expansion', scheduledTime: '2027-01-04T14:00:00Z' };
    const first = await startScheduledRun(deps, fired);
    const again = await startScheduledRun(deps, fired);
    expect(first).toEqual({ runId: 'q1-expansion-20270104T140000', executionArn: 'arn:aws:states:us-east-1:1:execution:CampaignRun:q1-expansion-20270104T140000' });
    expect(again).toEqual(first);
    // The same name and the same input both times: Step Functions answers with the one execution.
    expect(started).toEqual([
      { name: first.runId, input: { campaignId: 'q1-expansion', scheduledTime: fired.scheduledTime, runId: first.runId } },
      { name: first.runId, input: { campaignId: 'q1-expansion', scheduledTime: fired.scheduledTime, runId: first.runId } },
    ]);
    // A name Step Functions accepts (no ':' from the scheduled time), at most 80 characters.
    expect(runIdOf('q1-expansion', '2027-01-04T14:00:00.000Z')).toMatch(/^[A-Za-z0-9_-]{1,80}$/);
  });
});
