/** A benchmark worker thread: runs the seeds it is sent (every policy of a seed) and posts the results back. */
import { parentPort } from 'node:worker_threads';
import { loadBenchConfig, runSeed, type SeedTask } from './run.ts';

const port = parentPort;
if (port === null) throw new Error('bench/worker.ts runs as a worker thread of bench/bench.ts');
let config: ReturnType<typeof loadBenchConfig> | undefined;
port.on('message', (task: SeedTask) => {
  try {
    config ??= loadBenchConfig(task.campaignFile);
    port.postMessage({ ok: true, result: runSeed(task, config) });
  } catch (err) {
    port.postMessage({ ok: false, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
  }
});
