/**
 * Every telemetry event a supervisor emits, in one place, with its shape. Durations are nanoseconds
 * (the catalog's unit); callers measure in `performance.now()` milliseconds. Supervisor events are
 * rare (one per start, stop or restart), so metadata objects are built per event rather than cached.
 */
import type { Telemetry } from '../telemetry/bus.ts';
import type { Strategy } from './types.ts';

/** Why a child went down, as reported by `supervisor.child.terminated`. */
export type TerminationReason = 'normal' | 'shutdown' | 'crash' | 'killed';

/**
 * Why a child came back, as reported by `supervisor.child.restarted`: its own exit (`crash`, or
 * `normal`/`shutdown` for a permanent child), `shutdown` for a child brought back with another
 * child's group by `one_for_all` or `rest_for_one`, `manual` for `restartChild`.
 */
export type RestartReason = 'normal' | 'shutdown' | 'crash' | 'manual';

const ns = (ms: number): number => Math.round(ms * 1e6);

/** The events of one supervisor, with its id and strategy bound. */
export class SupervisorEvents {
  readonly #bus: Telemetry;
  readonly #supervisor: string;
  readonly #strategy: Strategy;

  constructor(bus: Telemetry, supervisor: string, strategy: Strategy) {
    this.#bus = bus;
    this.#supervisor = supervisor;
    this.#strategy = strategy;
  }

  /** `supervisor.child.started` — `duration`: how long `start` took. */
  started(child: string, tookMs: number): void {
    this.#bus.execute('supervisor.child.started', { duration: ns(tookMs) }, { supervisor: this.#supervisor, child, strategy: this.#strategy });
  }

  /** `supervisor.child.terminated` — `duration`: how long the child ran. */
  terminated(child: string, reason: TerminationReason, ranMs: number): void {
    this.#bus.execute(
      'supervisor.child.terminated',
      { duration: ns(ranMs) },
      { supervisor: this.#supervisor, child, reason, strategy: this.#strategy },
    );
  }

  /**
   * `supervisor.child.restarted` — `duration`: from the exit that caused the restart to the new
   * instance running (backoff and failed attempts included); `restarts`: restarts in the current
   * intensity window.
   */
  restarted(child: string, reason: RestartReason, tookMs: number, restarts: number): void {
    this.#bus.execute(
      'supervisor.child.restarted',
      { duration: ns(tookMs), restarts },
      { supervisor: this.#supervisor, child, reason, strategy: this.#strategy },
    );
  }

  /** `supervisor.intensity_exceeded` — `restarts`: restarts in the window, one more than allowed. */
  intensityExceeded(restarts: number, child: string): void {
    this.#bus.execute('supervisor.intensity_exceeded', { restarts }, { supervisor: this.#supervisor, strategy: this.#strategy, child });
  }

  /**
   * `supervisor.shutdown` — `duration`: how long stopping every child took. `reason` is the one given
   * to `stop` (default `shutdown`), `intensity_exceeded`, `start_failed` or `internal_error`.
   */
  shutdown(reason: string, tookMs: number): void {
    this.#bus.execute('supervisor.shutdown', { duration: ns(tookMs) }, { supervisor: this.#supervisor, reason, strategy: this.#strategy });
  }
}
