/**
 * SIGTERM to a supervisor process (the CLI with the fixture deployment) while it runs jobs: it stops
 * claiming, finishes what it had claimed within the shutdown timeout, and exits 0. What it had not
 * claimed stays queued and another supervisor runs it: nothing is lost, nothing interrupted.
 */
import { describe, expect, it } from 'vitest';
import { fleetSuite, statusCounts, until } from './fleet.ts';
import { SupervisorProcess } from './supervisor-process.ts';

const JOBS = 8;
const JOB_MS = 1_000;
const SHUTDOWN_TIMEOUT_MS = 15_000;

describe('SIGTERM to a supervisor mid-run', () => {
  const fleet = fleetSuite('fault_sigterm');

  it('drains: finishes its claimed jobs, exits 0, and leaves the rest queued for another supervisor', async () => {
    const { db, redis, supervisors } = fleet;
    const env = { databaseUrl: db.url, redisUrl: redis.url, shutdownTimeoutMs: SHUTDOWN_TIMEOUT_MS, heartbeatTtlMs: 4_000, reconcileIntervalMs: 500 };
    const first = await SupervisorProcess.start('sup-draining', env);
    supervisors.push(first);
    const jobs = await db.enqueue(redis.url, Array.from({ length: JOBS }, (_, i) => ({ queue: 'work', name: 'slow', data: { kind: 'ok', value: i, delayMs: JOB_MS } })));

    // The fixture queue runs 2 at a time (1 thread, concurrency 2): wait until both slots are claimed.
    const claimedBy = async (id: string): Promise<{ id: string; status: string }[]> =>
      db.sql("SELECT id::text AS id, status FROM jobs WHERE claimed_by LIKE $1 ORDER BY jobs.id", [`${id}/%`]);
    await until(async () => (await claimedBy(first.id)).filter((r) => r.status === 'running').length === 2, 30_000, () => statusCounts(db));
    const signalledAt = performance.now();
    const exit = await first.signal('SIGTERM', SHUTDOWN_TIMEOUT_MS + 15_000);
    const exitMs = performance.now() - signalledAt;
    expect(exit, first.stderr).toEqual({ code: 0, signal: null });

    // Everything it claimed, it finished (attempt 1, not interrupted); nothing is left running.
    const mine = await claimedBy(first.id);
    expect(mine.length).toBeGreaterThanOrEqual(2);
    expect(mine.every((r) => r.status === 'completed')).toBe(true);
    const counts = await statusCounts(db);
    expect(counts).toEqual({ completed: mine.length, queued: JOBS - mine.length });
    // It waited for its jobs (two of 1 s on one thread) but not for the shutdown timeout.
    expect(exitMs).toBeLessThan(SHUTDOWN_TIMEOUT_MS);

    // Another supervisor takes the rest from the same Redis and Postgres.
    const second = await SupervisorProcess.start('sup-successor', env);
    supervisors.push(second);
    await until(async () => ((await statusCounts(db)).completed ?? 0) === JOBS, 60_000, () => statusCounts(db));
    const rows = await db.sql<{ id: string; attempts: number; claimed_by: string; result: number }>(
      'SELECT id::text AS id, attempts, claimed_by, result FROM jobs ORDER BY jobs.id');
    expect(rows.map((r) => r.result)).toEqual(jobs.map((_, i) => i));
    expect(rows.every((r) => r.attempts === 1)).toBe(true);
    expect(rows.filter((r) => r.claimed_by.startsWith('sup-successor/'))).toHaveLength(JOBS - mine.length);
    console.log(`[fault:sigterm] ${JOBS} jobs of ${JOB_MS} ms; the draining supervisor finished ${mine.length} it had claimed and exited 0 ` +
      `${Math.round(exitMs)} ms after SIGTERM; the successor ran the other ${JOBS - mine.length}, every job in 1 attempt`);
    expect(await second.signal('SIGTERM')).toEqual({ code: 0, signal: null });
  }, 180_000);
});
