/**
 * The pool's queue: tasks waiting for a thread. The pool keeps at most one task or chunk per thread
 * in piscina, so waiting happens here, where it is observable (`pool.queue.*`, `pool.saturated`),
 * bounded (`maxQueue`) and timed (`queueTimeoutMs`), and a task can leave early on an abort. The
 * dispatcher (tasks.ts) decides when a task waits and when it goes to a thread; everything about the
 * wait itself is here: `TaskQueue` (what waiting means for the pool) over `TaskFifo` (the order).
 */
import type { Telemetry } from '../../telemetry/bus.ts';
import { PoolSaturatedError, QueueTimeoutError } from '../../errors/pool.ts';
import type { ResolvedPoolOptions } from '../options.ts';
import type { PendingTask } from './pending-task.ts';

export class TaskQueue {
  readonly #opts: ResolvedPoolOptions;
  readonly #bus: Telemetry;
  readonly #fifo = new TaskFifo();

  constructor(opts: ResolvedPoolOptions, bus: Telemetry) {
    this.#opts = opts;
    this.#bus = bus;
  }

  get size(): number {
    return this.#fifo.size;
  }

  /** The error a task gets when the queue is full (`pool.saturated` is reported), or null when it may wait. */
  refusal(): PoolSaturatedError | null {
    if (this.#fifo.size < this.#opts.maxQueue) return null;
    this.#bus.execute('pool.saturated', { queue_size: this.#fifo.size, max_queue: this.#opts.maxQueue }, { pool: this.#opts.name });
    return new PoolSaturatedError(this.#opts.name, this.#opts.maxQueue);
  }

  /** A new task starts waiting (its queue timer too). */
  admit(pending: PendingTask): void {
    pending.enqueuedAt = performance.now();
    this.#fifo.push(pending);
    this.#bus.execute('pool.queue.enqueued', { queue_size: this.#fifo.size }, { pool: this.#opts.name, task: pending.task });
    if (this.#opts.queueTimeoutMs === null) return;
    pending.queueTimer = setTimeout(() => {
      this.#fifo.remove(pending);
      const waited = performance.now() - pending.enqueuedAt;
      this.#bus.execute('pool.queue.timeout', { wait: Math.round(waited * 1e6) }, { pool: this.#opts.name, task: pending.task });
      pending.reject(new QueueTimeoutError(this.#opts.name, waited));
    }, this.#opts.queueTimeoutMs);
  }

  /** The next task for a thread (call only while `size > 0`). */
  take(): PendingTask {
    const pending = this.#fifo.shift()!;
    if (pending.queueTimer !== null) clearTimeout(pending.queueTimer);
    this.#bus.execute('pool.queue.dequeued', { wait: Math.round((performance.now() - pending.enqueuedAt) * 1e6) }, { pool: this.#opts.name, task: pending.task });
    return pending;
  }

  /** The task `take` would return, left in place (undefined when none waits). */
  peek(): PendingTask | undefined {
    return this.#fifo.peek();
  }

  /** A task handed back unrun goes first (see TaskFifo.requeue), without a new queue timer or event: it waited once. */
  requeue(pending: PendingTask): void {
    this.#fifo.requeue(pending);
  }

  /** Takes a waiting task out early (its caller aborted); false when it is no longer waiting. */
  withdraw(pending: PendingTask): boolean {
    if (pending.removed) return false;
    this.#fifo.remove(pending);
    if (pending.queueTimer !== null) clearTimeout(pending.queueTimer);
    return true;
  }

  /**
   * Empties the queue, returning what was waiting (the pool settles them as it closes or fails).
   * Their queue timers are cleared: one left running would later report a `pool.queue.timeout` for
   * a task already settled.
   */
  drain(): PendingTask[] {
    const drained = this.#fifo.drain();
    for (const pending of drained) {
      // Out of the queue for good: a late abort must not take it out a second time.
      pending.removed = true;
      if (pending.queueTimer !== null) clearTimeout(pending.queueTimer);
    }
    return drained;
  }
}

/** FIFO with O(1) push/shift and lazy removal from the middle; tasks handed back go first. */
export class TaskFifo {
  #items: (PendingTask | undefined)[] = [];
  #head = 0;
  #size = 0;
  /** Tasks handed back (see requeue), served before #items and in the order they came back. */
  #returned: PendingTask[] = [];

  /** Tasks waiting (removed ones excluded). */
  get size(): number {
    return this.#size;
  }

  push(task: PendingTask): void {
    this.#items.push(task);
    this.#size++;
  }

  /**
   * Puts a task back ahead of every waiting one: it was handed to a thread that went away (or was
   * being recycled) before running it. Several handed back at once (the rest of a chunk) keep their order.
   */
  requeue(task: PendingTask): void {
    this.#returned.push(task);
    this.#size++;
  }

  /** The task `shift` would return, left in place. */
  peek(): PendingTask | undefined {
    for (const task of this.#returned) if (!task.removed) return task;
    for (let at = this.#head; at < this.#items.length; at++) {
      const task = this.#items[at];
      if (task !== undefined && !task.removed) return task;
    }
    return undefined;
  }

  shift(): PendingTask | undefined {
    while (this.#returned.length > 0) {
      const task = this.#returned.shift()!;
      if (!task.removed) {
        this.#size--;
        return task;
      }
    }
    while (this.#head < this.#items.length) {
      const task = this.#items[this.#head];
      this.#items[this.#head++] = undefined;
      if (this.#head > 1024 && this.#head * 2 > this.#items.length) this.#compact();
      if (task !== undefined && !task.removed) {
        this.#size--;
        return task;
      }
    }
    return undefined;
  }

  /** Marks a waiting task as gone; the FIFO drops it when it reaches the front. */
  remove(task: PendingTask): void {
    if (task.removed) return;
    task.removed = true;
    this.#size--;
  }

  /** Empties the queue, returning what was waiting. */
  drain(): PendingTask[] {
    const out: PendingTask[] = [];
    for (let t = this.shift(); t !== undefined; t = this.shift()) out.push(t);
    this.#items = [];
    this.#head = 0;
    this.#returned = [];
    return out;
  }

  #compact(): void {
    this.#items = this.#items.slice(this.#head);
    this.#head = 0;
  }
}
