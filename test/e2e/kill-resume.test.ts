/**
 * A run killed with SIGKILL while its approvals wait, then started again with the same run id:
 * the approvals that waited on the dead execution are asked again (a new link), the one the
 * approver decided while nothing ran goes through without asking anyone, and no action reaches
 * the world twice. Through the CLI, with a real kill -9.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalRuntime } from '../../local/runtime.ts';
import type { Approval } from '../../shared/domain/model.ts';
import { NURTURE_RULE_WHEN, tempConfig } from '../integration/workflow-fixture.ts';

const run = promisify(execFile);
const env = { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', AMK_RETRY_INTERVAL_MS: '20' };
// Nurture emails at tier-1 accounts need marketing ops: the run waits for a few approvals, all
// requested well before the kill.
const config = tempConfig({ 'charters/nurture-agent.yaml': [[NURTURE_RULE_WHEN, '{ all: [ { field: action.type, op: eq, value: nurture_email }, { field: account.tier, op: eq, value: 1 } ] }']] });
const CAMPAIGN = config.campaignFile;
const RUN = 'weekly-killed';

const approvalEmails = (outbox: string): string[] => (existsSync(outbox) ? readdirSync(outbox).filter((f) => f.endsWith('.eml')) : []);

async function approvalsOf(runtime: LocalRuntime): Promise<Approval[]> {
  const out: Approval[] = [];
  for (let shard = 0; shard < runtime.bundle.campaign.shards; shard++) {
    for (const id of await runtime.deps.approvals.listIdsForRunShard(RUN, shard)) {
      const a = await runtime.deps.approvals.get(id);
      if (a) out.push(a);
    }
  }
  return out;
}

describe('a run killed with kill -9 while its approvals wait', () => {
  const dir = mkdtempSync(join(tmpdir(), 'amk-kill-'));
  const data = join(dir, 'data');
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    config.cleanup();
  });

  it('asks the waiting approvals again, honours the one decided while it was down, and repeats nothing', async () => {
    // Nobody answers the links (human reviewer): the run waits for its approvals, and is killed.
    const child = spawn('node', ['local/cli/bin.mjs', 'run', '--reset', '--campaign', CAMPAIGN, '--run-id', RUN, '--data', data, '--accounts', '40', '--reviewer', 'human', '--json'], { env, stdio: 'ignore' });
    const outbox = join(data, 'outbox');
    const deadline = Date.now() + 120_000;
    while (approvalEmails(outbox).length < 2 && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 100));
    // Let the last requests of the page finish, then kill.
    await new Promise((r) => setTimeout(r, 1_500));
    const gone = new Promise((r) => child.on('exit', r));
    expect(child.kill('SIGKILL')).toBe(true);
    await gone;
    const emailsBefore = approvalEmails(outbox).length;
    expect(emailsBefore).toBeGreaterThanOrEqual(2);

    // While nothing runs, an approver answers the link of one (its page records the decision).
    let downRuntime = await LocalRuntime.start({ campaignFile: CAMPAIGN, dataDir: data });
    const waiting = (await approvalsOf(downRuntime)).filter((a) => a.status === 'pending');
    expect(waiting.length).toBeGreaterThanOrEqual(2);
    const decided = waiting[0] as Approval;
    await downRuntime.deps.approvals.decide(decided.id, { status: 'approved', at: new Date().toISOString(), by: decided.approver, reviewerKind: 'human' });
    const touchedBefore = downRuntime.market.touchCount(decided.action.id);
    await downRuntime.close();

    // Started again: it resumes, and the simulated reviewer answers what it is asked now.
    const resumed = JSON.parse((await run('node', ['local/cli/bin.mjs', 'run', '--campaign', CAMPAIGN, '--run-id', RUN, '--data', data, '--json'], { env, timeout: 240_000 })).stdout) as { runIds: string[] };
    expect(resumed.runIds).toEqual([RUN]);

    downRuntime = await LocalRuntime.start({ campaignFile: CAMPAIGN, dataDir: data });
    try {
      const after = await approvalsOf(downRuntime);
      // Every approval of the run was decided (or expired): none waits on a dead execution.
      expect(after.filter((a) => a.status === 'queued' || a.status === 'pending')).toEqual([]);
      // The decision made while it was down went through as made: executed once, nobody asked again.
      expect(touchedBefore).toBe(0);
      expect(downRuntime.market.touchCount(decided.action.id)).toBe(1);
      const events = await downRuntime.deps.audit.readStream(`RUN#${RUN}`);
      expect(events.filter((e) => e.kind === 'approval_decided' && e.data['approvalId'] === decided.id && e.data['resumed'] === true)).toHaveLength(1);
      expect(events.filter((e) => e.kind === 'approval_requested' && e.data['approvalId'] === decided.id)).toHaveLength(1);
      // The others were asked again, with a new link each, and decided.
      for (const other of waiting.slice(1)) {
        expect(events.filter((e) => e.kind === 'approval_requested' && e.data['approvalId'] === other.id).length, other.id).toBeGreaterThanOrEqual(2);
        expect(after.find((a) => a.id === other.id)?.status, other.id).not.toBe('pending');
      }
      // And nothing reached the world twice.
      expect([...downRuntime.market.touchesByAction()].filter(([, n]) => n > 1)).toEqual([]);
    } finally {
      await downRuntime.close();
    }
  }, 300_000);
});
