/**
 * Periodic pool reports from the supervisor side: `pool.status`, and `worker.cpu.sampled` read from
 * each thread's `Worker.performance.eventLoopUtilization()` (which works while the thread is busy,
 * unlike a timer inside it). `worker.memory.sampled` comes from inside the threads.
 */
import type { Telemetry } from '../../telemetry/bus.ts';
import type { ResolvedPoolOptions } from '../options.ts';
import type { ThreadRegistry } from './threads.ts';

/** What the reports read: the pool's settings, its bus, its ready threads and its load; nothing else of the core. */
export interface TimedPool {
  readonly opts: Pick<ResolvedPoolOptions, 'name' | 'threads' | 'statusIntervalMs' | 'sampleIntervalMs'>;
  readonly bus: Telemetry;
  readonly threads: Pick<ThreadRegistry, 'ready'>;
  /** Threads busy with a task or chunk. */
  readonly busy: number;
  /** Tasks waiting in the pool's queue. */
  readonly queueSize: number;
}

export class PoolTimers {
  readonly #pool: TimedPool;
  #status: NodeJS.Timeout | null = null;
  #cpu: NodeJS.Timeout | null = null;

  constructor(pool: TimedPool) {
    this.#pool = pool;
  }

  start(): void {
    const { statusIntervalMs, sampleIntervalMs } = this.#pool.opts;
    if (statusIntervalMs !== null) this.#status = setInterval(() => this.reportStatus(), statusIntervalMs).unref();
    if (sampleIntervalMs !== null) this.#cpu = setInterval(() => this.sampleCpu(), sampleIntervalMs).unref();
  }

  stop(): void {
    if (this.#status !== null) clearInterval(this.#status);
    if (this.#cpu !== null) clearInterval(this.#cpu);
    this.#status = null;
    this.#cpu = null;
  }

  reportStatus(): void {
    const pool = this.#pool;
    const threads = pool.opts.threads;
    const busy = Math.min(pool.busy, threads);
    pool.bus.execute('pool.status', {
      queue_depth: pool.queueSize, busy_workers: busy, idle_workers: threads - busy, utilization: busy / threads,
    }, { pool: pool.opts.name });
  }

  sampleCpu(): void {
    const pool = this.#pool;
    for (const thread of pool.threads.ready()) {
      const elu = thread.worker.performance.eventLoopUtilization();
      const delta = thread.elu === null ? elu : thread.worker.performance.eventLoopUtilization(elu, thread.elu);
      thread.elu = elu;
      // The thread updates its idle time on its own clock while this one reads it: over a short
      // interval the ratio can land a hair outside [0, 1] (seen once in CI on Node 24), or be 0/0.
      if (!(delta.idle + delta.active > 0)) continue;
      const utilization = Math.min(1, Math.max(0, delta.utilization));
      pool.bus.execute('worker.cpu.sampled', { utilization }, { pool: pool.opts.name, worker_id: thread.slot });
    }
  }
}
