// Retention as the job system runs it: on a timer, against the embedded default, and checked at
// construction like the rest of its options.
import { describe, expect, it } from 'vitest';
import { captureEvents, createTelemetry, JobSystem } from '../../../src/index.ts';
import { LocalDispatcher } from '../../../src/jobs/dispatch/index.ts';
import { JobStore } from '../../../src/jobs/store/store.ts';
import { Pool } from '../../../src/pool/pool.ts';
import { jobWorker } from './suite.ts';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('job system retention', () => {
  it('deletes completed jobs once they are older than completedMs, on its timer', async () => {
    const bus = createTelemetry();
    const flushes = captureEvents(bus, 'store.flush');
    const prunes = () => flushes.of('store.flush').filter((e) => e.metadata.kind === 'prune_completed');
    const store = await JobStore.open({ dataDir: 'memory://', telemetry: bus });
    const dispatcher = new LocalDispatcher();
    const pool = new Pool({ name: 'retention', worker: jobWorker, threads: 1, telemetry: bus, statusIntervalMs: null, sampleIntervalMs: null });
    await pool.start();
    const system = new JobSystem({
      store, dispatcher, telemetry: bus, queues: { kept: { pool } },
      retention: { completedMs: 600, deadMs: null, cancelledMs: null, fleetHistoryMs: null, intervalMs: 100 },
    });
    await system.start();
    try {
      const [job] = await system.enqueue([{ queue: 'kept', name: 'short-lived', data: { kind: 'ok' } }]);
      let row = await system.get(job!.id);
      for (let i = 0; i < 200 && row?.status !== 'completed'; i++) row = (await sleep(10), await system.get(job!.id));
      expect(row).toMatchObject({ status: 'completed' });
      // Still there within its retention, gone after it.
      await sleep(200);
      expect(await system.get(job!.id)).not.toBeNull();
      for (let i = 0; i < 500 && prunes().length === 0; i++) await sleep(10);
      // The store held nothing else: the one row pruned was this job's.
      expect(await system.get(job!.id)).toBeNull();
      expect(prunes()).toMatchObject([{ measurements: { rows: 1 }, metadata: { backend: 'pglite', kind: 'prune_completed' } }]);
    } finally {
      await system.stop(2_000);
      await pool.close();
      await dispatcher.close();
      await store.close();
    }
  }, 30_000);

  it('refuses bad retention options at construction, naming the key; false turns it off', () => {
    const store = {} as JobStore; // never called: nothing is started
    const dispatcher = new LocalDispatcher();
    const build = (retention: ConstructorParameters<typeof JobSystem>[0]['retention']) => () => new JobSystem({ store, dispatcher, queues: {}, retention });
    expect(build({ completedMs: -1 })).toThrow(expect.objectContaining({ code: 'PITBOSS_INVALID_CONFIG', message: expect.stringMatching(/^retention\.completedMs must be/) }));
    expect(build({ intervalMs: 0 })).toThrow(/^retention\.intervalMs must be a positive integer/);
    expect(build({ limit: 2.5 })).toThrow(/^retention\.limit must be a positive integer/);
    expect(build(false)).not.toThrow();
    expect(build({ deadMs: null })).not.toThrow();
    expect(build({ completedMs: undefined, intervalMs: undefined })).not.toThrow();
  });
});
