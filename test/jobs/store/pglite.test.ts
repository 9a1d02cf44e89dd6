// The store conformance suite on embedded PGlite (in memory), the zero-services default, plus what
// only the embedded backend does (a data directory on disk).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../../src/jobs/store/migrate.ts';
import { migrations } from '../../../src/jobs/store/schema.ts';
import { JobStore } from '../../../src/jobs/store/store.ts';
import { jobLifecycleConformance } from './conformance-jobs.ts';
import { storeOperationsConformance } from './conformance-ops.ts';
import { storeHistoryConformance } from './conformance-history.ts';
import { storeRetentionConformance } from './conformance-retention.ts';
import { pgliteHarness, type StoreHarness } from './harness.ts';

describe('JobStore on PGlite', () => {
  let harness: StoreHarness;
  beforeAll(async () => {
    harness = await pgliteHarness();
  });
  afterEach(async () => {
    await harness.closeStores();
  });
  afterAll(async () => {
    await harness?.teardown();
  });

  jobLifecycleConformance(() => harness);
  storeOperationsConformance(() => harness);
  storeRetentionConformance(() => harness);
  storeHistoryConformance(() => harness);

  it('migrates idempotently and records each version once', async () => {
    // Every version of schema.ts, whichever they are (issue 18's slices each add one).
    const versions = migrations.map((m) => m.version).sort((a, b) => a - b);
    expect(await migrate(harness.client)).toEqual({ applied: [], version: Math.max(...versions) });
    const rows = await harness.sql<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
    expect(rows.map((r) => Number(r.version))).toEqual(versions);
  });
});

describe('PGlite on disk', () => {
  it('creates its data directory and keeps jobs across a reopen', async () => {
    const base = await mkdtemp(join(tmpdir(), 'pitboss-pglite-'));
    try {
      const dataDir = join(base, 'nested', 'pglite');
      const first = await JobStore.open({ dataDir });
      expect(first.backend).toBe('pglite');
      const [job] = await first.jobs.enqueue([{ queue: 'disk', name: 'kept' }]);
      await first.close();
      const second = await JobStore.open({ dataDir });
      expect(await second.jobs.get(job!.id)).toMatchObject({ name: 'kept', status: 'queued' });
      await second.close();
    } finally {
      await rm(base, { recursive: true, force: true });
    }
  }, 60_000);
});
