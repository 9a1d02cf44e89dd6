/**
 * The supervisor engine behind the `Supervisor` facade: lifecycle (start once, stop once, fail
 * once), exit handling and the manual operations. Every state change runs in one mailbox, so an exit,
 * a `restartChild` and a `stop` never interleave halfway; only waits (backoff, see restart.ts) happen
 * outside it.
 */
import { IntensityExceededError, SupervisorError, type ChildFailure } from '../errors/classes.ts';
import { Mailbox } from './async.ts';
import { ChildRecord, type ChildContext, type ChildRun } from './child.ts';
import { SupervisorEvents } from './events.ts';
import { shouldRestart } from './policy.ts';
import { Restarter } from './restart.ts';
import type { NormalizedOptions } from './spec.ts';
import type { ChildExit, ChildInfo, Strategy, SupervisorState } from './types.ts';

const noop = (): void => {};

/** The private engine of one `Supervisor`; the facade validates input and delegates here. */
export class SupervisorCore {
  readonly id: string;
  readonly strategy: Strategy;
  /** Resolves once: `shutdown` after a stop, `crash` (with a SupervisorError) after a failure. */
  readonly exited: Promise<ChildExit>;
  #state: SupervisorState = 'idle';
  #terminating = false;
  readonly #periodMs: number;
  readonly #maxRestarts: number;
  readonly #children: readonly ChildRecord[];
  readonly #byId: ReadonlyMap<string, ChildRecord>;
  readonly #mailbox = new Mailbox();
  /** Aborted when the supervisor starts stopping or failing: cancels backoff waits and in-flight starts. */
  readonly #lifetime = new AbortController();
  /** Aborted by `kill()`: graceful stops are skipped. */
  readonly #force = new AbortController();
  readonly #events: SupervisorEvents;
  readonly #restarter: Restarter;
  readonly #resolveExited: (exit: ChildExit) => void;

  constructor(options: NormalizedOptions) {
    this.id = options.id;
    this.strategy = options.strategy;
    this.#periodMs = options.periodMs;
    this.#maxRestarts = options.maxRestarts;
    let resolveExited: (exit: ChildExit) => void = noop;
    this.exited = new Promise((resolve) => (resolveExited = resolve));
    this.#resolveExited = resolveExited;
    this.#events = new SupervisorEvents(options.telemetry, options.id, options.strategy);
    const context: ChildContext = {
      events: this.#events,
      startContext: Object.freeze({ signal: this.#lifetime.signal, telemetry: options.telemetry }),
      force: this.#force.signal,
      onEnded: (child, run) => this.#post(() => this.#handleExit(child, run)),
    };
    this.#children = options.children.map((spec, index) => new ChildRecord(spec, index, context));
    this.#byId = new Map(this.#children.map((child) => [child.id, child]));
    this.#restarter = new Restarter(
      {
        strategy: options.strategy,
        children: this.#children,
        mailbox: this.#mailbox,
        events: this.#events,
        signal: this.#lifetime.signal,
        terminating: () => this.#terminating,
        giveUp: (restarts, cause, child, failures) => this.#giveUp(restarts, cause, child, failures),
        crashed: (error) => this.#crashed(error),
      },
      options.maxRestarts,
      options.periodMs,
    );
  }

  get state(): SupervisorState {
    return this.#state;
  }

  /** Starts the children in order; a child that fails to start fails the supervisor. */
  async start(signal?: AbortSignal): Promise<void> {
    if (this.#state !== 'idle') {
      throw new SupervisorError('PITBOSS_SUPERVISOR_STATE', `supervisor ${JSON.stringify(this.id)} is ${this.#state}; a supervisor starts once`);
    }
    this.#state = 'starting';
    const abort = (): void => void this.stop();
    signal?.addEventListener('abort', abort, { once: true });
    if (signal?.aborted === true) abort();
    try {
      await this.#mailbox.run(() => this.#startChildren());
    } finally {
      signal?.removeEventListener('abort', abort);
    }
  }

  /** Stops every child, last started first; resolves once all are down (repeat calls share the outcome). */
  async stop(reason = 'shutdown'): Promise<void> {
    if (this.#state === 'idle') {
      this.#beginTermination();
      this.#finish(null);
    } else if (this.#beginTermination()) {
      this.#post(() => this.#shutdown(reason, null));
    }
    await this.exited;
    await this.#restarter.settled();
  }

  /** Like `stop`, but every child is killed at once instead of being asked to stop. */
  kill(): Promise<void> {
    this.#force.abort();
    return this.stop('killed');
  }

  whichChildren(): ChildInfo[] {
    return this.#children.map((child) => child.info());
  }

  /** Stops the child if it runs and starts it again, whatever the strategy; does not count against the intensity. */
  async restartChild(id: string): Promise<void> {
    const child = this.#child(id);
    await this.#mailbox.run(async () => {
      this.#assertRunning(`restartChild(${JSON.stringify(id)})`);
      const began = performance.now();
      await child.stop();
      child.episode = null; // a pending automatic restart no longer owns it
      child.state = 'terminated';
      await child.start();
      child.restarts++;
      this.#events.restarted(id, 'manual', performance.now() - began, this.#restarter.restartsInWindow());
    });
  }

  /** Stops the child and keeps it down (its spec stays: `restartChild` or a restart of its group brings it back). */
  async terminateChild(id: string): Promise<void> {
    const child = this.#child(id);
    await this.#mailbox.run(async () => {
      this.#assertRunning(`terminateChild(${JSON.stringify(id)})`);
      await child.stop();
      child.episode = null;
      child.state = 'terminated';
    });
  }

  async #startChildren(): Promise<void> {
    for (const child of this.#children) {
      if (this.#terminating) break;
      try {
        await child.start();
      } catch (error) {
        if (this.#terminating) break;
        // As in OTP, a child that cannot start fails the whole start; those already up are stopped.
        if (this.#beginTermination()) await this.#shutdown('start_failed', error as Error);
        throw error;
      }
    }
    if (this.#terminating) {
      throw new SupervisorError('PITBOSS_SUPERVISOR_STOPPED', `supervisor ${JSON.stringify(this.id)} was stopped while starting`);
    }
    this.#state = 'running';
  }

  /** In the mailbox: a running child ended (on its own, or the exit of an instance already dealt with). */
  async #handleExit(child: ChildRecord, run: ChildRun): Promise<void> {
    const exit = run.exit;
    // Not the current instance, or already reported: a stop or a group restart took care of it.
    if (child.run !== run || run.reported || exit === null) return;
    child.report(run, exit.kind);
    child.run = null;
    child.state = 'terminated';
    // Once stopping, nothing restarts: a crash during shutdown is only reported.
    if (this.#terminating || !shouldRestart(child.spec.restart, exit.kind)) return;
    await this.#restarter.restart(child, run);
  }

  /** In the mailbox: too many restarts. Stop everything and fail, which the parent sees as a crash. */
  async #giveUp(restarts: number, cause: unknown, child: string, failures: readonly ChildFailure[]): Promise<void> {
    if (!this.#beginTermination()) return;
    this.#events.intensityExceeded(restarts, child);
    await this.#shutdown('intensity_exceeded', new IntensityExceededError(this.id, restarts, this.#periodMs, this.#maxRestarts, child, failures, cause));
  }

  /** In the mailbox: stops every child in reverse start order, then settles `exited`. */
  async #shutdown(reason: string, failure: Error | null): Promise<void> {
    const began = performance.now();
    for (let i = this.#children.length - 1; i >= 0; i--) {
      const child = this.#children[i]!;
      await child.stop();
      child.episode = null;
      if (child.state !== 'idle') child.state = 'terminated';
    }
    this.#events.shutdown(reason, performance.now() - began);
    this.#finish(failure);
  }

  /** Marks the supervisor as stopping; false when it already was. */
  #beginTermination(): boolean {
    if (this.#terminating) return false;
    this.#terminating = true;
    this.#state = 'stopping';
    this.#lifetime.abort(new SupervisorError('PITBOSS_SUPERVISOR_STOPPED', `supervisor ${JSON.stringify(this.id)} is stopping`));
    return true;
  }

  #finish(failure: Error | null): void {
    this.#state = failure === null ? 'stopped' : 'failed';
    this.#resolveExited(failure === null ? { kind: 'shutdown' } : { kind: 'crash', error: failure });
  }

  #assertRunning(operation: string): void {
    if (this.#terminating) {
      throw new SupervisorError('PITBOSS_SUPERVISOR_STOPPED', `${operation}: supervisor ${JSON.stringify(this.id)} is ${this.#state}`);
    }
    if (this.#state !== 'running') {
      throw new SupervisorError('PITBOSS_SUPERVISOR_STATE', `${operation}: supervisor ${JSON.stringify(this.id)} is ${this.#state}, not running`);
    }
  }

  #child(id: string): ChildRecord {
    const child = this.#byId.get(id);
    if (child === undefined) {
      throw new SupervisorError('PITBOSS_UNKNOWN_CHILD', `supervisor ${JSON.stringify(this.id)} has no child ${JSON.stringify(id)}`);
    }
    return child;
  }

  /** Posts an operation nobody awaits; a failure in it is a bug in supervision and fails the supervisor. */
  #post(op: () => Promise<void>): void {
    this.#mailbox.run(op).catch((error: unknown) => this.#crashed(error));
  }

  #crashed(error: unknown): void {
    const failure = error instanceof Error ? error : new Error(String(error));
    this.#mailbox
      .run(async () => {
        if (this.#beginTermination()) await this.#shutdown('internal_error', failure);
      })
      .catch(noop);
  }
}
