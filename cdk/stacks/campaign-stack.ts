/**
 * The whole system in one stack. It only composes: tables, the handlers with their table access,
 * the workflow, the approval endpoint and the schedules. The campaign files are validated here, at
 * synth, and travel into the bundles of the functions that read them as `campaigns.json`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Stack, Stage, type StackProps } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import type { TableKey } from '../../shared/adapters/dynamodb/tables.ts';
import { checkApproverAllowList, loadAllCampaigns } from '../../shared/config/load.ts';
import { AgentFunction, SENDER_ENV, type TableAccess } from '../constructs/agent-function.ts';
import { ApprovalEndpoint } from '../constructs/approval-endpoint.ts';
import { CampaignSchedules } from '../constructs/campaign-schedules.ts';
import { CampaignWorkflow, WORKFLOW_FUNCTION_NAMES, type WorkflowFunctionName } from '../constructs/campaign-workflow.ts';
import { DataTables } from '../constructs/data-tables.ts';

/** Every Lambda of the system: the workflow's tasks plus the approval endpoint. */
export type FunctionName = WorkflowFunctionName | 'approval-http';

/** File name of the validated campaign configuration inside a bundle. */
export const CAMPAIGNS_FILE_NAME = 'campaigns.json';
/** Environment variable that points a handler at the campaign configuration. */
export const CAMPAIGNS_FILE_ENV = 'CAMPAIGNS_FILE';

// Least privilege, per handler: the audit table is only ever appended to.
const TABLE_ACCESS: Readonly<Record<FunctionName, Readonly<Partial<Record<TableKey, TableAccess>>>>> = {
  'load-campaign': { runs: 'readwrite' },
  observe: { accounts: 'readwrite', memory: 'readwrite' },
  plan: { memory: 'read' },
  govern: {},
  act: { idempotency: 'readwrite', approvals: 'readwrite', runs: 'readwrite' },
  record: { audit: 'append', memory: 'readwrite', runs: 'readwrite' },
  'list-shard-approvals': { approvals: 'read' },
  'request-approval': { approvals: 'readwrite', audit: 'append', accounts: 'read' },
  'act-approved': { approvals: 'read', idempotency: 'readwrite', audit: 'append', memory: 'readwrite', runs: 'readwrite' },
  'record-decision': { approvals: 'read', audit: 'append', memory: 'readwrite', runs: 'readwrite' },
  'approval-timed-out': { approvals: 'readwrite', audit: 'append', runs: 'readwrite' },
  summarize: { runs: 'read', audit: 'append', approvals: 'read' },
  'approval-http': { approvals: 'readwrite', audit: 'append' },
};

// Handlers that read charters, campaigns or guardrails.
const READS_CAMPAIGNS: ReadonlySet<FunctionName> = new Set<FunctionName>([
  'load-campaign',
  'plan',
  'govern',
  'act',
  'act-approved',
  'approval-timed-out',
  'request-approval',
  'summarize',
]);

const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

/** Properties of {@link CampaignStack}. */
export interface CampaignStackProps extends StackProps {
  /**
   * Folder with `campaigns/`, `charters/` and `guardrails/` YAML (relative to the working directory).
   * @default 'config'
   */
  readonly configDir?: string;
  /** Address approval emails and run reports are sent from (an SES-verified identity or domain). */
  readonly senderAddress: string;
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

    // Throws InvalidConfigError (file, path, expectation) and so fails synth on a broken file.
    const campaigns = loadAllCampaigns(resolve(props.configDir ?? 'config'));
    if (props.approverEmails !== undefined) checkApproverAllowList(campaigns, props.approverEmails);
    const outdir = Stage.of(this)?.outdir ?? resolve('cdk.out');
    this.campaignsFile = join(outdir, `${this.artifactId}.${CAMPAIGNS_FILE_NAME}`);
    mkdirSync(dirname(this.campaignsFile), { recursive: true });
    writeFileSync(this.campaignsFile, `${JSON.stringify(campaigns, null, 2)}\n`);

    this.tables = new DataTables(this, 'Tables');

    const fnScope = new Construct(this, 'Functions');
    const makeFunction = (name: WorkflowFunctionName): AgentFunction =>
      new AgentFunction(fnScope, pascal(name), {
        name,
        ...(READS_CAMPAIGNS.has(name)
          ? { environment: { [CAMPAIGNS_FILE_ENV]: CAMPAIGNS_FILE_NAME }, bundledFiles: { [CAMPAIGNS_FILE_NAME]: this.campaignsFile } }
          : {}),
      });
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

    this.approvals = new ApprovalEndpoint(this, 'Approvals', {
      stateMachine: this.workflow.campaignRun,
      linkSenders: [workflowFunctions['request-approval']],
    });
    this.functions = { ...workflowFunctions, 'approval-http': this.approvals.handler };

    for (const [name, access] of Object.entries(TABLE_ACCESS) as Array<[FunctionName, Partial<Record<TableKey, TableAccess>>]>) {
      for (const [key, level] of Object.entries(access) as Array<[TableKey, TableAccess]>) {
        this.functions[name].useTable(this.tables.table(key), key, level);
      }
    }
    for (const name of ['request-approval', 'summarize'] as const) this.functions[name].useEmailSender(props.senderAddress);
    // approval-http shares the approval ports (mailer included) and its env schema asks for the
    // sender, but it never sends mail: the address only, no SES grant.
    this.approvals.handler.lambda.addEnvironment(SENDER_ENV, props.senderAddress);

    this.schedules = new CampaignSchedules(this, 'Schedules', {
      campaigns,
      stateMachine: this.workflow.campaignRun,
    });
  }
}

const pascal = (s: string): string => s.replace(/(^|-)([a-z0-9])/g, (_m, _sep: string, c: string) => c.toUpperCase());
