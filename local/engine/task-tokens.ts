/**
 * Emulates `.waitForTaskToken` for the local engine: a waiting Task gets a real, unguessable token;
 * SendTaskSuccess / SendTaskFailure (through the local SFN endpoint) settle it exactly once.
 */
import { randomBytes } from 'node:crypto';

/** Errors the Step Functions API returns for task callbacks, by their AWS names. */
export type CallbackErrorName = 'TaskDoesNotExist' | 'TaskTimedOut' | 'InvalidToken' | 'InvalidOutput';

/** A callback the registry refused, with the AWS error name the API answers with. */
export class CallbackError extends Error {
  constructor(
    override readonly name: CallbackErrorName,
    message: string,
  ) {
    super(message);
  }
}

interface Waiting {
  readonly resolve: (output: unknown) => void;
  readonly reject: (err: Error) => void;
  readonly deadline: number;
  readonly stateName: string;
}

/** Tokens of the tasks waiting for a callback, and the settled ones (to answer TaskTimedOut). */
export class TaskTokenRegistry {
  private readonly waiting = new Map<string, Waiting>();
  private readonly settled = new Set<string>();
  /** The state machine each token was minted by (SendTask* is authorized against it). */
  private readonly machines = new Map<string, string>();
  private listeners: Array<(token: string, stateName: string) => void> = [];

  constructor(private readonly now: () => number = Date.now) {}

  /** Mints a token for a waiting task and returns it with the promise a callback settles. */
  open(stateName: string, timeoutSeconds: number, stateMachineArn?: string): { token: string; settled: Promise<unknown> } {
    const token = `local-${randomBytes(24).toString('base64url')}`;
    if (stateMachineArn !== undefined) this.machines.set(token, stateMachineArn);
    const settled = new Promise<unknown>((resolve, reject) => {
      this.waiting.set(token, { resolve, reject, deadline: this.now() + timeoutSeconds * 1000, stateName });
    });
    for (const l of this.listeners) l(token, stateName);
    return { token, settled };
  }

  /** The state machine a token belongs to, as long as the process knows the token. */
  stateMachineOf(token: string): string | undefined {
    return this.machines.get(token);
  }

  /** Calls `listener` whenever a task starts waiting. */
  onOpen(listener: (token: string, stateName: string) => void): () => void {
    this.listeners.push(listener);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  /** SendTaskSuccess. */
  succeed(token: string, output: unknown): void {
    this.take(token).resolve(output);
  }

  /** SendTaskFailure: the waiting Task fails with `error` as its error name. */
  fail(token: string, error: string, cause: string): void {
    const err = new Error(cause);
    err.name = error || 'States.TaskFailed';
    this.take(token).reject(err);
  }

  /** Number of tasks waiting now. */
  get pending(): number {
    return this.waiting.size;
  }

  private take(token: string): Waiting {
    const w = this.waiting.get(token);
    if (!w) {
      if (this.settled.has(token)) throw new CallbackError('TaskTimedOut', 'Task already completed or timed out');
      throw new CallbackError(token.startsWith('local-') ? 'TaskDoesNotExist' : 'InvalidToken', 'Invalid or unknown task token');
    }
    this.waiting.delete(token);
    this.settled.add(token);
    if (this.now() > w.deadline) throw new CallbackError('TaskTimedOut', 'Task timed out');
    return w;
  }

  /** Forgets a task the engine gave up on (timeout, abort): later callbacks get TaskTimedOut. */
  expire(token: string): void {
    if (this.waiting.delete(token)) this.settled.add(token);
  }
}
