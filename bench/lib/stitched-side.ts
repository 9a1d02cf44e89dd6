/**
 * The hand-stitched peer of jobs-throughput: what a user builds from the same parts ours wraps when
 * they want a job's life recorded in Postgres — a BullMQ `Worker` (concurrency as ours), a piscina
 * pool of plain no-op threads (bench/workers/noop.mjs, same thread count as ours) and a `pg` Pool
 * writing one statement per step into a table of its own:
 *
 * - enqueue: one multi-row INSERT of the call's `bulk` jobs (RETURNING their ids), then `addBulk`;
 * - processor: UPDATE status 'running' → `piscina.run` → UPDATE status 'completed', each one statement
 *   on its own, no batching across jobs (group commit is what ours adds and this does not have).
 *
 * Both UPDATEs are guarded by the expected previous status, so a job run twice shows up as a guard
 * miss that verify refuses, rather than as a silently overwritten row.
 */
import { Queue, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { Piscina } from 'piscina';
import { benchWorker } from './dist.ts';
import { bulkRound, Completions, type JobSide, type SideOptions } from './job-sides.ts';

export interface StitchedOptions extends SideOptions {
  readonly databaseUrl: string;
  readonly threads: number;
  /** `pg` Pool size: the processor holds a connection only for each UPDATE, not across the thread hop. */
  readonly poolSize: number;
}

export async function handStitchedSide(name: string, options: StitchedOptions): Promise<JobSide> {
  const table = `stitched_${name}`;
  const db = new pg.Pool({ connectionString: options.databaseUrl, max: options.poolSize });
  db.on('error', (error) => console.warn(`  warning: ${name}: pg pool: ${error.message}`));
  await db.query(`CREATE TABLE ${table} (
    id bigserial PRIMARY KEY, data jsonb NOT NULL, status text NOT NULL DEFAULT 'queued',
    created_at timestamptz NOT NULL DEFAULT now(), started_at timestamptz, finished_at timestamptz)`);
  const piscina = new Piscina({ filename: benchWorker('noop'), minThreads: options.threads, maxThreads: options.threads, idleTimeout: Number.POSITIVE_INFINITY });
  const queueName = `bench_${name}`;
  const prefix = `stitched-bench-${name}`;
  const producer = new Redis(options.redisUrl, { maxRetriesPerRequest: 1 });
  const consumer = new Redis(options.redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue(queueName, { connection: producer, prefix });
  const done = new Completions();
  let guardMisses = 0;
  const processor = async (job: Job<{ id: string }>): Promise<void> => {
    const { id } = job.data;
    const started = await db.query(`UPDATE ${table} SET status = 'running', started_at = now() WHERE id = $1 AND status = 'queued'`, [id]);
    await piscina.run(id);
    const finished = await db.query(`UPDATE ${table} SET status = 'completed', finished_at = now() WHERE id = $1 AND status = 'running'`, [id]);
    if (started.rowCount !== 1 || finished.rowCount !== 1) guardMisses++;
  };
  const worker = new Worker(queueName, processor, { connection: consumer, prefix, concurrency: options.concurrency, autorun: true });
  // Counted once BullMQ recorded the completion, i.e. after the completed row committed.
  worker.on('completed', () => done.tick());
  const warn = (error: Error): void => console.warn(`  warning: ${name}: ${error.message}`);
  worker.on('error', warn);
  worker.on('failed', (_job, error) => warn(error));
  queue.on('error', warn);
  await worker.waitUntilReady();
  let added = 0;
  const opts = { removeOnComplete: true, removeOnFail: true };

  return {
    name,
    flushes: new Map(),
    async run(ops) {
      const first = added;
      added += ops;
      await bulkRound(done, name, ops, options.bulk, first, (k) => JSON.stringify({ i: k }), async (data) => {
        const { rows } = await db.query<{ id: string }>(`INSERT INTO ${table} (data) SELECT * FROM unnest($1::jsonb[]) RETURNING id`, [data]);
        await queue.addBulk(rows.map(({ id }) => ({ name: 'noop', data: { id }, opts })));
      });
    },
    paced() {
      return Promise.reject(new Error(`${name}: paced latency is not measured for peers`));
    },
    async verify() {
      const { rows } = await db.query<{ status: string; n: number }>(`SELECT status, count(*)::int AS n FROM ${table} GROUP BY status`);
      const byStatus = Object.fromEntries(rows.map((r) => [r.status, r.n]));
      const left = await queue.getJobCounts('wait', 'active', 'delayed', 'prioritized', 'failed');
      const leftOver = Object.values(left).reduce((a, b) => a + b, 0);
      const line = `${name}: ${added} jobs enqueued, table ${JSON.stringify(byStatus)}, ${done.count} completed, ${guardMisses} guard misses, left in Redis ${leftOver}`;
      if (byStatus.completed !== added || rows.length !== (added === 0 ? 0 : 1) || done.count !== added || guardMisses !== 0 || leftOver !== 0) throw new Error(line);
      return line;
    },
    async close() {
      await worker.close();
      await queue.close();
      producer.disconnect();
      consumer.disconnect();
      await piscina.destroy();
      await db.end();
    },
  };
}
