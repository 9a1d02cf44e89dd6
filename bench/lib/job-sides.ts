/**
 * The two sides of jobs-throughput, behind one shape so the scenario drives them alike:
 *
 * - ours: `JobSystem` (dist build) with a Postgres `JobStore`, a `BullmqDispatcher` and a `Pool` of
 *   no-op threads. A job counts as done when `job.stop` fires, which the consumer emits only after
 *   `store.jobs.finish` resolved true, i.e. after the completed row was committed: the store's word.
 * - raw BullMQ: a `Queue` and a `Worker` whose processor returns at once, on the same Redis, with
 *   the same concurrency, counted on the Worker's `completed` event (after Redis recorded it).
 *
 * Both enqueue in bulk (`JobSystem.enqueue` / `Queue.addBulk` of `bulk` jobs per call, calls one
 * after the other while the consumers already run). `paced` enqueues one job per call at a fixed
 * rate instead, to time enqueue → start per job without a backlog in front of it.
 */
import { Queue, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { distWorker, type DistBuild, type Pitboss } from './dist.ts';

/** Per-job latencies of a paced run, in ms. */
export interface Latencies {
  /** From the enqueue call (before the row commit / the Redis add) to the job's start. */
  readonly fromCall: number[];
  /** From the `job.enqueued` event (row committed and dispatched) to `job.start`; ours only. */
  readonly fromEnqueued: number[];
}

/** Store flushes seen on the bus, per kind (enqueue, claim, finish, …). */
export type FlushTally = Map<string, { flushes: number; rows: number; durationNs: number }>;

export interface JobSide {
  readonly name: string;
  /** Enqueues `ops` jobs in bulk and resolves once all of them completed. */
  run(ops: number): Promise<void>;
  /** Enqueues single jobs at `perSecond` for `durationMs`, waits for all to complete, and returns their latencies. */
  paced(perSecond: number, durationMs: number): Promise<Latencies>;
  /** Throws unless every job enqueued so far completed exactly once and nothing is left waiting. */
  verify(): Promise<string>;
  /** The store's flush tally (stays empty for raw BullMQ); the scenario clears it to count a phase. */
  readonly flushes: FlushTally;
  close(): Promise<void>;
}

export interface SideOptions {
  readonly concurrency: number;
  readonly bulk: number;
  readonly redisUrl: string;
}

/** No progress for this long fails the round instead of hanging the run. */
const STALL_MS = 20_000;

/** Counts completions and resolves a waiter once a target count is reached. */
export class Completions {
  count = 0;
  #target = Number.POSITIVE_INFINITY;
  #resolve: (() => void) | null = null;

  /** Resolves once `target` completions have been counted in all; rejects if progress stalls. */
  until(target: number, what: string): Promise<void> {
    this.#target = target;
    const done = new Promise<void>((resolve) => {
      this.#resolve = resolve;
    });
    let seen = this.count;
    let timer: NodeJS.Timeout | undefined;
    const stalled = new Promise<never>((_, reject) => {
      timer = setInterval(() => {
        if (this.count === seen) reject(new Error(`${what}: no job completed for ${STALL_MS / 1000} s (${this.count} of ${this.#target})`));
        seen = this.count;
      }, STALL_MS);
    });
    this.tick(0);
    return Promise.race([done, stalled]).finally(() => clearInterval(timer));
  }

  tick(n = 1): void {
    this.count += n;
    if (this.count >= this.#target && this.#resolve !== null) {
      const resolve = this.#resolve;
      this.#resolve = null;
      resolve();
    }
  }
}

/**
 * Enqueues `ops` jobs in calls of `bulk`, one call after the other, the way every side's rounds do:
 * `make(k)` builds job number k (numbered on from `first`), `enqueue` sends one call's jobs.
 */
export async function enqueueInBulk<T>(ops: number, bulk: number, first: number, make: (k: number) => T, enqueue: (items: T[]) => Promise<unknown>): Promise<void> {
  for (let sent = 0; sent < ops; sent += bulk) {
    const n = Math.min(bulk, ops - sent);
    const items = new Array<T>(n);
    for (let i = 0; i < n; i++) items[i] = make(first + sent + i);
    await enqueue(items);
  }
}

/** One bulk round of a side counting completions in `done`: enqueues `ops` jobs and waits for all of them. */
export async function bulkRound<T>(done: Completions, name: string, ops: number, bulk: number, first: number, make: (k: number) => T, enqueue: (items: T[]) => Promise<unknown>): Promise<void> {
  const all = done.until(done.count + ops, name);
  await enqueueInBulk(ops, bulk, first, make, enqueue);
  await all;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Issues `issue(i)` at `perSecond` for `durationMs`, in 5 ms ticks; returns how many were issued. */
async function pace(perSecond: number, durationMs: number, issue: (i: number) => void): Promise<number> {
  const started = performance.now();
  let issued = 0;
  for (let elapsed = 0; elapsed < durationMs; elapsed = performance.now() - started) {
    const due = Math.floor((elapsed * perSecond) / 1000) + 1;
    while (issued < due) issue(issued++);
    await sleep(5);
  }
  return issued;
}

function latencies(calls: Map<string, number>, starts: Map<string, number>, enqueued: Map<string, number>): Latencies {
  const fromCall: number[] = [];
  const fromEnqueued: number[] = [];
  for (const [id, calledAt] of calls) {
    const startedAt = starts.get(id);
    if (startedAt === undefined) throw new Error(`job ${id} completed without a recorded start`);
    fromCall.push(startedAt - calledAt);
    const enqueuedAt = enqueued.get(id);
    if (enqueuedAt !== undefined) fromEnqueued.push(startedAt - enqueuedAt);
  }
  return { fromCall, fromEnqueued };
}

/** Our job system, end to end, on a store with the given group-commit settings. */
export async function ourSide(
  pitboss: Pitboss, build: DistBuild, name: string, options: SideOptions & { databaseUrl: string; threads: number; batch?: { maxRows?: number; maxInFlight?: number; delayMs?: number } },
): Promise<JobSide> {
  const { JobStore, BullmqDispatcher, JobSystem, Pool, createTelemetry } = pitboss;
  const bus = createTelemetry();
  const queue = `bench_${name}`;
  const done = new Completions();
  const flushes: FlushTally = new Map();
  bus.attach('bench.completed', 'job.stop', () => done.tick());
  bus.attach('bench.flushes', 'store.flush', (_event, m, md) => {
    const kind = String(md.kind);
    const t = flushes.get(kind) ?? { flushes: 0, rows: 0, durationNs: 0 };
    t.flushes++;
    t.rows += m.rows ?? 0;
    t.durationNs += m.duration ?? 0;
    flushes.set(kind, t);
  });
  const store = await JobStore.open({ url: options.databaseUrl, telemetry: bus, ...(options.batch === undefined ? {} : { batch: options.batch }) });
  const dispatcher = new BullmqDispatcher({ url: options.redisUrl, prefix: `pitboss-bench-${name}`, telemetry: bus });
  // Room in the pool's queue for every job the consumer may hand it (JobSystem checks this).
  const pool = new Pool({ name: `bench-${name}`, worker: distWorker(build, 'noop'), threads: options.threads, maxQueue: Math.max(options.threads * 64, options.concurrency), telemetry: bus });
  const system = new JobSystem({ store, dispatcher, queues: { [queue]: { pool, concurrency: options.concurrency } }, telemetry: bus });
  const close = async (): Promise<void> => {
    await system.stop();
    await dispatcher.close();
    await store.close();
    await pool.close();
  };
  try {
    await pool.start();
    await system.start();
  } catch (error) {
    // Open connections and threads would keep the scenario's process alive after it failed.
    await close().catch(() => {});
    throw error;
  }
  let enqueued = 0;
  const input = (i: number) => ({ queue, name: 'noop', data: i });

  return {
    name,
    flushes,
    async run(ops) {
      const first = enqueued;
      enqueued += ops;
      await bulkRound(done, name, ops, options.bulk, first, input, (inputs) => system.enqueue(inputs));
    },
    async paced(perSecond, durationMs) {
      const calls = new Map<string, number>();
      const starts = new Map<string, number>();
      const enqueuedAt = new Map<string, number>();
      // Attached for this phase only, so the throughput rounds carry no per-job handler but the counter.
      bus.attachMany('bench.latency', ['job.enqueued', 'job.start'], (event, _m, md) => {
        (event === 'job.start' ? starts : enqueuedAt).set(String(md.job_id), performance.now());
      });
      try {
        const base = done.count;
        const pending: Promise<void>[] = [];
        const issued = await pace(perSecond, durationMs, (i) => {
          const calledAt = performance.now();
          pending.push(system.enqueue([input(enqueued + i)]).then(([job]) => void calls.set(job!.id, calledAt)));
        });
        const all = done.until(base + issued, `${name} paced`);
        enqueued += issued;
        await Promise.all(pending);
        await all;
        return latencies(calls, starts, enqueuedAt);
      } finally {
        bus.detach('bench.latency');
      }
    },
    async verify() {
      // Outcomes of the last jobs may still be on their way to Redis; the rows are final already.
      const stats = (await system.queues()).find((s) => s.queue === queue);
      const counts = `completed ${stats?.completed}, queued ${stats?.queued}, running ${stats?.running}, failed ${stats?.failed}, dead ${stats?.dead}`;
      if (stats === undefined || stats.completed !== enqueued || stats.queued + stats.running + stats.failed + stats.dead + stats.cancelled !== 0) {
        throw new Error(`${name}: ${enqueued} jobs enqueued, store says ${counts}`);
      }
      if (done.count !== enqueued) throw new Error(`${name}: ${enqueued} jobs enqueued, ${done.count} job.stop events`);
      return `${name}: ${enqueued} jobs enqueued, store: ${counts}; ${done.count} job.stop events`;
    },
    close,
  };
}

/** Raw BullMQ: a Queue and a Worker whose processor returns at once. */
export async function rawBullmqSide(name: string, options: SideOptions): Promise<JobSide> {
  const queueName = `bench_${name}`;
  const prefix = `raw-bench-${name}`;
  // The same connection settings the dispatcher uses: retry once for the producer, wait forever for the Worker.
  const producer = new Redis(options.redisUrl, { maxRetriesPerRequest: 1 });
  const consumer = new Redis(options.redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue(queueName, { connection: producer, prefix });
  const done = new Completions();
  const worker = new Worker(queueName, async () => null, { connection: consumer, prefix, concurrency: options.concurrency, autorun: true });
  worker.on('completed', () => done.tick());
  // An 'error' without a listener would crash the process; a lost connection shows up as a stalled round.
  const warn = (error: Error): void => console.warn(`  warning: ${name}: ${error.message}`);
  worker.on('error', warn);
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
      await bulkRound(done, name, ops, options.bulk, first, (k) => ({ name: 'noop', data: k, opts }), (jobs) => queue.addBulk(jobs));
    },
    async paced(perSecond, durationMs) {
      const calls = new Map<string, number>();
      const starts = new Map<string, number>();
      const onActive = (job: Job): void => void starts.set(job.id!, performance.now());
      worker.on('active', onActive);
      try {
        const base = done.count;
        const pending: Promise<void>[] = [];
        const issued = await pace(perSecond, durationMs, (i) => {
          const calledAt = performance.now();
          pending.push(queue.add('noop', added + i, opts).then((job) => void calls.set(job.id!, calledAt)));
        });
        const all = done.until(base + issued, `${name} paced`);
        added += issued;
        await Promise.all(pending);
        await all;
        return latencies(calls, starts, new Map());
      } finally {
        worker.off('active', onActive);
      }
    },
    async verify() {
      const left = await queue.getJobCounts('wait', 'active', 'delayed', 'prioritized', 'failed');
      const leftOver = Object.values(left).reduce((a, b) => a + b, 0);
      if (done.count !== added || leftOver !== 0) throw new Error(`${name}: ${added} jobs added, ${done.count} completed, left in Redis ${JSON.stringify(left)}`);
      return `${name}: ${added} jobs added, ${done.count} completed, none left in Redis`;
    },
    async close() {
      await worker.close();
      await queue.close();
      producer.disconnect();
      consumer.disconnect();
    },
  };
}
