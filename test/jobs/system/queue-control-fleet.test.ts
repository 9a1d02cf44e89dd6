/**
 * Queue control across a fleet: two supervisors (two JobSystems, each with its own store connection
 * and BullMQ dispatcher, sharing one Postgres schema and one Redis prefix) consume the same queues.
 *
 * - A pause through one stops starts on both, and the other's consumer stops taking jobs from Redis
 *   within ~1–2 s (it heard the NOTIFY): the jobs enqueued meanwhile stay in Redis instead of being
 *   fetched and refused. A resume through the other hands them all out.
 * - Under load, a pause is strict: the set of claimed jobs does not grow once it has answered; a
 *   pause waits for a claim under way (its lock), so that claim commits first.
 * - A rate limit holds across both: their starts together never exceed it.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureEvents, createTelemetry, JobSystem, type Telemetry } from '../../../src/index.ts';
import { BullmqDispatcher } from '../../../src/jobs/dispatch/index.ts';
import { createSqlClient } from '../../../src/jobs/store/client.ts';
import { jobSql } from '../../../src/jobs/store/sql/jobs.ts';
import { JobStore } from '../../../src/jobs/store/store.ts';
import type { JobStatus, RateLimit } from '../../../src/jobs/types.ts';
import { Pool } from '../../../src/pool/pool.ts';
import { testDatabaseUrl, testRedisUrl } from '../../helpers/services.ts';
import { fastRetry, randomName } from './backends.ts';
import { START_JITTER_MS, worstOverrun } from './rate-check.ts';
import { jobWorker } from './suite.ts';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const LIMIT: RateLimit = { max: 3, perMs: 800 };

interface Member {
  readonly bus: Telemetry;
  readonly store: JobStore;
  readonly dispatcher: BullmqDispatcher;
  readonly pool: Pool;
  readonly system: JobSystem;
}

describe('queue control across two supervisors (Postgres + BullMQ)', () => {
  const schema = randomName('qfleet');
  const prefix = `pbqf-${randomBytes(4).toString('hex')}`;
  const starts: { queue: string; member: number; at: number }[] = [];
  let members: Member[] = [];

  async function member(index: number): Promise<Member> {
    const bus = createTelemetry();
    bus.attach('test.starts', 'job.start', (_event, _m, metadata) => { starts.push({ queue: String(metadata.queue), member: index, at: performance.now() }); });
    const store = await JobStore.open({ url: testDatabaseUrl(), schema, telemetry: bus, poolSize: 4, retry: fastRetry });
    const dispatcher = new BullmqDispatcher({ url: testRedisUrl(), prefix, telemetry: bus, stalledIntervalMs: 2_000, lockDurationMs: 4_000 });
    const pool = new Pool({ name: `fleet${index}`, worker: jobWorker, threads: 2, telemetry: bus, statusIntervalMs: null, sampleIntervalMs: null });
    await pool.start();
    const system = new JobSystem({
      store, dispatcher, telemetry: bus, supervisorId: `qfleet-${index}-${randomBytes(3).toString('hex')}`,
      queues: { shared: { pool, concurrency: 2 }, busy: { pool, concurrency: 2 }, metered: { pool, concurrency: 4, rateLimit: LIMIT } },
      // A long period: the consumers must follow the pause through the notification, not the period.
      reconcile: { intervalMs: 10_000, graceMs: 100 },
    });
    await system.start();
    return { bus, store, dispatcher, pool, system };
  }

  async function waitStatus(ids: readonly string[], status: JobStatus, timeoutMs = 20_000): Promise<void> {
    const { system } = members[0]!;
    const until = Date.now() + timeoutMs;
    for (;;) {
      const rows = await Promise.all(ids.map((id) => system.get(id)));
      if (rows.every((r) => r?.status === status)) return;
      if (Date.now() > until) throw new Error(`jobs are ${rows.map((r) => r?.status).join(', ')} after ${timeoutMs} ms, not all ${status}`);
      await sleep(20);
    }
  }

  beforeAll(async () => {
    // The first opens (and migrates) the schema; the second joins it.
    members = [await member(0)];
    members.push(await member(1));
  }, 60_000);

  afterAll(async () => {
    for (const m of members) {
      await m.system.stop(5_000).catch(() => {});
      await m.pool.close().catch(() => {});
      await m.dispatcher.close().catch(() => {});
      await m.store.close().catch(() => {});
    }
    const side = await createSqlClient({ url: testDatabaseUrl(), schema, poolSize: 1 });
    await side.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
    await side.close();
  }, 30_000);

  it('a pause through one supervisor stops starts on both, and a resume through the other runs what waited', async () => {
    const [a, b] = members as [Member, Member];
    const events = [captureEvents(a.bus, ['queue.*']), captureEvents(b.bus, ['queue.*'])];
    await a.system.pauseQueue('shared');
    // b hears of the pause by NOTIFY, milliseconds later (its periodic re-read is 10 s away here): a
    // job handed to b before then is refused at claim and leaves dispatch, which the Redis count
    // below would take for a consumer that never held back. Give the notification its moment.
    await sleep(300);
    const before = starts.length;
    // Enqueued through the other supervisor, which consumes the queue too.
    const jobs = await b.system.enqueue(Array.from({ length: 6 }, (_, i) => ({ queue: 'shared', name: 'waits', data: { kind: 'ok', value: i } })));
    await sleep(1_500);
    expect(starts.slice(before).filter((s) => s.queue === 'shared')).toEqual([]);
    for (const job of jobs) expect(await b.system.get(job.id)).toMatchObject({ status: 'queued', attempts: 0 });
    // Both consumers hold back: the jobs are still in Redis, not fetched and refused at claim.
    expect(await b.dispatcher.count('shared')).toBe(6);
    expect((await b.system.queues()).find((q) => q.queue === 'shared')).toMatchObject({ paused: true, queued: 6 });

    await b.system.resumeQueue('shared');
    await waitStatus(jobs.map((j) => j.id), 'completed', 15_000);
    // Each change is announced once, by the supervisor that made it.
    expect([events[0]!.names(), events[1]!.names()]).toEqual([['queue.paused'], ['queue.resumed']]);
  }, 60_000);

  it('a pause under load is strict: once it has answered, no claim of the queue commits on either supervisor', async () => {
    const [a, b] = members as [Member, Member];
    const side = await createSqlClient({ url: testDatabaseUrl(), schema, poolSize: 1 });
    const claimed = async (): Promise<string[]> => (await side.query<{ id: string }>("SELECT id::text AS id FROM jobs WHERE queue = 'busy' AND attempts > 0 ORDER BY id")).map((r) => r.id);
    try {
      const jobs = await a.system.enqueue(Array.from({ length: 400 }, (_, i) => ({ queue: 'busy', name: 'flow', data: { kind: 'ok', value: i, delayMs: 5 } })));
      // Both supervisors are claiming when the pause lands.
      while ((await claimed()).length < 40) await sleep(10);
      await b.system.pauseQueue('busy');
      const atPause = await claimed();
      expect(atPause.length).toBeLessThan(jobs.length);
      await sleep(1_500);
      expect(await claimed()).toEqual(atPause);
      await a.system.resumeQueue('busy');
      await waitStatus(jobs.map((j) => j.id), 'completed', 30_000);
      const byMember = new Set(starts.filter((s) => s.queue === 'busy').map((s) => s.member));
      expect([...byMember].sort()).toEqual([0, 1]);
    } finally {
      await side.close();
    }
  }, 60_000);

  it('a pause waits for the claims under way, so none of them can commit after it answered', async () => {
    const [a] = members as [Member];
    const side = await createSqlClient({ url: testDatabaseUrl(), schema, poolSize: 1 });
    try {
      const [job] = await a.store.jobs.enqueue([{ queue: 'unconsumed', name: 'x', data: { kind: 'ok' } }]);
      let release!: () => void;
      const held = new Promise<void>((resolve) => { release = resolve; });
      let claimedInside = 0;
      // A claim under way: the store's own claim statement, in a transaction the test holds open.
      const claim = side.transaction(async (tx) => {
        claimedInside = (await tx.query(jobSql.claim, [[job!.id], ['side/p'], [randomUUID()], [0]])).length;
        await held;
      });
      while (claimedInside === 0) await sleep(10);
      let paused = false;
      const pause = a.store.queues.pause('unconsumed').then(() => { paused = true; });
      await sleep(500);
      expect(paused).toBe(false);
      release();
      await claim;
      await pause;
      // The claim committed before the pause did; a claim now is refused.
      expect(await a.store.jobs.get(job!.id)).toMatchObject({ status: 'running', attempts: 1 });
      const [next] = await a.store.jobs.enqueue([{ queue: 'unconsumed', name: 'y', data: { kind: 'ok' } }]);
      expect(await a.store.jobs.claim(next!.id, 'side/p')).toBeNull();
      await a.store.queues.resume('unconsumed');
      expect(await a.store.jobs.claim(next!.id, 'side/p')).toMatchObject({ id: next!.id, attempt: 1 });
    } finally {
      await side.close();
    }
  }, 30_000);

  it('a rate limit holds across both supervisors', async () => {
    const [a, b] = members as [Member, Member];
    const before = starts.length;
    const jobs = [
      ...await a.system.enqueue(Array.from({ length: 6 }, (_, i) => ({ queue: 'metered', name: 'm', data: { kind: 'ok', value: i } }))),
      ...await b.system.enqueue(Array.from({ length: 6 }, (_, i) => ({ queue: 'metered', name: 'm', data: { kind: 'ok', value: i } }))),
    ];
    await waitStatus(jobs.map((j) => j.id), 'completed', 30_000);
    const metered = starts.slice(before).filter((s) => s.queue === 'metered');
    expect(metered).toHaveLength(12);
    expect(worstOverrun(metered.map((s) => s.at), LIMIT)).toBeNull();
    expect(Math.max(...metered.map((s) => s.at)) - Math.min(...metered.map((s) => s.at))).toBeGreaterThanOrEqual(3 * LIMIT.perMs - START_JITTER_MS);
  }, 60_000);
});
