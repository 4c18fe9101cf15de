/**
 * Loads charters, campaigns and guardrails from YAML and validates them with zod. Every problem is
 * reported as an InvalidConfigError naming the file, the path inside it (with its line) and what
 * was expected; nothing is loaded half-way.
 */
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { LineCounter, parseDocument, isNode } from 'yaml';
import type * as z from 'zod';
import { Campaign, Charter, Guardrails, type CampaignBundle } from '../domain/config.ts';
import { Connectors, NO_CONNECTORS } from '../domain/connectors.ts';
import { ContentLibrary } from '../domain/content.ts';
import { InvalidConfigError } from '../domain/errors.ts';
import { ACTION_CATALOG } from '../domain/catalog.ts';
import type { Tool } from '../domain/model.ts';

/** sha256 of a file's bytes: the content hash recorded with every verdict. */
export const contentHash = (text: string): string => createHash('sha256').update(text).digest('hex');

const display = (file: string): string => {
  const rel = relative(process.cwd(), file);
  return rel && !rel.startsWith('..') ? rel : file;
};

/** Parses one YAML file against a schema; throws InvalidConfigError naming file, path and line. */
export function loadYamlFile<S extends z.ZodType>(file: string, schema: S): { value: z.infer<S>; hash: string } {
  const name = display(file);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = err instanceof Error && 'code' in err ? String(err.code) : 'unreadable';
    throw new InvalidConfigError(name, [{ path: '', message: code === 'ENOENT' ? 'file not found' : `cannot read file (${code})` }], {
      cause: err,
    });
  }
  return parseYamlText(name, text, schema);
}

/** Parses YAML text (of the file `name`) against a schema; throws InvalidConfigError naming file, path and line. */
export function parseYamlText<S extends z.ZodType>(name: string, text: string, schema: S): { value: z.infer<S>; hash: string } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new InvalidConfigError(
      name,
      doc.errors.map((e) => {
        const pos = lineCounter.linePos(e.pos[0]);
        return { path: `line ${pos.line}`, message: `invalid YAML: ${e.message.split('\n')[0]}` };
      }),
    );
  }
  // reportInput: an issue carries the value it is about, so a wrong one is never called missing.
  let data: unknown;
  try {
    data = doc.toJS();
  } catch (err) {
    // A document that parses but cannot become data: an alias to an anchor not set yet, or one
    // that expands too far (the YAML library's guard against alias bombs).
    throw new InvalidConfigError(name, [{ path: '(root)', message: `invalid YAML: ${err instanceof Error ? err.message : String(err)}` }], { cause: err });
  }
  const parsed = schema.safeParse(data, { reportInput: true });
  if (!parsed.success) {
    throw new InvalidConfigError(
      name,
      parsed.error.issues.flatMap((issue) => leafIssues(issue, [])).map(({ issue, path }) => {
        const node = path.length > 0 ? doc.getIn(path, true) : undefined;
        const at = isNode(node) && node.range ? ` (line ${lineCounter.linePos(node.range[0]).line})` : '';
        return { path: `${path.join('.') || '(root)'}${at}`, message: describeIssue(issue) };
      }),
    );
  }
  return { value: parsed.data, hash: contentHash(text) };
}

type Issue = z.core.$ZodIssue;

/**
 * Resolves union issues (the rule language is a union) to the leaf issues of the branch that got
 * furthest, so "thresholds.0.when.all.1.field: expected one of ..." is reported rather than "no
 * branch matched".
 */
function leafIssues(issue: Issue, prefix: PropertyKey[]): Array<{ issue: Issue; path: string[] }> {
  const path = [...prefix, ...issue.path];
  if (issue.code !== 'invalid_union' || issue.errors.length === 0) return [{ issue, path: path.map(String) }];
  const shallow = (i: Issue) => i.path.length === 0 && (i.code === 'unrecognized_keys' || i.code === 'invalid_type');
  const ranked = [...issue.errors].sort((a, b) => score(b) - score(a));
  function score(branch: Issue[]): number {
    if (branch.some(shallow)) return -1;
    return Math.max(0, ...branch.map((i) => i.path.length + 1));
  }
  const best = ranked[0];
  if (!best || score(best) < 0) return [{ issue, path: path.map(String) }];
  return best.flatMap((i) => leafIssues(i, path));
}

/** A value as a person would write it back into the file (NaN, Infinity and strings kept apart). */
function shown(value: unknown): string {
  if (typeof value === 'number' && !Number.isFinite(value)) return `${value} (not a finite number)`;
  if (typeof value === 'string') return JSON.stringify(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** A zod issue in words a RevOps engineer can act on. */
function describeIssue(issue: Issue): string {
  if (issue.code === 'invalid_type' && issue.input === undefined) return `is required (expected ${issue.expected})`;
  if (issue.code === 'invalid_type') return `expected ${issue.expected}, got ${shown(issue.input)}`;
  if (issue.code === 'unrecognized_keys') return `unknown field(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  if (issue.code === 'invalid_value') return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
  if (issue.code === 'invalid_union') return 'does not match any allowed form (a comparison {field, op, value}, or all/any/not)';
  return issue.message;
}

/** Loads a campaign file with the charters and guardrails it names (paths relative to it). */
export function loadCampaignBundle(campaignFile: string): CampaignBundle & { file: string } {
  const file = resolve(campaignFile);
  const { value: campaign, hash: campaignHash } = loadYamlFile(file, Campaign);
  const base = dirname(file);
  const charters = campaign.charters.map((p) => {
    const charterFile = resolve(base, p);
    const { value, hash } = loadYamlFile(charterFile, Charter);
    return { charter: value, hash, file: display(charterFile) };
  });
  const seen = new Set<string>();
  charters.forEach(({ charter }, i) => {
    if (seen.has(charter.id)) {
      throw new InvalidConfigError(display(file), [{ path: `charters.${i}`, message: `charter id "${charter.id}" appears twice` }]);
    }
    seen.add(charter.id);
  });
  const { value: guardrails, hash: guardrailsHash } = loadYamlFile(resolve(base, campaign.guardrails), Guardrails);
  const content = campaign.content === undefined ? undefined : loadYamlFile(resolve(base, campaign.content), ContentLibrary);
  return {
    campaign,
    campaignHash,
    charters,
    guardrails,
    guardrailsHash,
    ...(content === undefined ? {} : { content: content.value, contentHash: content.hash }),
    file: display(file),
  };
}

/** The connectors file of a config folder (optional: without it, email is the only connector). */
export const CONNECTORS_FILE_NAME = 'connectors.yaml';

/** Loads `<configDir>/connectors.yaml`, or no connectors beyond email when there is none. */
export function loadConnectors(configDir: string): Connectors {
  const file = join(configDir, CONNECTORS_FILE_NAME);
  return existsSync(file) ? loadYamlFile(file, Connectors).value : NO_CONNECTORS;
}

/** Loads every campaign in `<configDir>/campaigns/*.yaml` (what `cdk synth` deploys). */
export function loadAllCampaigns(configDir: string): Array<CampaignBundle & { file: string }> {
  const dir = join(configDir, 'campaigns');
  if (!existsSync(dir)) {
    throw new InvalidConfigError(display(dir), [{ path: '', message: 'folder not found: expected campaign YAML files here' }]);
  }
  const files = readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort();
  const bundles = files.map((f) => loadCampaignBundle(join(dir, f)));
  const ids = new Set<string>();
  for (const b of bundles) {
    if (ids.has(b.campaign.id)) {
      throw new InvalidConfigError(b.file, [{ path: 'id', message: `campaign id "${b.campaign.id}" is used by another file` }]);
    }
    ids.add(b.campaign.id);
  }
  return bundles;
}

/** A person the configuration routes approvals to, and where it says so. */
export interface NamedApprover {
  readonly email: string;
  readonly file: string;
  readonly path: string;
}

/** Everyone the campaigns' charters and guardrails route approvals to (threshold approvers, escalation targets). */
export function namedApprovers(bundles: ReadonlyArray<CampaignBundle & { file: string }>): NamedApprover[] {
  const out: NamedApprover[] = [];
  for (const bundle of bundles) {
    for (const { charter, file } of bundle.charters) {
      charter.thresholds.forEach((rule, i) => rule.approvers.forEach((email, j) => out.push({ email, file, path: `thresholds[${i}].approvers[${j}]` })));
      if (charter.escalation.escalateTo) out.push({ email: charter.escalation.escalateTo, file, path: 'escalation.escalateTo' });
    }
    const guardrailsFile = display(resolve(dirname(bundle.file), bundle.campaign.guardrails));
    bundle.guardrails.approvalRules.forEach((rule, i) =>
      rule.approvers.forEach((email, j) => out.push({ email, file: guardrailsFile, path: `approvalRules[${i}].approvers[${j}]` })),
    );
  }
  return out;
}

/**
 * The deploy-time allow-list of approvers (`cdk deploy -c approvers=...`): a charter or guardrail
 * that routes approvals to anyone else fails synth, naming the file and field. Addresses compare
 * case-insensitively.
 */
export function checkApproverAllowList(bundles: ReadonlyArray<CampaignBundle & { file: string }>, allowed: readonly string[]): void {
  const allow = new Set(allowed.map((e) => e.toLowerCase()));
  const outside = namedApprovers(bundles).filter((a) => !allow.has(a.email.toLowerCase()));
  const first = outside[0];
  if (first === undefined) return;
  const problems = outside
    .filter((a) => a.file === first.file)
    .map((a) => ({
      path: a.path,
      message: `routes approvals to ${a.email}, who is not among the deploy's approvers (${allowed.join(', ')}); add them to -c approvers or change this file`,
    }));
  throw new InvalidConfigError(first.file, problems);
}

/**
 * A charter may only allow tools (and action types whose tool is) among the connectors the stack
 * deploys: an agent must not plan what nothing can carry out. Fails naming the file and field.
 */
export function checkConnectors(bundles: ReadonlyArray<CampaignBundle & { file: string }>, deployed: readonly Tool[]): void {
  const hint = `no connector for it is deployed (deployed: ${deployed.join(', ')}); remove it from the charter or configure its connector in ${CONNECTORS_FILE_NAME} of the config folder`;
  for (const bundle of bundles) {
    for (const { charter, file } of bundle.charters) {
      const problems: Array<{ path: string; message: string }> = [];
      charter.allowedTools.forEach((tool, i) => {
        if (!deployed.includes(tool)) problems.push({ path: `allowedTools[${i}]`, message: `"${tool}": ${hint}` });
      });
      charter.allowedActions.forEach((type, i) => {
        const tool = ACTION_CATALOG[type].tool;
        if (!deployed.includes(tool)) problems.push({ path: `allowedActions[${i}]`, message: `"${type}" acts through ${tool}: ${hint}` });
      });
      if (problems.length > 0) throw new InvalidConfigError(file, problems);
    }
  }
}

/** What a run needs besides waiting for people: its pages, hand-overs and summary (generous). */
export const RUN_WORK_MARGIN_SECONDS = 3600;

/**
 * Every approval wait must fit in one CampaignRun: a charter's link lifetime, twice when a timeout
 * escalates (the escalation waits as long again), plus the run's own work. Fails naming the
 * charter file and field, with the longest lifetime that fits.
 */
export function checkApprovalWaits(bundles: ReadonlyArray<CampaignBundle & { file: string }>, runTimeoutSeconds: number): void {
  for (const bundle of bundles) {
    for (const { charter, file } of bundle.charters) {
      const { approvalTimeoutHours, onTimeout, escalateTo } = charter.escalation;
      const rounds = onTimeout === 'escalate' ? 2 : 1;
      const waitSeconds = Math.ceil(approvalTimeoutHours * 3600) * rounds;
      if (waitSeconds + RUN_WORK_MARGIN_SECONDS <= runTimeoutSeconds) continue;
      const fits = Math.floor((runTimeoutSeconds - RUN_WORK_MARGIN_SECONDS) / rounds / 3600);
      const how = rounds === 2 ? `${approvalTimeoutHours} h, then as long again for the escalation to ${escalateTo}` : `${approvalTimeoutHours} h`;
      throw new InvalidConfigError(file, [
        {
          path: 'escalation.approvalTimeoutHours',
          message: `approvals would wait up to ${how}, but a CampaignRun times out after ${runTimeoutSeconds / 3600} h (${RUN_WORK_MARGIN_SECONDS / 3600} h of it for the run's own work); use at most ${fits} hours`,
        },
      ]);
    }
  }
}
