import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import {
  captureEvents, childTraceparent, createTelemetry, currentCorrelation, formatTraceparent, parseTraceparent, restoreCorrelation,
  traceIdOf, withCorrelation,
} from '../../src/index.ts';
import { checkTracestate } from '../../src/telemetry/correlation.ts';

const sample = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe('traceparent', () => {
  it('parses and formats W3C traceparent headers', () => {
    expect(parseTraceparent(sample)).toEqual({ version: '00', traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', flags: '01' });
    expect(formatTraceparent({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7' })).toBe(sample);
    expect(formatTraceparent({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', sampled: false })).toMatch(/-00$/);
    expect(traceIdOf(sample)).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
  });

  it('rejects malformed headers and the all-zero ids W3C forbids', () => {
    for (const bad of ['', 'garbage', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7', `ff${sample.slice(2)}`,
      '00-00000000000000000000000000000000-00f067aa0ba902b7-01', '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
      '00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01']) {
      expect(parseTraceparent(bad)).toBeNull();
    }
    expect(() => formatTraceparent({ traceId: 'xyz', spanId: '00f067aa0ba902b7' })).toThrowError(expect.objectContaining({ code: 'PITBOSS_INVALID_TRACEPARENT' }));
    expect(() => childTraceparent('garbage')).toThrowError(expect.objectContaining({ code: 'PITBOSS_INVALID_TRACEPARENT' }));
  });

  it('a child keeps the trace id and flags and gets a new span id; no parent starts a new trace', () => {
    const child = parseTraceparent(childTraceparent(sample))!;
    expect(child.traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(child.spanId).not.toBe('00f067aa0ba902b7');
    expect(child.flags).toBe('01');
    const fresh = parseTraceparent(childTraceparent())!;
    expect(fresh.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(fresh.traceId).not.toBe(child.traceId);
  });
});

describe('correlation context', () => {
  it('is absent outside withCorrelation and carried across awaits and timers inside it', async () => {
    expect(currentCorrelation()).toBeUndefined();
    const seen = await withCorrelation({ correlationId: 'req-1', traceparent: sample }, async () => {
      const before = currentCorrelation();
      await sleep(5);
      const afterAwait = currentCorrelation();
      const inTimer = await new Promise((resolve) => setTimeout(() => resolve(currentCorrelation()), 1));
      return { before, afterAwait, inTimer };
    });
    expect(seen.before?.correlationId).toBe('req-1');
    expect(traceIdOf(seen.before!.traceparent)).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(seen.afterAwait).toEqual(seen.before);
    expect(seen.inTimer).toEqual(seen.before);
    expect(currentCorrelation()).toBeUndefined();
  });

  it('nested contexts inherit the correlation id and trace but get their own span', () => {
    withCorrelation(undefined, () => {
      const outer = currentCorrelation()!;
      expect(outer.correlationId).toMatch(/^[0-9a-f-]{36}$/);
      withCorrelation({}, () => {
        const inner = currentCorrelation()!;
        expect(inner.correlationId).toBe(outer.correlationId);
        expect(traceIdOf(inner.traceparent)).toBe(traceIdOf(outer.traceparent));
        expect(inner.traceparent).not.toBe(outer.traceparent);
      });
      const exact = { correlationId: 'c', traceparent: sample };
      restoreCorrelation(exact, () => expect(currentCorrelation()).toEqual(exact));
    });
  });

  it('concurrent contexts do not leak into each other', async () => {
    const run = (id: string, delay: number) => withCorrelation({ correlationId: id }, async () => {
      await sleep(delay);
      return currentCorrelation()?.correlationId;
    });
    expect(await Promise.all([run('a', 15), run('b', 1), run('c', 8)])).toEqual(['a', 'b', 'c']);
  });

  it('handlers that do not ask for correlation get the metadata as emitted, and can read the context', async () => {
    const bus = createTelemetry();
    const seen: unknown[] = [];
    bus.attach('plain', 'job.start', (_e, _m, metadata) => seen.push([metadata.correlation_id, currentCorrelation()?.correlationId]));
    await withCorrelation({ correlationId: 'c-1' }, async () => bus.execute('job.start', { attempt: 1 }, { queue: 'q' }));
    expect(seen).toEqual([[undefined, 'c-1']]);
  });

  it('handlers receive correlation_id and traceparent as metadata; explicit metadata wins', async () => {
    const bus = createTelemetry();
    const capture = captureEvents(bus, 'job.*');
    await withCorrelation({ correlationId: 'job-42', traceparent: sample }, async () => {
      await sleep(1);
      bus.execute('job.start', { attempt: 1 }, { queue: 'q' });
      bus.execute('job.stop', { duration: 1 }, { queue: 'q', correlation_id: 'explicit' });
    });
    bus.execute('job.enqueued', {}, { queue: 'q' });
    const [start, stop, outside] = capture.events;
    expect(start!.metadata.correlation_id).toBe('job-42');
    expect(traceIdOf(start!.metadata.traceparent!)).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(stop!.metadata.correlation_id).toBe('explicit');
    expect(outside!.metadata.correlation_id).toBeUndefined();
  });
});

describe('tracestate', () => {
  it('accepts what W3C Trace Context allows, up to its limits, and refuses the rest', () => {
    const members = (n: number): string => Array.from({ length: n }, (_, i) => `k${i}=v`).join(',');
    for (const good of ['rojo=00f067aa0ba902b7', ' congo=t61rcWkgMzE , rojo=1 ', 'a=1,,b=2', 'tenant@sys=x', '0t@s=x', 'k*/_-=a b!', members(32), `k=${'v'.repeat(256)}`, `a=${'v'.repeat(254)},b=${'v'.repeat(253)}`]) {
      expect(checkTracestate(good), good).toBe(good.trim());
    }
    for (const bad of ['', ',', 'Upper=1', 'k=', 'k=tab\tinside', 'k=a,b', 'k=x=y', '9digit=1', 'a@9sys=1', 'a=1,a=2', members(33), `k=${'v'.repeat(257)}`, `a=${'v'.repeat(254)},b=${'v'.repeat(254)}`]) {
      expect(checkTracestate(bad), bad).toBeNull();
    }
  });

  it('travels with its traceparent: kept by a child context, dropped for a new parent or a new trace', () => {
    const tracestate = 'rojo=00f067aa0ba902b7';
    withCorrelation({ traceparent: sample, tracestate }, () => {
      expect(currentCorrelation()).toMatchObject({ tracestate });
      withCorrelation({ correlationId: 'inner' }, () => expect(currentCorrelation()!.tracestate).toBe(tracestate));
      withCorrelation({ traceparent: childTraceparent() }, () => expect(currentCorrelation()!.tracestate).toBeUndefined());
    });
    withCorrelation({ tracestate }, () => expect(currentCorrelation()!.tracestate).toBeUndefined());
  });
});
