/**
 * The public shapes of supervision: what a child is (`ChildSpec` → `ChildHandle` → `ChildExit`) and
 * how a supervisor is configured. Anything that can be started, asked to stop and observed ending
 * can be supervised — a piscina pool, a BullMQ worker, an HTTP server, another supervisor.
 */
import type { Telemetry } from '../telemetry/bus.ts';

/** How a child ended: on its own (`normal`), after being asked to stop (`shutdown`), or by failing (`crash`). */
export type ChildExitKind = 'normal' | 'shutdown' | 'crash';

/** What a child's `exited` promise resolves with. */
export interface ChildExit {
  readonly kind: ChildExitKind;
  /** Why it crashed, when `kind` is `crash`. */
  readonly error?: unknown;
}

/**
 * A running child. `exited` must resolve (never reject) once the child has ended, whether it ended
 * on its own or because `stop`/`kill` was called: the supervisor treats that resolution as the
 * child's death. A pool implements it as `stop` = close gracefully, `kill` = terminate threads, and
 * resolves `exited` with `{ kind: 'crash', error }` when the pool gives up on its own restarts.
 */
export interface ChildHandle {
  /**
   * Asks the child to stop gracefully. The supervisor waits for `exited` (up to `shutdownMs`), so
   * this may resolve as soon as the request is made; a rejection means it cannot stop: it is killed.
   */
  stop(): Promise<void>;
  /** Forces the child down; called when `stop` did not finish within the spec's `shutdownMs`. */
  kill?(): void | Promise<void>;
  /** Resolves when the child has ended, for whatever reason. */
  readonly exited: Promise<ChildExit>;
}

/** What a child's `start` receives from its supervisor. */
export interface StartContext {
  /** Aborted when the supervisor stops or fails while the start is in flight: give up early. */
  readonly signal: AbortSignal;
  /** The supervisor's telemetry bus, so a child (a nested supervisor, a pool) can default to it. */
  readonly telemetry: Telemetry;
}

/**
 * When a child is restarted after it ends on its own: `permanent` always, `transient` only after a
 * crash, `temporary` never (as in OTP).
 */
export type RestartType = 'permanent' | 'transient' | 'temporary';

/**
 * What else restarts when a child is restarted: `one_for_one` only that child; `one_for_all` every
 * child; `rest_for_one` that child and every child started after it.
 */
export type Strategy = 'one_for_one' | 'one_for_all' | 'rest_for_one';

/**
 * Exponential delay before restarting a child (pm2's `exp_backoff_restart_delay`): the first restart
 * after a crash waits `initialMs`, each consecutive failure multiplies the wait by `factor` up to
 * `maxMs`, and the sequence starts over once the child has run for `resetAfterMs` before crashing.
 */
export interface BackoffOptions {
  readonly initialMs: number;
  readonly maxMs: number;
  /** Growth per consecutive failure; defaults to 1.5, like pm2. */
  readonly factor?: number;
  readonly resetAfterMs: number;
}

/** How to start and supervise one child. */
export interface ChildSpec {
  /** Unique among the supervisor's children; used in events and `whichChildren`. */
  readonly id: string;
  /** Starts the child. A throw or rejection is a failed start. */
  readonly start: (context: StartContext) => Promise<ChildHandle> | ChildHandle;
  readonly restart: RestartType;
  /** How long `stop` may take before the child is killed (or abandoned); `Infinity` waits for ever. */
  readonly shutdownMs: number;
  /** Delay restarts of this child; without it restarts are immediate, as in OTP. */
  readonly backoff?: BackoffOptions;
}

/** Restart intensity: more than `maxRestarts` restarts within `periodMs` and the supervisor gives up. */
export interface Intensity {
  readonly maxRestarts: number;
  readonly periodMs: number;
}

/** Options of `new Supervisor(...)`. */
export interface SupervisorOptions {
  /** Names the supervisor in events and errors. */
  readonly id: string;
  readonly strategy: Strategy;
  readonly intensity: Intensity;
  /** Started in this order, stopped in reverse. */
  readonly children: readonly ChildSpec[];
  /** Where events go; defaults to the shared `telemetry` bus. */
  readonly telemetry?: Telemetry;
}

/** Options of `Supervisor.childSpec`: a supervisor's options plus how its parent treats it. */
export interface SupervisorChildOptions extends Omit<SupervisorOptions, 'telemetry'> {
  /** Defaults to the parent's bus. */
  readonly telemetry?: Telemetry;
  /** Defaults to `permanent`. */
  readonly restart?: RestartType;
  /** Defaults to `Infinity`: a supervisor needs the time its own children's `shutdownMs` add up to. */
  readonly shutdownMs?: number;
  readonly backoff?: BackoffOptions;
}

/** Lifecycle of a supervisor: it starts once and ends `stopped` (asked to) or `failed` (gave up). */
export type SupervisorState = 'idle' | 'starting' | 'running' | 'stopping' | 'stopped' | 'failed';

/**
 * Lifecycle of one child: `idle` before the supervisor starts it, `restarting` while it waits for
 * (or retries) a restart, `terminated` when it is down and not waiting to restart (ended and not
 * restarted, or `terminateChild`; a non-temporary one still comes back with a restart of its group).
 */
export type ChildState = 'idle' | 'starting' | 'running' | 'stopping' | 'restarting' | 'terminated';

/** One row of `whichChildren()`. */
export interface ChildInfo {
  readonly id: string;
  readonly state: ChildState;
  /** Completed restarts of this child (by policy or by `restartChild`) since the supervisor started. */
  readonly restarts: number;
  /** Epoch milliseconds when the current instance started; null when none is running. */
  readonly startedAt: number | null;
  /** The backoff delay chosen for this child's latest restart attempt (0 without backoff). */
  readonly backoffMs: number;
  /** The running instance (e.g. the pool), null when none is running. */
  readonly handle: ChildHandle | null;
}
