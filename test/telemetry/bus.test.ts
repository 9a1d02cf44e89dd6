import { describe, expect, it } from 'vitest';
import { createTelemetry, captureEvents, TelemetryError } from '../../src/index.ts';

type Call = [string, object, object, unknown];

describe('attach / execute', () => {
  it('delivers name, measurements, metadata and config to an attached handler', () => {
    const bus = createTelemetry();
    const calls: Call[] = [];
    bus.attach('h', 'pool.status', (event, m, md, config) => calls.push([event, m, md, config]), { tag: 1 });
    bus.execute('pool.status', { queue_depth: 3, utilization: 0.5 }, { pool: 'p' });
    expect(calls).toEqual([['pool.status', { queue_depth: 3, utilization: 0.5 }, { pool: 'p' }, { tag: 1 }]]);
  });

  it('runs handlers in attach order and only for their events', () => {
    const bus = createTelemetry();
    const order: string[] = [];
    bus.attach('a', 'pool.status', () => order.push('a'));
    bus.attach('b', 'pool.status', () => order.push('b'));
    bus.attach('c', 'pool.saturated', () => order.push('c'));
    bus.execute('pool.status', {});
    expect(order).toEqual(['a', 'b']);
  });

  it('rejects a duplicate handler id with PITBOSS_HANDLER_EXISTS and keeps the first', () => {
    const bus = createTelemetry();
    const seen: string[] = [];
    bus.attach('dup', 'pool.status', () => seen.push('first'));
    expect(() => bus.attach('dup', 'pool.saturated', () => seen.push('second'))).toThrowError(
      expect.objectContaining({ code: 'PITBOSS_HANDLER_EXISTS' }),
    );
    bus.execute('pool.status', {});
    bus.execute('pool.saturated', {});
    expect(seen).toEqual(['first']);
  });

  it('rejects unknown events, empty patterns and prefixes that match nothing', () => {
    const bus = createTelemetry();
    const attachLoose = bus.attach as (id: string, p: string, h: () => void) => void;
    for (const pattern of ['pool.nope', 'nothing.*', 'Pool.Status', '', 'pool..status']) {
      expect(() => attachLoose.call(bus, 'x', pattern, () => {})).toThrow(TelemetryError);
    }
    expect(() => bus.attachMany('y', [], () => {})).toThrowError(expect.objectContaining({ code: 'PITBOSS_UNKNOWN_EVENT' }));
    expect(bus.listHandlers()).toEqual([]);
  });

  it('prefix attach receives every event under the prefix and nothing else', () => {
    const bus = createTelemetry();
    const capture = captureEvents(bus, 'pool.worker.*');
    bus.execute('pool.worker.spawned', { duration: 1 }, { pool: 'p', worker_id: 0 });
    bus.execute('pool.worker.terminated', { lifetime: 2, tasks: 3 }, { pool: 'p', worker_id: 0 });
    bus.execute('pool.status', {}, { pool: 'p' });
    expect(capture.names()).toEqual(['pool.worker.spawned', 'pool.worker.terminated']);
  });

  it("'*' receives every event", () => {
    const bus = createTelemetry();
    const capture = captureEvents(bus, '*');
    bus.execute('job.enqueued', {}, { queue: 'q' });
    bus.execute('store.flush', { rows: 2 });
    expect(capture.names()).toEqual(['job.enqueued', 'store.flush']);
  });

  it('attachMany attaches one id to several events and detach removes all of them', () => {
    const bus = createTelemetry();
    const seen: string[] = [];
    bus.attachMany('m', ['job.start', 'job.stop'], (event) => seen.push(event));
    bus.execute('job.start', { attempt: 1 });
    bus.execute('job.stop', { duration: 5 });
    expect(seen).toEqual(['job.start', 'job.stop']);
    expect(bus.detach('m')).toBe(true);
    expect(bus.detach('m')).toBe(false);
    expect(bus.detach('never-attached')).toBe(false);
    bus.execute('job.start', { attempt: 2 });
    expect(seen).toHaveLength(2);
  });

  it('listHandlers filters by event prefix and reports patterns, events and config', () => {
    const bus = createTelemetry();
    bus.attach('workers', 'pool.worker.*', () => {}, { level: 'debug' });
    bus.attach('jobs', 'job.stop', () => {});
    expect(bus.listHandlers().map((h) => h.id)).toEqual(['workers', 'jobs']);
    const [workers] = bus.listHandlers('pool.worker');
    expect(bus.listHandlers('pool.worker')).toHaveLength(1);
    expect(workers).toMatchObject({ id: 'workers', patterns: ['pool.worker.*'], config: { level: 'debug' } });
    expect(workers?.events).toContain('pool.worker.spawned');
    expect(bus.listHandlers('pool.*').map((h) => h.id)).toEqual(['workers']);
    expect(bus.listHandlers('job').map((h) => h.id)).toEqual(['jobs']);
    expect(bus.listHandlers('supervisor')).toEqual([]);
  });

  it('a handler attached while an event is being delivered does not see that event', () => {
    const bus = createTelemetry();
    const seen: string[] = [];
    bus.attach('first', 'pool.status', () => {
      if (!bus.listHandlers().some((h) => h.id === 'late')) bus.attach('late', 'pool.status', () => seen.push('late'));
    });
    bus.execute('pool.status', {});
    expect(seen).toEqual([]);
    bus.execute('pool.status', {});
    expect(seen).toEqual(['late']);
  });
});

describe('handler failure', () => {
  it('detaches the failing handler from all its events, emits telemetry.handler.failure, spares the emitter', () => {
    const bus = createTelemetry();
    const failures = captureEvents(bus, 'telemetry.handler.failure');
    const healthy: string[] = [];
    bus.attachMany('bad', ['pool.status', 'pool.saturated'], () => {
      throw new RangeError('boom');
    });
    bus.attach('good', 'pool.status', (event) => healthy.push(event));

    expect(() => bus.execute('pool.status', {}, { pool: 'p' })).not.toThrow();
    expect(healthy).toEqual(['pool.status']);
    expect(failures.events).toEqual([
      {
        event: 'telemetry.handler.failure',
        measurements: {},
        metadata: { handler_id: 'bad', event: 'pool.status', error_type: 'RangeError', error: 'boom' },
      },
    ]);
    expect(bus.listHandlers().map((h) => h.id)).not.toContain('bad');
    bus.execute('pool.saturated', {});
    expect(failures.events).toHaveLength(1);
  });

  it('a handler of the failure event that throws is detached without looping', () => {
    const bus = createTelemetry();
    let calls = 0;
    bus.attach('self', 'telemetry.handler.failure', () => {
      calls++;
      throw new Error('again');
    });
    bus.attach('bad', 'pool.status', () => {
      throw new Error('first');
    });
    bus.execute('pool.status', {});
    expect(calls).toBe(1);
    expect(bus.listHandlers()).toEqual([]);
  });
});

describe('events from outside the type system', () => {
  it('drops and counts unknown names from untyped callers without throwing', () => {
    const bus = createTelemetry();
    const dropped = captureEvents(bus, 'telemetry.events.dropped');
    const executeLoose = bus.execute as (event: string, m: object, md?: object) => void;
    expect(() => executeLoose.call(bus, 'pool.not_an_event', {})).not.toThrow();
    expect(bus.dropped()).toEqual({ unknown_event: 1, invalid_measurement: 0, buffer_full: 0 });
    expect(dropped.events[0]?.measurements).toEqual({ count: 1 });
    expect(dropped.events[0]?.metadata).toMatchObject({ reason: 'unknown_event', source: 'local', event: 'pool.not_an_event' });
  });

  it('ingest validates names and measurements, counts rejects by reason, stamps the origin', () => {
    const bus = createTelemetry();
    const calls = captureEvents(bus, 'worker.call.stop');
    const origin = { source: 'thread', pool: 'cpu', worker_id: 2 };
    expect(bus.ingest('worker.call.stop', { duration: 10 }, { task: 't' }, origin)).toBe(true);
    expect(bus.ingest('no.such', { duration: 1 }, {}, origin)).toBe(false);
    expect(bus.ingest('worker.call.stop', { duration: 'slow' }, {}, origin)).toBe(false);
    expect(bus.ingest('worker.call.stop', { duration: Number.NaN }, {}, origin)).toBe(false);
    expect(bus.ingest('worker.call.stop', { bogus: 1 }, {}, origin)).toBe(false);
    expect(bus.ingest('worker.call.stop', null, {}, origin)).toBe(false);
    expect(bus.ingest('worker.call.stop', { duration: 1 }, 'meta', origin)).toBe(false);
    // An event with measurement keys that carries none; an event without any may come empty.
    expect(bus.ingest('worker.call.stop', {}, {}, origin)).toBe(false);
    expect(bus.ingest('worker.call.start', {}, { task: 't' }, origin)).toBe(true);
    expect(bus.dropped()).toEqual({ unknown_event: 1, invalid_measurement: 6, buffer_full: 0 });
    expect(calls.events).toEqual([
      { event: 'worker.call.stop', measurements: { duration: 10 }, metadata: { task: 't', source: 'thread', pool: 'cpu', worker_id: 2 } },
    ]);
  });

  it('drop() counts events lost elsewhere, e.g. a full thread buffer', () => {
    const bus = createTelemetry();
    const dropped = captureEvents(bus, 'telemetry.events.dropped');
    bus.drop('buffer_full', 7, { source: 'thread', pool: 'cpu', worker_id: 1 });
    expect(bus.dropped().buffer_full).toBe(7);
    expect(dropped.events[0]).toMatchObject({ measurements: { count: 7 }, metadata: { reason: 'buffer_full', pool: 'cpu' } });
  });
});

describe('record handlers', () => {
  it('receive what sampling thins out (weight 0), through execute, handles and ingest; observers do not', () => {
    const bus = createTelemetry();
    bus.control.setRule({ pattern: 'pool.worker.*', rate: 0 });
    const seen: [string, string, number][] = [];
    bus.attach('observer', 'pool.worker.*', (event, _m, _md, _c, weight) => { seen.push(['observer', event, weight]); });
    bus.attach('record', 'pool.worker.*', (event, _m, _md, _c, weight) => { seen.push(['record', event, weight]); }, undefined, { record: true });
    bus.execute('pool.worker.terminated', { lifetime: 1, tasks: 2 }, { pool: 'p', worker_id: 0 });
    bus.event('pool.worker.recycled').execute({ lifetime: 1, tasks: 2, heap_bytes: 3 }, { pool: 'p', worker_id: 0 });
    bus.ingest('pool.worker.spawned', { duration: 1 }, { pool: 'p', worker_id: 0 }, undefined, true);
    expect(seen).toEqual([['record', 'pool.worker.terminated', 0], ['record', 'pool.worker.recycled', 0], ['record', 'pool.worker.spawned', 0]]);
    // At rate 0.5 both see a kept event once, weighing 2.
    bus.control.setRule({ pattern: 'pool.worker.*', rate: 0.5 });
    seen.length = 0;
    for (let i = 0; i < 200 && !seen.some(([who]) => who === 'observer'); i++) bus.execute('pool.worker.spawned', { duration: 1 }, { pool: 'p', worker_id: 0 });
    const kept = seen.filter(([, , weight]) => weight !== 0);
    expect(kept).toEqual([['observer', 'pool.worker.spawned', 2], ['record', 'pool.worker.spawned', 2]]);
    expect(seen.filter(([who, , weight]) => who === 'record' && weight === 0).length).toBe(seen.length - 2);
  });
});

describe('host-registered events', () => {
  const billing = {
    'billing.invoice.sent': { measurements: ['amount'], metadata: ['region', 'invoice_id'], labels: ['region'], description: 'An invoice went out.' },
  } as const;

  it('registers typed events that execute, attach and prefix patterns can use', () => {
    const base = createTelemetry();
    const early = captureEvents(base, '*');
    const bus = base.register(billing);
    const capture = captureEvents(bus, 'billing.*');
    bus.execute('billing.invoice.sent', { amount: 12 }, { region: 'eu', invoice_id: 'inv-1' });
    expect(capture.of('billing.invoice.sent')).toHaveLength(1);
    expect(early.names()).toContain('billing.invoice.sent');
    expect(bus.has('billing.invoice.sent')).toBe(true);
    expect(bus.events()['billing.invoice.sent']).toEqual(billing['billing.invoice.sent']);
  });

  it('refuses clashing or malformed definitions, naming the event', () => {
    const bus = createTelemetry();
    const registerLoose = bus.register as (events: object) => unknown;
    const bad = [
      { 'pool.status': { measurements: [], metadata: [], labels: [], description: 'again' } },
      { single: { measurements: [], metadata: [], labels: [], description: 'one segment' } },
      { 'a.b': { measurements: [], metadata: ['x'], labels: ['y'], description: 'label not metadata' } },
      { 'a.c': { measurements: 'n', metadata: [], labels: [], description: 'not a list' } },
      { 'a.d': { measurements: [], metadata: [], labels: [], description: '' } },
    ];
    for (const events of bad) {
      expect(() => registerLoose.call(bus, events)).toThrowError(expect.objectContaining({ code: 'PITBOSS_INVALID_EVENT_SPEC' }));
    }
    expect(() => registerLoose.call(bus, bad[2]!)).toThrow(/"a\.b".*labels y/);
  });
});

describe('event handles', () => {
  it('execute through a handle reaches handlers attached before and after it was taken', () => {
    const bus = createTelemetry();
    const status = bus.event('pool.status');
    const seen: number[] = [];
    status.execute({ queue_depth: 0 }); // nobody listens yet: a no-op
    bus.attach('h', 'pool.status', (_e, m) => seen.push(m.queue_depth!));
    status.execute({ queue_depth: 1 }, { pool: 'p' });
    bus.control.setRule({ pattern: 'pool.status', rate: 0 });
    status.execute({ queue_depth: 2 });
    bus.control.removeRule('pool.status');
    bus.detach('h');
    status.execute({ queue_depth: 3 });
    expect(seen).toEqual([1]);
    expect(status.name).toBe('pool.status');
    expect(bus.event('pool.status')).toBe(status);
  });

  it('applies scoped rules by the metadata pool', () => {
    const bus = createTelemetry();
    const capture = captureEvents(bus, 'pool.status');
    bus.control.setRule({ pattern: 'pool.*', rate: 0, scope: { pool: 'quiet' } });
    const status = bus.event('pool.status');
    status.execute({}, { pool: 'quiet' });
    status.execute({}, { pool: 'loud' });
    expect(capture.events.map((e) => e.metadata.pool)).toEqual(['loud']);
  });

  it('refuses unknown names at setup', () => {
    const bus = createTelemetry();
    expect(() => (bus.event as (n: string) => unknown).call(bus, 'pool.nope')).toThrowError(expect.objectContaining({ code: 'PITBOSS_UNKNOWN_EVENT' }));
  });
});
