/**
 * Dispatch on Redis with BullMQ, for a fleet of supervisors sharing one Redis. One `Queue` per queue
 * name (created on first use) on the dispatcher's connection; one `Worker` per `consume` call, each
 * on its own connection. Redis is only an index: a job lost here (flush, failover) is re-added by the
 * reconciler from the store.
 */
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { Telemetry } from '../../telemetry/bus.ts';
import { telemetry as sharedTelemetry } from '../../telemetry/default.ts';
import type { DispatchConsumer, DispatchedJob, Dispatcher, DispatchJob, DispatchOutcome, RateLimit } from '../types.ts';
import { BullmqConsumer } from './bullmq-consumer.ts';
import { toBullmqJob, toPackedEntries, type BullmqEntry } from './bullmq-jobs.ts';
import { countedKeys, PackedIndex } from './packed-index.ts';
import { report, type DispatchErrorHandler } from './processing.ts';
import { rateLimitProblem } from './rate-limit.ts';
import { closeClient, errorListener, RedisWatch } from './redis-watch.ts';
import { checkConcurrency, checkJobs, checkOptionalMs, checkQueueName, DEFAULT_FAILURE_RETRY_DELAY_MS } from './validate.ts';
import { DispatchError } from '../../errors/classes.ts';

/** Options of `new BullmqDispatcher(...)`: exactly one of `url` and `connection`. */
export interface BullmqDispatcherOptions {
  /** Redis URL (`redis://host:port/db`); the dispatcher opens and closes its connections. */
  url?: string;
  /** An ioredis client to use instead; it stays open on `close()`. Worker connections are duplicated from it. */
  connection?: Redis;
  /** Key prefix of every BullMQ key (default `pitboss`). */
  prefix?: string;
  /** Bus for `dispatch.connection.*` events (default: the shared `telemetry`). */
  telemetry?: Telemetry;
  /** How often each Worker looks for jobs whose worker died (default 30 000 ms). */
  stalledIntervalMs?: number;
  /** How long a job's lock lives without renewal; a dead worker's jobs stall after this (default 30 000 ms). */
  lockDurationMs?: number;
  /**
   * Stalls before BullMQ fails a job (default 1 000 000: effectively never). The store's attempt
   * counter, checked at claim, is what ends a job that keeps killing its worker.
   */
  maxStalledCount?: number;
  /** Delay before a job whose processor threw is handed out again (default 1000 ms). */
  failureRetryDelayMs?: number;
  /**
   * New jobs of one queue, priority and delay added together (one enqueue call) share a BullMQ job
   * of up to this many (default 16; 1: one BullMQ job per job). Redis and BullMQ then pay one add,
   * fetch and completion per batch. No job waits for a batch to fill: a batch is only ever made of
   * jobs added in one call.
   */
  batchSize?: number;
  /** How long `add`/`count` wait for a connection before rejecting with `PITBOSS_DISPATCH_UNAVAILABLE` (default 5000 ms). */
  readyTimeoutMs?: number;
  /**
   * Receives errors dispatch handled itself: processor failures, outcomes that could not be recorded,
   * unexpected Redis/BullMQ errors. Connection errors are not passed on (an outage is reported once,
   * as `dispatch.connection.lost`). Default: ignore them.
   */
  onError?: DispatchErrorHandler;
}

type Process = (job: DispatchedJob) => Promise<DispatchOutcome>;

function invalidConfig(message: string): DispatchError {
  return new DispatchError('PITBOSS_INVALID_CONFIG', `BullmqDispatcher: ${message}`);
}

/** Dispatch on Redis through BullMQ. */
export class BullmqDispatcher implements Dispatcher {
  readonly backend = 'bullmq' as const;
  readonly #connection: Redis;
  readonly #ownsConnection: boolean;
  readonly #watch: RedisWatch;
  readonly #prefix: string;
  readonly #options: Required<Pick<BullmqDispatcherOptions, 'stalledIntervalMs' | 'lockDurationMs' | 'maxStalledCount' | 'failureRetryDelayMs' | 'readyTimeoutMs' | 'batchSize'>>;
  readonly #packed: PackedIndex;
  readonly #onError: DispatchErrorHandler;
  readonly #queues = new Map<string, Queue>();
  readonly #consumers = new Set<BullmqConsumer>();
  #closing: Promise<void> | null = null;

  constructor(options: BullmqDispatcherOptions) {
    if ((options?.url === undefined) === (options?.connection === undefined)) throw invalidConfig('pass exactly one of url and connection');
    if (options.url !== undefined && (typeof options.url !== 'string' || options.url === '')) throw invalidConfig('url must be a non-empty string');
    if (options.prefix !== undefined && (typeof options.prefix !== 'string' || options.prefix === '')) throw invalidConfig('prefix must be a non-empty string');
    for (const key of ['stalledIntervalMs', 'lockDurationMs', 'readyTimeoutMs'] as const) checkOptionalMs(key, options[key], { positive: true });
    checkOptionalMs('failureRetryDelayMs', options.failureRetryDelayMs);
    if (options.maxStalledCount !== undefined && !(Number.isInteger(options.maxStalledCount) && options.maxStalledCount >= 0)) {
      throw invalidConfig('maxStalledCount must be an integer >= 0');
    }
    if (options.batchSize !== undefined && !(Number.isInteger(options.batchSize) && options.batchSize >= 1 && options.batchSize <= 1000)) {
      throw invalidConfig('batchSize must be an integer from 1 to 1000');
    }
    this.#prefix = options.prefix ?? 'pitboss';
    this.#options = {
      stalledIntervalMs: options.stalledIntervalMs ?? 30_000,
      lockDurationMs: options.lockDurationMs ?? 30_000,
      maxStalledCount: options.maxStalledCount ?? 1_000_000,
      failureRetryDelayMs: options.failureRetryDelayMs ?? DEFAULT_FAILURE_RETRY_DELAY_MS,
      readyTimeoutMs: options.readyTimeoutMs ?? 5_000,
      batchSize: options.batchSize ?? 16,
    };
    this.#onError = options.onError ?? (() => {});
    this.#ownsConnection = options.connection === undefined;
    // One retry per command: a command caught by a dropped connection fails fast and the reconciler
    // re-adds, rather than the caller hanging through ioredis's default 20 reconnects.
    this.#connection = options.connection ?? new Redis(options.url as string, { maxRetriesPerRequest: 1 });
    this.#watch = new RedisWatch(this.#connection, options.telemetry ?? sharedTelemetry, this.#onError);
    this.#packed = new PackedIndex(this.#connection);
  }

  /**
   * Adds each job as a BullMQ job of its own, named by its id, so a job dispatch holds in that form
   * is left as it is; one a packed entry still holds is skipped (see packed-index.ts).
   */
  async add(jobs: readonly DispatchJob[]): Promise<void> {
    this.#checkOpen();
    checkJobs(jobs);
    if (jobs.length === 0) return;
    await this.#watch.ready(this.#options.readyTimeoutMs);
    await this.#write(jobs, async (queue, list) => {
      const held = this.#options.batchSize === 1 ? new Set<string>() : await this.#packed.held(this.#queue(queue).toKey(''), list.map((job) => job.id));
      const entries = list.filter((job) => !held.has(job.id)).map(toBullmqJob);
      // addBulk is one MULTI per queue; an id that exists in any state is left as it is.
      if (entries.length > 0) await this.#queue(queue).addBulk(entries as BullmqEntry[]);
    });
  }

  /**
   * Adds jobs the store has just created (no dispatch can hold their ids yet), packed `batchSize`
   * to a BullMQ job; the consumer gives each its own slot, claim and outcome.
   */
  async addNew(jobs: readonly DispatchJob[]): Promise<void> {
    if (this.#options.batchSize === 1) return this.add(jobs);
    this.#checkOpen();
    checkJobs(jobs);
    if (jobs.length === 0) return;
    await this.#watch.ready(this.#options.readyTimeoutMs);
    await this.#write(jobs, async (queue, list) => {
      const { entries, packed } = toPackedEntries(list, this.#options.batchSize);
      const bullQueue = this.#queue(queue);
      await bullQueue.addBulk(entries as BullmqEntry[]);
      // After the entries: a packed id recorded before its entry exists would read as not held anyway.
      await this.#packed.record(bullQueue.toKey(''), packed);
    });
  }

  /** Runs `write` for each queue's jobs; a Redis failure becomes PITBOSS_DISPATCH_UNAVAILABLE. */
  async #write(jobs: readonly DispatchJob[], write: (queue: string, list: DispatchJob[]) => Promise<void>): Promise<void> {
    const byQueue = new Map<string, DispatchJob[]>();
    for (const job of jobs) {
      const list = byQueue.get(job.queue);
      if (list === undefined) byQueue.set(job.queue, [job]);
      else list.push(job);
    }
    try {
      await Promise.all([...byQueue].map(([queue, list]) => write(queue, list)));
    } catch (error) {
      throw new DispatchError('PITBOSS_DISPATCH_UNAVAILABLE', `could not add ${jobs.length} job(s) to Redis: ${(error as Error).message}`, { cause: error });
    }
  }

  /**
   * Adds the jobs, then promotes those BullMQ holds delayed (a failed attempt's backoff, a delayed
   * job cancelled and retried) so they are handed out now. One lookup per job: it serves retries,
   * not the enqueue path.
   */
  async promote(jobs: readonly DispatchJob[]): Promise<void> {
    await this.add(jobs.map((job) => ({ ...job, delayMs: 0 })));
    try {
      await Promise.all(jobs.map(async (job) => {
        const held = await this.#queue(job.queue).getJob(toBullmqJob(job).opts.jobId as string);
        // A job that left the delayed set meanwhile (handed out, promoted by another retry) needs nothing.
        if (held !== undefined && (await held.isDelayed())) await held.promote().catch(() => {});
      }));
    } catch (error) {
      throw new DispatchError('PITBOSS_DISPATCH_UNAVAILABLE', `could not promote ${jobs.length} job(s) in Redis: ${(error as Error).message}`, { cause: error });
    }
  }

  async count(queue: string): Promise<number> {
    this.#checkOpen();
    checkQueueName(queue);
    await this.#watch.ready(this.#options.readyTimeoutMs);
    try {
      const bullQueue = this.#queue(queue);
      return await this.#packed.count(countedKeys.map((kind) => bullQueue.toKey(kind)));
    } catch (error) {
      throw new DispatchError('PITBOSS_DISPATCH_UNAVAILABLE', `could not count queue ${queue}: ${(error as Error).message}`, { cause: error });
    }
  }

  /**
   * A `rateLimit` is BullMQ's limiter: one counter per queue in Redis, shared by every consumer of
   * the queue in the fleet (they should all declare the same limit; see bullmq-consumer.ts).
   */
  consume(queue: string, options: { concurrency: number; rateLimit?: RateLimit }, process: Process): DispatchConsumer {
    this.#checkOpen();
    checkQueueName(queue);
    checkConcurrency(options?.concurrency);
    if (typeof process !== 'function') throw invalidConfig('consume: process must be a function');
    const problem = options.rateLimit === undefined ? null : rateLimitProblem('consume: rateLimit', options.rateLimit);
    if (problem !== null) throw invalidConfig(problem);
    const consumer = new BullmqConsumer({
      queue,
      concurrency: options.concurrency,
      rateLimit: options.rateLimit ?? null,
      process,
      // BullMQ requires maxRetriesPerRequest: null for Workers: their commands wait out an outage
      // instead of failing, and BullMQ duplicates this client for the blocking fetch. The name shows
      // up in CLIENT LIST next to BullMQ's own `<prefix>:<base64 queue>` for that blocking connection.
      connection: this.#connection.duplicate({ maxRetriesPerRequest: null, connectionName: `${this.#prefix}:consumer:${queue}` }),
      prefix: this.#prefix,
      ...this.#options,
      onError: this.#onError,
      onClosed: (closed) => this.#consumers.delete(closed),
      // On the dispatcher's connection (one retry), not the consumer's (which waits out an outage):
      // a job handed back while Redis is away is left to the reconciler instead of holding a slot.
      handBack: (entries) => this.#queue(queue).addBulk(entries as BullmqEntry[]).then(() => {}),
      forget: (ids) => this.#packed.forget(this.#queue(queue).toKey(''), ids),
    });
    this.#consumers.add(consumer);
    return consumer;
  }

  /** True while the dispatcher's Redis connection is up. */
  healthy(): boolean {
    return this.#closing === null && this.#watch.healthy();
  }

  /** Closes every open consumer (each waits for its jobs in flight), the queues, and the connections it opened. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await Promise.all([...this.#consumers].map((consumer) => consumer.close()));
      await Promise.all([...this.#queues.values()].map((queue) => queue.close().catch((error: unknown) => report(this.#onError, error))));
      this.#queues.clear();
      this.#watch.stop();
      if (this.#ownsConnection) await closeClient(this.#connection);
    })();
    return this.#closing;
  }

  #queue(name: string): Queue {
    let queue = this.#queues.get(name);
    if (queue === undefined) {
      queue = new Queue(name, { connection: this.#connection, prefix: this.#prefix });
      queue.on('error', errorListener(this.#onError));
      this.#queues.set(name, queue);
    }
    return queue;
  }

  #checkOpen(): void {
    if (this.#closing !== null) throw new DispatchError('PITBOSS_DISPATCH_CLOSED', 'the BullMQ dispatcher is closed');
  }
}
