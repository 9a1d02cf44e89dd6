/**
 * Runs one queue's jobs: takes them from dispatch, claims each in the store (the attempt number it
 * gets is the fence), runs it on a pool thread inside the job's correlation, and records the outcome
 * — completed, failed (retried after its backoff), or dead — emitting the `job.*` events.
 */
import type { Telemetry } from '../telemetry/bus.ts';
import { describeError } from '../errors/describe.ts';
import { restoreCorrelation } from '../telemetry/correlation.ts';
import type { RunOptions } from '../pool/pool.ts';
import { TaskFailedError } from '../errors/pool.ts';
import { retryDelayMs } from './retry.ts';
import type { JobStore } from './store/store.ts';
import type { ClaimedJob, DispatchConsumer, DispatchOutcome, DispatchedJob, Dispatcher, RateLimit } from './types.ts';

/** What a queue runs its jobs on: a `Pool` or a `SupervisedPool`. */
export interface JobPool {
  readonly name: string;
  /** Tasks it takes at once (threads + queue); queues sharing it must not run more jobs than this. */
  readonly capacity?: number;
  run<T = unknown>(input: unknown, options?: RunOptions): Promise<T>;
}

export interface QueueConsumerOptions {
  readonly queue: string;
  readonly pool: JobPool;
  readonly concurrency: number;
  /** At most `max` starts per `perMs` (see Dispatcher.consume). */
  readonly rateLimit?: RateLimit;
  readonly store: JobStore;
  readonly dispatcher: Dispatcher;
  readonly bus: Telemetry;
  readonly supervisorId: string;
  /** Attempts in flight in this process, by job id (actions are recorded against them). */
  readonly inFlight: Map<string, { attempt: number; abort: AbortController }>;
}

const done: DispatchOutcome = { kind: 'done' };
/** How soon a released job is handed out again: long enough for a pool restart to be under way. */
const releaseDelayMs = 500;

/**
 * Pool errors that say nothing about the job: it never ran (the pool was closed, failed, full, or
 * kept it waiting too long) or the pool stopped it for its own reasons. Such an attempt is released
 * uncharged; only the job's own failure (it threw, crashed its thread, ran past its deadline) costs one.
 */
const notTheJobs = new Set(['PITBOSS_POOL_CLOSED', 'PITBOSS_POOL_FAILED', 'PITBOSS_POOL_SATURATED', 'PITBOSS_QUEUE_TIMEOUT', 'PITBOSS_TASK_INTERRUPTED']);
const chargesAttempt = (error: unknown): boolean => !notTheJobs.has(String((error as { code?: unknown } | null)?.code));
/**
 * How a failed attempt is recorded. A deadline passed — the thread killed at the hard deadline
 * (TaskTimeoutError) or the task failing after its soft one (the thread's error carries the code) —
 * is type `timeout` whatever the worker threw on its way out, so retries and dead jobs by timeout
 * read as one kind.
 */
function errorOf(thrown: unknown): { type: string; message: string } {
  if (thrown instanceof TaskFailedError) return { type: thrown.remote.code === TIMEOUT ? 'timeout' : thrown.remote.name, message: thrown.remote.message };
  const { error_type, error: message } = describeError(thrown);
  return { type: (thrown as { code?: unknown } | null)?.code === TIMEOUT ? 'timeout' : error_type, message };
}
const TIMEOUT = 'PITBOSS_TASK_TIMEOUT';
const ns = (ms: number): number => Math.max(0, Math.round(ms * 1e6));

export class QueueConsumer {
  readonly #o: QueueConsumerOptions;
  /** Completed outcomes still being written (see #completed); close waits for them. */
  readonly #finishing = new Set<Promise<void>>();
  #consumer: DispatchConsumer | null = null;
  #unsubscribe: (() => void) | null = null;
  /**
   * Why dispatch is held back: the store is down, the queue is paused fleet-wide, this system is
   * draining. Dispatch runs only while there is none, so one reason ending does not undo another.
   */
  readonly #holds = new Set<'store' | 'paused' | 'draining'>();

  constructor(options: QueueConsumerOptions) {
    this.#o = options;
  }

  get queue(): string {
    return this.#o.queue;
  }

  /** Starts consuming, held back from the start when `paused` (the queue is paused fleet-wide). */
  start(paused = false): void {
    const { dispatcher, queue, concurrency, rateLimit, store } = this.#o;
    this.#consumer = dispatcher.consume(queue, { concurrency, ...(rateLimit === undefined ? {} : { rateLimit }) }, (job) => this.#process(job));
    // While the store is down nothing can be claimed: stop taking work instead of failing it.
    this.#unsubscribe = store.onAvailability((available) => void this.#hold('store', !available));
    if (!store.available) this.#holds.add('store');
    if (paused) this.#holds.add('paused');
    if (this.#holds.size > 0) void this.#consumer.pause();
  }

  /** Stops taking new jobs for good (draining); in-flight ones continue. */
  pause(): Promise<void> {
    return this.#hold('draining', true);
  }

  /** Follows the queue's fleet-wide pause: held back while paused, taking jobs again once resumed (unless held otherwise). */
  setPaused(paused: boolean): Promise<void> {
    return this.#hold('paused', paused);
  }

  async #hold(reason: 'store' | 'paused' | 'draining', on: boolean): Promise<void> {
    if (on) this.#holds.add(reason);
    else this.#holds.delete(reason);
    if (this.#holds.size > 0) await this.#consumer?.pause();
    else this.#consumer?.resume();
  }

  /** Stops taking jobs and waits for those in flight and their outcomes' writes, up to `timeoutMs` in all. */
  async close(timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    this.#unsubscribe?.();
    await this.#consumer?.close(timeoutMs);
    this.#consumer = null;
    if (this.#finishing.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, Math.max(0, deadline - performance.now()));
    });
    await Promise.race([Promise.all(this.#finishing), expired]);
    clearTimeout(timer);
  }

  async #process(job: DispatchedJob): Promise<DispatchOutcome> {
    const { store, pool, supervisorId } = this.#o;
    const claimed = await store.jobs.claim(job.id, `${supervisorId}/${pool.name}`);
    // Not claimable: finished, cancelled, running elsewhere, or not due. The store is the truth;
    // if it still wants the job run later, the reconciler dispatches it again.
    if (claimed === null) return done;
    const run = (): Promise<DispatchOutcome> => this.#run(claimed);
    const { correlationId, traceparent, tracestate } = claimed;
    if (correlationId === null || traceparent === null) return run();
    return restoreCorrelation(tracestate === null ? { correlationId, traceparent } : { correlationId, traceparent, tracestate }, run);
  }

  async #run(job: ClaimedJob): Promise<DispatchOutcome> {
    const { bus, pool, queue, inFlight } = this.#o;
    const meta = { queue, job_name: job.name, job_id: job.id, correlation_id: job.correlationId ?? undefined, traceparent: job.traceparent ?? undefined };
    const dueAt = Math.max(job.runAt.getTime(), job.createdAt.getTime());
    const queueTime = ns(Date.now() - dueAt);
    bus.execute('job.start', { queue_time: queueTime, attempt: job.attempt }, meta);
    const abort = new AbortController();
    inFlight.set(job.id, { attempt: job.attempt, abort });
    const started = performance.now();
    let outcome: Promise<DispatchOutcome>;
    try {
      const metadata = { queue, job_name: job.name, job_id: job.id };
      const result = await pool.run(job.payload, job.timeoutMs === null
        ? { task: job.name, signal: abort.signal, metadata }
        : { task: job.name, signal: abort.signal, metadata, timeoutMs: job.timeoutMs });
      this.#completed(job, result, ns(performance.now() - started), queueTime, meta);
      return done;
    } catch (thrown) {
      outcome = this.#failed(job, thrown, ns(performance.now() - started), meta);
    }
    try {
      return await outcome;
    } finally {
      inFlight.delete(job.id);
    }
  }

  /**
   * Records a completed attempt without holding the job's dispatch slot: the next job is fetched
   * while the finish waits for its group commit, so a job's turn round costs no commit latency.
   * Nothing is lost if the write never lands: the row stays running, and the reconciler requeues
   * it — as an orphan if this process dies, as an abandoned claim if it lives — to run again.
   * The job stays in `inFlight` until the write settles, so the reconciler does not take it for
   * abandoned meanwhile. The write's promise never rejects (close waits on it).
   */
  #completed(job: ClaimedJob, result: unknown, duration: number, queueTime: number, meta: Record<string, string | undefined>): void {
    const finishing = this.#writeCompleted(job, result, duration, queueTime, meta).finally(() => {
      this.#o.inFlight.delete(job.id);
      this.#finishing.delete(finishing);
    });
    this.#finishing.add(finishing);
  }

  async #writeCompleted(job: ClaimedJob, result: unknown, duration: number, queueTime: number, meta: Record<string, string | undefined>): Promise<void> {
    const { bus, store } = this.#o;
    try {
      if (await store.jobs.finish({ id: job.id, attempt: job.attempt, status: 'completed', result: result ?? null })) {
        bus.execute('job.stop', { duration, queue_time: queueTime, attempt: job.attempt }, { ...meta, status: 'completed' });
      }
    } catch (error) {
      // A result the store refuses (not JSON, too large) fails the attempt with that reason; the
      // dispatch slot is gone, so the reconciler hands out a retry once it is due. Otherwise the
      // store is down and has said so (store.connection.lost): the reconciler takes it from here.
      if ((error as { code?: unknown }).code === 'PITBOSS_INVALID_JOB') await this.#failed(job, error, duration, meta).catch(() => {});
    }
  }

  async #failed(job: ClaimedJob, thrown: unknown, duration: number, meta: Record<string, string | undefined>): Promise<DispatchOutcome> {
    const { bus, store } = this.#o;
    if (!chargesAttempt(thrown)) {
      // Fenced like any finish: a job cancelled meanwhile stays cancelled.
      if (!(await store.jobs.finish({ id: job.id, attempt: job.attempt, status: 'released', retryAt: new Date(Date.now() + releaseDelayMs) }))) return done;
      return { kind: 'retry', delayMs: releaseDelayMs };
    }
    const error = errorOf(thrown);
    const failure = { error_type: error.type, error: error.message };
    if (job.attempt >= job.maxAttempts) {
      if (await store.jobs.finish({ id: job.id, attempt: job.attempt, status: 'dead', error })) {
        bus.execute('job.exception', { duration, attempt: job.attempt }, { ...meta, ...failure, status: 'dead' });
        bus.execute('job.dead', { attempt: job.attempt }, { ...meta, error_type: error.type });
      }
      return done;
    }
    const delayMs = retryDelayMs(job.backoff, job.attempt);
    if (!(await store.jobs.finish({ id: job.id, attempt: job.attempt, status: 'failed', error, retryAt: new Date(Date.now() + delayMs) }))) return done;
    bus.execute('job.exception', { duration, attempt: job.attempt }, { ...meta, ...failure, status: 'failed' });
    bus.execute('job.retry', { attempt: job.attempt }, { ...meta, error_type: error.type });
    return { kind: 'retry', delayMs };
  }
}
