/**
 * Pause/resume and rate limits of queues, one conformance suite run on both configurations
 * (PGlite + local dispatch, Postgres + BullMQ; see backends.ts), with real pools and threads.
 *
 * Pause: enqueue is still accepted, running jobs finish, nothing starts while paused (the claim
 * itself refuses), a new system on the same store finds the queue paused, and resume hands out
 * what waited. Rate limit: job starts, timed by a `job.start` handler, never exceed the limit, with
 * jobs retried through the dispatch retry path (BullMQ's moveToDelayed) among them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureEvents, createTelemetry, JobSystem, type Telemetry } from '../../../src/index.ts';
import { Pool } from '../../../src/pool/pool.ts';
import type { JobStatus, RateLimit } from '../../../src/jobs/types.ts';
import { pgliteLocal, postgresBullmq, type BackendFactory, type SystemBackend } from './backends.ts';
import { START_JITTER_MS as JITTER_MS, worstOverrun } from './rate-check.ts';
import { jobWorker } from './suite.ts';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const LIMIT: RateLimit = { max: 3, perMs: 800 };
function queueControlSuite(label: string, createBackend: BackendFactory): void {
  describe(`queue pause and rate limits on ${label}`, () => {
    let bus: Telemetry;
    let backend: SystemBackend;
    let pool: Pool;
    let system: JobSystem;
    let tmp: string;
    const starts: { queue: string; at: number }[] = [];

    async function waitStatus(ids: readonly string[], status: JobStatus, timeoutMs = 20_000): Promise<void> {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const rows = await Promise.all(ids.map((id) => system.get(id)));
        if (rows.every((r) => r?.status === status)) return;
        if (Date.now() > until) throw new Error(`jobs are ${rows.map((r) => r?.status).join(', ')} after ${timeoutMs} ms, not all ${status}`);
        await sleep(20);
      }
    }

    const startSystem = (): JobSystem => new JobSystem({
      store: backend.store, dispatcher: backend.dispatcher, telemetry: bus,
      queues: { held: { pool, concurrency: 2 }, limited: { pool, concurrency: 4, rateLimit: LIMIT } },
      reconcile: { intervalMs: 300, graceMs: 100 },
    });

    beforeAll(async () => {
      bus = createTelemetry();
      bus.attach('test.starts', 'job.start', (_event, _m, metadata) => { starts.push({ queue: String(metadata.queue), at: performance.now() }); });
      backend = await createBackend(bus);
      tmp = mkdtempSync(join(tmpdir(), 'pitboss-queue-control-'));
      pool = new Pool({ name: 'qc', worker: jobWorker, threads: 4, telemetry: bus, statusIntervalMs: null, sampleIntervalMs: null });
      await pool.start();
      system = startSystem();
      await system.start();
    }, 60_000);

    afterAll(async () => {
      await system?.stop(5_000);
      await pool?.close();
      await backend?.close();
      rmSync(tmp, { recursive: true, force: true });
    }, 30_000);

    it('a paused queue accepts jobs, lets running ones finish, starts none until resumed, then runs what waited', async () => {
      const events = captureEvents(bus, ['queue.*']);
      const running = await system.enqueue([0, 1].map((i) => ({ queue: 'held', name: 'slow', data: { kind: 'ok', value: i, delayMs: 700 } })));
      await waitStatus(running.map((j) => j.id), 'running');

      expect(await system.pauseQueue('held')).toMatchObject({ queue: 'held', paused: true, running: 2 });
      // Idempotent: a second pause changes nothing and emits nothing.
      expect(await system.pauseQueue('held')).toMatchObject({ paused: true });
      const waiting = await system.enqueue([0, 1, 2, 3].map((i) => ({ queue: 'held', name: 'waits', data: { kind: 'ok', value: i } })));
      expect(waiting.map((j) => [j.created, j.status])).toEqual(waiting.map(() => [true, 'queued']));

      await waitStatus(running.map((j) => j.id), 'completed');
      await sleep(1_000);
      for (const job of waiting) expect(await system.get(job.id)).toMatchObject({ status: 'queued', attempts: 0 });
      // The record refuses too, whoever asks: a claim of a paused queue's job wins nothing.
      expect(await backend.store.jobs.claim(waiting[0]!.id, 'elsewhere/qc')).toBeNull();
      expect((await system.queues()).find((q) => q.queue === 'held')).toMatchObject({ paused: true, queued: 4 });

      expect(await system.resumeQueue('held')).toMatchObject({ queue: 'held', paused: false });
      await system.resumeQueue('held');
      await waitStatus(waiting.map((j) => j.id), 'completed', 10_000);
      expect(events.names()).toEqual(['queue.paused', 'queue.resumed']);
      expect(events.of('queue.paused')[0]!.metadata).toEqual({ queue: 'held' });
      events.stop();
    }, 60_000);

    it('a queue stays paused across a restart: a system starting on the store starts none of its jobs', async () => {
      await system.pauseQueue('held');
      await system.stop(5_000);
      system = startSystem();
      await system.start();
      const [job] = await system.enqueue([{ queue: 'held', name: 'after-restart', data: { kind: 'ok' } }]);
      await sleep(1_000);
      expect(await system.get(job!.id)).toMatchObject({ status: 'queued', attempts: 0 });
      await system.resumeQueue('held');
      await waitStatus([job!.id], 'completed', 10_000);
    }, 60_000);

    it('a queue with no jobs yet can be paused, and GET /queues rows say so', async () => {
      expect(await system.pauseQueue('empty.q')).toEqual({ queue: 'empty.q', queued: 0, running: 0, failed: 0, completed: 0, dead: 0, cancelled: 0, paused: true, rateLimit: null });
      expect((await system.queues()).find((q) => q.queue === 'empty.q')).toMatchObject({ paused: true });
      expect(await system.resumeQueue('empty.q')).toMatchObject({ paused: false });
      await expect(system.pauseQueue('bad:name')).rejects.toMatchObject({ code: 'PITBOSS_INVALID_JOB' });
      expect((await system.queues()).find((q) => q.queue === 'limited')).toMatchObject({ paused: false, rateLimit: LIMIT });
    }, 30_000);

    it('a rate-limited queue never starts more than max jobs per window, retries included', async () => {
      const before = starts.length;
      const jobs = await system.enqueue([
        ...Array.from({ length: 6 }, (_, i) => ({ queue: 'limited', name: 'ok', data: { kind: 'ok' as const, value: i } })),
        // Each fails its first attempt: the retry goes back through dispatch and starts again.
        ...Array.from({ length: 3 }, (_, i) => ({
          queue: 'limited', name: 'flaky', data: { kind: 'flaky' as const, counter: join(tmp, `flaky-${i}`), failures: 1 }, backoff: { type: 'fixed' as const, delayMs: 0 },
        })),
      ]);
      await waitStatus(jobs.map((j) => j.id), 'completed', 30_000);
      const limited = starts.slice(before).filter((s) => s.queue === 'limited').map((s) => s.at);
      expect(limited).toHaveLength(12);
      expect(worstOverrun(limited, LIMIT)).toBeNull();
      // 12 starts at 3 per window take at least three windows after the first.
      expect(Math.max(...limited) - Math.min(...limited)).toBeGreaterThanOrEqual(3 * LIMIT.perMs - JITTER_MS);
    }, 60_000);
  });
}

queueControlSuite('PGlite + local dispatch', pgliteLocal);
queueControlSuite('Postgres + BullMQ', postgresBullmq);
