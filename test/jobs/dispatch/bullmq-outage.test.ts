// Redis going away under a BullMQ dispatcher: a SIGKILL and a restart without persistence (everything
// in Redis is gone), and a Redis that is not there at all. The dispatcher must report each outage once,
// refuse work it cannot do with a typed error, and consume again once Redis is back.
import { afterEach, describe, expect, it } from 'vitest';
import { captureEvents, createTelemetry } from '../../../src/index.ts';
import { BullmqDispatcher } from '../../../src/jobs/dispatch/index.ts';
import { freePort } from '../../setup/support.ts';
import { deferred, eventually, job, recorder } from './helpers.ts';
import { RedisProcess } from './redis-process.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('BullmqDispatcher when Redis goes away', () => {
  it('reports lost/reconnected once per outage and consumes again after a restart that lost every key', async () => {
    const redis = await RedisProcess.start();
    cleanups.push(() => redis.kill());
    const bus = createTelemetry();
    const events = captureEvents(bus, 'dispatch.*');
    const errors: Error[] = [];
    const dispatcher = new BullmqDispatcher({ url: redis.url, telemetry: bus, readyTimeoutMs: 300, onError: (error) => errors.push(error) });
    cleanups.push(() => dispatcher.close());
    const release = deferred();
    const rec = recorder(async (dispatched) => {
      if (dispatched.id === 'inflight') await release.promise;
      return { kind: 'done' };
    });
    dispatcher.consume('q', { concurrency: 2 }, rec.process);

    await dispatcher.add([job('before'), job('inflight')]);
    await eventually(() => rec.deliveries.length === 2, 'jobs before the outage');
    expect(dispatcher.healthy()).toBe(true);

    await redis.kill();
    await events.waitFor('dispatch.connection.lost');
    expect(dispatcher.healthy()).toBe(false);
    await expect(dispatcher.add([job('during')])).rejects.toMatchObject({ code: 'PITBOSS_DISPATCH_UNAVAILABLE' });
    await expect(dispatcher.count('q')).rejects.toMatchObject({ code: 'PITBOSS_DISPATCH_UNAVAILABLE' });

    await redis.restart();
    const [reconnected] = await events.waitFor('dispatch.connection.reconnected', { timeoutMs: 10_000 });
    expect(dispatcher.healthy()).toBe(true);
    expect(events.of('dispatch.connection.lost')).toHaveLength(1); // one outage, however many reconnect attempts
    expect(events.of('dispatch.connection.lost')[0]?.metadata).toMatchObject({ backend: 'bullmq' });
    expect(reconnected?.metadata).toEqual({ backend: 'bullmq' });
    expect(reconnected?.measurements.downtime).toBeGreaterThan(0);

    // The job in flight across the restart no longer exists in Redis: its outcome cannot be recorded,
    // which is reported (the reconciler re-adds it from the store), not thrown.
    release.resolve();
    await eventually(() => errors.some((error) => (error as { code?: string }).code === 'PITBOSS_DISPATCH_UNAVAILABLE'), 'unrecordable outcome reported');

    // The restarted server is empty (no Lua scripts, no queue keys); the same Worker takes new jobs.
    await dispatcher.add([job('after-1'), job('after-2')]);
    await eventually(() => rec.deliveries.length === 4, 'jobs added after the restart', 20_000);
    expect(rec.ids().slice(2).sort()).toEqual(['after-1', 'after-2']);
    await eventually(async () => (await dispatcher.count('q')) === 0, 'count 0 after the restart');
  });

  it('reports an unreachable Redis at startup as one outage and rejects add with PITBOSS_DISPATCH_UNAVAILABLE', async () => {
    const bus = createTelemetry();
    const events = captureEvents(bus, 'dispatch.*');
    const dispatcher = new BullmqDispatcher({ url: `redis://127.0.0.1:${await freePort()}`, telemetry: bus, readyTimeoutMs: 200 });
    cleanups.push(() => dispatcher.close());
    await events.waitFor('dispatch.connection.lost');
    expect(dispatcher.healthy()).toBe(false);
    await expect(dispatcher.add([job('1')])).rejects.toMatchObject({ code: 'PITBOSS_DISPATCH_UNAVAILABLE' });
    const consumer = dispatcher.consume('q', { concurrency: 1 }, async () => ({ kind: 'done' }));
    await consumer.close(1_000);
    expect(events.of('dispatch.connection.lost')).toHaveLength(1);
    // Why, as the client said it: the log line of this event is all an operator sees.
    expect(events.of('dispatch.connection.lost')[0]?.metadata).toMatchObject({ backend: 'bullmq', error: expect.stringContaining('ECONNREFUSED') });
  });
});
