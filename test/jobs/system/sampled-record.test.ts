/**
 * DESIGN §8: sampling is for observers, never for the record. With `action.*` and `pool.worker.*`
 * sampled to 0 — in the supervisor and, through the copied rule table, in every thread — a real
 * JobSystem on real threads still writes every job_actions row and every worker_events row, on
 * both store backends, while an observer attached to the same events sees none of them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createTelemetry, JobSystem } from '../../../src/index.ts';
import { recordWorkerLifecycle } from '../../../src/deploy/worker-events.ts';
import { Pool } from '../../../src/pool/pool.ts';
import type { EnqueueInput } from '../../../src/jobs/types.ts';
import { pgliteLocal, postgresBullmq, type BackendFactory } from './backends.ts';
import { jobWorker } from './suite.ts';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const JOBS = 6;
const STEPS = ['fetch', 'resize', 'store'];

async function poll<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  let value = await read();
  while (!done(value) && Date.now() < until) {
    await sleep(25);
    value = await read();
  }
  return value;
}

function recordUnderSampling(label: string, createBackend: BackendFactory): void {
  it(`keeps job_actions and worker_events complete with action.* and pool.worker.* at rate 0 (${label})`, async () => {
    const bus = createTelemetry();
    bus.control.setRule({ pattern: 'action.*', rate: 0 });
    bus.control.setRule({ pattern: 'pool.worker.*', rate: 0 });
    const observed: string[] = [];
    bus.attachMany('observer', ['action.*', 'pool.worker.*'], (event) => { observed.push(event); });
    const backend = await createBackend(bus);
    const supervisorId = `sampled-${label}-${process.pid}`;
    const detachHistory = recordWorkerLifecycle(bus, backend.store.fleet, supervisorId);
    // One thread recycled after every 2 tasks: 6 jobs in a row make 3 recycles, each a worker_events row.
    const pool = new Pool({ name: 'sampled', worker: jobWorker, threads: 1, recycle: { maxTasks: 2 }, telemetry: bus, statusIntervalMs: null, sampleIntervalMs: null });
    await pool.start();
    const system = new JobSystem({ store: backend.store, dispatcher: backend.dispatcher, telemetry: bus, supervisorId, queues: { work: { pool, concurrency: 1 } } });
    await system.start();
    const tmp = mkdtempSync(join(tmpdir(), 'pitboss-sampled-'));
    try {
      const inputs: EnqueueInput[] = Array.from({ length: JOBS }, (_, i) => ({
        queue: 'work', name: 'steps', data: { kind: 'flaky', counter: join(tmp, `c${i}`), failures: 0, steps: STEPS },
      }));
      const jobs = await system.enqueue(inputs);
      for (const job of jobs) {
        const done = await poll(() => system.get(job.id), (j) => j?.status === 'completed' && j.actions.length >= STEPS.length);
        expect(done?.status).toBe('completed');
        expect(done!.actions.map((a) => [a.attempt, a.action, a.status])).toEqual(STEPS.map((step) => [1, step, 'ok']));
      }
      const rows = await poll(
        () => backend.sql<{ event: string }>('SELECT event FROM worker_events WHERE supervisor = $1', [supervisorId]),
        (r) => r.filter((row) => row.event === 'pool.worker.recycled').length >= JOBS / 2,
      );
      expect(rows.filter((row) => row.event === 'pool.worker.recycled')).toHaveLength(JOBS / 2);
      // The observers were sampled out: the record did not come from them.
      expect(observed).toEqual([]);
    } finally {
      await system.stop(5_000);
      await pool.close({ timeoutMs: 2_000 });
      detachHistory();
      await backend.close();
      rmSync(tmp, { recursive: true, force: true });
    }
  }, 60_000);
}

describe('the record under sampling', () => {
  recordUnderSampling('pglite-local', pgliteLocal);
  recordUnderSampling('postgres-bullmq', postgresBullmq);
});
