/**
 * Conformance of issue 18's job progress, per-job timeouts and bulk enqueue, with real pools and
 * threads, run against both configurations (progress-timeout.test.ts): progress reaches the row,
 * throttled, fenced by attempt and visible in get(); a bad value is refused in the worker without
 * harm; a job past its timeoutMs fails with type `timeout`, is retried per its policy and is dead
 * at the end, its thread replaced without charging the pool; 1000 jobs go in one call and one
 * commit, and one bad job of them writes nothing.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTelemetry, JobSystem, type Telemetry } from '../../../src/index.ts';
import { Pool } from '../../../src/pool/pool.ts';
import type { EnqueueInput, JobDetails } from '../../../src/jobs/types.ts';
import type { ProgressInput } from '../../fixtures/progress-worker.ts';
import type { BackendFactory, SystemBackend } from './backends.ts';
import { tearDownSystem, waitForJob } from './system-parts.ts';
import { Timeline } from './timeline.ts';

const progressWorker = new URL('../../fixtures/progress-worker.ts', import.meta.url);
const QUEUE = 'progress';
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export function progressTimeoutSuite(label: string, createBackend: BackendFactory): void {
  describe(`progress, timeouts and bulk enqueue on ${label}`, () => {
    let bus: Telemetry;
    let timeline: Timeline;
    let backend: SystemBackend;
    let pool: Pool;
    let system: JobSystem;
    let tmp: string;
    const restarts: Record<string, unknown>[] = [];
    const flushes: { rows: number; kind: unknown }[] = [];

    const job = (name: string, data: ProgressInput, options: Partial<EnqueueInput> = {}): EnqueueInput => ({ queue: QUEUE, name, data, ...options });

    const until = (id: string, done: (job: JobDetails | null) => boolean): Promise<JobDetails> =>
      waitForJob(system, id, done, 20_000, (found) => `job ${id} never got there: ${JSON.stringify(found)}`);

    beforeAll(async () => {
      bus = createTelemetry();
      timeline = new Timeline(bus);
      bus.attach('test.restarts', 'pool.worker.restarted', (_e, _m, metadata) => { restarts.push({ ...metadata }); });
      bus.attach('test.flushes', 'store.flush', (_e, measurements, metadata) => { flushes.push({ rows: measurements.rows ?? 0, kind: metadata.kind }); });
      backend = await createBackend(bus);
      // A tight restart intensity: the timeouts below kill threads four times, which must not count.
      pool = new Pool({
        name: 'progresspool', worker: progressWorker, threads: 2, killGraceMs: 150, intensity: { maxRestarts: 1, periodMs: 60_000 },
        telemetry: bus, statusIntervalMs: null, sampleIntervalMs: null,
      });
      await pool.start();
      system = new JobSystem({
        store: backend.store, dispatcher: backend.dispatcher, telemetry: bus, supervisorId: `progress-${label.replace(/\W+/g, '-')}`,
        queues: { [QUEUE]: { pool, concurrency: 2 } }, acceptQueues: ['bulk', 'fenced'],
        reconcile: { intervalMs: 200, graceMs: 300 },
      });
      await system.start();
      tmp = mkdtempSync(join(tmpdir(), 'pitboss-progress-'));
    }, 60_000);

    afterAll(() => tearDownSystem({ system, pool, backend, timeline, tmp }), 30_000);

    it('records progress while the job runs, throttled, and keeps its last value, with job.progress events', async () => {
      // 24 reports 50 ms apart (1.2 s): the thread sends at most one per 250 ms.
      const values = Array.from({ length: 24 }, (_, i) => (i + 1) / 24);
      const [enqueued] = await system.enqueue([job('report', { kind: 'report', values, stepMs: 50 })]);
      const id = enqueued!.id;
      const midway = await until(id, (j) => typeof j?.progress === 'number' && j.status === 'running');
      expect(midway.progress).toBeGreaterThan(0);
      expect(midway.progress).toBeLessThan(1);
      const done = await until(id, (j) => j?.status === 'completed' && j.progress === 1);
      expect(done).toMatchObject({ result: 'done', progress: 1, attempts: 1 });
      const events = await timeline.waitFor(id, 'job.progress');
      // Throttled: far fewer than 24, and the last one is the final value.
      expect(events.length).toBeGreaterThanOrEqual(2);
      expect(events.length).toBeLessThanOrEqual(7);
      expect(events.at(-1)!.measurements).toMatchObject({ progress: 1, size: 1 });
      expect(events.at(-1)!.metadata).toMatchObject({ queue: QUEUE, job_name: 'report', job_id: id, progress_json: '1' });
    });

    it('stores a JSON progress value as it was given', async () => {
      const value = { step: 'upload', done: 3, of: 7 };
      const [enqueued] = await system.enqueue([job('report-json', { kind: 'report', values: [value], stepMs: 10 })]);
      const done = await until(enqueued!.id, (j) => j?.status === 'completed' && j.progress !== null);
      expect(done.progress).toEqual(value);
      const [event] = await timeline.waitFor(enqueued!.id, 'job.progress');
      expect(event!.measurements).toEqual({ size: JSON.stringify(value).length });
    });

    it('records progress with job.progress sampled to 0: observers see none, the row still gets the last value', async () => {
      bus.control.setRule({ pattern: 'job.progress', rate: 0 });
      try {
        const [enqueued] = await system.enqueue([job('sampled', { kind: 'report', values: [0.2, 0.4, 0.6], stepMs: 150 })]);
        const done = await until(enqueued!.id, (j) => j?.status === 'completed' && j.progress === 0.6);
        expect(done.progress).toBe(0.6);
        await timeline.waitFor(enqueued!.id, 'job.stop');
        expect(timeline.of(enqueued!.id, 'job.progress')).toEqual([]);
      } finally {
        bus.control.removeRule('job.progress');
      }
    });

    it('refuses bad progress values in the worker with a clear error, and the thread carries on', async () => {
      const [enqueued] = await system.enqueue([job('bad', { kind: 'bad', values: ['nan', 'range', 'big', 'function', 'nul'] })]);
      const done = await until(enqueued!.id, (j) => j?.status === 'completed');
      expect(done.result).toEqual([
        'nan: RangeError: ctx.progress: a number must be a fraction in 0..1, got NaN',
        'range: RangeError: ctx.progress: a number must be a fraction in 0..1, got 1.5',
        expect.stringMatching(/^big: RangeError: ctx\.progress: value is 20\d\d bytes as JSON, over the 1024-byte limit$/),
        'function: TypeError: ctx.progress: value must be a number in 0..1 or a JSON value, got function',
        'nul: TypeError: ctx.progress: value contains NUL, which the job record cannot store',
      ]);
      expect(done.progress).toBeNull();
    });

    it('fences progress by attempt: a stale attempt never overwrites the current one, and a new attempt starts clear', async () => {
      const { store } = backend;
      const [row] = await store.jobs.enqueue([{ queue: 'fenced', name: 'fence', maxAttempts: 3 }]);
      const first = await store.jobs.claim(row!.id, 'test/fence');
      store.jobs.recordProgress(row!.id, first!.attempt, '0.25');
      expect((await until(row!.id, (j) => j?.progress !== null)).progress).toBe(0.25);
      await store.jobs.finish({ id: row!.id, attempt: first!.attempt, status: 'failed', error: { type: 'X', message: 'x' }, retryAt: new Date() });
      const second = await store.jobs.claim(row!.id, 'test/fence');
      expect(second!.attempt).toBe(2);
      expect((await system.get(row!.id))!.progress).toBeNull();
      // The late report of attempt 1, then attempt 2's own: written in order, only the second lands.
      store.jobs.recordProgress(row!.id, 1, '{"stale":true}');
      store.jobs.recordProgress(row!.id, 2, '{"current":true}');
      expect((await until(row!.id, (j) => j?.progress !== null)).progress).toEqual({ current: true });
      store.jobs.recordProgress(row!.id, 1, '0.99');
      await sleep(300);
      expect((await system.get(row!.id))!.progress).toEqual({ current: true });
    });

    it('counts malformed progress reports in store.drops() and writes none of them; a good one still lands', async () => {
      const { store } = backend;
      const [row] = await store.jobs.enqueue([{ queue: 'fenced', name: 'malformed' }]);
      const claimed = await store.jobs.claim(row!.id, 'test/malformed');
      const before = store.drops().progress;
      for (const [id, attempt, json] of [['x', 1, '0.5'], [row!.id, 0, '0.5'], [row!.id, 1, '{not json'], [row!.id, 1, `"${'a'.repeat(1100)}"`], [row!.id, 1, '"\\u0000"']] as const) {
        expect(() => store.jobs.recordProgress(id, attempt, json)).not.toThrow();
      }
      expect(store.drops().progress - before).toBe(5);
      store.jobs.recordProgress(row!.id, claimed!.attempt, '0.5');
      expect((await until(row!.id, (j) => j?.progress !== null)).progress).toBe(0.5);
      expect(store.drops().progress - before).toBe(5);
    });

    it('fails a job past its timeoutMs with type timeout, retries it per its policy, and leaves it dead; the thread is replaced, the pool healthy', async () => {
      const file = join(tmp, 'hang');
      const threadsBefore = pool.threads().map((t) => t.threadId);
      const [enqueued] = await system.enqueue([job('hang', { kind: 'hang', file }, { timeoutMs: 200, maxAttempts: 2, backoff: { type: 'fixed', delayMs: 100 } })]);
      const id = enqueued!.id;
      expect(enqueued).toMatchObject({ created: true });
      expect((await system.get(id))!.timeoutMs).toBe(200);
      const [retry] = await timeline.waitFor(id, 'job.retry');
      expect(retry!.metadata.error_type).toBe('timeout');
      const dead = await until(id, (j) => j?.status === 'dead');
      expect(dead).toMatchObject({ attempts: 2, error: { type: 'timeout', message: expect.stringContaining('exceeded its run timeoutMs 200') } });
      // Each attempt ran (and was stopped): two executions, two threads killed over the task.
      expect(readFileSync(file, 'utf8')).toBe('x\nx\n');
      expect(timeline.of(id, 'job.exception').map((e) => [e.metadata.status, e.metadata.error_type])).toEqual([['failed', 'timeout'], ['dead', 'timeout']]);
      // Replaced, not charged: the intensity (1 restart a minute) would have failed the pool otherwise.
      const deadline = Date.now() + 10_000;
      // The second replacement is reported once its thread is up, which can come after the job reads dead.
      const timeoutRestarts = (): number => restarts.filter((r) => r.reason === 'timeout').length;
      while ((pool.threads().length < 2 || timeoutRestarts() < 2) && Date.now() < deadline) await sleep(20);
      expect(pool.state).toBe('running');
      expect(pool.threads()).toHaveLength(2);
      expect(pool.threads().map((t) => t.threadId)).not.toEqual(threadsBefore);
      expect(restarts.filter((r) => r.reason === 'timeout').map((r) => r.fault)).toEqual(['task', 'task']);
      // The next job runs.
      const [next] = await system.enqueue([job('after-timeout', { kind: 'who' })]);
      expect((await until(next!.id, (j) => j?.status === 'completed')).result).toEqual(expect.any(Number));
    });

    it('a job that heeds ctx.signal at its soft deadline also fails as a timeout', async () => {
      const [enqueued] = await system.enqueue([job('heed', { kind: 'heed' }, { timeoutMs: 150, maxAttempts: 1 })]);
      const dead = await until(enqueued!.id, (j) => j?.status === 'dead');
      expect(dead.error).toEqual({ type: 'timeout', message: 'task deadline (run timeoutMs 150 ms) reached' });
    });

    it('enqueues 1000 jobs in one call as one commit, and one bad job among them writes nothing', async () => {
      const inputs: EnqueueInput[] = Array.from({ length: 1000 }, (_, i) => ({ queue: 'bulk', name: 'bulk', data: { i }, timeoutMs: 5_000 }));
      flushes.length = 0;
      const jobs = await system.enqueue(inputs);
      expect(jobs).toHaveLength(1000);
      expect(jobs.every((j) => j.created && j.status === 'queued')).toBe(true);
      expect(flushes.filter((f) => f.kind === 'enqueue').map((f) => f.rows)).toEqual([1000]);
      const [stored] = await backend.sql<{ n: number }>("SELECT count(*)::int AS n FROM jobs WHERE queue = 'bulk' AND timeout_ms = 5000");
      expect(stored!.n).toBe(1000);

      const bad = inputs.map((input, i) => (i === 517 ? { ...input, timeoutMs: 0 } : input));
      await expect(system.enqueue(bad)).rejects.toMatchObject({ code: 'PITBOSS_INVALID_JOB', message: expect.stringContaining('jobs[517].timeoutMs') });
      const [after] = await backend.sql<{ n: number }>("SELECT count(*)::int AS n FROM jobs WHERE queue = 'bulk'");
      expect(after!.n).toBe(1000);
    });
  });
}

