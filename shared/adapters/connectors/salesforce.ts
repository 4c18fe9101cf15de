/**
 * The Salesforce connector: writes a `sales_task` action as a Task, through the REST API.
 *
 * - Write: an upsert on an external id field,
 *   `PATCH /services/data/v{apiVersion}/sobjects/Task/{externalIdField}/{actionId}`: a new record
 *   answers 201 `{ id, success, errors, created: true }`, an existing one 200 with
 *   `created: false` (API 46.0 and later; 204 without a body before). The action id is the
 *   external id, so a redelivered action updates its own Task instead of creating a second.
 *   https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_upsert.htm
 * - People: `GET /services/data/v{apiVersion}/query?q=SELECT Id, AccountId FROM Contact WHERE
 *   Email = '<escaped>' LIMIT 1`, answering `{ totalSize, done, records: [{ attributes, Id }] }`.
 *   The literal escapes `\` and `'` (and the control characters) with a backslash, per SOQL's
 *   quoted string escape sequences:
 *   https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_quotedstringescapes.htm
 * - Errors: a 401 is `[{ message, errorCode: 'INVALID_SESSION_ID' }]`; other refusals are 4xx
 *   with `[{ message, errorCode, fields }]`; 300 means the external id matched several records.
 *   https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm
 *
 * The org must have the external id field on Activity (Text, External ID, Unique), named by
 * `externalIdField`. WhoId is the first person found as a Contact; WhatId that Contact's Account,
 * unless one is given. Everyone named is in the Description; who was not found is in the
 * result's detail, by stakeholder id. The token is sent, never logged, and cut out of any error.
 */
import { InvalidConfigError, ToolRejectedError } from '../../domain/errors.ts';
import type { Action, Stakeholder } from '../../domain/model.ts';
import type { ToolAccount, ToolGateway, ToolResult } from '../../ports/index.ts';
import { HttpRefusedError, postJson, realSleep, requireHttpsUrl, salesTaskSummary, type FetchLike, type Sleep } from './http.ts';

/** Properties of SalesforceConnector. */
export interface SalesforceConnectorProps {
  /** The org's instance URL (`https://MyDomainName.my.salesforce.com`). */
  readonly instanceUrl: string;
  /**
   * How the connector authenticates (from Secrets Manager): a connected app's client credentials
   * (OAuth 2.0 client credentials flow: an access token per cold start, renewed once on a 401, as
   * Salesforce expires sessions), or a bare access token (tests, short-lived use).
   */
  readonly credentials: { readonly clientId: string; readonly clientSecret: string } | { readonly accessToken: string };
  /** REST API version. @default '62.0' */
  readonly apiVersion?: string;
  /** The Task's external id field the action id is written to. @default 'Amk_Action_Id__c' */
  readonly externalIdField?: string;
  /** @default the global fetch */
  readonly fetch?: FetchLike;
  /** Limit of each attempt. @default 5000 */
  readonly timeoutMs?: number;
  /** Attempts after the first (the upsert is idempotent, so it is retried too). @default 3 */
  readonly retries?: number;
  /** @default a real timer */
  readonly sleep?: Sleep;
  /** ISO time now: the due date counts from it (or from the action's notBefore, if later). @default the system clock */
  readonly clock?: () => string;
  /** Days from now to the Task's ActivityDate. @default 1 */
  readonly dueAfterDays?: number;
  /** The record the Task is about (WhatId) for an account. @default the first Contact's AccountId */
  readonly whatIdFor?: (account: ToolAccount) => string | undefined;
}

const SOQL_ESCAPES: Readonly<Record<string, string>> = {
  '\\': '\\\\',
  "'": "\\'",
  '"': '\\"',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\b': '\\b',
  '\f': '\\f',
};

/** A string as a SOQL quoted literal: `'` and `\` (and control characters) backslash-escaped. */
export function soqlQuote(value: string): string {
  return `'${value.replace(/[\\'"\n\r\t\b\f]/g, (c) => SOQL_ESCAPES[c] ?? c)}'`;
}

/** The SOQL that finds a Contact by email (pure). */
export function contactByEmailSoql(email: string): string {
  return `SELECT Id, AccountId FROM Contact WHERE Email = ${soqlQuote(email)} LIMIT 1`;
}

/** The Task fields of an action (pure): what the upsert writes. */
export function salesforceTaskFields(
  action: Action,
  stakeholders: readonly Stakeholder[],
  account: ToolAccount,
  activityDate: string,
  whoId: string | undefined,
  whatId: string | undefined,
): Record<string, string> {
  const summary = salesTaskSummary(action, stakeholders, account);
  return {
    Subject: summary.subject,
    Description: summary.body,
    Status: 'Not Started',
    Priority: action.type === 'sales_handoff' || action.type === 'reference_call_offer' ? 'High' : 'Normal',
    ActivityDate: activityDate,
    ...(whoId !== undefined ? { WhoId: whoId } : {}),
    ...(whatId !== undefined ? { WhatId: whatId } : {}),
  };
}

const API_VERSION = /^[0-9]{2,3}\.0$/;
const FIELD_NAME = /^[A-Za-z][A-Za-z0-9_]{0,79}$/;

/** A ToolGateway that upserts sales tasks into Salesforce, one Task per action. */
export class SalesforceConnector implements ToolGateway {
  private readonly origin: string;
  private readonly dataUrl: string;
  private readonly credentials: SalesforceConnectorProps['credentials'];
  /** The access token in use (client credentials: fetched on first use, renewed on a 401). */
  private token: Promise<string> | undefined;
  private readonly externalIdField: string;
  private readonly fetch: FetchLike;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly sleep: Sleep;
  private readonly clock: () => string;
  private readonly dueAfterDays: number;
  private readonly whatIdFor: ((account: ToolAccount) => string | undefined) | undefined;

  constructor(props: SalesforceConnectorProps) {
    const owner = 'SalesforceConnector';
    const origin = requireHttpsUrl(props.instanceUrl, owner, 'instanceUrl').origin;
    const apiVersion = props.apiVersion ?? '62.0';
    if (!API_VERSION.test(apiVersion)) throw new InvalidConfigError(owner, [{ path: 'apiVersion', message: `must look like '62.0', got '${apiVersion}'` }]);
    this.externalIdField = props.externalIdField ?? 'Amk_Action_Id__c';
    if (!FIELD_NAME.test(this.externalIdField)) throw new InvalidConfigError(owner, [{ path: 'externalIdField', message: 'must be a field API name' }]);
    const c = props.credentials;
    if ('accessToken' in c ? c.accessToken.trim() === '' : c.clientId.trim() === '' || c.clientSecret.trim() === '') {
      throw new InvalidConfigError(owner, [{ path: 'credentials', message: 'must not be empty' }]);
    }
    this.origin = origin;
    this.dataUrl = `${origin}/services/data/v${apiVersion}`;
    this.credentials = c;
    if ('accessToken' in c) this.token = Promise.resolve(c.accessToken);
    this.timeoutMs = props.timeoutMs ?? 5000;
    this.retries = props.retries ?? 3;
    if (!(this.timeoutMs > 0)) throw new InvalidConfigError(owner, [{ path: 'timeoutMs', message: 'must be positive' }]);
    if (!Number.isInteger(this.retries) || this.retries < 0) throw new InvalidConfigError(owner, [{ path: 'retries', message: 'must be a non-negative integer' }]);
    this.dueAfterDays = props.dueAfterDays ?? 1;
    if (!Number.isInteger(this.dueAfterDays) || this.dueAfterDays < 0) throw new InvalidConfigError(owner, [{ path: 'dueAfterDays', message: 'must be a non-negative integer' }]);
    this.fetch = props.fetch ?? ((url, init) => fetch(url, init));
    this.sleep = props.sleep ?? realSleep;
    this.clock = props.clock ?? (() => new Date().toISOString());
    this.whatIdFor = props.whatIdFor;
  }

  /** The secrets no message may hold. */
  private secrets(token?: string): string[] {
    const c = this.credentials;
    return ['accessToken' in c ? c.accessToken : c.clientSecret, ...(token !== undefined ? [token] : [])];
  }

  /** The access token: the given one, or one from the client credentials flow (POST /services/oauth2/token). */
  private accessToken(): Promise<string> {
    const c = this.credentials;
    if ('accessToken' in c) return Promise.resolve(c.accessToken);
    this.token ??= (async () => {
      const answer = await postJson({
        url: `${this.origin}/services/oauth2/token`,
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
        body: new URLSearchParams({ grant_type: 'client_credentials', client_id: c.clientId, client_secret: c.clientSecret }).toString(),
        timeoutMs: this.timeoutMs,
        retries: this.retries,
        sleep: this.sleep,
        fetch: this.fetch,
        service: 'Salesforce OAuth',
        secrets: this.secrets(),
      });
      const token = (answer.json as { access_token?: unknown } | undefined)?.access_token;
      if (typeof token !== 'string' || token === '') throw new ToolRejectedError('Salesforce OAuth answered without an access_token');
      return token;
    })();
    // A failed request is tried again by the next call, not remembered.
    this.token.catch(() => (this.token = undefined));
    return this.token;
  }

  private async call(method: 'GET' | 'PATCH', url: string, body?: unknown): Promise<Awaited<ReturnType<typeof postJson>>> {
    const send = async () => {
      const token = await this.accessToken();
      return postJson({
        url,
        method,
        headers: { Authorization: `Bearer ${token}`, Accept: 'application/json', ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
        body,
        timeoutMs: this.timeoutMs,
        retries: this.retries,
        sleep: this.sleep,
        fetch: this.fetch,
        service: 'Salesforce',
        secrets: this.secrets(token),
      });
    };
    try {
      return await send();
    } catch (err) {
      // The session expired (Salesforce ends them after the org's timeout): a new token, once.
      if (err instanceof HttpRefusedError && err.status === 401 && !('accessToken' in this.credentials)) {
        this.token = undefined;
        return send();
      }
      throw err;
    }
  }

  private async contact(email: string): Promise<{ id: string; accountId?: string } | undefined> {
    const answer = await this.call('GET', `${this.dataUrl}/query?q=${encodeURIComponent(contactByEmailSoql(email))}`);
    const records = (answer.json as { records?: unknown } | undefined)?.records;
    if (!Array.isArray(records)) throw new ToolRejectedError('Salesforce query answered without a records array');
    const first = records[0] as { Id?: unknown; AccountId?: unknown } | undefined;
    if (typeof first?.Id !== 'string') return undefined;
    return { id: first.Id, ...(typeof first.AccountId === 'string' ? { accountId: first.AccountId } : {}) };
  }

  async execute(action: Action, stakeholders: Stakeholder[], account: ToolAccount): Promise<ToolResult> {
    if (action.tool !== 'sales_task') throw new ToolRejectedError(`The Salesforce connector writes sales tasks, not tool "${action.tool}" (action ${action.id})`);
    let who: { id: string; accountId?: string } | undefined;
    const missing: string[] = [];
    for (const person of stakeholders) {
      const found = await this.contact(person.email);
      if (found === undefined) missing.push(person.id);
      else who ??= found;
    }
    const nowMs = Date.parse(this.clock());
    const notBeforeMs = action.notBefore !== undefined ? Date.parse(action.notBefore) : Number.NaN;
    const activityDate = new Date(Math.max(nowMs, Number.isNaN(notBeforeMs) ? nowMs : notBeforeMs) + this.dueAfterDays * 86_400_000).toISOString().slice(0, 10);
    const whatId = this.whatIdFor !== undefined ? this.whatIdFor(account) : who?.accountId;
    const fields = salesforceTaskFields(action, stakeholders, account, activityDate, who?.id, whatId);
    const url = `${this.dataUrl}/sobjects/Task/${this.externalIdField}/${encodeURIComponent(action.id)}`;
    const answer = await this.call('PATCH', url, fields);
    const result = answer.json as { id?: unknown; success?: unknown; errors?: unknown; created?: unknown } | undefined;
    if (result !== undefined && result.success === false) throw new ToolRejectedError(`Salesforce did not upsert the Task of action ${action.id}: ${JSON.stringify(result.errors ?? []).slice(0, 200)}`);
    // 204 (API 45.0 and earlier) has no body: the external id is then the only handle there is.
    const externalId = typeof result?.id === 'string' ? result.id : action.id;
    const created = answer.status === 201 || result?.created === true;
    const detail = [
      created ? 'Task created' : 'Task already in Salesforce (upsert by external id); updated, not created again',
      who === undefined ? 'no Contact found: WhoId not set' : `WhoId ${who.id}`,
      ...(missing.length > 0 ? [`not in Salesforce: ${missing.join(', ')}`] : []),
    ].join('; ');
    return { ok: true, externalId, detail };
  }
}
