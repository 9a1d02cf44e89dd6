/**
 * The API worker modules are written against. A worker module default-exports
 * `defineWorker(async (input, ctx) => …)`; the pool's thread runtime loads it by path and calls it
 * once per task with a fresh `ctx`.
 */
import type { Catalog } from '../telemetry/catalog.ts';
import type { EventName, Measurements, Metadata, SpanPrefix } from '../telemetry/types.ts';

/** Structured logging from worker code; lines reach the supervisor's logger with pool and worker_id. */
export interface WorkerLogger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** What worker code receives with each task. */
export interface WorkerContext {
  /** The pool this thread belongs to. */
  readonly pool: string;
  /** Stable slot of this thread in its pool (survives restarts). */
  readonly workerId: number;
  /** Node's thread id of this thread (changes when the thread is replaced). */
  readonly threadId: number;
  /** Task name given to `pool.run` (default `'default'`). */
  readonly task: string;
  /** Aborted at the task's soft deadline (the run's `timeoutMs`, else the pool's `taskTimeoutMs`); stop work when it fires. */
  readonly signal: AbortSignal;
  /** Correlation id of the code that called `pool.run`, if it ran inside `withCorrelation`. */
  readonly correlationId: string | null;
  /** W3C traceparent of the calling context, if any. */
  readonly traceparent: string | null;
  /** W3C tracestate that came with that traceparent (e.g. a job's `POST /jobs` caller's), unchanged; null when none. */
  readonly tracestate: string | null;
  /**
   * Emits a cataloged event. It is sampled by the pool's current rules, batched, and re-executed on
   * the supervisor's bus with `pool` and `worker_id`. Malformed events are dropped and counted.
   */
  emit<E extends EventName<Catalog>>(event: E, measurements: Measurements<Catalog, E>, metadata?: Metadata<Catalog, E>): void;
  /** Runs `fn` as a span (`<prefix>.start`/`.stop`/`.exception`), e.g. `ctx.span('action', { action: 'resize' }, fn)`. */
  span<P extends SpanPrefix<Catalog>, T>(prefix: P, metadata: Metadata<Catalog, `${P}.stop` & EventName<Catalog>>, fn: () => T): T;
  readonly log: WorkerLogger;
  /**
   * Reports the progress of the job this task runs: a fraction in 0..1 or a small JSON value (at
   * most 1 KiB as JSON). It is stored on the job row (`GET /jobs/:id` shows it as `progress`) and
   * emitted as `job.progress`; reports leave the thread at most four times a second (the first
   * 250 ms into the task), the newest winning, and the last one always lands, with the task's answer
   * at the latest. A bad value throws a RangeError or TypeError here.
   * Outside a job (a plain `pool.run`) a valid value is ignored.
   */
  progress(value: unknown): void;
}

/** A worker module's default export. */
export interface WorkerDefinition<Input = unknown, Output = unknown> {
  readonly kind: 'pitboss.worker';
  readonly handler: (input: Input, ctx: WorkerContext) => Output | Promise<Output>;
}

/** Declares a worker module: `export default defineWorker(async (input: In, ctx) => out)`. */
export function defineWorker<Input, Output>(handler: (input: Input, ctx: WorkerContext) => Output | Promise<Output>): WorkerDefinition<Input, Output> {
  if (typeof handler !== 'function') throw new TypeError('defineWorker needs a function (input, ctx) => result');
  return { kind: 'pitboss.worker', handler };
}

/** True for a value made by `defineWorker` (checked structurally: the module may load another copy of pitboss). */
export function isWorkerDefinition(value: unknown): value is WorkerDefinition {
  return typeof value === 'object' && value !== null && (value as WorkerDefinition).kind === 'pitboss.worker'
    && typeof (value as WorkerDefinition).handler === 'function';
}
