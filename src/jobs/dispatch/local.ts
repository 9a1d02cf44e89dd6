/**
 * In-process dispatch for the embedded default (no `REDIS_URL`): the same contract as BullMQ dispatch,
 * proven by the same conformance suite, with nothing to connect to. Jobs live only in memory; after a
 * restart the reconciler re-adds whatever the store says is queued.
 */
import type { DispatchConsumer, DispatchedJob, Dispatcher, DispatchJob, DispatchOutcome, RateLimit } from '../types.ts';
import { LocalQueue, type LocalEntry, type LocalReceiver } from './local-queue.ts';
import { InFlight, runProcessor, type DispatchErrorHandler } from './processing.ts';
import { rateLimitProblem, StartWindow } from './rate-limit.ts';
import { checkConcurrency, checkJobs, checkOptionalMs, checkQueueName, DEFAULT_FAILURE_RETRY_DELAY_MS } from './validate.ts';
import { DispatchError } from '../../errors/classes.ts';

/** Options of `new LocalDispatcher(...)`. */
export interface LocalDispatcherOptions {
  /** Delay before a job whose processor threw is handed out again (default 1000 ms). */
  failureRetryDelayMs?: number;
  /** Receives processor failures (`PITBOSS_DISPATCH_PROCESSOR_FAILED`); default: ignore them. */
  onError?: DispatchErrorHandler;
}

type Process = (job: DispatchedJob) => Promise<DispatchOutcome>;

/** In-process dispatch: a priority queue per queue name, delays on unref'd timers. */
export class LocalDispatcher implements Dispatcher {
  readonly backend = 'local' as const;
  readonly #queues = new Map<string, LocalQueue>();
  readonly #consumers = new Set<LocalConsumer>();
  readonly #failureRetryDelayMs: number;
  readonly #onError: DispatchErrorHandler;
  #closing: Promise<void> | null = null;

  constructor(options: LocalDispatcherOptions = {}) {
    checkOptionalMs('failureRetryDelayMs', options.failureRetryDelayMs);
    this.#failureRetryDelayMs = options.failureRetryDelayMs ?? DEFAULT_FAILURE_RETRY_DELAY_MS;
    this.#onError = options.onError ?? (() => {});
  }

  async add(jobs: readonly DispatchJob[]): Promise<void> {
    this.#checkOpen();
    checkJobs(jobs);
    for (const job of jobs) this.#queue(job.queue).add(job);
  }

  /** Same as `add`: in process, a job costs the same alone or in a batch. */
  addNew(jobs: readonly DispatchJob[]): Promise<void> {
    return this.add(jobs);
  }

  /** Adds the jobs, due now; a job held back (delayed) is made waiting at once. */
  async promote(jobs: readonly DispatchJob[]): Promise<void> {
    this.#checkOpen();
    checkJobs(jobs);
    for (const job of jobs) this.#queue(job.queue).promote(job);
  }

  async count(queue: string): Promise<number> {
    this.#checkOpen();
    checkQueueName(queue);
    return this.#queues.get(queue)?.size ?? 0;
  }

  /** A `rateLimit` holds for this process's consumers of the queue: the embedded store has no other process. */
  consume(queue: string, options: { concurrency: number; rateLimit?: RateLimit }, process: Process): DispatchConsumer {
    this.#checkOpen();
    checkQueueName(queue);
    checkConcurrency(options?.concurrency);
    if (typeof process !== 'function') throw new DispatchError('PITBOSS_INVALID_CONFIG', 'consume: process must be a function');
    const problem = options.rateLimit === undefined ? null : rateLimitProblem('consume: rateLimit', options.rateLimit);
    if (problem !== null) throw new DispatchError('PITBOSS_INVALID_CONFIG', problem);
    const consumer = new LocalConsumer(this.#queue(queue), options.concurrency, process, {
      window: options.rateLimit === undefined ? null : new StartWindow(options.rateLimit),
      failureRetryDelayMs: this.#failureRetryDelayMs,
      onError: this.#onError,
      onClosed: (closed) => this.#consumers.delete(closed),
    });
    this.#consumers.add(consumer);
    return consumer;
  }

  /** Always true: there is nothing to lose a connection to. */
  healthy(): boolean {
    return true;
  }

  /** Closes every open consumer (each waits for its jobs in flight), then forgets every job. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await Promise.all([...this.#consumers].map((consumer) => consumer.close()));
      for (const queue of this.#queues.values()) queue.clear();
      this.#queues.clear();
    })();
    return this.#closing;
  }

  #queue(name: string): LocalQueue {
    let queue = this.#queues.get(name);
    if (queue === undefined) {
      queue = new LocalQueue(name);
      this.#queues.set(name, queue);
    }
    return queue;
  }

  #checkOpen(): void {
    if (this.#closing !== null) throw new DispatchError('PITBOSS_DISPATCH_CLOSED', 'the local dispatcher is closed');
  }
}

interface ConsumerSettings {
  /** Starts of this consumer under its rate limit, or null without one. */
  readonly window: StartWindow | null;
  readonly failureRetryDelayMs: number;
  readonly onError: DispatchErrorHandler;
  readonly onClosed: (consumer: LocalConsumer) => void;
}

/** One consumer of one local queue. */
class LocalConsumer implements DispatchConsumer, LocalReceiver {
  readonly #queue: LocalQueue;
  readonly #concurrency: number;
  readonly #process: Process;
  readonly #settings: ConsumerSettings;
  readonly #inFlight = new InFlight();
  #paused = false;
  #closing: Promise<void> | null = null;
  /** Wakes the queue once the rate limit allows the next start. */
  #limitTimer: NodeJS.Timeout | null = null;

  constructor(queue: LocalQueue, concurrency: number, process: Process, settings: ConsumerSettings) {
    this.#queue = queue;
    this.#concurrency = concurrency;
    this.#process = process;
    this.#settings = settings;
    queue.attach(this);
  }

  ready(): boolean {
    if (this.#paused || this.#closing !== null || this.#inFlight.size >= this.#concurrency) return false;
    const waitMs = this.#settings.window?.waitMs() ?? 0;
    if (waitMs > 0 && this.#limitTimer === null) {
      // Unref'd like the queue's delays: jobs held back by a rate limit must not keep a finished process alive.
      this.#limitTimer = setTimeout(() => {
        this.#limitTimer = null;
        this.#queue.wake();
      }, Math.ceil(waitMs)).unref();
    }
    return waitMs === 0;
  }

  receive(entry: LocalEntry): void {
    this.#settings.window?.started();
    const finished = this.#inFlight.begin();
    const job: DispatchedJob = { id: entry.id, queue: entry.queue, name: entry.name };
    void runProcessor(this.#process, job, this.#settings.failureRetryDelayMs, this.#settings.onError).then((outcome) => {
      // Applied even after a close that timed out: in-process, nothing else could have taken the job.
      this.#queue.settle(entry, outcome);
      finished();
      this.#queue.wake();
    });
  }

  /** Resolves at once: nothing new is handed out from now on, jobs in flight run on. */
  async pause(): Promise<void> {
    this.#paused = true;
  }

  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#queue.wake();
  }

  async close(timeoutMs?: number): Promise<void> {
    checkOptionalMs('close timeoutMs', timeoutMs);
    this.#closing ??= (async () => {
      this.#queue.detach(this);
      if (this.#limitTimer !== null) clearTimeout(this.#limitTimer);
      await this.#inFlight.drained(timeoutMs);
      this.#settings.onClosed(this);
    })();
    return this.#closing;
  }
}
