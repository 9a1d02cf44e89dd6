/**
 * Chunked dispatch. When short tasks queue up behind busy threads, a thread that comes free takes
 * several queued tasks in one piscina task. piscina's supervisor-side cost per task (a task record,
 * an async resource, its balancer, a structured-clone message each way) is then paid once per chunk:
 * bench/pool-throughput measured the supervisor's CPU per no-op task halved by it.
 *
 * Only what keeps every per-task guarantee is chunked:
 * - a task with an AbortSignal is called off inside a chunk until its thread starts it, and has its
 *   thread terminated once running, as alone (cancel-table.ts);
 * - only while the pool's tasks are short: a moving average of recent handler durations at most
 *   `chunking.maxTaskMs`, and none measured yet counts as long, so long tasks keep one task per
 *   thread (no task waits behind another's minutes while a second thread idles);
 * - each answer leaves the thread the moment it exists, on the thread's result port, so a thread
 *   that dies mid-chunk loses no finished task's answer; tasks it had not started run elsewhere;
 * - a watchdog holds each task of a chunk to `taskTimeoutMs` from when that task started.
 */
import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { SlotField, type ChunkAnswer, type TaskResult } from '../wire/protocol.ts';
import type { PendingTask } from './pending-task.ts';
import type { PoolThread, ThreadRegistry } from './threads.ts';

/** Weight of the newest duration in the moving average: one long task stops chunking for a while. */
const averageWeight = 0.1;

/** Decides how many queued tasks the next free thread takes, from the durations tasks had. */
export class ChunkPolicy {
  readonly #maxTasks: number;
  readonly #maxTaskMs: number;
  #averageMs = Number.POSITIVE_INFINITY;

  constructor(maxTasks: number, maxTaskMs: number) {
    this.#maxTasks = maxTasks;
    this.#maxTaskMs = maxTaskMs;
  }

  /** Feeds the handler duration (ns) of a finished task into the moving average. */
  observe(durationNs: number): void {
    const ms = durationNs / 1e6;
    this.#averageMs = this.#averageMs === Number.POSITIVE_INFINITY ? ms : this.#averageMs + (ms - this.#averageMs) * averageWeight;
  }

  /**
   * Tasks for the next free thread (1: no chunk): its even share of the queue among the threads free
   * now, capped at `maxTasks`. Sharing among all threads instead (busy ones free up soon) halved the
   * chunks and most of the gain in bench/pool-throughput; the imbalance this allows is bounded by
   * one chunk of short tasks (`maxTasks × maxTaskMs`, 8 ms at the defaults).
   */
  size(queued: number, freeThreads: number): number {
    if (this.#maxTasks < 2 || !(this.#averageMs <= this.#maxTaskMs)) return 1;
    return Math.max(1, Math.min(this.#maxTasks, Math.floor(queued / freeThreads)));
  }
}

/** The tasks of one chunk, the dispatch id each had in it, and the chunk's deadline watchdog. */
export class Chunk {
  readonly tasks: readonly PendingTask[];
  /** Dispatch ids, set when the chunk is sent (see `sent`). */
  #ids: number[] = [];
  timer: NodeJS.Timeout | null = null;

  constructor(tasks: readonly PendingTask[]) {
    this.tasks = tasks;
  }

  /** Records the dispatch ids the tasks were sent under. */
  sent(): void {
    this.#ids = this.tasks.map((task) => task.id);
  }

  /**
   * Tasks of this chunk still waiting for their answer from it. A task handed back by the chunk's
   * thread (recycling) may already be out again under a new id before the chunk ends: it is no
   * longer this chunk's, and settling it here would run it twice.
   */
  unanswered(): PendingTask[] {
    return this.tasks.filter((task, i) => task.id === this.#ids[i] && !task.answered);
  }

  /**
   * The deadline of the chunk's tasks: each may run `limitMs` (taskTimeoutMs, its soft deadline in
   * the thread, plus killGraceMs) from its own start, read from the slot table; `expire` gets the
   * one past it and its thread. Runs until `stop`.
   */
  watch(limitMs: number, threads: ThreadRegistry, expire: (pending: PendingTask, thread: PoolThread) => void, delayMs = limitMs): void {
    this.timer = setTimeout(() => {
      for (const pending of this.unanswered()) {
        const thread = threads.running(pending.id);
        if (thread === undefined) continue;
        const elapsed = msSinceStamp(threads.field(thread.slot, SlotField.taskStartedMs));
        if (elapsed < limitMs) return this.watch(limitMs, threads, expire, limitMs - elapsed);
        return expire(pending, thread);
      }
      // Between two tasks of the chunk: the next one starts now, so a full limit from here is safe.
      this.watch(limitMs, threads, expire);
    }, delayMs);
  }

  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}

/** Reads every answer waiting on a thread's result port, synchronously (the port is never started). */
export function drainAnswers(port: MessagePort, settle: (id: number, result: TaskResult) => void): void {
  for (let received = receiveMessageOnPort(port); received !== undefined; received = receiveMessageOnPort(port)) {
    const [id, result] = received.message as ChunkAnswer;
    settle(id, result);
  }
}

/** Milliseconds since `startedMs` (a `Date.now() | 0` from the slot table), correct across the int32 wrap. */
const msSinceStamp = (startedMs: number): number => ((Date.now() | 0) - startedMs) | 0;
