/**
 * dynalite (a DynamoDB API) on 127.0.0.1 for the local runtime and the integration tests.
 */
import type { AddressInfo } from 'node:net';
// dynalite is CommonJS: a default import yields `module.exports` under tsx, vitest and plain Node.
import dynalite from 'dynalite';

/** A running dynalite server and how to reach it. */
export interface RunningDynalite {
  /** `http://127.0.0.1:<port>`, for the SDK's endpoint override. */
  readonly endpoint: string;
  readonly port: number;
  /** Stops listening and closes the store (flushes LevelDB when persisted). */
  close(): Promise<void>;
}

/** Starts dynalite on 127.0.0.1 (never on a public interface); `port` 0 picks a free port. */
export async function startDynalite(opts: { path?: string; port?: number } = {}): Promise<RunningDynalite> {
  // Table state changes are instant: nothing local benefits from waiting in CREATING.
  const server = dynalite({
    ...(opts.path === undefined ? {} : { path: opts.path }),
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address: AddressInfo | string | null = server.address();
  if (address === null || typeof address === 'string') throw new Error('dynalite is not listening on a TCP port');
  const { port } = address;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        // SDK clients keep sockets alive; without this, close waits for them to time out.
        server.closeIdleConnections();
        server.close((err?: Error) => (err ? reject(err) : resolve()));
      }),
  };
}
