/**
 * Runs the synthesized state machines with aws-local-stepfunctions, mapping every Task to what AWS
 * would call: a Lambda resource to its handler module in-process, `lambda:invoke.waitForTaskToken`
 * to the task-token emulation, and `states:startExecution.sync:2` to a separate local execution of
 * the child state machine found in the same template. Generic: no state of the workflow is named
 * here. Counts what AWS bills and logs, per workflow type, for the cost model: states entered,
 * executions, Express duration, Lambda invocations and duration per function, execution-data
 * bytes, and the bytes handlers write (see ExecutionStats).
 */
import './promise-polyfill.ts';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { installLogMeter, withLogTally } from './log-meter.ts';
import type { ResolvedTemplate, TemplateStateMachine } from './template.ts';
import type { TaskTokenRegistry } from './task-tokens.ts';

/** A Lambda handler as the engine calls it. */
export type LocalLambda = (event: unknown, context: LambdaLikeContext) => Promise<unknown>;

/** The parts of the Lambda context our handlers read. */
export interface LambdaLikeContext {
  readonly functionName: string;
  readonly awsRequestId: string;
  readonly getRemainingTimeInMillis: () => number;
  readonly callbackWaitsForEmptyEventLoop: boolean;
}

/** Figures per workflow type. */
export interface PerWorkflowType<T> {
  readonly STANDARD: T;
  readonly EXPRESS: T;
}

/** Invocations and billed duration of one Lambda function. */
export interface LambdaUsage {
  readonly invocations: number;
  /** Sum of each invocation's duration rounded up to 1 ms, as Lambda bills it. */
  readonly billedMs: number;
}

/** Figures of one execution tree (a parent and the children it started), the cost model's inputs. */
export interface ExecutionStats {
  /** State transitions (states entered) per workflow type; STANDARD is billed per transition. */
  readonly transitions: PerWorkflowType<number>;
  /** The Task states among those transitions (a Task logs more events than a Choice or a Pass). */
  readonly taskTransitions: PerWorkflowType<number>;
  /** Map iterations started per workflow type (each logs its own start and end events). */
  readonly mapIterations: PerWorkflowType<number>;
  /** Executions started per workflow type (EXPRESS is billed per request). */
  readonly executions: PerWorkflowType<number>;
  /**
   * Bytes of execution data as a log event would carry it (JSON text, escaped into the event):
   * every state's input when entered and output when exited, and each execution's input and output.
   */
  readonly payloadBytes: PerWorkflowType<number>;
  /** The part of payloadBytes that belongs to Task states. */
  readonly taskPayloadBytes: PerWorkflowType<number>;
  /** The largest single state input or output in bytes (Step Functions refuses more than 256 KiB). */
  readonly maxPayloadBytes: number;
  /** Total duration of the express executions in ms. */
  readonly expressMs: number;
  /** Express duration as billed: each execution rounded up to the next 100 ms. */
  readonly expressBilledMs: number;
  /** The longest Express execution in ms (Express executions end at 5 minutes). */
  readonly maxExpressMs: number;
  /** Lambda invocations and their total duration in ms (in-process: a proxy for Lambda's duration). */
  readonly lambdaInvocations: number;
  readonly lambdaMs: number;
  /** Invocations and billed duration per Lambda logical id. */
  readonly lambdas: Readonly<Record<string, LambdaUsage>>;
  /** Bytes the handlers wrote to stdout/stderr (what Lambda ships to CloudWatch Logs). */
  readonly handlerLogBytes: number;
  readonly retries: number;
  /**
   * The most history events one execution of each type logged, estimated as Step Functions
   * records them (execution start and end; each state's entered and exited; a Task's scheduled,
   * started and succeeded, plus submitted for `.sync` and `.waitForTaskToken`; a Map's start and
   * end and each iteration's; a Parallel's start and end). A Standard execution fails past 25,000.
   */
  readonly maxHistoryEvents: PerWorkflowType<number>;
}

/** The event-history limit of one Standard execution. */
export const STANDARD_HISTORY_LIMIT = 25_000;

/** History events of one Task beyond entered/exited: scheduled, started, succeeded (+ submitted when it waits). */
const taskHistoryEvents = (resource: unknown): number => (/\.(sync(:2)?|waitForTaskToken)$/.test(String(resource)) ? 4 : 3);

type Mutable<T> = { -readonly [K in keyof T]: T[K] extends object ? Mutable<T[K]> : T[K] };
type MutableStats = Mutable<ExecutionStats>;

/** Empty figures, to add executions to. */
export function emptyStats(): ExecutionStats {
  const pair = () => ({ STANDARD: 0, EXPRESS: 0 });
  return {
    transitions: pair(),
    taskTransitions: pair(),
    mapIterations: pair(),
    executions: pair(),
    payloadBytes: pair(),
    taskPayloadBytes: pair(),
    maxPayloadBytes: 0,
    expressMs: 0,
    expressBilledMs: 0,
    maxExpressMs: 0,
    lambdaInvocations: 0,
    lambdaMs: 0,
    lambdas: {},
    handlerLogBytes: 0,
    retries: 0,
    maxHistoryEvents: pair(),
  };
}

/** Sizes of a value's JSON: as Step Functions measures a payload, and as a log event carries it. */
export function payloadSizes(value: unknown): { json: number; logged: number } {
  if (value === undefined) return { json: 0, logged: 0 };
  const text = JSON.stringify(value);
  // Execution data is logged as a string field: its JSON text, escaped once more.
  return { json: Buffer.byteLength(text, 'utf8'), logged: Buffer.byteLength(JSON.stringify(text), 'utf8') - 2 };
}

/** Options of the engine. */
export interface WorkflowEngineOptions {
  readonly template: ResolvedTemplate;
  /** Handler per Lambda logical id. */
  readonly lambdas: ReadonlyMap<string, LocalLambda>;
  readonly tokens: TaskTokenRegistry;
  /** Overrides retry waits in ms per state name (tests make retries instant). */
  readonly retryIntervalMs?: number;
  /**
   * Wait states (by name) that pause this many ms instead of until their time: where the caller
   * simulates the clock, a wait for a simulated time must not take real time. @default none
   */
  readonly waitTimeOverrides?: Readonly<Record<string, number>>;
}

const TOKEN_SENTINEL = '__AMK_LOCAL_TASK_TOKEN__';

/**
 * Local Lambda invocations in progress at once. Their duration (the Lambda cost proxy) is wall
 * time in one shared process: without a bound, 1,800 approval branches at once made every
 * invocation look many times longer than it is.
 */
export const LOCAL_LAMBDA_CONCURRENCY = 16;

/** A counting semaphore: acquire() resolves with a release function once a slot is free. */
class Slots {
  private free: number;
  private readonly waiting: Array<() => void> = [];

  constructor(size: number) {
    this.free = size;
  }

  async acquire(): Promise<() => void> {
    if (this.free > 0) this.free -= 1;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.free += 1;
    };
  }
}
const LAMBDA_ARN = /^arn:aws:lambda:[^:]+:\d+:function:([^:]+)$/;
const STATE_MACHINE_ARN = /^arn:aws:states:[^:]+:\d+:stateMachine:([^:]+)$/;

type Json = Record<string, unknown>;

const clone = <T>(v: T): T => (v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T));

/** Every Task state in a definition, nested Maps and Parallels included. */
function tasksOf(def: Json): Array<[string, Json]> {
  const out: Array<[string, Json]> = [];
  const states = (def.States ?? {}) as Record<string, Json>;
  for (const [name, state] of Object.entries(states)) {
    if (state.Type === 'Task') out.push([name, state]);
    for (const inner of [state.ItemProcessor, state.Iterator] as Json[]) if (inner) out.push(...tasksOf(inner));
    for (const branch of (state.Branches ?? []) as Json[]) out.push(...tasksOf(branch));
  }
  return out;
}

/** Replaces the token sentinel anywhere in a payload. */
function withToken(value: unknown, token: string): unknown {
  if (value === TOKEN_SENTINEL) return token;
  if (Array.isArray(value)) return value.map((v) => withToken(v, token));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withToken(v, token)]));
  return value;
}

/** Runs the template's state machines locally. */
export class WorkflowEngine {
  /** One validated machine per definition: validating (ajv) costs ~0.4 s, more than a small execution. */
  private readonly machines = new Map<string, StateMachine>();
  /** Slots for Lambda invocations in progress (see LOCAL_LAMBDA_CONCURRENCY). */
  private readonly lambdaSlots = new Slots(LOCAL_LAMBDA_CONCURRENCY);

  constructor(private readonly options: WorkflowEngineOptions) {}

  private machineOf(sm: TemplateStateMachine): StateMachine {
    let machine = this.machines.get(sm.logicalId);
    if (!machine) {
      machine = new StateMachine(sm.definition as unknown as StateMachineDefinition, { validationOptions: { checkArn: false, checkPaths: true } });
      this.machines.set(sm.logicalId, machine);
    }
    return machine;
  }

  /** The state machine of a given logical id (throws naming the known ones). */
  stateMachine(logicalId: string): TemplateStateMachine {
    const sm = this.options.template.stateMachines.get(logicalId);
    if (!sm) throw new Error(`No state machine ${logicalId} in the template (have: ${[...this.options.template.stateMachines.keys()].join(', ')})`);
    return sm;
  }

  /** Starts an execution; resolves with its output and the figures of it and its children. */
  async execute(logicalId: string, input: unknown, opts: { name?: string; onEvent?: (e: { type: string; state?: string; machine: string }) => void } = {}): Promise<{ output: unknown; stats: ExecutionStats }> {
    const stats = emptyStats() as MutableStats;
    const uninstall = installLogMeter();
    try {
      const output = await this.run(this.stateMachine(logicalId), input, opts.name ?? randomUUID(), stats, opts.onEvent);
      return { output, stats };
    } finally {
      uninstall();
    }
  }

  private async run(
    sm: TemplateStateMachine,
    input: unknown,
    name: string,
    stats: MutableStats,
    onEvent?: (e: { type: string; state?: string; machine: string }) => void,
  ): Promise<unknown> {
    const started = performance.now();
    stats.executions[sm.type] += 1;
    stats.payloadBytes[sm.type] += payloadSizes(input).logged;
    const executionArn = `arn:aws:states:us-east-1:123456789012:execution:${sm.logicalId}:${name}`;
    const handlers: Record<string, (input: unknown) => Promise<unknown>> = {};
    const retryOverrides: Record<string, number> = {};
    for (const [stateName, task] of tasksOf(sm.definition)) {
      handlers[stateName] = this.taskHandler(stateName, task, stats, onEvent, `arn:aws:states:us-east-1:123456789012:stateMachine:${sm.logicalId}`);
      if (this.options.retryIntervalMs !== undefined) retryOverrides[stateName] = this.options.retryIntervalMs;
    }
    const machine = this.machineOf(sm);
    const execution = machine.run(clone(input) as never, {
      overrides: { taskResourceLocalHandlers: handlers as never, retryIntervalOverrides: retryOverrides, waitTimeOverrides: { ...this.options.waitTimeOverrides } },
      context: {
        Execution: { Id: executionArn, Name: name, StartTime: new Date().toISOString(), Input: clone(input) as never },
        StateMachine: { Id: `arn:aws:states:us-east-1:123456789012:stateMachine:${sm.logicalId}`, Name: sm.logicalId },
        Task: { Token: TOKEN_SENTINEL },
      },
    });
    const resources = new Map(tasksOf(sm.definition).map(([stateName, task]) => [stateName, task.Resource]));
    // ExecutionStarted and ExecutionSucceeded/Failed, then what the states log.
    let history = 2;
    const counting = (async () => {
      for await (const event of execution.eventLogs) {
        if (event.type === 'StateEntered' || event.type === 'StateExited') history += 1;
        if (event.type === 'StateEntered' && event.state.type === 'Task') history += taskHistoryEvents(resources.get(event.state.name));
        if (event.type === 'StateEntered' && event.state.type === 'Map') history += 2;
        // A Parallel's started and succeeded (or failed) events.
        if (event.type === 'StateEntered' && event.state.type === 'Parallel') history += 2;
        if (event.type === 'MapIterationStarted' || event.type === 'MapIterationSucceeded' || event.type === 'MapIterationFailed') history += 1;
        // A retried Task is scheduled, started and fails again.
        if (event.type === 'StateRetried') history += 3;
        if (event.type === 'StateEntered' || event.type === 'StateExited') {
          const payload = event.type === 'StateEntered' ? event.state.input : event.state.output;
          const { json, logged } = payloadSizes(payload);
          const isTask = event.state.type === 'Task';
          stats.payloadBytes[sm.type] += logged;
          if (isTask) stats.taskPayloadBytes[sm.type] += logged;
          stats.maxPayloadBytes = Math.max(stats.maxPayloadBytes, json);
          if (event.type === 'StateEntered') {
            stats.transitions[sm.type] += 1;
            if (isTask) stats.taskTransitions[sm.type] += 1;
          }
        }
        if (event.type === 'MapIterationStarted') stats.mapIterations[sm.type] += 1;
        if (event.type === 'StateRetried') stats.retries += 1;
        if ('state' in event) onEvent?.({ type: event.type, state: event.state.name, machine: sm.logicalId });
      }
    })();
    try {
      const output = await execution.result;
      stats.payloadBytes[sm.type] += payloadSizes(output).logged;
      return output;
    } catch (err) {
      // The engine wraps the failing state's error; surface its name as AWS reports it.
      const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
      throw cause;
    } finally {
      await counting.catch(() => undefined);
      stats.maxHistoryEvents[sm.type] = Math.max(stats.maxHistoryEvents[sm.type], history);
      if (sm.type === 'EXPRESS') {
        const ms = performance.now() - started;
        stats.expressMs += ms;
        stats.expressBilledMs += Math.max(100, Math.ceil(ms / 100) * 100);
        stats.maxExpressMs = Math.max(stats.maxExpressMs, ms);
      }
    }
  }

  private taskHandler(
    stateName: string,
    task: Json,
    stats: MutableStats,
    onEvent: ((e: { type: string; state?: string; machine: string }) => void) | undefined,
    machineArn: string,
  ): (input: unknown) => Promise<unknown> {
    const resource = String(task.Resource);
    const invoke = async (functionArnOrName: string, payload: unknown): Promise<unknown> => {
      const logicalId = LAMBDA_ARN.exec(functionArnOrName)?.[1] ?? functionArnOrName;
      const lambda = this.options.lambdas.get(logicalId);
      if (!lambda) throw new Error(`No local handler for Lambda ${logicalId} (state ${stateName})`);
      const timeoutMs = Number(task.TimeoutSeconds ?? 60) * 1000;
      // Each Lambda invocation has a sandbox of its own in AWS; here they share one process, so at
      // most LOCAL_LAMBDA_CONCURRENCY run at once and the duration counts from the start, not the wait.
      const release = await this.lambdaSlots.acquire();
      const started = performance.now();
      stats.lambdaInvocations += 1;
      const logs = { bytes: 0 };
      try {
        const result = await withLogTally(logs, () =>
          lambda(clone(payload), {
            functionName: logicalId,
            awsRequestId: randomUUID(),
            getRemainingTimeInMillis: () => timeoutMs - (performance.now() - started),
            callbackWaitsForEmptyEventLoop: false,
          }),
        );
        return clone(result);
      } finally {
        const ms = performance.now() - started;
        stats.lambdaMs += ms;
        stats.handlerLogBytes += logs.bytes;
        const prev = stats.lambdas[logicalId] ?? { invocations: 0, billedMs: 0 };
        stats.lambdas[logicalId] = { invocations: prev.invocations + 1, billedMs: prev.billedMs + Math.max(1, Math.ceil(ms)) };
        release();
      }
    };
    const lambdaArn = LAMBDA_ARN.exec(resource);
    if (lambdaArn) return (input) => invoke(resource, input);
    if (resource === 'arn:aws:states:::lambda:invoke') {
      return async (input) => {
        const p = input as { FunctionName: string; Payload?: unknown };
        return { StatusCode: 200, ExecutedVersion: '$LATEST', Payload: await invoke(p.FunctionName, p.Payload) };
      };
    }
    if (resource === 'arn:aws:states:::lambda:invoke.waitForTaskToken') {
      return async (input) => {
        const p = input as { FunctionName: string; Payload?: Json };
        // TimeoutSecondsPath is evaluated by the engine on the state's input; CDK passes the same
        // value in the payload, which is where the token's own deadline is read from.
        const timeoutSeconds = Number(task.TimeoutSeconds ?? (p.Payload?.timeoutSeconds as number | undefined) ?? 60);
        const { token, settled } = this.options.tokens.open(stateName, timeoutSeconds, machineArn);
        try {
          await invoke(p.FunctionName, withToken(p.Payload, token));
        } catch (err) {
          this.options.tokens.expire(token);
          throw err;
        }
        const timer = setTimeout(() => this.options.tokens.expire(token), timeoutSeconds * 1000 + 50);
        try {
          return await settled;
        } finally {
          clearTimeout(timer);
        }
      };
    }
    if (resource === 'arn:aws:states:::states:startExecution.sync:2' || resource === 'arn:aws:states:::states:startExecution.sync') {
      return async (input) => {
        const p = input as { StateMachineArn: string; Input?: unknown; Name?: string };
        const childId = STATE_MACHINE_ARN.exec(p.StateMachineArn)?.[1];
        if (!childId) throw new Error(`State ${stateName}: cannot resolve child state machine ${p.StateMachineArn}`);
        const child = this.stateMachine(childId);
        const childInput = typeof p.Input === 'string' ? (JSON.parse(p.Input) as unknown) : p.Input;
        const name = p.Name ?? randomUUID();
        const startDate = Date.now();
        try {
          const output = await this.run(child, childInput, name, stats, onEvent);
          const sync2 = resource.endsWith(':2');
          return {
            ExecutionArn: `arn:aws:states:us-east-1:123456789012:execution:${childId}:${name}`,
            Input: sync2 ? childInput : JSON.stringify(childInput),
            Output: sync2 ? output : JSON.stringify(output),
            Status: 'SUCCEEDED',
            StartDate: startDate,
            StopDate: Date.now(),
          };
        } catch (err) {
          // AWS fails the parent task with States.TaskFailed and the child's error in the cause.
          const failure = new Error(err instanceof Error ? `${err.name}: ${err.message}` : String(err));
          failure.name = 'States.TaskFailed';
          throw failure;
        }
      };
    }
    return async () => {
      throw new Error(`State ${stateName}: resource ${resource} has no local stand-in`);
    };
  }
}
