/**
 * Two CLI supervisors given one PITBOSS_SUPERVISOR_ID on a shared Postgres and Redis. The second
 * must refuse to start while the first is alive — starting would requeue the first one's running
 * job as its own previous life's, and the job would run twice — and a process restarted under the
 * id after the first was SIGKILLed starts at once (its pid is gone), without waiting out the TTL.
 */
import { describe, expect, it } from 'vitest';
import { fleetSuite, statusCounts, until } from './fleet.ts';
import { SupervisorProcess } from './supervisor-process.ts';

/** A TTL far longer than the test's waits: a start that waited it out would time out. */
const timing = { heartbeatTtlMs: 120_000, reconcileIntervalMs: 250 };

describe('two supervisors under one id', () => {
  const fleet = fleetSuite('fault_shared_id');

  it('the second refuses to start while the first runs a job; a restart after the first died starts at once', async () => {
    const { db, redis, supervisors } = fleet;
    const env = { databaseUrl: db.url, redisUrl: redis.url, ...timing };
    const first = await SupervisorProcess.start('sup-shared', env);
    supervisors.push(first);
    const [job] = await db.enqueue(redis.url, [{ queue: 'work', name: 'step', data: { kind: 'ok', value: 'once', delayMs: 3000 } }]);
    const row = async () => (await db.sql<{ status: string; attempts: number; claimed_by: string | null }>(
      'SELECT status, attempts, claimed_by FROM jobs WHERE id = $1', [job!.id]))[0]!;
    await until(async () => (await row()).status === 'running', 30_000, row);

    // Kept for cleanup should it start after all.
    const twin = SupervisorProcess.start('sup-shared', env, 30_000).then((started) => { supervisors.push(started); return started; });
    await expect(twin)
      .rejects.toThrow(new RegExp(`exited while starting \\(\\{"code":1.*supervisor id "sup-shared" is in use by process ${first.pid} on `, 's'));
    // The job ran once, on the first supervisor, to the end.
    await until(async () => (await row()).status === 'completed', 30_000, row);
    expect(await row()).toMatchObject({ status: 'completed', attempts: 1 });

    // SIGKILL: the id's row still looks alive for the TTL, but on this host its pid is gone.
    const [second] = await db.enqueue(redis.url, [{ queue: 'work', name: 'step', data: { kind: 'ok', value: 'again', delayMs: 60_000 } }]);
    await until(async () => (await db.sql('SELECT 1 FROM jobs WHERE id = $1 AND status = $2', [second!.id, 'running'])).length === 1, 30_000, () => statusCounts(db));
    expect(await first.signal('SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' });
    const restarted = await SupervisorProcess.start('sup-shared', env, 30_000);
    supervisors.push(restarted);
    // Its startup sweep took the dead life's claim: a new attempt, queued (BullMQ hands it out once the dead lock lapses).
    const [swept] = await db.sql<{ status: string; attempts: number }>('SELECT status, attempts FROM jobs WHERE id = $1', [second!.id]);
    expect(swept).toEqual({ status: 'queued', attempts: 1 });
    expect(await restarted.signal('SIGTERM')).toEqual({ code: 0, signal: null });
  }, 150_000);
});
