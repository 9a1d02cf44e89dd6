/**
 * The task side of a pool: admission of `run()` calls, dispatch to piscina (at most one task or
 * chunk per thread, so waiting is visible in the pool's own queue, waiting.ts), aborts, kill timers,
 * and settling each task from its answer or its thread's death. The thread lifecycle it relies on
 * lives in core.ts.
 */
import type { Piscina } from 'piscina';
import type { Telemetry } from '../../telemetry/bus.ts';
import { currentCorrelation } from '../../telemetry/correlation.ts';
import { nextTaskId, type CancelTable } from '../wire/cancel-table.ts';
import { Chunk, ChunkPolicy, drainAnswers } from './chunks.ts';
import type { PoolState } from './core.ts';
import { PoolClosedError, TaskFailedError, TaskInterruptedError, TaskTimeoutError, WorkerCrashedError } from '../errors.ts';
import type { ThreadInbox } from './inbox.ts';
import type { KeepAlive } from './keep-alive.ts';
import type { ResolvedPoolOptions } from '../options.ts';
import type { ChunkEnvelope, TaskCorrelation, TaskResult } from '../wire/protocol.ts';
import { PendingTask } from './pending-task.ts';
import { classifyExit, errorMetadata, type PoolThread, type ThreadRegistry } from './threads.ts';
import { WaitingTasks } from './queue.ts';

/** What the dispatcher needs from the pool core; the core owns all of it. */
export interface DispatchContext {
  readonly opts: ResolvedPoolOptions;
  readonly bus: Telemetry;
  readonly threads: ThreadRegistry;
  readonly inbox: ThreadInbox;
  /** Words of abortable tasks shared with the threads (cancel-table.ts). */
  readonly cancels: CancelTable;
  /** Held by every task from run() until it settles, so pending work keeps the process alive. */
  readonly keepAlive: KeepAlive;
  /** The piscina instance new tasks go to (null before start and once the threads are destroyed). */
  piscina(): Piscina | null;
  state(): PoolState;
  /** Why the pool failed, or null. */
  failure(): Error | null;
  /** Terminates a thread on purpose (a task's answer asked for its recycle). */
  terminatePlanned(thread: PoolThread, reason: string): void;
  /** A closing pool has nothing queued or running any more. */
  whenIdle(): void;
}

export class TaskDispatcher {
  readonly #ctx: DispatchContext;
  readonly #opts: ResolvedPoolOptions;
  readonly #bus: Telemetry;
  readonly #threads: ThreadRegistry;
  readonly #inbox: ThreadInbox;
  readonly #cancels: CancelTable;
  readonly #keepAlive: KeepAlive;
  readonly #waiting: WaitingTasks;
  readonly #running = new Map<number, PendingTask>();
  /** Tasks a dying or killed thread was running, noted before the task's rejection arrives. */
  readonly #interrupted = new Map<number, PoolThread>();
  readonly #chunks: ChunkPolicy;
  #taskSeq = 0;
  /** Threads piscina is running a task or chunk on (each has at most one). */
  #busyThreads = 0;
  /** How tasks went to threads: one per piscina task, or in chunks (see Pool.dispatched). */
  readonly dispatched = { single: 0, chunks: 0, chunkedTasks: 0 };

  constructor(ctx: DispatchContext) {
    this.#ctx = ctx;
    this.#opts = ctx.opts;
    this.#bus = ctx.bus;
    this.#threads = ctx.threads;
    this.#inbox = ctx.inbox;
    this.#cancels = ctx.cancels;
    this.#keepAlive = ctx.keepAlive;
    this.#waiting = new WaitingTasks(ctx.opts, ctx.bus);
    this.#chunks = new ChunkPolicy(ctx.opts.chunkMaxTasks, ctx.opts.chunkMaxTaskMs);
  }

  get queueSize(): number {
    return this.#waiting.size;
  }

  /** Threads busy with a task or chunk. */
  get busy(): number {
    return this.#busyThreads;
  }

  /** Nothing queued and nothing running. */
  get idle(): boolean {
    return this.#running.size === 0 && this.#waiting.size === 0;
  }

  /** Empties the queue, returning what was waiting (the core settles them as it closes or fails). */
  drainQueue(): PendingTask[] {
    return this.#waiting.drain();
  }

  /** A dying thread was running task `taskId` (see ThreadEvents.interrupted); its name while it still awaits its answer. */
  noteInterrupted(thread: PoolThread, taskId: number): string | null {
    // A task already settled (its answer arrived before the thread died) needs no note.
    const pending = this.#running.get(taskId);
    if (pending === undefined) return null;
    this.#interrupted.set(taskId, thread);
    return pending.task;
  }

  run(input: unknown, task: string, metadata: Readonly<Record<string, string | number>> | null, signal: AbortSignal | null): Promise<unknown> {
    const state = this.#ctx.state();
    if (state !== 'running' && state !== 'starting') {
      return Promise.reject(this.#ctx.failure() ?? new PoolClosedError(this.#opts.name));
    }
    if (signal?.aborted) return Promise.reject(signal.reason);
    const correlation = currentCorrelation();
    return new Promise((resolve, reject) => {
      const context: TaskCorrelation | null = correlation === undefined ? null
        : correlation.tracestate === undefined ? [correlation.correlationId, correlation.traceparent]
          : [correlation.correlationId, correlation.traceparent, correlation.tracestate];
      const now = this.#busyThreads < this.#capacity() && this.#waiting.size === 0 && this.#ctx.state() === 'running';
      const refused = now ? null : this.#waiting.refusal();
      if (refused !== null) return reject(refused);
      let pending: PendingTask;
      if (signal === null) {
        pending = new PendingTask(input, task, context, metadata, null, resolve, reject, this.#keepAlive);
      } else {
        // The listener leaves with the task: a signal shared by many runs must not collect them.
        const onAbort = (): void => this.#aborted(pending);
        const settled = (): void => signal.removeEventListener('abort', onAbort);
        pending = new PendingTask(input, task, context, metadata, signal, (value) => { settled(); resolve(value); }, (error) => { settled(); reject(error); }, this.#keepAlive);
        signal.addEventListener('abort', onAbort, { once: true });
      }
      if (now) return this.#dispatch(pending);
      this.#waiting.admit(pending);
    });
  }

  /**
   * The caller aborted. Waiting in the queue: it leaves it. Dispatched (alone or in a chunk): called
   * off through the cancel table if its thread has not started it, else its thread is terminated
   * (as piscina's abort does); finished: its answer stands.
   */
  #aborted(pending: PendingTask): void {
    const reason: unknown = pending.signal!.reason;
    if (pending.id === 0) {
      if (this.#waiting.withdraw(pending)) pending.reject(reason);
      return;
    }
    if (!pending.armed || pending.answered || this.#running.get(pending.id) !== pending) return;
    const state = this.#cancels.cancel(pending.id);
    if (state === 'cancelled') {
      // Its thread will skip it; nothing of it is left to wait for.
      pending.answered = true;
      this.#finish(pending);
      pending.reject(reason);
      this.pump();
    } else if (state === 'running') {
      const thread = this.#threads.running(pending.id);
      if (thread !== undefined) this.#terminate(pending, thread, 'aborted');
    }
  }

  /** Stops the thread running `pending`; the task settles from the thread's death (see #rejected). */
  #terminate(pending: PendingTask, thread: PoolThread, reason: 'timeout' | 'aborted'): void {
    this.#markKilled(pending, thread, reason);
    void thread.worker.terminate();
  }

  /** Notes that `thread` dies over `pending` (its deadline: the task's fault; an abort: nobody's) and takes it out of the ready threads. */
  #markKilled(pending: PendingTask, thread: PoolThread, reason: 'timeout' | 'aborted'): void {
    thread.killReason = reason;
    if (reason === 'timeout') thread.faultTask = pending.task;
    this.#interrupted.set(pending.id, thread);
    this.#threads.retire(thread);
  }

  /** Hands queued tasks to free threads, several at once to a thread while tasks are short (chunks.ts). */
  pump(): void {
    while (this.#pumping() && this.#busyThreads < this.#capacity() && this.#waiting.size > 0) {
      const size = this.#chunks.size(this.#waiting.size, this.#capacity() - this.#busyThreads);
      if (size === 1) {
        this.#dispatch(this.#waiting.take());
        continue;
      }
      const tasks = [this.#waiting.take()];
      // size ≤ tasks waiting, unless a pool.queue.dequeued handler aborted one of them meanwhile.
      while (tasks.length < size && this.#waiting.size > 0) tasks.push(this.#waiting.take());
      if (tasks.length === 1) this.#dispatch(tasks[0]!);
      else this.#dispatchChunk(new Chunk(tasks));
    }
    if (this.#ctx.state() === 'closing' && this.idle) this.#ctx.whenIdle();
  }

  /** A closing pool still runs what was queued before close. */
  #pumping(): boolean {
    const state = this.#ctx.state();
    return state === 'running' || state === 'closing';
  }

  /**
   * Threads that can take a task now: live and ready, at most `threads`. Not `threads` alone: while
   * a replacement boots, a task handed to piscina would wait in piscina's own queue, unseen, with its
   * kill timer already running (a task could time out before it started). It waits here instead;
   * the replacement's hello pumps it out.
   */
  #capacity(): number {
    return Math.min(this.#opts.threads, this.#threads.readyCount);
  }

  /** Gives a task its dispatch id (and, with a signal, a word of the cancel table) and marks it running; returns the id. */
  #assign(pending: PendingTask): number {
    let id = this.#taskSeq = nextTaskId(this.#taskSeq);
    if (pending.signal !== null) {
      // The table has room for twice the tasks that can be out, so a free word is a step or two away.
      while (!this.#cancels.arm(id)) id = this.#taskSeq = nextTaskId(this.#taskSeq);
      pending.armed = true;
    }
    pending.id = id;
    pending.answered = false;
    pending.dispatchedAt = performance.now();
    this.#running.set(id, pending);
    return id;
  }

  #dispatch(pending: PendingTask): void {
    const id = this.#assign(pending);
    this.#busyThreads++;
    this.dispatched.single++;
    // piscina's abort only for the hard deadline; a caller's abort goes through the cancel table.
    let signal: AbortSignal | undefined;
    if (this.#opts.taskTimeoutMs !== null) {
      const abort = new AbortController();
      pending.abort = abort;
      signal = abort.signal;
      pending.killTimer = setTimeout(() => {
        pending.timedOut = true;
        this.#kill(pending, abort);
      }, this.#opts.taskTimeoutMs + this.#opts.killGraceMs);
    }
    this.#ctx.piscina()!.run(pending.envelope(id), { signal }).then(
      (result: TaskResult) => {
        this.#busyThreads--;
        // Called off before it started (the answer says skipped), or settled otherwise meanwhile.
        if (this.#running.get(id) !== pending) return this.pump();
        pending.answered = true;
        this.#settled(pending, result);
      },
      (error: unknown) => {
        this.#busyThreads--;
        if (this.#running.get(id) !== pending) return this.pump();
        this.#rejected(pending, error);
      },
    );
  }

  /**
   * A task past its hard deadline. piscina terminates the thread if it is running the task and
   * rejects the task at once, before the thread's exit: so the thread is found and marked here.
   */
  #kill(pending: PendingTask, abort: AbortController): void {
    const thread = this.#threads.running(pending.id);
    if (thread !== undefined) this.#markKilled(pending, thread, 'timeout');
    abort.abort();
  }

  /**
   * Sends several tasks to one thread. Their answers arrive on the thread's result port; when the
   * chunk ends (or its thread dies, see #threadExited in core.ts) they are read there. Any task
   * without an answer then is settled like a single task piscina rejected: crashed if it was
   * running, else run elsewhere.
   */
  #dispatchChunk(chunk: Chunk): void {
    const envelopes = chunk.tasks.map((pending) => pending.envelope(this.#assign(pending)));
    chunk.sent();
    const message: ChunkEnvelope = [envelopes];
    this.#busyThreads++;
    this.dispatched.chunks++;
    this.dispatched.chunkedTasks += envelopes.length;
    if (this.#opts.taskTimeoutMs !== null) {
      chunk.watch(this.#opts.taskTimeoutMs + this.#opts.killGraceMs, this.#threads, (pending, thread) => {
        pending.timedOut = true;
        this.#terminate(pending, thread, 'timeout');
      });
    }
    this.#ctx.piscina()!.run(message).then(
      (slot: number) => {
        this.#busyThreads--;
        chunk.stop();
        const results = this.#threads.bySlot(slot)?.results;
        if (results != null) this.drainAnswers(results);
        this.#chunkEnded(chunk, new Error(`pool ${this.#opts.name}: a chunk ended without the answer of one of its tasks`));
      },
      (error: unknown) => {
        this.#busyThreads--;
        chunk.stop();
        this.#chunkEnded(chunk, error);
      },
    );
  }

  #chunkEnded(chunk: Chunk, error: unknown): void {
    for (const pending of chunk.unanswered()) this.#rejected(pending, error);
    this.pump();
  }

  /** Settles every task whose answer waits on a thread's result port (a chunk ended, or its thread died). */
  drainAnswers(port: NonNullable<PoolThread['results']>): void {
    drainAnswers(port, (id, result) => {
      const pending = this.#running.get(id);
      if (pending === undefined || pending.answered) return;
      pending.answered = true;
      this.#settled(pending, result);
    });
  }

  #finish(pending: PendingTask): void {
    this.#running.delete(pending.id);
    if (pending.armed) {
      this.#cancels.release(pending.id);
      pending.armed = false;
    }
    if (pending.killTimer !== null) clearTimeout(pending.killTimer);
  }

  #settled(pending: PendingTask, result: TaskResult): void {
    // So a task's events precede its result (see ThreadInbox).
    if (!this.#inbox.hasPendingBatches(result[0])) this.#settledInOrder(pending, result);
    else this.#inbox.afterBatches(result[0], () => this.#settledInOrder(pending, result));
  }

  #settledInOrder(pending: PendingTask, [slot, value, duration, batch, outcome]: TaskResult): void {
    this.#finish(pending);
    const pool = this.#opts.name;
    if (outcome === undefined) {
      this.#chunks.observe(duration);
      // The common answer. The thread is free: hand it the next task before delivering this one's
      // events, so it does not sit idle meanwhile (piscina's own queue dispatches this early too).
      this.pump();
      const call = pending.callMetadata(pool, slot);
      this.#bus.execute('worker.call.start', {}, call);
      if (batch != null) this.#inbox.ingest(batch, slot);
      this.#bus.execute('worker.call.stop', { duration }, call);
      return pending.resolve(value);
    }
    if (outcome.retry !== true) this.#chunks.observe(duration);
    const call = outcome.retry === true ? null : pending.callMetadata(pool, slot);
    if (call !== null) this.#bus.execute('worker.call.start', {}, call);
    if (batch != null) this.#inbox.ingest(batch, slot);
    if (call !== null && outcome.error === undefined) this.#bus.execute('worker.call.stop', { duration }, call);
    else if (call !== null) this.#bus.execute('worker.call.exception', { duration }, Object.assign(call, { error_type: outcome.error!.name, error: outcome.error!.message }));
    if (outcome.recycle !== undefined) {
      const thread = this.#threads.bySlot(slot);
      if (thread !== undefined) this.#ctx.terminatePlanned(thread, outcome.recycle);
    }
    if (outcome.retry === true) {
      this.#requeue(pending);
    } else if (outcome.error === undefined) {
      pending.resolve(value);
    } else {
      pending.reject(new TaskFailedError(pool, outcome.error));
    }
    this.pump();
  }

  #rejected(pending: PendingTask, error: unknown): void {
    this.#finish(pending);
    const thread = this.#threadThatRan(pending.id);
    const pool = this.#opts.name;
    if (thread === undefined && !pending.timedOut && !pending.signal?.aborted && this.#ctx.state() !== 'failed') {
      // The thread went away before it started this task (recycled, crashed between tasks,
      // piscina rebuilt): the task never ran, so it is safe to run it elsewhere.
      this.#requeue(pending);
      return this.pump();
    }
    const failure = pending.timedOut ? new TaskTimeoutError(pool, this.#opts.taskTimeoutMs ?? 0)
      : pending.signal?.aborted ? pending.signal.reason
        : this.#ctx.failure() ?? this.#crashOf(thread, error);
    if (thread !== undefined) {
      const duration = Math.round((performance.now() - pending.dispatchedAt) * 1e6);
      this.#bus.execute('worker.call.exception', { duration }, Object.assign(pending.callMetadata(pool, thread.slot), errorMetadata(failure)));
      if (thread.faultTask !== null && (failure instanceof WorkerCrashedError || failure instanceof TaskTimeoutError)) {
        const reason = failure instanceof TaskTimeoutError ? 'timeout' : failure.reason;
        this.#bus.execute('worker.call.crashed', { duration }, Object.assign(pending.callMetadata(pool, thread.slot), { reason }, errorMetadata(failure)));
      }
    }
    pending.reject(failure);
    this.pump();
  }

  /** What a task gets when the thread running it died: its own crash, or an interruption the pool made (shutdown). */
  #crashOf(thread: PoolThread | undefined, error: unknown): Error {
    const pool = this.#opts.name;
    if (thread !== undefined && thread.faultTask === null && thread.plannedReason !== null) return new TaskInterruptedError(pool, thread.plannedReason);
    return new WorkerCrashedError(pool, classifyExit(thread?.error ?? null, 0, thread?.diedAnswering), thread?.error ?? error,
      thread?.diedAnswering === true ? 'it finished this task but could not send its answer (a value structured clone refuses, e.g. a function, cannot leave a thread)' : undefined);
  }

  #requeue(pending: PendingTask): void {
    // Threads already destroyed (a close past its timeout, a failed pool): nothing would run it.
    if (this.#ctx.piscina() === null) return pending.reject(this.#ctx.failure() ?? new PoolClosedError(this.#opts.name));
    pending.id = 0;
    pending.requeues++;
    this.#waiting.requeue(pending);
  }

  #threadThatRan(taskId: number): PoolThread | undefined {
    const thread = this.#interrupted.get(taskId);
    this.#interrupted.delete(taskId);
    return thread;
  }
}
