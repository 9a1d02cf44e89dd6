/**
 * Tasks and `ready()` callers of a SupervisedPool waiting for the supervisor to bring up a pool
 * instance (after a crash, or during the first start). A waiting task is pending work: its bound's
 * timer is ref'd, so it holds the process alive until the task is handed to the new instance or
 * gives up. Only waits allocate here; a running pool's tasks never pass through.
 */
import { PoolClosedError, PoolSaturatedError } from '../errors/pool.ts';
import type { Pool } from './pool.ts';

interface Waiter {
  readonly resolve: (pool: Pool) => void;
  readonly reject: (error: unknown) => void;
  /** Null for `ready()`, which waits without a bound and without holding the process. */
  readonly timer: NodeJS.Timeout | null;
  readonly signal: AbortSignal | null;
  readonly onAbort: (() => void) | null;
}

export class ReplacementWait {
  readonly #pool: string;
  readonly #boundMs: number;
  readonly #capacity: number;
  #waiters: Waiter[] = [];
  #tasks = 0;

  /** `boundMs`: how long a task waits; `capacity`: how many tasks may wait (what one instance takes). */
  constructor(pool: string, boundMs: number, capacity: number) {
    this.#pool = pool;
    this.#boundMs = boundMs;
    this.#capacity = capacity;
  }

  /** A task waits for the next instance; rejects past the bound, on its signal, or when the pool stops for good. */
  enqueue(signal: AbortSignal | null): Promise<Pool> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#tasks >= this.#capacity) return Promise.reject(new PoolSaturatedError(this.#pool, this.#capacity));
    return new Promise<Pool>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (this.#remove(waiter)) reject(new PoolClosedError(this.#pool, `is restarting and no instance was running within ${this.#boundMs} ms`));
      }, this.#boundMs);
      const onAbort = signal === null ? null : (): void => { if (this.#remove(waiter)) reject(signal.reason); };
      const waiter: Waiter = { resolve, reject, timer, signal, onAbort };
      if (onAbort !== null) signal!.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push(waiter);
      this.#tasks++;
    });
  }

  /** Waits, without a bound, until an instance is running. */
  ready(): Promise<void> {
    return new Promise<Pool>((resolve, reject) => {
      this.#waiters.push({ resolve, reject, timer: null, signal: null, onAbort: null });
    }).then(() => undefined);
  }

  /** An instance is running: every waiter goes to it, in the order they came. */
  arrived(pool: Pool): void {
    for (const waiter of this.#takeAll()) waiter.resolve(pool);
  }

  /** The pool is stopped for good: every waiter gets `error`. */
  cancel(error: unknown): void {
    for (const waiter of this.#takeAll()) waiter.reject(error);
  }

  #takeAll(): Waiter[] {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) this.#settle(waiter);
    return waiters;
  }

  #remove(waiter: Waiter): boolean {
    const at = this.#waiters.indexOf(waiter);
    if (at < 0) return false;
    this.#waiters.splice(at, 1);
    this.#settle(waiter);
    return true;
  }

  /** Clears what a waiter holds: its timer, its abort listener, its place among the waiting tasks. */
  #settle(waiter: Waiter): void {
    if (waiter.timer === null) return;
    clearTimeout(waiter.timer);
    waiter.signal?.removeEventListener('abort', waiter.onAbort!);
    this.#tasks--;
  }
}
