/**
 * Records what each Lambda invocation asked of AWS and got back, and plays it back: a recorded
 * invocation then runs again through its real handler and composition root, taking the same path,
 * with every call still checked by the function's IAM guard first. Tests use it to take one grant
 * or one variable away and show the very path that needed it fail, as it would in AWS.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { InstrumentableClient } from '../../shared/adapters/lambda/compose.ts';
import { ToolFailedError } from '../../shared/domain/errors.ts';
import type { ToolGateway } from '../../shared/ports/index.ts';

/** One SDK call of an invocation and its outcome. */
export interface RecordedCall {
  readonly service: string;
  readonly commandName: string;
  readonly target: string;
  /** The command's input as sent (to tell which grant the call needed). */
  readonly input: Record<string, unknown>;
  output?: unknown;
  error?: unknown;
}

/** One invocation of a function: its event and the calls it made, in order. */
export interface InvocationRecord {
  /** The step name (folder under functions/). */
  readonly functionName: string;
  readonly logicalId: string;
  readonly event: unknown;
  /** The runtime's clock when the invocation started (a replay runs at the same time). */
  readonly at: string;
  readonly calls: RecordedCall[];
  /** Whether the invocation failed (set when it ends). */
  failed?: boolean;
  /** What each tool call of the simulated world did, in order ('failed': a transient fault). */
  readonly tools: Array<'ok' | 'failed'>;
}

/** A key attribute's value, plain or marshalled ({ S } / { N }). */
function scalar(value: unknown): string {
  if (value !== null && typeof value === 'object') {
    const v = value as { S?: unknown; N?: unknown };
    return String(v.S ?? v.N ?? '');
  }
  return value === undefined ? '' : String(value);
}

/** What a call is about, to match a replayed call with its recording. */
function targetOf(service: string, input: Record<string, unknown>): string {
  if (service === 'dynamodb') {
    const tables = input.RequestItems ? Object.keys(input.RequestItems as object).sort().join(',') : String(input.TableName ?? '');
    const key = typeof input.KeyConditionExpression === 'string' ? ` ${input.KeyConditionExpression}` : '';
    // The item a call is about, so that calls made in parallel (one stream each) match their own
    // recording whatever order they are made in.
    const item = (input.Key ?? input.Item) as Record<string, unknown> | undefined;
    const values = input.ExpressionAttributeValues as Record<string, unknown> | undefined;
    const about = item !== undefined ? ` ${scalar(item['pk'] ?? item['id'])}|${scalar(item['sk'])}` : values?.[':pk'] !== undefined ? ` ${scalar(values[':pk'])}` : '';
    return `${tables}${typeof input.IndexName === 'string' ? `/${input.IndexName}` : ''}${key}${about}`;
  }
  if (service === 'secretsmanager') return String(input.SecretId ?? '');
  return '';
}

type Stack = {
  add(
    mw: (next: (args: { input: unknown }) => Promise<unknown>, context: { commandName?: string }) => (args: { input: unknown }) => Promise<unknown>,
    opts: Record<string, unknown>,
  ): void;
};

const store = new AsyncLocalStorage<InvocationRecord>();

/** Runs `fn` as one recorded invocation: the calls its clients make are added to `record`. */
export function recordInvocation<T>(record: InvocationRecord, fn: () => Promise<T>): Promise<T> {
  return store.run(record, fn);
}

/**
 * Records every call of the client into the current invocation's record (outermost, after the
 * IAM check: a denied call is recorded as its error too).
 */
/** Where a recorded output keeps the bytes of its streaming body. */
const RECORDED_BODY = '__recordedBodyBytes';

/** The SDK's streaming body of an output (S3 GetObject's Body), if it has one. */
function streamingBodyOf(output: unknown): { transformToByteArray(): Promise<Uint8Array> } | undefined {
  const body = (output as { Body?: unknown } | undefined)?.Body;
  return body !== null && typeof body === 'object' && typeof (body as { transformToByteArray?: unknown }).transformToByteArray === 'function'
    ? (body as { transformToByteArray(): Promise<Uint8Array> })
    : undefined;
}

/** A body that can be read again, as the SDK's stream mixin is read. */
const replayableBody = (bytes: Uint8Array) => ({
  transformToByteArray: async () => bytes,
  transformToString: async (encoding = 'utf-8') => new TextDecoder(encoding).decode(bytes),
});

export function attachRecorder(client: InstrumentableClient, service: string): void {
  (client.middlewareStack as unknown as Stack).add(
    (next, context) => async (args) => {
      const record = store.getStore();
      const input = (args.input ?? {}) as Record<string, unknown>;
      // In the order the calls are made (not the order they finish), as a replay makes them.
      const call: RecordedCall = { service, commandName: context.commandName ?? 'UnknownCommand', target: targetOf(service, input), input };
      record?.calls.push(call);
      try {
        const result = (await next(args)) as { output?: unknown };
        // The command's output only: the raw HTTP response (its body a spent stream) is not replayable.
        const body = streamingBodyOf(result.output);
        if (body !== undefined) {
          // An object's body (S3 GetObject) is a stream read once: kept as its bytes, replayed as a body again.
          const bytes = await body.transformToByteArray();
          call.output = { ...(result.output as object), Body: { [RECORDED_BODY]: bytes } };
          return { ...result, output: { ...(result.output as object), Body: replayableBody(bytes) } };
        }
        call.output = result.output;
        return result;
      } catch (error) {
        call.error = error;
        throw error;
      }
    },
    { step: 'initialize', priority: 'normal', name: 'amkCassetteRecorder', override: true },
  );
}

/** Wraps the world's tool gateway so that each call's outcome is recorded in the current invocation. */
export function recordingTools(tools: ToolGateway): ToolGateway {
  return {
    execute: async (action, stakeholders, account) => {
      const record = store.getStore();
      try {
        const result = await tools.execute(action, stakeholders, account);
        record?.tools.push('ok');
        return result;
      } catch (err) {
        record?.tools.push('failed');
        throw err;
      }
    },
  };
}

/** Replays the world's recorded tool outcomes over the deployed connectors: a recorded fault fails again. */
export function replayingTools(connectors: ToolGateway, outcomes: readonly ('ok' | 'failed')[]): ToolGateway {
  let call = 0;
  return {
    execute: async (action, stakeholders, account) => {
      const outcome = outcomes[call++];
      if (outcome === 'failed') throw new ToolFailedError(`replayed transient failure of ${action.tool} (action ${action.id})`);
      return connectors.execute(action, stakeholders, account);
    },
  };
}

/** Answers a client's calls from recorded ones, by command and target, in recorded order. */
export class CassettePlayer {
  private readonly queues = new Map<string, RecordedCall[]>();

  constructor(calls: readonly RecordedCall[]) {
    for (const call of calls) {
      const key = `${call.service} ${call.commandName} ${call.target}`;
      this.queues.set(key, [...(this.queues.get(key) ?? []), call]);
    }
  }

  /** Replaces the client's sending with the recording (attach after the IAM guard). */
  attach(client: InstrumentableClient, service: string): void {
    (client.middlewareStack as unknown as Stack).add(
      () => async (args) => {
        throw new Error(`cassette: ${service} reached the network (${JSON.stringify(args.input).slice(0, 120)})`);
      },
      { step: 'finalizeRequest', priority: 'high', name: 'amkCassetteNoNetwork', override: true },
    );
    (client.middlewareStack as unknown as Stack).add(
      (_next, context) => async (args) => {
        const input = (args.input ?? {}) as Record<string, unknown>;
        const key = `${service} ${context.commandName ?? 'UnknownCommand'} ${targetOf(service, input)}`;
        const call = this.queues.get(key)?.shift();
        if (call === undefined) throw new Error(`cassette: no recorded ${key}`);
        if (call.error !== undefined) throw call.error;
        const output = structuredClone(call.output) as Record<string, unknown> | undefined;
        const recorded = (output?.['Body'] as Record<string, unknown> | undefined)?.[RECORDED_BODY];
        return { output: recorded instanceof Uint8Array ? { ...output, Body: replayableBody(recorded) } : output, response: {} };
      },
      { step: 'initialize', priority: 'normal', name: 'amkCassettePlayer', override: true },
    );
  }
}
