import { describe, expect, it } from 'vitest';
import { eventually, startPool } from '../helpers/pool.ts';

describe('pool: telemetry from threads', () => {
  it('a sampling rule set mid-task reaches the running thread without a restart, and is acknowledged', async () => {
    const { pool, bus, events } = await startPool({ threads: 1, transport: { flushIntervalMs: 10 } });
    const threadBefore = pool.threads()[0]!.threadId;
    const done = pool.run({ kind: 'stream', count: 60, intervalMs: 5 });
    await eventually(() => events.of('action.stop').length >= 5, 5000, 'first stream events');
    bus.control.setRule({ pattern: 'action.*', rate: 0, scope: { pool: 'test' } });
    const { version } = bus.control.rules();
    await done;
    const indices = events.of('action.stop').map((e) => e.measurements.duration);
    expect(indices.length).toBeGreaterThanOrEqual(5);
    expect(indices.length).toBeLessThan(60);
    expect(indices).toEqual(indices.map((_, i) => i)); // a prefix: nothing after the change got through
    expect(pool.threads()[0]).toMatchObject({ threadId: threadBefore, rulesVersion: version });
  });

  it('a restarted thread starts with the current rules', async () => {
    const { pool, bus, events } = await startPool({ threads: 1 });
    bus.control.setRule({ pattern: 'action.stop', enabled: false });
    const { version } = bus.control.rules();
    await pool.run({ kind: 'exit' }).catch(() => {});
    await events.waitFor('pool.worker.restarted');
    await pool.run({ kind: 'burst', count: 50 });
    expect(events.of('action.stop')).toHaveLength(0);
    expect(pool.threads()[0]!.rulesVersion).toBe(version);
    bus.control.removeRule('action.stop');
    await pool.run({ kind: 'burst', count: 50 });
    expect(events.of('action.stop')).toHaveLength(50);
  });

  it('worker-scoped rules apply only to that slot', async () => {
    const { pool, bus, events } = await startPool({ threads: 2 });
    bus.control.setRule({ pattern: 'action.*', rate: 0, scope: { pool: 'test', worker: 0 } });
    await Promise.all(Array.from({ length: 20 }, () => pool.run({ kind: 'burst', count: 5 })));
    const calls = events.of('worker.call.stop').map((e) => e.metadata.worker_id);
    expect(calls).toContain(0);
    expect(calls).toContain(1);
    const fromSlots = new Set(events.of('action.stop').map((e) => e.metadata.worker_id));
    expect([...fromSlots]).toEqual([1]);
  });

  it('drops and counts malformed events from worker code without hurting the task, naming each invalid event', async () => {
    const { pool, bus, events } = await startPool({ threads: 1 });
    const result = await pool.run({
      kind: 'emit',
      events: [
        { name: 'pool.bogus', measurements: {} },
        { name: 'action.stop', measurements: { duration: 'fast' } },
        { name: 'action.stop', measurements: { duration: 1 }, metadata: { secret_key: 'x' } },
        { name: 'action.stop', measurements: { duration: 2 }, metadata: { action: { nested: true } } },
        { name: 'worker.memory.sampled', measurements: {} },
        { name: 'action.stop', measurements: { duration: 3 }, metadata: { action: 'fine' } },
      ],
    });
    expect(result).toBe('emitted');
    expect(events.of('action.stop').map((e) => e.measurements.duration)).toEqual([3]);
    expect(events.of('worker.memory.sampled')).toEqual([]);
    expect(bus.dropped()).toMatchObject({ unknown_event: 1, invalid_measurement: 4 });
    const dropped = events.of('telemetry.events.dropped');
    expect(dropped.map((e) => e.metadata)).toEqual(expect.arrayContaining([
      expect.objectContaining({ reason: 'unknown_event', source: 'thread', pool: 'test', worker_id: 0 }),
    ]));
    const invalid = dropped.filter((e) => e.metadata.reason === 'invalid_measurement');
    expect(invalid.map((e) => [e.metadata.event, e.metadata.source, e.metadata.pool, e.metadata.worker_id, e.measurements.count])).toEqual([
      ['action.stop', 'thread', 'test', 0, 1], ['action.stop', 'thread', 'test', 0, 1], ['action.stop', 'thread', 'test', 0, 1],
      ['worker.memory.sampled', 'thread', 'test', 0, 1],
    ]);
  });

  it('bounds memory: with the buffer full, events are dropped and counted, never blocking the task', async () => {
    const { pool, bus, events } = await startPool({ threads: 1, transport: { batchEvents: 10, maxPendingBatches: 1 } });
    // One synchronous burst of 5000 events: batches of 10 with one in flight cannot keep up (a
    // message costs far more than the ten events it carries), so most are dropped, none block.
    expect(await pool.run({ kind: 'burst', count: 5000 })).toBe(5000);
    // The thread emitted 5002 events: worker.call.start, 5000 × action.stop, worker.call.stop.
    const delivered = events.of('action.stop').length + events.of('worker.call.start').length + events.of('worker.call.stop').length;
    const dropped = bus.dropped().buffer_full;
    expect(dropped).toBeGreaterThan(1000);
    expect(delivered + dropped).toBe(5002);
    expect(events.of('telemetry.events.dropped').some((e) => e.metadata.reason === 'buffer_full' && e.metadata.worker_id === 0)).toBe(true);
  });
});
