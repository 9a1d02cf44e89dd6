/**
 * The supervisor's record of one task, from `run()` until it settles: what its thread receives, its
 * timers, and where it is (waiting in the queue, out on a thread under a dispatch id, answered).
 * The queue (queue.ts), the dispatcher (tasks.ts) and chunks (chunks.ts) all hold these.
 */

import { nextSpanId } from '../../telemetry/span.ts';
import type { KeepAlive } from './keep-alive.ts';
import type { TaskCorrelation, TaskEnvelope } from '../wire/protocol.ts';

/** A task from `run()` until it settles. Fields initialised up front (fixed shape on the hot path). */
export class PendingTask {
  readonly input: unknown;
  readonly task: string;
  readonly correlation: TaskCorrelation | null;
  readonly metadata: Readonly<Record<string, string | number>> | null;
  readonly onResolve: (value: unknown) => void;
  readonly onReject: (error: unknown) => void;
  readonly signal: AbortSignal | null;
  /** The pool's keep-alive, held from creation until the task settles (see keep-alive.ts). */
  readonly keepAlive: KeepAlive | null;
  /** The run's own deadline (RunOptions.timeoutMs), null for the pool's `taskTimeoutMs`. */
  readonly timeoutMs: number | null;
  settled = false;
  enqueuedAt = 0;
  dispatchedAt = 0;
  id = 0;
  /** Times it was handed back because the thread it went to was being replaced before running it. */
  requeues = 0;
  queueTimer: NodeJS.Timeout | null = null;
  killTimer: NodeJS.Timeout | null = null;
  abort: AbortController | null = null;
  timedOut = false;
  /** Set when it leaves the queue early (timeout, abort) so the lazy FIFO skips it. */
  removed = false;
  /** Set when its thread's answer arrived (inside a chunk: before its event batches may have). */
  answered = false;
  /** Holds a word of the cancel table while dispatched (it has a signal): see cancel-table.ts. */
  armed = false;

  constructor(
    input: unknown, task: string, correlation: TaskCorrelation | null, metadata: Readonly<Record<string, string | number>> | null,
    signal: AbortSignal | null, resolve: (value: unknown) => void, reject: (error: unknown) => void, keepAlive: KeepAlive | null = null,
    timeoutMs: number | null = null,
  ) {
    this.input = input;
    this.task = task;
    this.correlation = correlation;
    this.metadata = metadata;
    this.signal = signal;
    this.onResolve = resolve;
    this.onReject = reject;
    this.keepAlive = keepAlive;
    this.timeoutMs = timeoutMs;
    keepAlive?.hold();
  }

  resolve(value: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.keepAlive?.release();
    this.onResolve(value);
  }

  reject(error: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.keepAlive?.release();
    this.onReject(error);
  }

  /** What its thread receives, under dispatch id `id` (see TaskEnvelope: trailing entries only when set). */
  envelope(id: number): TaskEnvelope {
    // Only a task with its own deadline carries it (the thread otherwise uses the pool's).
    if (this.timeoutMs !== null) return [id, this.task, this.input, this.correlation, this.metadata, this.armed ? 1 : 0, this.timeoutMs];
    if (this.armed) return [id, this.task, this.input, this.correlation, this.metadata, 1];
    if (this.metadata !== null) return [id, this.task, this.input, this.correlation, this.metadata];
    return this.correlation !== null ? [id, this.task, this.input, this.correlation] : [id, this.task, this.input];
  }

  /**
   * Metadata of this task's worker.call events (emitted by the supervisor from the result or the
   * crash): its slot, span id, the caller's correlation and the run metadata, as its thread events carry them.
   */
  callMetadata(pool: string, slot: number): Record<string, unknown> {
    const meta: Record<string, unknown> = { telemetry_span_id: nextSpanId(), pool, worker_id: slot, task: this.task };
    if (this.correlation !== null) {
      meta.correlation_id = this.correlation[0];
      meta.traceparent = this.correlation[1];
    }
    if (this.metadata !== null) {
      for (const key in this.metadata) if (meta[key] === undefined) meta[key] = this.metadata[key];
    }
    return meta;
  }
}
