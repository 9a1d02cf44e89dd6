/**
 * The tasks of a pool waiting for a thread: its FIFO (task-queue.ts) plus what waiting means for the
 * pool — a bound (`maxQueue`, `pool.saturated`), a time limit (`queueTimeoutMs`), the
 * `pool.queue.*` events, and leaving early on an abort. The dispatcher decides when a task waits
 * and when it goes to a thread; everything about the wait itself is here.
 */
import type { Telemetry } from '../../telemetry/bus.ts';
import { PoolSaturatedError, QueueTimeoutError } from '../errors.ts';
import type { ResolvedPoolOptions } from '../options.ts';
import { TaskQueue, type PendingTask } from './pending-task.ts';

export class WaitingTasks {
  readonly #opts: ResolvedPoolOptions;
  readonly #bus: Telemetry;
  readonly #queue = new TaskQueue();

  constructor(opts: ResolvedPoolOptions, bus: Telemetry) {
    this.#opts = opts;
    this.#bus = bus;
  }

  get size(): number {
    return this.#queue.size;
  }

  /** The error a task gets when the queue is full (`pool.saturated` is reported), or null when it may wait. */
  refusal(): PoolSaturatedError | null {
    if (this.#queue.size < this.#opts.maxQueue) return null;
    this.#bus.execute('pool.saturated', { queue_size: this.#queue.size, max_queue: this.#opts.maxQueue }, { pool: this.#opts.name });
    return new PoolSaturatedError(this.#opts.name, this.#opts.maxQueue);
  }

  /** A new task starts waiting (its queue timer too). */
  admit(pending: PendingTask): void {
    pending.enqueuedAt = performance.now();
    this.#queue.push(pending);
    this.#bus.execute('pool.queue.enqueued', { queue_size: this.#queue.size }, { pool: this.#opts.name, task: pending.task });
    if (this.#opts.queueTimeoutMs === null) return;
    pending.queueTimer = setTimeout(() => {
      this.#queue.remove(pending);
      const waited = performance.now() - pending.enqueuedAt;
      this.#bus.execute('pool.queue.timeout', { wait: Math.round(waited * 1e6) }, { pool: this.#opts.name, task: pending.task });
      pending.reject(new QueueTimeoutError(this.#opts.name, waited));
    }, this.#opts.queueTimeoutMs);
  }

  /** The next task for a thread (call only while `size > 0`). */
  take(): PendingTask {
    const pending = this.#queue.shift()!;
    if (pending.queueTimer !== null) clearTimeout(pending.queueTimer);
    this.#bus.execute('pool.queue.dequeued', { wait: Math.round((performance.now() - pending.enqueuedAt) * 1e6) }, { pool: this.#opts.name, task: pending.task });
    return pending;
  }

  /** A task handed back unrun goes first (see TaskQueue.requeue), without a new queue timer or event: it waited once. */
  requeue(pending: PendingTask): void {
    this.#queue.requeue(pending);
  }

  /** Takes a waiting task out early (its caller aborted); false when it is no longer waiting. */
  withdraw(pending: PendingTask): boolean {
    if (pending.removed) return false;
    this.#queue.remove(pending);
    if (pending.queueTimer !== null) clearTimeout(pending.queueTimer);
    return true;
  }

  /**
   * Empties the queue, returning what was waiting (the pool settles them as it closes or fails).
   * Their queue timers are cleared: one left running would later report a `pool.queue.timeout` for
   * a task already settled.
   */
  drain(): PendingTask[] {
    const drained = this.#queue.drain();
    for (const pending of drained) {
      // Out of the queue for good: a late abort must not take it out a second time.
      pending.removed = true;
      if (pending.queueTimer !== null) clearTimeout(pending.queueTimer);
    }
    return drained;
  }
}
