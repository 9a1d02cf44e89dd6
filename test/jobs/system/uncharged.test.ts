/**
 * A job is charged an attempt only for its own failure. Jobs with a single attempt (maxAttempts 1)
 * are queued in, and running on, a supervised pool that its supervisor restarts under them: the
 * running ones are interrupted, the queued ones refused as the pool closes. Every job must still
 * complete, in one charged attempt, and run to completion exactly once. On both backends.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { captureEvents, createTelemetry, JobSystem, SupervisedPool, Supervisor } from '../../../src/index.ts';
import type { JobDetails } from '../../../src/jobs/types.ts';
import { pgliteLocal, postgresBullmq, type BackendFactory } from './backends.ts';
import { jobWorker } from './suite.ts';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe.each([
  ['PGlite + local dispatch', pgliteLocal],
  ['Postgres + BullMQ', postgresBullmq],
] as [string, BackendFactory][])('jobs are not charged for their pool (%s)', (_label, createBackend) => {
  it('a pool restarted under queued and running jobs costs them no attempt; each completes once', async () => {
    const bus = createTelemetry();
    const events = captureEvents(bus, ['job.*', 'worker.call.crashed']);
    const backend = await createBackend(bus);
    const dir = mkdtempSync(join(tmpdir(), 'pitboss-uncharged-'));
    const marks = join(dir, 'marks');
    // shutdownMs 50: the restart's stop cuts the running jobs short instead of letting them finish.
    const pool = new SupervisedPool({ name: 'restarting', worker: jobWorker, threads: 2, maxQueue: 16, statusIntervalMs: null, sampleIntervalMs: null }, { shutdownMs: 50 });
    const root = new Supervisor({ id: 'root', strategy: 'one_for_one', intensity: { maxRestarts: 5, periodMs: 60_000 }, telemetry: bus, children: [pool.childSpec()] });
    await root.start();
    const system = new JobSystem({ store: backend.store, dispatcher: backend.dispatcher, telemetry: bus, queues: { restarting: { pool, concurrency: 8 } } });
    await system.start();
    try {
      const jobs = await system.enqueue(Array.from({ length: 12 }, (_, index) => ({
        queue: 'restarting', name: 'mark', maxAttempts: 1, data: { kind: 'mark', file: marks, index, delayMs: 400 },
      })));
      // Two jobs run, six wait in the pool's queue (concurrency 8), four wait in dispatch.
      await events.waitFor('job.start', { count: 8, timeoutMs: 15_000 });
      await sleep(100);
      await root.restartChild('restarting');

      const until = Date.now() + 30_000;
      let rows: (JobDetails | null)[] = [];
      for (;;) {
        rows = await Promise.all(jobs.map((job) => system.get(job.id)));
        if (rows.every((row) => row?.status === 'completed') || Date.now() > until) break;
        await sleep(50);
      }
      expect(rows.map((row) => [row?.status, row?.attempts])).toEqual(jobs.map(() => ['completed', 1]));
      const ran = readFileSync(marks, 'utf8').trim().split('\n').map(Number).sort((a, b) => a - b);
      expect(ran).toEqual(jobs.map((_, index) => index));
      // Nothing was the jobs' failure: no exception, no retry, no crash was reported for them.
      expect(events.of('job.exception')).toEqual([]);
      expect(events.of('worker.call.crashed')).toEqual([]);
      // More starts than jobs: the interrupted and refused ones ran again, as the same attempt.
      expect(events.of('job.start').length).toBeGreaterThan(jobs.length);
      expect(events.of('job.start').every((e) => e.measurements.attempt === 1)).toBe(true);
    } finally {
      await system.stop(5_000);
      await root.stop();
      await backend.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
