// A queue's rate limit is checked wherever one is declared — a deployment file, JobSystem options,
// a dispatcher's consume — failing fast with PITBOSS_INVALID_CONFIG naming the key; and the local
// dispatcher's window allows `max` starts in any `perMs`.
import { describe, expect, it } from 'vitest';
import { JobSystem } from '../../../src/index.ts';
import { defineDeployment } from '../../../src/deploy/define.ts';
import { LocalDispatcher } from '../../../src/jobs/dispatch/index.ts';
import { StartWindow } from '../../../src/jobs/dispatch/rate-limit.ts';
import type { JobStore } from '../../../src/jobs/store/index.ts';
import type { RateLimit } from '../../../src/jobs/types.ts';
import { Pool } from '../../../src/pool/pool.ts';
import { jobWorker } from './suite.ts';

// Nothing here is started, so the store is never called.
const store = {} as JobStore;
const pool = new Pool({ name: 'p', worker: jobWorker, threads: 1 });
const bad: [unknown, RegExp][] = [
  [{ max: 0, perMs: 1000 }, /rateLimit\.max must be an integer in 1\.\.1000000, got 0/],
  [{ max: 2.5, perMs: 1000 }, /rateLimit\.max must be an integer/],
  [{ max: 5 }, /rateLimit\.perMs must be an integer number of milliseconds in 1\.\.86400000, got undefined/],
  [{ max: 5, perMs: -1 }, /rateLimit\.perMs must be/],
  [{ max: 5, perMs: 1000, burst: 2 }, /rateLimit has an unknown key burst/],
  [5, /rateLimit must be \{ max, perMs \}, got 5/],
];

describe('rate limit declarations', () => {
  it('JobSystem options: a bad rateLimit names queues.<queue>.rateLimit', () => {
    for (const [rateLimit, message] of bad) {
      const build = () => new JobSystem({ store, dispatcher: new LocalDispatcher(), queues: { q: { pool, rateLimit: rateLimit as RateLimit } } });
      expect(build).toThrow(expect.objectContaining({ code: 'PITBOSS_INVALID_CONFIG', message: expect.stringMatching(/^queues\.q\./) }));
      expect(build).toThrow(message);
    }
    expect(() => new JobSystem({ store, dispatcher: new LocalDispatcher(), queues: { q: { pool, rateLimit: { max: 5, perMs: 1000 } } } })).not.toThrow();
  });

  it('a deployment file: a bad rateLimit names deployment.queues.<queue>.rateLimit', () => {
    const deploy = (rateLimit: unknown) => () => defineDeployment({
      pools: [{ name: 'tp', worker: jobWorker, threads: 1 }], queues: { q: { pool: 'tp', rateLimit: rateLimit as RateLimit } },
    });
    for (const [rateLimit, message] of bad) {
      expect(deploy(rateLimit)).toThrow(expect.objectContaining({ code: 'PITBOSS_INVALID_CONFIG', message: expect.stringMatching(/^deployment\.queues\.q\.rateLimit/) }));
      expect(deploy(rateLimit)).toThrow(message);
    }
    expect(deploy({ max: 1, perMs: 1 })).not.toThrow();
  });

  it('a dispatcher consume: a bad rateLimit is refused before anything runs', async () => {
    const dispatcher = new LocalDispatcher();
    expect(() => dispatcher.consume('q', { concurrency: 1, rateLimit: { max: 0, perMs: 10 } }, async () => ({ kind: 'done' }))).toThrow(/consume: rateLimit\.max/);
    await dispatcher.close();
  });
});

describe('the local dispatcher start window', () => {
  it('allows max starts in any perMs, sliding', () => {
    const window = new StartWindow({ max: 2, perMs: 100 });
    expect(window.waitMs(0)).toBe(0);
    window.started(0);
    expect(window.waitMs(10)).toBe(0);
    window.started(10);
    expect(window.waitMs(50)).toBe(50);
    expect(window.waitMs(100)).toBe(0);
    window.started(100);
    // The start at 10 is now the oldest of the last two.
    expect(window.waitMs(105)).toBe(5);
    expect(window.waitMs(110)).toBe(0);
  });
});
