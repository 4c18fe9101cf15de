/**
 * What stops a synth: an invalid campaign configuration (with an error a RevOps engineer can act
 * on), and any cdk-nag AwsSolutions finding nobody acknowledged with a reason.
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterEach, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../cdk/constructs/agent-function.ts';
import { buildApp, synthesizeTemplate } from '../../cdk/synth.ts';
import { InvalidConfigError } from '../../shared/domain/errors.ts';

/** The sender every synth needs (cdk.json gives the CLI one). */
const SENDER = { sender: 'agents@corp.example' };

const temps: string[] = [];
const tempDir = (prefix: string): string => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temps.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** The message of the InvalidConfigError a synth of `configDir` fails with (the test fails if it does not). */
function synthConfigError(configDir: string): string {
  let caught: unknown;
  try {
    buildApp({ outdir: tempDir('amk-infra-out-'), configDir, bundling: false, context: SENDER });
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(InvalidConfigError);
  return (caught as Error).message;
}

/** A copy of config/ whose nurture charter lost its goal and compares an unknown account field. */
function brokenConfig(): string {
  const dir = tempDir('amk-infra-config-');
  cpSync(join(PROJECT_ROOT, 'config'), dir, { recursive: true });
  const charter = join(dir, 'charters', 'nurture-agent.yaml');
  const text = readFileSync(charter, 'utf8');
  const broken = text
    .replace(/^goal:\n(?: {2}.*\n|\s*\n)*/m, '')
    .replace('{ field: stakeholder.role, op: eq, value: blocker }', '{ field: account.revenue, op: gt, value: 50 }');
  if (broken.includes('\ngoal:') || !broken.includes('account.revenue')) throw new Error('the fixture edit did not apply');
  writeFileSync(charter, broken);
  return dir;
}

describe('campaign configuration at synth', () => {
  it('fails buildApp with an InvalidConfigError naming the charter file, the missing goal and the unknown rule field', () => {
    const configDir = brokenConfig();
    const outdir = tempDir('amk-infra-out-');
    let caught: unknown;
    try {
      buildApp({ outdir, configDir, bundling: false, context: SENDER });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(InvalidConfigError);
    const message = (caught as Error).message;
    expect(message).toContain('nurture-agent.yaml');
    expect(message).toMatch(/(^|[ :;])goal: is required/);
    expect(message).toMatch(/thresholds\.0\.when\.all\.1\.field \(line \d+\): expected one of/);
  });

  it('fails synth when a charter routes approvals to someone outside the deploy\'s approver allow-list, naming file and field', () => {
    const outdir = tempDir('amk-infra-out-');
    // Everyone the sample names but the CMO (the escalation target and second seat of the two-person rule).
    const allowed = 'account-director@example.com,sales-lead@example.com,marketing-ops@example.com,budget-owner@example.com';
    let caught: unknown;
    try {
      buildApp({ outdir, bundling: false, context: { ...SENDER, approvers: allowed } });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(InvalidConfigError);
    const message = (caught as Error).message;
    expect(message).toMatch(/^config\/charters\/executive-outreach-agent\.yaml: /);
    expect(message).toContain('thresholds[1].approvers[1]: routes approvals to cmo@example.com, who is not among the deploy\'s approvers');
    expect(message).toContain('escalation.escalateTo: routes approvals to cmo@example.com');
    // With everyone the sample names, it synthesizes.
    const everyone = `${allowed},CMO@example.com`;
    expect(() => buildApp({ outdir: tempDir('amk-infra-out-'), bundling: false, context: { ...SENDER, approvers: everyone } })).not.toThrow();
  });

  it('fails synth without a sender address, saying how to set it, instead of defaulting to one', () => {
    expect(() => buildApp({ outdir: tempDir('amk-infra-out-'), bundling: false })).toThrow(
      /context "sender": sender: is not set: it is the From address of every email, an SES-verified identity\. Set it with -c sender=\.\.\. or in cdk\.json/,
    );
  });

  it('fails synth when a charter allows a tool that no deployed connector carries, naming the file and field', () => {
    const configDir = tempDir('amk-infra-config-');
    cpSync(join(PROJECT_ROOT, 'config'), configDir, { recursive: true });
    const charter = join(configDir, 'charters', 'executive-outreach-agent.yaml');
    const text = readFileSync(charter, 'utf8');
    const edited = text
      .replace('allowedTools: [email]', 'allowedTools: [email, sales_task]')
      .replace('allowedActions: [executive_briefing, objection_response]', 'allowedActions: [executive_briefing, objection_response, sales_handoff]');
    if (edited === text) throw new Error('the fixture edit did not apply');
    writeFileSync(charter, edited);
    const message = synthConfigError(configDir);
    expect(message).toContain('executive-outreach-agent.yaml');
    expect(message).toContain('allowedTools[1]: "sales_task": no connector for it is deployed (deployed: email, content_recommendation)');
    expect(message).toContain('allowedActions[2]: "sales_handoff" acts through sales_task');
  });

  it('deploys a charter\'s sales tasks once connectors.yaml routes them to a CRM, granting the acting functions exactly its secret', () => {
    const configDir = tempDir('amk-infra-config-');
    cpSync(join(PROJECT_ROOT, 'config'), configDir, { recursive: true });
    const charter = join(configDir, 'charters', 'executive-outreach-agent.yaml');
    writeFileSync(charter, readFileSync(charter, 'utf8').replace('allowedTools: [email]', 'allowedTools: [email, sales_task]'));
    const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:amk/salesforce-Qw3rTy';
    writeFileSync(join(configDir, 'connectors.yaml'), `tools:\n  sales_task:\n    kind: salesforce\n    tokenSecretArn: ${arn}\n    instanceUrl: https://corp.my.salesforce.com\n`);
    const { template } = synthesizeTemplate({ outdir: tempDir('amk-infra-out-'), configDir, context: SENDER }) as unknown as {
      template: { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };
    };
    const policies = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::IAM::Policy');
    const granted = policies.filter(([, r]) => JSON.stringify(r.Properties).includes(arn)).map(([id]) => /^Functions([A-Za-z]+?)Role/.exec(id)?.[1] ?? id);
    expect(granted.sort()).toEqual(['Act', 'ActApproved', 'SendDeferred']);
  });

  it('fails synth on a connectors.yaml that routes a tool wrongly or names no secret ARN, naming the file and the field', () => {
    const configDir = tempDir('amk-infra-config-');
    cpSync(join(PROJECT_ROOT, 'config'), configDir, { recursive: true });
    writeFileSync(
      join(configDir, 'connectors.yaml'),
      'tools:\n  ad_audience:\n    kind: hubspot\n    tokenSecretArn: amk/hubspot\n  webhook:\n    kind: webhook\n    url: http://hooks.example.com/amk\n    secretArn: arn:aws:secretsmanager:eu-west-1:123456789012:secret:amk/hook-AbCdEf\n',
    );
    const message = synthConfigError(configDir);
    expect(message).toContain('connectors.yaml');
    expect(message).toMatch(/tools\.ad_audience\.tokenSecretArn \(line 4\): expected the secret's full ARN/);
    expect(message).toMatch(/tools\.webhook\.url \(line 7\): "http:\/\/hooks\.example\.com\/amk" is not an https:\/\/ URL/);
    expect(message).toMatch(/tools\.ad_audience\.kind.*writes sales tasks only/);
  });

  it('fails synth when a charter\'s approval wait with its escalation cannot fit in the CampaignRun\'s timeout, naming file and field', () => {
    const configDir = tempDir('amk-infra-config-');
    cpSync(join(PROJECT_ROOT, 'config'), configDir, { recursive: true });
    const charter = join(configDir, 'charters', 'executive-outreach-agent.yaml');
    writeFileSync(charter, readFileSync(charter, 'utf8').replace('approvalTimeoutHours: 72', 'approvalTimeoutHours: 336'));
    expect(() => buildApp({ outdir: tempDir('amk-infra-out-'), configDir, bundling: false, context: SENDER })).toThrow(
      /executive-outreach-agent\.yaml: escalation\.approvalTimeoutHours: approvals would wait up to 336 h, then as long again for the escalation to cmo@example\.com, but a CampaignRun times out after 360 h/,
    );
  });

  it('writes the validated campaigns as JSON next to the assembly for the bundles to carry', () => {
    const outdir = tempDir('amk-infra-out-');
    const { stack } = buildApp({ outdir, bundling: false, context: SENDER });
    expect(existsSync(stack.campaignsFile)).toBe(true);
    const campaigns = JSON.parse(readFileSync(stack.campaignsFile, 'utf8')) as Array<{ campaign: { id: string } }>;
    expect(campaigns.map((c) => c.campaign.id)).toEqual(['q1-committee-expansion']);
  });
});

describe('cdk-nag', () => {
  it('reports zero unacknowledged AwsSolutions findings, and every acknowledgement gives a specific reason', () => {
    const outdir = tempDir('amk-infra-nag-');
    const { app } = buildApp({ outdir, bundling: false, context: SENDER });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    // Findings are errors: synth throws with the report when any is left.
    const assembly = app.synth();
    const report = JSON.parse(readFileSync(join(assembly.directory, 'validation-report.json'), 'utf8')) as {
      pluginReports: Array<{ pluginName: string; violations: Array<{ ruleName: string }> }>;
    };
    expect(report.pluginReports.flatMap((p) => p.violations.map((v) => `${p.pluginName}: ${v.ruleName}`))).toEqual([]);

    const acknowledgements: Array<{ path: string; id: string; reason: string }> = [];
    for (const construct of app.node.findAll()) {
      for (const entry of construct.node.metadata) {
        if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
        for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) acknowledgements.push({ path: construct.node.path, id, reason });
      }
    }
    expect(acknowledgements.length).toBeGreaterThan(0);
    for (const ack of acknowledgements) {
      expect(ack.reason.length, `${ack.path} ${ack.id}`).toBeGreaterThan(80);
      // Acknowledged on a resource or its policy, never on the stack or the app.
      expect(ack.path.split('/').length, `${ack.path} ${ack.id}`).toBeGreaterThan(2);
    }
  }, 120_000);
});
