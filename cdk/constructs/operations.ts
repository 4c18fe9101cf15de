/**
 * Operations in AWS: a CloudWatch dashboard whose Logs Insights widgets are the named audit queries
 * (the same definitions `amk audit query` evaluates), and alarms to an SNS topic the campaign
 * owners are subscribed to: a failed CampaignRun execution, any action executed without its
 * required approval (a metric filter on the Record function's decision lines), failed tool
 * calls, and approvals that waited past their timeout.
 */
import { Duration, Validations } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, Dashboard, GraphWidget, LogQueryWidget, Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { FilterPattern, MetricFilter, type ILogGroup } from 'aws-cdk-lib/aws-logs';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { AUDIT_QUERIES, renderQuery } from '../../shared/domain/audit-queries.ts';

/** The metrics namespace of the system's own metrics. */
export const METRICS_NAMESPACE = 'AutonomousMarketing';

/** Properties of {@link Operations}. */
export interface OperationsProps {
  readonly campaignRun: IStateMachine;
  /** Every function's log group (the queries read them all). */
  readonly logGroups: readonly ILogGroup[];
  /** The log group of the function that writes the decision lines (Record). */
  readonly decisionLogGroup: ILogGroup;
  /** The log group of the function that expires approvals nobody decided in time (ApprovalTimedOut). */
  readonly expiryLogGroup: ILogGroup;
  /** Who is told when an alarm fires (the campaign owners). */
  readonly notify: readonly string[];
  /** The log group of the daily audit verifier (its `audit_verified` lines count what it found). */
  readonly verifierLogGroup: ILogGroup;
  /** The daily audit verifier itself: its errors, and a day without a verification, alarm too. */
  readonly verifier: IFunction;
}

export class Operations extends Construct {
  readonly topic: Topic;
  readonly dashboard: Dashboard;
  readonly alarms: Readonly<Record<'failedRun' | 'executedWithoutApproval' | 'toolFailures' | 'approvalsExpired' | 'auditDigestMismatch' | 'auditNotVerified', Alarm>>;

  constructor(scope: Construct, id: string, props: OperationsProps) {
    super(scope, id);
    this.topic = new Topic(this, 'Alarms', { displayName: 'Autonomous Marketing alarms', enforceSSL: true });
    Validations.of(this.topic).acknowledge({
      id: 'AwsSolutions-SNS2',
      reason: 'The topic carries alarm names and states only (no customer data); CloudWatch alarms cannot publish to a topic encrypted with the AWS-managed SNS key.',
    });
    for (const email of new Set(props.notify)) this.topic.addSubscription(new EmailSubscription(email));

    const withoutApproval = new MetricFilter(this, 'ExecutedWithoutApprovalFilter', {
      logGroup: props.decisionLogGroup,
      filterPattern: FilterPattern.all(FilterPattern.stringValue('$.kind', '=', 'decision'), FilterPattern.numberValue('$.needsApproval', '=', 1), FilterPattern.numberValue('$.executed', '=', 1)),
      metricNamespace: METRICS_NAMESPACE,
      metricName: 'ExecutedWithoutApproval',
      metricValue: '1',
      defaultValue: 0,
    });
    const toolFailures = new MetricFilter(this, 'ToolFailuresFilter', {
      logGroup: props.decisionLogGroup,
      filterPattern: FilterPattern.all(FilterPattern.stringValue('$.kind', '=', 'decision'), FilterPattern.numberValue('$.toolOk', '=', 0)),
      metricNamespace: METRICS_NAMESPACE,
      metricName: 'ToolFailures',
      metricValue: '1',
      defaultValue: 0,
    });
    // An approval waits until its timeout and is then expired (or escalated): every one that
    // reaches it is a request that sat in the backlog for longer than the charter allows.
    const expired = new MetricFilter(this, 'ApprovalsExpiredFilter', {
      logGroup: props.expiryLogGroup,
      filterPattern: FilterPattern.stringValue('$.kind', '=', 'approval_expired'),
      metricNamespace: METRICS_NAMESPACE,
      metricName: 'ApprovalsExpired',
      metricValue: '1',
      defaultValue: 0,
    });
    // The daily verification's findings: an event edited, deleted, inserted or truncated, a stream
    // rewritten under a signed digest, or a digest whose signature fails.
    const mismatches = new MetricFilter(this, 'AuditDigestMismatchFilter', {
      logGroup: props.verifierLogGroup,
      filterPattern: FilterPattern.all(FilterPattern.stringValue('$.kind', '=', 'audit_verified'), FilterPattern.numberValue('$.findings', '>', 0)),
      metricNamespace: METRICS_NAMESPACE,
      metricName: 'AuditDigestMismatch',
      metricValue: '$.findings',
      defaultValue: 0,
    });
    const verifications = new MetricFilter(this, 'AuditVerificationsFilter', {
      logGroup: props.verifierLogGroup,
      filterPattern: FilterPattern.stringValue('$.kind', '=', 'audit_verified'),
      metricNamespace: METRICS_NAMESPACE,
      metricName: 'AuditVerifications',
      metricValue: '1',
    });
    const alarm = (name: string, metric: Metric, description: string, threshold = 1): Alarm => {
      const a = new Alarm(this, name, {
        metric,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
      a.addAlarmAction(new SnsAction(this.topic));
      return a;
    };
    this.alarms = {
      failedRun: alarm('FailedRun', props.campaignRun.metricFailed({ period: Duration.minutes(5), statistic: 'Sum' }), 'A CampaignRun execution failed (its audit stream and `amk audit --run` say where).'),
      executedWithoutApproval: alarm(
        'ExecutedWithoutApproval',
        withoutApproval.metric({ period: Duration.minutes(5), statistic: 'Sum' }),
        'An action that needed a human approval was executed without one: the executed-without-approval query lists it. This must never happen.',
      ),
      approvalsExpired: alarm(
        'ApprovalsExpired',
        expired.metric({ period: Duration.hours(1), statistic: 'Sum' }),
        'An approval request waited longer than its timeout without a decision (approvals-by-approver shows who has a backlog); its action was not executed.',
      ),
      auditDigestMismatch: alarm(
        'AuditDigestMismatch',
        mismatches.metric({ period: Duration.days(1), statistic: 'Sum' }),
        'The daily audit verification found the audit trail no longer matching its signed run digests (an event edited, deleted, inserted or truncated, or a digest forged): its audit_verified record lists where; `amk audit verify` on a copy of the table says the rest.',
      ),
      // Tamper detection that stopped is no detection: a day without a recorded verification (the
      // verifier failed past Scheduler's retries, or never ran) alarms, missing data included.
      auditNotVerified: (() => {
        const a = new Alarm(this, 'AuditNotVerified', {
          metric: verifications.metric({ period: Duration.days(1), statistic: 'Sum' }),
          threshold: 1,
          evaluationPeriods: 1,
          comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
          treatMissingData: TreatMissingData.BREACHING,
          alarmDescription: `No audit verification was recorded in a day: the AuditVerify function failed (its errors: ${props.verifier.functionName}) or its schedule did not run. Until it runs again, tampering would go unnoticed.`,
        });
        a.addAlarmAction(new SnsAction(this.topic));
        return a;
      })(),
      toolFailures: alarm('ToolFailures', toolFailures.metric({ period: Duration.hours(1), statistic: 'Sum' }), 'Ten or more tool calls failed within an hour (tool-failures-by-tool says which).', 10),
    };

    this.dashboard = new Dashboard(this, 'Dashboard');
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'CampaignRun executions',
        left: [props.campaignRun.metricStarted({ statistic: 'Sum' }), props.campaignRun.metricSucceeded({ statistic: 'Sum' }), props.campaignRun.metricFailed({ statistic: 'Sum' })],
        width: 12,
      }),
      new GraphWidget({
        title: 'Executed without approval (must stay 0), tool failures, approvals expired in the backlog',
        left: [withoutApproval.metric({ statistic: 'Sum' }), toolFailures.metric({ statistic: 'Sum' }), expired.metric({ statistic: 'Sum' })],
        width: 12,
      }),
    );
    // One widget per named query: the dashboard reads what `amk audit query` reads.
    for (const q of AUDIT_QUERIES.filter((x) => x.param === undefined)) {
      this.dashboard.addWidgets(
        new LogQueryWidget({ title: `${q.name}: ${q.description}`, logGroupNames: props.logGroups.map((g) => g.logGroupName), queryLines: renderQuery(q).split('\n').map((l) => l.replace(/^\| /, '')), width: 24 }),
      );
    }
  }
}
