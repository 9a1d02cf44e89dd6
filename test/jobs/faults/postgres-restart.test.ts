/**
 * Restart Postgres (`pg_ctl stop -m fast`, then start, on a throwaway cluster of this test's own: the shared
 * per-run server is never touched) in the middle of a run: the store reports the outage once
 * (`store.connection.lost` / `.reconnected`), consumers stop claiming while it lasts, writes caught by
 * it are retried (claims and finishes recognise their own earlier try), and every job ends completed,
 * none lost and none run twice.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { captureEvents, createTelemetry, JobSystem } from '../../../src/index.ts';
import { BullmqDispatcher } from '../../../src/jobs/dispatch/index.ts';
import { createSqlClient } from '../../../src/jobs/store/client.ts';
import { JobStore } from '../../../src/jobs/store/store.ts';
import { Pool } from '../../../src/pool/pool.ts';
import { testRedisUrl } from '../../helpers/services.ts';
import { startThrowawayPostgres } from '../../setup/postgres-cluster.ts';
import { findPostgresBinDir, isRoot, runCommand } from '../../setup/support.ts';
import { randomName } from '../system/backends.ts';
import { jobWorker } from '../system/suite.ts';
import { sleep, statusCounts, until } from './fleet.ts';

const JOBS = 2_000;
const QUEUE = 'pgrestart';
const CONCURRENCY = 16;
const DOWN_MS = 1_500;
const cleanups: (() => Promise<unknown>)[] = [];

afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
}, 60_000);

describe('Postgres restarted mid-run', () => {
  it(`loses none of ${JOBS} jobs, and reports the outage as lost then reconnected`, async () => {
    const cluster = await startThrowawayPostgres();
    cleanups.push(() => cluster.stop());
    const side = await createSqlClient({ url: cluster.adminUrl, poolSize: 1 });
    // The cluster helper keeps its data directory to itself; the server knows it (we are superuser).
    const dataDir = String((await side.query<{ data_directory: string }>('SHOW data_directory'))[0]!.data_directory);
    await side.close();
    const binDir = await findPostgresBinDir();
    if (binDir === null) throw new Error('pg_ctl not found');
    const pgCtl = (...args: string[]) => runCommand(join(binDir, 'pg_ctl'), ['-D', dataDir, '-w', '-t', '60', ...args], { asUser: isRoot() ? 'postgres' : undefined, timeoutMs: 90_000 });
    // Stop (fast: sessions are terminated, open transactions rolled back), stay down a while, start
    // again on the same port: `restart` alone is over in ~0.2 s here, too short to watch consumers pause.
    const restartPostgres = async (downMs: number): Promise<void> => {
      await pgCtl('-m', 'fast', 'stop');
      await sleep(downMs);
      await pgCtl('-l', join(dirname(dataDir), 'server.log'), '-o', `-p ${new URL(cluster.adminUrl).port}`, 'start');
    };

    const bus = createTelemetry();
    const seen = captureEvents(bus, ['job.start', 'job.stop', 'job.exception', 'store.connection.*']);
    const outages: { event: string; at: number }[] = [];
    bus.attach('test.outages', 'store.connection.*', (event) => { outages.push({ event, at: performance.now() }); });
    const schema = randomName('fault_pg');
    const store = await JobStore.open({
      url: cluster.adminUrl, schema, telemetry: bus, poolSize: 8,
      retry: { budgetMs: 60_000, minDelayMs: 50, maxDelayMs: 500, probeIntervalMs: 200 },
    });
    cleanups.push(() => store.close());
    const dispatcher = new BullmqDispatcher({ url: testRedisUrl(), prefix: randomName('pbpg'), telemetry: bus });
    cleanups.push(() => dispatcher.close());
    const pool = new Pool({ name: 'pg-fault', worker: jobWorker, threads: 2, telemetry: bus, statusIntervalMs: null, sampleIntervalMs: null });
    await pool.start();
    cleanups.push(() => pool.close({ timeoutMs: 2_000 }));
    const dir = mkdtempSync(join(tmpdir(), 'pitboss-pg-fault-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const marks = join(dir, 'marks');

    // When each claim was asked for: none should start while the store is known to be down.
    const claimsAt: number[] = [];
    const observedJobs = new Proxy(store.jobs, {
      get(target, key) {
        if (key === 'claim') return (id: string, by: string) => { claimsAt.push(performance.now()); return target.claim(id, by); };
        const value: unknown = Reflect.get(target, key, target);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    const observed = new Proxy(store, {
      get(target, key) {
        if (key === 'jobs') return observedJobs;
        const value: unknown = Reflect.get(target, key, target);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    const system = new JobSystem({ store: observed, dispatcher, telemetry: bus, queues: { [QUEUE]: { pool, concurrency: CONCURRENCY } }, reconcile: { intervalMs: 500 } });
    await system.start();
    cleanups.push(() => system.stop(5_000));

    const sql = async <R extends Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<R[]> => {
      const client = await createSqlClient({ url: cluster.adminUrl, schema, poolSize: 1 });
      try {
        return await client.query<R>(text, params);
      } finally {
        await client.close();
      }
    };
    const counts = () => statusCounts({ sql });

    const started = performance.now();
    await system.enqueue(Array.from({ length: JOBS }, (_, index) => ({ queue: QUEUE, name: 'mark', data: { kind: 'mark', file: marks, index } })));
    await until(async () => ((await counts()).completed ?? 0) >= JOBS / 4, 120_000, counts);
    const atRestart = await counts();
    const restartStarted = performance.now();
    await restartPostgres(DOWN_MS);
    const restartMs = performance.now() - restartStarted;
    await seen.waitFor('store.connection.reconnected', { timeoutMs: 30_000 });

    await until(async () => ((await counts()).completed ?? 0) === JOBS, 120_000, counts);
    const totalMs = performance.now() - started;

    expect(await counts()).toEqual({ completed: JOBS });
    const rows = await sql<{ attempts: number; index: number; result_index: number }>(
      "SELECT attempts, (payload->>'index')::int AS index, (result->>'index')::int AS result_index FROM jobs");
    expect(rows.filter((r) => r.attempts !== 1 || r.result_index !== r.index)).toEqual([]);
    const stopped = new Set(seen.of('job.stop').map((e) => e.metadata.job_id));
    expect(seen.of('job.stop')).toHaveLength(JOBS);
    expect(stopped.size).toBe(JOBS);
    expect(seen.of('job.exception')).toHaveLength(0);
    const lines = readFileSync(marks, 'utf8').trim().split('\n').map(Number);
    expect(lines).toHaveLength(JOBS);
    expect(new Set(lines).size).toBe(JOBS);
    // Actions caught by the outage were kept and written after it.
    await until(async () => (await sql<{ n: number }>('SELECT count(*)::int AS n FROM job_actions'))[0]!.n >= JOBS, 30_000, counts);
    expect((await sql<{ n: number }>('SELECT count(DISTINCT job_id)::int AS n FROM job_actions'))[0]!.n).toBe(JOBS);
    expect(store.drops()).toEqual({ actions: 0, workerEvents: 0, progress: 0 });

    // One outage, reported once each way, with its downtime.
    const lost = seen.of('store.connection.lost');
    const reconnected = seen.of('store.connection.reconnected');
    expect(lost.length).toBeGreaterThanOrEqual(1);
    expect(reconnected.length).toBe(lost.length);
    expect(lost[0]!.metadata).toMatchObject({ backend: 'postgres' });
    expect(reconnected.every((e) => (e.measurements.downtime ?? 0) > 0)).toBe(true);
    expect(reconnected.reduce((n, e) => n + (e.measurements.downtime ?? 0), 0)).toBeGreaterThanOrEqual((DOWN_MS - 500) * 1e6);
    expect(seen.names().filter((n) => n.startsWith('store.')).at(-1)).toBe('store.connection.reconnected');
    // Consumers stopped claiming while the store was down (after a moment for the pause to take effect).
    const windows = outages.flatMap((o, i) => (o.event === 'store.connection.lost' ? [[o.at, outages[i + 1]?.at ?? Infinity] as const] : []));
    const claimsWhileDown = claimsAt.filter((t) => windows.some(([from, to]) => t > from + 250 && t < to)).length;
    expect(claimsWhileDown).toBe(0);
    const downtimeMs = reconnected.reduce((n, e) => n + (e.measurements.downtime ?? 0) / 1e6, 0);

    console.log(`[fault:postgres-restart] ${JOBS} jobs; pg_ctl stop -m fast / start (${DOWN_MS} ms apart) at ${JSON.stringify(atRestart)} took ${Math.round(restartMs)} ms; ` +
      `store down ${Math.round(downtimeMs)} ms in ${lost.length} outage(s); all completed in ${Math.round(totalMs)} ms; ` +
      `${claimsAt.length} claims, none started while the store was down`);
  }, 240_000);
});
