import { describe, expect, it } from 'vitest';
import type { Approval } from '../../shared/domain/model.ts';
import {
  PAGE_COLOURS,
  escapeHtml,
  renderAlreadyDecidedPage,
  renderApprovalEmail,
  renderApprovalPage,
  renderDecidedPage,
  renderErrorPage,
  renderExpiredPage,
  renderInvalidLinkPage,
  renderTooLatePage,
} from '../../shared/app/approval-views.ts';

const HOSTILE = '<script>alert("x")</script>';

function approval(overrides: Partial<Approval> = {}): Approval {
  return {
    id: 'apr-1',
    runId: 'run-1',
    shard: 0,
    accountId: 'acc-1',
    agentId: 'abm-agent',
    action: {
      id: 'act-1',
      runId: 'run-1',
      accountId: 'acc-1',
      agentId: 'abm-agent',
      type: 'executive_briefing',
      tool: 'email',
      channel: 'email',
      stakeholderIds: ['st-1'],
      content: { topic: 'TCO of platform migration', subject: 'A briefing for your board' },
      costUsd: 120,
      rationale: 'The economic buyer has not engaged yet.',
      expectedValue: 0.4,
      confidence: 0.72,
      subGoal: 'cover_role',
    },
    rules: [{ ruleId: 'exec-contact', source: 'config/charters/abm.yaml', approvers: ['dana@example.com'], minApprovals: 1 }],
    approver: 'dana@example.com',
    actionDigest: 'a'.repeat(64),
    charterHash: 'c'.repeat(64),
    status: 'pending',
    timeoutSeconds: 86400,
    createdAt: '2030-01-01T00:00:00.000Z',
    expiresAt: '2030-01-02T00:00:00.000Z',
    version: 1,
    ...overrides,
  };
}

function hostileApproval(): Approval {
  const base = approval();
  return approval({
    id: `apr-<b>1</b>`,
    approver: `"dana"@example.com<img src=x onerror=alert(1)>`,
    rules: [{ ruleId: HOSTILE, source: `"><svg onload=alert(1)>`, approvers: [], minApprovals: 1 }],
    action: {
      ...base.action,
      rationale: HOSTILE,
      content: { topic: `Topic ${HOSTILE}`, subject: `Subject\r\nBcc: victim@example.com ${HOSTILE}` },
    },
  });
}

const pageInput = {
  approval: approval(),
  accountName: 'Acme Corp',
  stakeholderNames: ['Dana Buyer'],
  approver: 'dana@example.com',
  expiresAt: '2030-01-02T00:00:00.000Z',
  csrf: 'csrf-token-value',
  nonce: 'nonce-value-123456',
};

function luminance(hex: string): number {
  const channel = (i: number): number => {
    const c = parseInt(hex.slice(1 + 2 * i, 3 + 2 * i), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * channel(0) + 0.7152 * channel(1) + 0.0722 * channel(2);
}

describe('the approval email', () => {
  it('shows the account, stakeholders, action, cost, content, rationale, confidence, rules, expiry and link', () => {
    const link = 'https://approve.example.com/approvals/apr-1?a=ZGFuYQ&exp=1893542400&sig=SIG';
    const email = renderApprovalEmail(approval(), link, 'Acme Corp', ['Dana Buyer', 'Sam Champion']);
    expect(email.subject).toBe('Approval needed: Executive briefing for Acme Corp');
    for (const fact of [
      'Acme Corp',
      'Dana Buyer, Sam Champion',
      'executive_briefing',
      'email / email',
      '$120.00',
      'TCO of platform migration',
      'A briefing for your board',
      'The economic buyer has not engaged yet.',
      '72%',
      'exec-contact (config/charters/abm.yaml)',
      '2030-01-02 00:00 UTC',
    ]) {
      expect(email.text).toContain(fact);
      expect(email.html).toContain(escapeHtml(fact));
    }
    expect(email.text).toContain(link);
    expect(email.html).toContain(`href="${escapeHtml(link)}"`);
  });

  it('names every approver seated on a two-person rule in the approval email (the page renders the same facts)', () => {
    const seated = approval({
      rules: [
        { ruleId: 'exec-contact', source: 'config/charters/abm.yaml', approvers: ['dana@example.com'], minApprovals: 1 },
        { ruleId: 'c-level-two-person', source: 'config/charters/abm.yaml', approvers: ['dana@example.com', 'cmo@example.com'], minApprovals: 2 },
      ],
      quorum: { actionId: 'act-1', approvalIds: ['apr-1', 'apr-2'], min: 2 },
    });
    const email = renderApprovalEmail(seated, 'https://approve.example.com/approvals/apr-1?a=x&exp=1&sig=s', 'Acme Corp', ['Dana Buyer']);
    const seats = '2 distinct approvers must approve: dana@example.com (you), cmo@example.com.';
    expect(email.text).toContain(seats);
    expect(email.html).toContain(escapeHtml(seats));
    expect(renderApprovalEmail(approval(), 'https://approve.example.com/approvals/apr-1?a=x&exp=1&sig=s', 'Acme Corp', []).text).not.toContain('Two-person rule');
  });

  it('escapes hostile agent and CRM values in the HTML and keeps the subject on one line', () => {
    const email = renderApprovalEmail(hostileApproval(), 'https://x.example/approvals/a?b=1&c=2', `Acme ${HOSTILE}`, [HOSTILE]);
    expect(email.html).not.toContain('<script>');
    expect(email.html).not.toContain('<svg');
    expect(email.html).not.toContain('<img');
    expect(email.html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    expect(email.html).toContain('href="https://x.example/approvals/a?b=1&amp;c=2"');
    expect(email.subject).not.toMatch(/[\r\n]/);
  });
});

describe('the confirmation page', () => {
  it('is an English, responsive page with a labelled reason field and two named submit buttons', () => {
    const html = renderApprovalPage(pageInput);
    expect(html).toMatch(/^<!doctype html>\n<html lang="en">/);
    expect(html).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
    expect(html).toMatch(/<h1>[^<]+<\/h1>/);
    expect(html).toContain('<label for="reason">Reason (required to reject)</label>');
    expect(html).toMatch(/<textarea id="reason" name="reason" maxlength="500"/);
    expect(html).toContain('<button type="submit" name="decision" value="approve"');
    expect(html).toContain('<button type="submit" name="decision" value="reject"');
    expect(html).toContain('<input type="hidden" name="csrf" value="csrf-token-value">');
    expect(html).toContain('<input type="hidden" name="nonce" value="nonce-value-123456">');
    expect(html).toContain(':focus-visible');
  });

  it('posts back to its own URL and has nothing that could submit it without a person', () => {
    const html = renderApprovalPage(pageInput);
    expect(html).toMatch(/<form method="post">/);
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/\son[a-z]+\s*=/i);
    expect(html).not.toMatch(/http-equiv="refresh"/i);
    expect(html).not.toMatch(/autofocus|formaction|javascript:/i);
  });

  it('shows the facts, the rules that fired and what will happen on approve and reject', () => {
    const html = renderApprovalPage(pageInput);
    for (const fact of ['Acme Corp', 'Dana Buyer', '$120.00', '72%', 'exec-contact', 'config/charters/abm.yaml', 'dana@example.com']) {
      expect(html).toContain(fact);
    }
    expect(html).toContain('If you approve:');
    expect(html).toContain('If you reject:');
  });

  it('escapes hostile values everywhere, including the typed reason and the error', () => {
    const html = renderApprovalPage({
      ...pageInput,
      approval: hostileApproval(),
      accountName: HOSTILE,
      stakeholderNames: [HOSTILE],
      approver: hostileApproval().approver,
      reason: `</textarea>${HOSTILE}`,
      error: HOSTILE,
    });
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toContain('<svg');
    expect(html).not.toContain('<img');
    expect(html).not.toContain('</textarea><');
    expect(html.match(/<\/textarea>/g)).toHaveLength(1);
  });

  it('uses colour pairs that meet a 4.5:1 contrast ratio', () => {
    for (const [name, { fg, bg }] of Object.entries(PAGE_COLOURS)) {
      const [hi, lo] = [luminance(fg), luminance(bg)].sort((x, y) => y - x) as [number, number];
      expect((hi + 0.05) / (lo + 0.05), name).toBeGreaterThanOrEqual(4.5);
    }
  });
});

describe('result pages', () => {
  it('says the action will run after an approval and names the reviewer', () => {
    const html = renderDecidedPage({ status: 'approved', decidedBy: 'dana@example.com', decidedAt: '2030-01-01T10:00:00Z', reviewerKind: 'human' });
    expect(html).toContain('Approved — the action will run');
    expect(html).toContain('dana@example.com');
  });

  it('labels a simulated reviewer as such', () => {
    const html = renderDecidedPage({ status: 'rejected', decidedBy: 'dana@example.com', decidedAt: '2030-01-01T10:00:00Z', reviewerKind: 'simulated' });
    expect(html).toContain('<h1>Rejected</h1>');
    expect(html).toContain('simulated reviewer');
  });

  it('shows the earlier decision, who made it and when', () => {
    const html = renderAlreadyDecidedPage({ status: 'approved', decidedBy: 'sam@example.com', decidedAt: '2030-01-01T09:30:00Z', reviewerKind: 'human' });
    expect(html).toContain('already approved by sam@example.com at 2030-01-01 09:30 UTC');
  });

  it('keeps the invalid-link page generic and every page script-free and in English', () => {
    const invalid = renderInvalidLinkPage();
    expect(invalid).not.toMatch(/signature|hmac|malformed|expired/i);
    for (const html of [invalid, renderExpiredPage(), renderTooLatePage(), renderErrorPage()]) {
      expect(html).toContain('<html lang="en">');
      expect(html).not.toMatch(/<script/i);
    }
    expect(renderTooLatePage()).toContain('This approval expired before your decision reached the workflow — nothing will run');
  });
});
