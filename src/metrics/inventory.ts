/**
 * The default metrics: one table of names (STYLE §7), each folded from catalog events. Durations
 * are exported in seconds (OTel and Prometheus base unit), counters carry no `total` (the
 * Prometheus exporter appends `_total`). Spread it to add your own:
 * `createMetrics({ telemetry, definitions: [...defaultMetrics, counter({ … })] })`.
 *
 * Spans do not put a status in their metadata, so `action.*` and `worker.call.*` durations get
 * `status` as a constant per event (`ok` from stop, `error` from exception). The two gauges read
 * from Postgres (`pitboss.queue.depth`, `pitboss.workers.active`) are not folds: see queue-gauges.ts.
 */
import { counter, distribution, lastValue, sum, type MetricDefinition } from './definitions.ts';
import type { TimeUnit } from './units.ts';

const seconds: { readonly from: TimeUnit; readonly to: TimeUnit } = { from: 'ns', to: 's' };
const ok = { status: 'ok' } as const;
const failed = { status: 'error' } as const;

/** Every metric pitboss folds from its telemetry by default. */
export const defaultMetrics: readonly MetricDefinition[] = Object.freeze([
  // ── jobs ─────────────────────────────────────────────────────────────────────────────────────
  distribution({
    name: 'pitboss.job.duration', event: ['job.stop', 'job.exception'], measurement: 'duration', unit: seconds,
    tags: ['queue', 'job_name', 'status'], description: 'How long job attempts ran, by outcome (completed, failed, dead).',
  }),
  distribution({
    name: 'pitboss.job.queue_time', event: 'job.start', measurement: 'queue_time', unit: seconds,
    tags: ['queue', 'job_name'], description: 'How long jobs waited between being due and starting.',
  }),
  counter({
    name: 'pitboss.jobs', event: ['job.stop', 'job.exception', 'job.cancelled'], unit: '{job}',
    tags: ['queue', 'job_name', 'status'], description: 'Finished job attempts by outcome (completed, failed, dead), and cancelled jobs.',
  }),
  distribution({
    name: 'pitboss.action.duration', event: 'action.stop', measurement: 'duration', unit: seconds,
    tags: ['action'], constantTags: ok, description: 'How long named actions inside jobs ran, by status (ok, error).',
  }),
  distribution({
    name: 'pitboss.action.duration', event: 'action.exception', measurement: 'duration', unit: seconds,
    tags: ['action'], constantTags: failed,
  }),
  // ── schedules ────────────────────────────────────────────────────────────────────────────────
  distribution({
    name: 'pitboss.schedule.lateness', event: 'schedule.fired', measurement: 'lateness', unit: seconds,
    tags: ['schedule', 'queue'], description: 'How late cron ticks fired their job, from the tick to the pass that enqueued it (its count: ticks fired).',
  }),
  sum({
    name: 'pitboss.schedule.skipped_ticks', event: 'schedule.skipped', measurement: 'ticks', unit: '{tick}',
    tags: ['schedule', 'queue', 'reason'], description: 'Cron ticks that enqueued nothing, by reason (missed, catch_up_limit, duplicate).',
  }),
  // ── pools and worker threads ─────────────────────────────────────────────────────────────────
  lastValue({
    name: 'pitboss.pool.workers', event: 'pool.status', measurement: 'busy_workers', unit: '{thread}',
    tags: ['pool'], constantTags: { state: 'busy' }, description: 'Threads per pool by state (busy, idle), from the periodic pool.status.',
  }),
  lastValue({
    name: 'pitboss.pool.workers', event: 'pool.status', measurement: 'idle_workers', unit: '{thread}',
    tags: ['pool'], constantTags: { state: 'idle' },
  }),
  counter({
    name: 'pitboss.worker.restarts', event: 'pool.worker.restarted', unit: '{restart}',
    tags: ['pool', 'reason', 'fault'], description: 'Crashed worker threads replaced, by pool, reason and fault (task: killed by the task it ran, not counted against intensity; thread: died on its own).',
  }),
  counter({
    name: 'pitboss.worker.task_crashes', event: 'worker.call.crashed', unit: '{task}',
    tags: ['pool', 'task', 'reason'], description: 'Tasks that killed their thread (crash, exit, oom, timeout, unclonable_answer), by pool, task and reason: a poison job type shows here.',
  }),
  distribution({
    name: 'pitboss.worker.call.duration', event: 'worker.call.stop', measurement: 'duration', unit: seconds,
    tags: ['pool', 'task'], constantTags: ok, description: 'How long tasks ran on worker threads, by status (ok, error).',
  }),
  distribution({
    name: 'pitboss.worker.call.duration', event: 'worker.call.exception', measurement: 'duration', unit: seconds,
    tags: ['pool', 'task'], constantTags: failed,
  }),
  lastValue({
    name: 'pitboss.worker.heap.used', event: 'worker.memory.sampled', measurement: 'heap_used', unit: 'By',
    tags: ['pool', 'worker_id'], description: 'V8 heap in use per worker thread, at its last sample.',
  }),
  lastValue({
    name: 'pitboss.worker.eventloop.utilization', event: 'worker.cpu.sampled', measurement: 'utilization', unit: '1',
    tags: ['pool', 'worker_id'], description: 'Event-loop utilization (0..1) per worker thread over its last sample period.',
  }),
  // ── supervision and telemetry itself ─────────────────────────────────────────────────────────
  counter({
    name: 'pitboss.supervisor.restarts', event: 'supervisor.child.restarted', unit: '{restart}',
    tags: ['supervisor', 'child'], description: 'Children restarted by their supervisor.',
  }),
  sum({
    name: 'pitboss.telemetry.events.dropped', event: 'telemetry.events.dropped', measurement: 'count', unit: '{event}',
    tags: ['reason', 'source'], description: 'Telemetry events rejected or lost (unknown_event, invalid_measurement, buffer_full), by source.',
  }),
]);

/** Names of the gauges read from the job store, reserved next to the folded ones. */
export const queueGaugeNames: readonly string[] = Object.freeze(['pitboss.queue.depth', 'pitboss.workers.active']);

/** Names of the metrics about the metrics path itself. */
export const selfMetricNames: readonly string[] = Object.freeze(['pitboss.metrics.dropped', 'pitboss.metrics.stats.failures']);
