/**
 * Reviewers for the embedded default. The simulated reviewer behaves like a person: it reads each
 * approval email in the outbox, follows the real link (GET of the page), reads the form, and
 * POSTs a decision — labelled as simulated (header), so the audit never mistakes it for a human.
 * The human reviewer only tells a person where the links are and waits.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { findApprovalLinks, readEml } from './outbox.ts';
import { SIMULATED_REVIEWER_HEADER } from '../shared/adapters/http/approval-endpoint.ts';

/** One decision the simulated reviewer made. */
export interface ReviewerDecision {
  readonly link: string;
  readonly decision: 'approve' | 'reject';
  readonly status: number;
}

/** How the simulated reviewer decides: approve most, reject some, by a seeded draw per link. */
export interface ReviewerPolicy {
  readonly seed: string;
  /** Share of approvals approved. @default 0.75 */
  readonly approveRate?: number;
  /** Links to leave undecided, so they expire (tests): by approval id and the email's recipients. */
  readonly ignore?: (approvalId: string, to: readonly string[]) => boolean | Promise<boolean>;
  /** Forces a decision for an approval id (tests). */
  readonly decide?: (approvalId: string) => 'approve' | 'reject' | undefined;
}

const field = (html: string, name: string): string | undefined =>
  new RegExp(`name="${name}"\\s+value="([^"]*)"`).exec(html)?.[1]?.replace(/&amp;/g, '&').replace(/&quot;/g, '"');

const approvalIdOfLink = (link: string): string => new URL(link).pathname.split('/').pop() ?? '';

/** Watches the outbox and decides every approval email it finds, through the real page. */
export class SimulatedReviewer {
  private readonly seen = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private busy: Promise<void> = Promise.resolve();
  readonly decisions: ReviewerDecision[] = [];

  constructor(
    private readonly outboxDir: string,
    private readonly policy: ReviewerPolicy,
    private readonly pollMs = 25,
  ) {
    // Emails already in the outbox belong to earlier runs.
    for (const f of this.files()) this.seen.add(f);
  }

  /** Starts polling the outbox. */
  start(): void {
    this.timer = setInterval(() => {
      this.busy = this.busy.then(() => this.sweep()).catch(() => undefined);
    }, this.pollMs);
  }

  /** Stops polling after the sweep in progress. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.busy;
  }

  private files(): string[] {
    return readdirSync(this.outboxDir).filter((f) => f.endsWith('.eml')).sort();
  }

  /** Reads new emails and decides each approval link in them. */
  async sweep(): Promise<void> {
    for (const file of this.files()) {
      if (this.seen.has(file)) continue;
      this.seen.add(file);
      const email = readEml(join(this.outboxDir, file));
      for (const link of findApprovalLinks(email.text)) await this.review(link, email.to);
    }
  }

  private choose(approvalId: string): 'approve' | 'reject' {
    const forced = this.policy.decide?.(approvalId);
    if (forced) return forced;
    const h = createHash('sha256').update(`${this.policy.seed}|reviewer|${approvalId}`).digest();
    return h.readUInt32BE(0) / 2 ** 32 < (this.policy.approveRate ?? 0.75) ? 'approve' : 'reject';
  }

  private async review(link: string, to: readonly string[]): Promise<void> {
    const approvalId = approvalIdOfLink(link);
    if (await this.policy.ignore?.(approvalId, to)) return;
    const headers = { [SIMULATED_REVIEWER_HEADER]: 'simulated' };
    const page = await fetch(link, { headers });
    const html = await page.text();
    const csrf = field(html, 'csrf');
    const nonce = field(html, 'nonce');
    if (!page.ok || !csrf || !nonce) return; // expired or already decided: nothing to do
    const decision = this.choose(approvalId);
    const body = new URLSearchParams({ csrf, nonce, decision });
    if (decision === 'reject') body.set('reason', 'Simulated reviewer: not this week (a seeded draw, to exercise the rejection path).');
    const res = await fetch(link, { method: 'POST', headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' }, body: body.toString() });
    await res.text();
    this.decisions.push({ link, decision, status: res.status });
  }
}

/** Lists the approval links of emails that arrived since `since` files (for a person to open). */
export function newApprovalLinks(outboxDir: string, seen: Set<string>): string[] {
  const links: string[] = [];
  for (const file of readdirSync(outboxDir).filter((f) => f.endsWith('.eml')).sort()) {
    if (seen.has(file)) continue;
    seen.add(file);
    links.push(...findApprovalLinks(readEml(join(outboxDir, file)).text));
  }
  return links;
}
