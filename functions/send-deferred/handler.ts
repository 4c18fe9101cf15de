/** Lambda: SendDeferred — sends a page of a send slot's deferred actions at the slot's time (once each). */
import { SendDeferredInput } from '../../shared/app/contracts.ts';
import { sendDeferred } from '../../shared/app/deferred-sends.ts';
import { defineStep } from '../../shared/adapters/lambda/step-handler.ts';

/** The step: `createHandler(deps)` for injected ports, `handler` for Lambda. */
export const { createHandler, handler } = defineStep('send-deferred', SendDeferredInput, sendDeferred);
