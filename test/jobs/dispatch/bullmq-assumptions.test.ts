// The BullMQ behaviours BullmqDispatcher is built on, pinned against raw BullMQ so an upgrade that
// changes one fails here, next to the reason it mattered (see src/jobs/dispatch/bullmq-*.ts).
import { DelayedError, Queue, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { testRedisUrl } from '../../helpers/services.ts';
import { freePort } from '../../setup/support.ts';
import { eventually, sleep, uniquePrefix } from './helpers.ts';

const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => {});
});

function connection(url = testRedisUrl()): Redis {
  const client = new Redis(url, { maxRetriesPerRequest: null });
  client.on('error', () => {});
  closers.push(async () => client.disconnect());
  return client;
}

function queue(prefix = uniquePrefix()): Queue {
  const created = new Queue('q', { connection: connection(), prefix });
  closers.push(() => created.close());
  return created;
}

function worker(prefix: string, processor: (job: Job, token?: string) => Promise<unknown>, client = connection()): Worker {
  const created = new Worker('q', processor, { connection: client, prefix });
  created.on('error', () => {});
  closers.push(() => created.close(true));
  return created;
}

describe('BullMQ behaviours dispatch relies on', () => {
  it('refuses integer-looking custom ids, and job hashes share the queue key space (hence "job-<id>")', async () => {
    const q = queue();
    await expect(q.add('n', null, { jobId: '42' })).rejects.toThrow('Custom Id cannot be integers');
    await expect(q.add('n', null, { jobId: 'delayed', delay: 1_000 })).rejects.toThrow(/WRONGTYPE/);
  });

  it('ignores an add whose id exists in any state, completed and failed included, unless removed on finish', async () => {
    const prefix = uniquePrefix();
    const q = queue(prefix);
    const runs: string[] = [];
    worker(prefix, async (job) => {
      runs.push(job.id as string);
      if (job.id?.endsWith('-f')) throw new Error('fails');
    });
    await q.addBulk([
      { name: 'n', data: null, opts: { jobId: 'kept-c' } },
      { name: 'n', data: null, opts: { jobId: 'kept-f' } },
      { name: 'n', data: null, opts: { jobId: 'gone-c', removeOnComplete: true } },
      { name: 'n', data: null, opts: { jobId: 'gone-f', removeOnFail: true } },
    ]);
    await eventually(() => runs.length === 4, 'four runs');
    await eventually(async () => (await q.getJobCountByTypes('completed', 'failed')) === 2, 'kept jobs finished');
    for (const id of ['kept-c', 'kept-f', 'gone-c', 'gone-f']) await q.add('n', null, { jobId: id });
    await eventually(() => runs.length === 6, 'removed ids run again');
    await sleep(300);
    expect(runs.slice(4).sort()).toEqual(['gone-c', 'gone-f']);
    expect(await q.getJobState('kept-c')).toBe('completed');
    expect(await q.getJobState('kept-f')).toBe('failed');
  });

  it('serves priority 0 ("none") before every prioritized job (hence no job gets 0)', async () => {
    const prefix = uniquePrefix();
    const q = queue(prefix);
    await q.addBulk([
      { name: 'n', data: null, opts: { jobId: 'urgent', priority: 1 } },
      { name: 'n', data: null, opts: { jobId: 'none' } },
    ]);
    const order: string[] = [];
    worker(prefix, async (job) => order.push(job.id as string));
    await eventually(() => order.length === 2, 'two runs');
    expect(order).toEqual(['none', 'urgent']);
  });

  it('moveToDelayed + DelayedError does not spend attempts; a thrown error does', async () => {
    const prefix = uniquePrefix();
    const q = queue(prefix);
    const runs: string[] = [];
    worker(prefix, async (job, token) => {
      runs.push(job.id as string);
      const count = runs.filter((id) => id === job.id).length;
      if (job.id === 'thrown') throw new Error('fails');
      if (count < 4) {
        await job.moveToDelayed(Date.now() + 20, token);
        throw new DelayedError();
      }
    });
    await q.addBulk([
      { name: 'n', data: null, opts: { jobId: 'moved', attempts: 2 } },
      { name: 'n', data: null, opts: { jobId: 'thrown', attempts: 2, backoff: 20 } },
    ]);
    await eventually(async () => (await q.getJobState('moved')) === 'completed' && (await q.getJobState('thrown')) === 'failed', 'both finished');
    expect(runs.filter((id) => id === 'moved')).toHaveLength(4);
    expect(runs.filter((id) => id === 'thrown')).toHaveLength(2);
  });

  // A graceful close() while Redis is unreachable never resolves (RedisConnection.disconnect first
  // awaits the connection's init, which waits for 'ready'), and cannot be cleaned up from outside, so
  // only the half the consumer relies on is pinned: a forced close returns at once.
  it('returns from Worker.close(true) at once while Redis is unreachable', async () => {
    const unreachable = `redis://127.0.0.1:${await freePort()}`;
    const forced = worker('p', async () => null, connection(unreachable));
    await sleep(200);
    const started = performance.now();
    await forced.close(true);
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});
