/**
 * The embedded default's IAM: every AWS SDK call a function makes is checked against the policy
 * statements its synthesized role has, before anything is sent, the way AWS would judge it. A call
 * the template does not allow fails with an AccessDeniedException naming the function, the action
 * and the resource. Nothing is skipped because it is local; what cannot be judged here (a
 * condition, NotAction, NotResource) fails closed: it never allows, and a Deny with it denies.
 */
import type { InstrumentableClient } from '../../shared/adapters/lambda/compose.ts';
import { LOCAL_ACCOUNT, LOCAL_REGION, localTableArn, resolveIntrinsics, type ResolveHooks, type ResolvedTemplate, type TemplateFunction } from './template.ts';

/** A statement with its intrinsics resolved. */
export interface ResolvedStatement {
  readonly policy: string;
  readonly index: number;
  readonly effect: 'Allow' | 'Deny';
  readonly actions: readonly string[];
  readonly resources: readonly string[];
  /** Whether it has parts this checker does not evaluate (Condition, NotAction, NotResource). */
  readonly opaque: boolean;
}

/** One action on one resource, as IAM authorizes it. */
export interface IamRequest {
  readonly action: string;
  /** Any of these resources being allowed is enough (e.g. an SES address or its domain identity). */
  readonly anyOf: readonly string[];
}

/** AWS's error for a call the policy does not allow (not retried by the SDK). */
export class AccessDeniedException extends Error {
  override readonly name = 'AccessDeniedException';
  readonly $fault = 'client';
  readonly $metadata = { httpStatusCode: 400 };
  constructor(
    message: string,
    readonly functionName: string,
    readonly action: string,
    readonly resource: string,
  ) {
    super(message);
  }
}

const list = (v: unknown): string[] => (v === undefined ? [] : Array.isArray(v) ? v.map(String) : [String(v)]);

/** IAM's wildcard match: `*` any run of characters, `?` one character. */
export function iamMatch(pattern: string, value: string, caseInsensitive = false): boolean {
  const escaped = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`, caseInsensitive ? 'i' : '').test(value);
}

/** The statements of a function's role, resolved to concrete ARNs. */
export function statementsOf(template: ResolvedTemplate, fn: TemplateFunction, hooks: ResolveHooks = {}): ResolvedStatement[] {
  const policies = template.rolePolicies.get(fn.roleLogicalId) ?? [];
  return policies.flatMap((policy) =>
    policy.statements.map((st, index) => ({
      policy: policy.id,
      index,
      effect: st.Effect,
      actions: list(st.Action),
      resources: list(resolveIntrinsics(st.Resource, template.resources, hooks)),
      opaque: st.Condition !== undefined || st.NotAction !== undefined || st.NotResource !== undefined,
    })),
  );
}

/** Which statement decided a request, or none (implicit deny). */
export function authorize(statements: readonly ResolvedStatement[], request: IamRequest): { allowed: boolean; by?: ResolvedStatement; resource: string } {
  const applies = (st: ResolvedStatement, resource: string) =>
    st.actions.some((a) => iamMatch(a, request.action, true)) && st.resources.some((r) => iamMatch(r, resource));
  for (const resource of request.anyOf) {
    // A Deny this checker cannot fully judge (NotAction/NotResource) denies; its condition is taken as met.
    const deny = statements.find((st) => st.effect === 'Deny' && (st.actions.length === 0 || applies(st, resource)));
    if (deny) return { allowed: false, by: deny, resource };
  }
  for (const resource of request.anyOf) {
    const allow = statements.find((st) => st.effect === 'Allow' && !st.opaque && applies(st, resource));
    if (allow) return { allowed: true, by: allow, resource };
  }
  return { allowed: false, resource: request.anyOf[0] ?? '*' };
}

/** What IAM authorizes for one SDK command (what each service's authorization reference lists). */
export function iamRequestsOf(
  service: string,
  commandName: string,
  input: Record<string, unknown>,
  stateMachineOfToken: (token: string) => string | undefined,
): IamRequest[] {
  const operation = commandName.replace(/Command$/, '');
  switch (service) {
    case 'dynamodb': {
      const action = `dynamodb:${operation}`;
      if (operation === 'BatchGetItem' || operation === 'BatchWriteItem') {
        const tables = Object.keys((input.RequestItems as Record<string, unknown> | undefined) ?? {});
        return tables.map((t) => ({ action, anyOf: [localTableArn(t)] }));
      }
      const table = localTableArn(String(input.TableName ?? ''));
      return [{ action, anyOf: [typeof input.IndexName === 'string' ? `${table}/index/${input.IndexName}` : table] }];
    }
    case 'sesv2': {
      const from = String(input.FromEmailAddress ?? '');
      const domain = from.split('@')[1] ?? from;
      const identity = (name: string) => `arn:aws:ses:${LOCAL_REGION}:${LOCAL_ACCOUNT}:identity/${name}`;
      // SES authorizes a send on the sending identity and, when one is named, on the
      // configuration set too: both must be allowed.
      const set = typeof input.ConfigurationSetName === 'string' ? input.ConfigurationSetName : undefined;
      return [
        { action: `ses:${operation}`, anyOf: [identity(from), identity(domain)] },
        ...(set !== undefined ? [{ action: `ses:${operation}`, anyOf: [`arn:aws:ses:${LOCAL_REGION}:${LOCAL_ACCOUNT}:configuration-set/${set}`] }] : []),
      ];
    }
    case 'secretsmanager':
      return [{ action: `secretsmanager:${operation}`, anyOf: [String(input.SecretId ?? '')] }];
    case 'kms':
      return [{ action: `kms:${operation}`, anyOf: [String(input.KeyId ?? '')] }];
    case 's3':
      // Listing is s3:ListBucket on the bucket itself; object calls are on the object.
      if (operation === 'ListObjectsV2') return [{ action: 's3:ListBucket', anyOf: [`arn:aws:s3:::${String(input.Bucket ?? '')}`] }];
      return [{ action: `s3:${operation}`, anyOf: [`arn:aws:s3:::${String(input.Bucket ?? '')}/${String(input.Key ?? '')}`] }];
    case 'sfn': {
      // StartExecution is on the state machine it names; the task callbacks on the machine that minted the token.
      if (typeof input.stateMachineArn === 'string') return [{ action: `states:${operation}`, anyOf: [input.stateMachineArn] }];
      const token = String(input.taskToken ?? '');
      return [{ action: `states:${operation}`, anyOf: [stateMachineOfToken(token) ?? `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:stateMachine:unknown-token`] }];
    }
    default:
      return [{ action: `${service}:${operation}`, anyOf: ['*'] }];
  }
}

/** A call IAM allowed: which function, which statement, which action on which resource. */
export interface IamGrantUse {
  readonly functionName: string;
  readonly policy: string;
  readonly statement: number;
  readonly action: string;
  readonly resource: string;
}

/** Options of {@link IamGuard}. */
export interface IamGuardOptions {
  /** The step name of the function (its folder under functions/), for messages. */
  readonly functionName: string;
  /** The function's logical id in the template. */
  readonly logicalId: string;
  /** The function's role's logical id. */
  readonly roleLogicalId: string;
  readonly statements: readonly ResolvedStatement[];
  /** The state machine a task token belongs to (SendTask* authorize against it). */
  readonly stateMachineOfToken: (token: string) => string | undefined;
  /** Told of every allowed call (which grants the code really uses). */
  readonly onAllowed?: (use: IamGrantUse) => void;
  /** Told of every refused call, before it is thrown. */
  readonly onDenied?: (error: AccessDeniedException) => void;
}

/** Checks every call of the clients it is attached to against one function's statements. */
export class IamGuard {
  constructor(private readonly options: IamGuardOptions) {}

  /** Adds the check to a client's middleware stack, before anything is serialized or sent. */
  attach(client: InstrumentableClient, service: string): void {
    const stack = client.middlewareStack as unknown as {
      add(mw: (next: (args: { input: unknown }) => Promise<unknown>, context: { commandName?: string }) => (args: { input: unknown }) => Promise<unknown>, opts: Record<string, unknown>): void;
    };
    stack.add(
      (next, context) => async (args) => {
        this.check(service, context.commandName ?? 'UnknownCommand', (args.input ?? {}) as Record<string, unknown>);
        return next(args);
      },
      { step: 'initialize', priority: 'high', name: 'amkLocalIamCheck', override: true },
    );
  }

  /** Throws AccessDeniedException unless every request of the command is allowed. */
  check(service: string, commandName: string, input: Record<string, unknown>): void {
    const o = this.options;
    for (const request of iamRequestsOf(service, commandName, input, o.stateMachineOfToken)) {
      const verdict = authorize(o.statements, request);
      if (!verdict.allowed) {
        const why = verdict.by ? `an explicit deny in ${verdict.by.policy}` : 'no identity-based policy allows the action';
        const denied = new AccessDeniedException(
          `User: arn:aws:sts::${LOCAL_ACCOUNT}:assumed-role/${o.roleLogicalId}/${o.logicalId} is not authorized to perform: ${request.action} ` +
            `on resource: ${verdict.resource} because ${why} (function ${o.functionName}, checked against its synthesized role)`,
          o.functionName,
          request.action,
          verdict.resource,
        );
        o.onDenied?.(denied);
        throw denied;
      }
      const by = verdict.by as ResolvedStatement;
      o.onAllowed?.({ functionName: o.functionName, policy: by.policy, statement: by.index, action: request.action, resource: verdict.resource });
    }
  }
}
