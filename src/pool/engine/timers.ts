/**
 * Periodic pool reports from the supervisor side: `pool.status`, and `worker.cpu.sampled` read from
 * each thread's `Worker.performance.eventLoopUtilization()` (which works while the thread is busy,
 * unlike a timer inside it). `worker.memory.sampled` comes from inside the threads.
 */
import type { PoolCore } from './core.ts';

export class PoolTimers {
  readonly #core: PoolCore;
  #status: NodeJS.Timeout | null = null;
  #cpu: NodeJS.Timeout | null = null;

  constructor(core: PoolCore) {
    this.#core = core;
  }

  start(): void {
    const { statusIntervalMs, sampleIntervalMs } = this.#core.opts;
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
    const core = this.#core;
    const threads = core.opts.threads;
    const busy = Math.min(core.busy, threads);
    core.bus.execute('pool.status', {
      queue_depth: core.queueSize, busy_workers: busy, idle_workers: threads - busy, utilization: busy / threads,
    }, { pool: core.opts.name });
  }

  sampleCpu(): void {
    const core = this.#core;
    for (const thread of core.threads.ready()) {
      const elu = thread.worker.performance.eventLoopUtilization();
      const delta = thread.elu === null ? elu : thread.worker.performance.eventLoopUtilization(elu, thread.elu);
      thread.elu = elu;
      // The thread updates its idle time on its own clock while this one reads it: over a short
      // interval the ratio can land a hair outside [0, 1] (seen once in CI on Node 24), or be 0/0.
      if (!(delta.idle + delta.active > 0)) continue;
      const utilization = Math.min(1, Math.max(0, delta.utilization));
      core.bus.execute('worker.cpu.sampled', { utilization }, { pool: core.opts.name, worker_id: thread.slot });
    }
  }
}
