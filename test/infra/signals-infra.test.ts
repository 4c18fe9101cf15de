/**
 * The signal intake as synthesized (bundling skipped): the signals endpoint's Function URL and
 * key, the grants of its three functions (exactly what their ports send, nothing of the
 * approvals' key or the workflow), the prospect emails' configuration set publishing to the
 * default bus, and the two rules that route signal and SES events.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack, type CfnElement } from 'aws-cdk-lib';
import { AttributeType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { Pass, StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { AgentFunction, type PortResources } from '../../cdk/constructs/agent-function.ts';
import { AuditDigests } from '../../cdk/constructs/audit-digests.ts';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIGNALS_CONCURRENCY } from '../../cdk/constructs/signals-endpoint.ts';
import type { StepPorts } from '../../shared/app/steps.ts';
import type { CampaignStack, FunctionName } from '../../cdk/stacks/campaign-stack.ts';
import { buildApp } from '../../cdk/synth.ts';
import { SIGNALS_EVENT_DETAIL_TYPE, SIGNALS_EVENT_SOURCE } from '../../shared/domain/signals-batch.ts';
import { SES_EVENT_DETAIL_TYPES } from '../../shared/domain/signals-ses.ts';
import { asList, idsOfType, referencedIds, statementsOfRole, type CfnTemplate } from './template-helpers.ts';

let outdir: string;
let stack: CampaignStack;
let template: CfnTemplate;
const logicalId = (construct: IConstruct): string => Stack.of(construct).resolve((construct.node.defaultChild as CfnElement).logicalId) as string;

beforeAll(() => {
  outdir = mkdtempSync(join(tmpdir(), 'amk-infra-signals-'));
  ({ stack } = buildApp({ outdir, bundling: false, builtinValidation: false, context: { sender: 'agents@corp.example' } }));
  template = Template.fromStack(stack).toJSON() as CfnTemplate;
}, 120_000);

afterAll(() => {
  if (outdir) rmSync(outdir, { recursive: true, force: true });
});

const fnResource = (name: FunctionName) => template.Resources[logicalId(stack.functions[name].lambda)];
const variablesOf = (name: FunctionName) => (fnResource(name)?.Properties?.Environment as { Variables: Record<string, unknown> }).Variables;
const allowed = (name: FunctionName) => statementsOfRole(template, logicalId(stack.functions[name].role)).filter((s) => s.Effect === 'Allow');
/** `action resource-logical-id` for every allowed action of a function on a resource of the template. */
const grants = (name: FunctionName): string[] =>
  allowed(name)
    .flatMap((s) => asList(s.Action).flatMap((a) => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]).flatMap((r) => [...referencedIds(r)].map((id) => `${a} ${id}`))))
    .filter((g) => !/^(logs|xray):/.test(g))
    .sort();

describe('the signals endpoint', () => {
  it('serves signals-http on its own Function URL without IAM auth, with reserved concurrency and the URL as an output', () => {
    const urls = idsOfType(template, 'AWS::Lambda::Url').filter((id) => referencedIds(template.Resources[id]?.Properties?.TargetFunctionArn).has(logicalId(stack.functions['signals-http'].lambda)));
    expect(urls).toHaveLength(1);
    expect(template.Resources[urls[0] ?? '']?.Properties?.AuthType).toBe('NONE');
    expect(fnResource('signals-http')?.Properties?.ReservedConcurrentExecutions).toBe(SIGNALS_CONCURRENCY);
    const outputs = (template as unknown as { Outputs: Record<string, { Value: unknown }> }).Outputs;
    expect(outputs['SignalsUrl']?.Value).toEqual({ 'Fn::GetAtt': [urls[0], 'FunctionUrl'] });
    expect(outputs['SignalsSigningKeyArn']?.Value).toEqual({ Ref: logicalId(stack.signals.signingKey) });
  });

  it('lets signals-http read its own key and nothing of the approvals key, and grants exactly its ports: ledger, signals, people, audit, refusal counters, replay records', () => {
    const key = logicalId(stack.signals.signingKey);
    const tables = (k: 'accounts' | 'audit' | 'runs' | 'idempotency') => logicalId(stack.tables.table(k));
    expect(variablesOf('signals-http')).toEqual({
      NODE_OPTIONS: '--enable-source-maps',
      SIGNALS_KEY_SECRET_ARN: { Ref: key },
      ACCOUNTS_TABLE: { Ref: tables('accounts') },
      AUDIT_TABLE: { Ref: tables('audit') },
      RUNS_TABLE: { Ref: tables('runs') },
      IDEMPOTENCY_TABLE: { Ref: tables('idempotency') },
    });
    expect(grants('signals-http')).toEqual(
      [
        `secretsmanager:GetSecretValue ${key}`,
        // putSignals, listStakeholders, suppressStakeholder, and the ledger's claim (PutItem) and its read.
        `dynamodb:BatchWriteItem ${tables('accounts')}`,
        `dynamodb:PutItem ${tables('accounts')}`,
        `dynamodb:Query ${tables('accounts')}`,
        `dynamodb:UpdateItem ${tables('accounts')}`,
        `dynamodb:GetItem ${tables('accounts')}`,
        // appendOnce; countRefused; the replay record (one conditional PutItem, nothing else there).
        `dynamodb:GetItem ${tables('audit')}`,
        `dynamodb:PutItem ${tables('audit')}`,
        `dynamodb:Query ${tables('audit')}`,
        `dynamodb:UpdateItem ${tables('runs')}`,
        `dynamodb:PutItem ${tables('idempotency')}`,
      ].sort(),
    );
    expect(JSON.stringify(allowed('signals-http'))).not.toContain(logicalId(stack.approvals.signingKey));
  });

  it('gives the event functions no key, no URL and no concurrency reservation: only the ledger, signals, people, audit and counters', () => {
    for (const [name, variables] of [['signals-events', ['ACCOUNTS_TABLE', 'AUDIT_TABLE', 'NODE_OPTIONS', 'RUNS_TABLE']], ['ses-events', ['ACCOUNTS_TABLE', 'AUDIT_TABLE', 'NODE_OPTIONS']]] as const) {
      expect(Object.keys(variablesOf(name)).sort(), name).toEqual(variables);
      expect(grants(name).filter((g) => g.startsWith('secretsmanager:') || g.startsWith('ses:') || g.startsWith('states:')), name).toEqual([]);
      expect(fnResource(name)?.Properties?.ReservedConcurrentExecutions, name).toBeUndefined();
      const urls = idsOfType(template, 'AWS::Lambda::Url').filter((id) => referencedIds(template.Resources[id]?.Properties?.TargetFunctionArn).has(logicalId(stack.functions[name].lambda)));
      expect(urls, name).toEqual([]);
    }
  });
});

describe('email events and signal events', () => {
  const configSet = () => logicalId(stack.signalEvents.configurationSet);
  const rule = (construct: IConstruct) => template.Resources[logicalId(construct)]?.Properties as { EventPattern: Record<string, unknown>; Targets: Array<{ Arn: unknown }>; EventBusName?: unknown };

  it('publishes deliveries, opens, clicks, bounces and complaints of the configuration set to the default bus, and SES suppresses bounced and complaining addresses too', () => {
    const destinations = idsOfType(template, 'AWS::SES::ConfigurationSetEventDestination').map((id) => template.Resources[id]?.Properties as { ConfigurationSetName: unknown; EventDestination: Record<string, unknown> });
    expect(destinations).toHaveLength(1);
    const [destination] = destinations;
    expect(destination?.ConfigurationSetName).toEqual({ Ref: configSet() });
    expect((destination?.EventDestination['MatchingEventTypes'] as string[]).sort()).toEqual(['bounce', 'click', 'complaint', 'delivery', 'open']);
    expect(JSON.stringify(destination?.EventDestination['EventBridgeDestination'])).toContain(':event-bus/default');
    expect(template.Resources[configSet()]?.Properties?.SuppressionOptions).toEqual({ SuppressedReasons: ['BOUNCE', 'COMPLAINT'] });
  });

  it('sends the tools\' prospect emails through the configuration set: its name in their environment, SendEmail on it beside the sender identity', () => {
    for (const name of ['act', 'act-approved', 'send-deferred'] as const) {
      expect(variablesOf(name).SES_CONFIGURATION_SET, name).toEqual({ Ref: configSet() });
      const ses = allowed(name).filter((s) => asList(s.Action).includes('ses:SendEmail'));
      expect(ses, name).toHaveLength(1);
      expect(JSON.stringify(ses[0]?.Resource), name).toContain(':configuration-set/');
      expect(referencedIds(ses[0]?.Resource).has(configSet()), name).toBe(true);
    }
    // The team's emails (approval requests, run reports) publish nothing.
    for (const name of ['request-approval', 'summarize'] as const) expect(variablesOf(name).SES_CONFIGURATION_SET, name).toBeUndefined();
  });

  it('routes signal batches on the default bus to signals-events, and only this configuration set\'s SES events to ses-events', () => {
    const signals = rule(stack.signalEvents.signalsRule);
    expect(signals.EventBusName).toBeUndefined();
    expect(signals.EventPattern).toEqual({ source: [SIGNALS_EVENT_SOURCE], 'detail-type': [SIGNALS_EVENT_DETAIL_TYPE] });
    expect(signals.Targets.map((t) => [...referencedIds(t.Arn)])).toEqual([[logicalId(stack.functions['signals-events'].lambda)]]);
    const ses = rule(stack.signalEvents.sesRule);
    expect(ses.EventPattern).toEqual({
      source: ['aws.ses'],
      'detail-type': Object.values(SES_EVENT_DETAIL_TYPES),
      detail: { mail: { tags: { 'ses:configuration-set': [{ Ref: configSet() }] } } },
    });
    expect(ses.Targets.map((t) => [...referencedIds(t.Arn)])).toEqual([[logicalId(stack.functions['ses-events'].lambda)]]);
    // EventBridge may invoke each target, and only it.
    for (const [name, r] of [['signals-events', stack.signalEvents.signalsRule], ['ses-events', stack.signalEvents.sesRule]] as const) {
      const permissions = idsOfType(template, 'AWS::Lambda::Permission').map((id) => template.Resources[id]?.Properties ?? {}).filter((p) => referencedIds(p.FunctionName).has(logicalId(stack.functions[name].lambda)));
      expect(permissions.map((p) => [p.Principal, [...referencedIds(p.SourceArn)]]), name).toEqual([['events.amazonaws.com', [logicalId(r)]]]);
    }
  });
});

describe('AgentFunction with the intake ports', () => {
  /** Binds a template-only function with `ports` to resources without the intake's own. */
  function bind(ports: StepPorts): void {
    const app = new App({ outdir: join(outdir, 'bind'), postCliContext: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'Bind');
    const fn = new AgentFunction(stack, 'Fn', { name: 'ok', ports });
    const resources: PortResources = {
      tables: (key) => new Table(stack, `T${key}`, { partitionKey: { name: 'pk', type: AttributeType.STRING } }),
      sender: 'agents@corp.example',
      senderName: 'Corp',
      postalAddress: '1 Corp Way, Corptown',
      plannerSeed: 'seed',
      signingKey: new Secret(stack, 'LinkKey'),
      digests: new AuditDigests(stack, 'Digests'),
      approvalBaseUrl: 'https://approvals.example/',
      stateMachine: () => new StateMachine(stack, 'Machine', { definition: new Pass(stack, 'P') }),
    };
    fn.bind(resources);
  }

  it('refuses the signalsKey port without its secret, and emailEvents without its configuration set or without tools, naming the port', () => {
    expect(() => bind({ signalsKey: true })).toThrow(/resources\.signalsKey is required, since the ports include signalsKey/);
    expect(() => bind({ tools: true, signingKey: true, approvalBaseUrl: true, emailEvents: true })).toThrow(/resources\.emailEvents is required/);
    expect(() => bind({ emailEvents: true })).toThrow(/emailEvents port configures the tools' emails, so its ports must include tools/);
  });
});
