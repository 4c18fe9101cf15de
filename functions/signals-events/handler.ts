/** Lambda (EventBridge rule): batches of signals put on the default bus (source amk.signals, detail-type Pipeline Signals). */
import { EventBridgeEvent, ingestSignalEvent } from '../../shared/app/signals-events.ts';
import { defineStep } from '../../shared/adapters/lambda/step-handler.ts';

/** The step: `createHandler(deps)` for injected ports, `handler` for Lambda. */
export const { createHandler, handler } = defineStep('signals-events', EventBridgeEvent, ingestSignalEvent);
