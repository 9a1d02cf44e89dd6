// Group commit in isolation: batching, caller slices, in-flight limits, isolation of rejected rows,
// retry through connection failures, and fire-and-forget rows kept through an outage.
import { describe, expect, it } from 'vitest';
import { captureEvents, createTelemetry, withCorrelation } from '../../../src/index.ts';
import { Batcher, type BatcherOptions } from '../../../src/jobs/store/batcher.ts';
import { StoreHealth } from '../../../src/jobs/store/health.ts';

const connectionLost = (): Error => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
const constraint = (): Error => Object.assign(new Error('violates check constraint'), { code: '23514' });

function setup(write: BatcherOptions<number, number>['write'], options: Partial<BatcherOptions<number, number>> = {}, isDown = (): boolean => false) {
  const bus = createTelemetry();
  const events = captureEvents(bus, 'store.*');
  const probe = async (): Promise<void> => {
    if (isDown()) throw connectionLost();
  };
  const health = new StoreHealth({ bus, backend: 'postgres', probe, budgetMs: 2_000, minDelayMs: 5, maxDelayMs: 20, probeIntervalMs: 20 });
  const batcher = new Batcher<number, number>({
    kind: 'enqueue', backend: 'postgres', bus, health, write, maxRows: 100, maxInFlight: 1, delayMs: 0, keep: false, maxKeptRows: 1_000, keepRetryMs: 20, ...options,
  });
  return { batcher, events, health };
}

describe('Batcher', () => {
  it('writes the rows of concurrent callers in one statement and answers each with its own slice', async () => {
    const writes: number[][] = [];
    const { batcher, events } = setup(async (rows) => { writes.push([...rows]); return rows.map((r) => r * 10); });
    const answers = await Promise.all([batcher.push([1, 2]), batcher.push([3]), batcher.push([4, 5, 6])]);
    expect(answers).toEqual([[10, 20], [30], [40, 50, 60]]);
    expect(writes).toEqual([[1, 2, 3, 4, 5, 6]]);
    expect(events.of('store.flush').map((e) => [e.measurements.rows, e.metadata])).toEqual([[6, { backend: 'postgres', kind: 'enqueue' }]]);
  });

  it('caps a batch at maxRows (whole callers only) and keeps at most maxInFlight flushes running', async () => {
    let running = 0;
    let peak = 0;
    const sizes: number[] = [];
    const { batcher } = setup(async (rows) => {
      running += 1;
      peak = Math.max(peak, running);
      sizes.push(rows.length);
      await new Promise((resolve) => setTimeout(resolve, 5));
      running -= 1;
      return [...rows];
    }, { maxRows: 10, maxInFlight: 2 });
    await Promise.all(Array.from({ length: 30 }, (_, i) => batcher.push([i, i])));
    expect(peak).toBe(2);
    expect(sizes.every((n) => n <= 10)).toBe(true);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(60);
    await batcher.idle();
  });

  it('fails only the caller whose rows the server rejects', async () => {
    const { batcher } = setup(async (rows) => {
      if (rows.includes(13)) throw constraint();
      return [...rows];
    });
    const results = await Promise.allSettled([batcher.push([1]), batcher.push([13, 14]), batcher.push([2])]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'PITBOSS_STORE_QUERY_FAILED' });
  });

  it('retries connection failures inside one flush and reports the outage once', async () => {
    let failures = 3;
    const { batcher, events, health } = setup(async (rows, attempt) => {
      if (failures-- > 0) throw connectionLost();
      return rows.map(() => attempt);
    }, {}, () => failures > 0);
    expect(await batcher.push([7])).toEqual([4]);
    expect(events.names()).toEqual(['store.connection.lost', 'store.connection.reconnected', 'store.flush']);
    expect(health.available).toBe(true);
  });

  it('flushes and reports outages in no caller\'s correlation: they are on behalf of all of them', async () => {
    let failures = 2;
    const { batcher, events } = setup(async (rows) => {
      if (failures-- > 0) throw connectionLost();
      return [...rows];
    }, { maxRows: 2 }, () => failures > 0);
    // The first caller schedules the flush (setImmediate); the second fills maxRows and flushes at once.
    await Promise.all([
      withCorrelation({ correlationId: 'job-a' }, () => batcher.push([1])),
      withCorrelation({ correlationId: 'job-b' }, () => batcher.push([2])),
      withCorrelation({ correlationId: 'job-c' }, () => batcher.push([3])),
    ]);
    expect(events.names()).toEqual(['store.connection.lost', 'store.connection.reconnected', 'store.flush', 'store.flush']);
    expect(events.events.map((e) => e.metadata.correlation_id)).toEqual([undefined, undefined, undefined, undefined]);
  });

  it('keeps fire-and-forget rows through an outage longer than the budget, and counts what close drops', async () => {
    let down = true;
    const written: number[] = [];
    const { batcher, health } = setup(async (rows) => {
      if (down) throw connectionLost();
      written.push(...rows);
      return [...rows];
    }, { keep: true }, () => down);
    const kept = batcher.push([1, 2]);
    await new Promise((resolve) => setTimeout(resolve, 2_300));
    expect(health.available).toBe(false);
    down = false;
    await kept;
    expect(written).toEqual([1, 2]);
    down = true;
    void batcher.push([3]).catch(() => {});
    health.close();
    batcher.close();
    await batcher.idle();
    expect(batcher.dropped).toBe(1);
  });
});
