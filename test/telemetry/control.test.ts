import { describe, expect, it } from 'vitest';
import { captureEvents, createTelemetry, normalizeRule, TelemetryError } from '../../src/index.ts';

function countDelivered(run: (emit: () => void) => void, setup?: (bus: ReturnType<typeof createTelemetry>) => void): number {
  const bus = createTelemetry();
  let delivered = 0;
  bus.attach('count', 'pool.status', () => delivered++);
  setup?.(bus);
  run(() => bus.execute('pool.status', {}, { pool: 'p' }));
  return delivered;
}

describe('control rules', () => {
  it('rate 1 keeps every event, rate 0 and enabled=false drop every event', () => {
    const n = 1000;
    const loop = (emit: () => void) => { for (let i = 0; i < n; i++) emit(); };
    expect(countDelivered(loop, (bus) => bus.control.setRule({ pattern: 'pool.status', rate: 1 }))).toBe(n);
    expect(countDelivered(loop, (bus) => bus.control.setRule({ pattern: 'pool.status', rate: 0 }))).toBe(0);
    expect(countDelivered(loop, (bus) => bus.control.setRule({ pattern: 'pool.*', enabled: false }))).toBe(0);
  });

  it('a partial rate keeps a statistically bounded share (±5σ of a binomial)', () => {
    const n = 20_000;
    const rate = 0.3;
    const kept = countDelivered((emit) => { for (let i = 0; i < n; i++) emit(); }, (bus) => bus.control.setRule({ pattern: 'pool.status', rate }));
    const sigma = Math.sqrt(n * rate * (1 - rate));
    expect(Math.abs(kept - n * rate)).toBeLessThan(5 * sigma);
  });

  it('the most specific pattern wins: exact name > longer prefix > shorter prefix > *', () => {
    const bus = createTelemetry();
    const capture = captureEvents(bus, 'pool.*');
    bus.control.setRule({ pattern: '*', rate: 0 });
    bus.control.setRule({ pattern: 'pool.*', rate: 1 });
    bus.control.setRule({ pattern: 'pool.worker.*', rate: 0 });
    bus.control.setRule({ pattern: 'pool.worker.spawned', rate: 1 });
    bus.execute('pool.status', {});
    bus.execute('pool.worker.terminated', {});
    bus.execute('pool.worker.spawned', {});
    expect(capture.names()).toEqual(['pool.status', 'pool.worker.spawned']);
    bus.execute('job.start', {});
    expect(captureEvents(bus, 'job.*').names()).toEqual([]);
  });

  it('scope beats pattern: worker scope > pool scope > unscoped, and only matching emitters are affected', () => {
    const bus = createTelemetry();
    const capture = captureEvents(bus, 'worker.call.stop');
    bus.control.setRule({ pattern: 'worker.call.stop', rate: 1 });
    bus.control.setRule({ pattern: 'worker.*', rate: 0, scope: { pool: 'cpu' } });
    bus.control.setRule({ pattern: '*', rate: 1, scope: { pool: 'cpu', worker: 2 } });
    const emit = (pool: string | undefined, worker_id: number | undefined) =>
      bus.execute('worker.call.stop', { duration: 1 }, { pool, worker_id, task: `${pool}/${worker_id}` });
    emit('cpu', 1); // pool rule: dropped
    emit('cpu', 2); // worker rule: kept
    emit('io', 1); // other pool: unscoped exact rule keeps it
    emit(undefined, undefined); // no scope metadata: unscoped rule
    expect(capture.events.map((e) => e.metadata.task)).toEqual(['cpu/2', 'io/1', 'undefined/undefined']);
  });

  it('rule changes take effect on the next execute and clear cached scoped rates', () => {
    const bus = createTelemetry();
    const capture = captureEvents(bus, 'pool.status');
    bus.control.setRule({ pattern: 'pool.status', rate: 0, scope: { pool: 'a' } });
    bus.execute('pool.status', {}, { pool: 'a' });
    bus.control.setRule({ pattern: 'pool.status', rate: 1, scope: { pool: 'a' } });
    bus.execute('pool.status', {}, { pool: 'a' });
    expect(bus.control.removeRule('pool.status', { pool: 'a' })).toBe(true);
    bus.execute('pool.status', {}, { pool: 'a' });
    expect(capture.events).toHaveLength(2);
  });

  it('is versioned: every change bumps the version and emits telemetry.control.changed', () => {
    const bus = createTelemetry();
    const changed = captureEvents(bus, 'telemetry.control.changed');
    expect(bus.control.rules()).toEqual({ version: 0, rules: [] });
    bus.control.setRule({ pattern: 'job.*', rate: 0.5 });
    bus.control.setRule({ pattern: 'job.*', rate: 0.25 }); // same pattern and scope: replaced
    expect(bus.control.removeRule('job.*')).toBe(true);
    expect(bus.control.removeRule('job.*')).toBe(false); // no change, no version bump
    expect(bus.control.rules().version).toBe(3);
    expect(changed.events.map((e) => [e.measurements.version, e.metadata.change, e.metadata.pattern])).toEqual([
      [1, 'set', 'job.*'],
      [2, 'set', 'job.*'],
      [3, 'removed', 'job.*'],
    ]);
  });

  it('rules() is plain data that another bus adopts with apply() only when newer', () => {
    const source = createTelemetry();
    source.control.setRule({ pattern: 'pool.status', rate: 0 });
    source.control.setRule({ pattern: 'job.*', rate: 0.5, scope: { pool: 'cpu', worker: 1 } });
    const snapshot = JSON.parse(JSON.stringify(source.control.rules()));
    const replica = createTelemetry();
    const changed = captureEvents(replica, 'telemetry.control.changed');
    expect(replica.control.apply(snapshot)).toBe(true);
    expect(replica.control.rules()).toEqual(source.control.rules());
    expect(replica.control.apply(snapshot)).toBe(false);
    expect(changed.events[0]).toMatchObject({ measurements: { version: 2 }, metadata: { source: 'sync', change: 'replaced' } });
    expect(countDelivered((emit) => emit(), (bus) => bus.control.apply(snapshot))).toBe(0);
  });

  it('refuses invalid rules naming the offending key', () => {
    const bus = createTelemetry();
    const cases: [object, RegExp][] = [
      [{ pattern: 'Pool.Status' }, /rule\.pattern/],
      [{ pattern: 'pool.status', rate: 1.5 }, /rule\.rate/],
      [{ pattern: 'pool.status', rate: Number.NaN }, /rule\.rate/],
      [{ pattern: 'pool.status', enabled: 'yes' }, /rule\.enabled/],
      [{ pattern: 'pool.status', scope: { pool: '' } }, /rule\.scope\.pool/],
      [{ pattern: 'pool.status', scope: { worker: 1 } }, /rule\.scope\.worker/],
    ];
    for (const [rule, message] of cases) {
      expect(() => bus.control.setRule(rule as never)).toThrow(message);
      expect(() => normalizeRule(rule as never)).toThrow(TelemetryError);
    }
    expect(bus.control.rules().version).toBe(0);
  });
});
