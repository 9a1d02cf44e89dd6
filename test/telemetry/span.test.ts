import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { captureEvents, createTelemetry } from '../../src/index.ts';

const md = { pool: 'p', worker_id: 1, task: 'hash' };

describe('span', () => {
  it('emits start then stop with a nanosecond duration for a sync function and returns its value', () => {
    const bus = createTelemetry();
    const capture = captureEvents(bus, 'worker.call.*');
    const result = bus.span('worker.call', md, () => {
      const until = performance.now() + 5;
      while (performance.now() < until);
      return 42;
    });
    expect(result).toBe(42);
    expect(capture.names()).toEqual(['worker.call.start', 'worker.call.stop']);
    const stop = capture.of('worker.call.stop')[0]!;
    expect(stop.measurements.duration).toBeGreaterThanOrEqual(5e6);
    expect(stop.measurements.duration).toBeLessThan(5e9);
    expect(Number.isInteger(stop.measurements.duration)).toBe(true);
  });

  it('emits exception with error_type and rethrows the same error (sync)', () => {
    const bus = createTelemetry();
    const capture = captureEvents(bus, 'worker.call.*');
    const error = new TypeError('bad input');
    expect(() => bus.span('worker.call', md, () => { throw error; })).toThrow(error);
    expect(capture.names()).toEqual(['worker.call.start', 'worker.call.exception']);
    const exception = capture.of('worker.call.exception')[0]!;
    expect(exception.metadata).toMatchObject({ ...md, error_type: 'TypeError', error: 'bad input' });
    expect(exception.measurements.duration).toBeGreaterThanOrEqual(0);
  });

  it('measures async functions until they settle', async () => {
    const bus = createTelemetry();
    const capture = captureEvents(bus, 'job.*');
    const value = await bus.span('job', { queue: 'q', job_name: 'n' }, async () => {
      await sleep(20);
      return 'done';
    });
    expect(value).toBe('done');
    expect(capture.names()).toEqual(['job.start', 'job.stop']);
    expect(capture.of('job.stop')[0]!.measurements.duration).toBeGreaterThanOrEqual(15e6);
  });

  it('reports async rejections as exception and rejects with the original error', async () => {
    const bus = createTelemetry();
    const capture = captureEvents(bus, 'action.*');
    const error = new Error('step failed');
    await expect(bus.span('action', { action: 'resize' }, async () => {
      await sleep(1);
      throw error;
    })).rejects.toBe(error);
    expect(capture.names()).toEqual(['action.start', 'action.exception']);
    expect(capture.of('action.exception')[0]!.metadata).toMatchObject({ action: 'resize', error_type: 'Error', error: 'step failed' });
  });

  it('start, stop and exception of one span share one context id; spans get distinct ids', async () => {
    const bus = createTelemetry();
    const capture = captureEvents(bus, 'worker.call.*');
    bus.span('worker.call', md, () => 1);
    await bus.span('worker.call', md, async () => 2);
    expect(() => bus.span('worker.call', md, () => { throw new Error('x'); })).toThrow();
    const ids = capture.events.map((e) => e.metadata.telemetry_span_id);
    expect(ids[0]).toBe(ids[1]);
    expect(ids[2]).toBe(ids[3]);
    expect(ids[4]).toBe(ids[5]);
    expect(new Set(ids).size).toBe(3);
  });

  it('does not mutate the caller metadata and describes non-Error throws', () => {
    const bus = createTelemetry();
    const capture = captureEvents(bus, 'worker.call.exception');
    const mine = { ...md };
    expect(() => bus.span('worker.call', mine, () => { throw 'plain string'; })).toThrow('plain string');
    expect(mine).toEqual(md);
    expect(capture.events[0]!.metadata).toMatchObject({ error_type: 'string', error: 'plain string' });
  });
});
