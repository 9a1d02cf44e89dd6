/**
 * A supervised pool of worker threads on piscina. The public class checks arguments and delegates
 * to a private engine (`PoolCore`), as piscina's `Piscina` wraps its `ThreadPool`.
 */
import { telemetry as sharedTelemetry } from '../telemetry/default.ts';
import { PoolCore } from './engine/core.ts';
import type { PoolState } from './engine/state.ts';
import { PoolError } from '../errors/pool.ts';
import { resolvePoolOptions, type PoolOptions, type ResolvedPoolOptions } from './options.ts';
import { SlotField } from './wire/protocol.ts';
import { workerModuleExists } from './engine/runtime-path.ts';
import { defaultLogger } from '../log/logger.ts';

/** A live thread of a pool. */
export interface PoolThreadInfo {
  /** Stable slot (`worker_id`); a replacement thread takes the slot of the one it replaces. */
  readonly workerId: number;
  readonly threadId: number;
  /** Tasks finished by this thread. */
  readonly tasks: number;
  /** Version of the telemetry rule table this thread has applied. */
  readonly rulesVersion: number;
  /** Id of the running task, 0 when idle. */
  readonly busy: boolean;
}

/** Options of one `run` call. */
export interface RunOptions {
  /** Task name: the `task` label of pool and worker events (default `'default'`). */
  task?: string;
  /** Aborting removes a queued task, or terminates the thread running it (piscina semantics). */
  signal?: AbortSignal;
  /**
   * Catalog metadata joined to every event the task emits in its thread (e.g. the job system passes
   * `{ queue, job_name, job_id }`, so `action.*` events name their job). Keys must be catalog
   * metadata keys; values strings or numbers.
   */
  metadata?: Readonly<Record<string, string | number>>;
  /**
   * This run's own deadline in ms, overriding the pool's `taskTimeoutMs`: `ctx.signal` aborts at it,
   * and `killGraceMs` later the thread is terminated and replaced; the run rejects with
   * `TaskTimeoutError`, which is the task's fault, not charged to the pool's restart intensity.
   * A run with its own deadline is always sent to a thread alone, never in a chunk.
   */
  timeoutMs?: number;
}

/** A pool of worker threads running one worker module, with restart intensity and recycling. */
export class Pool {
  readonly #core: PoolCore;
  #exited: Promise<Error | null>;
  #settleExited: (error: Error | null) => void = () => {};

  constructor(options: PoolOptions) {
    const opts = validatePoolOptions(options);
    const logger = options.logger ?? defaultLogger();
    this.#core = new PoolCore(opts, options.telemetry ?? sharedTelemetry, options.onLog ?? ((record, origin) => logger.workerLine(record, origin)), logger.levels);
    this.#exited = this.#newExited();
  }

  /** The pool name. */
  get name(): string {
    return this.#core.opts.name;
  }

  /** 'idle' | 'starting' | 'running' | 'closing' | 'closed' | 'failed'. */
  get state(): PoolState {
    return this.#core.state;
  }

  /** Tasks it takes at once: one running per thread plus `maxQueue` waiting; one more is refused (`PoolSaturatedError`). */
  get capacity(): number {
    return this.#core.opts.threads + this.#core.opts.maxQueue;
  }

  /** Tasks waiting for a thread. */
  get queueSize(): number {
    return this.#core.queueSize;
  }

  /**
   * Resolves with the error when the pool fails (restart intensity exceeded) or with null when it is
   * closed. A supervisor watches this; `start()` again makes a fresh one.
   */
  get exited(): Promise<Error | null> {
    return this.#exited;
  }

  /** Starts the threads; resolves once every thread is ready, rejects if the pool fails first. */
  async start(): Promise<void> {
    const state = this.#core.state;
    if (state === 'starting' || state === 'running') throw new PoolError('PITBOSS_INVALID_CONFIG', `pool ${this.name} is already ${state}`);
    if (state === 'failed' || state === 'closed') {
      throw new PoolError('PITBOSS_POOL_CLOSED', `pool ${this.name} is ${state}; create a new Pool (supervisors do this on restart)`);
    }
    let failure: Error | null = null;
    await this.#core.start((error) => {
      failure = error;
      this.#settleExited(error);
    });
    if (failure !== null) throw failure;
    if (this.#core.state !== 'running') throw new PoolError('PITBOSS_POOL_CLOSED', `pool ${this.name} was closed while starting`);
  }

  /** Runs `input` on a thread; resolves with the worker's result. Rejects with a `PoolError` subclass. */
  run<T = unknown>(input: unknown, options: RunOptions = {}): Promise<T> {
    const task = options.task ?? 'default';
    if (typeof task !== 'string' || task === '') return Promise.reject(new PoolError('PITBOSS_INVALID_CONFIG', 'run options.task must be a non-empty string'));
    const timeoutMs = options.timeoutMs ?? null;
    if (timeoutMs !== null && (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 2_147_483_647)) {
      return Promise.reject(new PoolError('PITBOSS_INVALID_CONFIG', `run options.timeoutMs must be a positive integer of ms, got ${String(timeoutMs)}`));
    }
    return this.#core.run(input, task, options.metadata ?? null, options.signal ?? null, timeoutMs) as Promise<T>;
  }

  /** Live threads in slot order. */
  threads(): PoolThreadInfo[] {
    const core = this.#core;
    return core.threads.ready().map((t) => ({
      workerId: t.slot,
      threadId: t.threadId,
      tasks: core.threads.field(t.slot, SlotField.tasks),
      rulesVersion: core.threads.field(t.slot, SlotField.rulesVersion),
      busy: core.threads.field(t.slot, SlotField.currentTask) !== 0,
    }));
  }

  /** Dispatches so far: tasks sent one per thread, chunks sent, and the tasks inside those chunks. */
  get dispatched(): { readonly single: number; readonly chunks: number; readonly chunkedTasks: number } {
    return { ...this.#core.dispatched };
  }

  /** Number of live `Worker` threads (including ones still starting): 0 after `close()`. */
  get threadCount(): number {
    return this.#core.threads.size;
  }

  /**
   * Stops taking tasks, lets queued and running tasks finish for up to `timeoutMs` (default 10 s),
   * then terminates every thread. No thread outlives the returned promise.
   */
  async close(options: { timeoutMs?: number } = {}): Promise<void> {
    await this.#core.close(options.timeoutMs ?? 10_000);
    this.#settleExited(null);
  }

  #newExited(): Promise<Error | null> {
    return new Promise((resolve) => {
      this.#settleExited = resolve;
    });
  }
}

/** Resolves and checks pool options (including that the worker module exists), naming the bad key. */
export function validatePoolOptions(options: PoolOptions): ResolvedPoolOptions {
  const opts = resolvePoolOptions(options);
  if (!workerModuleExists(opts.workerUrl)) throw new PoolError('PITBOSS_INVALID_CONFIG', `pool(${opts.name}).worker: no such file ${opts.workerUrl}`);
  return opts;
}
