/**
 * Starts dynalite in a worker thread instead of on the caller's event loop. The embedded default
 * is CPU-bound on one core otherwise: dynalite (HTTP parsing, LevelDB) takes about a third of a
 * run's CPU, and on a 2-core machine a thread of its own lets it run beside the handlers.
 */
import { Worker } from 'node:worker_threads';
import type { RunningDynalite } from '../dynalite.ts';

const THREAD_FILE = new URL('./dynalite-thread.mjs', import.meta.url);

/** Starts dynalite on 127.0.0.1 in a worker thread; `port` 0 picks a free port. */
export async function startDynaliteThread(opts: { path?: string; port?: number } = {}): Promise<RunningDynalite> {
  // No execArgv: the thread is plain JavaScript and needs none of the parent's loaders (tsx).
  const worker = new Worker(THREAD_FILE, { workerData: { path: opts.path, port: opts.port ?? 0 }, execArgv: [] });
  const port = await new Promise<number>((resolve, reject) => {
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`dynalite thread exited with code ${code} before listening`)));
    worker.once('message', (m: { port?: number; error?: string }) => {
      if (typeof m.port === 'number' && m.port > 0) resolve(m.port);
      else reject(new Error(`dynalite thread failed to listen: ${m.error ?? 'no port'}`));
    });
  });
  worker.removeAllListeners('exit');
  worker.removeAllListeners('error');
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    close: async () => {
      const closed = new Promise<void>((resolve) => {
        worker.once('message', () => resolve());
        worker.once('exit', () => resolve());
      });
      worker.postMessage('close');
      await closed;
      await worker.terminate();
    },
  };
}
