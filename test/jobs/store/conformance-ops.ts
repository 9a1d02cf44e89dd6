/**
 * Store conformance, part 2: what the reconciler, gauges and operators use (queue stats,
 * claimable rows, heartbeats and orphans, actions, worker events, persisted control, close).
 */
import { describe, expect, it } from 'vitest';
import { captureEvents, createTelemetry } from '../../../src/index.ts';
import type { TelemetrySettings } from '../../../src/jobs/store/types.ts';
import { eventually, uniqueQueue, type StoreHarness } from './harness.ts';

const boom = { type: 'Error', message: 'boom' };

export function storeOperationsConformance(harness: () => StoreHarness): void {
  describe('queue stats and claimable rows', () => {
    it('counts every status per queue in one query', async () => {
      const store = await harness().open();
      const queue = uniqueQueue();
      const jobs = await store.jobs.enqueue(Array.from({ length: 6 }, () => ({ queue, name: 'n', maxAttempts: 2 })));
      const ids = jobs.map((j) => j.id);
      for (const id of ids.slice(0, 5)) await store.jobs.claim(id, 's/p');
      await store.jobs.finish({ id: ids[0]!, attempt: 1, status: 'completed', result: null });
      await store.jobs.finish({ id: ids[1]!, attempt: 1, status: 'failed', error: boom, retryAt: new Date() });
      await store.jobs.finish({ id: ids[2]!, attempt: 1, status: 'dead', error: boom });
      await store.jobs.cancel(ids[3]!);
      const stats = await store.overview.queueStats({ timeoutMs: 5_000 });
      expect(stats.find((s) => s.queue === queue)).toEqual({ queue, queued: 1, running: 1, failed: 1, completed: 1, dead: 1, cancelled: 1 });
      expect(await store.overview.queueStats()).toEqual(stats);
      expect(await store.jobs.countClaimable(queue)).toBe(2);
      expect(await store.jobs.countClaimable(uniqueQueue())).toBe(0);
    });

    it('lists waiting rows untouched for olderThanMs, with the delay until each is due', async () => {
      const h = harness();
      const store = await h.open();
      const [q1, q2] = [uniqueQueue(), uniqueQueue()];
      const [now, later] = await store.jobs.enqueue([{ queue: q1, name: 'now', priority: 3 }, { queue: q1, name: 'later', delayMs: 30_000 }]);
      const [other] = await store.jobs.enqueue([{ queue: q2, name: 'other' }]);
      expect(await store.jobs.claimable({ olderThanMs: 60_000, limit: 10, queues: [q1] })).toEqual([]);
      await h.sql("UPDATE jobs SET updated_at = now() - interval '2 minutes' WHERE queue = ANY($1::text[])", [[q1, q2]]);
      const listed = await store.jobs.claimable({ olderThanMs: 60_000, limit: 10, queues: [q1] });
      expect(listed.map((j) => j.id)).toEqual([now!.id, later!.id]);
      expect(listed[0]).toEqual({ id: now!.id, queue: q1, name: 'now', priority: 3, maxAttempts: 3, backoff: { type: 'exponential', delayMs: 1000 }, delayMs: 0 });
      expect(listed[1]!.delayMs).toBeGreaterThan(25_000);
      expect(listed[1]!.delayMs).toBeLessThanOrEqual(30_000);
      expect(await store.jobs.claimable({ olderThanMs: 60_000, limit: 1, queues: [q1] })).toHaveLength(1);
      const both = await store.jobs.claimable({ olderThanMs: 60_000, limit: 1000, queues: [q1, q2] });
      expect(both.map((j) => j.id)).toContain(other!.id);
      const all = await store.jobs.claimable({ olderThanMs: 60_000, limit: 100_000 });
      expect(all.map((j) => j.id)).toEqual(expect.arrayContaining([now!.id, later!.id, other!.id]));
      await store.jobs.claim(now!.id, 's/p');
      expect((await store.jobs.claimable({ olderThanMs: 0, limit: 10, queues: [q1] })).map((j) => j.id)).toEqual([later!.id]);
      await expect(store.jobs.claimable({ olderThanMs: -1, limit: 10 })).rejects.toMatchObject({ code: 'PITBOSS_INVALID_JOB' });
    });
  });

  describe('heartbeats and orphans', () => {
    it('requeues running jobs of silent claimers, kills exhausted ones, and spares live supervisors', async () => {
      const h = harness();
      const store = await h.open();
      const queue = uniqueQueue();
      const [live, silent, exhausted, never] = await store.jobs.enqueue([
        { queue, name: 'live' }, { queue, name: 'silent' }, { queue, name: 'exhausted', maxAttempts: 1 }, { queue, name: 'never' },
      ]);
      await store.fleet.heartbeat({ id: 'sup-live', host: 'h1', pid: 1 });
      await store.fleet.heartbeat({ id: 'sup-silent', host: 'h2', pid: 2 });
      await store.jobs.claim(live!.id, 'sup-live/pool/1');
      await store.jobs.claim(silent!.id, 'sup-silent/pool/1');
      await store.jobs.claim(exhausted!.id, 'sup-silent/pool/2');
      await store.jobs.claim(never!.id, 'sup-never/pool/1');
      await h.sql("UPDATE supervisors SET heartbeat_at = now() - interval '1 hour' WHERE id = 'sup-silent'");
      await h.sql("UPDATE jobs SET started_at = now() - interval '1 hour' WHERE queue = $1", [queue]);
      await store.fleet.heartbeat({ id: 'sup-live', host: 'h1', pid: 1 });

      const { requeued, dead } = await store.jobs.requeueOrphans(60_000);
      const mine = (list: { id: string }[]) => list.map((j) => j.id).filter((id) => [live, silent, exhausted, never].some((j) => j!.id === id)).sort();
      expect(mine(requeued)).toEqual([silent!.id, never!.id].sort());
      expect(mine(dead)).toEqual([exhausted!.id]);
      expect(requeued.find((j) => j.id === silent!.id)).toMatchObject({ status: 'queued', attempts: 1, error: { type: 'Stalled' } });
      expect(dead[0]).toMatchObject({ status: 'dead', attempts: 1 });
      expect(await store.jobs.get(live!.id)).toMatchObject({ status: 'running' });
      expect(await store.jobs.claim(silent!.id, 'sup-live/pool/3')).toMatchObject({ attempt: 2 });
      // Nothing left to do: a second pass finds no orphans of ours.
      expect(mine((await store.jobs.requeueOrphans(60_000)).requeued)).toEqual([]);
    });

    it('requeues claims a live supervisor lost track of: old enough and not among the jobs it runs', async () => {
      const h = harness();
      const store = await h.open();
      const queue = uniqueQueue();
      const [lost, running, fresh, other] = await store.jobs.enqueue([{ queue, name: 'lost' }, { queue, name: 'running' }, { queue, name: 'fresh' }, { queue, name: 'other' }]);
      await store.fleet.heartbeat({ id: 'sup-me', host: 'h', pid: 1 });
      await store.fleet.heartbeat({ id: 'sup-peer', host: 'h', pid: 2 });
      for (const [job, by] of [[lost, 'sup-me/p/1'], [running, 'sup-me/p/2'], [fresh, 'sup-me/p/3'], [other, 'sup-peer/p/1']] as const) await store.jobs.claim(job!.id, by);
      await h.sql("UPDATE jobs SET started_at = now() - interval '10 minutes' WHERE id = ANY($1::bigint[])", [[lost!.id, running!.id, other!.id]]);
      const abandoned = { supervisorId: 'sup-me', olderThanMs: 60_000, running: [running!.id] };
      const { requeued, dead } = await store.jobs.requeueOrphans(3_600_000, { abandoned });
      const ours = requeued.filter((j) => j.queue === queue);
      expect(ours.map((j) => j.id)).toEqual([lost!.id]);
      expect(ours[0]).toMatchObject({ status: 'queued', attempts: 1, error: { type: 'Stalled', message: 'claimer sup-me/p/1 lost track of attempt 1' } });
      expect(dead.filter((j) => j.queue === queue)).toEqual([]);
      for (const job of [running, fresh, other]) expect(await store.jobs.get(job!.id)).toMatchObject({ status: 'running' });
      expect(await store.jobs.claim(lost!.id, 'sup-me/p/1')).toMatchObject({ attempt: 2 });
      await expect(store.jobs.requeueOrphans(1000, { abandoned: { ...abandoned, supervisorId: 'a/b' } })).rejects.toMatchObject({ code: 'PITBOSS_INVALID_JOB', field: 'abandoned.supervisorId' });
      await expect(store.jobs.requeueOrphans(1000, { abandoned: { ...abandoned, running: ['x'] } })).rejects.toMatchObject({ code: 'PITBOSS_INVALID_JOB', field: 'abandoned.running' });
    });

    it('upserts supervisors; a new pid under the same id starts a new life', async () => {
      const h = harness();
      const store = await h.open();
      await store.fleet.heartbeat({ id: 'sup-life', host: 'h', pid: 10 });
      await h.sql("UPDATE supervisors SET started_at = now() - interval '1 day' WHERE id = 'sup-life'");
      await store.fleet.heartbeat({ id: 'sup-life', host: 'h', pid: 10 });
      const [same] = await h.sql<{ age: number }>("SELECT extract(epoch FROM now() - started_at)::float8 AS age FROM supervisors WHERE id = 'sup-life'");
      expect(same!.age).toBeGreaterThan(3_600);
      await store.fleet.heartbeat({ id: 'sup-life', host: 'h', pid: 11 });
      const [fresh] = await h.sql<{ age: number; pid: number }>("SELECT extract(epoch FROM now() - started_at)::float8 AS age, pid FROM supervisors WHERE id = 'sup-life'");
      expect(fresh!.age).toBeLessThan(60);
      expect(fresh!.pid).toBe(11);
      await expect(store.fleet.heartbeat({ id: 'a/b', host: 'h', pid: 1 })).rejects.toMatchObject({ code: 'PITBOSS_INVALID_JOB', field: 'supervisor.id' });
    });

    it('records the queues each supervisor consumes; the fleet\'s are those of supervisors heard from lately, stopped ones included', async () => {
      const h = harness();
      const store = await h.open();
      const [a, b, gone] = [uniqueQueue(), uniqueQueue(), uniqueQueue()];
      await store.fleet.heartbeat({ id: `sup-q-${a}`, host: 'h', pid: 1, instance: 'life-1', queues: [a, b] });
      await store.fleet.heartbeat({ id: `sup-q-${gone}`, host: 'h', pid: 2, instance: 'life-2', queues: [gone] });
      await store.fleet.heartbeat({ id: `sup-q-none-${a}`, host: 'h', pid: 3 });
      await store.fleet.supervisorStopped({ id: `sup-q-${a}`, instance: 'life-1' });
      expect(await store.fleet.consumedQueues()).toEqual(expect.arrayContaining([a, b, gone]));
      // Silent longer than the window: no longer the fleet's. A new beat replaces the list.
      await h.sql("UPDATE supervisors SET heartbeat_at = now() - interval '2 hours' WHERE id = $1", [`sup-q-${gone}`]);
      await store.fleet.heartbeat({ id: `sup-q-${a}`, host: 'h', pid: 1, instance: 'life-1', queues: [a] });
      const fleet = await store.fleet.consumedQueues();
      expect(fleet).toContain(a);
      expect(fleet).not.toContain(b);
      expect(fleet).not.toContain(gone);
      expect(await store.fleet.consumedQueues({ withinMs: 3 * 3_600_000 })).toContain(gone);
      await expect(store.fleet.heartbeat({ id: 'sup-q-bad', host: 'h', pid: 1, queues: ['no spaces'] })).rejects.toMatchObject({ code: 'PITBOSS_INVALID_JOB', field: 'supervisor.queues[0]' });
      await expect(store.fleet.consumedQueues({ withinMs: 0 })).rejects.toMatchObject({ code: 'PITBOSS_INVALID_JOB', field: 'withinMs' });
    });

    it('tells each beat who beat before, reads an id\'s holder, and marks a life stopped until it beats again', async () => {
      const h = harness();
      const store = await h.open();
      const id = `sup-holder-${uniqueQueue()}`;
      expect(await store.fleet.supervisor(id)).toBeNull();
      expect(await store.fleet.heartbeat({ id, host: 'h1', pid: 10, instance: 'life-a' })).toBeNull();
      expect(await store.fleet.heartbeat({ id, host: 'h1', pid: 10, instance: 'life-a' })).toEqual({ host: 'h1', pid: 10, instance: 'life-a' });
      const first = await store.fleet.supervisor(id);
      expect(first).toMatchObject({ host: 'h1', pid: 10, instance: 'life-a', stopped: false });
      expect(first!.heartbeatAgeMs).toBeGreaterThanOrEqual(0);
      expect(first!.heartbeatAgeMs).toBeLessThan(60_000);
      // Another life under the same id: it hears of life-a, and a later read sees a newer beat.
      await h.sql("UPDATE supervisors SET heartbeat_at = now() - interval '5 seconds' WHERE id = $1", [id]);
      expect(await store.fleet.heartbeat({ id, host: 'h2', pid: 20, instance: 'life-b' })).toEqual({ host: 'h1', pid: 10, instance: 'life-a' });
      const second = await store.fleet.supervisor(id);
      expect(second).toMatchObject({ host: 'h2', pid: 20, instance: 'life-b' });
      expect(second!.beatAt).toBeGreaterThan(first!.beatAt);
      // Only the life holding the id can mark it stopped; its next beat clears the mark.
      await store.fleet.supervisorStopped({ id, instance: 'life-a' });
      expect(await store.fleet.supervisor(id)).toMatchObject({ stopped: false });
      await store.fleet.supervisorStopped({ id, instance: 'life-b' });
      expect(await store.fleet.supervisor(id)).toMatchObject({ instance: 'life-b', stopped: true });
      await store.fleet.heartbeat({ id, host: 'h2', pid: 20, instance: 'life-b' });
      expect(await store.fleet.supervisor(id)).toMatchObject({ stopped: false });
      await expect(store.fleet.heartbeat({ id, host: 'h', pid: 1, instance: '' })).rejects.toMatchObject({ code: 'PITBOSS_INVALID_JOB', field: 'supervisor.instance' });
      await expect(store.fleet.supervisor('a/b')).rejects.toMatchObject({ code: 'PITBOSS_INVALID_JOB', field: 'supervisor.id' });
      await expect(store.fleet.supervisorStopped({ id, instance: '' })).rejects.toMatchObject({ code: 'PITBOSS_INVALID_JOB', field: 'supervisor.instance' });
    });
  });

  describe('actions and worker events', () => {
    it('records actions in batches and returns them with the job, in order', async () => {
      const bus = createTelemetry();
      const store = await harness().open({ telemetry: bus });
      const capture = captureEvents(bus, 'store.flush');
      const [job] = await store.jobs.enqueue([{ queue: uniqueQueue(), name: 'n' }]);
      await store.jobs.claim(job!.id, 's/p');
      store.jobs.recordActions([{ jobId: job!.id, attempt: 1, action: 'fetch', status: 'ok', duration: 1_500_000, error: null }]);
      store.jobs.recordActions([{ jobId: job!.id, attempt: 1, action: 'parse', status: 'error', duration: 2.7, error: 'bad\u0000input' }]);
      await eventually(async () => ((await store.jobs.get(job!.id))?.actions.length ?? 0) === 2, 5_000, 'two actions');
      const { actions } = (await store.jobs.get(job!.id))!;
      expect(actions).toEqual([
        { jobId: job!.id, attempt: 1, action: 'fetch', status: 'ok', duration: 1_500_000, error: null },
        { jobId: job!.id, attempt: 1, action: 'parse', status: 'error', duration: 3, error: 'bad\ufffdinput' },
      ]);
      const flushes = capture.of('store.flush').filter((e) => e.metadata.kind === 'actions');
      expect(flushes.reduce((n, e) => n + (e.measurements.rows ?? 0), 0)).toBe(2);
      expect(flushes.length).toBe(1);
    });

    it('never throws at the caller for actions it cannot write, and counts them', async () => {
      const store = await harness().open();
      const [job] = await store.jobs.enqueue([{ queue: uniqueQueue(), name: 'n' }]);
      expect(() => store.jobs.recordActions([{ jobId: '999999999999', attempt: 1, action: 'ghost', status: 'ok', duration: 1, error: null }])).not.toThrow();
      expect(() => store.jobs.recordActions([null as never, { jobId: 'x' } as never])).not.toThrow();
      store.jobs.recordActions([{ jobId: job!.id, attempt: 1, action: 'real', status: 'ok', duration: 1, error: null }]);
      // The ghost (no such job) when its batch fails, the two malformed ones at once.
      await eventually(() => store.drops().actions === 3, 5_000, 'the ghost and malformed actions to be counted');
      await eventually(async () => ((await store.jobs.get(job!.id))?.actions.length ?? 0) === 1, 5_000, 'the real action');
    });

    it('records worker events', async () => {
      const h = harness();
      const store = await h.open();
      const at = new Date('2030-01-01T00:00:00Z');
      store.fleet.recordWorkerEvents([
        { supervisor: 'sup-w', pool: 'cpu', workerId: 3, event: 'restarted', reason: 'crash', at },
        { supervisor: 'sup-w', pool: 'cpu', workerId: '4', event: 'spawned', reason: null },
      ]);
      await eventually(async () => (await h.sql("SELECT 1 FROM worker_events WHERE supervisor = 'sup-w'")).length === 2, 5_000, 'worker events');
      const rows = await h.sql<{ worker_id: string; event: string; reason: string | null; at: Date }>(
        "SELECT worker_id, event, reason, at FROM worker_events WHERE supervisor = 'sup-w' ORDER BY worker_id");
      expect(rows.map((r) => [r.worker_id, r.event, r.reason])).toEqual([['3', 'restarted', 'crash'], ['4', 'spawned', null]]);
      expect(new Date(rows[0]!.at).getTime()).toBe(at.getTime());
    });
  });

  describe('persisted control', () => {
    it('saves and loads the whole versioned table of rules and log levels', async () => {
      const store = await harness().open();
      const before = await store.settings.load();
      const saved = await store.settings.save({
        rules: [{ pattern: 'pool.*', rate: 0.25 }, { pattern: 'job.stop', enabled: false, scope: { pool: 'cpu', worker: 2 } }],
        logLevels: [{ level: 'debug' }, { category: 'jobs.consumer', level: 'trace', scope: { pool: 'cpu' } }],
      });
      expect(saved.version).toBe(before.version + 1);
      const loaded = await store.settings.load();
      expect(loaded.version).toBe(saved.version);
      expect(loaded.rules).toEqual(expect.arrayContaining([
        { pattern: 'pool.*', rate: 0.25, enabled: true, scope: { pool: null, worker: null } },
        { pattern: 'job.stop', rate: 1, enabled: false, scope: { pool: 'cpu', worker: '2' } },
      ]));
      expect(loaded.rules).toHaveLength(2);
      expect(loaded.logLevels).toEqual(expect.arrayContaining([
        { category: '*', level: 'debug', scope: { pool: null, worker: null } },
        { category: 'jobs.consumer', level: 'trace', scope: { pool: 'cpu', worker: null } },
      ]));
      const replaced = await store.settings.save({ rules: [], expectedVersion: loaded.version });
      expect(await store.settings.load()).toEqual({ version: replaced.version, rules: [], logLevels: [] });
      await expect(store.settings.save({ rules: [], expectedVersion: loaded.version })).rejects.toMatchObject({ code: 'PITBOSS_CONTROL_CONFLICT' });
      await expect(store.settings.save({ rules: [{ pattern: 'Bad Pattern' }] })).rejects.toMatchObject({ code: 'PITBOSS_INVALID_RULE' });
      await expect(store.settings.save({ rules: [], logLevels: [{ level: 'loud' as never }] })).rejects.toMatchObject({ code: 'PITBOSS_INVALID_CONTROL', field: 'control.logLevels[0].level' });
      expect((await store.settings.load()).version).toBe(replaced.version);
    });

    it('notifies another store on the same database when the table changes', async () => {
      const h = harness();
      const [writer, reader] = [await h.open(), await h.open()];
      const seen: TelemetrySettings[] = [];
      const unsubscribe = await reader.settings.onChange((state) => seen.push(state));
      const saved = await writer.settings.save({ rules: [{ pattern: 'worker.*', rate: 0.5 }], logLevels: [{ level: 'warn' }] });
      await eventually(() => seen.some((s) => s.version === saved.version), 5_000, 'the control change to reach the other store');
      expect(seen.at(-1)).toEqual(saved);
      await unsubscribe();
      await writer.settings.save({ rules: [] });
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(seen.at(-1)!.version).toBe(saved.version);
    });
  });

  describe('close', () => {
    it('writes what is pending, then refuses work with PITBOSS_STORE_CLOSED', async () => {
      const h = harness();
      const store = await h.open();
      const queue = uniqueQueue();
      const pending = store.jobs.enqueue([{ queue, name: 'last' }]);
      await store.close();
      expect((await pending)[0]!.created).toBe(true);
      await expect(store.jobs.enqueue([{ queue, name: 'late' }])).rejects.toMatchObject({ code: 'PITBOSS_STORE_CLOSED' });
      await expect(store.jobs.get('1')).rejects.toMatchObject({ code: 'PITBOSS_STORE_CLOSED' });
      expect(() => store.jobs.recordActions([])).not.toThrow();
      await store.close();
      const reader = await h.open();
      expect(await reader.jobs.countClaimable(queue)).toBe(1);
    });
  });
}
