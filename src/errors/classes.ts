/**
 * Every pitboss error class but the pool's task failures (pool.ts, next to this): the base class, one
 * family class a capability, and the supervisor's intensity failure. Each carries a stable `code`
 * from the table in table.ts; the HTTP status and meaning of a code live there, not here.
 */
import type { ErrorCode } from './table.ts';

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

/** Dispatch misuse (bad jobs, bad options, use after close) and backend unavailability. */
export class DispatchError extends PitbossError {}

/** A metric definition is malformed or does not fit the event table; the message names the metric and the key. */
export class MetricsError extends PitbossError {}
