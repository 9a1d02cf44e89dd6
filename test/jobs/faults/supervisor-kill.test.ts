/**
 * Two supervisors (CLI processes running the fixture deployment) share one Postgres schema and one
 * redis-server of this test's own. One is SIGKILLed while it runs jobs: the survivor's reconciler
 * sees its heartbeat expire and requeues its running jobs as new attempts, dispatch hands them out
 * again once the dead process's BullMQ locks lapse, and every job ends completed, its attempts
 * counted in its row.
 */
import { describe, expect, it } from 'vitest';
import { fleetSuite, statusCounts, until } from './fleet.ts';
import { SupervisorProcess } from './supervisor-process.ts';

const JOBS = 240;
/** Short, so the test waits seconds rather than the default 15 s for the dead supervisor's jobs. */
const timing = { heartbeatTtlMs: 3_000, reconcileIntervalMs: 250 };

describe('SIGKILL one of two supervisors mid-run', () => {
  const fleet = fleetSuite('fault_sigkill');

  it('every job ends completed; the killed supervisor\'s running jobs are retried by the survivor as new attempts', async () => {
    const { db, redis, supervisors } = fleet;
    const env = { databaseUrl: db.url, redisUrl: redis.url, ...timing };
    const [victim, survivor] = await Promise.all([SupervisorProcess.start('sup-victim', env), SupervisorProcess.start('sup-survivor', env)]);
    supervisors.push(victim, survivor);

    const jobs = await db.enqueue(redis.url, Array.from({ length: JOBS }, (_, i) => ({ queue: 'work', name: 'step', data: { kind: 'ok', value: i, delayMs: 40 } })));
    expect(jobs).toHaveLength(JOBS);

    // Kill the victim while it holds claimed jobs, about a quarter of the way in.
    const runningOn = async (id: string): Promise<string[]> => (await db.sql<{ id: string }>(
      "SELECT id::text AS id FROM jobs WHERE status = 'running' AND claimed_by LIKE $1 ORDER BY id", [`${id}/%`])).map((r) => r.id);
    await until(async () => ((await statusCounts(db)).completed ?? 0) >= JOBS / 4 && (await runningOn(victim.id)).length > 0, 60_000, () => statusCounts(db));
    const killedAt = performance.now();
    expect(await victim.signal('SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' });
    // What the dead process had claimed stays "running" in its name: nobody else may touch it until its heartbeat expires.
    const orphans = await runningOn(victim.id);
    expect(orphans.length).toBeGreaterThan(0);

    const orphansDone = async (): Promise<boolean> => (await db.sql<{ n: number }>(
      "SELECT count(*)::int AS n FROM jobs WHERE id = ANY($1::bigint[]) AND status = 'completed'", [orphans]))[0]!.n === orphans.length;
    await until(orphansDone, 60_000, () => db.sql('SELECT id, status, attempts, claimed_by FROM jobs WHERE id = ANY($1::bigint[])', [orphans]));
    const orphansMs = performance.now() - killedAt;
    await until(async () => ((await statusCounts(db)).completed ?? 0) === JOBS, 90_000, () => statusCounts(db));
    const recoveredMs = performance.now() - killedAt;

    const rows = await db.sql<{ id: string; status: string; attempts: number; claimed_by: string; result: unknown; payload: { value: number } }>(
      'SELECT id::text AS id, status, attempts, claimed_by, result, payload FROM jobs ORDER BY jobs.id');
    expect(rows).toHaveLength(JOBS);
    // Completed once each, with its own result: a finish fenced out can never overwrite another attempt's.
    expect(rows.every((r) => r.status === 'completed' && r.result === r.payload.value)).toBe(true);
    for (const id of orphans) {
      const row = rows.find((r) => r.id === id)!;
      // The killed attempt counts: the survivor's run is attempt 2 (or later, had it been requeued again).
      expect(row.attempts, `orphan ${id}`).toBeGreaterThanOrEqual(2);
      expect(row.claimed_by, `orphan ${id}`).toMatch(/^sup-survivor\//);
    }
    const attempts = rows.reduce<Record<number, number>>((acc, r) => ({ ...acc, [r.attempts]: (acc[r.attempts] ?? 0) + 1 }), {});
    const byVictim = rows.filter((r) => r.claimed_by.startsWith('sup-victim/')).length;
    console.log(`[fault:sigkill-supervisor] ${JOBS} jobs; orphans of the killed supervisor: ${orphans.length}; completed by it before the kill: ${byVictim}; ` +
      `attempts histogram ${JSON.stringify(attempts)}; orphans completed ${Math.round(orphansMs)} ms and all jobs ${Math.round(recoveredMs)} ms after the kill ` +
      `(heartbeat TTL ${timing.heartbeatTtlMs} ms)`);
    // Recovery follows the heartbeat TTL (requeue) and the dispatch lock tied to it, not BullMQ's 30 s default lock.
    expect(orphansMs).toBeLessThan(30_000);
    // Nothing but the orphans needed a second attempt (a survivor presumed dead by a slow pass would show here).
    expect(rows.filter((r) => r.attempts > 1).every((r) => orphans.includes(r.id))).toBe(true);

    // The survivor drains and exits cleanly.
    expect(await survivor.signal('SIGTERM')).toEqual({ code: 0, signal: null });
  }, 180_000);
});
