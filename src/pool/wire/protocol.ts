/**
 * What the supervisor side of a pool and its threads share: the boot data every thread receives, the
 * task envelope and result, and the layout of the shared memory both sides read without messages.
 * Imported by both sides; holds no state.
 *
 * wire/ holds the formats of the thread boundary, each next to the code that reads and writes it:
 * this protocol, the event encoding and event rings, the shared settings (rule table, log levels)
 * and the cancel table. Both engine/ (supervisor side) and thread/ import them; nothing here imports
 * either, so a format change is one place and neither side can reach into the other.
 */
import type { MessagePort } from 'node:worker_threads';
import type { ThreadLogRecord } from '../../log/record.ts';

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
  /** `Date.now() | 0` when the current task started (written only with taskTimeoutMs): a chunked task's deadline is checked against it. */
  taskStartedMs: 8,
  /** How far the supervisor has read the slot's event ring (see event-ring.ts), in doubles. */
  ringRead: 9,
  /**
   * Id of the task whose answer the thread has just handed to piscina (0 once the next task starts,
   * or once a chunk's own post of the answer went through). piscina posts it after the task returns;
   * if that post throws (a value structured clone refuses), piscina rethrows it uncaught and the
   * thread dies: this names the task that killed it.
   */
  answering: 10,
} as const;
export const slotFieldCount = 11;

/**
 * When a thread replaces itself (PoolOptions `recycle`, resolved; null: no limit), checked after
 * each task. Declared here rather than in options.ts so the wire formats import nothing of the
 * public face (options.ts imports errors.ts, which imports this module).
 */
export interface RecycleLimits {
  readonly maxTasks: number | null;
  readonly maxLifetimeMs: number | null;
  readonly maxHeapBytes: number | null;
}

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
  /** The telemetry rule table (shared-settings.ts). */
  readonly ruleTable: SharedArrayBuffer;
  /** The event rings of every slot (event-ring.ts). */
  readonly events: SharedArrayBuffer;
  readonly recycle: RecycleLimits;
  readonly sampleIntervalMs: number | null;
  readonly flushIntervalMs: number;
  /** Events per batch before a mid-task flush. */
  readonly batchEvents: number;
  /** Standalone batches in flight before new events are dropped as `buffer_full`. */
  readonly maxPendingBatches: number;
  /** Soft deadline: `ctx.signal` aborts after this many ms (null: none). */
  readonly taskTimeoutMs: number | null;
  /** Words of abortable tasks (cancel-table.ts); its length is a power of two. */
  readonly cancels: SharedArrayBuffer;
}

/**
 * Sent to a thread for each task: `[id, task, input, correlation?, metadata?, armed?]`. Tuples rather than
 * objects, and optional entries left off the end: structured clone writes every property name of an
 * object on both sides, and a no-op task's whole round trip is a few microseconds (measured: a
 * 3-key object costs ~0.5 µs more to post and receive than the same values in an array).
 */
/**
 * The caller's correlation as a task carries it: `[correlationId, traceparent, tracestate?]`, the
 * tracestate left off when the trace has none (most tasks), so their envelope does not grow.
 */
export type TaskCorrelation = readonly [correlationId: string, traceparent: string, tracestate?: string];

export type TaskEnvelope = readonly [
  id: number,
  task: string,
  input: unknown,
  /** The caller's async context (see TaskCorrelation), null when it had none. */
  correlation?: TaskCorrelation | null,
  /** Catalog metadata added to every event of this task (e.g. queue, job_name, job_id). */
  metadata?: Readonly<Record<string, string | number>> | null,
  /** 1: the task can be called off until it starts (cancel-table.ts); the thread claims its word first. */
  armed?: 0 | 1,
  /** The run's own soft deadline in ms (RunOptions.timeoutMs), instead of the pool's taskTimeoutMs. */
  timeoutMs?: number,
];

/**
 * Several queued tasks handed to one thread at once (see chunks.ts): `[envelopes]`. The thread runs
 * them in order, posts each answer on its result port as `[id, result]` the moment it has it (so a
 * crash mid-chunk loses no finished task's answer), and answers the chunk with its slot.
 */
export type ChunkEnvelope = readonly [envelopes: readonly TaskEnvelope[]];

/** An answer inside a chunk, on the thread's result port. */
export type ChunkAnswer = readonly [id: number, result: TaskResult];

/** An error thrown by worker code, carried across the thread boundary. */
export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly stack: string | undefined;
  readonly code: string | undefined;
}

/**
 * Events emitted in a thread, encoded (see encoding.ts); travels with results or on its own:
 * `[records, length, strings, logs?]`. `records` is the offset of the batch in its slot's event ring
 * (event-ring.ts) or, when the ring had no room, a copy. The batch's `length` doubles open with its
 * drop counts (see BatchHeader), then hold records `[event, nM, (key, value)*, nMd, (key, type, value)*]`;
 * `strings` are the strings records refer to (interned per batch, so batches are independent).
 */
export type EventBatch = readonly [records: number | Float64Array, length: number, strings: readonly string[], logs?: readonly ThreadLogRecord[]];

/**
 * Thread events the supervisor writes to the record (job_actions): a thread ships them even when its
 * sampling rules drop them, flagged for record handlers only (see docs/telemetry.md#events-sampling-and-weights).
 */
export const recordedThreadEvents = ['action.stop', 'action.exception', 'job.progress'] as const;

/** Doubles at the start of `records`: events the thread dropped since its previous batch, by reason. */
export const BatchHeader = { buffer_full: 0, invalid_measurement: 1, unknown_event: 2 } as const;
export const batchHeaderDoubles = 3;

/**
 * A thread's answer to a task: `[slot, value, duration, batch?, outcome?]`, trailing entries left
 * off when unset (see TaskEnvelope). `slot` is the answering thread's slot (the `worker_id` of its
 * events); `duration` the nanoseconds the worker's handler took (worker.call.stop/.exception). Worker
 * errors are answers too, so the thread's events still arrive.
 */
export type TaskResult = readonly [slot: number, value: unknown, duration: number, batch?: EventBatch | null, outcome?: TaskOutcome];

/** The rare parts of an answer, present only when one of them is set. */
export interface TaskOutcome {
  /** Worker code threw. */
  error?: SerializedError;
  /** The thread reached a recycle limit and asks to be replaced. */
  recycle?: string;
  /** The thread refused the task because it is being recycled: run it elsewhere. */
  retry?: true;
  /** The task was called off before it started (cancel-table.ts); the supervisor settled it already. */
  skipped?: true;
}

/** Messages a thread posts on its own (they surface as piscina `'message'` events). */
export type ThreadMessage =
  | {
    readonly type: 'pitboss.hello'; readonly slot: number; readonly threadId: number; readonly bootMs: number;
    /** Where the thread posts the answers of chunked tasks; the pool reads it synchronously, never by event. */
    readonly results: MessagePort;
  }
  | { readonly type: 'pitboss.batch'; readonly slot: number; readonly threadId: number; readonly batch: EventBatch }
  | { readonly type: 'pitboss.recycle'; readonly slot: number; readonly threadId: number; readonly reason: string };
