/**
 * The two sides of the embedded pair, each on a fresh PGlite data dir per round (opened before the
 * round's clock starts, closed and deleted after it), so no round runs on a table the one before grew.
 * A round's dir is a copy of a template the side made once (initdb, schema and migrations applied,
 * tables empty), as initdb in WASM costs seconds a round and is not what a round measures:
 *
 * - ours: the public API in process, as the embedded default wires it: `JobStore` on PGlite,
 *   `LocalDispatcher`, `JobSystem`, and a `Pool` of the dist no-op worker (kept across rounds: a
 *   deployment's pool lives as long as it does). Done when `job.stop` fired for every job (emitted
 *   after the completed row committed).
 * - pg-boss: `PgBoss` on its own PGlite through its `fromPglite` adapter (`backend: 'pglite'`), a
 *   queue with `notify` on and `useListenNotify`, and one `work` loop fetching `concurrency` jobs a
 *   batch with `burstWhenBatchFull` (no poll delay while batches come back full) whose handler does
 *   nothing. pg-boss completes a batch after its handler returns; done when the job table says every
 *   job of the round is completed.
 *
 * Both enqueue in calls of `bulk` jobs (`JobSystem.enqueue(array)` / `boss.insert`), one after the
 * other while the consumer already runs, and both PGlites are opened alike (`PGlite.create(dir)`,
 * the project's own @electric-sql/pglite).
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import type * as PgBossApi from 'pg-boss';
import { distWorker, type DistBuild, type Pitboss } from './dist.ts';
import { Completions } from './job-sides.ts';

export interface RoundSide {
  readonly name: string;
  /** Opens a fresh store (and for pg-boss a fresh instance), untimed. */
  open(): Promise<void>;
  /** Enqueues `n` jobs in bulk calls and resolves once all completed. */
  run(n: number): Promise<void>;
  /** Checks that every job of the round completed exactly once, closes the round's store and deletes it; returns what it checked. */
  close(): Promise<string>;
  /** Releases what outlives rounds (our pool). */
  dispose(): Promise<void>;
}

export interface EmbeddedSideOptions {
  /** Jobs in flight: our queue concurrency; pg-boss's batchSize with one work loop. */
  readonly concurrency: number;
  readonly bulk: number;
  readonly threads: number;
  /** Directory the rounds' data dirs are made in. */
  readonly scratch: string;
}

const queue = 'bench_embedded';

/** A new round dir holding a copy of `template` as `pglite/`. */
function roundDir(scratch: string, prefix: string, template: string): { dir: string; dataDir: string } {
  const dir = mkdtempSync(join(scratch, prefix));
  const dataDir = join(dir, 'pglite');
  cpSync(template, dataDir, { recursive: true });
  return { dir, dataDir };
}
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Our job system on the embedded store, in process. */
export async function oursEmbedded(pitboss: Pitboss, build: DistBuild, options: EmbeddedSideOptions): Promise<RoundSide> {
  const { JobStore, LocalDispatcher, JobSystem, Pool, createTelemetry } = pitboss;
  const bus = createTelemetry();
  const done = new Completions();
  bus.attach('bench.completed', 'job.stop', () => done.tick());
  // Room in the pool's queue for every job the consumer may hand it (JobSystem checks this).
  const pool = new Pool({ name: 'bench-embedded', worker: distWorker(build, 'noop'), threads: options.threads, maxQueue: Math.max(options.threads * 64, options.concurrency), telemetry: bus });
  await pool.start();
  const template = join(mkdtempSync(join(options.scratch, 'ours-template-')), 'pglite');
  await (await JobStore.open({ dataDir: template, telemetry: bus })).close();
  type Round = { dir: string; store: Awaited<ReturnType<Pitboss['JobStore']['open']>>; dispatcher: InstanceType<Pitboss['LocalDispatcher']>; system: InstanceType<Pitboss['JobSystem']>; base: number; enqueued: number };
  let round: Round | null = null;

  return {
    name: 'ours',
    async open() {
      const { dir, dataDir } = roundDir(options.scratch, 'ours-', template);
      const store = await JobStore.open({ dataDir, telemetry: bus });
      const dispatcher = new LocalDispatcher();
      const system = new JobSystem({ store, dispatcher, queues: { [queue]: { pool, concurrency: options.concurrency } }, telemetry: bus });
      await system.start();
      round = { dir, store, dispatcher, system, base: done.count, enqueued: 0 };
    },
    async run(n) {
      const r = round!;
      const all = done.until(r.base + r.enqueued + n, 'ours');
      for (let sent = 0; sent < n; sent += options.bulk) {
        const count = Math.min(options.bulk, n - sent);
        const inputs = new Array(count);
        for (let i = 0; i < count; i++) inputs[i] = { queue, name: 'noop', data: { i: r.enqueued + i } };
        r.enqueued += count;
        await r.system.enqueue(inputs);
      }
      await all;
    },
    async close() {
      const r = round!;
      round = null;
      try {
        const stats = (await r.system.queues()).find((s) => s.queue === queue);
        const events = done.count - r.base;
        const line = `ours: ${r.enqueued} enqueued, store: completed ${stats?.completed}, queued ${stats?.queued}, running ${stats?.running}, failed ${stats?.failed}, dead ${stats?.dead}; ${events} job.stop`;
        if (stats === undefined || stats.completed !== r.enqueued || events !== r.enqueued || stats.queued + stats.running + stats.failed + stats.dead + stats.cancelled !== 0) throw new Error(line);
        return line;
      } finally {
        await r.system.stop();
        await r.dispatcher.close();
        await r.store.close();
        rmSync(r.dir, { recursive: true, force: true });
      }
    },
    dispose: () => pool.close(),
  };
}

/** pg-boss 12 on PGlite, its handler doing nothing. Node ≥ 22.12 (pg-boss's engines). */
export async function pgbossPglite(options: EmbeddedSideOptions): Promise<RoundSide> {
  // Imported here, not at the top: pg-boss does not load on the Node 20 the rest of the bench runs on.
  const { PgBoss, fromPglite } = (await import('pg-boss')) as typeof PgBossApi;
  type Round = { dir: string; db: PGlite; boss: PgBossApi.PgBoss; sent: number; handled: number };
  let round: Round | null = null;
  const start = async (dataDir: string): Promise<{ db: PGlite; boss: PgBossApi.PgBoss }> => {
    const db = await PGlite.create(dataDir);
    const boss = new PgBoss({ db: fromPglite(db), backend: 'pglite', useListenNotify: true, schedule: false });
    boss.on('error', (error: Error) => console.warn(`  warning: pg-boss: ${error.message}`));
    await boss.start();
    await boss.createQueue(queue, { notify: true });
    return { db, boss };
  };
  const template = join(mkdtempSync(join(options.scratch, 'pgboss-template-')), 'pglite');
  const made = await start(template);
  await made.boss.stop({ graceful: true, timeout: 10_000 });
  await made.db.close();
  const completed = async (r: Round): Promise<number> => {
    const { rows } = await r.db.query<{ n: number }>("SELECT count(*)::int AS n FROM pgboss.job WHERE name = $1 AND state = 'completed'", [queue]);
    return rows[0]!.n;
  };

  return {
    name: 'pgboss_pglite',
    async open() {
      const { dir, dataDir } = roundDir(options.scratch, 'pgboss-', template);
      const { db, boss } = await start(dataDir);
      const r: Round = { dir, db, boss, sent: 0, handled: 0 };
      await boss.work(queue, { batchSize: options.concurrency, localConcurrency: 1, burstWhenBatchFull: true, pollingIntervalSeconds: 0.5 }, async (jobs) => {
        r.handled += jobs.length;
      });
      round = r;
    },
    async run(n) {
      const r = round!;
      const target = r.sent + n;
      for (let sent = 0; sent < n; sent += options.bulk) {
        const count = Math.min(options.bulk, n - sent);
        const jobs = new Array(count);
        for (let i = 0; i < count; i++) jobs[i] = { data: { i: r.sent + i } };
        r.sent += count;
        await r.boss.insert(queue, jobs);
      }
      // Handled first (no query in the loop's way), then the last batch's completion committed.
      let last = r.handled;
      let lastProgress = performance.now();
      while (r.handled < target) {
        await sleep(1);
        if (r.handled !== last) [last, lastProgress] = [r.handled, performance.now()];
        else if (performance.now() - lastProgress > 20_000) throw new Error(`pgboss_pglite: no job handled for 20 s (${r.handled} of ${target})`);
      }
      while ((await completed(r)) < target) await sleep(1);
    },
    async close() {
      const r = round!;
      round = null;
      try {
        const n = await completed(r);
        const { rows } = await r.db.query<{ n: number }>('SELECT count(*)::int AS n FROM pgboss.job WHERE name = $1', [queue]);
        const line = `pgboss_pglite: ${r.sent} inserted, ${r.handled} handled, ${n} completed of ${rows[0]!.n} rows`;
        if (n !== r.sent || r.handled !== r.sent || rows[0]!.n !== r.sent) throw new Error(line);
        return line;
      } finally {
        await r.boss.stop({ graceful: true, timeout: 10_000 });
        await r.db.close();
        rmSync(r.dir, { recursive: true, force: true });
      }
    },
    dispose: async () => {},
  };
}
