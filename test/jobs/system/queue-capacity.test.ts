// A queue's concurrency is checked against what its pool takes at once (threads + maxQueue) when the
// JobSystem is built: past it, jobs the pool refuses as saturated would turn into failed attempts.
import { describe, expect, it } from 'vitest';
import { JobSystem } from '../../../src/index.ts';
import { LocalDispatcher } from '../../../src/jobs/dispatch/index.ts';
import type { JobStore } from '../../../src/jobs/store/index.ts';
import { Pool } from '../../../src/pool/pool.ts';
import { SupervisedPool } from '../../../src/pool/supervised.ts';
import { jobWorker } from './suite.ts';

// The constructor only reads its queues; nothing here is started, so the store is never called.
const store = {} as JobStore;
const dispatcher = new LocalDispatcher();
const build = (queues: ConstructorParameters<typeof JobSystem>[0]['queues']) => () => new JobSystem({ store, dispatcher, queues });

describe('queue concurrency against pool capacity', () => {
  const pool = new Pool({ name: 'small', worker: jobWorker, threads: 2, maxQueue: 6 });

  it('reports capacity as threads + maxQueue, on a Pool and a SupervisedPool alike', () => {
    expect(pool.capacity).toBe(8);
    expect(new SupervisedPool({ name: 'sup', worker: jobWorker, threads: 3, maxQueue: 0 }).capacity).toBe(3);
    expect(new Pool({ name: 'dflt', worker: jobWorker, threads: 2 }).capacity).toBe(2 + 2 * 64);
  });

  it('accepts concurrency up to the capacity, shared or not', () => {
    expect(build({ a: { pool, concurrency: 8 } })).not.toThrow();
    expect(build({ a: { pool, concurrency: 5 }, b: { pool, concurrency: 3 } })).not.toThrow();
  });

  it('refuses a queue over it, naming the key, the pool and the figures', () => {
    expect(build({ a: { pool, concurrency: 9 } })).toThrow(/^queues\.a\.concurrency 9 is more than pool small takes at once \(8: threads \+ maxQueue\)/);
    expect(build({ a: { pool, concurrency: 9 } })).toThrow(expect.objectContaining({ code: 'PITBOSS_INVALID_CONFIG' }));
  });

  it('counts queues sharing a pool together', () => {
    expect(build({ a: { pool, concurrency: 5 }, b: { pool, concurrency: 4 } })).toThrow(/^queues\.b\.concurrency 4 \(with a: 9 in all\) is more than pool small/);
  });

  it('refuses a concurrency that is not a positive integer', () => {
    for (const concurrency of [0, -1, 1.5, Number.NaN]) {
      expect(build({ a: { pool, concurrency } })).toThrow(/^queues\.a\.concurrency must be a positive integer/);
    }
  });
});
