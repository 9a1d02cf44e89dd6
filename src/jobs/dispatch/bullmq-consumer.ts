/**
 * One consumer of one BullMQ queue: a `Worker` on its own connection, whose processor runs the
 * consumer's `process` and records the outcome in Redis itself before returning to BullMQ.
 *
 * Retries use `job.moveToDelayed(now + delayMs, token)`, not a thrown error plus a
 * `backoffStrategy`. Both move the job atomically (lock checked) to the delayed set, but the
 * thrown-error path spends BullMQ's own attempt budget: once `attemptsMade` reaches `attempts`,
 * BullMQ fails the job and (with `removeOnFail`) deletes it, even when the store — the one place
 * attempts are counted, fenced by attempt — says it should run again; processor failures the store
 * never saw would drift the two counters apart. `moveToDelayed` skips the attempt counter, so
 * dispatch never overrides the store; only `done` removes a job. The processor then ends with
 * BullMQ's `DelayedError` ("the job was moved already; fetch the next one").
 *
 * `done` is BullMQ's own completion: the processor returns and the Worker records it with one script
 * that also fetches the next job (recording it ourselves and then fetching cost a second Redis call
 * per job). `close` waits for whole `processJob` calls — processor and recording — so "nothing in
 * flight" still means "every outcome written", and the Worker is then closed with `force`: a graceful
 * `Worker.close()` also waits for its Redis connection and never resolves while Redis is unreachable
 * (verified with bullmq 6.7).
 *
 * If an outcome cannot be recorded (lock lost, Redis flushed), the job is left to BullMQ's stalled
 * checker (lock expiry) or to the reconciler (job gone): nothing is lost, only delayed.
 *
 * A rate limit is BullMQ's `limiter` (bullmq 6.7, fetchNextJob.lua / prepareJobForProcessing.lua):
 * each job moved to active INCRs one Redis key per queue, which expires `duration` ms after the
 * window's first job; while it holds `max`, no worker of the queue fetches, and each waits out the
 * key's TTL. So the limit is fleet-wide, in fixed windows that start at the first start after the
 * last one ended. A job handed back with `moveToDelayed` (a retry, a release) counts again when it
 * is next fetched: each fetch is a start. Every worker of a queue should declare the same limit;
 * the counter is shared, but each checks it against its own `max`.
 */
import { DelayedError, Worker, type Job, type WorkerOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { DispatchConsumer, DispatchedJob, DispatchOutcome, RateLimit } from '../types.ts';
import { fromBullmqId, packedEntry, singleEntry, type BullmqEntry, type PackedEntry } from './bullmq-jobs.ts';
import { JobSlots } from './job-slots.ts';
import { InFlight, report, runProcessor, type DispatchErrorHandler, type SettledOutcome } from './processing.ts';
import { closeClient, errorListener, isConnectionError } from './redis-watch.ts';
import { checkOptionalMs } from './validate.ts';
import { DispatchError } from '../../errors/classes.ts';

/** Everything a consumer needs from its dispatcher. */
export interface BullmqConsumerSettings {
  readonly queue: string;
  readonly concurrency: number;
  /** BullMQ's limiter: at most `max` jobs fetched per `perMs` across every worker of the queue. */
  readonly rateLimit: RateLimit | null;
  readonly process: (job: DispatchedJob) => Promise<DispatchOutcome>;
  /** A connection of its own, with `maxRetriesPerRequest: null`; the consumer closes it. */
  readonly connection: Redis;
  readonly prefix: string;
  readonly stalledIntervalMs: number;
  readonly lockDurationMs: number;
  readonly maxStalledCount: number;
  readonly failureRetryDelayMs: number;
  readonly onError: DispatchErrorHandler;
  readonly onClosed: (consumer: BullmqConsumer) => void;
  /** Adds single jobs' entries (a packed job's retry, or its jobs not started); fails fast while Redis is away. */
  readonly handBack: (entries: BullmqEntry[]) => Promise<void>;
  /** Clears packed ids from the packed index once their entry has handed them out. */
  readonly forget: (ids: readonly string[]) => Promise<void>;
}

/** Thrown to say "already moved": one instance, as BullMQ only checks its name and building one captures a stack. */
const MOVED = new DelayedError();

/**
 * The Worker with two hooks: each job's whole `processJob` call — processor and the recording after
 * it — is counted, and a `done` BullMQ cannot record (lock lost, job gone with a flushed Redis) is
 * handed to `unrecorded` instead of being retried as a failure. Connection errors go on to BullMQ,
 * which retries them until Redis is back or the worker closes.
 */
class ConsumerWorker extends Worker {
  constructor(
    name: string,
    processor: (job: Job, token?: string) => Promise<unknown>,
    options: WorkerOptions,
    readonly inFlight: InFlight,
    readonly unrecorded: (job: Job, error: unknown) => void,
  ) {
    super(name, processor, options);
  }

  override async processJob(...args: Parameters<Worker['processJob']>): ReturnType<Worker['processJob']> {
    const finished = this.inFlight.begin();
    try {
      return await super.processJob(...args);
    } finally {
      finished();
    }
  }

  protected override async handleCompleted(result: unknown, job: Job, ...rest: [token: string, fetchNext?: () => boolean, span?: never]): Promise<Job> {
    try {
      return await super.handleCompleted(result, job, ...rest);
    } catch (error) {
      if (isConnectionError(error)) throw error;
      this.unrecorded(job, error);
      // BullMQ's own "no next job": the loop fetches again.
      return undefined as unknown as Job;
    }
  }
}

export class BullmqConsumer implements DispatchConsumer {
  readonly #settings: BullmqConsumerSettings;
  readonly #worker: Worker;
  readonly #inFlight = new InFlight();
  readonly #slots: JobSlots;
  /** BullMQ jobs in #handle now: each single job's holds one slot too, a packed one's jobs one each. */
  #entries = 0;
  #state: 'running' | 'paused' | 'closing' = 'running';
  /** Set when close() gave up waiting: outcomes of jobs still running are no longer recorded. */
  #abandoned = false;
  /** pause/resume calls, in order: BullMQ's own pause and resume must not overtake each other. */
  #transition: Promise<void> = Promise.resolve();
  #closing: Promise<void> | null = null;

  constructor(settings: BullmqConsumerSettings) {
    this.#settings = settings;
    this.#slots = new JobSlots(settings.concurrency, () => this.#retune());
    const onError = errorListener(settings.onError);
    settings.connection.on('error', onError);
    this.#worker = new ConsumerWorker(settings.queue, (job, token) => this.#handle(job, token), {
      connection: settings.connection,
      prefix: settings.prefix,
      concurrency: settings.concurrency,
      autorun: true,
      // Stalled-job recovery: a job whose worker died (lock not renewed for lockDuration) goes back to
      // wait at the next check of any worker of this queue.
      stalledInterval: settings.stalledIntervalMs,
      lockDuration: settings.lockDurationMs,
      maxStalledCount: settings.maxStalledCount,
      ...(settings.rateLimit === null ? {} : { limiter: { max: settings.rateLimit.max, duration: settings.rateLimit.perMs } }),
    }, this.#inFlight, (job, error) => this.#unrecorded(job, 'done', error));
    this.#worker.on('error', onError);
  }

  /**
   * BullMQ fetches while its jobs in progress are fewer than its concurrency; a packed entry is one
   * of them but takes a slot per job it carries. So BullMQ's concurrency follows the free slots: it
   * fetches only while a slot is free, and a consumer with every slot taken holds at most one more
   * entry (waiting for slots) beyond its jobs.
   */
  #retune(): void {
    this.#worker.concurrency = Math.max(1, this.#settings.concurrency - this.#slots.used + this.#entries);
  }

  async #handle(job: Job, token: string | undefined): Promise<null> {
    this.#entries++;
    try {
      const packed = packedEntry(job.data);
      return await (packed === null ? this.#handleSingle(job, token) : this.#handlePacked(job, token, packed));
    } finally {
      this.#entries--;
      this.#retune();
    }
  }

  /** A single job's entry stays active in BullMQ while the job runs; its outcome is recorded on it. */
  async #handleSingle(job: Job, token: string | undefined): Promise<null> {
    // A fetch already under way when pause()/close() was called can still deliver one job: give it
    // straight back instead of running it.
    if (this.#state !== 'running' || !(await this.#slots.take().then(() => true, () => false))) {
      await this.#record(job, token, { kind: 'retry', delayMs: 0 });
      throw MOVED;
    }
    try {
      const dispatched: DispatchedJob = { id: fromBullmqId(job.id), queue: this.#settings.queue, name: job.name };
      const outcome = await runProcessor(this.#settings.process, dispatched, this.#settings.failureRetryDelayMs, this.#settings.onError);
      // After a close that timed out nothing more is recorded for this worker: the job's lock lapses
      // and stalled recovery hands it out again, whatever this attempt decided.
      if (this.#abandoned) throw MOVED;
      if (outcome.kind === 'done') return null;
      await this.#record(job, token, outcome);
      throw MOVED;
    } finally {
      this.#slots.release();
    }
  }

  /**
   * A packed entry hands its jobs out one slot at a time and completes once each has a slot (or was
   * given back): the jobs then run outside BullMQ, like jobs whose entry was lost, with the store's
   * claim as their fence and the reconciler as their safety net. A retry becomes a single job's
   * entry. Under a rate limit an entry starts one job and gives the rest back as single entries, so
   * BullMQ's limiter counts every start. Jobs not started when the consumer pauses or closes go back
   * as single entries; if Redis cannot take them the entry is left to stalled recovery.
   */
  async #handlePacked(job: Job, token: string | undefined, packed: PackedEntry): Promise<null> {
    const priority = job.opts.priority ?? 0;
    const starts = this.#settings.rateLimit === null ? packed.ids.length : 1;
    let started = 0;
    while (started < starts && this.#state === 'running') {
      if (!(await this.#slots.take().then(() => true, () => false))) break;
      this.#startPacked(packed.ids[started] as string, packed.names[started] as string, priority);
      started++;
    }
    if (started < packed.ids.length) {
      const rest = packed.ids.slice(started).map((id, i) => singleEntry(id, packed.names[started + i] as string, priority, 0));
      try {
        await this.#settings.handBack(rest);
      } catch (error) {
        this.#unrecordedPacked(job, rest.length, error);
        throw MOVED;
      }
    }
    await this.#settings.forget(packed.ids).catch((error: unknown) => report(this.#settings.onError, error));
    return null;
  }

  #startPacked(id: string, name: string, priority: number): void {
    const finished = this.#inFlight.begin();
    const dispatched: DispatchedJob = { id, queue: this.#settings.queue, name };
    void runProcessor(this.#settings.process, dispatched, this.#settings.failureRetryDelayMs, this.#settings.onError)
      .then(async (outcome) => {
        this.#slots.release();
        if (outcome.kind === 'done' || this.#abandoned) return;
        try {
          await this.#settings.handBack([singleEntry(id, name, priority, outcome.delayMs)]);
        } catch (error) {
          const message = `queue ${this.#settings.queue}: could not hand job ${id} back for its retry; the reconciler will dispatch it again`;
          report(this.#settings.onError, new DispatchError('PITBOSS_DISPATCH_UNAVAILABLE', message, { cause: error }));
        }
      })
      .finally(finished);
  }

  async #record(job: Job, token: string | undefined, outcome: SettledOutcome & { kind: 'retry' }): Promise<void> {
    try {
      await job.moveToDelayed(Date.now() + outcome.delayMs, token);
    } catch (error) {
      this.#unrecorded(job, outcome.kind, error);
    }
  }

  #unrecordedPacked(job: Job, count: number, error: unknown): void {
    const message = `queue ${this.#settings.queue}: could not hand back ${count} job(s) of packed entry ${job.id} not started; stalled recovery hands the entry out again`;
    report(this.#settings.onError, new DispatchError('PITBOSS_DISPATCH_UNAVAILABLE', message, { cause: error }));
  }

  #unrecorded(job: Job, kind: SettledOutcome['kind'], error: unknown): void {
    const message = `queue ${this.#settings.queue}: could not record ${kind} for job ${fromBullmqId(job.id)}; stalled recovery or the reconciler will hand it out again`;
    report(this.#settings.onError, new DispatchError('PITBOSS_DISPATCH_UNAVAILABLE', message, { cause: error }));
  }

  /** Resolves once no new job will be handed out; jobs in flight run on. */
  pause(): Promise<void> {
    if (this.#state !== 'running') return this.#transition;
    this.#state = 'paused';
    this.#slots.withdraw();
    return this.#then(() => this.#worker.pause(true));
  }

  resume(): void {
    if (this.#state !== 'paused') return;
    this.#state = 'running';
    void this.#then(() => this.#worker.resume());
  }

  /**
   * Stops fetching, waits for jobs in flight to finish and their outcomes to be written (up to
   * `timeoutMs`, no limit when undefined), then closes the Worker. Jobs still running after the
   * timeout are abandoned to stalled recovery.
   */
  async close(timeoutMs?: number): Promise<void> {
    checkOptionalMs('close timeoutMs', timeoutMs);
    this.#closing ??= this.#shutdown(timeoutMs);
    return this.#closing;
  }

  async #shutdown(timeoutMs: number | undefined): Promise<void> {
    this.#state = 'closing';
    this.#slots.withdraw();
    await this.#then(() => this.#worker.pause(true));
    this.#abandoned = !(await this.#inFlight.drained(timeoutMs));
    try {
      // Every outcome is written by now (or abandoned): nothing is left for a graceful close to wait for.
      await this.#worker.close(true);
    } catch (error) {
      report(this.#settings.onError, error);
    }
    await closeClient(this.#settings.connection);
    this.#settings.onClosed(this);
  }

  #then(step: () => Promise<void>): Promise<void> {
    this.#transition = this.#transition.then(step).catch((error: unknown) => report(this.#settings.onError, error));
    return this.#transition;
  }
}
