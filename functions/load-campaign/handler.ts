/** Lambda: LoadCampaign — opens a run and describes its shards. */
import { StartRunInput } from '../../shared/app/contracts.ts';
import { loadCampaign } from '../../shared/app/campaign-run.ts';
import { defineStep } from '../../shared/adapters/lambda/step-handler.ts';

/** The step: `createHandler(deps)` for injected ports, `handler` for Lambda. */
export const { createHandler, handler } = defineStep('load-campaign', StartRunInput, loadCampaign);
