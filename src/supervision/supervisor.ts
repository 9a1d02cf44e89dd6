/**
 * The public supervisor: checks arguments and delegates to the private engine (core.ts). A
 * supervisor is itself a `ChildHandle` (`stop`, `kill`, `exited`), which is all it takes to nest one
 * under another: `Supervisor.childSpec(...)` gives the parent a spec that builds a fresh supervisor on
 * every (re)start, and a supervisor that gives up resolves `exited` with a crash, which its parent
 * handles like any other crash — restart, and escalate in turn if that keeps happening.
 */
import { SupervisorError } from '../errors/classes.ts';
import { SupervisorCore } from './core.ts';
import { normalizeOptions } from './spec.ts';
import type {
  ChildExit, ChildHandle, ChildInfo, ChildSpec, StartContext, SupervisorChildOptions, SupervisorOptions, SupervisorState,
} from './types.ts';

/**
 * An Erlang/OTP-style supervisor: starts children in order, restarts them by their restart type and
 * the strategy, stops them in reverse order, and fails (escalating to its parent) when restarts
 * exceed the intensity.
 *
 * ```ts
 * const supervisor = new Supervisor({
 *   id: 'app', strategy: 'one_for_one', intensity: { maxRestarts: 3, periodMs: 5_000 },
 *   children: [{ id: 'pool', start: () => startPool(), restart: 'permanent', shutdownMs: 10_000 }],
 * });
 * await supervisor.start();
 * supervisor.exited.then((exit) => { if (exit.kind === 'crash') process.exitCode = 1; });
 * ```
 */
export class Supervisor implements ChildHandle {
  readonly #core: SupervisorCore;
  /**
   * Resolves once the supervisor is down: `{ kind: 'shutdown' }` after `stop`, `{ kind: 'crash',
   * error }` when it failed — restart intensity exceeded (`PITBOSS_INTENSITY_EXCEEDED`) or a child
   * failed to start (`PITBOSS_CHILD_START_FAILED`). Never rejects.
   */
  readonly exited: Promise<ChildExit>;

  /** Validates the options; throws `PITBOSS_INVALID_SUPERVISOR_SPEC` naming the offending key. */
  constructor(options: SupervisorOptions) {
    this.#core = new SupervisorCore(normalizeOptions(options));
    this.exited = this.#core.exited;
  }

  /**
   * A child spec that runs a new supervisor with these options under a parent. Each (re)start builds
   * a fresh instance; it reports on the parent's bus unless `telemetry` is given. Defaults:
   * `restart: 'permanent'`, `shutdownMs: Infinity` (as OTP does for supervisor children).
   */
  static childSpec(options: SupervisorChildOptions): ChildSpec {
    normalizeOptions(options); // fail at definition time, not at the first start
    const { restart = 'permanent', shutdownMs = Infinity, backoff, telemetry, ...supervisorOptions } = options;
    return {
      id: options.id,
      restart,
      shutdownMs,
      ...(backoff === undefined ? {} : { backoff }),
      start: async (context: StartContext): Promise<Supervisor> => {
        const supervisor = new Supervisor({ ...supervisorOptions, telemetry: telemetry ?? context.telemetry });
        try {
          await supervisor.start({ signal: context.signal });
        } catch (error) {
          // Hand the failure back only once whatever it had started is down again.
          await supervisor.stop();
          throw error;
        }
        return supervisor;
      },
    };
  }

  /** The id given in the options. */
  get id(): string {
    return this.#core.id;
  }

  /** `idle` → `starting` → `running` → `stopping` → `stopped` | `failed`. */
  get state(): SupervisorState {
    return this.#core.state;
  }

  /**
   * Starts the children in order. Rejects with `PITBOSS_CHILD_START_FAILED` (after stopping the
   * children already started, in reverse) when one fails, `PITBOSS_SUPERVISOR_STOPPED` when stopped
   * (or `signal` aborted) meanwhile, `PITBOSS_SUPERVISOR_STATE` when called twice.
   */
  async start(options: { signal?: AbortSignal } = {}): Promise<void> {
    const signal = options?.signal;
    if (signal !== undefined && !(signal instanceof AbortSignal)) {
      throw new SupervisorError('PITBOSS_INVALID_SUPERVISOR_SPEC', 'start({ signal }) expects an AbortSignal');
    }
    await this.#core.start(signal);
  }

  /**
   * Stops every child in reverse start order, each within its `shutdownMs` before it is killed,
   * cancelling pending restarts. Idempotent; also resolves when the supervisor has failed.
   * `reason` labels the `supervisor.shutdown` event.
   */
  async stop(reason: string = 'shutdown'): Promise<void> {
    await this.#core.stop(String(reason));
  }

  /** Stops every child without waiting for graceful stops: each is killed at once (or abandoned). */
  async kill(): Promise<void> {
    await this.#core.kill();
  }

  /** One row per child, in start order: id, state, restarts, start time, backoff, running handle. */
  whichChildren(): ChildInfo[] {
    return this.#core.whichChildren();
  }

  /**
   * Stops the child if it runs and starts it again (only that child, whatever the strategy). Does
   * not count against the intensity. Rejects with `PITBOSS_UNKNOWN_CHILD`, `PITBOSS_SUPERVISOR_STATE`
   * when not running, or `PITBOSS_CHILD_START_FAILED` (the child then stays terminated).
   */
  async restartChild(id: string): Promise<void> {
    await this.#core.restartChild(id);
  }

  /**
   * Stops the child and keeps it down until `restartChild` — or, as in OTP (its spec stays), until a
   * `one_for_all`/`rest_for_one` restart of a group it belongs to. Cancels a pending restart of it.
   */
  async terminateChild(id: string): Promise<void> {
    await this.#core.terminateChild(id);
  }
}
