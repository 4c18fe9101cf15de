/** Lambda (EventBridge Scheduler, daily): verifies the audit trail against the published run digests. */
import { VerifyInput, verifyAuditTrail } from '../../shared/app/audit-verification.ts';
import { defineStep } from '../../shared/adapters/lambda/step-handler.ts';

/** The step: `createHandler(deps)` for injected ports, `handler` for Lambda. */
export const { createHandler, handler } = defineStep('audit-verify', VerifyInput, async (deps, input) => {
  const outcome = await verifyAuditTrail(deps, input);
  // The record (and its log line) holds the findings; the result is for whoever invoked it by hand.
  return { since: outcome.since, digests: outcome.digests, validDigests: outcome.validDigests, streams: outcome.streams, events: outcome.events, findings: outcome.findings.length };
});
