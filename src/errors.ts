/**
 * Typed errors with stable codes. Every error pitboss raises on purpose is a `PitbossError` whose
 * `code` is listed in `errorCodes`; the README's error table is pinned against this table by a test.
 */

/** Every stable error code, with the one-line meaning documented in the README. */
export const errorCodes = {
  PITBOSS_HANDLER_EXISTS: 'a telemetry handler with this id is already attached',
  PITBOSS_UNKNOWN_EVENT: 'the event name (or pattern) matches nothing in the telemetry catalog',
  PITBOSS_INVALID_EVENT_SPEC: 'a host-registered event definition is malformed or clashes with an existing event',
  PITBOSS_INVALID_RULE: 'a telemetry control rule has a bad pattern, rate or scope',
  PITBOSS_INVALID_TRACEPARENT: 'a W3C traceparent header could not be parsed',
  PITBOSS_INVALID_CONFIG: 'a configuration value is invalid; the message names the key',
  PITBOSS_INVALID_WORKER: 'a worker module does not default-export a defineWorker(...) definition',
  PITBOSS_POOL_SATURATED: 'the pool queue is full (maxQueue); the task was not accepted',
  PITBOSS_QUEUE_TIMEOUT: 'a task waited in the pool queue longer than queueTimeoutMs',
  PITBOSS_TASK_TIMEOUT: 'a task ran longer than taskTimeoutMs; its thread was terminated and replaced',
  PITBOSS_TASK_FAILED: 'worker code threw; name, message and stack of the original error are kept',
  PITBOSS_WORKER_CRASHED: 'the thread running the task died (uncaught error, process.exit, out of memory)',
  PITBOSS_POOL_CLOSED: 'the pool is closing or closed and takes no more tasks',
  PITBOSS_TASK_INTERRUPTED: 'the pool stopped the thread running the task (shutdown past its timeout): not the task\'s failure; a job goes back to waiting without using an attempt',
  PITBOSS_POOL_FAILED: 'the pool exceeded its restart intensity and stopped',
  PITBOSS_INVALID_SUPERVISOR_SPEC: 'supervisor options or a child spec are malformed (strategy, intensity, ids, timeouts, backoff)',
  PITBOSS_UNKNOWN_CHILD: 'the supervisor has no child with this id',
  PITBOSS_SUPERVISOR_STATE: 'the call does not fit the supervisor\'s state (started twice, or not running)',
  PITBOSS_SUPERVISOR_STOPPED: 'the supervisor was stopped before the operation (start, restartChild) could finish',
  PITBOSS_CHILD_START_FAILED: 'a child\'s start function threw, rejected or returned no ChildHandle; `cause` holds the error',
  PITBOSS_INTENSITY_EXCEEDED: 'more than maxRestarts restarts within periodMs: the supervisor stopped its children and failed',
  PITBOSS_UNKNOWN_QUEUE: 'an enqueue named a queue no supervisor of the fleet consumes and the JobSystem does not accept (acceptQueues); the message names the known queues',
  PITBOSS_INVALID_JOB: 'a job given to the store is malformed (enqueue input, id, finish result or error); the message and `field` name the offending field',
  PITBOSS_STORE_UNAVAILABLE: 'Postgres stayed unreachable for the whole retry budget; the write was not confirmed (retrying it is safe)',
  PITBOSS_STORE_CLOSED: 'the job store is closing or closed and takes no more work',
  PITBOSS_STORE_QUERY_FAILED: 'Postgres rejected a store statement (constraint, bad data); `cause` holds the driver error',
  PITBOSS_STORE_TIMEOUT: 'a store query ran past its timeout (statement_timeout or the per-query timeoutMs)',
  PITBOSS_STORE_WRITE_FAILED: 'the store cannot write (disk full, a read-only or vanished data directory, an I/O error); the message names the directory or server error, the write was not committed (retrying it later is safe)',
  PITBOSS_STORE_IN_USE: 'the embedded store\'s data directory is held by another live process (PGlite takes one process per directory); the message names it',
  PITBOSS_SUPERVISOR_ID_IN_USE: 'another live process heartbeats under this supervisor id (a shared fixed PITBOSS_SUPERVISOR_ID); the message names it',
  PITBOSS_INVALID_CONTROL: 'a control table to persist is malformed (rules or log levels); the message names the entry',
  PITBOSS_CONTROL_CONFLICT: 'saveControl expected a control version that is no longer current (another writer saved first)',
  PITBOSS_INVALID_DISPATCH_JOB: 'a job handed to dispatch has an empty id, queue or name, a `:` in its id or queue, or a non-finite priority, delay or maxAttempts',
  PITBOSS_DISPATCH_CLOSED: 'the dispatcher or consumer is closed and takes no more jobs',
  PITBOSS_DISPATCH_UNAVAILABLE: 'the dispatch backend (Redis) did not answer; the job rows are safe and the reconciler dispatches them again',
  PITBOSS_DISPATCH_PROCESSOR_FAILED: 'a dispatch processor threw or returned no valid outcome; the job is handed out again after failureRetryDelayMs',
} as const;

/** A stable error code; switch on it rather than on messages. */
export type ErrorCode = keyof typeof errorCodes;

/**
 * The HTTP status the API answers for each code: 400 for bad input, 409 for a lost race, 503 for
 * "cannot take this now, try later or elsewhere" (an unreachable, full or closing store or dispatch,
 * a saturated pool), 500 for the rest (a bug or a failed job, not the client's to fix).
 */
export const errorStatus: Readonly<Record<ErrorCode, 400 | 409 | 500 | 503>> = {
  PITBOSS_HANDLER_EXISTS: 409,
  PITBOSS_UNKNOWN_EVENT: 400,
  PITBOSS_INVALID_EVENT_SPEC: 400,
  PITBOSS_INVALID_RULE: 400,
  PITBOSS_INVALID_TRACEPARENT: 400,
  PITBOSS_INVALID_CONFIG: 400,
  PITBOSS_INVALID_WORKER: 400,
  PITBOSS_POOL_SATURATED: 503,
  PITBOSS_QUEUE_TIMEOUT: 503,
  PITBOSS_TASK_TIMEOUT: 500,
  PITBOSS_TASK_FAILED: 500,
  PITBOSS_WORKER_CRASHED: 500,
  PITBOSS_POOL_CLOSED: 503,
  PITBOSS_TASK_INTERRUPTED: 503,
  PITBOSS_POOL_FAILED: 503,
  PITBOSS_INVALID_SUPERVISOR_SPEC: 400,
  PITBOSS_UNKNOWN_CHILD: 400,
  PITBOSS_SUPERVISOR_STATE: 500,
  PITBOSS_SUPERVISOR_STOPPED: 503,
  PITBOSS_CHILD_START_FAILED: 500,
  PITBOSS_INTENSITY_EXCEEDED: 500,
  PITBOSS_UNKNOWN_QUEUE: 400,
  PITBOSS_INVALID_JOB: 400,
  PITBOSS_STORE_UNAVAILABLE: 503,
  PITBOSS_STORE_CLOSED: 503,
  PITBOSS_STORE_QUERY_FAILED: 500,
  PITBOSS_STORE_TIMEOUT: 503,
  PITBOSS_STORE_WRITE_FAILED: 503,
  PITBOSS_STORE_IN_USE: 503,
  PITBOSS_SUPERVISOR_ID_IN_USE: 503,
  PITBOSS_INVALID_CONTROL: 400,
  PITBOSS_CONTROL_CONFLICT: 409,
  PITBOSS_INVALID_DISPATCH_JOB: 400,
  PITBOSS_DISPATCH_CLOSED: 503,
  PITBOSS_DISPATCH_UNAVAILABLE: 503,
  PITBOSS_DISPATCH_PROCESSOR_FAILED: 500,
};

/** Base class of every error pitboss raises deliberately. */
export class PitbossError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Misuse of the telemetry API: unknown events, duplicate handler ids, bad rules or event specs. */
export class TelemetryError extends PitbossError {}

/** Pool misuse and task failures (saturation, timeouts, crashes, closed or failed pools). */
export class PoolError extends PitbossError {}

/** Supervision failures: bad specs, unknown children, failed starts, restart intensity exceeded. */
export class SupervisorError extends PitbossError {}

/** A child's exit or failed restart, as an intensity failure reports it (`error`: `crash: <message>`, `start failed: <message>`, `normal` or `shutdown`). */
export interface ChildFailure {
  readonly child: string;
  readonly error: string;
}

/**
 * A supervisor gave up: more than maxRestarts restarts within periodMs. Names the child whose exit
 * (or failed restart) went past the limit and the latest failures, newest last; `cause` is the last
 * error. Nested supervisors chain: the cause of a root's failure may be a child supervisor's.
 */
export class IntensityExceededError extends SupervisorError {
  readonly supervisor: string;
  readonly child: string;
  readonly failures: readonly ChildFailure[];

  constructor(supervisor: string, restarts: number, periodMs: number, maxRestarts: number, child: string,
    failures: readonly ChildFailure[], cause: unknown) {
    const latest = failures.map((f) => `${f.child}: ${f.error}`).join('; ');
    super('PITBOSS_INTENSITY_EXCEEDED', `supervisor ${JSON.stringify(supervisor)} exceeded its restart intensity: ${restarts} restarts within `
      + `${periodMs} ms (maxRestarts ${maxRestarts}), the last by child ${JSON.stringify(child)}; latest failures: ${latest}`, { cause });
    this.supervisor = supervisor;
    this.child = child;
    this.failures = failures.map((f) => ({ ...f }));
  }
}

/** Job store failures: malformed jobs, an unreachable or closed store, rejected statements, control conflicts. */
export class JobError extends PitbossError {
  /** The offending field for `PITBOSS_INVALID_JOB` / `PITBOSS_INVALID_CONTROL` (e.g. `jobs[2].data.items[0]`), else null. */
  readonly field: string | null;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; field?: string }) {
    super(code, message, options);
    this.field = options?.field ?? null;
  }
}
