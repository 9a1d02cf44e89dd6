/**
 * pitboss — an actor-style supervised worker runtime for Node.js.
 *
 * The public API is listed here explicitly; anything not exported from this file (the in-thread
 * runtime, store internals) is private and may change.
 */
/**
 * The process-wide telemetry bus over the built-in catalog. Attach handlers to it; pitboss emits
 * every cataloged event on it. Use `createTelemetry` for an isolated bus (e.g. in tests).
 */
export { telemetry } from './telemetry/default.ts';

/** The telemetry bus class, its factory, the catalog and the helpers around them. */
export {
  /** A telemetry bus over an event table (see `createTelemetry`). */
  Telemetry,
  /** Creates a bus over the built-in catalog, isolated from the shared `telemetry`. */
  createTelemetry,
  /** The built-in event catalog: the one source of truth for every event pitboss emits. */
  catalog,
  /** Captures events from a bus for assertions in tests. */
  captureEvents,
  /** The object `captureEvents` returns. */
  EventCapture,
  /** Validates a control rule, naming the offending key on error. */
  normalizeRule,
  /** True when a rule/attach pattern selects an event name. */
  patternMatches,
  /** Runs a function inside a correlation context (correlation id + W3C traceparent). */
  withCorrelation,
  /** Runs a function with exactly the given correlation (used across thread hops). */
  restoreCorrelation,
  /** The correlation of the current async context, if any. */
  currentCorrelation,
  /** Parses a W3C traceparent header (null when malformed). */
  parseTraceparent,
  /** Formats a W3C traceparent header. */
  formatTraceparent,
  /** A child traceparent (same trace, new span), or a new trace. */
  childTraceparent,
  /** The trace id inside a traceparent. */
  traceIdOf,
  /** A new random W3C trace id. */
  newTraceId,
  /** A new random W3C span id. */
  newSpanId,
  /** A new correlation id. */
  newCorrelationId,
} from './telemetry/index.ts';

export type {
  AttachOptions, EventHandle, Catalog, CatalogEvent, CapturedEvent, ContextMetadata, ControlRule, ControlRuleInput, Correlation, DropReason, EventName,
  EventPattern, EventSpec, EventTable, Handler, HandlerInfo, Matching, Measurements, Metadata, MetadataValue, PrefixesOf,
  RuleSnapshot, SpanPrefix, TelemetryControl, TraceParent,
} from './telemetry/index.ts';

/** OTP-style supervision: supervisors, child specs, restart intensity and backoff. */
export {
  /** An Erlang/OTP-style supervisor; it is itself a ChildHandle, so supervisors nest via `Supervisor.childSpec`. */
  Supervisor,
} from './supervision/index.ts';
export type {
  BackoffOptions, ChildExit, ChildExitKind, ChildHandle, ChildInfo, ChildSpec, ChildState, Intensity, RestartReason,
  RestartType, StartContext, Strategy, SupervisorChildOptions, SupervisorOptions, SupervisorState, TerminationReason,
} from './supervision/index.ts';

/** Worker-thread pools on piscina, and the API worker modules are written against. */
export {
  /** A pool of worker threads with its own queue, stable worker slots, recycling and restart intensity. */
  Pool,
  /** A pool as a supervisor child: the stable reference across the fresh pools each restart builds. */
  SupervisedPool,
  /** Declares a worker module: `export default defineWorker(async (input, ctx) => result)`. */
  defineWorker,
  /** `pool.run` rejected: the queue is full. */
  PoolSaturatedError,
  /** `pool.run` rejected: the task waited longer than `queueTimeoutMs`. */
  QueueTimeoutError,
  /** `pool.run` rejected: the task ran past `taskTimeoutMs` and its thread was replaced. */
  TaskTimeoutError,
  /** `pool.run` rejected: worker code threw (the original error is in `remote`). */
  TaskFailedError,
  /** `pool.run` rejected: the thread died while running the task. */
  WorkerCrashedError,
  /** `pool.run` rejected: the pool stopped the thread running the task (a close past its timeout); not the task's failure. */
  TaskInterruptedError,
  /** `pool.run` rejected: the pool is closing or closed. */
  PoolClosedError,
  /** The pool exceeded its restart intensity. */
  PoolFailedError,
} from './pool/index.ts';
export type {
  PoolChildOptions, PoolOptions, PoolState, PoolThreadInfo, RecycleOptions, RunOptions, WorkerContext, WorkerDefinition, WorkerLogger,
} from './pool/index.ts';

/** Jobs: the Postgres record, dispatch (BullMQ or in-process), and the job system that runs them. */
export {
  /** The Postgres (or embedded PGlite) record of every job. */
  JobStore,
  /** Opens a SQL client (pg or PGlite) as the store uses it. */
  createSqlClient,
  /** Applies the store's migrations under an advisory lock. */
  migrate,
} from './jobs/store/index.ts';
export {
  /** Dispatch on Redis through BullMQ (a fleet of supervisors). */
  BullmqDispatcher,
  /** In-process dispatch (the embedded default). */
  LocalDispatcher,
} from './jobs/dispatch/index.ts';
export {
  /** Enqueue, consumers per queue, reconciler, cancel and drain of one supervisor. */
  JobSystem,
} from './jobs/system.ts';
export type { JobSystemOptions } from './jobs/system.ts';
/** A queue's row in `JobSystem.queues()` and `GET /queues`: counts, `paused`, and the rate limit it is consumed under. */
export type { QueueRow } from './jobs/system.ts';
export type { JobPool } from './jobs/consumer.ts';
/** Queues a JobSystem takes jobs for without consuming them (`acceptQueues`): names, or `'*'` for any. */
export type { AcceptQueues } from './jobs/accepted-queues.ts';
export type { RetentionOptions } from './jobs/pruner.ts';
/** Cron schedules (`jobs.schedules`): list, set and remove them; every supervisor fires their ticks, each once across the fleet. */
export type { Schedules } from './jobs/schedules/schedules.ts';
/** A schedule's definition, its missed-tick policy, where it came from, and the row `jobs.schedules.list()` returns. */
export type { MissedTicks, ScheduleInput, ScheduleRecord, ScheduleSource } from './jobs/schedules/spec.ts';
/** The scheduler's timing (`JobSystemOptions.scheduler`): how often it polls, and when a due tick counts as missed. */
export type { SchedulerOptions } from './jobs/schedules/scheduler.ts';
export type {
  BackoffPolicy, ClaimedJob, DispatchJob, Dispatcher, EnqueueInput, EnqueuedJob, FinishInput, JobDetails, JobRecord, JobStatus, PruneCounts, QueueStats,
  RetentionPolicy, SupervisorBeat, SupervisorHolder, SupervisorRecord,
} from './jobs/types.ts';
/** A per-queue rate limit: at most `max` job starts per `perMs` (`JobSystemOptions.queues`, deployment `queues`). */
export type { RateLimit } from './jobs/types.ts';
export type { SupervisorIdNotice } from './jobs/supervisor-life.ts';
export type { JobStoreOptions } from './jobs/store/index.ts';
/** The SQL client `createSqlClient` opens (and `migrate` runs on), its options, and what a `migrate` call applied. */
export type { MigrationReport, SqlClient, SqlClientOptions } from './jobs/store/index.ts';
/** The facets of a JobStore, one per table group: `store.jobs`, `.fleet`, `.settings`, `.queues`, `.overview`, `.retention`, `.schedules`. */
export type { FleetFacet, JobsFacet, OverviewFacet, QueuesFacet, RetentionFacet, SchedulesFacet, SettingsFacet } from './jobs/store/index.ts';
/** The operator's job surface (`store.search`, `jobs.list`, `jobs.retry`, `jobs.retryWhere`): a listing page, its rows and query, a bulk retry's filter, one retry's outcome. */
export type { JobListQuery, JobPage, JobSummary, RetryFilter, RetryOutcome, SearchFacet } from './jobs/store/index.ts';
/** The persisted telemetry settings (`store.settings`): sampling/filter rules and log levels at one version. */
export type { TelemetrySettings, TelemetrySettingsInput } from './jobs/store/index.ts';
export type { BullmqDispatcherOptions, LocalDispatcherOptions } from './jobs/dispatch/index.ts';

/** Metrics: declarative definitions over catalog events, folded and exported through OpenTelemetry. */
export {
  /** Starts folding a bus's events into metrics; serves Prometheus text and pushes OTLP. */
  createMetrics,
  /** The metrics facade `createMetrics` returns. */
  Metrics,
  /** A counter of events. */
  counter,
  /** A sum of a measurement. */
  sum,
  /** The last value of a measurement (a gauge). */
  lastValue,
  /** Count, sum, min and max of a measurement. */
  summary,
  /** A histogram of a measurement. */
  distribution,
  /** Metric constructors typed for a host-extended event table. */
  definitionsFor,
  /** The default inventory (docs/metrics.md lists it). */
  defaultMetrics,
} from './metrics/index.ts';
export type { MetricConstructors, MetricDefinition, MetricKind, MetricsOptions, OtlpOptions, PrometheusScrape } from './metrics/index.ts';

/** Running a deployment, and the default one's building blocks. */
export {
  /** Declares a deployment: pools and the queues that feed them. */
  defineDeployment,
  /** Resolves a worker module next to a deployment file (.ts from source, .js from dist). */
  workerModule,
} from './deploy/define.ts';
export {
  /** Runs a deployment with a configuration (what `pitboss start` does). */
  startDeployment,
} from './deploy/run.ts';
export type { Deployment, DeploymentPool, DeploymentSpec } from './deploy/define.ts';
export type { DeploymentExit, RunningDeployment } from './deploy/run.ts';
export {
  /** Reads and validates the environment configuration. */
  loadConfig,
} from './config.ts';
export type { PitbossConfig } from './config.ts';

/**
 * Structured logs for library users (what `startDeployment` wires): a pino logger by category with
 * runtime levels, catalog events as named lines, and worker code's `ctx.log` through a pool's `logger`.
 * `const logger = new PitbossLogger({ levels: new LogLevels('info') }); const detach = attachEventLogs(telemetry, logger);
 * new Pool({ …, logger })`, then `logger.levels.set({ categories: { job: 'debug' }, workers: { 'cpu/0': 'debug' } })` at runtime.
 */
export {
  /** pino JSON logs by category (`pool`, `worker`, `job`, …), levels from its `LogLevels`, secrets redacted. */
  PitbossLogger,
} from './log/logger.ts';
export type { PitbossLoggerOptions } from './log/logger.ts';
export {
  /** Runtime log levels: a default, one per category, one per worker (`<pool>/<worker_id>`); `set()` applies a change everywhere, threads included. */
  LogLevels,
} from './log/levels.ts';
export type { LogCategory, LogLevel, LogLevelsChange, LogLevelsSnapshot } from './log/levels.ts';
export {
  /** Writes catalog events as log lines with stable names (`job_completed`, `worker_crashed`, …) at the logger's current levels; returns a detach. */
  attachEventLogs,
} from './log/event-logs.ts';

/**
 * Typed errors with stable codes, and the one table of codes (HTTP status, raising classes, meaning;
 * docs/errors.md is generated from it). The pool's task failures are exported with the pool above.
 */
export {
  /** Base class of every deliberate pitboss error; switch on `code` (an `ErrorCode`), not on the message. */
  PitbossError,
  /** Misuse of the telemetry API: unknown events, duplicate handler ids, bad rules, event specs or traceparents. */
  TelemetryError,
  /** Supervisor misuse, failed child starts, a stopped or wrongly-stated supervisor. */
  SupervisorError,
  /** A supervisor gave up (PITBOSS_INTENSITY_EXCEEDED): which child went past the limit, and the latest failures. */
  IntensityExceededError,
  /** Pool misconfiguration; the base class of the pool's task failures. */
  PoolError,
  /** Job store failures: malformed jobs, an unreachable, full, closed or busy store, rejected statements, control conflicts; `field` names the offending field. */
  JobError,
  /** Dispatch misuse (bad jobs, bad options, use after close) and an unreachable dispatch backend (Redis). */
  DispatchError,
  /** A bad metric definition or option; the message names the metric and the key. */
  MetricsError,
} from './errors/classes.ts';
/** One of the latest failures an `IntensityExceededError` reports. */
export type { ChildFailure } from './errors/classes.ts';
export {
  /** Every stable error code: `{ status, classes, meaning }` (the HTTP status the API answers with, the classes that raise it, its meaning). */
  errorCodes,
} from './errors/table.ts';
/** A stable error code, an HTTP status of the table, and one row of it. */
export type { ErrorCode, ErrorEntry, ErrorStatus } from './errors/table.ts';
export {
  /** `error_type` (class name) and `error` (message) of any thrown value, as exception events and logs carry them. */
  describeError,
} from './errors/describe.ts';
