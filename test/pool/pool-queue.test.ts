import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { eventually, startPool, workerPath } from '../helpers/pool.ts';

describe('pool: queue, saturation, timeouts and recycling', () => {
  it('queues tasks beyond the threads and reports enqueued/dequeued with the wait', async () => {
    const { pool, events } = await startPool({ threads: 1 });
    const results = await Promise.all([1, 2, 3].map((value) => pool.run({ kind: 'ok', value, delayMs: 20 }, { task: 'slow' })));
    expect(results).toEqual([1, 2, 3]);
    expect(events.of('pool.queue.enqueued').map((e) => e.measurements.queue_size)).toEqual([1, 2]);
    const dequeued = events.of('pool.queue.dequeued');
    expect(dequeued).toHaveLength(2);
    expect(dequeued[0]!.metadata).toEqual({ pool: 'test', task: 'slow' });
    expect(dequeued[1]!.measurements.wait).toBeGreaterThan(dequeued[0]!.measurements.wait!);
  });

  it('refuses work past maxQueue with PoolSaturatedError and pool.saturated', async () => {
    const { pool, events } = await startPool({ threads: 1, maxQueue: 2 });
    const accepted = [0, 1, 2].map(() => pool.run({ kind: 'ok', delayMs: 50 }));
    await expect(pool.run({ kind: 'ok' })).rejects.toMatchObject({ code: 'PITBOSS_POOL_SATURATED' });
    expect(events.of('pool.saturated')[0]).toMatchObject({ measurements: { queue_size: 2, max_queue: 2 }, metadata: { pool: 'test' } });
    expect(await Promise.all(accepted)).toEqual(['ok', 'ok', 'ok']);
  });

  it('a task waiting longer than queueTimeoutMs rejects with QueueTimeoutError and never runs', async () => {
    const { pool, events } = await startPool({ threads: 1, queueTimeoutMs: 30 });
    const running = pool.run({ kind: 'ok', delayMs: 300, value: 'first' });
    await expect(pool.run({ kind: 'ok', value: 'second' })).rejects.toMatchObject({ code: 'PITBOSS_QUEUE_TIMEOUT' });
    expect(events.of('pool.queue.timeout')[0]!.measurements.wait).toBeGreaterThanOrEqual(25e6);
    expect(await running).toBe('first');
    expect(events.of('worker.call.start')).toHaveLength(1);
  });

  it('a caller abort removes a queued task without running it', async () => {
    const { pool, events } = await startPool({ threads: 1 });
    const running = pool.run({ kind: 'ok', delayMs: 100 });
    const controller = new AbortController();
    const queued = pool.run({ kind: 'ok', value: 'never' }, { signal: controller.signal });
    controller.abort(new Error('user cancelled'));
    await expect(queued).rejects.toThrow('user cancelled');
    await running;
    expect(events.of('worker.call.start')).toHaveLength(1);
    expect(pool.queueSize).toBe(0);
  });

  it('a signal shared by many runs keeps no listener of a settled task', async () => {
    const { pool } = await startPool({ threads: 2 });
    const shared = new AbortController();
    const outcomes = await Promise.allSettled([
      ...Array.from({ length: 40 }, (_, value) => pool.run({ kind: 'ok', value }, { signal: shared.signal })),
      pool.run({ kind: 'throw' }, { signal: shared.signal }),
    ]);
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(40);
    expect(getEventListeners(shared.signal, 'abort')).toHaveLength(0);
    // Still live for the tasks that have it: an abort now reaches a queued one.
    const running = pool.run({ kind: 'ok', delayMs: 100 });
    const other = pool.run({ kind: 'ok', delayMs: 100 });
    const queued = pool.run({ kind: 'ok' }, { signal: shared.signal });
    expect(getEventListeners(shared.signal, 'abort')).toHaveLength(1);
    shared.abort(new Error('all off'));
    await expect(queued).rejects.toThrow('all off');
    await Promise.all([running, other]);
  });

  it('recycles a thread after maxTasks: same slot, new thread, planned, nothing lost', async () => {
    const { pool, events } = await startPool({ threads: 1, recycle: { maxTasks: 3 } });
    const first = pool.threads()[0]!.threadId;
    const results = await Promise.all(Array.from({ length: 10 }, (_, value) => pool.run({ kind: 'ok', value })));
    expect(results).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    await eventually(() => events.of('pool.worker.recycled').length >= 3, 5000, 'three recycles');
    const recycled = events.of('pool.worker.recycled')[0]!;
    expect(recycled.measurements).toMatchObject({ tasks: 3, heap_bytes: expect.any(Number) });
    expect(recycled.measurements.heap_bytes).toBeGreaterThan(0);
    expect(recycled.metadata).toMatchObject({ worker_id: 0, reason: 'max_tasks', planned: true });
    expect(events.of('pool.worker.terminated').every((e) => e.metadata.planned === true)).toBe(true);
    expect(events.of('pool.worker.restarted')).toHaveLength(0);
    await eventually(() => pool.threads().length === 1, 5000, 'replacement ready');
    expect(pool.threads()[0]!.workerId).toBe(0);
    expect(pool.threads()[0]!.threadId).not.toBe(first);
  });

  it('recycles an idle thread past maxLifetimeMs and one whose heap passed maxHeapBytes', async () => {
    const aged = await startPool({ threads: 1, recycle: { maxLifetimeMs: 100 } });
    await aged.pool.run({ kind: 'ok' });
    await aged.events.waitFor('pool.worker.recycled');
    expect(aged.events.of('pool.worker.recycled')[0]!.metadata.reason).toBe('max_lifetime');

    const heavy = await startPool({ threads: 1, recycle: { maxHeapBytes: 1024 } });
    await heavy.pool.run({ kind: 'ok' });
    await heavy.events.waitFor('pool.worker.recycled');
    expect(heavy.events.of('pool.worker.recycled')[0]!.metadata.reason).toBe('max_heap');
  });

  it('a close rejects queued tasks and stops their queue timers (no late pool.queue.timeout)', async () => {
    const { pool, events } = await startPool({ threads: 1, queueTimeoutMs: 150 });
    const running = pool.run({ kind: 'ok', delayMs: 50 }).catch((e: unknown) => e);
    const queued = pool.run({ kind: 'ok' }).catch((e: unknown) => e);
    await pool.close({ timeoutMs: 0 });
    await running;
    expect(await queued).toMatchObject({ code: 'PITBOSS_POOL_CLOSED' });
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(events.of('pool.queue.timeout')).toHaveLength(0);
    expect(pool.queueSize).toBe(0);
  });

  it('a task waits in the queue while a replacement boots: its timeout starts when a thread can take it', async () => {
    // The replacement takes 800 ms to load; the task's limit is 300 + 100 ms. Handed to piscina at
    // once, it would sit in piscina's queue with its kill timer running and time out unstarted.
    const { pool, events } = await startPool({ threads: 1, worker: workerPath('flaky-boot'), taskTimeoutMs: 300, killGraceMs: 100 });
    const crashed = pool.run({ kind: 'crash-then-slow-boot' }).catch((e: unknown) => e);
    const next = pool.run({ kind: 'ok' });
    expect(await crashed).toMatchObject({ code: 'PITBOSS_WORKER_CRASHED' });
    expect(await next).toBe('ok');
    const dequeued = events.of('pool.queue.dequeued');
    expect(dequeued.at(-1)!.measurements.wait).toBeGreaterThan(500 * 1e6);
  });
});
