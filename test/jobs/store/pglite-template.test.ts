// The embedded store's footprint measures (src/jobs/store/pglite-template.ts, pglite-checkpoint.ts):
// a fresh data directory filled from the prebuilt template is the same database initdb and the
// migrations make, and takes jobs; the WAL checkpointer runs and keeps pg_wal bounded.
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../../src/jobs/store/migrate.ts';
import { PgliteClient } from '../../../src/jobs/store/pglite-client.ts';
import { buildPgliteTemplate } from '../../../src/jobs/store/pglite-template-build.ts';
import { JobStore } from '../../../src/jobs/store/store.ts';

let base: string;
let template: string;

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'pitboss-pglite-template-test-'));
  template = await buildPgliteTemplate(join(base, 'template.tgz'));
}, 120_000);

afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

const schemaShape = `SELECT table_name, column_name, data_type, is_nullable, column_default FROM information_schema.columns
  WHERE table_schema = 'public' ORDER BY table_name, ordinal_position`;
const indexShape = `SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY indexname`;

describe('a fresh data directory from the template', () => {
  it('holds the schema initdb and the migrations make, and takes jobs across a reopen', async () => {
    const seededDir = join(base, 'seeded');
    const initdbDir = join(base, 'initdb');
    const seeded = await PgliteClient.open(seededDir, null, { template });
    const fromInitdb = await PgliteClient.open(initdbDir, null, { template: null });
    try {
      // Already migrated: nothing left to apply.
      expect((await migrate(seeded)).applied).toEqual([]);
      expect((await migrate(fromInitdb)).applied.length).toBeGreaterThan(0);
      expect(await seeded.query(schemaShape)).toEqual(await fromInitdb.query(schemaShape));
      expect(await seeded.query(indexShape)).toEqual(await fromInitdb.query(indexShape));
      expect(await seeded.query('SELECT version, name FROM schema_migrations ORDER BY version'))
        .toEqual(await fromInitdb.query('SELECT version, name FROM schema_migrations ORDER BY version'));
      const store = await JobStore.open({ client: seeded });
      const [job] = await store.jobs.enqueue([{ queue: 'seeded', name: 'kept' }]);
      await store.close();
      await seeded.close();
      const reopened = await PgliteClient.open(seededDir, null, { template });
      try {
        expect(await reopened.query('SELECT name, status FROM jobs WHERE id = $1', [job!.id])).toEqual([{ name: 'kept', status: 'queued' }]);
      } finally {
        await reopened.close();
      }
    } finally {
      await seeded.close().catch(() => {});
      await fromInitdb.close();
    }
    // Unpacked beside the directory and renamed into place: nothing left over.
    expect((await readdir(base)).filter((name) => name.endsWith('.seeding'))).toEqual([]);
  }, 120_000);

  it('leaves a directory that already holds files alone', async () => {
    const dir = join(base, 'occupied');
    const first = await PgliteClient.open(dir, null, { template });
    await first.exec('CREATE TABLE mine (x int)');
    await first.close();
    const again = await PgliteClient.open(dir, null, { template });
    try {
      expect(await again.query("SELECT to_regclass('mine')::text AS t")).toEqual([{ t: 'mine' }]);
    } finally {
      await again.close();
    }
  }, 60_000);
});

describe('the WAL checkpointer', () => {
  async function walBytesOnDisk(dir: string): Promise<number> {
    let total = 0;
    for (const name of await readdir(join(dir, 'pg_wal'))) {
      if (/^[0-9A-F]{24}$/.test(name)) total += (await stat(join(dir, 'pg_wal', name))).size;
    }
    return total;
  }

  it('checkpoints once the WAL passes its limit, and pg_wal stays bounded', async () => {
    const dir = join(base, 'wal');
    const limit = 4 * 1024 * 1024;
    // No timer in the way: the test calls the check itself.
    const client = await PgliteClient.open(dir, null, { template, checkpoint: { intervalMs: 3_600_000, maxWalBytes: limit } });
    try {
      await client.exec('CREATE TABLE filler (id int, pad text)');
      const lsn = "SELECT pg_current_wal_insert_lsn()::text AS lsn";
      const [{ lsn: from }] = await client.query<{ lsn: string }>(lsn) as [{ lsn: string }];
      const written = async (): Promise<number> => Number((await client.query<{ n: number }>('SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), $1::pg_lsn)::float8 AS n', [from]))[0]!.n);
      let checkpoints = 0;
      // Write twice max_wal_size (64 MB) of WAL, checking after every batch as the timer would.
      for (let round = 0; round < 400 && (await written()) < 128 * 1024 * 1024; round++) {
        await client.exec(`INSERT INTO filler SELECT g, repeat('x', 200) FROM generate_series(1, 5000) g; DELETE FROM filler;`);
        if (await client.checkpointer.checkpointIfDue()) checkpoints++;
        expect(await client.checkpointer.walBytes()).toBeLessThan(limit + 8 * 1024 * 1024);
      }
      expect(await written()).toBeGreaterThanOrEqual(128 * 1024 * 1024);
      expect(checkpoints).toBeGreaterThan(1);
      // Without checkpoints all of it would stay in pg_wal; with them, segments are removed or
      // recycled up to max_wal_size.
      expect(await walBytesOnDisk(dir)).toBeLessThanOrEqual(96 * 1024 * 1024);
    } finally {
      await client.close();
    }
  }, 120_000);
});
