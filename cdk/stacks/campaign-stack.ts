/**
 * The whole system in one stack. It only composes: tables, the handlers (each bound to what its
 * step's port declaration needs), the workflow, the approval endpoint and the schedules. The
 * campaign files are validated here, at synth, and travel into the bundles of the functions that
 * read them as `campaigns.json`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Annotations, CfnOutput, Duration, Stack, Stage, type StackProps } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { CfnQueryDefinition } from 'aws-cdk-lib/aws-logs';
import { AUDIT_QUERIES, renderQuery } from '../../shared/domain/audit-queries.ts';
import { STEP_PORTS } from '../../shared/app/steps.ts';
import { deployedTools } from '../../shared/domain/connectors.ts';
import { checkApprovalWaits, checkApproverAllowList, checkConnectors, loadAllCampaigns, loadConnectors } from '../../shared/config/load.ts';
import { AgentFunction, CAMPAIGNS_FILE_NAME } from '../constructs/agent-function.ts';
import { ApprovalEndpoint } from '../constructs/approval-endpoint.ts';
import { AuditDigests } from '../constructs/audit-digests.ts';
import { Operations } from '../constructs/operations.ts';
import { CampaignSchedules } from '../constructs/campaign-schedules.ts';
import { CampaignWorkflow, WORKFLOW_FUNCTION_NAMES, type WorkflowFunctionName } from '../constructs/campaign-workflow.ts';
import { DataTables } from '../constructs/data-tables.ts';
import { SignalsEndpoint } from '../constructs/signals-endpoint.ts';
import { SignalEvents } from '../constructs/signals-events.ts';

/** Every Lambda of the system: the workflow's tasks, the approval endpoint, StartRun and the signal intake. */
export type FunctionName = WorkflowFunctionName | 'approval-http' | 'start-run' | 'signals-http' | 'signals-events' | 'ses-events' | 'audit-verify';

const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

/** Properties of {@link CampaignStack}. */
export interface CampaignStackProps extends StackProps {
  /**
   * Folder with `campaigns/`, `charters/` and `guardrails/` YAML (relative to the working directory).
   * @default 'config'
   */
  readonly configDir?: string;
  /** Address every email is sent from (an SES-verified identity or domain): approvals, reports, prospects. */
  readonly senderAddress: string;
  /** Seed of the planners' exploration: decisions of a deployment replay from it. */
  readonly plannerSeed: string;
  /** Who sends the marketing emails (named in their footer). */
  readonly senderName: string;
  /** The sender's postal address, in the footer of every marketing email (CAN-SPAM, and the large mailbox providers' bulk-sender rules). */
  readonly postalAddress: string;
  /**
   * The people charters and guardrails may route approvals to: when given, a campaign that names
   * anyone else fails synth (file and field named). @default - no allow-list; the configuration,
   * reviewed in git, names the approvers
   */
  readonly approverEmails?: readonly string[];
}

/** The Autonomous Marketing stack. */
export class CampaignStack extends Stack {
  /** The DynamoDB tables. */
  readonly tables: DataTables;
  /** Every Lambda, by name. */
  readonly functions: Readonly<Record<FunctionName, AgentFunction>>;
  /** The CampaignRun and AccountBatch state machines. */
  readonly workflow: CampaignWorkflow;
  /** The approval Function URL and its signing key. */
  readonly approvals: ApprovalEndpoint;
  /** One schedule per campaign. */
  readonly schedules: CampaignSchedules;
  /** The key that signs run digests and the bucket they are published to. */
  readonly digests: AuditDigests;
  /** The dashboard, the alarms and the topic they notify. */
  readonly operations: Operations;
  /** The signed signals endpoint (Function URL) and its key. */
  readonly signals: SignalsEndpoint;
  /** The prospect emails' configuration set and the EventBridge rules of signal and SES events. */
  readonly signalEvents: SignalEvents;
  /** Where synth wrote the validated campaign configuration. */
  readonly campaignsFile: string;

  constructor(scope: Construct, id: string, props: CampaignStackProps) {
    super(scope, id, props);
    if (!EMAIL.test(props.senderAddress)) {
      throw new Error(`CampaignStack: props.senderAddress "${props.senderAddress}" is not an email address`);
    }
    if (props.approverEmails !== undefined) {
      if (props.approverEmails.length === 0) throw new Error('CampaignStack: props.approverEmails is empty');
      const badApprover = props.approverEmails.find((e) => !EMAIL.test(e));
      if (badApprover !== undefined) throw new Error(`CampaignStack: props.approverEmails has "${badApprover}", not an email address`);
    }

    if (props.plannerSeed.trim() === '') throw new Error('CampaignStack: props.plannerSeed is empty');
    if (props.senderName.trim() === '' || props.postalAddress.trim() === '') throw new Error('CampaignStack: props.senderName and props.postalAddress must not be empty');
    if (/example/i.test(props.postalAddress)) {
      Annotations.of(this).addWarningV2('amk:placeholder-postal-address', `The postal address "${props.postalAddress}" is a placeholder: set -c postalAddress=<your company's postal address> (or "postalAddress" in cdk.json) before you deploy.`);
    }
    if (/@example\.(com|org|net)$/i.test(props.senderAddress)) {
      Annotations.of(this).addWarningV2(
        'amk:placeholder-sender',
        `The sender ${props.senderAddress} is a placeholder: set -c sender=<an SES-verified address> (or "sender" in cdk.json) before you deploy.`,
      );
    }

    // Throws InvalidConfigError (file, path, expectation) and so fails synth on a broken file.
    const configDir = resolve(props.configDir ?? 'config');
    const campaigns = loadAllCampaigns(configDir);
    if (props.approverEmails !== undefined) checkApproverAllowList(campaigns, props.approverEmails);
    // A charter may only allow tools that have a connector in this stack (email, and those of
    // connectors.yaml): refused here, not at send.
    const connectors = loadConnectors(configDir);
    checkConnectors(campaigns, deployedTools(connectors));
    const outdir = Stage.of(this)?.outdir ?? resolve('cdk.out');
    this.campaignsFile = join(outdir, `${this.artifactId}.${CAMPAIGNS_FILE_NAME}`);
    mkdirSync(dirname(this.campaignsFile), { recursive: true });
    writeFileSync(this.campaignsFile, `${JSON.stringify(campaigns, null, 2)}\n`);

    this.tables = new DataTables(this, 'Tables');
    // `amk import --target aws` finds the table it writes the book to by this output.
    new CfnOutput(this, 'AccountsTableName', { value: this.tables.table('accounts').tableName, description: 'The accounts table: amk import --target aws writes the book here' }).overrideLogicalId('AccountsTableName');
    this.digests = new AuditDigests(this, 'AuditDigests');

    const fnScope = new Construct(this, 'Functions');
    const makeFunction = (name: WorkflowFunctionName): AgentFunction => {
      const ports = STEP_PORTS[name];
      return new AgentFunction(fnScope, pascal(name), { name, ports, ...('config' in ports ? { campaignsFile: this.campaignsFile } : {}) });
    };
    const workflowFunctions = Object.fromEntries(WORKFLOW_FUNCTION_NAMES.map((name) => [name, makeFunction(name)])) as Record<
      WorkflowFunctionName,
      AgentFunction
    >;

    this.workflow = new CampaignWorkflow(this, 'Workflow', {
      functions: Object.fromEntries(WORKFLOW_FUNCTION_NAMES.map((name) => [name, workflowFunctions[name].lambda])) as Record<
        WorkflowFunctionName,
        AgentFunction['lambda']
      >,
    });

    // An approval that waits longer than its run would be cut off by the run's timeout: refused here.
    checkApprovalWaits(campaigns, this.workflow.runTimeout.toSeconds());

    this.approvals = new ApprovalEndpoint(this, 'Approvals');
    // The schedules' target: starts the CampaignRun execution named after its run.
    const startRun = new AgentFunction(fnScope, 'StartRun', { name: 'start-run', ports: STEP_PORTS['start-run'], campaignsFile: this.campaignsFile });
    // Signals in: the signed endpoint, and the rules of signal events and of SES's email events.
    this.signals = new SignalsEndpoint(this, 'Signals');
    const signalEventsFn = new AgentFunction(fnScope, 'SignalsEvents', { name: 'signals-events', ports: STEP_PORTS['signals-events'] });
    const sesEventsFn = new AgentFunction(fnScope, 'SesEvents', { name: 'ses-events', ports: STEP_PORTS['ses-events'] });
    this.signalEvents = new SignalEvents(this, 'SignalEvents', { signalEvents: signalEventsFn.lambda, sesEvents: sesEventsFn.lambda });
    // The daily audit verification against the signed run digests.
    const auditVerify = new AgentFunction(fnScope, 'AuditVerify', { name: 'audit-verify', ports: STEP_PORTS['audit-verify'], timeout: Duration.minutes(10) });
    this.functions = {
      ...workflowFunctions,
      'approval-http': this.approvals.handler,
      'start-run': startRun,
      'signals-http': this.signals.handler,
      'signals-events': signalEventsFn,
      'ses-events': sesEventsFn,
      'audit-verify': auditVerify,
    };

    // Each function gets exactly what its ports need (shared/app/steps.ts): environment and grants.
    for (const fn of Object.values(this.functions)) {
      fn.bind({
        tables: (key) => this.tables.table(key),
        sender: props.senderAddress,
        senderName: props.senderName,
        postalAddress: props.postalAddress,
        plannerSeed: props.plannerSeed,
        signingKey: this.approvals.signingKey,
        digests: this.digests,
        approvalBaseUrl: this.approvals.url.url,
        stateMachine: () => this.workflow.campaignRun,
        signalsKey: this.signals.signingKey,
        emailEvents: { configurationSetName: this.signalEvents.configurationSet.configurationSetName },
        connectors,
      });
    }

    // The named audit queries, rendered from the definitions `amk audit query` evaluates locally.
    const queries = new Construct(this, 'AuditQueries');
    for (const q of AUDIT_QUERIES) {
      new CfnQueryDefinition(queries, pascal(q.name), {
        name: `autonomous-marketing/${q.name}`,
        queryString: renderQuery(q),
        logGroupNames: Object.values(this.functions).map((fn) => fn.logGroup.logGroupName),
      });
    }

    this.operations = new Operations(this, 'Operations', {
      campaignRun: this.workflow.campaignRun,
      logGroups: Object.values(this.functions).map((fn) => fn.logGroup),
      decisionLogGroup: this.functions.record.logGroup,
      expiryLogGroup: this.functions['approval-timed-out'].logGroup,
      notify: campaigns.map((c) => c.campaign.owner),
      verifierLogGroup: auditVerify.logGroup,
      verifier: auditVerify.lambda,
    });

    this.schedules = new CampaignSchedules(this, 'Schedules', {
      campaigns,
      startRun: startRun.lambda,
      verifier: auditVerify.lambda,
    });
  }
}

const pascal = (s: string): string => s.replace(/(^|-)([a-z0-9])/g, (_m, _sep: string, c: string) => c.toUpperCase());
