/**
 * A pool as a supervised child. A failed `Pool` cannot be started again (its threads, queue and
 * counters belong to the failed run), so the supervisor's restart builds a fresh one; this facade
 * is the stable reference host code keeps across those restarts.
 */
import type { BackoffOptions, ChildHandle, ChildSpec, RestartType } from '../supervision/types.ts';
import { PoolClosedError } from './errors.ts';
import type { PoolOptions } from './options.ts';
import { Pool, validatePoolOptions, type PoolThreadInfo, type RunOptions } from './pool.ts';

/** How the supervisor treats the pool (defaults: permanent, 10 s to drain). */
export interface PoolChildOptions {
  restart?: RestartType;
  shutdownMs?: number;
  backoff?: BackoffOptions;
}

/** A pool that a `Supervisor` starts, restarts after it fails, and stops. */
export class SupervisedPool {
  readonly #options: PoolOptions;
  readonly #child: Required<Pick<PoolChildOptions, 'restart' | 'shutdownMs'>> & PoolChildOptions;
  #current: Pool | null = null;
  /** Tasks an instance takes at once (threads + maxQueue); every instance is made from the same options. */
  readonly capacity: number;

  constructor(options: PoolOptions, child: PoolChildOptions = {}) {
    // Validate now, so a bad option fails at startup naming its key rather than at the first start.
    const resolved = validatePoolOptions(options);
    this.capacity = resolved.threads + resolved.maxQueue;
    this.#options = options;
    this.#child = { restart: 'permanent', shutdownMs: 10_000, ...child };
  }

  get name(): string {
    return this.#options.name;
  }

  /** The running pool instance (replaced on every restart), or null. */
  get current(): Pool | null {
    return this.#current;
  }

  /** Runs a task on the current instance; rejects with `PoolClosedError` while there is none. */
  run<T = unknown>(input: unknown, options?: RunOptions): Promise<T> {
    const pool = this.#current;
    if (pool === null) return Promise.reject(new PoolClosedError(this.name));
    return pool.run<T>(input, options);
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
      start: async ({ telemetry }) => {
        const pool = new Pool({ telemetry, ...this.#options });
        await pool.start();
        this.#current = pool;
        return this.#handle(pool, shutdownMs);
      },
    };
  }

  #handle(pool: Pool, shutdownMs: number): ChildHandle {
    return {
      stop: () => pool.close({ timeoutMs: Number.isFinite(shutdownMs) ? shutdownMs : 60_000 }),
      kill: () => pool.close({ timeoutMs: 0 }),
      exited: pool.exited.then((error) => {
        if (this.#current === pool) this.#current = null;
        return error === null ? { kind: 'shutdown' as const } : { kind: 'crash' as const, error };
      }),
    };
  }
}
