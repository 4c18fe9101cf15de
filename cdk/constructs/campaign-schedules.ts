/**
 * One EventBridge Scheduler schedule per campaign, starting a CampaignRun at the campaign's own
 * expression and time zone. The schedules come from the validated campaign files, so a campaign
 * added in git is scheduled by the next deploy and a broken one fails synth instead.
 */
import { Duration, Stack, TimeZone } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { ContextAttribute, Schedule, ScheduleExpression, ScheduleTargetInput, TimeWindow } from 'aws-cdk-lib/aws-scheduler';
import { StepFunctionsStartExecution } from 'aws-cdk-lib/aws-scheduler-targets';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { Campaign } from '../../shared/domain/config.ts';

/** Properties of {@link CampaignSchedules}. */
export interface CampaignSchedulesProps {
  /** The validated campaigns (from `loadAllCampaigns`). */
  readonly campaigns: ReadonlyArray<{ readonly campaign: Campaign }>;
  /** The state machine every schedule starts (CampaignRun). */
  readonly stateMachine: IStateMachine;
  /**
   * Attempts Scheduler makes when StartExecution fails (throttling, transient errors).
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

/** A schedule per campaign, with a role that may only start the CampaignRun state machine. */
export class CampaignSchedules extends Construct {
  /** The schedules, by campaign id. */
  readonly schedules: ReadonlyMap<string, Schedule>;
  /** The role Scheduler assumes to start executions. */
  readonly role: Role;

  constructor(scope: Construct, id: string, props: CampaignSchedulesProps) {
    super(scope, id);
    const ids = props.campaigns.map((c) => c.campaign.id);
    const duplicate = ids.find((cid, i) => ids.indexOf(cid) !== i);
    if (duplicate) throw new Error(`CampaignSchedules: props.campaigns has campaign id "${duplicate}" twice`);

    const stack = Stack.of(this);
    // Confused-deputy guard: only schedules of this account's default group may assume the role.
    this.role = new Role(this, 'Role', {
      description: 'Lets EventBridge Scheduler start CampaignRun executions',
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com', {
        conditions: {
          StringEquals: {
            'aws:SourceAccount': stack.account,
            'aws:SourceArn': stack.formatArn({ service: 'scheduler', resource: 'schedule-group', resourceName: 'default' }),
          },
        },
      }),
    });
    props.stateMachine.grantStartExecution(this.role);

    const schedules = new Map<string, Schedule>();
    for (const { campaign } of props.campaigns) {
      const schedule = new Schedule(this, `Schedule-${campaign.id}`, {
        description: `Campaign run: ${campaign.name} (${campaign.id})`,
        schedule: ScheduleExpression.expression(campaign.schedule.expression, TimeZone.of(campaign.schedule.timezone)),
        // Runs plan against the scheduled time; spreading them would only blur the run's clock.
        timeWindow: TimeWindow.off(),
        target: new StepFunctionsStartExecution(props.stateMachine, {
          role: this.role,
          input: ScheduleTargetInput.fromObject({ campaignId: campaign.id, scheduledTime: ContextAttribute.scheduledTime }),
          retryAttempts: props.retryAttempts ?? 3,
          maxEventAge: props.maxEventAge ?? Duration.hours(1),
        }),
      });
      schedules.set(campaign.id, schedule);
    }
    this.schedules = schedules;
  }
}
