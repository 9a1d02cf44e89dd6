/**
 * One supervised child: its spec, its current instance (a `ChildRun`), and the two procedures that
 * touch a child from outside — starting it and stopping it. Stopping follows OTP's shutdown
 * protocol: ask (`stop`), wait `shutdownMs`, then force (`kill`); a child without `kill`, or one that
 * ignores it, is abandoned and reported as `killed` so one stuck child cannot hang its supervisor.
 */
import { SupervisorError } from '../errors/classes.ts';
import { TIMED_OUT, within } from './async.ts';
import type { SupervisorEvents, TerminationReason } from './events.ts';
import { BackoffStreak } from './policy.ts';
import type { NormalizedChildSpec } from './spec.ts';
import type { ChildExit, ChildExitKind, ChildHandle, ChildInfo, ChildState, StartContext } from './types.ts';

/**
 * How long to wait for a child to confirm a `kill` before abandoning it. Killing is meant to be
 * immediate (terminating a worker thread takes milliseconds); one that has not died within a second
 * is unlikely to, and the supervisor must move on.
 */
const KILL_WAIT_MS = 1_000;

const STOP_FAILED: unique symbol = Symbol('stop failed');
const exitKinds: readonly ChildExitKind[] = ['normal', 'shutdown', 'crash'];
const noop = (): void => {};

/** What a child needs from its supervisor. */
export interface ChildContext {
  readonly events: SupervisorEvents;
  readonly startContext: StartContext;
  /** Aborted by `Supervisor.kill()`: skip graceful stops and kill at once. */
  readonly force: AbortSignal;
  /** Told (outside the mailbox) when a running instance has ended, for whatever reason. */
  readonly onEnded: (child: ChildRecord, run: ChildRun) => void;
}

/** One running instance of a child. */
export class ChildRun {
  readonly handle: ChildHandle;
  /** `performance.now()` when it was running. */
  readonly startedAt: number;
  /** Epoch milliseconds, for display. */
  readonly startedAtEpoch: number;
  /** Resolves with the (normalized) exit; never rejects. */
  readonly ended: Promise<ChildExit>;
  /** Set as soon as the instance has ended, before the supervisor gets to handle it. */
  exit: ChildExit | null = null;
  endedAt = 0;
  /** Whether `supervisor.child.terminated` was emitted for this instance (exactly once). */
  reported = false;

  constructor(handle: ChildHandle) {
    this.handle = handle;
    this.startedAt = performance.now();
    this.startedAtEpoch = Date.now();
    this.ended = Promise.resolve(handle.exited)
      .then(normalizeExit, (error: unknown): ChildExit => ({ kind: 'crash', error }))
      .then((exit) => {
        this.exit = exit;
        this.endedAt = performance.now();
        return exit;
      });
  }

  /** How long it ran (so far, when still running). */
  ranMs(): number {
    return (this.exit === null ? performance.now() : this.endedAt) - this.startedAt;
  }
}

/** A child of a supervisor, across all its instances. */
export class ChildRecord {
  readonly spec: NormalizedChildSpec;
  /** Position in start order. */
  readonly index: number;
  readonly backoff: BackoffStreak;
  state: ChildState = 'idle';
  run: ChildRun | null = null;
  restarts = 0;
  /** The pending restart that will bring this child back, if any (see restart.ts). */
  episode: object | null = null;
  readonly #context: ChildContext;

  constructor(spec: NormalizedChildSpec, index: number, context: ChildContext) {
    this.spec = spec;
    this.index = index;
    this.backoff = new BackoffStreak(spec.backoff);
    this.#context = context;
  }

  get id(): string {
    return this.spec.id;
  }

  /** Starts a new instance; on failure the state is left as it was and a `PITBOSS_CHILD_START_FAILED` is thrown. */
  async start(): Promise<void> {
    const previous = this.state;
    this.state = 'starting';
    const began = performance.now();
    let handle: unknown;
    try {
      handle = await this.spec.start(this.#context.startContext);
      if (!isChildHandle(handle)) throw new TypeError('start() must return a ChildHandle { stop(), exited }');
    } catch (error) {
      this.state = previous;
      const message = error instanceof Error ? error.message : String(error);
      throw new SupervisorError('PITBOSS_CHILD_START_FAILED', `child ${JSON.stringify(this.id)} failed to start: ${message}`, { cause: error });
    }
    const run = new ChildRun(handle);
    this.run = run;
    this.state = 'running';
    this.#context.events.started(this.id, run.startedAt - began);
    void run.ended.then(() => this.#context.onEnded(this, run));
  }

  /** Stops the running instance, if any, and reports it; leaves the child `terminated`. */
  async stop(): Promise<void> {
    const run = this.run;
    if (run === null) return;
    let reason: TerminationReason;
    if (run.exit !== null) {
      reason = run.exit.kind; // it ended on its own before the supervisor got to it
    } else {
      this.state = 'stopping';
      const outcome = this.#context.force.aborted
        ? TIMED_OUT
        : await within(Promise.race([run.ended, requestStop(run)]), this.spec.shutdownMs, this.#context.force);
      if (outcome === TIMED_OUT || outcome === STOP_FAILED) {
        await kill(run);
        reason = 'killed';
      } else {
        // Asked to stop, it stopped: that is a shutdown, unless it reports having crashed on the way.
        reason = outcome.kind === 'crash' ? 'crash' : 'shutdown';
      }
    }
    this.report(run, reason);
    this.run = null;
    this.state = 'terminated';
  }

  /** Emits `supervisor.child.terminated` for `run`, once. */
  report(run: ChildRun, reason: TerminationReason): void {
    if (run.reported) return;
    run.reported = true;
    this.#context.events.terminated(this.id, reason, run.ranMs());
  }

  info(): ChildInfo {
    return {
      id: this.id,
      state: this.state,
      restarts: this.restarts,
      startedAt: this.run === null ? null : this.run.startedAtEpoch,
      backoffMs: this.backoff.lastDelayMs,
      handle: this.run === null ? null : this.run.handle,
    };
  }
}

/**
 * Calls `stop()`; resolves with the exit once the child has ended, or with STOP_FAILED if `stop()`
 * rejected. A resolved `stop()` is not taken as proof of death: an adapter that only signals (a child
 * process sent SIGTERM) resolves at once, and restarting before `exited` would run two instances.
 */
function requestStop(run: ChildRun): Promise<ChildExit | typeof STOP_FAILED> {
  return Promise.resolve()
    .then(() => run.handle.stop())
    .then(
      () => run.ended,
      () => STOP_FAILED,
    );
}

/** Calls `kill()` if the child has one and waits (bounded) for it to take effect. */
async function kill(run: ChildRun): Promise<void> {
  const killChild = run.handle.kill;
  if (typeof killChild !== 'function') return;
  const killed = Promise.resolve()
    .then(() => killChild.call(run.handle))
    .then(noop, noop);
  await within(Promise.race([run.ended, killed]), KILL_WAIT_MS);
}

function normalizeExit(value: unknown): ChildExit {
  const kind = (value as { kind?: unknown } | null)?.kind;
  if (typeof kind === 'string' && exitKinds.includes(kind as ChildExitKind)) {
    const error = (value as { error?: unknown }).error;
    return error === undefined ? { kind: kind as ChildExitKind } : { kind: kind as ChildExitKind, error };
  }
  return { kind: 'crash', error: new TypeError('exited resolved without a ChildExit { kind }') };
}

function isChildHandle(value: unknown): value is ChildHandle {
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) return false;
  const handle = value as { stop?: unknown; exited?: unknown };
  return typeof handle.stop === 'function' && typeof (handle.exited as { then?: unknown } | null)?.then === 'function';
}
