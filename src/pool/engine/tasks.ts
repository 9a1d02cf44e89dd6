/**
 * The task side of a pool: admission of `run()` calls, dispatch to piscina (at most one task or
 * chunk per thread, so waiting is visible in the pool's own queue, queue.ts), aborts and kill
 * timers. Tasks out on threads are tracked in running-tasks.ts and settled from their answer or
 * their thread's death in task-outcomes.ts. The thread lifecycle it relies on lives in core.ts.
 */
import type { Piscina } from 'piscina';
import type { Telemetry } from '../../telemetry/bus.ts';
import { currentCorrelation } from '../../telemetry/correlation.ts';
import { PoolClosedError } from '../../errors/pool.ts';
import type { ResolvedPoolOptions } from '../options.ts';
import type { CancelTable } from '../wire/cancel-table.ts';
import type { ChunkEnvelope, TaskCorrelation, TaskResult } from '../wire/protocol.ts';
import { Chunk, ChunkPolicy } from './chunks.ts';
import type { ThreadInbox } from './inbox.ts';
import type { KeepAlive } from './keep-alive.ts';
import { PendingTask } from './pending-task.ts';
import { TaskQueue } from './queue.ts';
import { RunningTasks } from './running-tasks.ts';
import type { PoolState } from './state.ts';
import { TaskOutcomes } from './task-outcomes.ts';
import type { PoolThread, ThreadRegistry } from './threads.ts';

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
  readonly #threads: ThreadRegistry;
  readonly #keepAlive: KeepAlive;
  readonly #queue: TaskQueue;
  readonly #running: RunningTasks;
  readonly #outcomes: TaskOutcomes;
  readonly #chunks: ChunkPolicy;
  /** Threads piscina is running a task or chunk on (each has at most one). */
  #busyThreads = 0;
  /** How tasks went to threads: one per piscina task, or in chunks (see Pool.dispatched). */
  readonly dispatched = { single: 0, chunks: 0, chunkedTasks: 0 };

  constructor(ctx: DispatchContext) {
    this.#ctx = ctx;
    this.#opts = ctx.opts;
    this.#threads = ctx.threads;
    this.#keepAlive = ctx.keepAlive;
    this.#queue = new TaskQueue(ctx.opts, ctx.bus);
    this.#running = new RunningTasks(ctx.cancels);
    this.#chunks = new ChunkPolicy(ctx.opts.chunkMaxTasks, ctx.opts.chunkMaxTaskMs);
    this.#outcomes = new TaskOutcomes({
      opts: ctx.opts, bus: ctx.bus, threads: ctx.threads, inbox: ctx.inbox,
      state: ctx.state, failure: ctx.failure, terminatePlanned: ctx.terminatePlanned,
      pump: () => this.pump(),
      requeue: (pending) => this.#requeue(pending),
    }, this.#running, this.#chunks);
  }

  get queueSize(): number {
    return this.#queue.size;
  }

  /** Threads busy with a task or chunk. */
  get busy(): number {
    return this.#busyThreads;
  }

  /** Nothing queued and nothing running. */
  get idle(): boolean {
    return this.#running.size === 0 && this.#queue.size === 0;
  }

  /** Empties the queue, returning what was waiting (the core settles them as it closes or fails). */
  drainQueue(): PendingTask[] {
    return this.#queue.drain();
  }

  /** A dying thread was running task `taskId` (see ThreadEvents.interrupted); its name while it still awaits its answer. */
  noteInterrupted(thread: PoolThread, taskId: number): string | null {
    return this.#running.noteInterrupted(thread, taskId);
  }

  /** Settles every task whose answer waits on a thread's result port (a chunk ended, or its thread died). */
  drainAnswers(port: NonNullable<PoolThread['results']>): void {
    this.#outcomes.drainAnswers(port);
  }

  run(input: unknown, task: string, metadata: Readonly<Record<string, string | number>> | null, signal: AbortSignal | null, timeoutMs: number | null): Promise<unknown> {
    const state = this.#ctx.state();
    if (state !== 'running' && state !== 'starting') {
      return Promise.reject(this.#ctx.failure() ?? new PoolClosedError(this.#opts.name, state === 'idle' ? 'is not started (call start() first)' : undefined));
    }
    if (signal?.aborted) return Promise.reject(signal.reason);
    const correlation = currentCorrelation();
    return new Promise((resolve, reject) => {
      const context: TaskCorrelation | null = correlation === undefined ? null
        : correlation.tracestate === undefined ? [correlation.correlationId, correlation.traceparent]
          : [correlation.correlationId, correlation.traceparent, correlation.tracestate];
      const now = this.#busyThreads < this.#capacity() && this.#queue.size === 0 && this.#ctx.state() === 'running';
      const refused = now ? null : this.#queue.refusal();
      if (refused !== null) return reject(refused);
      let pending: PendingTask;
      if (signal === null) {
        pending = new PendingTask(input, task, context, metadata, null, resolve, reject, this.#keepAlive, timeoutMs);
      } else {
        // The listener leaves with the task: a signal shared by many runs must not collect them.
        const onAbort = (): void => this.#aborted(pending);
        const settled = (): void => signal.removeEventListener('abort', onAbort);
        pending = new PendingTask(
          input, task, context, metadata, signal, (value) => { settled(); resolve(value); }, (error) => { settled(); reject(error); }, this.#keepAlive, timeoutMs,
        );
        signal.addEventListener('abort', onAbort, { once: true });
      }
      if (now) return this.#dispatch(pending);
      this.#queue.admit(pending);
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
      if (this.#queue.withdraw(pending)) pending.reject(reason);
      return;
    }
    if (!pending.armed || pending.answered || this.#running.get(pending.id) !== pending) return;
    const state = this.#running.cancel(pending);
    if (state === 'cancelled') {
      // Its thread will skip it; nothing of it is left to wait for.
      pending.answered = true;
      this.#running.finish(pending);
      pending.reject(reason);
      this.pump();
    } else if (state === 'running') {
      const thread = this.#threads.running(pending.id);
      if (thread !== undefined) this.#terminate(pending, thread, 'aborted');
    }
  }

  /** Stops the thread running `pending`; the task settles from the thread's death (see TaskOutcomes.rejected). */
  #terminate(pending: PendingTask, thread: PoolThread, reason: 'timeout' | 'aborted'): void {
    this.#markKilled(pending, thread, reason);
    void thread.worker.terminate();
  }

  /** Notes that `thread` dies over `pending` (its deadline: the task's fault; an abort: nobody's) and takes it out of the ready threads. */
  #markKilled(pending: PendingTask, thread: PoolThread, reason: 'timeout' | 'aborted'): void {
    thread.killReason = reason;
    if (reason === 'timeout') thread.faultTask = pending.task;
    this.#running.noteKilled(thread, pending.id);
    this.#threads.retire(thread);
  }

  /** Hands queued tasks to free threads, several at once to a thread while tasks are short (chunks.ts). */
  pump(): void {
    while (this.#pumping() && this.#busyThreads < this.#capacity() && this.#queue.size > 0) {
      const size = this.#chunks.size(this.#queue.size, this.#capacity() - this.#busyThreads);
      // A task with its own deadline goes alone: its kill timer is then the plain one of #dispatch.
      if (size === 1 || this.#queue.peek()!.timeoutMs !== null) {
        this.#dispatch(this.#queue.take());
        continue;
      }
      const tasks = [this.#queue.take()];
      // size ≤ tasks waiting, unless a pool.queue.dequeued handler aborted one of them meanwhile.
      while (tasks.length < size && this.#queue.size > 0 && this.#queue.peek()!.timeoutMs === null) tasks.push(this.#queue.take());
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

  #dispatch(pending: PendingTask): void {
    const id = this.#running.assign(pending);
    this.#busyThreads++;
    this.dispatched.single++;
    // piscina's abort only for the hard deadline; a caller's abort goes through the cancel table.
    let signal: AbortSignal | undefined;
    const timeoutMs = pending.timeoutMs ?? this.#opts.taskTimeoutMs;
    if (timeoutMs !== null) {
      const abort = new AbortController();
      pending.abort = abort;
      signal = abort.signal;
      pending.killTimer = setTimeout(() => {
        pending.timedOut = true;
        this.#kill(pending, abort);
      }, timeoutMs + this.#opts.killGraceMs);
    }
    this.#ctx.piscina()!.run(pending.envelope(id), { signal }).then(
      (result: TaskResult) => {
        this.#busyThreads--;
        // Called off before it started (the answer says skipped), or settled otherwise meanwhile.
        if (this.#running.get(id) !== pending) return this.pump();
        pending.answered = true;
        this.#outcomes.answered(pending, result);
      },
      (error: unknown) => {
        this.#busyThreads--;
        if (this.#running.get(id) !== pending) return this.pump();
        this.#outcomes.rejected(pending, error);
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
   * chunk ends (or its thread dies, see #threadExited in core.ts) they are read there
   * (TaskOutcomes.drainAnswers). Any task without an answer then is settled like a single task
   * piscina rejected: crashed if it was running, else run elsewhere.
   */
  #dispatchChunk(chunk: Chunk): void {
    const envelopes = chunk.tasks.map((pending) => pending.envelope(this.#running.assign(pending)));
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
        this.#threads.withResults(slot, (results) => {
          if (results !== null) this.drainAnswers(results);
          this.#chunkEnded(chunk, new Error(`pool ${this.#opts.name}: a chunk ended without the answer of one of its tasks`));
        });
      },
      (error: unknown) => {
        this.#busyThreads--;
        chunk.stop();
        this.#threads.afterUnannouncedDeaths(() => this.#chunkEnded(chunk, error));
      },
    );
  }

  #chunkEnded(chunk: Chunk, error: unknown): void {
    for (const pending of chunk.unanswered()) this.#outcomes.rejected(pending, error);
    this.pump();
  }

  #requeue(pending: PendingTask): void {
    // Threads already destroyed (a close past its timeout, a failed pool): nothing would run it.
    if (this.#ctx.piscina() === null) return pending.reject(this.#ctx.failure() ?? new PoolClosedError(this.#opts.name));
    pending.id = 0;
    pending.requeues++;
    this.#queue.requeue(pending);
  }
}
