/**
 * Store conformance, part 3: retention. `prune` deletes finished jobs past their status's age (with
 * their actions), old thread lifecycle rows and long-silent supervisors — bounded, oldest first — and
 * nothing a live job or supervisor still needs. Rows are aged by moving their timestamps back.
 */
import { describe, expect, it } from 'vitest';
import { captureEvents, createTelemetry } from '../../../src/index.ts';
import type { RetentionPolicy } from '../../../src/jobs/types.ts';
import { eventually, randomName, uniqueQueue, type StoreHarness } from './harness.ts';

const HOUR_MS = 3_600_000;
const boom = { type: 'Error', message: 'boom' };
/** Jobs only: fleet history is kept, so tests of one kind do not touch another's rows. */
const jobsOnly: RetentionPolicy = { completedMs: HOUR_MS, deadMs: HOUR_MS, cancelledMs: HOUR_MS, fleetHistoryMs: null, limit: 1000 };

export function storeRetentionConformance(harness: () => StoreHarness): void {
  describe('retention', () => {
    it('deletes finished jobs past their age with their actions, and keeps waiting, running and recent ones', async () => {
      const h = harness();
      const bus = createTelemetry();
      const store = await h.open({ telemetry: bus });
      const pruned = captureEvents(bus, 'store.flush');
      const queue = uniqueQueue();
      const names = ['completed-old', 'completed-new', 'dead-old', 'cancelled-old', 'failed-old', 'queued-old', 'running-old'];
      const jobs = await store.jobs.enqueue(names.map((name) => ({ queue, name, maxAttempts: 2 })));
      const id = (name: string): string => jobs[names.indexOf(name)]!.id;
      for (const name of ['completed-old', 'completed-new', 'dead-old', 'failed-old', 'running-old']) await store.jobs.claim(id(name), 's/p');
      await store.jobs.finish({ id: id('completed-old'), attempt: 1, status: 'completed', result: 1 });
      await store.jobs.finish({ id: id('completed-new'), attempt: 1, status: 'completed', result: 2 });
      await store.jobs.finish({ id: id('dead-old'), attempt: 1, status: 'dead', error: boom });
      await store.jobs.finish({ id: id('failed-old'), attempt: 1, status: 'failed', error: boom, retryAt: new Date() });
      await store.jobs.cancel(id('cancelled-old'));
      store.jobs.recordActions([{ jobId: id('completed-old'), attempt: 1, action: 'step', status: 'ok', duration: 1, error: null }]);
      await eventually(async () => ((await store.jobs.get(id('completed-old')))?.actions.length ?? 0) === 1, 5_000, 'the action row');
      const old = names.filter((n) => n.endsWith('-old')).map(id);
      await h.sql("UPDATE jobs SET finished_at = finished_at - interval '2 hours', updated_at = now() - interval '2 hours', created_at = now() - interval '2 hours' WHERE id = ANY($1::bigint[])", [old]);

      const counts = await store.retention.prune(jobsOnly);
      expect(counts).toMatchObject({ workerEvents: 0, supervisors: 0 });
      expect(counts.completed).toBeGreaterThanOrEqual(1);
      expect(counts.dead).toBeGreaterThanOrEqual(1);
      expect(counts.cancelled).toBeGreaterThanOrEqual(1);
      const left = await Promise.all(names.map(async (name) => [name, (await store.jobs.get(id(name)))?.status ?? 'deleted']));
      expect(Object.fromEntries(left)).toEqual({
        'completed-old': 'deleted', 'completed-new': 'completed', 'dead-old': 'deleted', 'cancelled-old': 'deleted',
        'failed-old': 'failed', 'queued-old': 'queued', 'running-old': 'running',
      });
      expect(await h.sql('SELECT count(*)::int AS n FROM job_actions WHERE job_id = $1::bigint', [id('completed-old')])).toEqual([{ n: 0 }]);
      const prunes = pruned.of('store.flush').filter((e) => String(e.metadata.kind).startsWith('prune_'));
      expect(prunes.map((e) => e.metadata.kind).sort()).toEqual(['prune_cancelled', 'prune_completed', 'prune_dead']);
      expect(prunes[0]!.measurements).toMatchObject({ rows: expect.any(Number), duration: expect.any(Number) });
    });

    it('deletes at most limit rows per kind, oldest first; null keeps a kind for ever', async () => {
      const h = harness();
      const store = await h.open();
      const queue = uniqueQueue();
      const jobs = await store.jobs.enqueue(Array.from({ length: 3 }, (_, i) => ({ queue, name: `n${i}` })));
      const dead = (await store.jobs.enqueue([{ queue, name: 'dead', maxAttempts: 1 }]))[0]!;
      for (const job of [...jobs, dead]) await store.jobs.claim(job.id, 's/p');
      for (const job of jobs) await store.jobs.finish({ id: job.id, attempt: 1, status: 'completed', result: null });
      await store.jobs.finish({ id: dead.id, attempt: 1, status: 'dead', error: boom });
      // n0 finished longest ago; all older than the cut, so only the limit holds them back.
      for (const [i, job] of jobs.entries()) await h.sql(`UPDATE jobs SET finished_at = now() - interval '${10 - i} hours' WHERE id = $1::bigint`, [job.id]);
      await h.sql("UPDATE jobs SET finished_at = now() - interval '10 hours' WHERE id = $1::bigint", [dead.id]);
      const policy: RetentionPolicy = { ...jobsOnly, deadMs: null, limit: 2 };
      // Other tests' rows are recent; only these are past the hour.
      expect((await store.retention.prune(policy)).completed).toBe(2);
      expect((await Promise.all(jobs.map((j) => store.jobs.get(j.id)))).map((j) => j?.name ?? null)).toEqual([null, null, 'n2']);
      expect((await store.retention.prune(policy)).completed).toBe(1);
      expect((await store.retention.prune(policy)).completed).toBe(0);
      expect(await store.jobs.get(dead.id)).toMatchObject({ status: 'dead' });
    });

    it('deletes old thread history and supervisors long silent, but not one that still has a running job', async () => {
      const h = harness();
      const store = await h.open();
      const [quiet, busy, fresh] = [randomName('quiet'), randomName('busy'), randomName('fresh')];
      for (const id of [quiet, busy, fresh]) await store.fleet.heartbeat({ id, host: 'h', pid: 1 });
      await h.sql("UPDATE supervisors SET heartbeat_at = now() - interval '3 days' WHERE id = ANY($1::text[])", [[quiet, busy]]);
      const [running] = await store.jobs.enqueue([{ queue: uniqueQueue(), name: 'held' }]);
      await store.jobs.claim(running!.id, `${busy}/pool`);
      await h.sql(`INSERT INTO worker_events (supervisor, pool, worker_id, event, at)
        VALUES ($1, 'p', '0', 'pool.worker.terminated', now() - interval '3 days'), ($1, 'p', '1', 'pool.worker.terminated', now())`, [quiet]);

      const counts = await store.retention.prune({ completedMs: null, deadMs: null, cancelledMs: null, fleetHistoryMs: 2 * 24 * HOUR_MS, limit: 1000 });
      expect(counts).toMatchObject({ completed: 0, dead: 0, cancelled: 0 });
      expect(counts.workerEvents).toBeGreaterThanOrEqual(1);
      const supervisors = await h.sql<{ id: string }>('SELECT id FROM supervisors WHERE id = ANY($1::text[]) ORDER BY id', [[quiet, busy, fresh]]);
      expect(supervisors.map((s) => s.id).sort()).toEqual([busy, fresh].sort());
      expect(await h.sql('SELECT worker_id FROM worker_events WHERE supervisor = $1', [quiet])).toEqual([{ worker_id: '1' }]);
    });

    it('refuses a malformed policy naming the field', async () => {
      const store = await harness().open();
      await expect(store.retention.prune({ ...jobsOnly, completedMs: 0 })).rejects.toMatchObject({ code: 'PITBOSS_INVALID_JOB', field: 'retention.completedMs' });
      await expect(store.retention.prune({ ...jobsOnly, fleetHistoryMs: 1.5 })).rejects.toMatchObject({ code: 'PITBOSS_INVALID_JOB', field: 'retention.fleetHistoryMs' });
      await expect(store.retention.prune({ ...jobsOnly, limit: 0 })).rejects.toMatchObject({ code: 'PITBOSS_INVALID_JOB', field: 'retention.limit' });
    });
  });
}
