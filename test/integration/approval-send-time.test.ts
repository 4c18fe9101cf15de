/**
 * An approved action is governed again when it is sent: consent withdrawn while the approval waited
 * blocks it (audited and counted), while the other approved actions of the week go out once.
 * Through the real runtime: synthesized state machines on dynalite, the real page, the market.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TIER2_BRIEFINGS_NEED_MARKETING_OPS } from './workflow-fixture.ts';
import { mustGetApproval, soleApprovalEmails, startWaitingWeek, type ApprovalEmail, type WaitingWeek } from '../e2e/e2e-fixture.ts';

const MARKETING_OPS = 'marketing-ops@example.com';

/**
 * A week waiting on at least `n` sole approvals of marketing ops: executive briefings at tier-2
 * accounts need marketing ops alone (one request per action).
 */
async function weekWithSoleApprovals(n: number): Promise<{ week: WaitingWeek; sole: [ApprovalEmail, ...ApprovalEmail[]] }> {
  const week = await startWaitingWeek({ accounts: 30, edits: { 'guardrails/default.yaml': TIER2_BRIEFINGS_NEED_MARKETING_OPS } });
  let sole: ApprovalEmail[] = [];
  await week.waitForApprovalEmails(async (all) => {
    sole = (await soleApprovalEmails(week.runtime, all)).filter((e) => e.to.includes(MARKETING_OPS));
    return sole.length >= n;
  });
  return { week, sole: sole as [ApprovalEmail, ...ApprovalEmail[]] };
}

describe('an approval whose stakeholder opts out while it waits', () => {
  let week: WaitingWeek;
  let withdrawn: ApprovalEmail;
  let others: ApprovalEmail[];
  let finished: Awaited<ReturnType<WaitingWeek['finish']>>;

  beforeAll(async () => {
    ({ week, sole: [withdrawn, ...others] } = await weekWithSoleApprovals(3));
    // The stakeholder of one waiting approval opts out (an unsubscribe, a CRM update).
    const approval = await mustGetApproval(week.runtime, withdrawn.approvalId);
    for (const s of await week.runtime.deps.accounts.listStakeholders(approval.accountId)) {
      if (approval.action.stakeholderIds.includes(s.id)) await week.runtime.deps.accounts.putStakeholder({ ...s, consent: 'opted_out' });
    }
    finished = await week.finish('approve');
  }, 150_000);
  afterAll(async () => {
    await week?.stop();
  });

  it('does not send the approved action to the person who opted out, and says why in the audit and the counters', async () => {
    const { runtime } = week;
    const approval = await mustGetApproval(runtime, withdrawn.approvalId);
    expect(approval.status).toBe('approved');
    expect(runtime.market.touchCount(approval.action.id)).toBe(0);
    const alerts = (await runtime.deps.audit.readStream(`RUN#${approval.runId}`)).filter((e) => e.kind === 'alert' && e.data['approvalId'] === approval.id);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]?.data).toMatchObject({ alert: 'blocked_at_send', guardrail: 'consent', executed: false });
    expect(String(alerts[0]?.data['reason'])).toContain('has opted out');
    expect(finished.counters['blockedAtSend']).toBe(1);
    expect(finished.counters['blockedAtSend.consent']).toBe(1);
  });

  it('still sends the other approved actions, once each', async () => {
    const { runtime } = week;
    for (const e of others) {
      const approval = await mustGetApproval(runtime, e.approvalId);
      expect(approval.status).toBe('approved');
      expect(runtime.market.touchCount(approval.action.id)).toBe(1);
    }
  });
});

describe('an approval whose email no longer reads as approved when it is sent', () => {
  let week: WaitingWeek;
  let renamed: ApprovalEmail;
  let others: ApprovalEmail[];

  beforeAll(async () => {
    ({ week, sole: [renamed, ...others] } = await weekWithSoleApprovals(2));
    // The CRM renames the person while the approval waits: the greeting the approver read changes.
    const approval = await mustGetApproval(week.runtime, renamed.approvalId);
    expect(approval.preview?.text).toMatch(/^Hello /);
    for (const s of await week.runtime.deps.accounts.listStakeholders(approval.accountId)) {
      if (approval.action.stakeholderIds.includes(s.id)) await week.runtime.deps.accounts.putStakeholder({ ...s, name: `Renamed ${s.name}` });
    }
    await week.finish('approve');
  }, 150_000);
  afterAll(async () => {
    await week?.stop();
  });

  it('does not send it, and records why; the others go out once each', async () => {
    const { runtime } = week;
    const approval = await mustGetApproval(runtime, renamed.approvalId);
    expect(approval.status).toBe('approved');
    expect(runtime.market.touchCount(approval.action.id)).toBe(0);
    const calls = (await runtime.deps.audit.readStream(`RUN#${approval.runId}`)).filter((e) => e.kind === 'tool_call' && e.data['actionId'] === approval.action.id);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.data['result']).toMatchObject({ ok: false, detail: expect.stringMatching(/^the email no longer reads as it was approved \(its text changed\)/) });
    for (const e of others) expect(runtime.market.touchCount((await mustGetApproval(runtime, e.approvalId)).action.id)).toBe(1);
  });
});
