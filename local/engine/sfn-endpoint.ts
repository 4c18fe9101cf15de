/**
 * A small HTTP endpoint on 127.0.0.1 that speaks the Step Functions JSON protocol for the task
 * callbacks, so unmodified `@aws-sdk/client-sfn` code (the approval handler) decides local tasks,
 * and StartExecution (the schedule's target starts runs by name).
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as z from 'zod';
import { CallbackError, type TaskTokenRegistry } from './task-tokens.ts';

const SuccessBody = z.object({ taskToken: z.string().min(1), output: z.string() });
const FailureBody = z.object({ taskToken: z.string().min(1), error: z.string().optional(), cause: z.string().optional() });
const HeartbeatBody = z.object({ taskToken: z.string().min(1) });
const StartBody = z.object({ stateMachineArn: z.string().min(1), name: z.string().min(1).max(80), input: z.string().optional() });

/** Starts a local execution (the runtime's engine); throws CallbackError-like faults by name. */
export type StartExecution = (r: { stateMachineArn: string; name: string; input: unknown }) => { executionArn: string; startDate: number };

/** A StartExecution the endpoint refuses, with the AWS error name it answers with. */
export class StartExecutionError extends Error {
  constructor(
    override readonly name: 'ExecutionAlreadyExists' | 'StateMachineDoesNotExist' | 'InvalidName',
    message: string,
  ) {
    super(message);
  }
}

const readBody = (req: IncomingMessage, limit = 262_144): Promise<string> =>
  new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) reject(new CallbackError('InvalidOutput', 'payload too large'));
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });

/** Starts the endpoint; returns its URL for `new SFNClient({ endpoint })`. */
export async function startSfnEndpoint(registry: TaskTokenRegistry, port = 0, startExecution?: StartExecution): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer(async (req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0' });
      res.end(JSON.stringify(body));
    };
    const fault = (type: string, message: string, status = 400) =>
      send(status, { __type: `com.amazonaws.swf.service.model.v20120816#${type}`, message });
    try {
      const target = String(req.headers['x-amz-target'] ?? '');
      const body: unknown = JSON.parse((await readBody(req)) || '{}');
      switch (target) {
        case 'AWSStepFunctions.SendTaskSuccess': {
          const b = SuccessBody.parse(body);
          let output: unknown;
          try {
            output = JSON.parse(b.output);
          } catch {
            return fault('InvalidOutput', 'output is not valid JSON');
          }
          registry.succeed(b.taskToken, output);
          return send(200, {});
        }
        case 'AWSStepFunctions.SendTaskFailure': {
          const b = FailureBody.parse(body);
          registry.fail(b.taskToken, b.error ?? '', b.cause ?? '');
          return send(200, {});
        }
        case 'AWSStepFunctions.StartExecution': {
          if (!startExecution) return fault('UnknownOperationException', 'StartExecution is not served by this endpoint');
          const b = StartBody.parse(body);
          if (!/^[A-Za-z0-9_-]+$/.test(b.name)) return fault('InvalidName', `Invalid Name: '${b.name}'`);
          let input: unknown;
          try {
            input = b.input === undefined ? {} : JSON.parse(b.input);
          } catch {
            return fault('InvalidExecutionInput', 'input is not valid JSON');
          }
          try {
            const started = startExecution({ stateMachineArn: b.stateMachineArn, name: b.name, input });
            return send(200, { executionArn: started.executionArn, startDate: started.startDate / 1000 });
          } catch (err) {
            if (err instanceof StartExecutionError) return fault(err.name, err.message);
            throw err;
          }
        }
        case 'AWSStepFunctions.SendTaskHeartbeat': {
          HeartbeatBody.parse(body);
          return send(200, {});
        }
        default:
          return fault('UnknownOperationException', `Operation ${target || '(none)'} is not served locally`);
      }
    } catch (err) {
      if (err instanceof CallbackError) return fault(err.name, err.message);
      if (err instanceof z.ZodError || err instanceof SyntaxError) return fault('ValidationException', 'malformed request');
      return fault('InternalFailure', 'internal error', 500);
    }
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const { port: actual } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${actual}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
