/**
 * A pool as a supervised child. A failed `Pool` cannot be started again (its threads, queue and
 * counters belong to the failed run), so the supervisor's restart builds a fresh one; this facade
 * is the stable reference host code keeps across those restarts. While the supervisor is bringing
 * a replacement up, `run()` waits for it (see ReplacementWait) rather than failing the task.
 */
import type { BackoffOptions, ChildHandle, ChildSpec, RestartType } from '../supervision/types.ts';
import { PoolClosedError } from '../errors/pool.ts';
import type { PoolOptions } from './options.ts';
import { Pool, validatePoolOptions, type PoolThreadInfo, type RunOptions } from './pool.ts';
import { ReplacementWait } from './replacement-wait.ts';

/** How the supervisor treats the pool (defaults: permanent, 10 s to drain). */
export interface PoolChildOptions {
  restart?: RestartType;
  shutdownMs?: number;
  backoff?: BackoffOptions;
}

/**
 * Where the supervised pool is: never started, (re)starting an instance, running one, or stopped
 * for good (the supervisor stopped it, or it crashed with no restart to come).
 */
type Phase = 'idle' | 'starting' | 'running' | 'stopped';

/** How long `run()` waits for a replacement when the pool has no `queueTimeoutMs`. */
const defaultReplacementWaitMs = 30_000;

/** A pool that a `Supervisor` starts, restarts after it fails, and stops. */
export class SupervisedPool {
  readonly #options: PoolOptions;
  readonly #child: Required<Pick<PoolChildOptions, 'restart' | 'shutdownMs'>> & PoolChildOptions;
  readonly #wait: ReplacementWait;
  #current: Pool | null = null;
  #phase: Phase = 'idle';
  /** The supervisor's lifetime signal (from the last start): aborted when it stops or gives up. */
  #supervisorLife: AbortSignal | null = null;
  /** Tasks an instance takes at once (threads + maxQueue); every instance is made from the same options. */
  readonly capacity: number;

  constructor(options: PoolOptions, child: PoolChildOptions = {}) {
    // Validate now, so a bad option fails at startup naming its key rather than at the first start.
    const resolved = validatePoolOptions(options);
    this.capacity = resolved.threads + resolved.maxQueue;
    this.#options = options;
    this.#child = { restart: 'permanent', shutdownMs: 10_000, ...child };
    this.#wait = new ReplacementWait(options.name, resolved.queueTimeoutMs ?? defaultReplacementWaitMs, this.capacity);
  }

  get name(): string {
    return this.#options.name;
  }

  /** The running pool instance (replaced on every restart), or null. */
  get current(): Pool | null {
    return this.#current;
  }

  /**
   * Runs a task on the current instance. While the supervisor is (re)starting the pool the task
   * waits for the new instance, up to the pool's `queueTimeoutMs` (30 s without one), then rejects
   * with `PoolClosedError`; so it does when the pool was never started or is stopped for good.
   */
  run<T = unknown>(input: unknown, options?: RunOptions): Promise<T> {
    const pool = this.#current;
    if (pool !== null && pool.state === 'running') return pool.run<T>(input, options);
    // A failed instance is about to be replaced (its exit reaches #handle a microtask later).
    if (this.#phase === 'starting' || (pool !== null && pool.state === 'failed' && this.#child.restart !== 'temporary')) {
      return this.#wait.enqueue(options?.signal ?? null).then((next) => next.run<T>(input, options));
    }
    return Promise.reject(new PoolClosedError(this.name, this.#phase === 'idle' ? 'is not started (add its childSpec() to a supervisor)' : undefined));
  }

  /**
   * Resolves once an instance is running (at once when one is); rejects with `PoolClosedError`
   * when the pool is stopped for good before that. Does not keep the process alive by itself.
   */
  ready(): Promise<void> {
    if (this.#current?.state === 'running') return Promise.resolve();
    if (this.#phase === 'stopped') return Promise.reject(new PoolClosedError(this.name));
    return this.#wait.ready();
  }

  threads(): PoolThreadInfo[] {
    return this.#current?.threads() ?? [];
  }

  /** The child spec to put in a supervisor's `children`. */
  childSpec(): ChildSpec {
    const { restart, shutdownMs, backoff } = this.#child;
    return {
      id: this.name,
      restart,
      shutdownMs,
      ...(backoff === undefined ? {} : { backoff }),
      start: async ({ telemetry, signal }) => {
        this.#watchSupervisor(signal);
        this.#phase = 'starting';
        const pool = new Pool({ telemetry, ...this.#options });
        await pool.start();
        this.#current = pool;
        this.#phase = 'running';
        this.#wait.arrived(pool);
        return this.#handle(pool, shutdownMs);
      },
    };
  }

  /**
   * A supervisor that stops or gives up while a restart of this pool is pending never calls on the
   * pool again: tasks waiting for that restart learn it from the supervisor's signal, at once.
   */
  #watchSupervisor(signal: AbortSignal): void {
    if (signal === this.#supervisorLife) return;
    this.#supervisorLife = signal;
    signal.addEventListener('abort', () => {
      if (signal !== this.#supervisorLife || this.#phase !== 'starting') return;
      this.#phase = 'stopped';
      this.#wait.cancel(new PoolClosedError(this.name, 'is stopped: its supervisor stopped before the pool was back'));
    }, { once: true });
  }

  #handle(pool: Pool, shutdownMs: number): ChildHandle {
    return {
      stop: () => pool.close({ timeoutMs: Number.isFinite(shutdownMs) ? shutdownMs : 60_000 }),
      kill: () => pool.close({ timeoutMs: 0 }),
      exited: pool.exited.then((error) => {
        if (this.#current === pool) {
          this.#current = null;
          // A crash is restarted (unless temporary): tasks wait for the replacement. A stop is for
          // good unless the supervisor starts the pool again (a group restart), which waits anew.
          const restarting = error !== null && this.#child.restart !== 'temporary';
          this.#phase = restarting ? 'starting' : 'stopped';
          if (!restarting) this.#wait.cancel(error ?? new PoolClosedError(this.name));
        }
        return error === null ? { kind: 'shutdown' as const } : { kind: 'crash' as const, error };
      }),
    };
  }
}
