/**
 * The in-thread runtime: piscina loads this file in every thread of a pool (by path, through
 * thread-entry.mjs; it is never exported from the package). It claims a stable slot, loads the
 * worker module, runs tasks with a `WorkerContext`, and ships the thread's events to the supervisor
 * in batches.
 *
 * thread/ is the only code that runs inside a worker thread, kept apart so what a thread loads is
 * visible at a glance: this runtime, the wire formats (../wire/) and defineWorker's types, never the
 * supervisor-side engine. engine/runtime-path.ts computes the paths of these files.
 */
import v8 from 'node:v8';
import { MessageChannel, parentPort, threadId, workerData } from 'node:worker_threads';
import { createTelemetry } from '../../telemetry/bus.ts';
import { describeError } from '../../errors/describe.ts';
import { isPromiseLike } from '../../telemetry/span.ts';
import { currentCorrelation, restoreCorrelation } from '../../telemetry/correlation.ts';
import { isWorkerDefinition, type WorkerContext, type WorkerDefinition, type WorkerLogger } from '../define.ts';
import { finishArmed, startArmed } from '../wire/cancel-table.ts';
import { BatchEncoder } from '../wire/encoding.ts';
import { RingWriter } from '../wire/event-ring.ts';
import {
  recordedThreadEvents, SlotField, slotFieldCount, type ChunkAnswer, type ChunkEnvelope, type SerializedError, type TaskEnvelope, type TaskOutcome, type TaskResult,
  type ThreadBootData,
} from '../wire/protocol.ts';
import type { ThreadLogRecord } from '../../log/record.ts';
import { RulesReader } from '../wire/shared-settings.ts';
import { ProgressReporter } from './progress.ts';

const bootStarted = performance.now();
const boot = workerData as ThreadBootData;
const slots = new Int32Array(boot.slots);
const cancels = new Int32Array(boot.cancels);
const slot = claimSlot();
const base = slot * slotFieldCount;
const bus = createTelemetry({ scope: { pool: boot.pool, worker: slot } });
const encoder = new BatchEncoder(boot.batchEvents, new RingWriter(boot.events, slots, slot));
const rules = new RulesReader(boot.ruleTable);
const startedAt = Date.now();
let tasksDone = 0;
let recycleReason: string | null = null;
/** Answers of chunked tasks go out here one by one; the pool drains the other end when the chunk ends or the thread dies. */
const answers = new MessageChannel();
/** Metadata of the running task, joined to each of its events (one task at a time per thread). */
let taskMetadata: Readonly<Record<string, unknown>> | null = null;
/** `ctx.progress` of the running task: only a job's task (its metadata names the job) reports. */
const progress = new ProgressReporter((json, fraction, size, now) => {
  bus.execute('job.progress', fraction === null ? { size } : { progress: fraction, size }, { progress_json: json });
  // Mid-task, the report leaves now rather than with the answer: a CPU-bound task never turns the
  // event loop for the flush timer, and a job's progress is for watching it while it runs.
  if (now && !encoder.empty) flush();
});

// Every event of this thread's bus goes to the encoder; the supervisor re-executes them.
bus.attach('pitboss.transport', '*', (event, measurements, metadata) => {
  ship(event, measurements, metadata, false);
}, undefined, { correlation: true }); // thread events carry the task's correlation to the supervisor

// The events the supervisor writes to the record (job_actions) cross even when this thread's rules
// sample them out, marked so the supervisor hands them to record handlers only. Sampling stays the
// first check for everything else; at rate 1 this handler returns at once (weight 1).
bus.attachMany('pitboss.transport.record', recordedThreadEvents, (event, measurements, metadata, _config, weight) => {
  if (weight === 0) ship(event, measurements, metadata, true);
}, undefined, { record: true });

function ship(event: string, measurements: object, metadata: object, sampledOut: boolean): void {
  if (encoder.full && !flush()) {
    encoder.countDrop('buffer_full');
    return;
  }
  encoder.encode(event, measurements as Readonly<Record<string, unknown>>, metadata as Readonly<Record<string, unknown>>, taskMetadata, sampledOut);
}

// No top-level await: piscina first require()s this file, and under tsx a module with top-level
// await then fails to load at all ("Unknown file extension .ts", measured on Node 20).
let definition: WorkerDefinition | null = null;
const ready = loadWorkerModule().then(
  (loaded) => {
    definition = loaded;
    syncRules();
    parentPort!.postMessage({ type: 'pitboss.hello', slot, threadId, bootMs: performance.now() - bootStarted, results: answers.port2 }, [answers.port2]);
    startTimers();
  },
  (error: unknown) => {
    // A worker module that cannot load kills the thread during bootstrap, which the pool reports
    // as pool.worker.spawn_failed and counts against its intensity.
    setImmediate(() => { throw error; });
  },
);

async function loadWorkerModule(): Promise<WorkerDefinition> {
  const exported = (await import(boot.module) as { default?: unknown }).default;
  if (!isWorkerDefinition(exported)) throw new Error(`${boot.module} must default-export defineWorker(...) (PITBOSS_INVALID_WORKER)`);
  return exported;
}

/** piscina calls this for every task or chunk of tasks. */
export default async function runTask(envelope: TaskEnvelope | ChunkEnvelope): Promise<TaskResult | number> {
  if (definition === null) await ready;
  if (!isChunk(envelope)) return (await runOne(envelope)) ?? [slot, undefined, 0, null, { skipped: true }];
  for (const one of envelope[0]) {
    const answered = await runOne(one);
    // Called off before it started: the supervisor settled it already and expects no answer.
    if (answered === null) continue;
    const answer: ChunkAnswer = [one[0], answered];
    try {
      answers.port1.postMessage(answer);
    } catch (error) {
      // A value structured clone refuses (a function, a socket): the task fails, the chunk goes on.
      const [, , duration, batch, outcome] = answer[1];
      answers.port1.postMessage([one[0], [slot, undefined, duration, batch ?? null, { ...outcome, error: serializeError(error) }]] satisfies ChunkAnswer);
    }
    // Posted: a death from here on is not this answer's (SlotField.answering names a post that can kill).
    Atomics.store(slots, base + SlotField.answering, 0);
  }
  return slot;
}

const isChunk = (envelope: TaskEnvelope | ChunkEnvelope): envelope is ChunkEnvelope => Array.isArray(envelope[0]);

/**
 * Runs one task; null when it was called off before it started (cancel-table.ts). Worker errors are
 * returned, not thrown, so events still travel.
 */
async function runOne(envelope: TaskEnvelope): Promise<TaskResult | null> {
  const worker = definition!;
  if (recycleReason !== null) return result(undefined, null, true, 0);
  const [id, task, input, correlation, metadata, armed, ownTimeoutMs] = envelope;
  Atomics.store(slots, base + SlotField.answering, 0);
  // Only a chunk's deadline watchdog reads it, and there is none without taskTimeoutMs. Stamped
  // before the task is named running, so the watchdog never pairs this task with an older stamp.
  if (boot.taskTimeoutMs !== null) Atomics.store(slots, base + SlotField.taskStartedMs, Date.now() | 0);
  // Named as running before claiming its start, so a supervisor that sees the claim finds the thread.
  Atomics.store(slots, base + SlotField.currentTask, id);
  if (armed === 1 && !startArmed(cancels, id)) {
    Atomics.store(slots, base + SlotField.currentTask, 0);
    return null;
  }
  syncRules();
  taskMetadata = metadata ?? null;
  progress.begin(metadata?.job_id !== undefined);
  const correlationId = correlation?.[0] ?? null;
  const traceparent = correlation?.[1] ?? null;
  const tracestate = correlation?.[2];
  const ctx = new TaskContext(task, correlationId, traceparent, tracestate ?? null);
  const timeoutMs = ownTimeoutMs ?? boot.taskTimeoutMs;
  const deadline = timeoutMs === null ? null : setTimeout(() => ctx.abort(deadlineError(ownTimeoutMs === undefined ? 'taskTimeoutMs' : 'run timeoutMs', timeoutMs)), timeoutMs);
  // worker.call.start/stop/exception are emitted by the supervisor from this result: a task that emits
  // nothing itself then sends no event batch, whose transfer and decode cost more than a no-op
  // task's whole round trip (bench/pool-throughput).
  const call = (): unknown => worker.handler(input, ctx);
  let value: unknown;
  let error: SerializedError | null = null;
  const started = performance.now();
  try {
    const returned = correlationId === null || traceparent === null ? call()
      : restoreCorrelation(tracestate === undefined ? { correlationId, traceparent } : { correlationId, traceparent, tracestate }, call);
    value = isPromiseLike(returned) ? await returned : returned;
    // A run's own deadline (a job's timeoutMs) bounds its answer too: a CPU-bound task that never
    // yields cannot see the signal abort, and would otherwise complete however late it returned.
    if (ownTimeoutMs !== undefined && performance.now() - started > ownTimeoutMs) {
      error = serializeError(Object.assign(deadlineError('run timeoutMs', ownTimeoutMs), { message: `task deadline (run timeoutMs ${ownTimeoutMs} ms) passed before it returned` }));
      value = undefined;
    }
  } catch (thrown) {
    error = serializeError(ctx.deadlineReached ? afterDeadline(ctx.signal.reason as Error, thrown) : thrown);
  } finally {
    if (deadline !== null) clearTimeout(deadline);
    progress.settle();
    Atomics.store(slots, base + SlotField.currentTask, 0);
    if (armed === 1) finishArmed(cancels, id);
    taskMetadata = null;
  }
  const duration = Math.round((performance.now() - started) * 1e6);
  tasksDone++;
  Atomics.store(slots, base + SlotField.tasks, tasksDone);
  checkRecycle();
  Atomics.store(slots, base + SlotField.answering, id);
  return result(value, error, false, duration);
}

/** The answer in its shortest form: trailing entries only when set (see TaskResult). */
function result(value: unknown, error: SerializedError | null, retry: boolean, duration: number): TaskResult {
  const batch = encoder.take();
  if (error === null && recycleReason === null && !retry) return batch === null ? [slot, value, duration] : [slot, value, duration, batch];
  const outcome: TaskOutcome = {};
  if (error !== null) outcome.error = error;
  if (recycleReason !== null) outcome.recycle = recycleReason;
  if (retry) outcome.retry = true;
  return [slot, value, duration, batch, outcome];
}

/**
 * What worker code receives with each task: a class, so every task's context has one shape and its
 * methods live on the prototype instead of being three closures per task. The AbortController is
 * made on first use of `signal`: `new AbortController()` costs ~5 µs on Node 20, more than a no-op
 * task's whole thread-side work, and most tasks never look at it.
 */
class TaskContext implements WorkerContext {
  readonly pool = boot.pool;
  readonly workerId = slot;
  readonly threadId = threadId;
  readonly task: string;
  readonly correlationId: string | null;
  readonly traceparent: string | null;
  readonly tracestate: string | null;
  readonly log = log;
  #controller: AbortController | null = null;
  /** Set when the task's soft deadline aborted `signal`. */
  deadlineReached = false;

  constructor(task: string, correlationId: string | null, traceparent: string | null, tracestate: string | null) {
    this.task = task;
    this.correlationId = correlationId;
    this.traceparent = traceparent;
    this.tracestate = tracestate;
  }

  get signal(): AbortSignal {
    this.#controller ??= new AbortController();
    return this.#controller.signal;
  }

  abort(reason: Error): void {
    this.deadlineReached = true;
    this.#controller ??= new AbortController();
    this.#controller.abort(reason);
  }

  progress(value: unknown): void {
    progress.report(value);
  }

  emit(...[event, measurements, metadata]: Parameters<WorkerContext['emit']>): void {
    syncRules();
    bus.execute(event, measurements, metadata);
  }

  span<T>(...[prefix, metadata, fn]: [Parameters<WorkerContext['span']>[0], Parameters<WorkerContext['span']>[1], () => T]): T {
    syncRules();
    return bus.span(prefix, metadata, fn);
  }
}

const levelValues = { debug: 20, info: 30, warn: 40, error: 50 } as const;
const logAt = (level: ThreadLogRecord['level']) => {
  const value = levelValues[level];
  return (msg: string, fields?: Record<string, unknown>): void => {
    // The supervisor keeps this slot's level in shared memory: a disabled level costs one load here.
    if (value < Atomics.load(slots, base + SlotField.logLevel)) return;
    const own = fields === undefined ? null : safeFields(fields);
    // The task's correlation (a job's, or a traced caller's): the supervisor turns the traceparent
    // into the line's trace_id, so a worker's lines join its job's trace without the worker passing it.
    const correlation = currentCorrelation();
    const stamped = correlation === undefined ? own : { correlation_id: correlation.correlationId, traceparent: correlation.traceparent, ...own };
    encoder.addLog({ level, msg: String(msg), fields: stamped, time: Date.now() });
  };
};
const log: WorkerLogger = { debug: logAt('debug'), info: logAt('info'), warn: logAt('warn'), error: logAt('error') };

/** Posts the pending batch on its own; false when too many are already in flight (memory bound). */
function flush(): boolean {
  if (Atomics.load(slots, base + SlotField.pendingBatches) >= boot.maxPendingBatches) return false;
  const batch = encoder.take();
  if (batch === null) return true;
  Atomics.add(slots, base + SlotField.pendingBatches, 1);
  parentPort!.postMessage({ type: 'pitboss.batch', slot, threadId, batch });
  return true;
}

function syncRules(): void {
  const snapshot = rules.readIfChanged();
  if (snapshot === null) return;
  bus.control.apply(snapshot);
  Atomics.store(slots, base + SlotField.rulesVersion, snapshot.version);
}

function checkRecycle(): void {
  if (recycleReason !== null) return;
  const { maxTasks, maxLifetimeMs, maxHeapBytes } = boot.recycle;
  if (maxTasks !== null && tasksDone >= maxTasks) recycleReason = 'max_tasks';
  else if (maxHeapBytes !== null && readHeap() >= maxHeapBytes) recycleReason = 'max_heap';
  else if (maxLifetimeMs !== null && Date.now() - startedAt >= maxLifetimeMs) recycleReason = 'max_lifetime';
  // The heap goes into the slot table for pool.worker.recycled; without a heap limit it is only
  // needed when the thread is about to be recycled.
  if (recycleReason !== null && maxHeapBytes === null) readHeap();
}

/** Heap used now, also published in the slot table. */
function readHeap(): number {
  // v8.getHeapStatistics() is the same number as memoryUsage().heapUsed without the RSS read
  // (/proc/self/stat: open, read, close), 0.3 µs instead of 5 µs per task on Node 20.
  const heapUsed = v8.getHeapStatistics().used_heap_size;
  Atomics.store(slots, base + SlotField.heapKiB, Math.min(2 ** 31 - 1, Math.round(heapUsed / 1024)));
  return heapUsed;
}

function startTimers(): void {
  // Timers are unref'd: they must never keep a thread alive, and they only run between tasks
  // (piscina's async atomics mode lets the event loop turn while idle).
  setInterval(() => {
    syncRules();
    if (!encoder.empty) flush();
  }, boot.flushIntervalMs).unref();
  if (boot.sampleIntervalMs !== null) {
    setInterval(() => {
      const memory = process.memoryUsage();
      bus.execute('worker.memory.sampled', { heap_used: memory.heapUsed, heap_total: memory.heapTotal, external: memory.external });
    }, boot.sampleIntervalMs).unref();
  }
  if (boot.recycle.maxLifetimeMs !== null) {
    // An idle thread past its lifetime asks to be replaced; a busy one is caught after its task.
    setInterval(() => {
      if (recycleReason !== null || Atomics.load(slots, base + SlotField.currentTask) !== 0) return;
      checkRecycle();
      if (recycleReason !== null) parentPort!.postMessage({ type: 'pitboss.recycle', slot, threadId, reason: recycleReason });
    }, Math.max(10, Math.min(1000, boot.recycle.maxLifetimeMs / 4))).unref();
  }
}

/** Takes the lowest free slot, so a replacement thread inherits the worker_id of the one it replaces. */
function claimSlot(): number {
  for (let i = 0; i < boot.slotCount; i++) {
    if (Atomics.compareExchange(slots, i * slotFieldCount + SlotField.state, 0, 1) === 0) {
      const at = i * slotFieldCount;
      Atomics.store(slots, at + SlotField.threadId, threadId);
      for (const field of [SlotField.rulesVersion, SlotField.currentTask, SlotField.tasks, SlotField.pendingBatches, SlotField.heapKiB, SlotField.answering]) {
        Atomics.store(slots, at + field, 0);
      }
      return i;
    }
  }
  throw new Error(`pool ${boot.pool}: no free worker slot for thread ${threadId}`);
}

function serializeError(error: unknown): SerializedError {
  const { error_type, error: message } = describeError(error);
  const code = typeof (error as { code?: unknown } | null)?.code === 'string' ? (error as { code: string }).code : undefined;
  return { name: error_type, message, stack: error instanceof Error ? error.stack : undefined, code };
}

/** What `ctx.signal` aborts with at a task's soft deadline; code PITBOSS_TASK_TIMEOUT as the hard deadline's TaskTimeoutError. */
function deadlineError(limit: string, ms: number): Error {
  return Object.assign(new Error(`task deadline (${limit} ${ms} ms) reached`), { name: 'TimeoutError', code: 'PITBOSS_TASK_TIMEOUT' });
}

/** A task that failed once its deadline passed failed by the deadline, whatever it threw on the way out. */
function afterDeadline(deadline: Error, thrown: unknown): Error {
  if (thrown === deadline) return deadline;
  return Object.assign(new Error(`${deadline.message}; the task then threw: ${describeError(thrown).error}`), { name: deadline.name, code: 'PITBOSS_TASK_TIMEOUT' });
}

function safeFields(fields: Record<string, unknown>): Record<string, unknown> | null {
  try {
    return structuredClone(fields);
  } catch {
    return { unserializable_fields: true };
  }
}
