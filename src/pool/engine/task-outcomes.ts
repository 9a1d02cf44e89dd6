/**
 * How a task that went to a thread ends. From its answer: a value, a worker error, a recycle request
 * from its thread, or a hand-back (the thread was being recycled). From piscina's rejection of it
 * (its thread died or was killed, or its chunk ended without its answer), classified here: a task
 * that never started runs elsewhere; one that did fails by its deadline, its caller's abort, the
 * pool's failure, a shutdown that interrupted it, or a crash of its own (`worker.call.crashed`).
 * The dispatcher (tasks.ts) sends tasks out and passes every answer and rejection here.
 */
import type { Telemetry } from '../../telemetry/bus.ts';
import { TaskFailedError, TaskInterruptedError, TaskTimeoutError, WorkerCrashedError } from '../../errors/pool.ts';
import type { ResolvedPoolOptions } from '../options.ts';
import type { TaskResult } from '../wire/protocol.ts';
import { drainAnswers, type ChunkPolicy } from './chunks.ts';
import type { ThreadInbox } from './inbox.ts';
import type { PendingTask } from './pending-task.ts';
import type { RunningTasks } from './running-tasks.ts';
import type { PoolState } from './state.ts';
import { classifyExit, errorMetadata, type PoolThread, type ThreadRegistry } from './threads.ts';

/** What settling needs from the rest of the pool. */
export interface OutcomeContext {
  readonly opts: ResolvedPoolOptions;
  readonly bus: Telemetry;
  readonly threads: ThreadRegistry;
  readonly inbox: ThreadInbox;
  state(): PoolState;
  /** Why the pool failed, or null. */
  failure(): Error | null;
  /** Terminates a thread on purpose (a task's answer asked for its recycle). */
  terminatePlanned(thread: PoolThread, reason: string): void;
  /** Hands queued tasks to free threads (a thread came free). */
  pump(): void;
  /** Puts a task that never ran back at the head of the queue (or rejects it when no thread is left to run it). */
  requeue(pending: PendingTask): void;
}

export class TaskOutcomes {
  readonly #ctx: OutcomeContext;
  readonly #opts: ResolvedPoolOptions;
  readonly #bus: Telemetry;
  readonly #threads: ThreadRegistry;
  readonly #inbox: ThreadInbox;
  readonly #running: RunningTasks;
  readonly #chunks: ChunkPolicy;

  constructor(ctx: OutcomeContext, running: RunningTasks, chunks: ChunkPolicy) {
    this.#ctx = ctx;
    this.#opts = ctx.opts;
    this.#bus = ctx.bus;
    this.#threads = ctx.threads;
    this.#inbox = ctx.inbox;
    this.#running = running;
    this.#chunks = chunks;
  }

  /** Settles every task whose answer waits on a thread's result port (a chunk ended, or its thread died). */
  drainAnswers(port: NonNullable<PoolThread['results']>): void {
    drainAnswers(port, (id, result) => {
      const pending = this.#running.get(id);
      if (pending === undefined || pending.answered) return;
      pending.answered = true;
      this.answered(pending, result);
    });
  }

  /** Settles a task from its thread's answer, once the event batches its thread posted before it are in. */
  answered(pending: PendingTask, result: TaskResult): void {
    // So a task's events precede its result (see ThreadInbox).
    if (!this.#inbox.hasPendingBatches(result[0])) this.#settledInOrder(pending, result);
    else this.#inbox.afterBatches(result[0], () => this.#settledInOrder(pending, result));
  }

  #settledInOrder(pending: PendingTask, [slot, value, duration, batch, outcome]: TaskResult): void {
    this.#running.finish(pending);
    const pool = this.#opts.name;
    if (outcome === undefined) {
      this.#chunks.observe(duration);
      // The common answer. The thread is free: hand it the next task before delivering this one's
      // events, so it does not sit idle meanwhile (piscina's own queue dispatches this early too).
      this.#ctx.pump();
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
      const thread = this.#threads.holding(slot);
      if (thread !== undefined) this.#ctx.terminatePlanned(thread, outcome.recycle);
    }
    if (outcome.retry === true) {
      this.#ctx.requeue(pending);
    } else if (outcome.error === undefined) {
      pending.resolve(value);
    } else {
      pending.reject(new TaskFailedError(pool, outcome.error));
    }
    this.#ctx.pump();
  }

  /** Settles a task piscina rejected, or that its chunk ended without answering (see the header). */
  rejected(pending: PendingTask, error: unknown): void {
    this.#running.finish(pending);
    const thread = this.#running.threadThatRan(pending.id);
    const pool = this.#opts.name;
    if (thread === undefined && !pending.timedOut && !pending.signal?.aborted && this.#ctx.state() !== 'failed') {
      // The thread went away before it started this task (recycled, crashed between tasks,
      // piscina rebuilt): the task never ran, so it is safe to run it elsewhere.
      this.#ctx.requeue(pending);
      return this.#ctx.pump();
    }
    const failure = pending.timedOut ? new TaskTimeoutError(pool, pending.timeoutMs ?? this.#opts.taskTimeoutMs ?? 0, pending.timeoutMs !== null)
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
    this.#ctx.pump();
  }

  /** What a task gets when the thread running it died: its own crash, or an interruption the pool made (shutdown). */
  #crashOf(thread: PoolThread | undefined, error: unknown): Error {
    const pool = this.#opts.name;
    if (thread !== undefined && thread.faultTask === null && thread.plannedReason !== null) return new TaskInterruptedError(pool, thread.plannedReason);
    return new WorkerCrashedError(pool, classifyExit(thread?.error ?? null, 0, thread?.diedAnswering), thread?.error ?? error,
      thread?.diedAnswering === true ? 'it finished this task but could not send its answer (a value structured clone refuses, e.g. a function, cannot leave a thread)' : undefined);
  }
}
