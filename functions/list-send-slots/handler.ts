/** Lambda: ListSendSlots — the send slots a shard's deferred actions wait in. */
import { ListSendSlotsInput } from '../../shared/app/contracts.ts';
import { listSendSlots } from '../../shared/app/deferred-sends.ts';
import { defineStep } from '../../shared/adapters/lambda/step-handler.ts';

/** The step: `createHandler(deps)` for injected ports, `handler` for Lambda. */
export const { createHandler, handler } = defineStep('list-send-slots', ListSendSlotsInput, listSendSlots);
