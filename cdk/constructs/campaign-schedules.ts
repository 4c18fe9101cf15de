/**
 * One EventBridge Scheduler schedule per campaign, starting a CampaignRun at the campaign's own
 * expression and time zone. The schedules come from the validated campaign files, so a campaign
 * added in git is scheduled by the next deploy and a broken one fails synth instead. The target is
 * the StartRun function, which names the execution after the run: Scheduler's own Step Functions
 * target cannot (the scheduled time's ':' is not allowed in an execution name), and a name is what
 * makes a double-fired schedule one execution.
 */
import { Duration, Stack, TimeZone, Validations } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { ContextAttribute, Schedule, ScheduleExpression, ScheduleTargetInput, TimeWindow } from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import type { Campaign } from '../../shared/domain/config.ts';
import { wildcardResourceFinding } from '../nag.ts';

/** Properties of {@link CampaignSchedules}. */
export interface CampaignSchedulesProps {
  /** The validated campaigns (from `loadAllCampaigns`). */
  readonly campaigns: ReadonlyArray<{ readonly campaign: Campaign }>;
  /** The function every schedule invokes (StartRun), which starts the CampaignRun. */
  readonly startRun: IFunction;
  /** The audit verifier, invoked once a day (06:30 UTC) with its scheduled time. @default - none */
  readonly verifier?: IFunction;
  /**
   * Attempts Scheduler makes when the invocation fails (throttling, transient errors).
   * @default 3
   */
  readonly retryAttempts?: number;
  /**
   * How long Scheduler keeps retrying one run before dropping it; a run started later than this
   * would plan on a stale clock.
   * @default Duration.hours(1)
   */
  readonly maxEventAge?: Duration;
}

/** A schedule per campaign, with a role that may only invoke StartRun. */
export class CampaignSchedules extends Construct {
  /** The schedules, by campaign id. */
  readonly schedules: ReadonlyMap<string, Schedule>;
  /** The role Scheduler assumes to invoke StartRun (and the verifier). */
  readonly role: Role;
  /** The daily audit verification, when there is a verifier. */
  readonly verification?: Schedule;

  constructor(scope: Construct, id: string, props: CampaignSchedulesProps) {
    super(scope, id);
    const ids = props.campaigns.map((c) => c.campaign.id);
    const duplicate = ids.find((cid, i) => ids.indexOf(cid) !== i);
    if (duplicate) throw new Error(`CampaignSchedules: props.campaigns has campaign id "${duplicate}" twice`);

    const stack = Stack.of(this);
    // Confused-deputy guard: only schedules of this account's default group may assume the role.
    this.role = new Role(this, 'Role', {
      description: 'Lets EventBridge Scheduler invoke StartRun',
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com', {
        conditions: {
          StringEquals: {
            'aws:SourceAccount': stack.account,
            'aws:SourceArn': stack.formatArn({ service: 'scheduler', resource: 'schedule-group', resourceName: 'default' }),
          },
        },
      }),
    });
    // (LambdaInvoke grants the role lambda:InvokeFunction on the function and its qualifiers.)

    const schedules = new Map<string, Schedule>();
    for (const { campaign } of props.campaigns) {
      const schedule = new Schedule(this, `Schedule-${campaign.id}`, {
        description: `Campaign run: ${campaign.name} (${campaign.id})`,
        schedule: ScheduleExpression.expression(campaign.schedule.expression, TimeZone.of(campaign.schedule.timezone)),
        // Runs plan against the scheduled time; spreading them would only blur the run's clock.
        timeWindow: TimeWindow.off(),
        target: new LambdaInvoke(props.startRun, {
          role: this.role,
          input: ScheduleTargetInput.fromObject({ campaignId: campaign.id, scheduledTime: ContextAttribute.scheduledTime }),
          retryAttempts: props.retryAttempts ?? 3,
          maxEventAge: props.maxEventAge ?? Duration.hours(1),
        }),
      });
      schedules.set(campaign.id, schedule);
    }
    this.schedules = schedules;
    if (props.verifier !== undefined) {
      // The audit trail against the published digests, daily: its scheduled time names the
      // verification, so a retried invocation records it once.
      this.verification = new Schedule(this, 'Schedule-audit-verification', {
        description: 'Audit verification: the audit trail against the signed run digests',
        schedule: ScheduleExpression.cron({ minute: '30', hour: '6' }),
        target: new LambdaInvoke(props.verifier, {
          role: this.role,
          input: ScheduleTargetInput.fromObject({ scheduledAt: ContextAttribute.scheduledTime }),
          retryAttempts: props.retryAttempts ?? 3,
          maxEventAge: Duration.hours(6),
        }),
      });
    }
    const policy = this.role.node.tryFindChild('DefaultPolicy');
    if (policy) {
      for (const fn of [props.startRun, ...(props.verifier ? [props.verifier] : [])]) {
        Validations.of(policy).acknowledge({
          id: wildcardResourceFinding(this, `${fn.functionArn}:*`),
          reason: 'LambdaInvoke grants lambda:InvokeFunction on the scheduled function and its versions/aliases (":*"); the wildcard covers qualifiers of that one function only.',
        });
      }
    }
  }
}
