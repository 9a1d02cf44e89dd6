// What only a real server shows: the store riding out an outage (connections cut by a proxy, or
// terminated by the server), LISTEN recovering, and two processes migrating at once.
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { captureEvents, createTelemetry } from '../../../src/index.ts';
import { createSqlClient } from '../../../src/jobs/store/client.ts';
import { migrate } from '../../../src/jobs/store/migrate.ts';
import { migrationSql, migrations } from '../../../src/jobs/store/schema.ts';
import { JobStore } from '../../../src/jobs/store/store.ts';
import type { TelemetrySettings, JobStoreOptions, SqlClient } from '../../../src/jobs/store/types.ts';
import { testDatabaseUrl } from '../../helpers/services.ts';
import { eventually, randomName, uniqueQueue } from './harness.ts';
import { freePort } from '../../setup/support.ts';
import { TcpProxy } from './tcp-proxy.ts';

const schema = randomName('store_outage');
const fastRetry = { budgetMs: 20_000, minDelayMs: 20, maxDelayMs: 200, probeIntervalMs: 100 };
const open: { close(): Promise<void> }[] = [];
let admin: SqlClient;

async function openStore(options: Partial<JobStoreOptions> = {}): Promise<JobStore> {
  const store = await JobStore.open({ url: testDatabaseUrl(), schema, retry: fastRetry, poolSize: 4, ...options });
  open.push(store);
  return store;
}

beforeAll(async () => {
  admin = await createSqlClient({ url: testDatabaseUrl(), schema, poolSize: 2 });
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});
afterAll(async () => {
  await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
  await admin.close();
});

describe('an outage', () => {
  it('holds writes issued while the database is unreachable and commits them after, reporting the outage once', async () => {
    const proxy = await TcpProxy.start(testDatabaseUrl());
    open.push(proxy);
    const bus = createTelemetry();
    const events = captureEvents(bus, ['store.connection.*']);
    const store = await openStore({ url: proxy.url, telemetry: bus });
    const availability: boolean[] = [];
    store.onAvailability((available) => availability.push(available));
    const queue = uniqueQueue();
    const [running] = await store.jobs.enqueue([{ queue, name: 'before' }]);
    const claimed = await store.jobs.claim(running!.id, 'sup/p');

    proxy.cut();
    let restoredAt = Number.POSITIVE_INFINITY;
    const settledAt: number[] = [];
    const stamp = <T>(p: Promise<T>): Promise<T> => p.then((value) => { settledAt.push(performance.now()); return value; });
    const during = [
      stamp(store.jobs.enqueue([{ queue, name: 'during-1' }, { queue, name: 'during-2' }])),
      stamp(store.jobs.enqueue([{ queue, name: 'during-3', idempotencyKey: 'once' }])),
      stamp(store.jobs.finish({ id: running!.id, attempt: claimed!.attempt, status: 'completed', result: 'after the outage' })),
    ] as const;
    store.jobs.recordActions([{ jobId: running!.id, attempt: 1, action: 'step', status: 'ok', duration: 5, error: null }]);

    await events.waitFor('store.connection.lost', { timeoutMs: 10_000 });
    expect(store.available).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(settledAt).toEqual([]);
    restoredAt = performance.now();
    proxy.restore();

    const [enqueued, keyed, finished] = await Promise.all(during);
    expect(settledAt.every((t) => t >= restoredAt)).toBe(true);
    expect(enqueued!.map((j) => j.created)).toEqual([true, true]);
    expect(keyed![0]!.created).toBe(true);
    expect(finished).toBe(true);
    await events.waitFor('store.connection.reconnected', { timeoutMs: 10_000 });
    expect(store.available).toBe(true);
    expect(events.of('store.connection.lost')).toHaveLength(1);
    expect(events.of('store.connection.reconnected')).toHaveLength(1);
    expect(events.of('store.connection.reconnected')[0]!.measurements.downtime).toBeGreaterThan(400e6);
    // With what failed, so the log line says why.
    expect(events.of('store.connection.lost')[0]!.metadata).toEqual({ backend: 'postgres', error_type: expect.any(String), error: expect.stringMatching(/\S/) });
    expect(availability).toEqual([false, true]);

    // Exactly the rows asked for: nothing lost, nothing doubled by the retries.
    const rows = await admin.query<{ name: string; status: string }>('SELECT name, status FROM jobs WHERE queue = $1 ORDER BY name', [queue]);
    expect(rows).toEqual([
      { name: 'before', status: 'completed' }, { name: 'during-1', status: 'queued' }, { name: 'during-2', status: 'queued' }, { name: 'during-3', status: 'queued' },
    ]);
    await eventually(async () => (await store.jobs.get(running!.id))?.actions.length === 1, 10_000, 'the action kept through the outage');
  });

  it('fails writes with PITBOSS_STORE_UNAVAILABLE once the retry budget is spent, and keeps fire-and-forget rows', async () => {
    const proxy = await TcpProxy.start(testDatabaseUrl());
    open.push(proxy);
    const store = await openStore({ url: proxy.url, retry: { ...fastRetry, budgetMs: 600 } });
    const [job] = await store.jobs.enqueue([{ queue: uniqueQueue(), name: 'n' }]);
    proxy.cut();
    await expect(store.jobs.claim(job!.id, 'sup/p')).rejects.toMatchObject({ code: 'PITBOSS_STORE_UNAVAILABLE' });
    await expect(store.overview.queueStats()).rejects.toMatchObject({ code: 'PITBOSS_STORE_UNAVAILABLE' });
    store.jobs.recordActions([{ jobId: job!.id, attempt: 1, action: 'kept', status: 'ok', duration: 1, error: null }]);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    proxy.restore();
    await eventually(() => store.available, 10_000, 'the store to come back');
    // The claim that "failed" never committed (the proxy refused every connection), so it is still claimable.
    expect(await store.jobs.claim(job!.id, 'sup/p')).toMatchObject({ attempt: 1 });
    await eventually(async () => (await store.jobs.get(job!.id))?.actions.length === 1, 10_000, 'the kept action');
    expect(store.drops()).toEqual({ actions: 0, workerEvents: 0, progress: 0 });
  });

  it('fails to open with PITBOSS_STORE_UNAVAILABLE naming the server (password masked) when Postgres is unreachable', async () => {
    const closedPort = await freePort();
    const url = new URL(testDatabaseUrl());
    url.port = String(closedPort);
    url.password = 'not-for-logs';
    const error = (await JobStore.open({ url: url.toString(), schema, connectTimeoutMs: 2_000 }).then(() => null, (e: unknown) => e)) as Error;
    expect(error).toMatchObject({ code: 'PITBOSS_STORE_UNAVAILABLE', message: expect.stringMatching(/^the job store cannot reach Postgres at postgres(ql)?:\/\//) });
    expect(error.message).toContain(`:${closedPort}/`);
    expect(error.message).not.toContain('not-for-logs');
  });

  it('recovers when the server terminates its connections (pool and LISTEN)', async () => {
    const applicationName = randomName('pitboss_terminated');
    const [writer, reader] = [await openStore(), await openStore({ applicationName })];
    const seen: TelemetrySettings[] = [];
    await reader.settings.onChange((state) => seen.push(state));
    const queue = uniqueQueue();
    await reader.jobs.enqueue([{ queue, name: 'warm' }]);
    const killed = await admin.query<{ n: number }>(
      'SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()', [applicationName]);
    expect(killed[0]!.n).toBeGreaterThanOrEqual(2);
    // The pool hands out connections the server closed; the retry takes a fresh one.
    const jobs = await Promise.all(Array.from({ length: 5 }, (_, i) => reader.jobs.enqueue([{ queue, name: `after-${i}` }])));
    expect(jobs.flat().every((j) => j.created)).toBe(true);
    expect(await reader.jobs.countClaimable(queue)).toBe(6);
    // LISTEN reconnects by itself; a change saved meanwhile is loaded on reconnect or notified after.
    const saved = await writer.settings.save({ rules: [{ pattern: 'job.*', rate: 0.1 }] });
    await eventually(() => seen.some((s) => s.version >= saved.version), 15_000, 'the control change after LISTEN reconnected');
  });
});

// Every version of schema.ts, whichever they are (issue 18's slices each add one).
const versions = migrations.map((m) => m.version).sort((a, b) => a - b);

describe('migrations', () => {
  it('apply once when two processes migrate the same schema at the same time', async () => {
    const fresh = randomName('store_migrate');
    const clients = await Promise.all([0, 1, 2].map(() => createSqlClient({ url: testDatabaseUrl(), schema: fresh, poolSize: 1 })));
    try {
      const reports = await Promise.all(clients.map((c) => migrate(c)));
      expect(reports.map((r) => r.applied).sort()).toEqual([[], [], versions]);
      const rows = await clients[0]!.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
      expect(rows.map((r) => Number(r.version))).toEqual(versions);
      expect((await migrate(clients[1]!)).applied).toEqual([]);
      const tables = await clients[0]!.query<{ name: string }>(
        "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1", [fresh]);
      expect(tables.map((t) => t.name)).toEqual(['control_rules', 'control_state', 'job_actions', 'jobs', 'paused_queues', 'schedules', 'schema_migrations', 'supervisors', 'worker_events']);
    } finally {
      await clients[0]!.query(`DROP SCHEMA IF EXISTS "${fresh}" CASCADE`).catch(() => {});
      await Promise.all(clients.map((c) => c.close()));
    }
  });
});

describe('migrations from an older schema', () => {
  it('applies only what a schema at version 1 lacks, and keeps its rows', async () => {
    const old = randomName('store_v1');
    const client = await createSqlClient({ url: testDatabaseUrl(), schema: old, poolSize: 1 });
    try {
      // A schema as the first release left it: migration 1 only.
      await client.transaction(async (tx) => {
        await tx.exec(migrationSql.createSchema(old));
        await tx.exec(migrationSql.createTable);
        await tx.exec(migrations[0]!.sql);
        await tx.query(migrationSql.record, [1, migrations[0]!.name]);
      });
      await client.query("INSERT INTO jobs (queue, name, status, finished_at) VALUES ('q', 'kept', 'completed', now())");
      await client.query("INSERT INTO supervisors (id, host, pid) VALUES ('sup-v1', 'h', 7)");
      expect(await migrate(client)).toEqual({ applied: versions.slice(1), version: Math.max(...versions) });
      // A supervisor of the older release has no instance (the next process under its id starts a
      // new life) and consumes no queue the fleet knows of.
      expect(await client.query("SELECT id, host, pid, instance, stopped_at, queues FROM supervisors")).toEqual([{ id: 'sup-v1', host: 'h', pid: 7, instance: null, stopped_at: null, queues: [] }]);
      const indexes = await client.query<{ name: string }>("SELECT indexname AS name FROM pg_indexes WHERE schemaname = $1 AND tablename = 'jobs' ORDER BY 1", [old]);
      expect(indexes.map((i) => i.name)).toEqual(expect.arrayContaining(['jobs_failures', 'jobs_finished']));
      // A job of the older release came with no tracestate.
      expect(await client.query('SELECT name, tracestate FROM jobs')).toEqual([{ name: 'kept', tracestate: null }]);
    } finally {
      await client.query(`DROP SCHEMA IF EXISTS "${old}" CASCADE`).catch(() => {});
      await client.close();
    }
  });
});

describe('a fleet on one database', () => {
  it('ignores control changes of stores in another schema', async () => {
    const other = randomName('store_other');
    const mine = await openStore();
    const theirs = await JobStore.open({ url: testDatabaseUrl(), schema: other, poolSize: 2 });
    try {
      const seen: TelemetrySettings[] = [];
      await mine.settings.onChange((state) => seen.push(state));
      await theirs.settings.save({ rules: [{ pattern: 'pool.*', rate: 0 }] });
      const saved = await mine.settings.save({ rules: [{ pattern: 'job.*', rate: 1 }] });
      await eventually(() => seen.length > 0, 5_000, 'our own change');
      expect(seen).toEqual([saved]);
    } finally {
      await theirs.close();
      await admin.query(`DROP SCHEMA IF EXISTS "${other}" CASCADE`).catch(() => {});
    }
  });

  it('times out a stats query server-side', async () => {
    const store = await openStore();
    const blocker = new pg.Client({ connectionString: testDatabaseUrl(), options: `-c search_path=${schema}` });
    await blocker.connect();
    try {
      // An exclusive lock makes the stats query wait; the per-query timeout must end it.
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE jobs IN ACCESS EXCLUSIVE MODE');
      const started = performance.now();
      await expect(store.overview.queueStats({ timeoutMs: 200 })).rejects.toMatchObject({ code: 'PITBOSS_STORE_TIMEOUT' });
      expect(performance.now() - started).toBeLessThan(3_000);
      expect(store.available).toBe(true);
    } finally {
      await blocker.query('ROLLBACK').catch(() => {});
      await blocker.end();
    }
  });
});
