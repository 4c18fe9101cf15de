/**
 * How a port reaches a Lambda: the environment variable that carries its resource. The CDK
 * construct sets exactly these (with the matching grants) and the composition root requires exactly
 * these, both from the step's declaration (shared/app/steps.ts).
 */
import { TABLES } from '../dynamodb/tables.ts';
import { flagPortsOf, tablePortsOf, type FlagPort, type StepPorts } from '../../app/steps.ts';

/** Environment variable(s) of each flag port (undefined: the port needs none). */
export const FLAG_PORT_ENV: Readonly<Record<FlagPort, string | readonly string[] | undefined>> = {
  config: 'CAMPAIGNS_FILE',
  seed: 'PLANNER_SEED',
  idempotent: TABLES.idempotency.envVar,
  // The sender, and who sends from where (the postal address every marketing email carries).
  tools: ['MAIL_FROM', 'SENDER_NAME', 'SENDER_POSTAL_ADDRESS', 'CONNECTORS'],
  mailer: 'MAIL_FROM',
  callback: undefined,
  signingKey: 'SIGNING_KEY_SECRET_ARN',
  approvalBaseUrl: 'APPROVAL_BASE_URL',
  starter: 'CAMPAIGN_RUN_ARN',
  digests: ['AUDIT_DIGEST_KEY_ARN', 'AUDIT_DIGEST_BUCKET'],
  digestReader: ['AUDIT_DIGEST_KEY_ARN', 'AUDIT_DIGEST_BUCKET'],
  signalsKey: 'SIGNALS_KEY_SECRET_ARN',
  // The ledger's claims live on the accounts table, next to the signals they stand for.
  signalLedger: TABLES.accounts.envVar,
  // Replay records of signed requests sit with the other at-most-once records (TTL'd).
  replayGuard: TABLES.idempotency.envVar,
  emailEvents: 'SES_CONFIGURATION_SET',
};

/** The environment variables a declaration needs, each with the port that needs it. */
export function portEnvOf(ports: StepPorts): Map<string, string> {
  const vars = new Map<string, string>();
  for (const [port] of tablePortsOf(ports)) vars.set(TABLES[port].envVar, port);
  for (const port of flagPortsOf(ports)) {
    const names = FLAG_PORT_ENV[port];
    for (const name of names === undefined ? [] : typeof names === 'string' ? [names] : names) if (!vars.has(name)) vars.set(name, port);
  }
  return vars;
}
