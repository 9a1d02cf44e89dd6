import { afterEach, describe, expect, it } from 'vitest';
import { counter, createMetrics, distribution, lastValue, summary, type Metrics, type MetricsOptions } from '../../src/metrics/index.ts';
import { createTelemetry, type Telemetry } from '../../src/telemetry/bus.ts';
import { bucketsOf, parseExposition, samplesOf, valueOf, type Exposition } from './prometheus.ts';

const open: Metrics[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((m) => m.shutdown()));
});

function setup(options: Omit<MetricsOptions, 'telemetry'> = {}): { bus: Telemetry; metrics: Metrics; warnings: string[]; scrape: () => Promise<Exposition> } {
  const bus = createTelemetry();
  const warnings: string[] = [];
  const metrics = createMetrics({ telemetry: bus, otlp: false, warn: (m) => warnings.push(m), ...options });
  open.push(metrics);
  return { bus, metrics, warnings, scrape: async () => parseExposition((await metrics.scrape()).body) };
}

const ms = (n: number): number => n * 1e6;

describe('folded values', () => {
  it('counts, sums and buckets job events exactly per label set', async () => {
    const { bus, scrape } = setup();
    const email = { queue: 'email', job_name: 'send' };
    for (const duration of [ms(3), ms(5), ms(700), ms(1000)]) bus.execute('job.stop', { duration, queue_time: ms(20), attempt: 1 }, { ...email, job_id: '1', status: 'completed' });
    bus.execute('job.exception', { duration: ms(2500), attempt: 1 }, { ...email, job_id: '2', status: 'failed', error_type: 'Error', error: 'boom' });
    bus.execute('job.exception', { duration: ms(40), attempt: 3 }, { ...email, job_id: '3', status: 'dead', error_type: 'Error', error: 'boom' });
    bus.execute('job.cancelled', { attempt: 0 }, { ...email, job_id: '4', status: 'cancelled' });
    bus.execute('job.stop', { duration: ms(1), queue_time: 0, attempt: 1 }, { queue: 'billing', job_name: 'charge', job_id: '5', status: 'completed' });
    bus.execute('job.start', { queue_time: ms(250), attempt: 1 }, { ...email, job_id: '1' });
    bus.execute('job.start', { queue_time: ms(1500), attempt: 1 }, { ...email, job_id: '2' });

    const e = await scrape();
    const completed = { ...email, status: 'completed' };
    expect(valueOf(e, 'pitboss_job_duration_count', completed)).toBe(4);
    expect(valueOf(e, 'pitboss_job_duration_sum', completed)).toBeCloseTo(1.708, 12);
    // 3 ms and 5 ms are ≤ 0.005 (upper bounds are inclusive), 700 ms ≤ 1, 1000 ms ≤ 1.
    expect(bucketsOf(e, 'pitboss_job_duration', completed)).toMatchObject({ '0.005': 2, '0.01': 2, '0.5': 2, '1': 4, '+Inf': 4 });
    expect(bucketsOf(e, 'pitboss_job_duration', { ...email, status: 'failed' })).toMatchObject({ '1': 0, '2.5': 1, '+Inf': 1 });
    expect(valueOf(e, 'pitboss_job_duration_sum', { ...email, status: 'dead' })).toBe(0.04);
    expect(samplesOf(e, 'pitboss_job_duration_count', { status: 'cancelled' })).toEqual([]);

    expect(valueOf(e, 'pitboss_jobs_total', completed)).toBe(4);
    expect(valueOf(e, 'pitboss_jobs_total', { ...email, status: 'failed' })).toBe(1);
    expect(valueOf(e, 'pitboss_jobs_total', { ...email, status: 'dead' })).toBe(1);
    expect(valueOf(e, 'pitboss_jobs_total', { ...email, status: 'cancelled' })).toBe(1);
    expect(valueOf(e, 'pitboss_jobs_total', { queue: 'billing', job_name: 'charge', status: 'completed' })).toBe(1);
    expect(samplesOf(e, 'pitboss_jobs_total')).toHaveLength(5);

    expect(valueOf(e, 'pitboss_job_queue_time_count', email)).toBe(2);
    expect(valueOf(e, 'pitboss_job_queue_time_sum', email)).toBe(1.75);
    expect(bucketsOf(e, 'pitboss_job_queue_time', email)).toMatchObject({ '0.25': 1, '1': 1, '2.5': 2 });
  });

  it('gives action and worker-call durations a status per event, and keeps last values per worker', async () => {
    const { bus, scrape } = setup();
    const job = { queue: 'email', job_name: 'send', job_id: '1' };
    bus.execute('action.stop', { duration: ms(10) }, { ...job, action: 'render' });
    bus.execute('action.stop', { duration: ms(30) }, { ...job, action: 'render' });
    bus.execute('action.exception', { duration: ms(7) }, { ...job, action: 'render', error_type: 'TypeError', error: 'x' });
    bus.execute('worker.call.stop', { duration: ms(100) }, { pool: 'io', worker_id: 0, task: 'resize' });
    bus.execute('pool.status', { queue_depth: 4, busy_workers: 3, idle_workers: 1, utilization: 0.75 }, { pool: 'io' });
    bus.execute('pool.status', { queue_depth: 0, busy_workers: 1, idle_workers: 3, utilization: 0.25 }, { pool: 'io' });
    bus.execute('worker.memory.sampled', { heap_used: 1_000, heap_total: 4_000, external: 0 }, { pool: 'io', worker_id: 0 });
    bus.execute('worker.memory.sampled', { heap_used: 2_000, heap_total: 4_000, external: 0 }, { pool: 'io', worker_id: 0 });
    bus.execute('worker.memory.sampled', { heap_used: 5_000, heap_total: 8_000, external: 0 }, { pool: 'io', worker_id: 1 });
    bus.execute('worker.cpu.sampled', { utilization: 0.5 }, { pool: 'io', worker_id: 1 });
    bus.execute('pool.worker.restarted', { downtime: 1, restarts: 1 }, { pool: 'io', worker_id: 1, thread_id: 9, reason: 'crash' });
    bus.execute('supervisor.child.restarted', { duration: 1, restarts: 2 }, { supervisor: 'root', child: 'io', reason: 'crash', strategy: 'one_for_one' });
    bus.drop('buffer_full', 7, { source: 'thread' });
    bus.drop('buffer_full', 2, { source: 'thread' });

    const e = await scrape();
    expect(valueOf(e, 'pitboss_action_duration_count', { action: 'render', status: 'ok' })).toBe(2);
    expect(valueOf(e, 'pitboss_action_duration_sum', { action: 'render', status: 'ok' })).toBe(0.04);
    expect(valueOf(e, 'pitboss_action_duration_count', { action: 'render', status: 'error' })).toBe(1);
    expect(valueOf(e, 'pitboss_worker_call_duration_sum', { pool: 'io', task: 'resize', status: 'ok' })).toBe(0.1);
    expect(valueOf(e, 'pitboss_pool_workers', { pool: 'io', state: 'busy' })).toBe(1);
    expect(valueOf(e, 'pitboss_pool_workers', { pool: 'io', state: 'idle' })).toBe(3);
    expect(valueOf(e, 'pitboss_worker_heap_used', { pool: 'io', worker_id: '0' })).toBe(2_000);
    expect(valueOf(e, 'pitboss_worker_heap_used', { pool: 'io', worker_id: '1' })).toBe(5_000);
    expect(valueOf(e, 'pitboss_worker_eventloop_utilization', { pool: 'io', worker_id: '1' })).toBe(0.5);
    expect(valueOf(e, 'pitboss_worker_restarts_total', { pool: 'io', reason: 'crash' })).toBe(1);
    expect(valueOf(e, 'pitboss_supervisor_restarts_total', { supervisor: 'root', child: 'io' })).toBe(1);
    expect(valueOf(e, 'pitboss_telemetry_events_dropped_total', { reason: 'buffer_full', source: 'thread' })).toBe(9);
  });

  it('folds user definitions: functions, summaries, custom buckets, absent labels', async () => {
    const definitions = [
      summary({ name: 'app.job.attempts', event: 'job.stop', measurement: 'attempt', tags: ['queue'] }),
      distribution({ name: 'app.job.total_time', event: 'job.stop', measurement: (m) => m.duration! + m.queue_time!, unit: { from: 'ns', to: 'ms' }, buckets: [10, 100] }),
      counter({ name: 'app.jobs.by_name', event: 'job.stop', tags: ['job_name'] }),
      lastValue({ name: 'app.job.last_attempt', event: 'job.stop', measurement: 'attempt', tags: ['queue'] }),
    ];
    const { bus, scrape } = setup({ definitions });
    bus.execute('job.stop', { duration: ms(4), queue_time: ms(6), attempt: 1 }, { queue: 'q', job_name: 'a', status: 'completed' });
    bus.execute('job.stop', { duration: ms(50), queue_time: ms(50), attempt: 3 }, { queue: 'q', status: 'completed' });
    const e = await scrape();
    expect(valueOf(e, 'app_job_attempts_count', { queue: 'q' })).toBe(2);
    expect(valueOf(e, 'app_job_attempts_sum', { queue: 'q' })).toBe(4);
    expect(bucketsOf(e, 'app_job_attempts', { queue: 'q' })).toEqual({ '+Inf': 2 });
    expect(bucketsOf(e, 'app_job_total_time', {})).toEqual({ '10': 1, '100': 2, '+Inf': 2 });
    // A missing tag is an empty label, which Prometheus shows as absent.
    expect(valueOf(e, 'app_jobs_by_name_total', { job_name: 'a' })).toBe(1);
    expect(valueOf(e, 'app_jobs_by_name_total', { job_name: '' })).toBe(1);
    expect(valueOf(e, 'app_job_last_attempt', { queue: 'q' })).toBe(3);
  });

  it('puts label sets past the cardinality limit into one overflow series', async () => {
    const { bus, scrape } = setup({ definitions: [counter({ name: 'app.jobs', event: 'job.stop', tags: ['job_name'] })], cardinalityLimit: 2 });
    for (const name of ['a', 'b', 'c', 'd', 'a']) bus.execute('job.stop', { duration: 1, queue_time: 1, attempt: 1 }, { queue: 'q', job_name: name });
    const e = await scrape();
    expect(valueOf(e, 'app_jobs_total', { job_name: 'a' })).toBe(2);
    expect(valueOf(e, 'app_jobs_total', { job_name: 'b' })).toBe(1);
    expect(valueOf(e, 'app_jobs_total', { otel_metric_overflow: 'true' })).toBe(2);
  });
});

describe('the fold never throws into the bus', () => {
  it('catches a throwing measurement, stays attached, folds the other metrics, counts and warns once', async () => {
    let calls = 0;
    const definitions = [
      distribution({ name: 'app.broken', event: 'job.stop', measurement: () => { calls++; throw new Error('measurement bug'); }, tags: ['queue'] }),
      counter({ name: 'app.jobs', event: 'job.stop', tags: ['queue'] }),
    ];
    const { bus, scrape, warnings } = setup({ definitions });
    const failures: unknown[] = [];
    bus.attach('failures', 'telemetry.handler.failure', (_e, _m, md) => failures.push(md));
    for (let i = 0; i < 3; i++) expect(() => bus.execute('job.stop', { duration: 1, queue_time: 1, attempt: 1 }, { queue: 'q' })).not.toThrow();

    expect(calls).toBe(3);
    expect(failures).toEqual([]);
    expect(bus.listHandlers('job.stop').map((h) => h.id)).toEqual([expect.stringMatching(/^pitboss\.metrics\.\d+\.job\.stop$/)]);
    const e = await scrape();
    expect(valueOf(e, 'app_jobs_total', { queue: 'q' })).toBe(3);
    expect(valueOf(e, 'pitboss_metrics_dropped_total', { metric: 'app.broken', reason: 'error' })).toBe(3);
    expect(samplesOf(e, 'app_broken_count')).toEqual([]);
    expect(warnings).toEqual([expect.stringContaining('app.broken dropped a job.stop event (error: Error: measurement bug)')]);
  });

  it('drops non-finite and missing measurements, and negative values of monotonic sums, naming the event', async () => {
    const { bus, scrape, warnings } = setup();
    bus.execute('job.stop', { queue_time: 1, attempt: 1 }, { queue: 'q', job_name: 'a', status: 'completed' });
    bus.execute('job.stop', { duration: Number.NaN, queue_time: 1, attempt: 1 }, { queue: 'q', job_name: 'a', status: 'completed' });
    // pitboss.job.duration is fed by job.stop and job.exception: the warning says which one was bad.
    bus.execute('job.exception', { attempt: 1 }, { queue: 'q', job_name: 'a', status: 'failed', error_type: 'Error' });
    bus.execute('telemetry.events.dropped', { count: -1 }, { reason: 'buffer_full', source: 'thread' });
    const e = await scrape();
    expect(valueOf(e, 'pitboss_metrics_dropped_total', { metric: 'pitboss.job.duration', reason: 'invalid_measurement' })).toBe(3);
    expect(valueOf(e, 'pitboss_metrics_dropped_total', { metric: 'pitboss.telemetry.events.dropped', reason: 'invalid_measurement' })).toBe(1);
    expect(valueOf(e, 'pitboss_jobs_total', { queue: 'q', job_name: 'a', status: 'completed' })).toBe(2);
    expect(warnings).toEqual([
      expect.stringContaining('pitboss.job.duration dropped a job.stop event (invalid_measurement: value NaN)'),
      expect.stringContaining('pitboss.job.duration dropped a job.exception event (invalid_measurement: value NaN)'),
      expect.stringContaining('pitboss.telemetry.events.dropped dropped a telemetry.events.dropped event (invalid_measurement: value -1)'),
    ]);
  });

  it('detaches on shutdown and then refuses to scrape with a typed rejection', async () => {
    const { bus, metrics } = setup();
    expect(bus.listHandlers().length).toBeGreaterThan(0);
    await metrics.shutdown();
    await metrics.shutdown();
    expect(bus.listHandlers()).toEqual([]);
    await expect(metrics.scrape()).rejects.toMatchObject({ name: 'MetricsError', code: 'PITBOSS_INVALID_CONFIG' });
  });
});
