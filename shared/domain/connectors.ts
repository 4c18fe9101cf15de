/**
 * Which connector carries each tool beyond email: a team's `config/connectors.yaml`. Email (and the
 * content recommendations it carries) always goes out through SES; every other tool a charter
 * allows needs a connector here, or `cdk synth` refuses the charter (never a refusal at send).
 * Secrets are named by their Secrets Manager ARN: the functions that act are granted exactly those
 * (GetSecretValue on each ARN), and nothing is stored in the template but the ARN.
 */
import * as z from 'zod';
import type { Tool } from './model.ts';

/** Tools carried by the email connector, which every stack deploys. */
export const EMAIL_TOOLS: readonly Tool[] = ['email', 'content_recommendation'];

/** A Secrets Manager secret's full ARN (with its six-character suffix, as the console shows it). */
const SecretArn = z
  .string()
  .regex(/^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/, 'expected the secret\'s full ARN, arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-SUFFIX');

/** An https URL (plain http only for 127.0.0.1 and localhost, where the local stand-ins listen). */
const HttpsUrl = z.string().refine(
  (value) => {
    try {
      const url = new URL(value);
      return url.protocol === 'https:' || (url.protocol === 'http:' && ['127.0.0.1', 'localhost'].includes(url.hostname));
    } catch {
      return false;
    }
  },
  { error: (issue) => `${JSON.stringify(issue.input)} is not an https:// URL` },
);

/** A generic webhook: a signed HTTPS POST per action (see shared/adapters/connectors/webhook.ts). */
export const WebhookConnectorConfig = z
  .object({
    kind: z.literal('webhook'),
    url: HttpsUrl,
    /** The HMAC key the receiver verifies `X-Amk-Signature` with. */
    secretArn: SecretArn,
    timeoutMs: z.number().int().min(100).max(30_000).default(5000),
  })
  .strict();

/** HubSpot CRM write-back: a task per action, associated with the contacts (CRM v3 API). */
export const HubSpotConnectorConfig = z
  .object({
    kind: z.literal('hubspot'),
    /** The private app's access token (scopes crm.objects.contacts.read and tasks). */
    tokenSecretArn: SecretArn,
    baseUrl: HttpsUrl.default('https://api.hubapi.com'),
    /** The owner every task is assigned to (hubspot_owner_id). */
    ownerId: z.string().regex(/^\d+$/, 'a HubSpot owner id (digits)').optional(),
  })
  .strict();

/** Salesforce write-back: a Task per action, upserted by its external id (REST API). */
export const SalesforceConnectorConfig = z
  .object({
    kind: z.literal('salesforce'),
    /**
     * `client_credentials` (the default): the secret holds a connected app's
     * `{ "clientId": "…", "clientSecret": "…" }` (OAuth 2.0 client credentials flow, run as its
     * integration user); a token per cold start, renewed once when Salesforce ends the session.
     * `access_token`: the secret holds a bare access token (it stops working when the session ends).
     */
    auth: z.enum(['client_credentials', 'access_token']).default('client_credentials'),
    tokenSecretArn: SecretArn,
    /** The org's My Domain URL, https://NAME.my.salesforce.com. */
    instanceUrl: HttpsUrl,
    apiVersion: z.string().regex(/^\d{2,3}\.0$/, 'a REST API version like 62.0').default('62.0'),
    /** The Task field (Text, External ID, Unique) the action id is written to. */
    externalIdField: z.string().regex(/^[A-Za-z][A-Za-z0-9_]*__c$/, 'a custom field API name ending in __c').default('Amk_Action_Id__c'),
  })
  .strict();

export const ConnectorConfig = z.discriminatedUnion('kind', [WebhookConnectorConfig, HubSpotConnectorConfig, SalesforceConnectorConfig]);
export type ConnectorConfig = z.infer<typeof ConnectorConfig>;

/** Tools a connector file may route (the email tools are SES's). */
const RoutableTool = z.enum(['sales_task', 'ad_audience', 'webhook']);

/** The connectors file: a connector per tool. */
export const Connectors = z
  .object({
    tools: z.partialRecord(RoutableTool, ConnectorConfig).default({}),
  })
  .strict()
  .superRefine((c, ctx) => {
    for (const [tool, connector] of Object.entries(c.tools)) {
      // A CRM writes sales tasks; an ad audience or a generic tool call needs the webhook.
      if (connector !== undefined && connector.kind !== 'webhook' && tool !== 'sales_task') {
        ctx.addIssue({ code: 'custom', path: ['tools', tool, 'kind'], message: `a ${connector.kind} connector writes sales tasks only; route ${tool} to a webhook` });
      }
    }
  });
export type Connectors = z.infer<typeof Connectors>;

/** No connector beyond email. */
export const NO_CONNECTORS: Connectors = { tools: {} };

/** Every tool the stack carries with these connectors. */
export function deployedTools(connectors: Connectors): Tool[] {
  return [...EMAIL_TOOLS, ...(Object.keys(connectors.tools) as Tool[])];
}

/** The secret ARNs the connectors read (what the acting functions are granted). */
export function connectorSecretArns(connectors: Connectors): string[] {
  const arns = Object.values(connectors.tools).map((c) => (c.kind === 'webhook' ? c.secretArn : c.tokenSecretArn));
  return [...new Set(arns)].sort();
}

/** The environment value the acting functions read their connectors from (JSON). */
export const connectorsEnvValue = (connectors: Connectors): string => JSON.stringify(connectors.tools);

/** Parses the environment value back (what the function was deployed with). */
export function connectorsFromEnv(value: string): Connectors {
  return Connectors.parse({ tools: JSON.parse(value) as unknown });
}
