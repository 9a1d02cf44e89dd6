/**
 * Identity and lifecycle of a pool's threads. piscina owns the `Worker` objects; this module adopts
 * each one as soon as piscina creates it, records its identity at that moment (piscina's
 * `workerDestroy` reads `threadId` as -1 once the thread is gone), learns its stable slot from the
 * thread's hello, and turns exits into `pool.worker.*` events with a reason.
 */
import type { EventLoopUtilization } from 'node:perf_hooks';
import type { MessagePort, Worker } from 'node:worker_threads';
import { describeError } from '../../errors/describe.ts';
import { SlotField, slotFieldCount } from '../wire/protocol.ts';

/** One thread as the pool sees it. */
export class PoolThread {
  readonly worker: Worker;
  readonly threadId: number;
  readonly spawnStartedAt: number;
  /** Stable slot (the `worker_id`), known once the thread said hello; -1 before. */
  slot = -1;
  readyAt = 0;
  /** The first error the thread reported (an uncaught exception, an out-of-memory). */
  error: unknown = null;
  /** Why we are terminating it on purpose (recycle, shutdown, aborted), or null. */
  plannedReason: string | null = null;
  /** Id of the task it was running when it died (0: none). */
  interruptedTask = 0;
  /** It died handing that task's answer over, after the task itself had finished (see SlotField.answering). */
  diedAnswering = false;
  /** Set when the pool kills the thread over a task: 'timeout' or 'aborted'. */
  killReason: string | null = null;
  /**
   * Name of the task whose run killed the thread (it died while that task still awaited its answer,
   * or the pool killed it over that task's deadline), null when it died idle, starting, or on purpose.
   * Such a death is the task's failure: it does not count against the pool's intensity.
   */
  faultTask: string | null = null;
  elu: EventLoopUtilization | null = null;
  exited = false;
  /** Counted out of the ready threads: it reported an error or is being killed, and will take no more tasks. */
  retired = false;
  /** Where the thread posts answers of chunked tasks (from its hello); read synchronously, never started. */
  results: MessagePort | null = null;
  /** Waiting for `results` (see ThreadRegistry.withResults): called at the hello, or at the exit without one. */
  resultsWaiters: ((results: MessagePort | null) => void)[] = [];

  constructor(worker: Worker, spawnStartedAt: number) {
    this.worker = worker;
    this.threadId = worker.threadId;
    this.spawnStartedAt = spawnStartedAt;
  }
}

/** A slot waiting for a thread: since when, and why (for spawned/restarted/recycled events). */
export interface PendingSpawn {
  readonly since: number;
  readonly kind: 'initial' | 'restart' | 'recycle';
  readonly reason: string;
  /** For a restart: 'task' when the task it ran killed the thread (not counted against intensity), 'thread' when it died on its own. */
  readonly fault: 'task' | 'thread' | null;
}

/** What the registry reports to the pool core. */
export interface ThreadEvents {
  /**
   * A thread reported an uncaught error and is about to exit. Called before piscina's rejection of
   * its task or chunk is delivered (a microtask later), so answers it posted before dying are read
   * first: a chunk's finished tasks must not be taken for unstarted ones and run again.
   */
  dying(thread: PoolThread): void;
  /**
   * A dying thread was running task `taskId`. Called from the thread's 'error' or 'exit' event,
   * before piscina's rejection of that task reaches the pool (it is delivered in a microtask).
   * Returns the task's name while it still awaits its answer, else null.
   */
  interrupted(thread: PoolThread, taskId: number): string | null;
  /** A thread (or a thread that never got ready) died; `planned` when the pool meant it. */
  exited(thread: PoolThread, reason: string, planned: boolean): void;
}

const nsSince = (ms: number): number => Math.round((performance.now() - ms) * 1e6);

/** Live threads of one pool, by Node thread id and by slot. */
export class ThreadRegistry {
  readonly #byThreadId = new Map<number, PoolThread>();
  /** Threads that reported an error before their hello was read; their answers are readable at their exit. */
  readonly #dyingUnannounced = new Set<PoolThread>();
  readonly #afterDeaths: (() => void)[] = [];
  #ready = 0;
  readonly #adopted = new WeakSet<Worker>();
  readonly #slots: Int32Array;
  readonly #events: ThreadEvents;

  constructor(slots: Int32Array, events: ThreadEvents) {
    this.#slots = slots;
    this.#events = events;
  }

  /** Adopts `Worker`s piscina created since the last call; returns the new ones. */
  adopt(workers: readonly Worker[]): PoolThread[] {
    const adopted: PoolThread[] = [];
    for (const worker of workers) {
      if (this.#adopted.has(worker)) continue;
      this.#adopted.add(worker);
      const thread = new PoolThread(worker, performance.now());
      this.#byThreadId.set(thread.threadId, thread);
      // piscina listens to 'error' and 'exit' too, and registered first: by the time ours run, the
      // task the thread was running has been rejected (its callbacks run after us, in a microtask).
      worker.on('error', (error) => {
        thread.error ??= error;
        if (thread.slot < 0) this.#dyingUnannounced.add(thread);
        this.retire(thread);
        this.#events.dying(thread);
        this.#noteInterrupted(thread);
      });
      worker.once('exit', (code) => this.#exit(thread, code));
      adopted.push(thread);
    }
    return adopted;
  }

  /** Records the slot a thread claimed; returns the thread, or undefined when unknown. */
  hello(threadId: number, slot: number, results: MessagePort | null): PoolThread | undefined {
    const thread = this.#byThreadId.get(threadId);
    if (thread === undefined) return undefined;
    // A thread retired before its hello was read (killed, or reported an error) is never ready.
    if (thread.slot < 0 && !thread.retired) this.#ready++;
    thread.slot = slot;
    thread.results ??= results;
    thread.readyAt = performance.now();
    for (const use of thread.resultsWaiters.splice(0)) use(thread.results);
    return thread;
  }

  /**
   * Hands `use` the result port of the thread holding `slot`: at once, or once its hello is read.
   * piscina can give a fresh thread a chunk before that thread's hello (another port) is read; the
   * chunk's answers wait on a port only the hello names, and read too early they were taken for
   * missing, so its finished tasks ran again. null when the thread is gone without a hello.
   */
  withResults(slot: number, use: (results: MessagePort | null) => void): void {
    const thread = this.holding(slot);
    if (thread === undefined) return use(null);
    if (thread.slot >= 0) return use(thread.results);
    thread.resultsWaiters.push(use);
  }

  /** The live thread holding `slot`: from its hello, or from the slot table while its hello is on the way. */
  holding(slot: number): PoolThread | undefined {
    return this.bySlot(slot) ?? this.#byThreadId.get(this.field(slot, SlotField.threadId));
  }

  /**
   * Runs `then` once no thread that died before its hello was read is still short of its exit. Such a
   * thread's finished chunk answers sit on a port only its hello names (read at its exit at the
   * latest: a thread's messages are delivered before its 'exit'), while piscina rejects its chunk at
   * once: settled before then, the finished tasks were taken for unstarted and ran again.
   */
  afterUnannouncedDeaths(then: () => void): void {
    if (this.#dyingUnannounced.size === 0) then();
    else this.#afterDeaths.push(then);
  }

  byThreadId(threadId: number): PoolThread | undefined {
    return this.#byThreadId.get(threadId);
  }

  bySlot(slot: number): PoolThread | undefined {
    for (const thread of this.#byThreadId.values()) if (thread.slot === slot) return thread;
    return undefined;
  }

  /** Threads that said hello, in slot order. */
  ready(): PoolThread[] {
    return [...this.#byThreadId.values()].filter((t) => t.slot >= 0).sort((a, b) => a.slot - b.slot);
  }

  get size(): number {
    return this.#byThreadId.size;
  }

  /** Threads that said hello and have not exited or been retired. */
  get readyCount(): number {
    return this.#ready;
  }

  /**
   * Counts a thread out of the ready ones before its exit: it reported an uncaught error, or the pool
   * is killing it. piscina drops such a thread at once and starts a replacement; counted as ready
   * until its exit, a task dispatched meanwhile would wait in piscina's queue for the replacement to
   * boot, unseen, its kill timer running (healthy tasks timed out that way under a poison mix).
   */
  retire(thread: PoolThread): void {
    if (thread.retired) return;
    thread.retired = true;
    if (thread.slot >= 0) this.#ready--;
  }

  all(): PoolThread[] {
    return [...this.#byThreadId.values()];
  }

  /** Slot-table field of a thread's slot. */
  field(slot: number, field: number): number {
    return Atomics.load(this.#slots, slot * slotFieldCount + field);
  }

  /**
   * The slot a thread holds: from its hello, or, before the hello arrived, from the slot table. The
   * hello and piscina's own ready message travel on different ports, so piscina may hand a thread a
   * task before its hello is read; a thread dying over that task must still be found running it (it
   * was taken for one that never started the task, which then ran twice).
   */
  #slotOf(thread: PoolThread): number {
    if (thread.slot >= 0) return thread.slot;
    for (let slot = 0; slot * slotFieldCount < this.#slots.length; slot++) {
      if (this.field(slot, SlotField.state) === 1 && this.field(slot, SlotField.threadId) === thread.threadId) return slot;
    }
    return -1;
  }

  #noteInterrupted(thread: PoolThread): void {
    const slot = this.#slotOf(thread);
    if (slot < 0 || thread.interruptedTask !== 0) return;
    // Not running a task: it may have died handing its last answer over (see SlotField.answering).
    const running = this.field(slot, SlotField.currentTask);
    thread.interruptedTask = running || this.field(slot, SlotField.answering);
    if (thread.interruptedTask === 0) return;
    const awaited = this.#events.interrupted(thread, thread.interruptedTask);
    // Its last task finished and still awaits the answer: the thread died posting it. Had the answer
    // arrived, something else killed the thread afterwards (a stray timer's throw, say): the thread
    // was idle, and the death is not that task's.
    thread.diedAnswering = running === 0 && awaited !== null;
    thread.faultTask ??= awaited;
  }

  /** The thread currently running `taskId`, read from the slot table. */
  running(taskId: number): PoolThread | undefined {
    for (const thread of this.#byThreadId.values()) {
      const slot = this.#slotOf(thread);
      if (slot >= 0 && this.field(slot, SlotField.currentTask) === taskId) return thread;
    }
    return undefined;
  }

  /**
   * A thread claims its slot before it loads the worker module and says hello; one that died in
   * between (the module failed to load) still holds it. Left claimed, two such deaths used up the
   * spare slots and every later thread died of "no free worker slot", hiding the load error.
   */
  #freeUnannouncedSlot(threadId: number): void {
    for (let at = 0; at < this.#slots.length; at += slotFieldCount) {
      if (Atomics.load(this.#slots, at + SlotField.threadId) === threadId) Atomics.compareExchange(this.#slots, at + SlotField.state, 1, 0);
    }
  }

  #exit(thread: PoolThread, code: number): void {
    this.#noteInterrupted(thread);
    for (const use of thread.resultsWaiters.splice(0)) use(thread.results);
    thread.exited = true;
    this.#byThreadId.delete(thread.threadId);
    if (thread.slot >= 0) {
      this.retire(thread);
      Atomics.store(this.#slots, thread.slot * slotFieldCount + SlotField.currentTask, 0);
      Atomics.store(this.#slots, thread.slot * slotFieldCount + SlotField.state, 0);
    } else {
      this.#freeUnannouncedSlot(thread.threadId);
    }
    const reason = thread.plannedReason ?? thread.killReason ?? classifyExit(thread.error, code, thread.diedAnswering);
    // A caller's abort is the caller's decision, not a fault: it does not count against intensity.
    const planned = thread.plannedReason !== null || thread.killReason === 'aborted';
    this.#events.exited(thread, reason, planned);
    this.#dyingUnannounced.delete(thread);
    if (this.#dyingUnannounced.size === 0) for (const then of this.#afterDeaths.splice(0)) then();
  }
}

/**
 * Why a thread died on its own: 'oom', 'unclonable_answer' (piscina's post of a finished task's
 * answer threw: a value structured clone refuses), 'crash' (any other uncaught error) or 'exit'
 * (process.exit / exit code).
 */
export function classifyExit(error: unknown, code: number, diedAnswering = false): string {
  if (error !== null && typeof error === 'object' && (error as { code?: unknown }).code === 'ERR_WORKER_OUT_OF_MEMORY') return 'oom';
  // Not told by the error: a DataCloneError reaches this side as {} on Node 20, an empty Error on 24.
  if (diedAnswering) return 'unclonable_answer';
  if (error !== null) return 'crash';
  void code; // process.exit(n) in a thread: any code is an unplanned exit
  return 'exit';
}

/** Measurements and metadata for exception-like thread metadata. */
export function errorMetadata(error: unknown): { error_type: string; error: string } {
  return error === null ? { error_type: 'WorkerExit', error: 'thread exited' } : describeError(error);
}

export { nsSince };
