/**
 * Step Functions: TaskCallback completes a `.waitForTaskToken` task; SfnExecutionStarter starts a
 * CampaignRun by name. The SDK's names for "this
 * token no longer waits" become TaskNotWaitingError, so the use cases never match vendor strings;
 * every other error propagates unchanged (transient, retried by the caller).
 */
import { SendTaskSuccessCommand, StartExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { TaskNotWaitingError } from '../domain/errors.ts';
import type { ExecutionStarter, TaskCallback } from '../ports/index.ts';

/** SFN error names meaning "this token no longer waits": already completed, timed out or unknown. */
export const TASK_GONE_ERRORS: readonly string[] = ['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken'];

async function translated(call: () => Promise<unknown>): Promise<void> {
  try {
    await call();
  } catch (err) {
    if (err instanceof Error && TASK_GONE_ERRORS.includes(err.name)) {
      throw new TaskNotWaitingError(`the task no longer waits (${err.name})`, err.name, { cause: err });
    }
    throw err;
  }
}

/** Completes waiting Step Functions tasks through SendTaskSuccess. */
export class SfnTaskCallback implements TaskCallback {
  constructor(private readonly client: SFNClient) {}

  /** Sends the output as JSON; the task's state continues with it. */
  async succeed(taskToken: string, output: unknown): Promise<void> {
    await translated(() => this.client.send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output ?? null) })));
  }
}

/** Starts executions of one state machine by name (StartExecution; idempotent by name and input). */
export class SfnExecutionStarter implements ExecutionStarter {
  constructor(
    private readonly client: SFNClient,
    private readonly stateMachineArn: string,
  ) {}

  async start(name: string, input: unknown): Promise<{ executionArn: string }> {
    const out = await this.client.send(new StartExecutionCommand({ stateMachineArn: this.stateMachineArn, name, input: JSON.stringify(input) }));
    if (out.executionArn === undefined) throw new Error(`StartExecution ${name} returned no executionArn`);
    return { executionArn: out.executionArn };
  }
}
