/**
 * The deployed tool gateway: each action goes to the connector of its tool — email (and content
 * recommendations) through SES, the rest through the connectors of `config/connectors.yaml`
 * (webhook, HubSpot, Salesforce). A connector's secret is read from Secrets Manager the first time
 * its tool is used (once per cold start), so a missing secret fails only the actions that need it.
 * A tool without a connector is refused at synth; should a call still arrive, ToolRejectedError.
 */
import * as z from 'zod';
import type { Connectors, ConnectorConfig } from '../../domain/connectors.ts';
import { EMAIL_TOOLS } from '../../domain/connectors.ts';
import { InvalidConfigError, ToolRejectedError } from '../../domain/errors.ts';
import type { Tool } from '../../domain/model.ts';
import type { ToolGateway } from '../../ports/index.ts';
import type { FetchLike } from './http.ts';
import { HubSpotConnector } from './hubspot.ts';
import { SalesforceConnector } from './salesforce.ts';
import { WebhookConnector } from './webhook.ts';

/** Secrets Manager errors that say the secret cannot be had (as opposed to "try again"). */
const UNREADABLE_SECRET = ['ResourceNotFoundException', 'AccessDeniedException', 'DecryptionFailure', 'InvalidRequestException', 'InvalidParameterException'];

/** What a Salesforce secret holds for the client credentials flow. */
const ClientCredentials = z.object({ clientId: z.string().min(1), clientSecret: z.string().min(1) });

/** Attempts after the first inside one tool call (the rest is the workflow's Retry). */
export const IN_CALL_RETRIES = 1;

/** What the router needs besides the connector settings. */
export interface ConnectorRuntime {
  /** Reads a secret's string value by ARN (Secrets Manager). */
  readonly secretOf: (arn: string) => Promise<string>;
  /** ISO time now. */
  readonly clock: () => string;
  /** @default the global fetch */
  readonly fetch?: FetchLike;
}

/** One configured connector, as a ToolGateway for its tool. */
function connectorOf(tool: Tool, config: ConnectorConfig, secret: string, runtime: ConnectorRuntime): ToolGateway {
  // One retry inside the call: the acting Lambda has 30 seconds for a page of actions, and the
  // workflow retries a ToolFailedError with backoff (the at-most-once record replays what went out).
  const common = { clock: runtime.clock, retries: IN_CALL_RETRIES, ...(runtime.fetch ? { fetch: runtime.fetch } : {}) };
  switch (config.kind) {
    case 'webhook':
      return new WebhookConnector({ url: config.url, secret, timeoutMs: config.timeoutMs, tools: [tool], ...common });
    case 'hubspot':
      return new HubSpotConnector({ token: secret, baseUrl: config.baseUrl, ...(config.ownerId ? { ownerId: config.ownerId } : {}), ...common });
    case 'salesforce': {
      let credentials: { clientId: string; clientSecret: string } | { accessToken: string } = { accessToken: secret };
      if (config.auth === 'client_credentials') {
        let parsed: ReturnType<typeof ClientCredentials.safeParse>;
        try {
          parsed = ClientCredentials.safeParse(JSON.parse(secret));
        } catch {
          parsed = ClientCredentials.safeParse(undefined);
        }
        // Never the value in the message: only what the secret should hold.
        if (!parsed.success) throw new ToolRejectedError(`The salesforce connector's secret ${config.tokenSecretArn} is not { "clientId": "…", "clientSecret": "…" } (auth: client_credentials); store the connected app's credentials there, or set auth: access_token`);
        credentials = parsed.data;
      }
      return new SalesforceConnector({ credentials, instanceUrl: config.instanceUrl, apiVersion: config.apiVersion, externalIdField: config.externalIdField, ...common });
    }
  }
}

/** Routes each action to its tool's connector. */
export function routedToolGateway(email: ToolGateway, connectors: Connectors, runtime: ConnectorRuntime): ToolGateway {
  const built = new Map<Tool, Promise<ToolGateway>>();
  const gatewayOf = (tool: Tool): Promise<ToolGateway> | undefined => {
    if (EMAIL_TOOLS.includes(tool)) return Promise.resolve(email);
    const config = connectors.tools[tool as keyof Connectors['tools']];
    if (config === undefined) return undefined;
    let gateway = built.get(tool);
    if (gateway === undefined) {
      const secretArn = config.kind === 'webhook' ? config.secretArn : config.tokenSecretArn;
      gateway = runtime.secretOf(secretArn).then(
        (secret) => connectorOf(tool, config, secret, runtime),
        (err: unknown) => {
          // A secret that is not there (or not readable, or empty) is a configuration mistake: the
          // action is a recorded failure, not a retry storm. Anything else (throttling) is retried.
          const name = err instanceof Error ? err.name : '';
          if (err instanceof InvalidConfigError || UNREADABLE_SECRET.includes(name)) {
            throw new ToolRejectedError(`The ${config.kind} connector of ${tool} cannot read its secret ${secretArn} (${name}): create it, or fix the ARN in connectors.yaml`);
          }
          throw err;
        },
      );
      // A failed read is tried again by the next call (the step's retry), not remembered.
      gateway.catch(() => built.delete(tool));
      built.set(tool, gateway);
    }
    return gateway;
  };
  return {
    execute: async (action, stakeholders, account) => {
      const gateway = gatewayOf(action.tool);
      if (gateway === undefined) throw new ToolRejectedError(`No connector for tool "${action.tool}" is deployed`);
      return (await gateway).execute(action, stakeholders, account);
    },
  };
}
