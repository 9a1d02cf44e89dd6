/**
 * DESIGN §8: metrics fold a sampled event with weight 1/rate, so counters, sums and histogram counts
 * are unbiased estimates under sampling and exact at rate 1.
 *
 * The bound is computed, not guessed: with n events kept independently with probability p, the
 * kept count K is Binomial(n, p) and the estimate K/p has mean n and standard deviation
 * sqrt(n (1 - p) / p). For n = 20 000 and p = 0.1 that is sqrt(180 000) ≈ 424; the test allows five
 * standard deviations (a false failure about once in 1.7 million runs), while the unweighted fold
 * it replaces lands at ~2 000, 42 standard deviations away.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createMetrics, type Metrics } from '../../src/metrics/index.ts';
import { createTelemetry, type Telemetry } from '../../src/telemetry/bus.ts';
import { bucketsOf, parseExposition, valueOf, type Exposition } from './prometheus.ts';

const open: Metrics[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((m) => m.shutdown()));
});

function setup(): { bus: Telemetry; scrape: () => Promise<Exposition> } {
  const bus = createTelemetry();
  const metrics = createMetrics({ telemetry: bus, otlp: false, warn: () => {} });
  open.push(metrics);
  return { bus, scrape: async () => parseExposition((await metrics.scrape()).body) };
}

const N = 20_000;
const labels = { queue: 'email', job_name: 'send', status: 'completed' };
/** 3 ms: every event lands in the 0.005 s bucket, so the bucket count is the histogram count. */
const DURATION_NS = 3e6;

function emitJobs(bus: Telemetry): void {
  for (let i = 0; i < N; i++) bus.execute('job.stop', { duration: DURATION_NS, queue_time: 0, attempt: 1 }, { queue: 'email', job_name: 'send', job_id: String(i), status: 'completed' });
}

describe('metrics under sampling', () => {
  it('estimates pitboss_jobs_total and the duration histogram without bias at rate 0.1', async () => {
    const { bus, scrape } = setup();
    const rate = 0.1;
    bus.control.setRule({ pattern: 'job.stop', rate });
    emitJobs(bus);
    const e = await scrape();
    const sd = Math.sqrt((N * (1 - rate)) / rate);
    const bound = 5 * sd;
    const jobs = valueOf(e, 'pitboss_jobs_total', labels);
    const count = valueOf(e, 'pitboss_job_duration_count', labels);
    expect(Math.abs(jobs - N)).toBeLessThan(bound);
    expect(Math.abs(count - N)).toBeLessThan(bound);
    // Every kept event weighs 1/rate: the estimates are whole multiples of 10 and agree with each other.
    expect(count).toBeCloseTo(jobs, 6);
    expect(Math.round(jobs) % 10).toBe(0);
    expect(bucketsOf(e, 'pitboss_job_duration', labels)['0.005']).toBeCloseTo(count, 6);
    expect(valueOf(e, 'pitboss_job_duration_sum', labels)).toBeCloseTo(count * 0.003, 6);
  });

  it('is exact at rate 1', async () => {
    const { bus, scrape } = setup();
    emitJobs(bus);
    const e = await scrape();
    expect(valueOf(e, 'pitboss_jobs_total', labels)).toBe(N);
    expect(valueOf(e, 'pitboss_job_duration_count', labels)).toBe(N);
    expect(bucketsOf(e, 'pitboss_job_duration', labels)['0.005']).toBe(N);
  });

  it('weighs thread events by the rule that sampled them, scoped rules included', () => {
    const bus = createTelemetry();
    bus.control.setRule({ pattern: 'worker.*', rate: 0.5 });
    bus.control.setRule({ pattern: 'worker.*', rate: 0.25, scope: { pool: 'img', worker: 1 } });
    const weights: number[] = [];
    bus.attach('w', 'worker.memory.sampled', (_e, _m, _md, _c, weight) => { weights.push(weight); });
    // What a thread's batch decodes to: the thread sampled already, the supervisor only weighs.
    bus.ingest('worker.memory.sampled', { heap_used: 1, heap_total: 2, external: 0 }, { pool: 'img', worker_id: 0 });
    bus.ingest('worker.memory.sampled', { heap_used: 1, heap_total: 2, external: 0 }, { pool: 'img', worker_id: 1 });
    expect(weights).toEqual([2, 4]);
  });
});
