/**
 * Counts the bytes a Lambda handler writes to stdout and stderr while the engine runs it
 * in-process: that is what Lambda would ship to CloudWatch Logs (and bill as ingestion). The
 * handler's async context is tagged with AsyncLocalStorage, so output of the CLI, of other
 * handlers running at the same time and of the engine itself is never counted. Output still
 * reaches the terminal unchanged.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

/** Where the bytes of one invocation are added. */
export interface LogTally {
  bytes: number;
}

const context = new AsyncLocalStorage<LogTally>();
let installed = 0;
let restore: (() => void) | undefined;

const byteLength = (chunk: unknown): number =>
  typeof chunk === 'string' ? Buffer.byteLength(chunk, 'utf8') : chunk instanceof Uint8Array ? chunk.byteLength : 0;

/** Wraps a stream's write so writes made inside a tagged context are counted. */
function tap(stream: NodeJS.WriteStream): () => void {
  const original = stream.write;
  const counting = function (this: NodeJS.WriteStream, chunk: unknown, ...rest: unknown[]): boolean {
    const tally = context.getStore();
    if (tally) tally.bytes += byteLength(chunk);
    return (original as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
  };
  stream.write = counting as typeof stream.write;
  return () => {
    stream.write = original;
  };
}

/** Starts counting (reference-counted: every engine installs, and the last uninstall restores). */
export function installLogMeter(): () => void {
  if (installed++ === 0) {
    const undo = [tap(process.stdout), tap(process.stderr)];
    restore = () => undo.forEach((u) => u());
  }
  let done = false;
  return () => {
    if (done) return;
    done = true;
    if (--installed === 0) restore?.();
  };
}

/** Runs `fn` with everything it (and what it awaits) writes to stdout/stderr added to `tally`. */
export function withLogTally<T>(tally: LogTally, fn: () => Promise<T>): Promise<T> {
  return context.run(tally, fn);
}
