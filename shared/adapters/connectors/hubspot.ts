/**
 * The HubSpot connector: writes a `sales_task` action as a HubSpot task, through the CRM v3 API.
 *
 * - Create: `POST /crm/v3/objects/tasks` with `properties` (hs_timestamp, which is required and is
 *   the due date; hs_task_subject, hs_task_body, hs_task_status NOT_STARTED, hs_task_priority
 *   LOW/MEDIUM/HIGH, hs_task_type EMAIL/CALL/TODO) and `associations` to contacts, each
 *   `{ to: { id }, types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 204 }] }`
 *   (204: task to contact). Answers 201 with the task's `id`.
 *   https://developers.hubspot.com/docs/api/crm/tasks
 * - Find: `POST /crm/v3/objects/{contacts|tasks}/search` with `filterGroups[].filters[]`
 *   `{ propertyName, operator, value }`; answers `{ total, results: [{ id, properties }] }`.
 *   https://developers.hubspot.com/docs/api/crm/search
 * - Auth: `Authorization: Bearer <private app or OAuth token>`; errors are
 *   `{ status: 'error', message, correlationId, category }`.
 *   https://developers.hubspot.com/docs/faq/api-error-responses
 *
 * Why the duplicate check searches the subject. HubSpot has no idempotency key on create, and
 * unique-value properties (which would make a second create fail) exist for contacts, companies,
 * deals, tickets and custom objects, not for tasks
 * (https://developers.hubspot.com/changelog/unique-properties-for-contacts). So the subject ends
 * with a marker derived from the action id, `[ref amk<24 hex>]` (`amk` and the sha256 of the
 * action id: one alphanumeric token, which any tokenizer keeps whole), and before creating, the
 * connector searches tasks with `hs_task_subject CONTAINS_TOKEN <marker>`; a task found is the
 * action's, and is returned instead of creating a second. This needs no custom property set up
 * in the portal. Its limit, documented by HubSpot: search results lag writes by a few seconds, so
 * a create that timed out is not retried in-process (it may have landed); it surfaces as
 * ToolFailedError, and the step's retry, seconds later, searches again before creating. A seller
 * who edits the marker out of the subject disables the check for that task.
 *
 * People are found by email (`email EQ`); one who is not in HubSpot is not associated, and the
 * result's detail says so (by stakeholder id, never by email). The token is sent, never logged,
 * and cut out of any error message.
 */
import { createHash } from 'node:crypto';
import { InvalidConfigError, ToolFailedError, ToolRejectedError } from '../../domain/errors.ts';
import type { Action, ActionType, Stakeholder } from '../../domain/model.ts';
import type { ToolAccount, ToolGateway, ToolResult } from '../../ports/index.ts';
import { postJson, realSleep, requireHttpsUrl, salesTaskSummary, type FetchLike, type HttpCall, type Sleep } from './http.ts';

/** HubSpot's default association type of a task to a contact. */
export const TASK_TO_CONTACT_ASSOCIATION_TYPE_ID = 204;

/** HubSpot's task priorities and types the connector writes. */
export type HubSpotTaskPriority = 'LOW' | 'MEDIUM' | 'HIGH';
export type HubSpotTaskType = 'EMAIL' | 'CALL' | 'TODO';

/** Properties of HubSpotConnector. */
export interface HubSpotConnectorProps {
  /** A private app or OAuth access token with the tasks and contacts scopes (from Secrets Manager). */
  readonly token: string;
  /** @default 'https://api.hubapi.com' */
  readonly baseUrl?: string;
  /** @default the global fetch */
  readonly fetch?: FetchLike;
  /** Limit of each attempt. @default 5000 */
  readonly timeoutMs?: number;
  /** Attempts after the first, for the searches (the create is retried by the step, see above). @default 3 */
  readonly retries?: number;
  /** @default a real timer */
  readonly sleep?: Sleep;
  /** ISO time now: the due date counts from it (or from the action's notBefore, if later). @default the system clock */
  readonly clock?: () => string;
  /** Hours from now to the task's due date (hs_timestamp). @default 24 */
  readonly dueAfterHours?: number;
  /** The HubSpot owner assigned every task (hubspot_owner_id). @default none: HubSpot's default */
  readonly ownerId?: string;
}

/** The marker that ends the subject of the action's task: `amk` and 24 hex of sha256(action id). */
export function hubSpotTaskMarker(actionId: string): string {
  return `amk${createHash('sha256').update(actionId, 'utf8').digest('hex').slice(0, 24)}`;
}

/** The task priority of an action type: hand-offs and reference calls first. */
export function hubSpotPriority(type: ActionType): HubSpotTaskPriority {
  return type === 'sales_handoff' || type === 'reference_call_offer' ? 'HIGH' : 'MEDIUM';
}

/** The task type of an action type. */
export function hubSpotTaskType(type: ActionType): HubSpotTaskType {
  if (type === 'sdr_call' || type === 'reference_call_offer') return 'CALL';
  if (type === 'sdr_email') return 'EMAIL';
  return 'TODO';
}

/** The body of the create-task request (pure): properties and the contact associations. */
export function hubSpotTaskInput(
  action: Action,
  stakeholders: readonly Stakeholder[],
  account: ToolAccount,
  contactIds: readonly string[],
  due: string,
  ownerId?: string,
): { properties: Record<string, string>; associations: Array<{ to: { id: string }; types: Array<{ associationCategory: 'HUBSPOT_DEFINED'; associationTypeId: number }> }> } {
  const summary = salesTaskSummary(action, stakeholders, account, ` [ref ${hubSpotTaskMarker(action.id)}]`);
  return {
    properties: {
      hs_timestamp: due,
      hs_task_subject: summary.subject,
      hs_task_body: summary.body,
      hs_task_status: 'NOT_STARTED',
      hs_task_priority: hubSpotPriority(action.type),
      hs_task_type: hubSpotTaskType(action.type),
      ...(ownerId !== undefined ? { hubspot_owner_id: ownerId } : {}),
    },
    associations: contactIds.map((id) => ({ to: { id }, types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: TASK_TO_CONTACT_ASSOCIATION_TYPE_ID }] })),
  };
}

interface SearchResult {
  readonly id: string;
  readonly properties: Readonly<Record<string, string | null | undefined>>;
}

/** The `results` of a search answer, with the shape checked (an unexpected answer is a refusal, not a crash). */
function searchResults(json: unknown, what: string): SearchResult[] {
  const results = (json as { results?: unknown } | undefined)?.results;
  if (!Array.isArray(results)) throw new ToolRejectedError(`HubSpot ${what} search answered without a results array`);
  return results.flatMap((r: unknown) => {
    const id = (r as { id?: unknown } | null)?.id;
    const properties = (r as { properties?: unknown } | null)?.properties;
    return typeof id === 'string' ? [{ id, properties: typeof properties === 'object' && properties !== null ? (properties as SearchResult['properties']) : {} }] : [];
  });
}

/** A ToolGateway that writes sales tasks to HubSpot, once per action. */
export class HubSpotConnector implements ToolGateway {
  private readonly baseUrl: string;
  private readonly token: string;
  private readonly fetch: FetchLike;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly sleep: Sleep;
  private readonly clock: () => string;
  private readonly dueAfterHours: number;
  private readonly ownerId: string | undefined;

  constructor(props: HubSpotConnectorProps) {
    this.baseUrl = requireHttpsUrl(props.baseUrl ?? 'https://api.hubapi.com', 'HubSpotConnector', 'baseUrl').origin;
    if (props.token.trim() === '') throw new InvalidConfigError('HubSpotConnector', [{ path: 'token', message: 'must not be empty' }]);
    this.token = props.token;
    this.timeoutMs = props.timeoutMs ?? 5000;
    this.retries = props.retries ?? 3;
    if (!(this.timeoutMs > 0)) throw new InvalidConfigError('HubSpotConnector', [{ path: 'timeoutMs', message: 'must be positive' }]);
    if (!Number.isInteger(this.retries) || this.retries < 0) throw new InvalidConfigError('HubSpotConnector', [{ path: 'retries', message: 'must be a non-negative integer' }]);
    this.dueAfterHours = props.dueAfterHours ?? 24;
    if (!(this.dueAfterHours >= 0)) throw new InvalidConfigError('HubSpotConnector', [{ path: 'dueAfterHours', message: 'must be zero or more' }]);
    this.fetch = props.fetch ?? ((url, init) => fetch(url, init));
    this.sleep = props.sleep ?? realSleep;
    this.clock = props.clock ?? (() => new Date().toISOString());
    this.ownerId = props.ownerId;
  }

  private call(path: string, body: unknown, replaySafe = true): ReturnType<typeof postJson> {
    const call: HttpCall = {
      url: `${this.baseUrl}${path}`,
      headers: { Authorization: `Bearer ${this.token}`, 'Content-Type': 'application/json', Accept: 'application/json' },
      body,
      timeoutMs: this.timeoutMs,
      retries: this.retries,
      sleep: this.sleep,
      fetch: this.fetch,
      service: 'HubSpot',
      secrets: [this.token],
      replaySafe,
    };
    return postJson(call);
  }

  /** The id of the task already written for this action, if any. */
  private async existingTask(marker: string): Promise<string | undefined> {
    const answer = await this.call('/crm/v3/objects/tasks/search', {
      filterGroups: [{ filters: [{ propertyName: 'hs_task_subject', operator: 'CONTAINS_TOKEN', value: marker }] }],
      properties: ['hs_task_subject'],
      limit: 10,
    });
    // The marker is checked again here: a token search matches tokens, and only an exact marker counts.
    return searchResults(answer.json, 'tasks').find((t) => (t.properties.hs_task_subject ?? '').includes(`[ref ${marker}]`))?.id;
  }

  private async contactId(email: string): Promise<string | undefined> {
    const answer = await this.call('/crm/v3/objects/contacts/search', {
      filterGroups: [{ filters: [{ propertyName: 'email', operator: 'EQ', value: email }] }],
      properties: ['email'],
      limit: 1,
    });
    return searchResults(answer.json, 'contacts')[0]?.id;
  }

  async execute(action: Action, stakeholders: Stakeholder[], account: ToolAccount): Promise<ToolResult> {
    if (action.tool !== 'sales_task') throw new ToolRejectedError(`The HubSpot connector writes sales tasks, not tool "${action.tool}" (action ${action.id})`);
    const marker = hubSpotTaskMarker(action.id);
    const existing = await this.existingTask(marker);
    if (existing !== undefined) return { ok: true, externalId: existing, detail: 'task already in HubSpot (found by its marker); not created again' };

    const contactIds: string[] = [];
    const missing: string[] = [];
    for (const person of stakeholders) {
      const id = await this.contactId(person.email);
      if (id === undefined) missing.push(person.id);
      else if (!contactIds.includes(id)) contactIds.push(id);
    }
    const nowMs = Date.parse(this.clock());
    const notBeforeMs = action.notBefore !== undefined ? Date.parse(action.notBefore) : Number.NaN;
    const due = new Date(Math.max(nowMs, Number.isNaN(notBeforeMs) ? nowMs : notBeforeMs) + this.dueAfterHours * 3_600_000).toISOString();
    let created: Awaited<ReturnType<typeof this.call>>;
    try {
      created = await this.call('/crm/v3/objects/tasks', hubSpotTaskInput(action, stakeholders, account, contactIds, due, this.ownerId), false);
    } catch (err) {
      // The create's answer was lost (a timeout, a 5xx): HubSpot may hold the task, and its search
      // lags writes by seconds, so a retry could not tell and would create a second. Recorded as
      // not done, outcome unknown, never created again (at most once).
      if (err instanceof ToolFailedError) {
        throw new ToolRejectedError(`outcome unknown: HubSpot did not answer the create of action ${action.id}'s task (${err.message}); not created again — look for [ref ${marker}] in HubSpot`);
      }
      throw err;
    }
    const id = (created.json as { id?: unknown } | undefined)?.id;
    if (typeof id !== 'string' || id === '') throw new ToolRejectedError(`HubSpot created a task for action ${action.id} but answered without its id`);
    const detail = [
      `task created, associated with ${contactIds.length} contact(s)`,
      ...(missing.length > 0 ? [`not in HubSpot, not associated: ${missing.join(', ')}`] : []),
    ].join('; ');
    return { ok: true, externalId: id, detail };
  }
}
