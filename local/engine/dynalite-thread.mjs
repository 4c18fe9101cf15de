// dynalite in a worker thread (plain JavaScript so it loads the same under tsx, vitest and Node):
// the DynamoDB API then runs on the second core while the handlers and the engine use the first.
// Options as local/dynalite.ts: 127.0.0.1 only, table state changes instant. Messages: the parent
// receives { port } once listening (or { error }); it sends 'close' and receives { closed: true }.
import { parentPort, workerData } from 'node:worker_threads';
import dynalite from 'dynalite';

const server = dynalite({
  ...(workerData?.path === undefined ? {} : { path: workerData.path }),
  createTableMs: 0,
  deleteTableMs: 0,
  updateTableMs: 0,
});
server.once('error', (err) => parentPort?.postMessage({ error: String(err?.message ?? err) }));
server.listen(workerData?.port ?? 0, '127.0.0.1', () => {
  const address = server.address();
  parentPort?.postMessage({ port: typeof address === 'object' && address ? address.port : 0 });
});
parentPort?.on('message', (message) => {
  if (message !== 'close') return;
  server.closeIdleConnections();
  server.close((err) => parentPort?.postMessage(err ? { error: String(err.message) } : { closed: true }));
});
