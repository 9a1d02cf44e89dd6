/**
 * The telemetry catalog: the one source of truth for every event pitboss emits. Types for
 * `execute`/`attach` are derived from this table, docs/telemetry.md's event table is generated from it and
 * pinned by a test, and a coverage test proves each entry is emitted by real code.
 *
 * Units: durations are nanoseconds (`duration`, `wait`, `lifetime`, `downtime`, `queue_time`, `lateness`),
 * sizes are bytes, utilization is a 0..1 ratio. Only `labels` may become metric labels; the other
 * metadata (error messages, job ids, thread ids) is unbounded and stays out of metrics.
 */
import type { EventSpec } from './types.ts';

const spec = <const S extends EventSpec>(s: S): S => s;

const pool = ['pool'] as const;
const poolWorker = ['pool', 'worker_id'] as const;
const poolTask = ['pool', 'task'] as const;
const workerCall = ['pool', 'worker_id', 'task'] as const;
const jobKeys = ['queue', 'job_name'] as const;
const childKeys = ['supervisor', 'child', 'reason', 'strategy'] as const;

/** The built-in event catalog: every event pitboss emits, with its measurements, metadata keys and meaning (the one source of truth; docs/telemetry.md is generated from it). */
export const catalog = {
  // ── pool ──────────────────────────────────────────────────────────────────────────────────────
  'pool.initialized': spec({ measurements: ['duration', 'workers'], metadata: pool, labels: pool, description: 'A pool finished starting its threads.' }),
  'pool.status': spec({ measurements: ['queue_depth', 'busy_workers', 'idle_workers', 'utilization'], metadata: pool, labels: pool, description: 'Periodic snapshot of a pool.' }),
  'pool.saturated': spec({ measurements: ['queue_size', 'max_queue'], metadata: pool, labels: pool, description: 'A task was refused because the pool queue is full.' }),
  'pool.queue.enqueued': spec({ measurements: ['queue_size'], metadata: poolTask, labels: poolTask, description: 'A task waits in the pool queue.' }),
  'pool.queue.dequeued': spec({ measurements: ['wait'], metadata: poolTask, labels: poolTask, description: 'A queued task was handed to a thread.' }),
  'pool.queue.timeout': spec({ measurements: ['wait'], metadata: poolTask, labels: poolTask, description: 'A queued task waited longer than queueTimeoutMs.' }),
  'pool.worker.spawn_started': spec({ measurements: [], metadata: poolWorker, labels: poolWorker, description: 'A thread is being created.' }),
  'pool.worker.spawned': spec({ measurements: ['duration'], metadata: [...poolWorker, 'thread_id'], labels: poolWorker, description: 'A thread is ready to take tasks.' }),
  'pool.worker.spawn_failed': spec({ measurements: ['duration'], metadata: [...poolWorker, 'error_type', 'error'], labels: [...poolWorker, 'error_type'], description: 'A thread died while starting.' }),
  'pool.worker.terminated': spec({ measurements: ['lifetime', 'tasks'], metadata: [...poolWorker, 'thread_id', 'reason', 'planned'], labels: [...poolWorker, 'reason', 'planned'], description: 'A thread ended (crash, recycle or shutdown).' }),
  'pool.worker.restarted': spec({ measurements: ['downtime', 'restarts'], metadata: [...poolWorker, 'thread_id', 'reason', 'fault'], labels: [...poolWorker, 'reason', 'fault'], description: 'A replacement thread took over a crashed slot; fault is task when the task it ran killed the thread (not counted against intensity), thread when it died on its own.' }),
  'pool.worker.recycled': spec({ measurements: ['lifetime', 'tasks', 'heap_bytes'], metadata: [...poolWorker, 'thread_id', 'reason', 'planned'], labels: [...poolWorker, 'reason', 'planned'], description: 'A thread was replaced on purpose (task count, age or heap).' }),
  // ── worker ────────────────────────────────────────────────────────────────────────────────────
  'worker.call.start': spec({ measurements: [], metadata: workerCall, labels: workerCall, description: 'A thread ran a task; sent with its end, once the answer is back (the supervisor hears of a task once), so it cannot count tasks in flight: pool.status (busy_workers) and pool.threads() can.' }),
  'worker.call.stop': spec({ measurements: ['duration'], metadata: workerCall, labels: workerCall, description: 'A task returned.' }),
  'worker.call.exception': spec({ measurements: ['duration'], metadata: [...workerCall, 'error_type', 'error'], labels: [...workerCall, 'error_type'], description: 'A task threw or its thread died.' }),
  'worker.call.crashed': spec({ measurements: ['duration'], metadata: [...workerCall, 'reason', 'error_type', 'error'], labels: [...workerCall, 'reason'], description: 'A task killed its thread (reason crash, exit, oom, timeout or unclonable_answer): the task failed, the thread is replaced, and the pool\'s restart intensity is not charged. A poison task type shows here.' }),
  'worker.memory.sampled': spec({ measurements: ['heap_used', 'heap_total', 'external'], metadata: poolWorker, labels: poolWorker, description: 'Heap statistics of a thread.' }),
  'worker.cpu.sampled': spec({ measurements: ['utilization'], metadata: poolWorker, labels: poolWorker, description: 'Event-loop utilization of a thread since the previous sample.' }),
  // ── job ───────────────────────────────────────────────────────────────────────────────────────
  'job.enqueued': spec({ measurements: [], metadata: [...jobKeys, 'job_id'], labels: jobKeys, description: 'A job row was committed and dispatched.' }),
  'job.start': spec({ measurements: ['queue_time', 'attempt'], metadata: [...jobKeys, 'job_id'], labels: jobKeys, description: 'An attempt of a job started on a thread.' }),
  'job.stop': spec({ measurements: ['duration', 'queue_time', 'attempt'], metadata: [...jobKeys, 'job_id', 'status'], labels: [...jobKeys, 'status'], description: 'An attempt finished (status completed).' }),
  'job.exception': spec({ measurements: ['duration', 'attempt'], metadata: [...jobKeys, 'job_id', 'status', 'error_type', 'error'], labels: [...jobKeys, 'status', 'error_type'], description: 'An attempt failed.' }),
  'job.retry': spec({ measurements: ['attempt'], metadata: [...jobKeys, 'job_id', 'error_type'], labels: [...jobKeys, 'error_type'], description: 'A failed job was scheduled for another attempt.' }),
  'job.dead': spec({ measurements: ['attempt'], metadata: [...jobKeys, 'job_id', 'error_type'], labels: [...jobKeys, 'error_type'], description: 'A job exhausted its attempts.' }),
  'job.stalled': spec({ measurements: ['attempt'], metadata: [...jobKeys, 'job_id'], labels: jobKeys, description: 'A running job lost its owner and was requeued.' }),
  'job.progress': spec({ measurements: ['progress', 'size'], metadata: [...jobKeys, 'job_id', 'progress_json'], labels: jobKeys, description: 'Worker code reported a running job\'s progress (ctx.progress, at most four a second per job): progress is the value when it is a fraction in 0..1, size its bytes as JSON, progress_json the value itself.' }),
  'job.cancelled': spec({ measurements: ['attempt'], metadata: [...jobKeys, 'job_id', 'status'], labels: [...jobKeys, 'status'], description: 'A job was cancelled.' }),
  'job.retried': spec({ measurements: ['attempt'], metadata: [...jobKeys, 'job_id', 'status'], labels: [...jobKeys, 'status'], description: 'An operator retried a dead, failed or cancelled job (status: the state it came from); it is queued, due now.' }),
  // ── queue (operator control of a queue, fleet-wide) ───────────────────────────────────────────
  'queue.paused': spec({ measurements: [], metadata: ['queue'], labels: ['queue'], description: 'A queue was paused fleet-wide: jobs are still accepted, none starts until it is resumed (emitted by the supervisor that paused it).' }),
  'queue.resumed': spec({ measurements: [], metadata: ['queue'], labels: ['queue'], description: 'A paused queue was resumed: its waiting jobs are handed out again (emitted by the supervisor that resumed it).' }),
  // ── schedule ──────────────────────────────────────────────────────────────────────────────
  'schedule.fired': spec({ measurements: ['lateness'], metadata: ['schedule', ...jobKeys, 'job_id', 'tick'], labels: ['schedule', ...jobKeys], description: 'A cron schedule\'s tick enqueued its job; sent by the one supervisor whose statement created the row. lateness: from the tick to the pass that fired it (database clock).' }),
  'schedule.skipped': spec({ measurements: ['ticks'], metadata: ['schedule', ...jobKeys, 'reason', 'first_tick', 'last_tick', 'capped'], labels: ['schedule', ...jobKeys, 'reason'], description: 'Ticks of a cron schedule that enqueued nothing: reason missed (past missedAfterMs under policy latest or skip), catch_up_limit (policy all, beyond 100) or duplicate (the tick\'s job exists already); capped: more ticks than counted.' }),
  // ── action (spans inside a job, emitted by worker code) ───────────────────────────────────────
  'action.start': spec({ measurements: [], metadata: [...jobKeys, 'action', 'job_id'], labels: [...jobKeys, 'action'], description: 'A named step inside a job began.' }),
  'action.stop': spec({ measurements: ['duration'], metadata: [...jobKeys, 'action', 'status', 'job_id'], labels: [...jobKeys, 'action', 'status'], description: 'A step finished.' }),
  'action.exception': spec({ measurements: ['duration'], metadata: [...jobKeys, 'action', 'status', 'job_id', 'error_type', 'error'], labels: [...jobKeys, 'action', 'status', 'error_type'], description: 'A step threw.' }),
  // ── supervisor ────────────────────────────────────────────────────────────────────────────────
  'supervisor.child.started': spec({ measurements: ['duration'], metadata: childKeys, labels: childKeys, description: 'A supervisor started a child.' }),
  'supervisor.child.terminated': spec({ measurements: ['duration'], metadata: childKeys, labels: childKeys, description: 'A child stopped or crashed; duration is how long it ran.' }),
  'supervisor.child.restarted': spec({ measurements: ['duration', 'restarts'], metadata: childKeys, labels: childKeys, description: 'A supervisor restarted a child per its strategy.' }),
  'supervisor.intensity_exceeded': spec({ measurements: ['restarts'], metadata: ['supervisor', 'strategy', 'child'], labels: ['supervisor', 'strategy', 'child'], description: 'Too many restarts in the period: the supervisor gives up and escalates; child is the one whose exit or failed restart went past the limit.' }),
  'supervisor.shutdown': spec({ measurements: ['duration'], metadata: ['supervisor', 'reason', 'strategy'], labels: ['supervisor', 'reason', 'strategy'], description: 'A supervisor stopped all its children.' }),
  // ── connections ───────────────────────────────────────────────────────────────────────────────
  'dispatch.connection.lost': spec({ measurements: [], metadata: ['backend', 'error_type', 'error'], labels: ['backend'], description: 'The dispatch backend (Redis) became unreachable; error_type/error say why, when the client said.' }),
  'dispatch.connection.reconnected': spec({ measurements: ['downtime'], metadata: ['backend'], labels: ['backend'], description: 'The dispatch backend is reachable again.' }),
  'store.connection.lost': spec({ measurements: [], metadata: ['backend', 'error_type', 'error'], labels: ['backend'], description: 'The job store (Postgres) became unreachable; error_type/error are the failure that showed it.' }),
  'store.connection.reconnected': spec({ measurements: ['downtime'], metadata: ['backend'], labels: ['backend'], description: 'The job store is reachable again.' }),
  'store.flush': spec({ measurements: ['rows', 'duration'], metadata: ['backend', 'kind'], labels: ['backend', 'kind'], description: 'A batch of rows was written to the store.' }),
  // ── telemetry ─────────────────────────────────────────────────────────────────────────────────
  'telemetry.handler.failure': spec({ measurements: [], metadata: ['handler_id', 'event', 'error_type', 'error'], labels: ['handler_id', 'error_type'], description: 'A handler threw and was detached from all its events.' }),
  'telemetry.events.dropped': spec({ measurements: ['count'], metadata: ['reason', 'source', 'event', 'pool', 'worker_id'], labels: ['reason', 'source', 'pool', 'worker_id'], description: 'Events were rejected (unknown, invalid, or buffer full) and counted.' }),
  'telemetry.control.changed': spec({ measurements: ['version'], metadata: ['source', 'pattern', 'change'], labels: ['source', 'change'], description: 'A sampling/filter rule was set or removed.' }),
} as const;

/** The built-in event table. */
export type Catalog = typeof catalog;

/** A built-in event name. */
export type CatalogEvent = keyof Catalog;
