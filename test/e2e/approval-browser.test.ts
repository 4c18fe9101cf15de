/**
 * The approval page in a real browser (Debian's Chromium through playwright-core), on a running
 * CampaignRun week: a person opens the link from the .eml, reads the action and the agent's
 * rationale, approves with the keyboard or rejects with a reason, and the waiting run resumes.
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import {
  launchChromium,
  mustGetApproval,
  soleApprovalEmails,
  startWaitingWeek,
  type ApprovalEmail,
  type Chromium,
  type WaitingWeek,
} from './e2e-fixture.ts';

import { TIER2_BRIEFINGS_NEED_MARKETING_OPS } from '../integration/workflow-fixture.ts';

const ARTIFACTS = fileURLToPath(new URL('../artifacts/', import.meta.url));

describe('deciding an approval in a real browser', () => {
  let browser: Chromium;
  let week: WaitingWeek;
  let approved: ApprovalEmail;
  let rejected: ApprovalEmail;
  const reason = 'Wrong timing: their budget review is next month.';

  beforeAll(async () => {
    // First, so a machine without Chromium fails at once with the install hint.
    browser = await launchChromium();
    // Executive briefings at tier-2 accounts need marketing ops alone: the week waits for several
    // sole approvals whichever accounts the agents brief.
    week = await startWaitingWeek({ accounts: 30, edits: { 'guardrails/default.yaml': TIER2_BRIEFINGS_NEED_MARKETING_OPS } });
    // Requests that alone decide their action, so one person's Approve makes it run.
    let sole: ApprovalEmail[] = [];
    await week.waitForApprovalEmails(async (all) => (sole = await soleApprovalEmails(week.runtime, all)).length >= 2);
    [approved, rejected] = sole as [ApprovalEmail, ApprovalEmail];
  });

  afterAll(async () => {
    await browser?.close();
    await week?.stop();
  });

  /** Opens a link in a new tab and checks that it answered with the confirmation page. */
  async function open(link: string): Promise<Page> {
    const page = await browser.context.newPage();
    const res = await page.goto(link);
    expect(res?.status()).toBe(200);
    return page;
  }

  it('shows the action and the agent\'s rationale, and approves with Tab and Enter', async () => {
    const { runtime } = week;
    const approval = await mustGetApproval(runtime, approved.approvalId);
    const account = await runtime.deps.accounts.get(approval.accountId);
    const page = await open(approved.link);

    const actionName = approval.action.type.replace(/_/g, ' ');
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe(
      `Approve ${actionName} for ${account?.name ?? approval.accountId}?`,
    );
    expect(await page.getByText(`You are deciding as ${approval.approver}.`, { exact: false }).isVisible()).toBe(true);
    const actionLabel = `${actionName.charAt(0).toUpperCase()}${actionName.slice(1)} (${approval.action.type})`;
    expect(await page.getByText(actionLabel, { exact: true }).isVisible()).toBe(true);
    expect(await page.getByText(approval.action.rationale, { exact: true }).isVisible()).toBe(true);
    expect(await page.getByText(/^If you approve:/).isVisible()).toBe(true);

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: `${ARTIFACTS}approval-page.png`, fullPage: true });
    await page.setViewportSize({ width: 360, height: 780 });
    // Nothing is wider than a small phone: no sideways scrolling.
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(360);
    await page.screenshot({ path: `${ARTIFACTS}approval-page-mobile.png`, fullPage: true });
    await page.setViewportSize({ width: 1280, height: 800 });

    // Keyboard only: Tab from the top of the page reaches the Approve button, Enter presses it.
    const focused: string[] = [];
    for (let i = 0; i < 10; i++) {
      await page.keyboard.press('Tab');
      // A string expression: the tests compile without the DOM library.
      const label = await page.evaluate<string>(
        `(() => { const el = document.activeElement; const text = el?.textContent?.trim() ?? ''; return el ? el.tagName.toLowerCase() + (text ? ':' + text : '') : ''; })()`,
      );
      focused.push(label);
      if (label === 'button:Approve') break;
    }
    expect(focused).toEqual(['textarea', 'button:Approve']);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Approved — the action will run' }).waitFor({ timeout: 10_000 });
    expect(await page.getByText(`Recorded as approved by ${approval.approver}`, { exact: false }).isVisible()).toBe(true);
    await page.close();

    expect(await mustGetApproval(runtime, approved.approvalId)).toMatchObject({ status: 'approved', decidedBy: approval.approver, reviewerKind: 'human' });
  });

  it('asks for a reason before rejecting, then rejects with the reason typed', async () => {
    const { runtime } = week;
    const approver = (await mustGetApproval(runtime, rejected.approvalId)).approver;
    const page = await open(rejected.link);

    await page.getByRole('button', { name: 'Reject' }).click();
    await page.getByRole('alert').waitFor({ timeout: 10_000 });
    expect(await page.getByRole('alert').textContent()).toContain('A reason is required to reject.');
    expect((await mustGetApproval(runtime, rejected.approvalId)).status).toBe('pending');

    await page.getByLabel('Reason (required to reject)').fill(reason);
    await page.getByRole('button', { name: 'Reject' }).click();
    await page.getByRole('heading', { name: 'Rejected' }).waitFor({ timeout: 10_000 });
    expect(await page.getByText('Nothing will be sent.', { exact: false }).isVisible()).toBe(true);
    await page.close();

    expect(await mustGetApproval(runtime, rejected.approvalId)).toMatchObject({ status: 'rejected', reason, decidedBy: approver, reviewerKind: 'human' });
  });

  it('resumes the waiting run: the approved action runs once, the rejected one never', async () => {
    const { runtime } = week;
    // Any further approvals of the week are rejected by the simulated reviewer.
    const { result, counters } = await week.finish('reject');
    // Everything else was rejected: the one approval is the browser's.
    expect(counters['approved']).toBe(1);
    expect(counters['rejected']).toBeGreaterThanOrEqual(1);
    expect(counters['needsApproval']).toBeGreaterThanOrEqual(2);
    expect(counters['executed']).toBeGreaterThan(0);
    expect(runtime.market.totalTouches()).toBe(counters['executed']);

    const approvedAction = (await mustGetApproval(runtime, approved.approvalId)).action;
    const rejectedApproval = await mustGetApproval(runtime, rejected.approvalId);
    expect(runtime.market.touchCount(approvedAction.id)).toBe(1);
    expect(runtime.market.touchCount(rejectedApproval.action.id)).toBe(0);
    expect(rejectedApproval).toMatchObject({ status: 'rejected', reason, reviewerKind: 'human' });

    const runEvents = await runtime.deps.audit.readStream(`RUN#${result.runId}`);
    const decisions = runEvents.filter((e) => e.kind === 'approval_decided' && e.data['reviewerKind'] === 'human');
    expect(decisions.map((e) => [e.data['approvalId'], e.data['status']])).toEqual([
      [approved.approvalId, 'approved'],
      [rejected.approvalId, 'rejected'],
    ]);
    expect(runEvents.filter((e) => e.kind === 'tool_call' && e.data['actionId'] === approvedAction.id)).toHaveLength(1);
  });
});
