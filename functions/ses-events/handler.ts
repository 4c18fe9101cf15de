/** Lambda (EventBridge rule): SES's events of prospect emails (delivery, open, click, bounce, complaint) as signals. */
import { EventBridgeEvent, ingestSesEvent } from '../../shared/app/signals-events.ts';
import { defineStep } from '../../shared/adapters/lambda/step-handler.ts';

/** The step: `createHandler(deps)` for injected ports, `handler` for Lambda. */
export const { createHandler, handler } = defineStep('ses-events', EventBridgeEvent, async (deps, event) => {
  const outcome = await ingestSesEvent(deps, event);
  // Nobody reads an asynchronous invocation's result: an event it could not read goes to the log.
  if ('ignored' in outcome && outcome.ignored === 'not_an_ses_email_event') console.error(JSON.stringify({ level: 'WARN', message: 'not an SES email event', eventId: event.id, detailType: event['detail-type'] }));
  return outcome;
});
