/**
 * Compile-time contract of the catalog: misuse must not type-check. Each `@ts-expect-error` fails
 * the typecheck (vitest typecheck and `npm run typecheck`) if the line it guards ever compiles.
 */
import { describe, expectTypeOf, it } from 'vitest';
import { captureEvents, createTelemetry, type EventPattern, type Catalog, type SpanPrefix } from '../../src/index.ts';

const bus = createTelemetry();

describe('execute', () => {
  it('accepts cataloged events with their measurements and metadata', () => {
    bus.execute('pool.status', { queue_depth: 1, busy_workers: 2 }, { pool: 'cpu' });
    bus.execute('pool.worker.spawn_started', {}, { pool: 'cpu', worker_id: 0 });
  });

  it('rejects misspelt events, measurements and metadata keys', () => {
    // @ts-expect-error unknown event name
    bus.execute('pool.statsu', {});
    // @ts-expect-error misspelt measurement
    bus.execute('pool.status', { queue_dept: 1 });
    // @ts-expect-error measurement of another event
    bus.execute('pool.status', { duration: 1 });
    // @ts-expect-error an event without measurements accepts none
    bus.execute('pool.worker.spawn_started', { duration: 1 });
    // @ts-expect-error measurements are numbers
    bus.execute('job.stop', { duration: '5ms' });
    // @ts-expect-error misspelt metadata key
    bus.execute('pool.status', {}, { pol: 'cpu' });
    // @ts-expect-error metadata values are scalars
    bus.execute('pool.status', {}, { pool: { name: 'cpu' } });
  });
});

describe('attach', () => {
  it('types the handler from the pattern', () => {
    bus.attach('a', 'pool.worker.*', (event, measurements) => {
      expectTypeOf(event).toEqualTypeOf<
        'pool.worker.spawn_started' | 'pool.worker.spawned' | 'pool.worker.spawn_failed' | 'pool.worker.terminated' | 'pool.worker.restarted' | 'pool.worker.recycled'
      >();
      expectTypeOf(measurements.lifetime).toEqualTypeOf<number | undefined>();
    });
    bus.attach('b', 'job.stop', (event, measurements, metadata, config) => {
      expectTypeOf(event).toEqualTypeOf<'job.stop'>();
      expectTypeOf(measurements.duration).toEqualTypeOf<number | undefined>();
      expectTypeOf(metadata.correlation_id).toEqualTypeOf<string | undefined>();
      expectTypeOf(config).toEqualTypeOf<{ threshold: number }>();
    }, { threshold: 5 });
  });

  it('rejects unknown events and prefixes', () => {
    // @ts-expect-error unknown event
    bus.attach('c', 'job.finished', () => {});
    // @ts-expect-error prefix that is not a prefix of any event
    bus.attach('d', 'jobs.*', () => {});
    // @ts-expect-error a handler reading a measurement the event does not have
    bus.attach('e', 'job.enqueued', (_e, m: { duration: number }) => m);
  });

  it('capture helper is typed by pattern', () => {
    const capture = captureEvents(bus, 'job.*');
    expectTypeOf(capture.of('job.stop')[0]!.event).toEqualTypeOf<'job.stop'>();
    // @ts-expect-error not captured by this pattern
    capture.of('pool.status');
  });
});

describe('span and host events', () => {
  it('offers only prefixes with start/stop/exception', () => {
    expectTypeOf<SpanPrefix<Catalog>>().toEqualTypeOf<'worker.call' | 'job' | 'action'>();
    bus.span('action', { action: 'resize' }, () => 1);
    // @ts-expect-error pool has no start/stop/exception events
    bus.span('pool', {}, () => 1);
  });

  it('registered host events are typed on the returned bus', () => {
    const billing = createTelemetry().register({
      'billing.invoice.sent': { measurements: ['amount'], metadata: ['region'], labels: ['region'], description: 'sent' },
    });
    billing.execute('billing.invoice.sent', { amount: 3 }, { region: 'eu' });
    // @ts-expect-error measurement not declared by the host event
    billing.execute('billing.invoice.sent', { total: 3 });
    expectTypeOf<'billing.*'>().toMatchTypeOf<EventPattern<Catalog & { 'billing.invoice.sent': Catalog['job.enqueued'] }>>();
  });
});
