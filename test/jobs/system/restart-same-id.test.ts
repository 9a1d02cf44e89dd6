/**
 * A supervisor restarted under the same id (a fixed PITBOSS_SUPERVISOR_ID, e.g. a pod name) must
 * not leave its previous life's running jobs stuck: its heartbeat would keep them looking alive.
 */
import { describe, expect, it } from 'vitest';
import { createTelemetry, captureEvents, JobStore, JobSystem, LocalDispatcher, Pool } from '../../../src/index.ts';
import { workerPath } from '../../helpers/pool.ts';

describe('restart under the same supervisor id', () => {
  it('requeues jobs claimed under that id before claiming anything', async () => {
    const bus = createTelemetry();
    const events = captureEvents(bus, ['job.stalled', 'job.stop']);
    const store = await JobStore.open({ dataDir: 'memory://', telemetry: bus });
    const pool = new Pool({ name: 'p', worker: workerPath('faults'), threads: 1, telemetry: bus, statusIntervalMs: null, sampleIntervalMs: null });
    await pool.start();
    try {
      const [job] = await store.enqueue([{ queue: 'q', name: 'n', data: { kind: 'ok', value: 'second life' } }]);
      // The previous process claimed it, heartbeated, and died.
      await store.heartbeat({ id: 'pod-0', host: 'h', pid: 1 });
      expect(await store.claim(job!.id, 'pod-0/p')).not.toBeNull();
      const system = new JobSystem({ store, dispatcher: new LocalDispatcher(), telemetry: bus, supervisorId: 'pod-0', queues: { q: { pool, concurrency: 1 } } });
      await system.start();
      await events.waitFor('job.stop', { timeoutMs: 10_000 });
      expect(events.of('job.stalled')[0]!.metadata.job_id).toBe(job!.id);
      const done = await store.get(job!.id);
      expect(done).toMatchObject({ status: 'completed', attempts: 2, result: 'second life' });
      await system.stop(2000);
    } finally {
      await pool.close();
      await store.close();
    }
  }, 30_000);
});
