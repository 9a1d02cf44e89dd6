/**
 * Cron schedules on a real JobSystem, run against both configurations (pglite-local.test.ts and
 * postgres-bullmq.test.ts): a seconds-field schedule fires one job per tick into its queue (with a
 * second scheduler racing for every tick) and the jobs run on a real pool; edits and deletes at
 * runtime; the missed-tick policies across a stop and a start on the persisted store; and every
 * `schedule.*` event of the catalog is emitted by this real code.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureEvents, catalog, createTelemetry, JobSystem, type Telemetry } from '../../../src/index.ts';
import type { ScheduleInput } from '../../../src/jobs/schedules/spec.ts';
import { Pool } from '../../../src/pool/pool.ts';
import type { BackendFactory, SystemBackend } from '../system/backends.ts';
import { jobWorker } from '../system/suite.ts';

const QUEUE = 'sched';
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const SECOND = 1000;
const scheduler = { pollMs: 200, missedAfterMs: 1500 };

async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

/** Ticks (ms) from idempotency keys `schedule:<name>:<ISO>`. */
const tickOf = (key: string): number => Date.parse(/:(\d{4}-\d\d-\d\dT[\d:.]+Z)$/.exec(key)![1]!);

export function scheduleSuite(label: string, createBackend: BackendFactory): void {
  describe(`schedules on ${label}`, () => {
    let bus: Telemetry;
    let backend: SystemBackend;
    let pool: Pool;
    let system: JobSystem;
    let seen: ReturnType<typeof captureEvents<typeof catalog, 'schedule.*'>>;
    const systems: JobSystem[] = [];

    const start = async (options: { schedules?: Record<string, ScheduleInput>; consume?: boolean } = {}): Promise<JobSystem> => {
      const started = new JobSystem({
        store: backend.store, dispatcher: backend.dispatcher, telemetry: bus, queues: options.consume === false ? {} : { [QUEUE]: { pool, concurrency: 2 } },
        acceptQueues: [QUEUE], reconcile: { intervalMs: 300, graceMs: 300 }, scheduler, ...(options.schedules ? { schedules: options.schedules } : {}),
      });
      await started.start();
      systems.push(started);
      return started;
    };
    const rows = (schedule: string) => backend.sql<{ key: string; status: string; payload: unknown; n: number }>(
      "SELECT idempotency_key AS key, status, payload, count(*) OVER (PARTITION BY idempotency_key)::int AS n FROM jobs WHERE idempotency_key LIKE $1 ORDER BY idempotency_key",
      [`schedule:${schedule}:%`],
    );
    const fired = (schedule: string) => seen.of('schedule.fired').filter((e) => e.metadata.schedule === schedule);
    const skipped = (schedule: string) => seen.of('schedule.skipped').filter((e) => e.metadata.schedule === schedule);

    beforeAll(async () => {
      bus = createTelemetry();
      seen = captureEvents(bus, 'schedule.*');
      backend = await createBackend(bus);
      pool = new Pool({ name: 'schedpool', worker: jobWorker, threads: 2, telemetry: bus, statusIntervalMs: null, sampleIntervalMs: null });
      await pool.start();
      system = await start();
    }, 60_000);

    afterAll(async () => {
      for (const s of systems) await s.stop(3_000).catch(() => {});
      await pool?.close({ timeoutMs: 2_000 });
      await backend?.close();
    }, 30_000);

    it('a seconds-field schedule fires one job per tick into its queue, with a second scheduler racing for each tick, and the jobs run', async () => {
      const rival = await start({ consume: false });
      const record = await system.schedules.set('every-second', { cron: '* * * * * *', queue: QUEUE, name: 'tick', data: { kind: 'ok', value: 'ticked' }, missed: 'all' });
      expect(record).toMatchObject({ schedule: 'every-second', cron: '* * * * * *', timezone: null, queue: QUEUE, name: 'tick', source: 'runtime', missed: 'all', lastRunAt: null });
      expect(record.nextRunAt!.getTime() % SECOND).toBe(0);
      await until(() => fired('every-second').length >= 4, 15_000, 'four fired ticks');
      await system.schedules.remove('every-second');
      await rival.stop();

      const jobs = await rows('every-second');
      // One row per tick, consecutive seconds, no gap, no duplicate; one fired event per row.
      expect(jobs.every((j) => j.n === 1)).toBe(true);
      const ticks = jobs.map((j) => tickOf(j.key));
      expect(ticks).toEqual(ticks.map((_, i) => ticks[0]! + i * SECOND));
      expect(fired('every-second').map((e) => e.metadata.tick).sort()).toEqual(ticks.map((t) => new Date(t).toISOString()));
      expect(new Set(fired('every-second').map((e) => e.metadata.job_id)).size).toBe(jobs.length);
      expect(skipped('every-second')).toEqual([]);
      await until(async () => (await rows('every-second')).every((j) => j.status === 'completed'), 15_000, 'the ticks\' jobs to complete');
      const [first] = fired('every-second');
      expect(await system.get(String(first!.metadata.job_id))).toMatchObject({ queue: QUEUE, name: 'tick', payload: { kind: 'ok', value: 'ticked' }, result: 'ticked', idempotencyKey: `schedule:every-second:${first!.metadata.tick}` });
    });

    it('GET-style listing shows the next run and the last one', async () => {
      await system.schedules.set('listed', { cron: '*/2 * * * * *', queue: QUEUE, name: 'listed', data: { kind: 'ok' }, timezone: 'Europe/Paris' });
      await until(() => fired('listed').length >= 1, 10_000, 'a fired tick');
      const listed = (await system.schedules.list()).find((s) => s.schedule === 'listed')!;
      expect(listed).toMatchObject({ cron: '*/2 * * * * *', timezone: 'Europe/Paris', source: 'runtime' });
      expect(listed.lastRunAt!.getTime() % (2 * SECOND)).toBe(0);
      expect(listed.nextRunAt!.getTime()).toBeGreaterThan(listed.lastRunAt!.getTime());
      expect(listed.nextRunAt!.getTime() % (2 * SECOND)).toBe(0);
      await system.schedules.remove('listed');
    });

    it('an edit applies from the next tick, a new expression starts afresh, and nothing fires once a delete resolved', async () => {
      await system.schedules.set('edited', { cron: '* * * * * *', queue: QUEUE, name: 'v1', data: { kind: 'ok', value: 1 } });
      await until(() => fired('edited').length >= 1, 10_000, 'a tick of v1');
      await system.schedules.set('edited', { cron: '* * * * * *', queue: QUEUE, name: 'v2', data: { kind: 'ok', value: 2 } });
      await until(() => fired('edited').some((e) => e.metadata.job_name === 'v2'), 10_000, 'a tick of v2');
      await system.schedules.set('edited', { cron: '*/2 * * * * *', queue: QUEUE, name: 'v3', data: { kind: 'ok', value: 3 } });
      // A pass that read the old definition can no longer fire once the edit committed (its revision is gone).
      const switched = Date.now();
      await until(() => fired('edited').filter((e) => e.metadata.job_name === 'v3').length >= 1, 10_000, 'a tick of v3');
      // After the edit resolved, only v3 fires, and only on even seconds.
      const later = fired('edited').filter((e) => Date.parse(String(e.metadata.tick)) > switched);
      expect(later.every((e) => e.metadata.job_name === 'v3' && Date.parse(String(e.metadata.tick)) % (2 * SECOND) === 0)).toBe(true);
      expect((await rows('edited')).filter((j) => (j.payload as { value: number }).value === 3).length).toBeGreaterThanOrEqual(1);

      expect(await system.schedules.remove('edited')).toBe(true);
      const after = (await rows('edited')).length;
      await sleep(2_100); // past a tick of the */2 expression
      expect((await rows('edited')).length).toBe(after);
      expect(await system.schedules.remove('edited')).toBe(false);
      expect((await system.schedules.list()).map((s) => s.schedule)).not.toContain('edited');
    });

    it('refuses a bad definition naming the key, and a queue nobody consumes', async () => {
      await expect(system.schedules.set('bad', { cron: '* * *', queue: QUEUE, name: 'x' })).rejects.toMatchObject({ code: 'PITBOSS_INVALID_CONFIG', field: 'schedules.bad.cron' });
      await expect(system.schedules.set('bad', { cron: '* * * * *', queue: QUEUE, name: 'x', timezone: 'Nowhere/Land' })).rejects.toMatchObject({ code: 'PITBOSS_INVALID_CONFIG', field: 'schedules.bad.timezone' });
      await expect(system.schedules.set('bad', { cron: '* * * * *', queue: 'nobody-consumes', name: 'x' })).rejects.toMatchObject({
        code: 'PITBOSS_UNKNOWN_QUEUE', field: 'schedules.bad.queue', message: expect.stringMatching(/^schedules\.bad\.queue "nobody-consumes": no supervisor consumes this queue/),
      });
      expect((await system.schedules.list()).map((s) => s.schedule)).not.toContain('bad');
      // A declared schedule (a deployment's) for such a queue fails the start, before anything runs.
      const orphan = new JobSystem({
        store: backend.store, dispatcher: backend.dispatcher, telemetry: bus, queues: {}, scheduler,
        schedules: { nightly: { cron: '0 3 * * *', queue: 'elsewhere', name: 'n' } },
      });
      await expect(orphan.start()).rejects.toMatchObject({ code: 'PITBOSS_UNKNOWN_QUEUE', message: expect.stringMatching(/^schedules\.nightly\.queue "elsewhere"/) });
      expect((await system.schedules.list()).map((s) => s.schedule)).not.toContain('nightly');
      expect(() => new JobSystem({ store: backend.store, dispatcher: backend.dispatcher, queues: {}, schedules: { nightly: { cron: 'soon', queue: QUEUE, name: 'n' } } }))
        .toThrow(/^schedules\.nightly\.cron "soon" is not a valid cron expression/);
    });

    it('a tick whose job retention deleted is never fired again', async () => {
      await system.schedules.set('pruned', { cron: '* * * * * *', queue: QUEUE, name: 'pruned', data: { kind: 'ok' }, missed: 'all' });
      await until(() => fired('pruned').length >= 2, 10_000, 'two ticks');
      const gone = (await rows('pruned')).map((j) => j.key);
      // As the pruner deletes finished jobs past their retention.
      await backend.sql("DELETE FROM jobs WHERE idempotency_key = ANY($1::text[])", [gone]);
      await until(() => fired('pruned').length >= gone.length + 2, 10_000, 'two more ticks');
      await system.schedules.remove('pruned');
      const keys = (await rows('pruned')).map((j) => j.key);
      expect(keys.filter((key) => gone.includes(key))).toEqual([]);
      expect(keys.length).toBeGreaterThanOrEqual(2);
    });

    it('missed ticks follow each schedule\'s policy across a stop and a start on the persisted store', async () => {
      // Declared as a deployment declares them: upserted at each start, unchanged ones keep their cursor.
      const declared: Record<string, ScheduleInput> = {
        'secs-latest': { cron: '* * * * * *', queue: QUEUE, name: 'secs', data: { kind: 'ok' } },
        'secs-all': { cron: '* * * * * *', queue: QUEUE, name: 'secs', data: { kind: 'ok' }, missed: 'all' },
        'daily-latest': { cron: '0 0 * * *', queue: QUEUE, name: 'daily', data: { kind: 'ok' } },
        'daily-all': { cron: '0 0 * * *', queue: QUEUE, name: 'daily', data: { kind: 'ok' }, missed: 'all' },
        'daily-skip': { cron: '0 0 * * *', queue: QUEUE, name: 'daily', data: { kind: 'ok' }, missed: 'skip' },
      };
      const first = await start({ schedules: declared });
      expect((await first.schedules.list()).filter((s) => s.schedule in declared).every((s) => s.source === 'deployment')).toBe(true);
      await until(() => fired('secs-latest').length >= 1 && fired('secs-all').length >= 1, 10_000, 'the per-second schedules to fire');
      await first.stop();
      await system.drain(); // the suite's own scheduler stops too: everything is down
      const stoppedAt = Date.now();
      // Down for three days, as far as the daily schedules know (a store restored from a backup looks the same).
      await backend.sql("UPDATE schedules SET cursor_at = cursor_at - interval '3 days' WHERE name LIKE 'daily-%'");
      await sleep(3_500);

      const second = await start({ schedules: declared });
      await until(() => skipped('secs-latest').length >= 1 && fired('daily-latest').length >= 1, 10_000, 'the first pass after the start');
      await second.stop();

      // Per second, down 3.5 s with 1.5 s to count as missed: under latest the missed ticks are skipped, the others fire.
      const [gap] = skipped('secs-latest');
      expect(gap!.metadata).toMatchObject({ reason: 'missed', queue: QUEUE, job_name: 'secs', capped: false });
      expect(gap!.measurements.ticks).toBeGreaterThanOrEqual(1);
      const gapTicks = new Set((await rows('secs-latest')).map((j) => tickOf(j.key)));
      for (let t = Date.parse(String(gap!.metadata.first_tick)); t <= Date.parse(String(gap!.metadata.last_tick)); t += SECOND) expect(gapTicks.has(t)).toBe(false);
      // Under all, every tick of the outage ran: the ticks are consecutive across it.
      const all = (await rows('secs-all')).map((j) => tickOf(j.key));
      expect(all).toEqual(all.map((_, i) => all[0]! + i * SECOND));
      expect(all[all.length - 1]! - all[0]!).toBeGreaterThan(Date.now() - stoppedAt - 4 * SECOND);
      expect(skipped('secs-all')).toEqual([]);

      // Three midnights passed while down.
      const midnight = new Date(new Date().setUTCHours(0, 0, 0, 0)).getTime();
      const midnights = [2, 1, 0].map((d) => new Date(midnight - d * 86_400_000).toISOString());
      expect(fired('daily-latest').map((e) => e.metadata.tick)).toEqual([midnights[2]]);
      expect(skipped('daily-latest').map((e) => [e.metadata.reason, e.measurements.ticks, e.metadata.first_tick, e.metadata.last_tick])).toEqual([['missed', 2, midnights[0], midnights[1]]]);
      expect(fired('daily-all').map((e) => e.metadata.tick)).toEqual(midnights);
      expect(fired('daily-skip')).toEqual([]);
      expect(skipped('daily-skip').map((e) => [e.metadata.reason, e.measurements.ticks])).toEqual([['missed', 3]]);
      expect((await rows('daily-skip'))).toEqual([]);
      for (const name of Object.keys(declared)) await system.schedules.remove(name);
    });

    it('emits every schedule event of the catalog from this real code', () => {
      const expected = Object.keys(catalog).filter((name) => name.startsWith('schedule.')).sort();
      expect(expected).toEqual(['schedule.fired', 'schedule.skipped']);
      expect(expected.filter((name) => !seen.events.some((e) => e.event === name))).toEqual([]);
    });
  });
}
