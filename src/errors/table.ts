/**
 * The one table of error codes, in the manner of fastify's `lib/errors.js`: each stable code with the
 * HTTP status the API answers for it, the classes that raise it and its one-line meaning.
 * `docs/errors.md` is generated from it and pinned by test/docs/errors-table.test.ts; the HTTP error
 * handler reads its status from here; test/errors/table.test.ts checks the classes against the source.
 */

/**
 * Statuses: 400 for bad input, 409 for a lost race, 503 for "cannot take this now, try later or
 * elsewhere" (an unreachable, full or closing store or dispatch, a saturated pool), 500 for the rest
 * (a bug or a failed job, not the client's to fix).
 */
export type ErrorStatus = 400 | 409 | 500 | 503;

/** One row of the table. `classes` names the error classes constructed with the code (`Error`: raised inside a worker thread, not a PitbossError). */
export interface ErrorEntry {
  readonly status: ErrorStatus;
  readonly classes: readonly string[];
  readonly meaning: string;
}

/** Every stable error code: its HTTP status, the classes that raise it, its meaning. */
export const errorCodes = {
  PITBOSS_HANDLER_EXISTS: {
    status: 409, classes: ['TelemetryError'],
    meaning: 'a telemetry handler with this id is already attached',
  },
  PITBOSS_UNKNOWN_EVENT: {
    status: 400, classes: ['TelemetryError', 'MetricsError'],
    meaning: 'the event name (or pattern) matches nothing in the telemetry catalog',
  },
  PITBOSS_INVALID_EVENT_SPEC: {
    status: 400, classes: ['TelemetryError'],
    meaning: 'a host-registered event definition is malformed or clashes with an existing event',
  },
  PITBOSS_INVALID_RULE: {
    status: 400, classes: ['TelemetryError'],
    meaning: 'a telemetry control rule has a bad pattern, rate or scope',
  },
  PITBOSS_INVALID_TRACEPARENT: {
    status: 400, classes: ['TelemetryError'],
    meaning: 'a W3C traceparent header could not be parsed',
  },
  PITBOSS_INVALID_CONFIG: {
    status: 400, classes: ['PitbossError', 'PoolError', 'JobError', 'DispatchError', 'MetricsError'],
    meaning: 'a configuration value is invalid; the message names the key',
  },
  PITBOSS_INVALID_WORKER: {
    status: 400, classes: ['Error'],
    meaning: 'a worker module does not default-export a defineWorker(...) definition; the thread\'s load error (a plain `Error` naming this code) fails the pool\'s start with PITBOSS_POOL_FAILED',
  },
  PITBOSS_POOL_SATURATED: {
    status: 503, classes: ['PoolSaturatedError'],
    meaning: 'the pool queue is full (maxQueue); the task was not accepted',
  },
  PITBOSS_QUEUE_TIMEOUT: {
    status: 503, classes: ['QueueTimeoutError'],
    meaning: 'a task waited in the pool queue longer than queueTimeoutMs',
  },
  PITBOSS_TASK_TIMEOUT: {
    status: 500, classes: ['TaskTimeoutError'],
    meaning: 'a task ran longer than taskTimeoutMs; its thread was terminated and replaced',
  },
  PITBOSS_TASK_FAILED: {
    status: 500, classes: ['TaskFailedError'],
    meaning: 'worker code threw; name, message and stack of the original error are kept',
  },
  PITBOSS_WORKER_CRASHED: {
    status: 500, classes: ['WorkerCrashedError'],
    meaning: 'the thread running the task died (uncaught error, process.exit, out of memory)',
  },
  PITBOSS_POOL_CLOSED: {
    status: 503, classes: ['PoolClosedError', 'PoolError'],
    meaning: 'the pool is closing or closed and takes no more tasks',
  },
  PITBOSS_TASK_INTERRUPTED: {
    status: 503, classes: ['TaskInterruptedError'],
    meaning: 'the pool stopped the thread running the task (shutdown past its timeout): not the task\'s failure; a job goes back to waiting without using an attempt',
  },
  PITBOSS_POOL_FAILED: {
    status: 503, classes: ['PoolFailedError'],
    meaning: 'the pool exceeded its restart intensity and stopped',
  },
  PITBOSS_INVALID_SUPERVISOR_SPEC: {
    status: 400, classes: ['SupervisorError'],
    meaning: 'supervisor options or a child spec are malformed (strategy, intensity, ids, timeouts, backoff)',
  },
  PITBOSS_UNKNOWN_CHILD: {
    status: 400, classes: ['SupervisorError'],
    meaning: 'the supervisor has no child with this id',
  },
  PITBOSS_SUPERVISOR_STATE: {
    status: 500, classes: ['SupervisorError'],
    meaning: 'the call does not fit the supervisor\'s state (started twice, or not running)',
  },
  PITBOSS_SUPERVISOR_STOPPED: {
    status: 503, classes: ['SupervisorError'],
    meaning: 'the supervisor was stopped before the operation (start, restartChild) could finish',
  },
  PITBOSS_CHILD_START_FAILED: {
    status: 500, classes: ['SupervisorError'],
    meaning: 'a child\'s start function threw, rejected or returned no ChildHandle; `cause` holds the error',
  },
  PITBOSS_INTENSITY_EXCEEDED: {
    status: 500, classes: ['IntensityExceededError'],
    meaning: 'more than maxRestarts restarts within periodMs: the supervisor stopped its children and failed',
  },
  PITBOSS_UNKNOWN_QUEUE: {
    status: 400, classes: ['JobError'],
    meaning: 'an enqueue named a queue no supervisor of the fleet consumes and the JobSystem does not accept (acceptQueues); the message names the known queues',
  },
  PITBOSS_INVALID_JOB: {
    status: 400, classes: ['JobError'],
    meaning: 'a job given to the store is malformed (enqueue input, id, finish result or error); the message and `field` name the offending field',
  },
  PITBOSS_STORE_UNAVAILABLE: {
    status: 503, classes: ['JobError'],
    meaning: 'Postgres stayed unreachable for the whole retry budget; the write was not confirmed (retrying it is safe)',
  },
  PITBOSS_STORE_CLOSED: {
    status: 503, classes: ['JobError'],
    meaning: 'the job store is closing or closed and takes no more work',
  },
  PITBOSS_STORE_QUERY_FAILED: {
    status: 500, classes: ['JobError'],
    meaning: 'Postgres rejected a store statement (constraint, bad data); `cause` holds the driver error',
  },
  PITBOSS_STORE_TIMEOUT: {
    status: 503, classes: ['JobError'],
    meaning: 'a store query ran past its timeout (statement_timeout or the per-query timeoutMs)',
  },
  PITBOSS_STORE_WRITE_FAILED: {
    status: 503, classes: ['JobError'],
    meaning: 'the store cannot write (disk full, a read-only or vanished data directory, an I/O error); the message names the directory or server error, the write was not committed (retrying it later is safe)',
  },
  PITBOSS_STORE_IN_USE: {
    status: 503, classes: ['JobError'],
    meaning: 'the embedded store\'s data directory is held by another live process (PGlite takes one process per directory); the message names it',
  },
  PITBOSS_SUPERVISOR_ID_IN_USE: {
    status: 503, classes: ['JobError'],
    meaning: 'another live process heartbeats under this supervisor id (a shared fixed PITBOSS_SUPERVISOR_ID); the message names it',
  },
  PITBOSS_INVALID_CONTROL: {
    status: 400, classes: ['JobError'],
    meaning: 'a control table to persist is malformed (rules or log levels); the message names the entry',
  },
  PITBOSS_CONTROL_CONFLICT: {
    status: 409, classes: ['JobError'],
    meaning: 'settings.save expected a settings version that is no longer current (another writer saved first)',
  },
  PITBOSS_JOB_NOT_RETRYABLE: {
    status: 409, classes: ['JobError'],
    meaning: 'a retry named a job that is queued, running or completed (only dead, failed and cancelled jobs can be retried); the message names its state',
  },
  PITBOSS_INVALID_DISPATCH_JOB: {
    status: 400, classes: ['DispatchError'],
    meaning: 'a job handed to dispatch has an empty id, queue or name, a `:` in its id or queue, or a non-finite priority, delay or maxAttempts',
  },
  PITBOSS_DISPATCH_CLOSED: {
    status: 503, classes: ['DispatchError'],
    meaning: 'the dispatcher or consumer is closed and takes no more jobs',
  },
  PITBOSS_DISPATCH_UNAVAILABLE: {
    status: 503, classes: ['DispatchError'],
    meaning: 'the dispatch backend (Redis) did not answer; the job rows are safe and the reconciler dispatches them again',
  },
  PITBOSS_DISPATCH_PROCESSOR_FAILED: {
    status: 500, classes: ['DispatchError'],
    meaning: 'a dispatch processor threw or returned no valid outcome; the job is handed out again after failureRetryDelayMs',
  },
} as const satisfies Readonly<Record<`PITBOSS_${string}`, ErrorEntry>>;

/** A stable error code; switch on it rather than on messages. */
export type ErrorCode = keyof typeof errorCodes;
