/**
 * The job system of one supervisor: enqueue (rows committed before dispatch), one consumer per
 * queue feeding its pool, the reconciler, action records, cancel and drain. It owns neither the
 * store nor the dispatcher (the deployment opens and closes those) so tests can share them.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { PitbossError } from '../errors/classes.ts';
import type { Telemetry } from '../telemetry/bus.ts';
import { currentCorrelation, newCorrelationId, childTraceparent } from '../telemetry/correlation.ts';
import { telemetry as sharedTelemetry } from '../telemetry/default.ts';
import { AcceptedQueues, type AcceptQueues } from './accepted-queues.ts';
import { QueueConsumer, type JobPool } from './consumer.ts';
import { rateLimitProblem } from './dispatch/rate-limit.ts';
import { PausedQueues } from './paused-queues.ts';
import { Pruner, type RetentionOptions } from './pruner.ts';
import { jobMetadata, Reconciler, type ReconcilerOptions } from './reconciler.ts';
import type { SchedulerOptions } from './schedules/scheduler.ts';
import { Schedules } from './schedules/schedules.ts';
import type { ScheduleInput } from './schedules/spec.ts';
import { retryJob, retryJobsWhere } from './redrive.ts';
import type { JobListQuery, JobPage, RetryFilter } from './store/search.ts';
import type { JobStore } from './store/store.ts';
import { checkQueueName } from './store/validate.ts';
import {
  toDispatchJob, type Dispatcher, type EnqueueInput, type EnqueuedJob, type JobDetails, type JobRecord, type QueueStats, type RateLimit,
} from './types.ts';

/** A queue's row in `JobSystem.queues()` (`GET /queues`): its counts, whether it is paused fleet-wide, and its rate limit here. */
export interface QueueRow extends QueueStats {
  readonly paused: boolean;
  /** The limit this supervisor consumes the queue under; null when it has none or does not consume the queue. */
  readonly rateLimit: RateLimit | null;
}

/** What a `JobSystem` runs on (store, dispatcher, telemetry bus), which queues it consumes on which pools, and its reconciler and retention settings. */
export interface JobSystemOptions {
  readonly store: JobStore;
  readonly dispatcher: Dispatcher;
  /**
   * Queues this supervisor consumes, each with its pool, concurrency (jobs of the queue in flight at
   * once; default 4, at most what the pool takes at once) and optional rate limit (at most `max` job
   * starts per `perMs`: fleet-wide on BullMQ, in this process on local dispatch).
   */
  readonly queues: Readonly<Record<string, { pool: JobPool; concurrency?: number; rateLimit?: RateLimit }>>;
  /**
   * Queues this system takes jobs for without consuming them, besides those the fleet's supervisors
   * consume (see accepted-queues.ts); `'*'` takes any queue. An enqueue for any other queue is
   * refused with PITBOSS_UNKNOWN_QUEUE: nobody would ever run it.
   */
  readonly acceptQueues?: AcceptQueues;
  readonly telemetry?: Telemetry;
  /** Names this supervisor in `claimed_by` and heartbeats (default `<host>:<pid>:<random>`). */
  readonly supervisorId?: string;
  readonly reconcile?: Partial<Pick<ReconcilerOptions, 'intervalMs' | 'heartbeatTtlMs' | 'graceMs' | 'batch' | 'abandonAfterMs' | 'onSupervisorIdNotice'>>;
  /** How long finished records are kept (defaults in pruner.ts: 14 days, dead jobs 30); false keeps everything. */
  readonly retention?: RetentionOptions | false;
  /** Cron schedules this system declares (a deployment's): upserted at each start; see `schedules`. */
  readonly schedules?: Readonly<Record<string, ScheduleInput>>;
  /** The scheduler's timing, or false: this system fires no schedule ticks (default: it does, as every supervisor of a fleet). */
  readonly scheduler?: SchedulerOptions | false;
}

const DEFAULT_CONCURRENCY = 4;

/**
 * Fails fast on a queue whose jobs its pool could not take: a job the pool refuses as saturated
 * would be recorded as a failed attempt and retried, so an over-subscribed pool turns load into
 * retries and dead jobs. Queues sharing a pool share its capacity.
 */
function checkQueues(queues: JobSystemOptions['queues']): void {
  const subscribed = new Map<JobPool, { total: number; queues: string[] }>();
  for (const [queue, { pool, concurrency = DEFAULT_CONCURRENCY, rateLimit }] of Object.entries(queues)) {
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new PitbossError('PITBOSS_INVALID_CONFIG', `queues.${queue}.concurrency must be a positive integer, got ${String(concurrency)}`);
    }
    const problem = rateLimit === undefined ? null : rateLimitProblem(`queues.${queue}.rateLimit`, rateLimit);
    if (problem !== null) throw new PitbossError('PITBOSS_INVALID_CONFIG', problem);
    const entry = subscribed.get(pool) ?? { total: 0, queues: [] };
    entry.total += concurrency;
    entry.queues.push(queue);
    subscribed.set(pool, entry);
    if (pool.capacity !== undefined && entry.total > pool.capacity) {
      const sharing = entry.queues.length > 1 ? ` (with ${entry.queues.slice(0, -1).join(', ')}: ${entry.total} in all)` : '';
      throw new PitbossError('PITBOSS_INVALID_CONFIG', `queues.${queue}.concurrency ${concurrency}${sharing} is more than pool ${pool.name} takes at once `
        + `(${pool.capacity}: threads + maxQueue); raise the pool's maxQueue or lower the concurrency`);
    }
  }
}

/**
 * Durable jobs over a `JobStore` and a dispatcher: enqueue, consume queues on pools, retries with
 * backoff, cancel, and the reconciler that dispatches what a crash or an outage left behind.
 */
export class JobSystem {
  readonly supervisorId: string;
  readonly #o: JobSystemOptions;
  readonly #bus: Telemetry;
  readonly #consumers: QueueConsumer[] = [];
  readonly #inFlight = new Map<string, { attempt: number; abort: AbortController }>();
  readonly #reconciler: Reconciler;
  readonly #pruner: Pruner | null;
  readonly #knownQueues = new Set<string>();
  readonly #accepted: AcceptedQueues;
  readonly #paused: PausedQueues;
  /** Cron schedules: list, set and remove them (shared by the fleet through the store); this system fires their ticks. */
  readonly schedules: Schedules;
  #state: 'idle' | 'running' | 'draining' | 'stopped' = 'idle';

  constructor(options: JobSystemOptions) {
    checkQueues(options.queues);
    this.#o = options;
    this.#bus = options.telemetry ?? sharedTelemetry;
    this.supervisorId = options.supervisorId ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    for (const queue of Object.keys(options.queues)) this.#knownQueues.add(queue);
    this.#accepted = new AcceptedQueues(options.store.fleet, Object.keys(options.queues), options.acceptQueues);
    this.#reconciler = new Reconciler({
      store: options.store, dispatcher: options.dispatcher, bus: this.#bus, supervisorId: this.supervisorId,
      queues: () => [...this.#knownQueues], consumes: Object.keys(options.queues), running: () => [...this.#inFlight.keys()], ...options.reconcile,
    });
    this.#pruner = options.retention === false ? null : new Pruner(options.store.retention, options.retention ?? {});
    this.#paused = new PausedQueues({
      store: options.store, bus: this.#bus, consumers: () => this.#consumers, refreshMs: options.reconcile?.intervalMs ?? 2000,
      // A resumed queue's jobs that a claim refused while it was paused left dispatch: re-add them now.
      onResumed: (queue) => { if (this.#knownQueues.has(queue)) void this.#reconciler.reconcile().catch(() => {}); },
    });
    this.schedules = new Schedules({
      store: options.store.schedules, dispatcher: options.dispatcher, bus: this.#bus, accepted: this.#accepted, onQueue: (queue) => this.#knownQueues.add(queue),
      declared: options.schedules ?? {}, scheduler: options.scheduler ?? {},
    });
  }

  /** 'idle' | 'running' | 'draining' | 'stopped'. */
  get state(): string {
    return this.#state;
  }

  /** Starts consuming every configured queue and the reconciler. */
  async start(): Promise<void> {
    const { store, dispatcher, queues } = this.#o;
    // Before claiming: requeue what a previous process under this supervisor id left running (a
    // live process under the id fails the start).
    await this.#reconciler.recoverPreviousLife();
    // The deployment's schedules first: one the fleet cannot run (an unknown queue) fails the start before anything runs.
    await this.schedules.start();
    await this.#paused.start();
    for (const [queue, { pool, concurrency = DEFAULT_CONCURRENCY, rateLimit }] of Object.entries(queues)) {
      const consumer = new QueueConsumer({
        queue, pool, concurrency, ...(rateLimit === undefined ? {} : { rateLimit }), store, dispatcher, bus: this.#bus, supervisorId: this.supervisorId, inFlight: this.#inFlight,
      });
      consumer.start(this.#paused.has(queue));
      this.#consumers.push(consumer);
    }
    const id = `pitboss.jobs.${this.supervisorId}`;
    // A record handler: job_actions stay complete whatever the sampling rules say (threads ship these
    // two events even when sampled out; see recordedThreadEvents).
    this.#bus.attachMany(`${id}.actions`, ['action.stop', 'action.exception'], (event, measurements, metadata) => {
      const jobId = metadata.job_id;
      const attempt = typeof jobId === 'string' ? this.#inFlight.get(jobId)?.attempt : undefined;
      if (attempt === undefined || typeof metadata.action !== 'string') return;
      store.jobs.recordActions([{
        jobId: jobId as string, attempt, action: metadata.action, status: event === 'action.stop' ? 'ok' : 'error',
        duration: measurements.duration ?? 0, error: typeof metadata.error === 'string' ? metadata.error : null,
      }]);
    }, undefined, { record: true });
    // Progress is recorded the same way (threads ship job.progress whatever the sampling rules say).
    this.#bus.attach(`${id}.progress`, 'job.progress', (_event, _measurements, metadata) => {
      const jobId = metadata.job_id;
      const attempt = typeof jobId === 'string' ? this.#inFlight.get(jobId)?.attempt : undefined;
      if (attempt !== undefined && typeof metadata.progress_json === 'string') store.jobs.recordProgress(jobId as string, attempt, metadata.progress_json);
    }, undefined, { record: true });
    // Redis came back (maybe empty): reconcile now rather than at the next period.
    this.#bus.attach(`${id}.reconnect`, 'dispatch.connection.reconnected', () => { void this.#reconciler.reconcile().catch(() => {}); });
    this.#reconciler.start();
    this.#pruner?.start();
    this.#state = 'running';
  }

  /**
   * Commits the jobs' rows, then dispatches them. A dispatch failure does not fail the enqueue: the
   * rows exist, and the reconciler dispatches them. Jobs carry the caller's correlation (or a new one).
   * A job for a queue nobody consumes or accepts rejects the whole call with PITBOSS_UNKNOWN_QUEUE.
   */
  async enqueue(inputs: readonly EnqueueInput[]): Promise<EnqueuedJob[]> {
    await this.#accepted.check(inputs);
    const current = currentCorrelation();
    // A new trace (no current context) has no tracestate: one belongs to the trace it came with.
    const context = current === undefined
      ? { correlationId: newCorrelationId(), traceparent: childTraceparent(), tracestate: null }
      : { correlationId: current.correlationId, traceparent: current.traceparent, tracestate: current.tracestate ?? null };
    const jobs = await this.#o.store.jobs.enqueue(inputs, context);
    const created = jobs.filter((job) => job.created);
    for (const job of jobs) this.#knownQueues.add(job.queue);
    if (created.length > 0) {
      await this.#o.dispatcher.addNew(created.map(toDispatchJob)).catch(() => {});
      for (const job of created) {
        this.#bus.execute('job.enqueued', {}, { queue: job.queue, job_name: job.name, job_id: job.id, correlation_id: context.correlationId, traceparent: context.traceparent });
      }
    }
    return jobs;
  }

  get(id: string): Promise<JobDetails | null> {
    return this.#o.store.jobs.get(id);
  }

  /** Cancels a waiting or running job; a running attempt in this process is aborted (its thread replaced). */
  async cancel(id: string): Promise<JobRecord | null> {
    const before = await this.#o.store.jobs.get(id);
    const job = await this.#o.store.jobs.cancel(id);
    if (job !== null && job.status === 'cancelled' && before !== null && before.status !== 'cancelled') {
      this.#inFlight.get(id)?.abort.abort(new Error('job cancelled'));
      // The job's own correlation, not the caller's: cancel is usually called from elsewhere.
      this.#bus.execute('job.cancelled', { attempt: job.attempts }, { ...jobMetadata(job), status: 'cancelled' });
    }
    return job;
  }

  /**
   * Puts a dead, failed or cancelled job back to queued as a new attempt, due now (one more attempt
   * even if it had used them all; its attempts, actions and last error stay), and dispatches it.
   * Null for an unknown job; rejects with PITBOSS_JOB_NOT_RETRYABLE for a job in another state.
   */
  retry(id: string): Promise<JobRecord | null> {
    return retryJob({ store: this.#o.store, dispatcher: this.#o.dispatcher, bus: this.#bus }, id);
  }

  /** Retries the dead, failed or cancelled jobs matching `filter` in bounded batches; resolves to how many. */
  async retryWhere(filter: RetryFilter): Promise<{ retried: number }> {
    return { retried: await retryJobsWhere({ store: this.#o.store, dispatcher: this.#o.dispatcher, bus: this.#bus }, filter) };
  }

  /** A page of jobs matching `query`, newest first (without payload and result); `next` pages on. */
  list(query?: JobListQuery): Promise<JobPage> {
    return this.#o.store.search.list(query);
  }

  /**
   * Per-queue counts, with explicit zeros for queues this supervisor knows (or that are paused) but
   * the store has no job of; each row says whether the queue is paused and its rate limit here.
   */
  async queues(options?: { timeoutMs?: number }): Promise<QueueRow[]> {
    const [stats, paused] = await Promise.all([this.#o.store.overview.queueStats(options), this.#o.store.queues.paused(options)]);
    const seen = new Set(stats.map((s) => s.queue));
    const zeros = [...new Set([...this.#knownQueues, ...paused])].filter((q) => !seen.has(q))
      .map((queue) => ({ queue, queued: 0, running: 0, failed: 0, completed: 0, dead: 0, cancelled: 0 }));
    const pausedNow = new Set(paused);
    return [...stats, ...zeros].sort((a, b) => a.queue.localeCompare(b.queue))
      .map((row) => ({ ...row, paused: pausedNow.has(row.queue), rateLimit: this.#o.queues[row.queue]?.rateLimit ?? null }));
  }

  /**
   * Pauses a queue on every supervisor sharing the store (persisted; idempotent): jobs are still
   * accepted, running ones finish, and once this resolves none of its jobs starts anywhere until it
   * is resumed. Rejects with `PITBOSS_INVALID_JOB` for a malformed queue name. Resolves to its row.
   */
  async pauseQueue(queue: string): Promise<QueueRow> {
    await this.#paused.pause(queue);
    return this.#queueRow(queue);
  }

  /** Resumes a paused queue everywhere (idempotent); its waiting jobs are handed out at once. Resolves to its row. */
  async resumeQueue(queue: string): Promise<QueueRow> {
    await this.#paused.resume(queue);
    return this.#queueRow(queue);
  }

  async #queueRow(queue: string): Promise<QueueRow> {
    const name = checkQueueName('queue', queue);
    const row = (await this.queues({ timeoutMs: 5_000 })).find((q) => q.queue === name);
    return row ?? { queue: name, queued: 0, running: 0, failed: 0, completed: 0, dead: 0, cancelled: 0, paused: false, rateLimit: null };
  }

  /** Deletes expired records now, as the retention timer does (nothing when retention is off). */
  async prune(): Promise<void> {
    await this.#pruner?.prune();
  }

  /** Runs a reconcile pass now. */
  reconcile(): Promise<void> {
    return this.#reconciler.reconcile();
  }

  /** Stops claiming new jobs; jobs in flight continue. */
  async drain(): Promise<void> {
    if (this.#state !== 'running') return;
    this.#state = 'draining';
    // Ticks go on firing on the fleet's other supervisors (or, missed, at the next start).
    await this.schedules.stop();
    await Promise.all(this.#consumers.map((c) => c.pause()));
  }

  /** Drains, waits for in-flight jobs up to `timeoutMs`, and stops the reconciler. */
  async stop(timeoutMs = 10_000): Promise<void> {
    if (this.#state === 'stopped') return;
    await this.drain();
    await Promise.all(this.#consumers.map((c) => c.close(timeoutMs)));
    this.#consumers.length = 0;
    await this.#reconciler.stop();
    await this.#pruner?.stop();
    await this.#paused.stop();
    const id = `pitboss.jobs.${this.supervisorId}`;
    this.#bus.detach(`${id}.actions`);
    this.#bus.detach(`${id}.progress`);
    this.#bus.detach(`${id}.reconnect`);
    this.#state = 'stopped';
  }

  /** Jobs running in this process right now. */
  get inFlight(): number {
    return this.#inFlight.size;
  }
}
