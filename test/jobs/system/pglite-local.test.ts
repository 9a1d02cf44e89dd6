// The job system as the embedded default runs it: PGlite in memory and in-process dispatch, through
// the same suite as the fleet configuration; plus what only the embedded default has to show: a
// supervisor restarted on the same data directory runs what was left queued.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createTelemetry, JobSystem } from '../../../src/index.ts';
import { LocalDispatcher } from '../../../src/jobs/dispatch/index.ts';
import { JobStore } from '../../../src/jobs/store/store.ts';
import { Pool } from '../../../src/pool/pool.ts';
import { pgliteLocal } from './backends.ts';
import { jobSystemSuite, jobWorker } from './suite.ts';

jobSystemSuite('PGlite + local dispatch', pgliteLocal);

describe('the embedded default across a restart', () => {
  it('re-dispatches what was left queued when a supervisor starts again on the same data directory', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'pitboss-embedded-'));
    try {
      // First life: jobs are committed, but the supervisor stops before running them.
      let store = await JobStore.open({ dataDir, telemetry: createTelemetry() });
      let dispatcher = new LocalDispatcher();
      // No consumer has run on this store yet: the producer declares the queue it fills.
      const producer = new JobSystem({ store, dispatcher, queues: {}, acceptQueues: ['embedded'] });
      const jobs = await producer.enqueue(Array.from({ length: 5 }, (_, i) => ({ queue: 'embedded', name: 'left', data: { kind: 'ok', value: i } })));
      await producer.stop();
      await dispatcher.close();
      await store.close();

      // Second life: a fresh in-process dispatcher knows nothing; the reconciler reads the store.
      const bus = createTelemetry();
      store = await JobStore.open({ dataDir, telemetry: bus });
      dispatcher = new LocalDispatcher();
      const pool = new Pool({ name: 'embedded', worker: jobWorker, threads: 1, telemetry: bus, statusIntervalMs: null, sampleIntervalMs: null });
      await pool.start();
      const system = new JobSystem({ store, dispatcher, telemetry: bus, queues: { embedded: { pool } }, reconcile: { intervalMs: 200, graceMs: 0 } });
      await system.start();
      try {
        const until = Date.now() + 20_000;
        let rows = await Promise.all(jobs.map((j) => system.get(j.id)));
        while (rows.some((r) => r?.status !== 'completed') && Date.now() < until) {
          await new Promise((resolve) => setTimeout(resolve, 50));
          rows = await Promise.all(jobs.map((j) => system.get(j.id)));
        }
        expect(rows.map((r) => [r?.status, r?.attempts, r?.result])).toEqual(jobs.map((_, i) => ['completed', 1, i]));
      } finally {
        await system.stop(5_000);
        await pool.close();
        await dispatcher.close();
        await store.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});
