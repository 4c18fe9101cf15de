/**
 * `amk explain ACCOUNT_ID`: one account's story from the audit trail — who is on the committee,
 * how its stage moved, what each run observed, what every agent proposed and why, the verdict
 * and the rules behind it, who approved or rejected it and when, and what the tool said.
 */
import { DynamoAccountRepository } from '../../shared/adapters/dynamodb/account-repository.ts';
import { localTableName } from '../../shared/adapters/dynamodb/tables.ts';
import { roleLabel } from '../../shared/domain/catalog.ts';
import type { AccountState, AuditEvent, Stakeholder } from '../../shared/domain/model.ts';
import { TurnData, decisionsOfTurn } from '../../shared/domain/turn.ts';
import type { ReadOnlyData } from './read-only.ts';

/** What happened to one approval request of an action. */
export interface ExplainedApproval {
  readonly approvalId: string;
  readonly approver: string;
  readonly requestedAt: string;
  readonly decision?: { readonly status: string; readonly by: string; readonly at: string; readonly reason: string | null; readonly reviewerKind?: string };
}

/** One proposed action, from proposal to outcome. */
export interface ExplainedDecision {
  readonly agentId: string;
  readonly actionId: string;
  readonly type: string;
  readonly to: readonly string[];
  readonly rationale: string;
  /** What an email said: its subject and the content library's template (absent: built-in copy or no email). */
  readonly content?: { readonly subject?: string; readonly templateId?: string };
  readonly verdict: string;
  readonly rules: readonly string[];
  readonly approvals: readonly ExplainedApproval[];
  /** The tool's result: at Act, or when an approved or deferred action went out. */
  readonly sent?: { readonly at: string; readonly ok: boolean; readonly detail?: string };
}

/** One run's turn of the account. */
export interface ExplainedTurn {
  readonly runId: string;
  readonly at: string;
  readonly observed?: { readonly signals: readonly string[]; readonly stageBefore: string; readonly stageAfter: string; readonly consensus: number };
  readonly subGoals: Readonly<Record<string, readonly string[]>>;
  readonly decisions: readonly ExplainedDecision[];
  readonly notes: readonly string[];
}

/** The account's story. */
export interface Explanation {
  readonly account: Pick<AccountState, 'id' | 'name' | 'tier' | 'industry' | 'stage' | 'consensus' | 'engagedRoles' | 'objections'>;
  readonly committee: ReadonlyArray<{ id: string; name: string; title: string; role: string; engaged: boolean; consent: string; doNotContact: boolean }>;
  readonly stageHistory: ReadonlyArray<{ at: string; from: string; to: string }>;
  readonly turns: readonly ExplainedTurn[];
}

/** Thrown for an account the data does not hold. */
export class UnknownAccountError extends Error {
  override readonly name = 'UnknownAccountError';
}

/** Builds the story of `accountId` from the read-only data. */
export async function explainAccount(data: ReadOnlyData, accountId: string): Promise<Explanation> {
  const accounts = new DynamoAccountRepository(data.client, localTableName('accounts'));
  const state = await accounts.get(accountId);
  if (state === undefined) throw new UnknownAccountError(`no account ${accountId} in ${data.dataDir} (account ids look like acc-0001; \`amk run\` prints how many there are)`);
  const people = await accounts.listStakeholders(accountId);
  const nameOf = new Map(people.map((p) => [p.id, p] as const));
  const who = (id: string): string => {
    const p: Stakeholder | undefined = nameOf.get(id);
    return p === undefined ? id : `${p.name} (${roleLabel(p.role)})`;
  };
  const turns = (await data.audit.readStream(`ACCOUNT#${accountId}`)).filter((e) => e.kind === 'turn');
  const runIds = [...new Set(turns.flatMap((t) => (t.runId === undefined ? [] : [t.runId])))];
  // What the runs' streams say about this account's actions: approvals and later sends.
  const runEvents = new Map<string, AuditEvent[]>();
  for (const runId of runIds) runEvents.set(runId, (await data.audit.readStream(`RUN#${runId}`)).filter((e) => e.accountId === accountId));
  const stageHistory: Array<{ at: string; from: string; to: string }> = [];
  const explained = turns.map((turn): ExplainedTurn => {
    const parsed = TurnData.parse(turn.data);
    const runId = turn.runId ?? '';
    const ofRun = runEvents.get(runId) ?? [];
    if (parsed.observed && parsed.observed.stageBefore !== parsed.observed.stageAfter) {
      stageHistory.push({ at: turn.at, from: parsed.observed.stageBefore, to: parsed.observed.stageAfter });
    }
    const decisions = decisionsOfTurn(turn).map((d): ExplainedDecision => {
      const requested = ofRun.filter((e) => e.kind === 'approval_requested' && field(e, 'actionId') === d.action.id);
      const approvals = requested.map((r): ExplainedApproval => {
        const approvalId = String(field(r, 'approvalId'));
        const decided = ofRun.find((e) => e.kind === 'approval_decided' && field(e, 'approvalId') === approvalId);
        return {
          approvalId,
          approver: String(field(r, 'approver')),
          requestedAt: r.at,
          ...(decided === undefined
            ? {}
            : {
                decision: {
                  status: String(field(decided, 'status')),
                  by: decided.actor.replace(/^human:/, ''),
                  at: decided.at,
                  reason: (field(decided, 'reason') as string | null | undefined) ?? null,
                  ...(field(decided, 'reviewerKind') === undefined ? {} : { reviewerKind: String(field(decided, 'reviewerKind')) }),
                },
              }),
        };
      });
      const later = ofRun.find((e) => e.kind === 'tool_call' && field(e, 'actionId') === d.action.id);
      const laterResult = later === undefined ? undefined : (field(later, 'result') as { ok: boolean; detail?: string } | undefined);
      const v = d.verdict;
      const verdict = !v ? 'no verdict' : v.outcome === 'blocked' ? `blocked by ${v.guardrail}: ${v.reason}` : v.outcome === 'needs_approval' ? 'needs approval' : 'autonomous';
      const sent =
        d.toolResult !== null
          ? { at: turn.at, ok: d.toolResult.ok, ...(d.toolResult.detail === undefined ? {} : { detail: d.toolResult.detail }) }
          : later !== undefined && laterResult !== undefined
            ? { at: String(field(later, 'deferredTo') ?? later.at), ok: laterResult.ok, ...(laterResult.detail === undefined ? {} : { detail: laterResult.detail }) }
            : undefined;
      return {
        agentId: d.agentId,
        actionId: d.action.id,
        type: d.action.type,
        to: d.action.stakeholderIds.map(who),
        rationale: d.action.rationale,
        ...(d.action.channel === 'email'
          ? { content: { ...(d.action.content.subject === undefined ? {} : { subject: d.action.content.subject }), ...(d.action.content.template === undefined ? {} : { templateId: d.action.content.template.templateId }) } }
          : {}),
        verdict,
        rules: v?.outcome === 'needs_approval' ? v.rules.map((r) => r.ruleId) : [],
        approvals,
        ...(sent === undefined ? {} : { sent }),
      };
    });
    return {
      runId,
      at: turn.at,
      ...(parsed.observed === undefined
        ? {}
        : {
            observed: {
              signals: parsed.observed.signals.map((s) => `${s.kind}${s.stakeholderId ? ` (${who(s.stakeholderId)})` : ''}`),
              stageBefore: parsed.observed.stageBefore,
              stageAfter: parsed.observed.stageAfter,
              consensus: parsed.observed.consensus,
            },
          }),
      subGoals: Object.fromEntries(parsed.plans.map((p) => [p.agentId, p.subGoals.map((g) => `${g.kind}${g.role ? ` ${roleLabel(g.role)}` : g.objection ? ` "${g.objection}"` : ''}`)])),
      decisions,
      notes: parsed.plans.flatMap((p) => (p.notes ?? []).map((n) => `${p.agentId}: ${n}`)),
    };
  });
  return {
    account: { id: state.id, name: state.name, tier: state.tier, industry: state.industry, stage: state.stage, consensus: state.consensus, engagedRoles: state.engagedRoles, objections: state.objections },
    committee: people.map((p) => ({ id: p.id, name: p.name, title: p.title, role: p.role, engaged: state.engagedRoles.includes(p.role), consent: p.consent, doNotContact: p.doNotContact })),
    stageHistory,
    turns: explained,
  };
}

const field = (e: AuditEvent, name: string): unknown => (e.data as Record<string, unknown> | undefined)?.[name];

/** The story as lines for a terminal. */
export function renderExplanation(x: Explanation): string[] {
  const a = x.account;
  const lines = [
    `${a.id} · ${a.name} · tier ${a.tier} · ${a.industry} · stage ${a.stage} · consensus ${a.consensus.toFixed(2)}${a.objections.length > 0 ? ` · open objections: ${a.objections.join(', ')}` : ''}`,
    '',
    `Committee (${x.committee.length} known)`,
    ...x.committee.map((p) => `  ${roleLabel(p.role as Stakeholder['role']).padEnd(20)} ${p.name}, ${p.title}${p.engaged ? ' · role engaged' : ''}${p.consent === 'opted_out' ? ' · OPTED OUT' : ''}${p.doNotContact ? ' · DO NOT CONTACT' : ''}`),
    '',
    `Stage history: ${x.stageHistory.length === 0 ? `no change seen (${a.stage})` : x.stageHistory.map((h) => `${h.from} → ${h.to} (${h.at.slice(0, 10)})`).join(', ')}`,
  ];
  for (const t of x.turns) {
    lines.push('', `Run ${t.runId} (${t.at.slice(0, 16).replace('T', ' ')} UTC)`);
    lines.push(
      t.observed
        ? `  observed: ${t.observed.signals.length === 0 ? 'no signals' : t.observed.signals.join(', ')}; stage ${t.observed.stageBefore}${t.observed.stageAfter === t.observed.stageBefore ? '' : ` → ${t.observed.stageAfter}`}, consensus ${t.observed.consensus.toFixed(2)}`
        : '  observed: no new signals',
    );
    for (const [agent, goals] of Object.entries(t.subGoals)) lines.push(`  ${agent} sub-goals: ${goals.length === 0 ? 'none' : goals.join(', ')}`);
    for (const d of t.decisions) {
      lines.push(`  • ${d.agentId}: ${d.type} to ${d.to.join(', ')} — ${d.verdict}${d.rules.length > 0 ? ` (${d.rules.join(', ')})` : ''}`);
      lines.push(`      why: ${d.rationale}`);
      if (d.content?.subject !== undefined) lines.push(`      email: “${d.content.subject}” (${d.content.templateId !== undefined ? `template ${d.content.templateId}` : 'built-in copy'})`);
      for (const ap of d.approvals) {
        lines.push(
          ap.decision === undefined
            ? `      approval: asked ${ap.approver} at ${ap.requestedAt.slice(11, 16)}; not decided`
            : `      approval: ${ap.decision.status} by ${ap.decision.by} at ${ap.decision.at.slice(0, 16).replace('T', ' ')}${ap.decision.reviewerKind === 'simulated' ? ' (simulated reviewer)' : ''}${ap.decision.reason ? ` — "${ap.decision.reason}"` : ''}`,
        );
      }
      if (d.sent) lines.push(`      result: ${d.sent.ok ? 'sent' : 'FAILED'} ${d.sent.at.slice(0, 16).replace('T', ' ')}${d.sent.detail ? ` — ${d.sent.detail}` : ''}`);
    }
    for (const n of t.notes) lines.push(`  note: ${n}`);
  }
  return lines;
}
