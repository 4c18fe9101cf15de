/**
 * The embedded dynalite: loopback only, and persistent when given a folder.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startDynalite } from '../../local/dynalite.ts';
import { DynamoAccountRepository } from '../../shared/adapters/dynamodb/account-repository.ts';
import { createDynamoClient } from '../../shared/adapters/dynamodb/client.ts';
import { ensureTables } from '../../shared/adapters/dynamodb/create-tables.ts';
import { localTableName, TABLES, type TableKey } from '../../shared/adapters/dynamodb/tables.ts';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

const names = Object.fromEntries((Object.keys(TABLES) as TableKey[]).map((k) => [k, localTableName(k)])) as Record<
  TableKey,
  string
>;

describe('startDynalite', { timeout: 60_000 }, () => {
  it('listens on the loopback interface at a free port when asked for port 0', async () => {
    const db = await startDynalite({ port: 0 });
    try {
      expect(db.port).toBeGreaterThan(0);
      expect(db.endpoint).toBe(`http://127.0.0.1:${db.port}`);
    } finally {
      await db.close();
    }
  });

  it('keeps tables and items across a restart when given a folder', async () => {
    const path = await mkdtemp(join(tmpdir(), 'amk-dynalite-'));
    dirs.push(path);
    const first = await startDynalite({ path, port: 0 });
    const client1 = createDynamoClient({ endpoint: first.endpoint });
    await ensureTables(client1, names);
    await new DynamoAccountRepository(client1, names.accounts).importAccount(
      {
        id: 'kept',
        name: 'Kept',
        domain: 'kept.example.com',
        tier: 3,
        industry: 'x',
        employees: 1,
        stage: 'unaware',
        engagedRoles: [],
        objections: [],
        consensus: 0,
        lastMeaningfulInteraction: null,
        observedUntil: null,
        version: 0,
      },
      [],
    );
    client1.destroy();
    await first.close();

    const second = await startDynalite({ path, port: 0 });
    const client2 = createDynamoClient({ endpoint: second.endpoint });
    try {
      await ensureTables(client2, names);
      expect((await new DynamoAccountRepository(client2, names.accounts).get('kept'))?.name).toBe('Kept');
    } finally {
      client2.destroy();
      await second.close();
    }
  });
});
