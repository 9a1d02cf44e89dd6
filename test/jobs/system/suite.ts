/**
 * The JobSystem contract with real pools and threads, run against both configurations (see
 * backends.ts): every state transition, retries with backoff, dead letter, cancel (waiting and
 * running), idempotency, bad payloads, fencing of a stale attempt, actions recorded per attempt,
 * correlation from the enqueueing code to the thread and every event, and drain.
 *
 * Tests of one file share one system and one bus; each looks only at its own jobs. Time bounds are
 * lower bounds with generous upper waits, so they hold on a loaded machine.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTelemetry, JobSystem, PitbossError, withCorrelation, type Telemetry } from '../../../src/index.ts';
import { formatTraceparent, newSpanId, newTraceId, parseTraceparent } from '../../../src/telemetry/correlation.ts';
import { Pool } from '../../../src/pool/pool.ts';
import type { JobStore } from '../../../src/jobs/store/index.ts';
import type { EnqueueInput, FinishInput, JobDetails, JobStatus } from '../../../src/jobs/types.ts';
import type { JobInput } from '../../fixtures/job-worker.ts';
import type { BackendFactory, SystemBackend } from './backends.ts';
import { tearDownSystem, waitForStatus } from './system-parts.ts';
import { Timeline } from './timeline.ts';

export const jobWorker = new URL('../../fixtures/job-worker.ts', import.meta.url);
const QUEUE = 'jobs';
const POOL = 'jobpool';
/** Timers and database clocks: allow this much below a lower bound. */
const SLACK_MS = 25;
const HEARTBEAT_TTL_MS = 3_000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The store as the system sees it, with every finish it asked for and what the store answered. */
function recordingFinishes(store: JobStore): { store: JobStore; finishes: { input: FinishInput; written: boolean }[] } {
  const finishes: { input: FinishInput; written: boolean }[] = [];
  const bound = <T extends object>(target: T, key: string | symbol): unknown => {
    const value: unknown = Reflect.get(target, key, target);
    return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
  };
  const jobs = new Proxy(store.jobs, {
    get(target, key) {
      if (key === 'finish') {
        return async (input: FinishInput) => {
          const written = await target.finish(input);
          finishes.push({ input, written });
          return written;
        };
      }
      return bound(target, key);
    },
  });
  const proxy = new Proxy(store, { get: (target, key) => (key === 'jobs' ? jobs : bound(target, key)) });
  return { store: proxy, finishes };
}

export function jobSystemSuite(label: string, createBackend: BackendFactory): void {
  describe(`JobSystem on ${label}`, () => {
    let bus: Telemetry;
    let timeline: Timeline;
    let backend: SystemBackend;
    let pool: Pool;
    let system: JobSystem;
    let tmp: string;
    let finishes: { input: FinishInput; written: boolean }[];

    const job = (name: string, data: JobInput, options: Partial<EnqueueInput> = {}): EnqueueInput => ({ queue: QUEUE, name, data, ...options });

    const waitStatus = (id: string, status: JobStatus, timeoutMs?: number): Promise<JobDetails> => waitForStatus(system, id, status, timeoutMs);

    beforeAll(async () => {
      bus = createTelemetry();
      timeline = new Timeline(bus);
      backend = await createBackend(bus);
      pool = new Pool({ name: POOL, worker: jobWorker, threads: 2, telemetry: bus, statusIntervalMs: null, sampleIntervalMs: null });
      await pool.start();
      const recorded = recordingFinishes(backend.store);
      finishes = recorded.finishes;
      system = new JobSystem({
        store: recorded.store, dispatcher: backend.dispatcher, telemetry: bus, supervisorId: `suite-${label.replace(/\W+/g, '-')}`,
        queues: { [QUEUE]: { pool, concurrency: 4 } },
        // Queues nobody consumes, declared so the idempotency and validation cases can write to them.
        acceptQueues: ['unconsumed', 'rejected'],
        reconcile: { intervalMs: 200, heartbeatTtlMs: HEARTBEAT_TTL_MS, graceMs: 300 },
      });
      await system.start();
      tmp = mkdtempSync(join(tmpdir(), 'pitboss-jobsys-'));
    }, 60_000);

    afterAll(() => tearDownSystem({ system, pool, backend, timeline, tmp }), 30_000);

    it('queued → running → completed, with job.enqueued, job.start and job.stop', async () => {
      const [enqueued] = await system.enqueue([job('lifecycle', { kind: 'ok', value: { n: 1 }, delayMs: 600 }, { delayMs: 300 })]);
      expect(enqueued).toMatchObject({ created: true, status: 'queued', queue: QUEUE, name: 'lifecycle', maxAttempts: 3 });
      const id = enqueued!.id;
      expect(await system.get(id)).toMatchObject({ status: 'queued', attempts: 0, startedAt: null, claimedBy: null });

      const running = await waitStatus(id, 'running');
      expect(running).toMatchObject({ attempts: 1, claimedBy: `${system.supervisorId}/${POOL}`, finishedAt: null });
      const done = await waitStatus(id, 'completed');
      expect(done).toMatchObject({ attempts: 1, result: { n: 1 }, error: null });
      // Not claimed before its delay; finished after the worker's 600 ms.
      expect(done.startedAt!.getTime() - done.createdAt.getTime()).toBeGreaterThanOrEqual(300 - SLACK_MS);
      expect(done.finishedAt!.getTime() - done.startedAt!.getTime()).toBeGreaterThanOrEqual(600 - SLACK_MS);

      await timeline.waitFor(id, 'job.stop'); // emitted once the finish committed: the row can be seen first
      expect(timeline.names(id, 'job.')).toEqual(['job.enqueued', 'job.start', 'job.stop']);
      const [stop] = timeline.of(id, 'job.stop');
      expect(stop!.metadata).toMatchObject({ queue: QUEUE, job_name: 'lifecycle', job_id: id, status: 'completed' });
      expect(stop!.measurements.attempt).toBe(1);
      expect(stop!.measurements.duration).toBeGreaterThanOrEqual((600 - SLACK_MS) * 1e6);
      expect(timeline.of(id, 'job.start')[0]!.measurements).toMatchObject({ attempt: 1, queue_time: expect.any(Number) });
    });

    it('retries a failed attempt after its backoff and completes on a later attempt, recording actions per attempt', async () => {
      const counter = join(tmp, 'retry-counter');
      const [enqueued] = await system.enqueue([job('flaky', { kind: 'flaky', counter, failures: 2, steps: ['load', 'save'] }, {
        maxAttempts: 4, backoff: { type: 'exponential', delayMs: 800 },
      })]);
      const id = enqueued!.id;

      // Between attempts the row says failed, with the error and the time of the next attempt.
      await timeline.waitFor(id, 'job.retry');
      const waiting = await system.get(id);
      expect(waiting).toMatchObject({ status: 'failed', attempts: 1, error: { type: 'InjectedError', message: 'execution 1 fails' }, finishedAt: null });
      expect(waiting!.runAt.getTime()).toBeGreaterThan(Date.now());

      const done = await waitStatus(id, 'completed');
      expect(done).toMatchObject({ attempts: 3, result: { execution: 3 }, error: null });
      // job.stop follows the row's write (it is emitted once the finish committed): the row can be seen first.
      await timeline.waitFor(id, 'job.stop');

      const starts = timeline.of(id, 'job.start');
      const exceptions = timeline.of(id, 'job.exception');
      expect(starts.map((e) => e.measurements.attempt)).toEqual([1, 2, 3]);
      expect(exceptions.map((e) => [e.measurements.attempt, e.metadata.status, e.metadata.error_type])).toEqual([[1, 'failed', 'InjectedError'], [2, 'failed', 'InjectedError']]);
      expect(timeline.of(id, 'job.retry').map((e) => e.measurements.attempt)).toEqual([1, 2]);
      expect(timeline.of(id, 'job.stop').map((e) => e.measurements.attempt)).toEqual([3]);
      // Exponential backoff: 800 ms after the first failure, 1600 ms after the second.
      expect(starts[1]!.at - exceptions[0]!.at).toBeGreaterThanOrEqual(800 - SLACK_MS);
      expect(starts[2]!.at - exceptions[1]!.at).toBeGreaterThanOrEqual(1600 - SLACK_MS);

      // Actions land in job_actions with the attempt that ran them (fire-and-forget writes: poll).
      let actions: JobDetails['actions'] = [];
      const until = Date.now() + 10_000;
      while ((actions = (await system.get(id))!.actions).length < 6 && Date.now() < until) await sleep(20);
      expect(actions.map((a) => [a.attempt, a.action, a.status])).toEqual([
        [1, 'load', 'ok'], [1, 'save', 'error'], [2, 'load', 'ok'], [2, 'save', 'error'], [3, 'load', 'ok'], [3, 'save', 'ok'],
      ]);
      expect(actions.filter((a) => a.status === 'error').map((a) => a.error)).toEqual(['execution 1 fails', 'execution 2 fails']);
      expect(actions.every((a) => a.jobId === id && a.duration >= 1e6)).toBe(true);
      // The action events name their job (joined from the task's metadata in the thread).
      expect(timeline.names(id, 'action.')).toHaveLength(12);
      for (const e of timeline.of(id).filter((x) => x.event.startsWith('action.'))) {
        expect(e.metadata).toMatchObject({ queue: QUEUE, job_name: 'flaky', job_id: id, pool: POOL });
      }
      expect(timeline.of(id, 'action.exception').map((e) => [e.metadata.action, e.metadata.error_type])).toEqual([['save', 'InjectedError'], ['save', 'InjectedError']]);
    });

    it('marks a job dead after maxAttempts and runs it no more', async () => {
      const [enqueued] = await system.enqueue([job('doomed', { kind: 'throw', message: 'always' }, { maxAttempts: 2, backoff: { type: 'fixed', delayMs: 50 } })]);
      const id = enqueued!.id;
      const dead = await waitStatus(id, 'dead');
      expect(dead).toMatchObject({ attempts: 2, result: null, error: { type: 'InjectedError', message: 'always' } });
      expect(dead.finishedAt).toBeInstanceOf(Date);
      await timeline.waitFor(id, 'job.dead');
      expect(timeline.names(id, 'job.')).toEqual(['job.enqueued', 'job.start', 'job.exception', 'job.retry', 'job.start', 'job.exception', 'job.dead']);
      expect(timeline.of(id, 'job.exception').map((e) => e.metadata.status)).toEqual(['failed', 'dead']);
      expect(timeline.of(id, 'job.dead')[0]).toMatchObject({ measurements: { attempt: 2 }, metadata: { error_type: 'InjectedError' } });
      await sleep(800); // several reconcile passes: a dead job is never dispatched again
      expect(await system.get(id)).toMatchObject({ status: 'dead', attempts: 2 });
      expect(timeline.of(id, 'job.start')).toHaveLength(2);
    });

    it('fails an attempt whose result the store refuses, with the reason, and retries it until dead', async () => {
      // The default store keeps results up to 256 KiB; this one returns 300 KiB.
      const [enqueued] = await system.enqueue([job('too-big', { kind: 'big', bytes: 300 * 1024 }, { maxAttempts: 2, backoff: { type: 'fixed', delayMs: 50 } })]);
      const id = enqueued!.id;
      const dead = await waitStatus(id, 'dead');
      expect(dead).toMatchObject({ attempts: 2, result: null, error: { message: expect.stringMatching(/^result is \d+ bytes as JSON, over the 262144-byte limit/) } });
      await timeline.waitFor(id, 'job.dead');
      expect(timeline.names(id, 'job.')).toEqual(['job.enqueued', 'job.start', 'job.exception', 'job.retry', 'job.start', 'job.exception', 'job.dead']);
      expect(timeline.of(id, 'job.stop')).toHaveLength(0);
    });

    it('cancels a queued job and a job waiting for its retry; neither runs again', async () => {
      const [queued, flaky] = await system.enqueue([
        job('later', { kind: 'ok' }, { delayMs: 60_000 }),
        job('retry-later', { kind: 'flaky', counter: join(tmp, 'cancel-counter'), failures: 5 }, { backoff: { type: 'fixed', delayMs: 60_000 } }),
      ]);
      const cancelled = await system.cancel(queued!.id);
      expect(cancelled).toMatchObject({ id: queued!.id, status: 'cancelled', attempts: 0 });
      expect(cancelled!.finishedAt).toBeInstanceOf(Date);
      await timeline.waitFor(flaky!.id, 'job.retry');
      expect(await system.cancel(flaky!.id)).toMatchObject({ status: 'cancelled', attempts: 1 });

      // Cancelling again returns the job unchanged, without a second event; unknown ids are null.
      expect(await system.cancel(queued!.id)).toMatchObject({ status: 'cancelled' });
      expect(await system.cancel('987654321')).toBeNull();
      expect(await system.cancel('not-an-id')).toBeNull();
      await sleep(800);
      expect(await system.get(queued!.id)).toMatchObject({ status: 'cancelled', attempts: 0 });
      expect(await system.get(flaky!.id)).toMatchObject({ status: 'cancelled', attempts: 1 });
      expect(timeline.names(queued!.id, 'job.')).toEqual(['job.enqueued', 'job.cancelled']);
      expect(timeline.names(flaky!.id, 'job.')).toEqual(['job.enqueued', 'job.start', 'job.exception', 'job.retry', 'job.cancelled']);
      expect(timeline.of(queued!.id, 'job.cancelled')[0]).toMatchObject({ measurements: { attempt: 0 }, metadata: { status: 'cancelled' } });
    });

    it('cancels a running job: the attempt is aborted at once and its finish is fenced out', async () => {
      const [enqueued] = await system.enqueue([job('long', { kind: 'ok', value: 'too late', delayMs: 30_000 })]);
      const id = enqueued!.id;
      await timeline.waitFor(id, 'job.start');
      const started = performance.now();
      expect(await system.cancel(id)).toMatchObject({ status: 'cancelled', attempts: 1 });
      // The thread is terminated, not waited for: nothing of this job is in flight long before 30 s.
      const until = Date.now() + 10_000;
      while (system.inFlight > 0 && Date.now() < until) await sleep(10);
      expect(system.inFlight).toBe(0);
      expect(performance.now() - started).toBeLessThan(10_000);
      await sleep(500);
      expect(await system.get(id)).toMatchObject({ status: 'cancelled', attempts: 1, result: null });
      expect(timeline.names(id, 'job.')).toEqual(['job.enqueued', 'job.start', 'job.cancelled']);
      // The aborted attempt did report its failure, and the store refused it: attempt 1 no longer owns the job.
      expect(finishes.filter((f) => f.input.id === id).map((f) => [f.input.attempt, f.input.status, f.written])).toEqual([[1, 'failed', false]]);
      // The pool replaced the thread and takes the next job.
      const [next] = await system.enqueue([job('after-cancel', { kind: 'ok', value: 7 })]);
      expect(await waitStatus(next!.id, 'completed')).toMatchObject({ result: 7, attempts: 1 });
    });

    it('returns the existing job for a repeated idempotency key and runs it once', async () => {
      const key = `key-${Math.random().toString(36).slice(2)}`;
      const [first] = await system.enqueue([job('once', { kind: 'ok', value: 'first' }, { idempotencyKey: key })]);
      const [again, twice] = await system.enqueue([
        job('once', { kind: 'ok', value: 'second' }, { idempotencyKey: key }),
        job('once', { kind: 'ok', value: 'third' }, { idempotencyKey: key }),
      ]);
      const concurrent = await Promise.all(Array.from({ length: 5 }, () => system.enqueue([job('once', { kind: 'ok' }, { idempotencyKey: key })])));
      expect(first!.created).toBe(true);
      for (const other of [again!, twice!, ...concurrent.flat()]) expect(other).toMatchObject({ id: first!.id, created: false });
      // The key is per queue.
      const [elsewhere] = await system.enqueue([{ queue: 'unconsumed', name: 'once', idempotencyKey: key }]);
      expect(elsewhere).toMatchObject({ created: true });
      expect(elsewhere!.id).not.toBe(first!.id);

      expect(await waitStatus(first!.id, 'completed')).toMatchObject({ result: 'first', attempts: 1 });
      const [afterwards] = await system.enqueue([job('once', { kind: 'ok' }, { idempotencyKey: key })]);
      expect(afterwards).toMatchObject({ id: first!.id, created: false, status: 'completed' });
      await sleep(300);
      expect(timeline.names(first!.id, 'job.')).toEqual(['job.enqueued', 'job.start', 'job.stop']);
    });

    it('refuses bad payloads with PITBOSS_INVALID_JOB naming the field, and writes no row of the call', async () => {
      const circular: Record<string, unknown> = {};
      circular.self = circular;
      const good = { queue: 'rejected', name: 'fine', data: { ok: true } };
      const cases: [unknown, string][] = [
        [{ ...good, data: { fn: () => 1 } }, 'jobs[1].data.fn'],
        [{ ...good, data: { n: 10n } }, 'jobs[1].data.n'],
        [{ ...good, data: { nan: Number.NaN } }, 'jobs[1].data.nan'],
        [{ ...good, data: circular }, 'jobs[1].data.self'],
        [{ ...good, data: { blob: 'x'.repeat(300 * 1024) } }, 'jobs[1].data'],
        [{ ...good, data: new Map() }, 'jobs[1].data'],
        [{ ...good, queue: 'a:b' }, 'jobs[1].queue'],
        [{ ...good, maxAttempts: 0 }, 'jobs[1].maxAttempts'],
        [{ ...good, backoff: { type: 'linear', delayMs: 5 } }, 'jobs[1].backoff.type'],
        [null, 'jobs[1]'],
      ];
      for (const [bad, field] of cases) {
        const error = await system.enqueue([good, bad as EnqueueInput]).then(() => null, (e: unknown) => e);
        expect(error, field).toBeInstanceOf(PitbossError);
        expect(error, field).toMatchObject({ code: 'PITBOSS_INVALID_JOB', field });
      }
      const rows = await backend.sql<{ n: number }>("SELECT count(*)::int AS n FROM jobs WHERE queue IN ('rejected', 'a:b')");
      expect(rows[0]!.n).toBe(0);
      expect(timeline.seen.filter((e) => e.metadata.queue === 'rejected')).toEqual([]);
    });

    it('ignores a stale attempt: the finish of an attempt that lost the job changes nothing', async () => {
      // A claimer that never heartbeats (a supervisor that died right after claiming): after the
      // heartbeat TTL the reconciler requeues the job as attempt 2 and this system runs it.
      const [enqueued] = await backend.store.jobs.enqueue([job('fenced', { kind: 'ok', value: 'fresh', delayMs: 600 })]);
      const id = enqueued!.id;
      const stale = await backend.store.jobs.claim(id, 'ghost-supervisor/pool');
      expect(stale).toMatchObject({ attempt: 1 });
      const [stalled] = await timeline.waitFor(id, 'job.stalled', 1, HEARTBEAT_TTL_MS + 15_000);
      expect(stalled!.measurements.attempt).toBe(1);
      const [start] = await timeline.waitFor(id, 'job.start');
      expect(start!.measurements.attempt).toBe(2);

      // While attempt 2 runs, attempt 1 reports back late: ignored.
      expect(await backend.store.jobs.finish({ id, attempt: 1, status: 'completed', result: 'stale' })).toBe(false);
      expect(await system.get(id)).toMatchObject({ status: 'running', attempts: 2, claimedBy: `${system.supervisorId}/${POOL}` });
      const done = await waitStatus(id, 'completed');
      expect(done).toMatchObject({ attempts: 2, result: 'fresh', error: null });

      // And after attempt 2 completed, no late write of attempt 1 can reopen or rewrite it.
      const error = { type: 'Late', message: 'from attempt 1' };
      expect(await backend.store.jobs.finish({ id, attempt: 1, status: 'completed', result: 'stale' })).toBe(false);
      expect(await backend.store.jobs.finish({ id, attempt: 1, status: 'failed', error, retryAt: new Date() })).toBe(false);
      expect(await backend.store.jobs.finish({ id, attempt: 1, status: 'dead', error })).toBe(false);
      expect(await system.get(id)).toMatchObject({ status: 'completed', attempts: 2, result: 'fresh', error: null });
      expect(timeline.names(id, 'job.')).toEqual(['job.stalled', 'job.start', 'job.stop']);
    });

    it('carries the enqueueing correlation into the row, the thread, and every job and action event of the job', async () => {
      const correlationId = `corr-${newSpanId()}`;
      const parent = formatTraceparent({ traceId: newTraceId(), spanId: newSpanId() });
      const [traced, failing, waiting] = await withCorrelation({ correlationId, traceparent: parent }, () => system.enqueue([
        job('traced', { kind: 'context' }),
        job('traced-fail', { kind: 'flaky', counter: join(tmp, 'traced-counter'), failures: 5, steps: ['step'] }, { maxAttempts: 2, backoff: { type: 'fixed', delayMs: 50 } }),
        job('traced-cancel', { kind: 'ok' }, { delayMs: 60_000 }),
      ]));
      const row = await system.get(traced!.id);
      expect(row!.correlationId).toBe(correlationId);
      // The job is a child span of the enqueueing context: same trace, its own span.
      expect(parseTraceparent(row!.traceparent!)!.traceId).toBe(parseTraceparent(parent)!.traceId);
      expect(row!.traceparent).not.toBe(parent);
      const traceparent = row!.traceparent!;

      const done = await waitStatus(traced!.id, 'completed');
      expect(done.result).toEqual({ correlationId, traceparent, tracestate: null });
      await waitStatus(failing!.id, 'dead');
      // Cancelled later, from outside any correlation: the event still belongs to the job's.
      await system.cancel(waiting!.id);

      const ids = [traced!.id, failing!.id, waiting!.id];
      const events = timeline.seen.filter((e) => ids.includes(e.metadata.job_id as string));
      expect(new Set(events.map((e) => e.event))).toEqual(new Set([
        'job.enqueued', 'job.start', 'job.stop', 'job.exception', 'job.retry', 'job.dead', 'job.cancelled',
        'action.start', 'action.stop', 'action.exception',
      ]));
      for (const e of events) expect({ event: e.event, correlation_id: e.metadata.correlation_id, traceparent: e.metadata.traceparent }).toEqual({ event: e.event, correlation_id: correlationId, traceparent });

      // Without an enclosing correlation, each enqueue call starts its own.
      const [fresh] = await system.enqueue([job('untraced', { kind: 'context' })]);
      const freshRow = await waitStatus(fresh!.id, 'completed');
      expect(freshRow.correlationId).toMatch(/^[0-9a-f-]{36}$/);
      expect(parseTraceparent(freshRow.traceparent!)).not.toBeNull();
      expect(freshRow.result).toEqual({ correlationId: freshRow.correlationId, traceparent: freshRow.traceparent, tracestate: null });
    });

    it('keeps the enqueueing context\'s W3C tracestate with the job: the row and the thread carry it unchanged', async () => {
      const parent = formatTraceparent({ traceId: newTraceId(), spanId: newSpanId() });
      const tracestate = 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE';
      const [traced] = await withCorrelation({ traceparent: parent, tracestate }, () => system.enqueue([job('traced-state', { kind: 'context' })]));
      const done = await waitStatus(traced!.id, 'completed');
      expect(done.tracestate).toBe(tracestate);
      expect(done.result).toEqual({ correlationId: done.correlationId, traceparent: done.traceparent, tracestate });
    });

    it('carries a job\'s correlation into job.stalled when its claimer is lost', async () => {
      const correlationId = `corr-${newSpanId()}`;
      const [enqueued] = await withCorrelation({ correlationId }, () => system.enqueue([job('traced-stall', { kind: 'ok', delayMs: 60_000 }, { delayMs: 60_000 })]));
      const id = enqueued!.id;
      // Make it due and let a claimer that never heartbeats take it.
      await backend.sql('UPDATE jobs SET run_at = now() WHERE id = $1::bigint', [id]);
      expect(await backend.store.jobs.claim(id, 'ghost-supervisor/pool')).toMatchObject({ attempt: 1 });
      const [stalled] = await timeline.waitFor(id, 'job.stalled', 1, HEARTBEAT_TTL_MS + 15_000);
      expect(stalled!.metadata.correlation_id).toBe(correlationId);
      await system.cancel(id);
    });

    it('runs a few hundred jobs to completion, each exactly once', async () => {
      const jobs = await system.enqueue(Array.from({ length: 300 }, (_, i) => job('bulk', { kind: 'ok', value: i })));
      const ids = jobs.map((j) => j.id);
      expect(new Set(ids).size).toBe(300);
      const until = Date.now() + 60_000;
      for (;;) {
        const [row] = await backend.sql<{ n: number }>("SELECT count(*)::int AS n FROM jobs WHERE id = ANY($1::bigint[]) AND status = 'completed'", [ids]);
        if (row!.n === 300) break;
        if (Date.now() > until) throw new Error(`only ${row!.n} of 300 jobs completed`);
        await sleep(50);
      }
      const rows = await backend.sql<{ id: string; attempts: number; result: unknown }>('SELECT id::text AS id, attempts, result FROM jobs WHERE id = ANY($1::bigint[]) ORDER BY jobs.id', [ids]);
      expect(rows.every((r) => r.attempts === 1)).toBe(true);
      expect(rows.map((r) => r.result)).toEqual(Array.from({ length: 300 }, (_, i) => i));
      for (const id of ids) expect(timeline.of(id, 'job.stop')).toHaveLength(1);
      const stats = (await system.queues()).find((q) => q.queue === QUEUE);
      expect(stats).toMatchObject({ queued: 0, running: 0 });
    });

    it('a claim this supervisor lost track of is requeued after abandonAfterMs; a long job it runs is not', async () => {
      const queue = 'lost-claims';
      const supervisorId = `sweeper-${label.replace(/\W+/g, '-')}`;
      const sweeper = new JobSystem({
        store: backend.store, dispatcher: backend.dispatcher, telemetry: bus, supervisorId,
        queues: { [queue]: { pool, concurrency: 2 } }, reconcile: { intervalMs: 200, heartbeatTtlMs: HEARTBEAT_TTL_MS, graceMs: 300, abandonAfterMs: 1_500 },
      });
      await sweeper.start();
      try {
        const [long] = await sweeper.enqueue([{ queue, name: 'long', data: { kind: 'ok', value: 'long', delayMs: 3_000 } as JobInput }]);
        await timeline.waitFor(long!.id, 'job.start');
        // As if the claim's reply never came back: the row says running under this supervisor, which runs nothing for it.
        const [lost] = await backend.store.jobs.enqueue([{ queue, name: 'lost', data: { kind: 'ok', value: 'found' } as JobInput }]);
        expect(await backend.store.jobs.claim(lost!.id, `${supervisorId}/${POOL}`)).toMatchObject({ attempt: 1 });
        expect(await waitStatus(lost!.id, 'completed', 20_000)).toMatchObject({ attempts: 2, result: 'found' });
        expect(timeline.names(lost!.id, 'job.')).toEqual(['job.stalled', 'job.start', 'job.stop']);
        // The long job was past abandonAfterMs while it ran, and was left alone: one attempt, one stop.
        expect(await waitStatus(long!.id, 'completed', 20_000)).toMatchObject({ attempts: 1, result: 'long' });
        expect(timeline.of(long!.id, 'job.stop')).toHaveLength(1);
      } finally {
        await sweeper.stop(5_000);
      }
    });

    it('stop drains: in-flight jobs finish, jobs not started stay queued for another supervisor', async () => {
      const queue = 'drained';
      const draining = new JobSystem({
        store: backend.store, dispatcher: backend.dispatcher, telemetry: bus, supervisorId: `drain-${label.replace(/\W+/g, '-')}`,
        queues: { [queue]: { pool, concurrency: 2 } }, reconcile: { intervalMs: 200, heartbeatTtlMs: HEARTBEAT_TTL_MS, graceMs: 300 },
      });
      await draining.start();
      const jobs = await draining.enqueue(Array.from({ length: 5 }, (_, i) => ({ queue, name: 'slow', data: { kind: 'ok', value: i, delayMs: 700 } as JobInput })));
      await timeline.waitFor(jobs[0]!.id, 'job.start');
      const inFlight = jobs.filter((j) => timeline.of(j.id, 'job.start').length > 0).map((j) => j.id);
      expect(inFlight.length).toBeGreaterThan(0);
      await draining.stop(10_000);
      expect(draining.state).toBe('stopped');
      expect(draining.inFlight).toBe(0);
      const after = await Promise.all(jobs.map((j) => system.get(j.id)));
      const started = jobs.filter((j) => timeline.of(j.id, 'job.start').length > 0).map((j) => j.id);
      // Everything it started, it finished; nothing is left running or lost.
      for (const row of after) {
        if (started.includes(row!.id)) expect(row).toMatchObject({ status: 'completed', attempts: 1 });
        else expect(row).toMatchObject({ status: 'queued', attempts: 0 });
      }
      expect(started.length).toBeLessThan(5);

      // Another supervisor of that queue takes the rest.
      const successor = new JobSystem({
        store: backend.store, dispatcher: backend.dispatcher, telemetry: bus, supervisorId: `successor-${label.replace(/\W+/g, '-')}`,
        queues: { [queue]: { pool, concurrency: 2 } }, reconcile: { intervalMs: 200, heartbeatTtlMs: HEARTBEAT_TTL_MS, graceMs: 300 },
      });
      await successor.start();
      try {
        for (const j of jobs) expect(await waitStatus(j.id, 'completed', 20_000)).toMatchObject({ attempts: 1 });
      } finally {
        await successor.stop(5_000);
      }
    });
  });
}
