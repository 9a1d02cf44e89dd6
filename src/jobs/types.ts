/**
 * The contracts of the job system: the store (Postgres, the truth), dispatch (who runs what next,
 * rebuildable), and the shapes that travel between them. Implementations live in store/ and
 * dispatch/; the consumer and reconciler depend only on these interfaces.
 */

/**
 * queued → running → completed | failed (will retry once `runAt` passes) | dead (attempts
 * exhausted) | cancelled.
 */
export type JobStatus = 'queued' | 'running' | 'completed' | 'failed' | 'dead' | 'cancelled';

/** How the wait before a retry grows. */
export interface BackoffPolicy {
  readonly type: 'fixed' | 'exponential';
  /** First retry delay; exponential doubles it per attempt. */
  readonly delayMs: number;
}

/** What host code or `POST /jobs` asks for. */
export interface EnqueueInput {
  readonly queue: string;
  readonly name: string;
  /** JSON-serialisable payload (size-limited). */
  readonly data?: unknown;
  /** Higher runs first (default 0). */
  readonly priority?: number;
  /** Attempts before the job is dead (default 3). */
  readonly maxAttempts?: number;
  readonly backoff?: BackoffPolicy;
  /** Do not run before this many ms from now. */
  readonly delayMs?: number;
  /** Enqueueing the same key twice in a queue returns the existing job. */
  readonly idempotencyKey?: string;
  /**
   * Deadline of each attempt in ms (default: the pool's `taskTimeoutMs`, if any): `ctx.signal`
   * aborts at it and the thread is replaced `killGraceMs` later; the attempt fails with error type
   * `timeout` and is retried per `maxAttempts`/`backoff`.
   */
  readonly timeoutMs?: number;
}

/** The result of an enqueue. */
export interface EnqueuedJob {
  /** Row id (a decimal string: Postgres bigint); also the dispatch job id. */
  readonly id: string;
  readonly queue: string;
  readonly name: string;
  readonly priority: number;
  readonly maxAttempts: number;
  readonly backoff: BackoffPolicy;
  readonly runAt: Date;
  /** False when an idempotency key matched an existing job, which is returned instead. */
  readonly created: boolean;
  readonly status: JobStatus;
}

/** A job as the store holds it. */
/**
 * Claims a live supervisor lost track of: running rows under `supervisorId`, claimed more than
 * `olderThanMs` ago (beyond the store's write budget, so no claim reply can still be on its way),
 * that it is not running (`running`: the job ids in flight there). They are requeued like orphans.
 */
export interface AbandonedClaims {
  readonly supervisorId: string;
  readonly olderThanMs: number;
  readonly running: readonly string[];
}

/** One process's beat under a supervisor id; `instance` marks the process's life (a random id per start). */
export interface SupervisorBeat {
  readonly id: string;
  readonly host: string;
  readonly pid: number;
  readonly instance?: string;
  /** The queues this supervisor consumes (default none): the fleet's consumed queues are the union. */
  readonly queues?: readonly string[];
}

/** Who beat under a supervisor id: the row as it stood before a beat, or as `supervisor(id)` reads it. */
export interface SupervisorHolder {
  readonly host: string;
  readonly pid: number;
  /** The life that wrote it (null: a process that gave none). */
  readonly instance: string | null;
}

/** A supervisor id's row now: its holder, whether that life stopped cleanly, and its last beat. */
export interface SupervisorRecord extends SupervisorHolder {
  readonly stopped: boolean;
  /** Age of the last beat by the database clock. */
  readonly heartbeatAgeMs: number;
  /** The last beat as a comparable number (µs since the epoch): a new beat changes it. */
  readonly beatAt: number;
}

/** A job's row: status, attempts, timing, data, result or error (what `jobs.get` returns, without actions). */
export interface JobRecord {
  readonly id: string;
  readonly queue: string;
  readonly name: string;
  readonly payload: unknown;
  readonly status: JobStatus;
  readonly priority: number;
  readonly attempts: number;
  readonly maxAttempts: number;
  readonly backoff: BackoffPolicy;
  readonly runAt: Date;
  /** `<supervisor id>/<pool>/<worker_id>` of the running attempt, or null. */
  readonly claimedBy: string | null;
  readonly idempotencyKey: string | null;
  readonly correlationId: string | null;
  readonly traceparent: string | null;
  /** W3C tracestate the enqueuing caller sent with its traceparent, unchanged; null when none. */
  readonly tracestate: string | null;
  readonly createdAt: Date;
  readonly startedAt: Date | null;
  readonly finishedAt: Date | null;
  readonly result: unknown;
  readonly error: { readonly type: string; readonly message: string } | null;
  /** Deadline of each attempt in ms (`EnqueueInput.timeoutMs`), null for the pool's. */
  readonly timeoutMs: number | null;
  /** The last `ctx.progress` value of the current (or last) attempt; null before it reports any. */
  readonly progress: unknown;
}

/** One recorded action (a `ctx.span('action', …)` inside a job attempt). */
export interface ActionRecord {
  readonly jobId: string;
  readonly attempt: number;
  readonly action: string;
  readonly status: 'ok' | 'error';
  /** Nanoseconds. */
  readonly duration: number;
  readonly error: string | null;
}

/** A job with its action history (`GET /jobs/:id`). */
export interface JobDetails extends JobRecord {
  readonly actions: readonly ActionRecord[];
}

/** A job claimed for one attempt. `attempt` is the fence: only this attempt may finish it. */
export interface ClaimedJob {
  readonly id: string;
  readonly queue: string;
  readonly name: string;
  readonly payload: unknown;
  readonly attempt: number;
  readonly maxAttempts: number;
  readonly backoff: BackoffPolicy;
  readonly correlationId: string | null;
  readonly traceparent: string | null;
  readonly tracestate: string | null;
  readonly createdAt: Date;
  readonly runAt: Date;
  /** Deadline of this attempt in ms, null for the pool's (see EnqueueInput.timeoutMs). */
  readonly timeoutMs: number | null;
}

/**
 * How an attempt ended. `failed` retries at `retryAt`; `dead` gives up. `released` hands the attempt
 * back uncharged (the job is queued again at `retryAt` and its attempts count goes back down): for
 * an attempt that ended through no fault of the job, such as a pool that closed or restarted under it.
 */
export type FinishInput =
  | { readonly id: string; readonly attempt: number; readonly status: 'completed'; readonly result: unknown }
  | { readonly id: string; readonly attempt: number; readonly status: 'failed'; readonly error: { type: string; message: string }; readonly retryAt: Date }
  | { readonly id: string; readonly attempt: number; readonly status: 'dead'; readonly error: { type: string; message: string } }
  | { readonly id: string; readonly attempt: number; readonly status: 'released'; readonly retryAt: Date };

/** Counts per queue and status, from one query (gauges, `GET /queues`). */
export interface QueueStats {
  readonly queue: string;
  readonly queued: number;
  readonly running: number;
  readonly failed: number;
  readonly completed: number;
  readonly dead: number;
  readonly cancelled: number;
}

/**
 * How long finished records are kept before `store.retention.prune` deletes them (null: kept for ever). Jobs count
 * from `finished_at`; their action rows go with them.
 */
export interface RetentionPolicy {
  readonly completedMs: number | null;
  readonly deadMs: number | null;
  readonly cancelledMs: number | null;
  /** Thread lifecycle rows (worker_events) older than this, and supervisors silent this long. */
  readonly fleetHistoryMs: number | null;
  /** Rows deleted per kind per call, so no call holds a long transaction. */
  readonly limit: number;
}

/** Rows one `store.retention.prune` call deleted, per kind. */
export interface PruneCounts {
  readonly completed: number;
  readonly dead: number;
  readonly cancelled: number;
  readonly workerEvents: number;
  readonly supervisors: number;
}

/** A job the reconciler hands back to dispatch. */
export interface DispatchJob {
  readonly id: string;
  readonly queue: string;
  readonly name: string;
  readonly priority: number;
  readonly maxAttempts: number;
  readonly backoff: BackoffPolicy;
  /** Do not hand out before this many ms from now. */
  readonly delayMs: number;
}

/** The dispatch entry of a job (as enqueued or as recorded): due `runAt` becomes a delay from now. */
export function toDispatchJob(job: Pick<JobRecord, 'id' | 'queue' | 'name' | 'priority' | 'maxAttempts' | 'backoff' | 'runAt'>): DispatchJob {
  return {
    id: job.id, queue: job.queue, name: job.name, priority: job.priority, maxAttempts: job.maxAttempts, backoff: job.backoff,
    delayMs: Math.max(0, job.runAt.getTime() - Date.now()),
  };
}

/** What a consumer's processor tells dispatch about a job it was handed. */
export type DispatchOutcome =
  /** The job is finished as far as dispatch is concerned (ran, is dead, or was not claimable). */
  | { readonly kind: 'done' }
  /** Hand it out again after `delayMs` (a failed attempt that will be retried). */
  | { readonly kind: 'retry'; readonly delayMs: number };

/** A job as dispatch hands it to a consumer. */
export interface DispatchedJob {
  readonly id: string;
  readonly queue: string;
  readonly name: string;
}

/** At most `max` job starts of a queue per `perMs` milliseconds. */
export interface RateLimit {
  readonly max: number;
  readonly perMs: number;
}

/** A running consumer of one queue. */
export interface DispatchConsumer {
  /** Stops taking new jobs (jobs in flight continue). */
  pause(): Promise<void>;
  resume(): void;
  /** Stops taking new jobs and waits for the ones in flight (up to `timeoutMs`). */
  close(timeoutMs?: number): Promise<void>;
}

/**
 * Dispatch: decides who runs what next. One interface, two implementations (BullMQ on Redis; local,
 * in-process), one conformance suite. Dispatch may lose jobs (Redis flushed): the reconciler re-adds
 * what the store says is queued, so `add` must be idempotent per job id.
 */
export interface Dispatcher {
  readonly backend: 'bullmq' | 'local';
  /** Makes jobs available to consumers; a job id already known is not duplicated. */
  add(jobs: readonly DispatchJob[]): Promise<void>;
  /**
   * `add` for jobs the store has just created, whose ids no dispatch can hold yet: the backend may
   * pack them (BullMQ: several to a BullMQ job, see BullmqDispatcherOptions.batchSize).
   */
  addNew(jobs: readonly DispatchJob[]): Promise<void>;
  /** Makes jobs due now (a retry): one dispatch holds back (delayed) is handed out at once, one it does not know is added. */
  promote(jobs: readonly DispatchJob[]): Promise<void>;
  /** Jobs dispatch currently holds for a queue (waiting, delayed, prioritized, active). */
  count(queue: string): Promise<number>;
  /**
   * Starts handing a queue's jobs to `process`, at most `concurrency` at a time and, with a
   * `rateLimit`, at most `max` per `perMs` (BullMQ: across every consumer of the queue; local: in this process).
   */
  consume(queue: string, options: { concurrency: number; rateLimit?: RateLimit }, process: (job: DispatchedJob) => Promise<DispatchOutcome>): DispatchConsumer;
  /** True when the backend is reachable right now. */
  healthy(): boolean;
  close(): Promise<void>;
}
