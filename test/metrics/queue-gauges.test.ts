import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { QueueStats } from '../../src/jobs/types.ts';
import { createMetrics, type Metrics, type MetricsOptions } from '../../src/metrics/index.ts';
import { createTelemetry, type Telemetry } from '../../src/telemetry/bus.ts';
import { parseExposition, samplesOf, valueOf, type Exposition } from './prometheus.ts';

const open: Metrics[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((m) => m.shutdown()));
});

const row = (queue: string, queued: number, running: number, failed = 0): QueueStats =>
  ({ queue, queued, running, failed, completed: 0, dead: 0, cancelled: 0 });

/** A stats source whose answers the test scripts, counting calls. */
function statsSource(): { calls: number; next: () => Promise<readonly QueueStats[]>; query: () => Promise<readonly QueueStats[]> } {
  const source = {
    calls: 0,
    next: (): Promise<readonly QueueStats[]> => Promise.resolve([]),
    query: (): Promise<readonly QueueStats[]> => {
      source.calls++;
      return source.next();
    },
  };
  return source;
}

function setup(options: Omit<MetricsOptions, 'telemetry'>): { bus: Telemetry; warnings: string[]; scrape: () => Promise<Exposition> } {
  const bus = createTelemetry();
  const warnings: string[] = [];
  const metrics = createMetrics({ telemetry: bus, otlp: false, warn: (m) => warnings.push(m), ...options });
  open.push(metrics);
  return { bus, warnings, scrape: async () => parseExposition((await metrics.scrape()).body) };
}

describe('queue gauges from the job store', () => {
  it('serves depth (queued + failed) and active (running) from one query per scrape, cached within the TTL', async () => {
    const source = statsSource();
    source.next = () => Promise.resolve([row('email', 3, 2, 4), { ...row('billing', 0, 0), queued: '7' as unknown as number }]);
    const { scrape } = setup({ stats: source.query, statsCache: { ttlMs: 500 } });

    const first = await scrape();
    expect(source.calls).toBe(1);
    expect(valueOf(first, 'pitboss_queue_depth', { queue: 'email' })).toBe(7);
    expect(valueOf(first, 'pitboss_workers_active', { queue: 'email' })).toBe(2);
    expect(valueOf(first, 'pitboss_queue_depth', { queue: 'billing' })).toBe(7);

    await scrape();
    await Promise.all([scrape(), scrape(), scrape()]);
    expect(source.calls).toBe(1);
    await sleep(600);
    await Promise.all([scrape(), scrape(), scrape()]);
    expect(source.calls).toBe(2);
  });

  it('reports explicit zeros for known queues and for queues that drained out of the stats', async () => {
    const source = statsSource();
    source.next = () => Promise.resolve([row('email', 1, 1), row('legacy', 5, 0)]);
    const { scrape } = setup({ stats: source.query, knownQueues: () => ['email', 'billing'], statsCache: { ttlMs: 1 } });
    const first = await scrape();
    expect(valueOf(first, 'pitboss_queue_depth', { queue: 'billing' })).toBe(0);
    expect(valueOf(first, 'pitboss_workers_active', { queue: 'billing' })).toBe(0);
    expect(valueOf(first, 'pitboss_queue_depth', { queue: 'legacy' })).toBe(5);

    source.next = () => Promise.resolve([row('email', 0, 1)]);
    await sleep(5);
    const second = await scrape();
    expect(source.calls).toBe(2);
    expect(Object.fromEntries(samplesOf(second, 'pitboss_queue_depth').map((s) => [s.labels.queue, s.value]))).toEqual({ email: 0, billing: 0, legacy: 0 });
  });

  it('times a stalled query out: the scrape returns promptly with the other metrics and counts the timeout', async () => {
    const source = statsSource();
    source.next = () => new Promise<never>(() => {});
    const { bus, scrape, warnings } = setup({ stats: source.query, knownQueues: () => ['email'], statsCache: { timeoutMs: 100 } });
    bus.execute('job.cancelled', { attempt: 0 }, { queue: 'email', job_name: 'send', job_id: '1', status: 'cancelled' });

    const started = performance.now();
    const exposition = await scrape();
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(95);
    expect(elapsed).toBeLessThan(1_000);
    expect(valueOf(exposition, 'pitboss_jobs_total', { queue: 'email', status: 'cancelled' })).toBe(1);
    expect(samplesOf(exposition, 'pitboss_queue_depth')).toEqual([]);
    expect(valueOf(exposition, 'pitboss_metrics_stats_failures_total', { reason: 'timeout' })).toBe(1);
    expect(warnings).toEqual([expect.stringContaining('queue stats timeout')]);
  });

  it('serves the last values while the database stalls, without piling up queries, and recovers after abandonAfterMs', async () => {
    const source = statsSource();
    source.next = () => Promise.resolve([row('email', 4, 1)]);
    const { scrape } = setup({ stats: source.query, statsCache: { ttlMs: 20, timeoutMs: 50, abandonAfterMs: 1_000 } });
    expect(valueOf(await scrape(), 'pitboss_queue_depth', { queue: 'email' })).toBe(4);

    source.next = () => new Promise<never>(() => {});
    await sleep(30);
    for (let i = 0; i < 3; i++) {
      const stale = await scrape();
      expect(valueOf(stale, 'pitboss_queue_depth', { queue: 'email' })).toBe(4);
    }
    expect(source.calls).toBe(2);
    const timeouts = valueOf(await scrape(), 'pitboss_metrics_stats_failures_total', { reason: 'timeout' });
    expect(timeouts).toBe(4);

    source.next = () => Promise.resolve([row('email', 9, 0)]);
    await sleep(1_000);
    expect(valueOf(await scrape(), 'pitboss_queue_depth', { queue: 'email' })).toBe(9);
    expect(source.calls).toBe(3);
  });

  it('counts a failing query, omits the gauges and never fails the scrape', async () => {
    const source = statsSource();
    source.next = () => Promise.reject(new Error('connection refused'));
    const { scrape, warnings } = setup({ stats: () => { source.calls++; if (source.calls === 2) throw new Error('sync throw'); return source.next(); }, statsCache: { ttlMs: 1 } });
    const first = await scrape();
    expect(samplesOf(first, 'pitboss_queue_depth')).toEqual([]);
    await sleep(5);
    const second = await scrape();
    expect(valueOf(second, 'pitboss_metrics_stats_failures_total', { reason: 'error' })).toBe(2);
    expect(warnings).toEqual([expect.stringContaining('queue stats error (connection refused)')]);
  });

  it('registers no queue gauges without a stats source', async () => {
    const { scrape } = setup({});
    const exposition = await scrape();
    expect(exposition.types.has('pitboss_queue_depth')).toBe(false);
  });
});
