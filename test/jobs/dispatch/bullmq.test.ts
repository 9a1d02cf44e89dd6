// BullMQ dispatch against the shared Dispatcher conformance suite, on this run's real Redis, plus what
// only the BullMQ backend does: how jobs look in Redis, connections it owns or borrows, its options.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BullmqDispatcher } from '../../../src/jobs/dispatch/index.ts';
import { testRedisUrl } from '../../helpers/services.ts';
import { dispatcherConformance } from './conformance.ts';
import { addNewConformance } from './conformance-new.ts';
import { eventually, job, recorder, uniquePrefix } from './helpers.ts';

dispatcherConformance('BullmqDispatcher', (options) => new BullmqDispatcher({ url: testRedisUrl(), prefix: uniquePrefix(), ...options }));
addNewConformance('BullmqDispatcher', (options) => new BullmqDispatcher({ url: testRedisUrl(), prefix: uniquePrefix(), ...options }));

describe('BullmqDispatcher', () => {
  let redis: Redis;

  beforeAll(() => {
    redis = new Redis(testRedisUrl());
  });

  afterAll(async () => {
    await redis.quit();
  });

  it('stores row id 42 as BullMQ job "job-42" with the priority mapped, attempts and removal on finish', async () => {
    const prefix = uniquePrefix();
    const dispatcher = new BullmqDispatcher({ url: testRedisUrl(), prefix });
    try {
      await dispatcher.add([job('42', { priority: 7, maxAttempts: 5 }), job('43', { delayMs: 60_000 })]);
      const stored = await redis.hgetall(`${prefix}:q:job-42`);
      expect(stored.name).toBe('work');
      expect(stored.priority).toBe(String(2 ** 20 - 7));
      expect(JSON.parse(stored.opts ?? '{}')).toMatchObject({ attempts: 5, removeOnComplete: true, removeOnFail: true });
      expect(await redis.zscore(`${prefix}:q:delayed`, 'job-43')).not.toBeNull();
      expect(dispatcher.backend).toBe('bullmq');
    } finally {
      await dispatcher.close();
    }
  });

  it('leaves a borrowed connection open on close and closes the ones it opened for consumers', async () => {
    const prefix = uniquePrefix();
    const namedAfterPrefix = async (): Promise<number> => ((await redis.client('LIST')) as string).split('\n').filter((line) => line.includes(` name=${prefix}:`)).length;
    const borrowed = new Redis(testRedisUrl());
    const dispatcher = new BullmqDispatcher({ connection: borrowed, prefix });
    const rec = recorder();
    dispatcher.consume('q', { concurrency: 1 }, rec.process);
    await dispatcher.add([job('1')]);
    await eventually(() => rec.deliveries.length === 1, 'job 1 delivered');
    expect(await namedAfterPrefix()).toBe(2); // the consumer's connection and BullMQ's blocking one
    await dispatcher.close();
    expect(borrowed.status).toBe('ready');
    await eventually(async () => (await namedAfterPrefix()) === 0, 'consumer connections closed');
    await borrowed.quit();
  });

  it('refuses bad options with PITBOSS_INVALID_CONFIG', () => {
    const url = testRedisUrl();
    const cases: ConstructorParameters<typeof BullmqDispatcher>[0][] = [
      {},
      { url, connection: redis },
      { url, prefix: '' },
      { url, stalledIntervalMs: 0 },
      { url, lockDurationMs: -1 },
      { url, failureRetryDelayMs: Number.NaN },
      { url, maxStalledCount: 1.5 },
      { url, batchSize: 0 },
      { url, batchSize: 1001 },
      { url, batchSize: 2.5 },
    ];
    for (const options of cases) expect(() => new BullmqDispatcher(options)).toThrow(expect.objectContaining({ code: 'PITBOSS_INVALID_CONFIG' }));
  });

  it('packs new jobs into BullMQ jobs of batchSize, counted by the jobs they carry; batchSize 1 packs none', async () => {
    for (const [batchSize, entries] of [[16, 3], [1, 40]] as const) {
      const prefix = uniquePrefix();
      const dispatcher = new BullmqDispatcher({ url: testRedisUrl(), prefix, batchSize });
      try {
        await dispatcher.addNew(Array.from({ length: 40 }, (_, i) => job(String(i + 1))));
        expect(await redis.zcard(`${prefix}:q:prioritized`)).toBe(entries);
        expect(await dispatcher.count('q')).toBe(40);
      } finally {
        await dispatcher.close();
      }
    }
  });

  it('re-adds a packed job whose BullMQ job is gone (a lost entry leaves no stale claim on its ids)', async () => {
    const prefix = uniquePrefix();
    const dispatcher = new BullmqDispatcher({ url: testRedisUrl(), prefix });
    try {
      await dispatcher.addNew([job('1'), job('2'), job('3')]);
      const [entry] = await redis.zrange(`${prefix}:q:prioritized`, 0, -1);
      expect(entry).toMatch(/^b3-1-/);
      // The entry vanishes as in a failover that lost the write: only its index fields remain.
      await redis.del(`${prefix}:q:${entry}`);
      await redis.zrem(`${prefix}:q:prioritized`, entry!);
      expect(await dispatcher.count('q')).toBe(0);
      await dispatcher.add([job('1'), job('2'), job('3')]);
      const rec = recorder();
      dispatcher.consume('q', { concurrency: 2 }, rec.process);
      await eventually(() => rec.deliveries.length === 3, 'the three jobs handed out once re-added');
      expect(rec.ids().sort()).toEqual(['1', '2', '3']);
      expect(await redis.hlen(`${prefix}:q:packed`)).toBe(0);
    } finally {
      await dispatcher.close();
    }
  });
});
