/**
 * Postgres-backed job queues as peers of jobs-throughput, on the same Postgres the scenario started,
 * each in a schema of its own, their handlers doing nothing:
 *
 * - pg-boss 12, batched: `useListenNotify` and a queue created with `notify: true`, `localConcurrency`
 *   work loops (concurrency / 16) each fetching 16 jobs a batch with `burstWhenBatchFull` (no poll
 *   delay while batches come back full). pg-boss completes a batch after its handler returns.
 * - pg-boss 12, one job per handler call: `batchSize: 1`, `localConcurrency` = concurrency, polling
 *   every 0.5 s, no notify: how pg-boss runs when a handler takes one job, as most do. Each loop takes
 *   one job per poll (~2 jobs/s a loop), so this side gets short rounds of its own (see the scenario).
 * - graphile-worker 0.18: `run()` with `concurrency` and its default LISTEN/NOTIFY, a silent logger.
 *   It deletes a job once it completed, so done = `job:success` for every job and an empty job table.
 *
 * Both enqueue `bulk` jobs per call (`boss.insert` / `WorkerUtils.addJobs`, one statement each).
 * Both packages need Node ≥ 22 (pg-boss 22.12, graphile-worker 22.18), so they are imported only when
 * a side is made; the scenario checks `peersRun()` first.
 */
import { EventEmitter } from 'node:events';
import pg from 'pg';
import type * as GraphileApi from 'graphile-worker';
import type * as PgBossApi from 'pg-boss';
import { bulkRound, Completions, enqueueInBulk, type JobSide, type SideOptions } from './job-sides.ts';

export interface PeerOptions extends SideOptions {
  readonly databaseUrl: string;
}

/** Oldest Node both peer packages accept (graphile-worker 0.18's engines; pg-boss 12 needs 22.12). */
export const peersNeed = '22.18';

export function peersRun(): boolean {
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  return major > 22 || (major === 22 && minor >= 18);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const queue = 'bench_noop';
/** Jobs a batched pg-boss loop fetches at once: 16 loops × 16 = 256 in flight at concurrency 256. */
const pgbossBatch = 16;

/** pg-boss 12; `batched` picks between the two configurations above. */
export async function pgbossSide(name: string, options: PeerOptions & { batched: boolean }): Promise<JobSide> {
  // Imported here, not at the top: pg-boss does not load on the Node 20 the rest of the bench runs on.
  const { PgBoss } = (await import('pg-boss')) as typeof PgBossApi;
  const schema = name;
  const boss = new PgBoss({ connectionString: options.databaseUrl, schema, useListenNotify: options.batched, schedule: false });
  boss.on('error', (error: Error) => console.warn(`  warning: ${name}: ${error.message}`));
  await boss.start();
  await boss.createQueue(queue, { notify: options.batched });
  // A connection of our own for the completion checks, so they do not queue behind pg-boss's pool.
  const db = new pg.Client({ connectionString: options.databaseUrl });
  db.on('error', (error) => console.warn(`  warning: ${name}: ${error.message}`));
  await db.connect();
  let sent = 0;
  let handled = 0;
  const work = options.batched
    ? { batchSize: pgbossBatch, localConcurrency: Math.max(1, options.concurrency / pgbossBatch), burstWhenBatchFull: true, pollingIntervalSeconds: 0.5 }
    : { batchSize: 1, localConcurrency: options.concurrency, pollingIntervalSeconds: 0.5 };
  await boss.work(queue, work, async (jobs) => {
    handled += jobs.length;
  });
  const count = async (where: string): Promise<number> => {
    const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${schema}.job WHERE name = $1${where}`, [queue]);
    return rows[0]!.n;
  };

  return {
    name,
    flushes: new Map(),
    async run(ops) {
      const target = sent + ops;
      const first = sent;
      sent += ops;
      await enqueueInBulk(ops, options.bulk, first, (k) => ({ data: { i: k } }), (jobs) => boss.insert(queue, jobs));
      // Handled first (no query in the loops' way), then until the last batch's completion committed.
      let last = handled;
      let lastProgress = performance.now();
      while (handled < target) {
        await sleep(1);
        if (handled !== last) [last, lastProgress] = [handled, performance.now()];
        else if (performance.now() - lastProgress > 20_000) throw new Error(`${name}: no job handled for 20 s (${handled} of ${target})`);
      }
      while ((await count(" AND state < 'completed'")) > 0) await sleep(2);
    },
    paced() {
      return Promise.reject(new Error(`${name}: paced latency is not measured for peers`));
    },
    async verify() {
      const completed = await count(" AND state = 'completed'");
      const rows = await count('');
      const line = `${name}: ${sent} inserted, ${handled} handled, ${completed} completed of ${rows} rows`;
      if (completed !== sent || handled !== sent || rows !== sent) throw new Error(line);
      return line;
    },
    async close() {
      await boss.stop({ graceful: true, timeout: 10_000 });
      await db.end();
    },
  };
}

/**
 * Installs graphile-worker's schema of every named side before any of their runners starts. A runner
 * shuts itself down (and sets process.exitCode 57) on a NOTIFY 'worker:migrate' of a breaking migration,
 * and that channel is not per schema: a second side migrating its own schema stopped the first one's
 * runner here (its round then stalled at 0 jobs).
 */
export async function migrateGraphile(databaseUrl: string, names: readonly string[]): Promise<void> {
  const { runMigrations, Logger } = (await import('graphile-worker')) as typeof GraphileApi;
  for (const schema of names) await runMigrations({ connectionString: databaseUrl, schema, logger: new Logger(() => () => {}) });
}

/** graphile-worker 0.18 with a no-op task, in schema `name` (installed by `migrateGraphile` first). */
export async function graphileSide(name: string, options: PeerOptions & { maxPoolSize: number }): Promise<JobSide> {
  const { run, makeWorkerUtils, Logger } = (await import('graphile-worker')) as typeof GraphileApi;
  const schema = name;
  const logger = new Logger(() => () => {});
  const events = new EventEmitter() as GraphileApi.WorkerEvents;
  const done = new Completions();
  let failures = 0;
  events.on('job:success', () => done.tick());
  events.on('job:error', ({ error }) => {
    failures++;
    console.warn(`  warning: ${name}: ${String(error)}`);
  });
  const shared = { connectionString: options.databaseUrl, schema, logger };
  const runner = await run({ ...shared, concurrency: options.concurrency, maxPoolSize: options.maxPoolSize, events, noHandleSignals: true, taskList: { noop: async () => {} } });
  const utils = await makeWorkerUtils(shared);
  let added = 0;
  /** Rows left in the job table: completed jobs are deleted, so every other row is a job not done. */
  const jobsLeft = (): Promise<number> =>
    utils.withPgClient(async (client) => (await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${schema}._private_jobs`)).rows[0]!.n);

  return {
    name,
    flushes: new Map(),
    async run(ops) {
      const first = added;
      added += ops;
      await bulkRound(done, name, ops, options.bulk, first, (k): GraphileApi.AddJobsJobSpec => ({ identifier: 'noop', payload: { i: k } }), (specs) => utils.addJobs(specs));
      // job:success fires before the job's row is deleted (completions are written after it, maybe
      // batched): the round ends once the deletes committed, as the other sides wait for their rows.
      while ((await jobsLeft()) > 0) await sleep(2);
    },
    paced() {
      return Promise.reject(new Error(`${name}: paced latency is not measured for peers`));
    },
    async verify() {
      const left = await jobsLeft();
      const line = `${name}: ${added} jobs added, ${done.count} job:success, ${failures} job:error, ${left} left in the job table`;
      if (done.count !== added || failures !== 0 || left !== 0) throw new Error(line);
      return line;
    },
    async close() {
      await runner.stop();
      await utils.release();
    },
  };
}
