/**
 * Tasks out on threads, by dispatch id. A task gets its id here when it goes to a thread (and, when
 * it can be aborted, a word of the cancel table), and leaves when it settles. A thread that dies or
 * is killed while running a task is noted against the task here, before piscina's rejection of the
 * task arrives, so the rejection can tell a task that ran from one that never started. The
 * dispatcher (tasks.ts) hands tasks out; the outcomes (task-outcomes.ts) settle them.
 */
import { nextTaskId, type CancelTable } from '../wire/cancel-table.ts';
import type { PendingTask } from './pending-task.ts';
import type { PoolThread } from './threads.ts';

export class RunningTasks {
  /** Words of abortable tasks shared with the threads (cancel-table.ts). */
  readonly #cancels: CancelTable;
  readonly #byId = new Map<number, PendingTask>();
  /** Tasks a dying or killed thread was running, noted before the task's rejection arrives. */
  readonly #interrupted = new Map<number, PoolThread>();
  #taskSeq = 0;

  constructor(cancels: CancelTable) {
    this.#cancels = cancels;
  }

  /** Tasks out and not yet settled. */
  get size(): number {
    return this.#byId.size;
  }

  /** The task out under dispatch id `id`, until it settles. */
  get(id: number): PendingTask | undefined {
    return this.#byId.get(id);
  }

  /** Gives a task its dispatch id (and, with a signal, a word of the cancel table) and marks it running; returns the id. */
  assign(pending: PendingTask): number {
    let id = this.#taskSeq = nextTaskId(this.#taskSeq);
    if (pending.signal !== null) {
      // The table has room for twice the tasks that can be out, so a free word is a step or two away.
      while (!this.#cancels.arm(id)) id = this.#taskSeq = nextTaskId(this.#taskSeq);
      pending.armed = true;
    }
    pending.id = id;
    pending.answered = false;
    pending.dispatchedAt = performance.now();
    this.#byId.set(id, pending);
    return id;
  }

  /** Calls an armed task off through the cancel table (see CancelTable.cancel). */
  cancel(pending: PendingTask): 'cancelled' | 'running' | 'done' {
    return this.#cancels.cancel(pending.id);
  }

  /** The task settles: it leaves the table, gives its cancel word back and its kill timer stops. */
  finish(pending: PendingTask): void {
    this.#byId.delete(pending.id);
    if (pending.armed) {
      this.#cancels.release(pending.id);
      pending.armed = false;
    }
    if (pending.killTimer !== null) clearTimeout(pending.killTimer);
  }

  /** A dying thread was running task `taskId` (see ThreadEvents.interrupted); its name while it still awaits its answer. */
  noteInterrupted(thread: PoolThread, taskId: number): string | null {
    // A task already settled (its answer arrived before the thread died) needs no note.
    const pending = this.#byId.get(taskId);
    if (pending === undefined) return null;
    this.#interrupted.set(taskId, thread);
    return pending.task;
  }

  /** The pool is killing `thread` over task `taskId` (its deadline, or its caller's abort). */
  noteKilled(thread: PoolThread, taskId: number): void {
    this.#interrupted.set(taskId, thread);
  }

  /** The thread noted as running task `taskId` when it went away, or undefined when none was; the note is used up. */
  threadThatRan(taskId: number): PoolThread | undefined {
    const thread = this.#interrupted.get(taskId);
    this.#interrupted.delete(taskId);
    return thread;
  }
}
