/**
 * The operator's job surface on a real JobSystem (real pool and threads), run against both
 * configurations (see backends.ts): retrying a dead, failed or cancelled job (it runs again as a
 * new attempt, its history kept), 409/404 cases, concurrent retries, bulk retry by filter, and
 * listing — every filter, newest first, keyset pages that show each row exactly once even while
 * jobs are being inserted.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTelemetry, JobSystem, PitbossError, type JobListQuery, type JobSummary, type Telemetry } from '../../../src/index.ts';
import type { JobDetails, JobStatus } from '../../../src/jobs/types.ts';
import { Pool } from '../../../src/pool/pool.ts';
import type { JobInput } from '../../fixtures/job-worker.ts';
import { randomName, type BackendFactory, type SystemBackend } from './backends.ts';
import { jobWorker } from './suite.ts';
import { tearDownSystem, waitForStatus } from './system-parts.ts';
import { Timeline } from './timeline.ts';

const QUEUE = 'redrive';

export function jobSearchSuite(label: string, createBackend: BackendFactory): void {
  describe(`job retry and search on ${label}`, () => {
    let bus: Telemetry;
    let timeline: Timeline;
    let backend: SystemBackend;
    let pool: Pool;
    let system: JobSystem;
    let tmp: string;

    const waitStatus = (id: string, status: JobStatus, timeoutMs?: number): Promise<JobDetails> => waitForStatus(system, id, status, timeoutMs);

    /** Every page of a listing, following `next`. */
    async function allPages(query: JobListQuery): Promise<JobSummary[][]> {
      const pages: JobSummary[][] = [];
      let cursor: string | undefined;
      do {
        const page = await system.list({ ...query, ...(cursor === undefined ? {} : { cursor }) });
        pages.push([...page.jobs]);
        cursor = page.next ?? undefined;
      } while (cursor !== undefined);
      return pages;
    }

    beforeAll(async () => {
      bus = createTelemetry();
      timeline = new Timeline(bus);
      backend = await createBackend(bus);
      pool = new Pool({ name: 'redrivepool', worker: jobWorker, threads: 2, telemetry: bus, statusIntervalMs: null, sampleIntervalMs: null });
      await pool.start();
      system = new JobSystem({
        store: backend.store, dispatcher: backend.dispatcher, telemetry: bus, supervisorId: `search-${label.replace(/\W+/g, '-')}`,
        queues: { [QUEUE]: { pool, concurrency: 4 } }, acceptQueues: '*',
        reconcile: { intervalMs: 200, heartbeatTtlMs: 3_000, graceMs: 300 },
      });
      await system.start();
      tmp = mkdtempSync(join(tmpdir(), 'pitboss-redrive-'));
    }, 60_000);

    afterAll(() => tearDownSystem({ system, pool, backend, timeline, tmp }), 30_000);

    it('retries a dead job as one more attempt: it runs again, its attempts, actions and last error kept until it ends', async () => {
      const counter = join(tmp, 'dead-counter');
      const data: JobInput = { kind: 'flaky', counter, failures: 1, steps: ['step'] };
      const [enqueued] = await system.enqueue([{ queue: QUEUE, name: 'dies', data, maxAttempts: 1 }]);
      const id = enqueued!.id;
      const dead = await waitStatus(id, 'dead');
      expect(dead).toMatchObject({ attempts: 1, maxAttempts: 1, error: { type: 'InjectedError', message: 'execution 1 fails' } });

      const retried = await system.retry(id);
      // Queued, due now, one attempt more than it had used; the last error is still readable.
      expect(retried).toMatchObject({ id, status: 'queued', attempts: 1, maxAttempts: 2, finishedAt: null, error: { message: 'execution 1 fails' } });
      expect(Math.abs(retried!.runAt.getTime() - Date.now())).toBeLessThan(5_000);
      const done = await waitStatus(id, 'completed');
      expect(done).toMatchObject({ attempts: 2, maxAttempts: 2, error: null });
      const until = Date.now() + 5_000;
      let actions = done.actions;
      while (actions.length < 2 && Date.now() < until) actions = (await system.get(id))!.actions;
      expect(actions.map((a) => [a.attempt, a.action, a.status])).toEqual([[1, 'step', 'error'], [2, 'step', 'ok']]);
      await timeline.waitFor(id, 'job.stop');
      expect(timeline.names(id, 'job.')).toEqual(['job.enqueued', 'job.start', 'job.exception', 'job.dead', 'job.retried', 'job.start', 'job.stop']);
      expect(timeline.of(id, 'job.retried')[0]).toMatchObject({ measurements: { attempt: 1 }, metadata: { queue: QUEUE, job_name: 'dies', job_id: id, status: 'dead' } });
    });

    it('retries a cancelled job, and a failed one waiting for its backoff', async () => {
      const [later] = await system.enqueue([{ queue: QUEUE, name: 'cancelled', data: { kind: 'ok', value: 'ran' }, delayMs: 60_000 }]);
      await system.cancel(later!.id);
      expect(await system.retry(later!.id)).toMatchObject({ status: 'queued', attempts: 0, maxAttempts: 3 });
      expect(await waitStatus(later!.id, 'completed')).toMatchObject({ attempts: 1, result: 'ran' });

      const counter = join(tmp, 'failed-counter');
      const [flaky] = await system.enqueue([{
        queue: QUEUE, name: 'failed', data: { kind: 'flaky', counter, failures: 1 }, maxAttempts: 3, backoff: { type: 'fixed', delayMs: 60_000 },
      }]);
      const failed = await waitStatus(flaky!.id, 'failed');
      expect(failed.runAt.getTime() - Date.now()).toBeGreaterThan(30_000);
      expect(await system.retry(flaky!.id)).toMatchObject({ status: 'queued', attempts: 1, maxAttempts: 3 });
      // Due now: it runs long before its 60 s backoff would have ended.
      expect(await waitStatus(flaky!.id, 'completed', 20_000)).toMatchObject({ attempts: 2 });
      expect(timeline.of(flaky!.id, 'job.retried')[0]!.metadata).toMatchObject({ status: 'failed' });
    }, 40_000);

    it('refuses to retry a queued, running or completed job (409, naming its state) and answers null for an unknown one', async () => {
      const [done] = await system.enqueue([{ queue: QUEUE, name: 'completes', data: { kind: 'ok' } }]);
      await waitStatus(done!.id, 'completed');
      const [slow] = await system.enqueue([{ queue: QUEUE, name: 'slow', data: { kind: 'ok', delayMs: 1_500 } }]);
      await waitStatus(slow!.id, 'running');
      const [waiting] = await system.enqueue([{ queue: QUEUE, name: 'waits', data: { kind: 'ok' }, delayMs: 60_000 }]);
      for (const [id, state] of [[done!.id, 'completed'], [slow!.id, 'running'], [waiting!.id, 'queued']] as const) {
        const error = await system.retry(id).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(PitbossError);
        expect(error).toMatchObject({ code: 'PITBOSS_JOB_NOT_RETRYABLE', message: expect.stringContaining(`is ${state}`) });
      }
      expect(await system.retry('999999999')).toBeNull();
      expect(await system.retry('not-an-id')).toBeNull();
      await system.cancel(waiting!.id);
    });

    it('makes one new attempt of two concurrent retries of one job', async () => {
      const [job] = await system.enqueue([{ queue: QUEUE, name: 'twice', data: { kind: 'ok' }, delayMs: 60_000 }]);
      await system.cancel(job!.id);
      const outcomes = await Promise.allSettled([system.retry(job!.id), system.retry(job!.id)]);
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
      expect(outcomes.find((o) => o.status === 'rejected')).toMatchObject({ reason: { code: 'PITBOSS_JOB_NOT_RETRYABLE' } });
      await waitStatus(job!.id, 'completed');
      expect(await system.get(job!.id)).toMatchObject({ attempts: 1 });
      expect(timeline.of(job!.id, 'job.retried')).toHaveLength(1);
      expect(timeline.of(job!.id, 'job.start')).toHaveLength(1);
    });

    it('retries by filter in batches, counting what it moved, and each retried job runs', async () => {
      const queue = randomName('bulk').replace(/_/g, '-');
      // Dead rows made directly: 1 200 of them spans three batches; a second error type and name stay dead.
      const insert = `INSERT INTO jobs (queue, name, status, attempts, max_attempts, finished_at, error)
        SELECT $1, $2, 'dead', 1, 1, now(), jsonb_build_object('type', $3::text, 'message', 'gave up') FROM generate_series(1, $4::int)`;
      await backend.sql(insert, [queue, 'bulk', 'Timeout', 1_200]);
      await backend.sql(insert, [queue, 'bulk', 'TypeError', 3]);
      await backend.sql(insert, [queue, 'other', 'Timeout', 2]);
      await backend.sql(`INSERT INTO jobs (queue, name, status) VALUES ($1, 'bulk', 'queued')`, [`${queue}-none`]);

      expect(await system.retryWhere({ status: 'dead', queue, name: 'bulk', errorType: 'Timeout', limit: 1_100 })).toEqual({ retried: 1_100 });
      expect(await system.retryWhere({ status: 'dead', queue, name: 'bulk', errorType: 'Timeout' })).toEqual({ retried: 100 });
      expect(await system.retryWhere({ status: 'dead', queue, name: 'bulk', errorType: 'Timeout' })).toEqual({ retried: 0 });
      expect(await system.retryWhere({ status: 'dead', queue, since: new Date(Date.now() + 60_000) })).toEqual({ retried: 0 });
      const counts = await backend.sql<{ name: string; status: string; n: number }>(
        `SELECT name, status, count(*)::int AS n FROM jobs WHERE queue = $1 GROUP BY 1, 2 ORDER BY 1, 2`, [queue]);
      expect(counts).toEqual([{ name: 'bulk', status: 'dead', n: 3 }, { name: 'bulk', status: 'queued', n: 1_200 }, { name: 'other', status: 'dead', n: 2 }]);
      expect(timeline.seen.filter((e) => e.event === 'job.retried' && e.metadata.queue === queue)).toHaveLength(1_200);
      // Each was dispatched: the consumers here do not consume this queue, so dispatch holds them.
      expect(await backend.dispatcher.count(queue)).toBe(1_200);

      await expect(system.retryWhere({ status: 'completed' as 'dead' })).rejects.toMatchObject({ code: 'PITBOSS_INVALID_JOB', field: 'state' });
      await expect(system.retryWhere({ status: 'dead', limit: 100_001 })).rejects.toMatchObject({ code: 'PITBOSS_INVALID_JOB', field: 'limit' });
      await backend.sql('DELETE FROM jobs WHERE queue = $1', [queue]);
    }, 60_000);

    it('lists by every filter newest first, each row exactly once across pages, stable under concurrent inserts', async () => {
      const queue = randomName('list').replace(/_/g, '-');
      // 120 rows over two names and three states, created a second apart (oldest first).
      await backend.sql(`INSERT INTO jobs (queue, name, status, created_at, error)
        SELECT $1, CASE WHEN i % 2 = 0 THEN 'even' ELSE 'odd' END, (ARRAY['queued', 'completed', 'dead'])[i % 3 + 1],
               now() - (200 - i) * interval '1 second', CASE WHEN i % 3 = 2 THEN '{"type":"Boom","message":"m"}'::jsonb END
        FROM generate_series(1, 120) i`, [queue]);
      const all = await backend.sql<{ id: string; name: string; status: string; created_at: Date }>(
        'SELECT id::text AS id, name, status, created_at FROM jobs WHERE queue = $1 ORDER BY created_at DESC, id DESC', [queue]);
      const ids = (rows: readonly { id: string }[]): string[] => rows.map((r) => r.id);

      const pages = await allPages({ queue, limit: 7 });
      expect(pages.slice(0, -1).every((p) => p.length === 7)).toBe(true);
      expect(ids(pages.flat())).toEqual(ids(all));
      expect(pages[0]![0]).toMatchObject({ queue, name: all[0]!.name, status: all[0]!.status, attempts: 0, maxAttempts: 3 });
      expect(pages[0]![0]).not.toHaveProperty('payload');
      expect(pages.flat().find((j) => j.status === 'dead')).toMatchObject({ error: { type: 'Boom', message: 'm' } });

      const dead = all.filter((r) => r.status === 'dead');
      expect(ids((await allPages({ queue, status: 'dead', limit: 10 })).flat())).toEqual(ids(dead));
      expect(ids((await allPages({ queue, name: 'even', limit: 9 })).flat())).toEqual(ids(all.filter((r) => r.name === 'even')));
      expect(ids((await allPages({ queue, name: 'odd', status: 'completed', limit: 5 })).flat()))
        .toEqual(ids(all.filter((r) => r.name === 'odd' && r.status === 'completed')));
      const since = all[80]!.created_at;
      const until = all[20]!.created_at;
      expect(ids((await allPages({ queue, since, until, limit: 11 })).flat())).toEqual(ids(all.slice(21, 81)));
      const everyDead = (await allPages({ status: 'dead', limit: 500 })).flat();
      expect(everyDead.filter((j) => j.queue === queue).map((j) => j.id)).toEqual(ids(dead));

      // Inserts while paging: the pages still show each of the first rows once, in order, and none of the new ones.
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await system.list({ queue, limit: 13, ...(cursor === undefined ? {} : { cursor }) });
        seen.push(...page.jobs.map((j) => j.id));
        cursor = page.next ?? undefined;
        await system.enqueue([{ queue, name: 'late', data: null, delayMs: 60_000 }]);
      } while (cursor !== undefined);
      expect(seen).toEqual(ids(all));
      expect((await system.list({ queue, limit: 1 })).jobs[0]).toMatchObject({ name: 'late' });

      expect(await system.list({ queue: `${queue}-empty` })).toEqual({ jobs: [], next: null });
      await expect(system.list({ cursor: 'bm9wZQ' })).rejects.toMatchObject({ code: 'PITBOSS_INVALID_JOB', field: 'cursor' });
      await expect(system.list({ limit: 501 })).rejects.toMatchObject({ code: 'PITBOSS_INVALID_JOB', field: 'limit' });
      await expect(system.list({ status: 'lost' as JobStatus })).rejects.toMatchObject({ code: 'PITBOSS_INVALID_JOB', field: 'status' });
      await backend.sql('DELETE FROM jobs WHERE queue = $1', [queue]);
    }, 60_000);
  });
}
