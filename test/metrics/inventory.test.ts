import { afterEach, describe, expect, it } from 'vitest';
import type { QueueStats } from '../../src/jobs/types.ts';
import { createMetrics, defaultMetrics, type Metrics } from '../../src/metrics/index.ts';
import { createTelemetry, type Telemetry } from '../../src/telemetry/bus.ts';
import { labelSets, parseExposition, promtoolCheck } from './prometheus.ts';

const open: Metrics[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((m) => m.shutdown()));
});

const stats = (): Promise<QueueStats[]> => Promise.resolve([{ queue: 'email', queued: 2, running: 1, failed: 1, completed: 9, dead: 0, cancelled: 0 }]);

/** One event for every default metric, so each family has a series to show. */
function exercise(bus: Telemetry): void {
  const job = { queue: 'email', job_name: 'send', job_id: '1' };
  bus.execute('job.start', { queue_time: 1e6, attempt: 1 }, job);
  bus.execute('job.stop', { duration: 2e6, queue_time: 1e6, attempt: 1 }, { ...job, status: 'completed' });
  bus.execute('job.exception', { duration: 2e6, attempt: 1 }, { ...job, status: 'failed', error_type: 'Error', error: 'x' });
  bus.execute('job.cancelled', { attempt: 1 }, { ...job, status: 'cancelled' });
  bus.execute('action.stop', { duration: 1e6 }, { ...job, action: 'render' });
  bus.execute('action.exception', { duration: 1e6 }, { ...job, action: 'render', error_type: 'Error', error: 'say "hi"\nbye' });
  bus.execute('schedule.fired', { lateness: 3e8 }, { schedule: 'nightly', queue: 'email', job_name: 'digest', job_id: '2', tick: '2030-01-01T00:00:00.000Z' });
  bus.execute('schedule.skipped', { ticks: 4 }, { schedule: 'nightly', queue: 'email', job_name: 'digest', reason: 'missed', first_tick: 'a', last_tick: 'b', capped: false });
  bus.execute('pool.status', { queue_depth: 0, busy_workers: 1, idle_workers: 1, utilization: 0.5 }, { pool: 'io' });
  bus.execute('pool.worker.restarted', { downtime: 1, restarts: 1 }, { pool: 'io', worker_id: 0, thread_id: 3, reason: 'crash', fault: 'task' });
  bus.execute('worker.call.crashed', { duration: 1e6 }, { pool: 'io', worker_id: 0, task: 'resize', reason: 'oom', error_type: 'WorkerCrashedError', error: 'x' });
  bus.execute('worker.call.stop', { duration: 1e6 }, { pool: 'io', worker_id: 0, task: 'resize' });
  bus.execute('worker.call.exception', { duration: 1e6 }, { pool: 'io', worker_id: 0, task: 'resize', error_type: 'Error', error: 'x' });
  bus.execute('worker.memory.sampled', { heap_used: 1, heap_total: 2, external: 0 }, { pool: 'io', worker_id: 0 });
  bus.execute('worker.cpu.sampled', { utilization: 0.1 }, { pool: 'io', worker_id: 0 });
  bus.execute('supervisor.child.restarted', { duration: 1, restarts: 1 }, { supervisor: 'root', child: 'io', reason: 'crash', strategy: 'one_for_one' });
  bus.drop('buffer_full', 1, { source: 'thread' });
}

describe('the default inventory', () => {
  it('shows each metric under its Prometheus name, type and label set', async () => {
    const bus = createTelemetry();
    const metrics = createMetrics({ telemetry: bus, otlp: false, stats, knownQueues: () => ['email', 'billing'], rateLimits: () => ({ email: { max: 10, perMs: 2000 } }) });
    open.push(metrics);
    exercise(bus);
    const exposition = parseExposition((await metrics.scrape()).body);
    const shown = Object.fromEntries([...labelSets(exposition)].map(([family, labels]) => [family, `${exposition.types.get(family)} ${labels.join(',')}`]));
    expect(shown).toEqual({
      target_info: 'gauge service_name,telemetry_sdk_language,telemetry_sdk_name,telemetry_sdk_version',
      pitboss_queue_depth: 'gauge queue',
      pitboss_workers_active: 'gauge queue',
      pitboss_queue_rate_limit: 'gauge queue',
      pitboss_job_duration: 'histogram job_name,queue,status',
      pitboss_job_queue_time: 'histogram job_name,queue',
      pitboss_jobs_total: 'counter job_name,queue,status',
      pitboss_action_duration: 'histogram action,status',
      pitboss_schedule_lateness: 'histogram queue,schedule',
      pitboss_schedule_skipped_ticks_total: 'counter queue,reason,schedule',
      pitboss_pool_workers: 'gauge pool,state',
      pitboss_worker_restarts_total: 'counter fault,pool,reason',
      pitboss_worker_task_crashes_total: 'counter pool,reason,task',
      pitboss_worker_call_duration: 'histogram pool,status,task',
      pitboss_worker_heap_used: 'gauge pool,worker_id',
      pitboss_worker_eventloop_utilization: 'gauge pool,worker_id',
      pitboss_supervisor_restarts_total: 'counter child,supervisor',
      pitboss_telemetry_events_dropped_total: 'counter reason,source',
    });
    expect(new Set(defaultMetrics.map((d) => d.name)).size).toBe(14);
  });

  it('passes promtool check metrics on a live scrape', async () => {
    const bus = createTelemetry();
    const metrics = createMetrics({ telemetry: bus, otlp: false, stats, knownQueues: () => ['email', 'billing'], rateLimits: () => ({ email: { max: 10, perMs: 2000 } }), warn: () => {} });
    open.push(metrics);
    exercise(bus);
    // Also the self-metrics, so their names are linted too.
    bus.execute('job.stop', { queue_time: 1, attempt: 1 }, { queue: 'email', job_name: 'send', status: 'completed' });
    const { contentType, body } = await metrics.scrape();
    expect(contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(body).toContain('pitboss_metrics_dropped_total');
    expect(promtoolCheck(body)).toBe('');
  });
});
