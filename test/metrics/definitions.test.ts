import { describe, expect, it } from 'vitest';
import { MetricsError } from '../../src/errors/classes.ts';
import {
  counter, createMetrics, defaultMetrics, definitionsFor, distribution, lastValue, sum, summary,
} from '../../src/metrics/index.ts';
import { catalog } from '../../src/telemetry/catalog.ts';
import { createTelemetry } from '../../src/telemetry/bus.ts';

/** The error a definition throws, for asserting on code and message together. */
function errorOf(define: () => unknown): MetricsError {
  try {
    define();
  } catch (error) {
    expect(error).toBeInstanceOf(MetricsError);
    return error as MetricsError;
  }
  throw new Error('expected the definition to be rejected');
}

describe('metric definitions', () => {
  it('rejects a tag that is unbounded metadata, naming the tag, the event and the label-safe keys', () => {
    const error = errorOf(() =>
      // @ts-expect-error job_id is metadata of job.stop but not one of its labels
      counter({ name: 'pitboss.test.jobs', event: 'job.stop', tags: ['queue', 'job_id'] }));
    expect(error.code).toBe('PITBOSS_INVALID_CONFIG');
    expect(error.message).toContain('"pitboss.test.jobs"');
    expect(error.message).toContain('tag "job_id" is unbounded metadata, not a label-safe key of job.stop');
    expect(error.message).toContain('labels: queue, job_name, status');
  });

  it('rejects a tag that only some of its events can carry', () => {
    const error = errorOf(() =>
      // @ts-expect-error error_type is a label of job.exception, not of job.stop
      counter({ name: 'pitboss.test.jobs', event: ['job.stop', 'job.exception'], tags: ['error_type'] }));
    expect(error.message).toContain('tag "error_type" is not a metadata key of job.stop');
  });

  it('rejects an unknown event with PITBOSS_UNKNOWN_EVENT', () => {
    // @ts-expect-error not a catalog event
    const error = errorOf(() => counter({ name: 'pitboss.test.jobs', event: 'job.finished' }));
    expect(error.code).toBe('PITBOSS_UNKNOWN_EVENT');
    expect(error.message).toContain('event "job.finished" is not in the event table');
  });

  it('rejects a measurement the event does not carry', () => {
    // @ts-expect-error job.start has no duration
    const error = errorOf(() => distribution({ name: 'pitboss.test.d', event: 'job.start', measurement: 'duration' }));
    expect(error.message).toContain('measurement "duration" is not carried by job.start (measurements: queue_time, attempt)');
  });

  it('resolves unit conversions to exact powers of ten, dividing towards larger units', () => {
    const d = distribution({ name: 'pitboss.test.d', event: 'job.stop', measurement: 'duration', unit: { from: 'ns', to: 's' } });
    expect(d).toMatchObject({ unit: 's', multiply: 1, divide: 1e9, buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600] });
    expect(summary({ name: 'pitboss.test.s', event: 'job.stop', measurement: 'duration', unit: { from: 's', to: 'ms' } }))
      .toMatchObject({ unit: 'ms', multiply: 1000, divide: 1, buckets: [] });
    expect(lastValue({ name: 'pitboss.test.l', event: 'worker.memory.sampled', measurement: 'heap_used', unit: 'By' }))
      .toMatchObject({ unit: 'By', multiply: 1, divide: 1, buckets: null });
    const error = errorOf(() => distribution({ name: 'pitboss.test.d', event: 'job.stop', measurement: 'duration', unit: { from: 'ns', to: 'h' as 's' } }));
    expect(error.message).toContain('unit conversion {"from":"ns","to":"h"} is not supported');
  });

  it('never lets a nanosecond distribution fall into +Inf: converts to seconds by default, refuses it left in ns with default buckets', () => {
    expect(distribution({ name: 'pitboss.test.d', event: 'pool.queue.dequeued', measurement: 'wait' }))
      .toMatchObject({ unit: 's', divide: 1e9, buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600] });
    for (const unit of ['ns', { from: 'ns', to: 'ns' }] as const) {
      const error = errorOf(() => distribution({ name: 'pitboss.test.d', event: 'job.stop', measurement: 'duration', unit }));
      expect(error.code).toBe('PITBOSS_INVALID_CONFIG');
      expect(error.message).toContain('metric "pitboss.test.d": measurement "duration" is in nanoseconds and the default buckets (0…10000) would put every sample in +Inf');
    }
    // Explicit buckets say the author chose nanoseconds; other measurements keep OTel's buckets.
    expect(distribution({ name: 'pitboss.test.d', event: 'job.stop', measurement: 'duration', buckets: [1e6, 1e9] })).toMatchObject({ unit: '', buckets: [1e6, 1e9] });
    expect(distribution({ name: 'pitboss.test.d', event: 'pool.saturated', measurement: 'queue_size' })).toMatchObject({ unit: '', buckets: [0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000] });
  });

  it('checks names, buckets, constant tags and counters', () => {
    expect(errorOf(() => counter({ name: 'pitboss jobs', event: 'job.stop' })).message).toContain('name must start with a letter');
    expect(errorOf(() => distribution({ name: 'pitboss.d', event: 'job.stop', measurement: 'duration', buckets: [1, 1, 2] })).message)
      .toContain('buckets must be strictly increasing (1 then 1)');
    expect(errorOf(() => counter({ name: 'pitboss.c', event: 'job.stop', tags: ['status'], constantTags: { status: 'x' } })).message)
      .toContain('"status" is both a tag and a constant tag');
    expect(errorOf(() => counter({ name: 'pitboss.c', event: 'job.stop', constantTags: { le: '1' } })).message).toContain('constant tag "le" is not a usable label name');
    expect(errorOf(() => counter({ name: 'pitboss.c', event: 'job.stop', unit: { from: 'ns', to: 's' } as unknown as string })).message)
      .toContain('a counter counts events');
    expect(sum({ name: 'pitboss.s', event: 'telemetry.events.dropped', measurement: 'count', monotonic: false }).monotonic).toBe(false);
    expect(Object.isFrozen(counter({ name: 'pitboss.c', event: 'job.stop' }))).toBe(true);
  });

  it('checks definitions made for another table against the bus they are given to', () => {
    const hostEvents = {
      'billing.invoice.sent': { measurements: ['amount'], metadata: ['currency', 'invoice_id'], labels: ['currency'], description: 'An invoice went out.' },
    } as const;
    const host = definitionsFor({ ...catalog, ...hostEvents });
    const invoices = host.sum({ name: 'billing.invoice.amount', event: 'billing.invoice.sent', measurement: 'amount', tags: ['currency'] });
    // @ts-expect-error invoice_id is not label-safe
    expect(() => host.counter({ name: 'billing.invoices', event: 'billing.invoice.sent', tags: ['invoice_id'] })).toThrow(/invoice_id/);

    const plain = createTelemetry();
    const error = errorOf(() => createMetrics({ telemetry: plain, definitions: [invoices], otlp: false }));
    expect(error.code).toBe('PITBOSS_UNKNOWN_EVENT');
    const registered = createTelemetry().register(hostEvents);
    expect(() => createMetrics({ telemetry: registered, definitions: [invoices], otlp: false })).not.toThrow();
  });

  it('refuses hand-built definitions, conflicting redefinitions and reserved names', () => {
    const telemetry = createTelemetry();
    const forged = { ...defaultMetrics[0]! };
    expect(errorOf(() => createMetrics({ telemetry, definitions: [forged], otlp: false })).message).toContain('definitions[0] is not a metric definition');
    const a = counter({ name: 'pitboss.x', event: 'job.stop' });
    const b = sum({ name: 'pitboss.x', event: 'telemetry.events.dropped', measurement: 'count' });
    expect(errorOf(() => createMetrics({ telemetry, definitions: [a, b], otlp: false })).message).toContain('defined twice with different kind (counter vs sum)');
    expect(errorOf(() => createMetrics({ telemetry, definitions: [a, a], otlp: false })).message).toContain('job.stop is folded twice into the same series');
    const taken = counter({ name: 'pitboss.metrics.dropped', event: 'job.stop' });
    expect(errorOf(() => createMetrics({ telemetry, definitions: [taken], otlp: false })).message).toContain('the name is reserved by pitboss');
    expect(telemetry.listHandlers()).toEqual([]);
  });

  it('rejects bad options naming the key', () => {
    const telemetry = createTelemetry();
    expect(errorOf(() => createMetrics({ telemetry, cardinalityLimit: 0 })).message).toContain('cardinalityLimit must be a positive integer');
    expect(errorOf(() => createMetrics({ telemetry, statsCache: { timeoutMs: -1 } })).message).toContain('statsCache.timeoutMs');
    expect(errorOf(() => createMetrics({ telemetry, otlp: { endpoint: 'not a url' } })).message).toContain('otlp.endpoint');
    expect(errorOf(() => createMetrics({ telemetry: {} as never })).message).toContain('telemetry must be a telemetry bus');
  });
});
