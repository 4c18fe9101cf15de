/**
 * Fixture for end-to-end approval tests: a real CampaignRun week on the embedded runtime, left
 * waiting on its approvals while a test plays the approver (or the attacker) against the real
 * local approval server, and Debian's Chromium driven by playwright-core.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { findApprovalLinks, readEml } from '../../local/outbox.ts';
import { SimulatedReviewer } from '../../local/reviewer.ts';
import type { LocalRunResult, LocalRuntime } from '../../local/runtime.ts';
import { RunSummary } from '../../shared/app/contracts.ts';
import type { Approval, AuditEvent } from '../../shared/domain/model.ts';
import { startTestRuntime, tempConfig, type ConfigEdits } from '../integration/workflow-fixture.ts';
import { approvalsOfRun } from '../integration/workflow-fixture.ts';

/** Where Debian's chromium package puts the browser (`npx playwright install` cannot work here). */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Flags that keep Chromium headless, quiet and offline: no background fetches, component updates, sync or QUIC. */
export const CHROMIUM_FLAGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/** A running Chromium with a fresh profile. */
export interface Chromium {
  readonly context: BrowserContext;
  close(): Promise<void>;
}

/**
 * Launches Chromium with a fresh --user-data-dir. Fails (never skips) when the browser is
 * missing: the approval page must be proven in a real browser.
 */
export async function launchChromium(options: { userAgent?: string } = {}): Promise<Chromium> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`Chromium not found at ${CHROMIUM_PATH}; install Debian's chromium: apt-get install -y chromium`);
  }
  // Playwright refuses --user-data-dir in args; a persistent context on a new temp folder is the same thing.
  const profile = mkdtempSync(join(tmpdir(), 'amk-chromium-'));
  try {
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: [...CHROMIUM_FLAGS],
      viewport: { width: 1280, height: 800 },
      ...(options.userAgent !== undefined ? { userAgent: options.userAgent } : {}),
    });
    return {
      context,
      close: async () => {
        await context.close().catch(() => undefined);
        rmSync(profile, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(profile, { recursive: true, force: true });
    throw err;
  }
}

/** One approval email in the outbox, with its link and the approval it points to. */
export interface ApprovalEmail {
  readonly file: string;
  readonly to: readonly string[];
  readonly subject: string;
  readonly link: string;
  readonly approvalId: string;
}

/** The approval id in a link's path. */
export function approvalIdOf(link: string): string {
  return decodeURIComponent(new URL(link).pathname.split('/').pop() ?? '');
}

/** Reads the hidden CSRF fields of a rendered confirmation page. */
export function formFields(html: string): { csrf: string; nonce: string } | undefined {
  const field = (name: string): string | undefined => new RegExp(`name="${name}"\\s+value="([^"]*)"`).exec(html)?.[1];
  const csrf = field('csrf');
  const nonce = field('nonce');
  return csrf !== undefined && nonce !== undefined ? { csrf, nonce } : undefined;
}

/** The `approval_link_rejected` events of an audit stream (`RUN#<runId>` or `APPROVALS`). */
export async function rejectedAttempts(runtime: LocalRuntime, stream: string): Promise<AuditEvent[]> {
  return (await runtime.deps.audit.readStream(stream)).filter((e) => e.kind === 'approval_link_rejected');
}

/** Reads an approval that must exist. */
export async function mustGetApproval(runtime: LocalRuntime, id: string): Promise<Approval> {
  const approval = await runtime.deps.approvals.get(id);
  if (approval === undefined) throw new Error(`approval ${id} does not exist`);
  return approval;
}

/** Every approval of a run, across its shards (shared with the workflow tests). */
export { approvalsOfRun };

/**
 * The approval emails whose approval alone decides its action (no second approver's request for
 * the same action, as a two-person rule would add), so one person's decision takes effect.
 * An action's requests are all stored before any of them is emailed.
 */
export async function soleApprovalEmails(runtime: LocalRuntime, emails: readonly ApprovalEmail[]): Promise<ApprovalEmail[]> {
  const first = emails[0];
  if (first === undefined) return [];
  const runId = (await mustGetApproval(runtime, first.approvalId)).runId;
  const perAction = new Map<string, number>();
  const actionOf = new Map<string, string>();
  for (const a of await approvalsOfRun(runtime, runId)) {
    perAction.set(a.action.id, (perAction.get(a.action.id) ?? 0) + 1);
    actionOf.set(a.id, a.action.id);
  }
  return emails.filter((e) => {
    const action = actionOf.get(e.approvalId);
    return action !== undefined && perAction.get(action) === 1;
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A campaign week that is running and waits on its approvals until a test decides them. */
export interface WaitingWeek {
  readonly runtime: LocalRuntime;
  /** Every approval email so far, oldest first. */
  approvalEmails(): ApprovalEmail[];
  /** Polls the outbox until `ready` holds for the approval emails so far. */
  waitForApprovalEmails(ready: (emails: ApprovalEmail[]) => boolean | Promise<boolean>, timeoutMs?: number): Promise<ApprovalEmail[]>;
  /**
   * Lets a simulated reviewer decide every approval still open (through the real page) and
   * waits for the week to end.
   */
  finish(decide: 'approve' | 'reject' | ((approvalId: string) => 'approve' | 'reject')): Promise<{ result: LocalRunResult; counters: Record<string, number> }>;
  /** Stops the runtime and deletes its data and config folders. */
  stop(): Promise<void>;
}

/**
 * Starts the embedded runtime on a copy of the sample config and starts one CampaignRun week
 * without awaiting it and without a reviewer: its approvals wait for the test.
 */
export async function startWaitingWeek(options: { edits?: ConfigEdits; accounts?: number } = {}): Promise<WaitingWeek> {
  const config = tempConfig(options.edits ?? {});
  let env: Awaited<ReturnType<typeof startTestRuntime>>;
  try {
    env = await startTestRuntime(config.campaignFile, { accounts: options.accounts ?? 30 });
  } catch (err) {
    config.cleanup();
    throw err;
  }
  const { runtime } = env;
  // Created while the outbox is still empty, so once started it reviews every email of this week;
  // the decision is bound late, by `finish`.
  let decision: (approvalId: string) => 'approve' | 'reject' = () => 'reject';
  const reviewer = new SimulatedReviewer(runtime.outboxDir, { seed: 'e2e', decide: (id) => decision(id) }, 10);
  // Not awaited: the week waits on its approvals while the test works. The handlers below also
  // keep a failing run from becoming an unhandled rejection; awaiting `done` still throws.
  const done = runtime.runWeek();

  const parsed = new Map<string, ApprovalEmail[]>();
  const approvalEmails = (): ApprovalEmail[] => {
    const emails: ApprovalEmail[] = [];
    for (const file of readdirSync(runtime.outboxDir).filter((f) => f.endsWith('.eml')).sort()) {
      let found = parsed.get(file);
      if (found === undefined) {
        const email = readEml(join(runtime.outboxDir, file));
        found = findApprovalLinks(email.text).map((link) => ({ file, to: email.to, subject: email.subject, link, approvalId: approvalIdOf(link) }));
        parsed.set(file, found);
      }
      emails.push(...found);
    }
    return emails;
  };
  let ended: string | undefined;
  void done.then(
    () => (ended = 'the campaign run ended'),
    (err: unknown) => (ended = `the campaign run failed: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`),
  );

  let stopped = false;
  return {
    runtime,
    approvalEmails,
    async waitForApprovalEmails(ready, timeoutMs = 90_000) {
      const deadline = Date.now() + timeoutMs;
      let seen = -1;
      for (;;) {
        const emails = approvalEmails();
        // A predicate may read the tables: ask it again only when new emails arrived.
        if (emails.length !== seen) {
          seen = emails.length;
          if (await ready(emails)) return emails;
        }
        const state = `${emails.length} so far, to ${[...new Set(emails.flatMap((e) => e.to))].join(', ') || 'nobody'}`;
        if (ended !== undefined) throw new Error(`${ended} while the test waited for approval emails (${state})`);
        if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for approval emails (${state})`);
        await sleep(100);
      }
    },
    async finish(decide) {
      decision = typeof decide === 'function' ? decide : () => decide;
      reviewer.start();
      try {
        const result = await done;
        return { result, counters: RunSummary.parse(result.summary).counters };
      } finally {
        await reviewer.stop();
      }
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await reviewer.stop();
      await env.stop();
      config.cleanup();
    },
  };
}
