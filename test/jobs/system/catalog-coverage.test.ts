/**
 * Every `job.*`, `action.*`, `dispatch.*`, `store.*` and `queue.*` event of the catalog is emitted by real code:
 * one job system (real Postgres behind a TCP proxy the test can cut, BullMQ on a redis-server of this
 * test's own that it SIGKILLs and restarts, a real pool) is driven through each situation. The test
 * only creates situations and observes; it executes no event itself.
 */
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureEvents, catalog, createTelemetry, JobSystem, type Telemetry } from '../../../src/index.ts';
import { BullmqDispatcher } from '../../../src/jobs/dispatch/index.ts';
import { createSqlClient } from '../../../src/jobs/store/client.ts';
import { JobStore } from '../../../src/jobs/store/store.ts';
import { Pool } from '../../../src/pool/pool.ts';
import { testDatabaseUrl } from '../../helpers/services.ts';
import { RedisProcess } from '../dispatch/redis-process.ts';
import { TcpProxy } from '../store/tcp-proxy.ts';
import { fastRetry, randomName } from './backends.ts';
import { jobWorker } from './suite.ts';

const groups = ['job.', 'action.', 'dispatch.', 'store.', 'queue.'];
const expected = Object.keys(catalog).filter((name) => groups.some((g) => name.startsWith(g))).sort();
const cleanups: (() => Promise<unknown>)[] = [];

describe('catalog coverage: job, action, dispatch and store events', () => {
  const bus: Telemetry = createTelemetry();
  const seen = captureEvents(bus, ['job.*', 'action.*', 'dispatch.*', 'store.*', 'queue.*']);
  let redis: RedisProcess;
  let proxy: TcpProxy & { url: string };
  let store: JobStore;
  let system: JobSystem;
  const schema = randomName('jobs_catalog');

  beforeAll(async () => {
    redis = await RedisProcess.start();
    cleanups.push(() => redis.kill());
    proxy = await TcpProxy.start(testDatabaseUrl());
    cleanups.push(() => proxy.close());
    store = await JobStore.open({ url: proxy.url, schema, telemetry: bus, retry: fastRetry, poolSize: 4 });
    cleanups.push(async () => {
      await store.close();
      const side = await createSqlClient({ url: testDatabaseUrl(), schema, poolSize: 1 });
      await side.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
      await side.close();
    });
    const dispatcher = new BullmqDispatcher({ url: redis.url, prefix: randomName('pbcat'), telemetry: bus, readyTimeoutMs: 500 });
    cleanups.push(() => dispatcher.close());
    const pool = new Pool({ name: 'catalog', worker: jobWorker, threads: 1, telemetry: bus, statusIntervalMs: null, sampleIntervalMs: null });
    await pool.start();
    cleanups.push(() => pool.close({ timeoutMs: 2_000 }));
    system = new JobSystem({
      store, dispatcher, telemetry: bus, queues: { cov: { pool, concurrency: 2 } },
      reconcile: { intervalMs: 200, heartbeatTtlMs: 1_000, graceMs: 200 },
      // Retention's deletes are store.flush writes too (kind prune_*); completed jobs are kept 2 s here.
      retention: { completedMs: 2_000, deadMs: null, cancelledMs: null, fleetHistoryMs: null, intervalMs: 300 },
    });
    await system.start();
    cleanups.push(() => system.stop(5_000));
  }, 60_000);

  afterAll(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
  }, 30_000);

  it('fires every one of them from real code paths', async () => {
    const waitForJob = async (id: string, event: 'job.stop' | 'job.dead' | 'job.stalled' | 'job.cancelled'): Promise<void> => {
      const until = Date.now() + 20_000;
      while (!seen.of(event).some((e) => e.metadata.job_id === id)) {
        if (Date.now() > until) throw new Error(`no ${event} for job ${id}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    const counter = join(tmpdir(), `pitboss-catalog-${schema}`);
    cleanups.push(async () => rmSync(counter, { force: true }));
    const [flaky, doomed, later] = await system.enqueue([
      // action.start/stop/exception, job.enqueued/start/exception/retry/stop; store.flush from every write.
      { queue: 'cov', name: 'flaky', data: { kind: 'flaky', counter, failures: 1, steps: ['load', 'save'] }, backoff: { type: 'fixed', delayMs: 50 } },
      { queue: 'cov', name: 'doomed', data: { kind: 'throw' }, maxAttempts: 1 }, // job.dead
      { queue: 'cov', name: 'later', data: { kind: 'ok' }, delayMs: 60_000 }, // job.cancelled
    ]);
    await waitForJob(flaky!.id, 'job.stop');
    await waitForJob(doomed!.id, 'job.dead');
    // job.retried: an operator retries the dead job (it runs, and dies, once more).
    await system.retry(doomed!.id);
    await system.cancel(later!.id);
    await waitForJob(later!.id, 'job.cancelled');

    // job.stalled: a claimer that never heartbeats loses its job to the reconciler.
    const [orphan] = await store.jobs.enqueue([{ queue: 'cov', name: 'orphan', data: { kind: 'ok' } }]);
    await store.jobs.claim(orphan!.id, 'vanished-supervisor/pool');
    await waitForJob(orphan!.id, 'job.stalled');
    await waitForJob(orphan!.id, 'job.stop');

    // dispatch.connection.lost / reconnected: Redis SIGKILLed and restarted empty.
    await redis.kill();
    await seen.waitFor('dispatch.connection.lost', { timeoutMs: 10_000 });
    await redis.restart();
    await seen.waitFor('dispatch.connection.reconnected', { timeoutMs: 20_000 });

    // store.connection.lost / reconnected: every connection to Postgres cut, then allowed again.
    proxy.cut();
    await seen.waitFor('store.connection.lost', { timeoutMs: 10_000 });
    proxy.restore();
    await seen.waitFor('store.connection.reconnected', { timeoutMs: 10_000 });

    // The system still works after both outages; job.progress from the worker's ctx.progress.
    const [after] = await system.enqueue([{ queue: 'cov', name: 'after', data: { kind: 'ok', progress: 0.5 } }]);
    await waitForJob(after!.id, 'job.stop');

    // Retention: the first jobs completed seconds ago, past their 2 s.
    const pruned = (): boolean => seen.of('store.flush').some((e) => e.metadata.kind === 'prune_completed');
    for (let i = 0; i < 150 && !pruned(); i++) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await system.get(flaky!.id)).toBeNull();

    // queue.paused / queue.resumed: an operator pauses and resumes the queue.
    await system.pauseQueue('cov');
    await system.resumeQueue('cov');

    const fired = new Set<string>(seen.names());
    expect(expected.filter((name) => !fired.has(name))).toEqual([]);
    expect(seen.of('store.flush').some((e) => e.metadata.kind === 'actions')).toBe(true);
    // The backend and, when the driver said, why — never a job's correlation: an outage is nobody's.
    const withoutCause = ({ error_type: _type, error: _error, ...rest }: { backend?: unknown; error_type?: unknown; error?: unknown }) => rest;
    expect(withoutCause(seen.of('dispatch.connection.lost')[0]!.metadata)).toEqual({ backend: 'bullmq' });
    expect(withoutCause(seen.of('store.connection.lost')[0]!.metadata)).toEqual({ backend: 'postgres' });
  }, 90_000);
});
