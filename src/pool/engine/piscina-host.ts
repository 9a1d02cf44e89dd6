/**
 * The piscina instance(s) behind one pool. Normally one; after piscina stops replacing threads (its
 * sticky "failed during bootstrap" flag) the pool builds a fresh instance and retires the old one,
 * which finishes its running tasks before closing.
 */
import { Piscina } from 'piscina';
import type { ResourceLimits } from 'node:worker_threads';
import type { ThreadBootData, ThreadMessage } from '../wire/protocol.ts';
import { threadEntryUrl, threadExecArgv } from './runtime-path.ts';

export class PiscinaHost {
  readonly #threads: number;
  readonly #resourceLimits: ResourceLimits | undefined;
  readonly #boot: ThreadBootData;
  readonly #onMessage: (message: ThreadMessage) => void;
  #current: Piscina | null = null;
  #retired: Piscina[] = [];

  constructor(threads: number, resourceLimits: ResourceLimits | undefined, boot: ThreadBootData, onMessage: (message: ThreadMessage) => void) {
    this.#threads = threads;
    this.#resourceLimits = resourceLimits;
    this.#boot = boot;
    this.#onMessage = onMessage;
  }

  /** The instance new tasks go to (null before start and after destroy). */
  get current(): Piscina | null {
    return this.#current;
  }

  /** Builds a fresh instance (retiring the current one gracefully) and returns it. */
  build(): Piscina {
    const old = this.#current;
    if (old !== null) {
      this.#retired.push(old);
      void old.close().catch(() => {});
    }
    const piscina = new Piscina({
      filename: threadEntryUrl,
      minThreads: this.#threads,
      maxThreads: this.#threads,
      idleTimeout: Number.POSITIVE_INFINITY,
      concurrentTasksPerWorker: 1,
      // 'async' lets a thread's event loop turn between tasks, so its flush and sampling timers run.
      atomics: 'async',
      resourceLimits: this.#resourceLimits,
      execArgv: threadExecArgv(),
      workerData: this.#boot,
    });
    // Without a listener piscina's 'error' (a thread error with no task to reject) would throw here.
    piscina.on('error', () => {});
    piscina.on('message', this.#onMessage);
    this.#current = piscina;
    return piscina;
  }

  /** Terminates every thread of every instance. */
  async destroy(): Promise<void> {
    const instances = [...this.#retired, ...(this.#current === null ? [] : [this.#current])];
    this.#retired = [];
    this.#current = null;
    await Promise.all(instances.map((p) => p.destroy().catch(() => {})));
  }
}
