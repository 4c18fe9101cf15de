/**
 * The approvals Function URL's ports: the step's declared ports (shared/app/steps.ts), built by the
 * one composition root from the function's environment, shaped for the approval use case.
 */
import type { ApprovalDeps } from '../../shared/app/approval-decision.ts';
import { accountNames } from '../../shared/app/approval-request.ts';
import type { StepDeps } from '../../shared/app/steps.ts';
import { lambdaStepDeps } from '../../shared/adapters/lambda/compose.ts';

/** Options the embedded default sets; never set in AWS. */
export interface ApprovalHttpOptions {
  /** Lets the local demo's labelled simulated reviewer decide. @default false */
  readonly allowSimulatedReviewer?: boolean;
  /** Where failures are logged. @default one JSON line on stderr */
  readonly log?: (entry: Record<string, unknown>) => void;
}

/** Namespace of the project's CloudWatch metrics. */
export const METRICS_NAMESPACE = 'AutonomousMarketing';

/** An embedded-metric-format line: one refused approval request, by reason. */
export function refusedMetric(at: string, reason: string): Record<string, unknown> {
  return {
    _aws: {
      Timestamp: Date.parse(at),
      CloudWatchMetrics: [{ Namespace: METRICS_NAMESPACE, Dimensions: [['Reason']], Metrics: [{ Name: 'ApprovalLinkRefused', Unit: 'Count' }] }],
    },
    Reason: reason,
    ApprovalLinkRefused: 1,
  };
}

/** The approval use case's ports from the step's ports. */
export function approvalDepsOf(deps: StepDeps<'approval-http'>, options: ApprovalHttpOptions = {}): ApprovalDeps {
  const refused = async ({ at, reason }: { at: string; reason: string }): Promise<void> => {
    await deps.runs.countRefused(at, reason);
    // And a CloudWatch metric from the log line (embedded metric format: no API call, no extra cost).
    console.log(JSON.stringify(refusedMetric(at, reason)));
  };
  return {
    unsubscribe: { clock: deps.clock, signalLedger: deps.signalLedger, accounts: deps.accounts, audit: deps.audit, key: deps.signingKey, refused },
    approvals: deps.approvals,
    audit: deps.audit,
    callback: deps.callback,
    key: deps.signingKey,
    clock: deps.clock,
    // The Function URL cannot be given its own URL (a CloudFormation cycle): the handler takes the
    // origin from each request's host.
    baseUrl: '',
    allowSimulatedReviewer: options.allowSimulatedReviewer ?? false,
    log: options.log ?? ((entry) => console.error(JSON.stringify(entry))),
    names: accountNames(deps.accounts),
    refused,
  };
}

/** The ports in Lambda, built once per process from process.env. */
export async function approvalHttpDeps(): Promise<ApprovalDeps> {
  return approvalDepsOf(await lambdaStepDeps('approval-http'));
}
