/**
 * What the supervisor side of a pool and its threads share: the boot data every thread receives, the
 * task envelope and result, and the layout of the shared memory both sides read without messages.
 * Imported by both sides; holds no state.
 */
import type { RecycleOptions } from './options.ts';

/** Per-slot fields of the slot table (an Int32Array over a SharedArrayBuffer). */
export const SlotField = {
  /** 0 free, 1 claimed by a live thread. */
  state: 0,
  threadId: 1,
  /** Rule-table version the thread has applied (acknowledgement of a control change). */
  rulesVersion: 2,
  /** Id of the task the thread is running, 0 when idle: tells the supervisor what a crash interrupted. */
  currentTask: 3,
  /** Tasks the thread has finished. */
  tasks: 4,
  /** Event batches posted on their own and not yet decoded by the supervisor (bounds memory). */
  pendingBatches: 5,
  /** Heap used after the thread's last task, in KiB (the recycled event reports it). */
  heapKiB: 6,
  /** Lowest pino level value `ctx.log` writes for this slot (set by the supervisor; 30 = info). */
  logLevel: 7,
} as const;
export const slotFieldCount = 8;

/**
 * Rule table shared with threads: Int32 header `[version, byteLength]` followed by the JSON of the
 * snapshot. Threads compare the version on each emit (one Atomics.load) so a change reaches a thread
 * even while it is busy in a long task, which a message could not.
 */
export const controlHeaderInts = 2;
export const controlBytes = 64 * 1024;

/** Everything a thread needs at boot (piscina `workerData`, identical for every thread). */
export interface ThreadBootData {
  /** File URL of thread-runtime (.ts from source, .js from dist); thread-entry.mjs imports it. */
  readonly runtime: string;
  /** Register tsx in the thread before importing the runtime and worker module. */
  readonly typescript: boolean;
  readonly pool: string;
  /** File URL of the worker module (its default export comes from `defineWorker`). */
  readonly module: string;
  readonly slots: SharedArrayBuffer;
  readonly slotCount: number;
  readonly control: SharedArrayBuffer;
  readonly recycle: RecycleOptions;
  readonly sampleIntervalMs: number | null;
  readonly flushIntervalMs: number;
  /** Events per batch before a mid-task flush. */
  readonly batchEvents: number;
  /** Standalone batches in flight before new events are dropped as `buffer_full`. */
  readonly maxPendingBatches: number;
  /** Soft deadline: `ctx.signal` aborts after this many ms (null: none). */
  readonly taskTimeoutMs: number | null;
}

/**
 * Sent to a thread for each task. Optional fields are left out rather than set to null: structured
 * clone pays per property, and a no-op task's round trip is a few microseconds (bench/pool-throughput).
 */
export interface TaskEnvelope {
  readonly id: number;
  readonly task: string;
  readonly input: unknown;
  /** `[correlationId, traceparent]` of the caller's async context, when it had one. */
  readonly correlation?: readonly [string, string];
  /** Catalog metadata added to every event of this task (e.g. queue, job_name, job_id). */
  readonly metadata?: Readonly<Record<string, string | number>>;
}

/** An error thrown by worker code, carried across the thread boundary. */
export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly stack: string | undefined;
  readonly code: string | undefined;
}

/** Events emitted in a thread, encoded (see encoding.ts); travels with results or on its own. */
export interface EventBatch {
  /** Records of float64s: `[event, nM, (key, value)*, nMd, (key, type, value)*]`. */
  readonly records: Float64Array;
  /** Strings referenced by records of this batch (interned per batch, so batches are independent). */
  readonly strings: readonly string[];
  /** Events this thread dropped since its previous batch, by reason. */
  readonly dropped: { readonly buffer_full: number; readonly invalid_measurement: number; readonly unknown_event: number };
  readonly logs: readonly ThreadLogRecord[];
}

/** A log line from worker code (`ctx.log`), written by the supervisor's logger. */
export interface ThreadLogRecord {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly msg: string;
  readonly fields: Readonly<Record<string, unknown>> | null;
  readonly time: number;
}

/**
 * A thread's answer to a task. Worker errors are answers too, so the thread's events still arrive.
 * Fields other than id, slot, value and duration are present only when set (see TaskEnvelope).
 */
export interface TaskResult {
  readonly id: number;
  /** Slot of the thread that answered (the `worker_id` of its events). */
  readonly slot: number;
  readonly value: unknown;
  /** Nanoseconds the worker's handler took in the thread (the `duration` of worker.call.stop/.exception). */
  readonly duration: number;
  /** Present when worker code threw. */
  error?: SerializedError;
  batch?: EventBatch;
  /** Present when the thread reached a recycle limit and asks to be replaced. */
  recycle?: string;
  /** Present when the thread refused the task because it is being recycled: run it elsewhere. */
  retry?: true;
}

/** Messages a thread posts on its own (they surface as piscina `'message'` events). */
export type ThreadMessage =
  | { readonly type: 'pitboss.hello'; readonly slot: number; readonly threadId: number; readonly bootMs: number }
  | { readonly type: 'pitboss.batch'; readonly slot: number; readonly threadId: number; readonly batch: EventBatch }
  | { readonly type: 'pitboss.recycle'; readonly slot: number; readonly threadId: number; readonly reason: string };
