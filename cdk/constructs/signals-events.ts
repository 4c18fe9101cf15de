/**
 * Signals that arrive as events, on the account's default EventBridge bus:
 * - batches any system in the account puts there (source `amk.signals`, detail-type
 *   `Pipeline Signals`) go to signals-events;
 * - the events of prospect emails: the tools send through this construct's SES configuration set,
 *   whose event destination publishes deliveries, opens, clicks, bounces and complaints to the
 *   default bus (the only bus SES publishes to), and a rule matching that configuration set sends
 *   them to ses-events.
 * EventBridge and Lambda's asynchronous invocation deliver at least once: both functions store
 * each signal once, whatever arrives twice.
 */
import { CfnOutput, Duration } from 'aws-cdk-lib';
import { EventBus, Rule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { ConfigurationSet, EmailSendingEvent, EventDestination, SuppressionReasons } from 'aws-cdk-lib/aws-ses';
import { Construct } from 'constructs';
import { SIGNALS_EVENT_DETAIL_TYPE, SIGNALS_EVENT_SOURCE } from '../../shared/domain/signals-batch.ts';
import { SES_CONFIGURATION_SET_TAG, SES_EVENT_DETAIL_TYPES, SES_EVENT_SOURCE } from '../../shared/domain/signals-ses.ts';

/** Properties of {@link SignalEvents}. */
export interface SignalEventsProps {
  /** The function that stores batches of signals put on the bus (signals-events). */
  readonly signalEvents: IFunction;
  /** The function that turns SES email events into signals (ses-events). */
  readonly sesEvents: IFunction;
}

/** The configuration set of prospect emails, its event destination, and the two rules. */
export class SignalEvents extends Construct {
  /** The configuration set the tools' emails are sent through. */
  readonly configurationSet: ConfigurationSet;
  /** Batches of signals put on the default bus -> signals-events. */
  readonly signalsRule: Rule;
  /** SES events of the configuration set's emails -> ses-events. */
  readonly sesRule: Rule;

  constructor(scope: Construct, id: string, props: SignalEventsProps) {
    super(scope, id);
    this.configurationSet = new ConfigurationSet(this, 'ProspectEmails', {
      // SES itself stops sending to an address that bounced or complained (account suppression
      // list), besides the stakeholder's do-not-contact: a second line of defence.
      suppressionReasons: SuppressionReasons.BOUNCES_AND_COMPLAINTS,
    });
    const defaultBus = EventBus.fromEventBusName(this, 'DefaultBus', 'default');
    this.configurationSet.addEventDestination('ToEventBridge', {
      destination: EventDestination.eventBus(defaultBus),
      events: [EmailSendingEvent.DELIVERY, EmailSendingEvent.OPEN, EmailSendingEvent.CLICK, EmailSendingEvent.BOUNCE, EmailSendingEvent.COMPLAINT],
    });
    new CfnOutput(this, 'ConfigurationSetName', { value: this.configurationSet.configurationSetName, description: 'SES configuration set of prospect emails (publishes their events to EventBridge)' }).overrideLogicalId('ProspectEmailsConfigurationSet');

    // A day of retries on the way to the function; the function stores idempotently, so a retried
    // delivery is harmless.
    const target = (fn: IFunction) => new LambdaFunction(fn, { retryAttempts: 8, maxEventAge: Duration.hours(24) });
    this.signalsRule = new Rule(this, 'SignalsRule', {
      description: 'Pipeline signals put on the default bus -> signals-events',
      eventPattern: { source: [SIGNALS_EVENT_SOURCE], detailType: [SIGNALS_EVENT_DETAIL_TYPE] },
      targets: [target(props.signalEvents)],
    });
    this.sesRule = new Rule(this, 'SesEventsRule', {
      description: 'SES events of prospect emails (the configuration set) -> ses-events',
      eventPattern: {
        source: [SES_EVENT_SOURCE],
        detailType: Object.values(SES_EVENT_DETAIL_TYPES),
        // Only this stack's emails: another stack's (or another tool's) events are not ours.
        detail: { mail: { tags: { [SES_CONFIGURATION_SET_TAG]: [this.configurationSet.configurationSetName] } } },
      },
      targets: [target(props.sesEvents)],
    });
  }
}
