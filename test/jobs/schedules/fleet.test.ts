/**
 * Exactly one job per tick across a fleet: two supervisor processes (`pitboss start` of a
 * deployment with a per-second schedule) share one Postgres and one Redis; every one of them runs
 * the scheduler, and there is no leader. Over several ticks — one supervisor SIGKILLed half way,
 * a runtime schedule added over HTTP on one of them — every tick has exactly one job row (counted
 * per idempotency key), the ticks are consecutive, the worker executed each job once per attempt
 * (lines it appended; only jobs the killed supervisor held may take two), and no tick was reported
 * fired twice in the supervisors' logs.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { fleetSuite, sleep, until } from '../faults/fleet.ts';
import { SupervisorProcess } from '../faults/supervisor-process.ts';

const deployment = fileURLToPath(new URL('../../fixtures/schedule-deployment.ts', import.meta.url));
const token = 'fault-test-token-0123456789';
const SECOND = 1000;
const tickOf = (key: string): number => Date.parse(/:(\d{4}-\d\d-\d\dT[\d:.]+Z)$/.exec(key)![1]!);

describe('schedules on a fleet of two supervisors', () => {
  const fleet = fleetSuite('sched_fleet');
  const dir = mkdtempSync(join(tmpdir(), 'pitboss-sched-fleet-'));
  const markFile = join(dir, 'marks');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const rows = (schedule: string) => fleet.db.sql<{ key: string; status: string; n: number; attempts: number }>(
    'SELECT idempotency_key AS key, status, attempts, count(*) OVER (PARTITION BY idempotency_key)::int AS n FROM jobs WHERE idempotency_key LIKE $1 ORDER BY idempotency_key',
    [`schedule:${schedule}:%`],
  );

  it('fires each tick once, with no leader: one supervisor dying changes nothing', async () => {
    const env = {
      databaseUrl: fleet.db.url, redisUrl: fleet.redis.url, deployment, heartbeatTtlMs: 3_000, reconcileIntervalMs: 500,
      env: { PITBOSS_TEST_MARK_FILE: markFile, LOG_LEVEL: 'info' },
    };
    const [a, b] = await Promise.all([SupervisorProcess.start('sched-a', env), SupervisorProcess.start('sched-b', env)]);
    fleet.supervisors.push(a, b);
    await until(async () => (await rows('every-second')).length >= 4, 30_000, () => rows('every-second'));

    // A schedule added at runtime on one supervisor is the fleet's.
    const put = await fetch(`${b.url}/schedules/pair`, {
      method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ cron: '* * * * * *', queue: 'ticks', name: 'pair', data: { kind: 'ok' }, missed: 'all' }),
    });
    expect(put.status).toBe(200);
    await until(async () => (await rows('pair')).length >= 2, 20_000, () => rows('pair'));

    // The first supervisor dies mid-stream; the other goes on firing every tick.
    await a.signal('SIGKILL');
    const killedAt = Date.now();
    await until(async () => (await rows('every-second')).some((r) => tickOf(r.key) > killedAt + 3 * SECOND), 20_000, () => rows('every-second'));

    // Stop the ticks, then let every job run before counting executions.
    for (const name of ['every-second', 'pair']) {
      const removed = await fetch(`${b.url}/schedules/${name}`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } });
      expect(removed.status).toBe(200);
    }
    await sleep(500);
    await until(async () => [...await rows('every-second'), ...await rows('pair')].every((r) => r.status === 'completed'), 30_000,
      async () => (await rows('every-second')).filter((r) => r.status !== 'completed'));

    for (const name of ['every-second', 'pair']) {
      const jobs = await rows(name);
      expect(jobs.length).toBeGreaterThanOrEqual(2);
      expect(jobs.filter((j) => j.n !== 1)).toEqual([]);
      const ticks = jobs.map((j) => tickOf(j.key));
      expect(ticks).toEqual(ticks.map((_, i) => ticks[0]! + i * SECOND));
    }
    // The worker ran every tick's job, once per attempt (one line per execution). Only the jobs the
    // SIGKILLed supervisor had in hand (concurrency 2) may have a second attempt: one it ran to the
    // end but died before recording, or one it died in, runs again on the survivor (at least once
    // across a crash; never twice on a live supervisor, which an attempts = 1 row guarantees).
    const marks = readFileSync(markFile, 'utf8').split('\n').filter((line) => line !== '');
    const ticked = await rows('every-second');
    expect(ticked.filter((j) => j.attempts > 1).length).toBeLessThanOrEqual(2);
    expect(marks.length).toBeGreaterThanOrEqual(ticked.length);
    expect(marks.length).toBeLessThanOrEqual(ticked.reduce((n, j) => n + j.attempts, 0));

    // Fired is reported by the supervisor whose statement created the row, never by both. (A tick
    // fired by the killed one just before its death may have gone unreported; none twice.)
    // /metrics counts the ticks this supervisor fired (the lateness histogram's count), as its log does.
    const firedBy = (s: SupervisorProcess) => s.logLines('schedule_fired').filter((l) => l.schedule === 'every-second').length;
    const before = firedBy(b);
    const exposition = await (await fetch(`${b.url}/metrics`)).text();
    const counted = Number(/^pitboss_schedule_lateness_count\{[^}]*schedule="every-second"[^}]*\} (\d+)/m.exec(exposition)?.[1] ?? 0);
    await sleep(300);
    expect(counted).toBeGreaterThan(0);
    expect(counted).toBeGreaterThanOrEqual(before);
    expect(counted).toBeLessThanOrEqual(firedBy(b));

    await b.signal('SIGTERM');
    const reported = [...a.logLines('schedule_fired'), ...b.logLines('schedule_fired')].filter((l) => l.schedule === 'every-second').map((l) => String(l.tick));
    expect(new Set(reported).size).toBe(reported.length);
    const created = new Set((await rows('every-second')).map((r) => new Date(tickOf(r.key)).toISOString()));
    expect(reported.every((tick) => created.has(tick))).toBe(true);
    expect(reported.length).toBeGreaterThanOrEqual(created.size - 1);
    expect(b.logLines('schedule_fired').length).toBeGreaterThan(0);
  }, 120_000);
});
