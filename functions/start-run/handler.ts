/** Lambda: StartRun — the schedule's target; starts the CampaignRun execution named after its run. */
import { ScheduledRunInput } from '../../shared/app/contracts.ts';
import { startScheduledRun } from '../../shared/app/campaign-run.ts';
import { defineStep } from '../../shared/adapters/lambda/step-handler.ts';

/** The step: `createHandler(deps)` for injected ports, `handler` for Lambda. */
export const { createHandler, handler } = defineStep('start-run', ScheduledRunInput, startScheduledRun);
