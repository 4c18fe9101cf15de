/**
 * TaskCallback over Step Functions: completes a `.waitForTaskToken` task. SDK errors propagate
 * with their names (TaskTimedOut, TaskDoesNotExist, InvalidToken, ...) because the approval use
 * case tells "the workflow stopped waiting" apart from a transient failure by that name.
 */
import { SendTaskFailureCommand, SendTaskSuccessCommand, type SFNClient } from '@aws-sdk/client-sfn';
import type { TaskCallback } from '../ports/index.ts';

/** SendTaskFailure limits (characters): error 256, cause 32,768. */
const MAX_ERROR = 256;
const MAX_CAUSE = 32_768;

/** Completes waiting Step Functions tasks through SendTaskSuccess / SendTaskFailure. */
export class SfnTaskCallback implements TaskCallback {
  constructor(private readonly client: SFNClient) {}

  /** Sends the output as JSON; the task's state continues with it. */
  async succeed(taskToken: string, output: unknown): Promise<void> {
    await this.client.send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output ?? null) }));
  }

  /** Fails the task with a named error that the definition's Catch can match. */
  async fail(taskToken: string, error: string, cause: string): Promise<void> {
    // Over-long values would make SFN reject the call and leave the task waiting until timeout.
    await this.client.send(
      new SendTaskFailureCommand({ taskToken, error: error.slice(0, MAX_ERROR), cause: cause.slice(0, MAX_CAUSE) }),
    );
  }
}
