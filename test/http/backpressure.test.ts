/**
 * `POST /jobs` is bounded per queue: at PITBOSS_MAX_WAITING_JOBS waiting jobs it answers 429 with
 * Retry-After, and accepts again once the queue has drained. The count is cached, not queried per
 * request.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WaitingBound } from '../../src/http/backpressure.ts';
import { startTestDeployment } from '../helpers/deployment.ts';

describe('WaitingBound (the cached count)', () => {
  it('reads each queue at most once per refresh interval, however many submissions come', async () => {
    let now = 0;
    const reads: string[] = [];
    const bound = new WaitingBound({ max: 100, refreshMs: 1000, now: () => now, count: async (queue) => { reads.push(queue); return 40; } });
    const admissions = await Promise.all(Array.from({ length: 1000 }, () => bound.admit('a', 1)));
    expect(reads).toEqual(['a']);
    // 40 waiting + 60 admitted since the read reach the bound; the other 940 are refused.
    expect(admissions.filter((a) => a.admitted).length).toBe(60);
    expect(admissions.at(-1)).toEqual({ admitted: false, waiting: 100 });
    await bound.admit('b', 1);
    expect(reads).toEqual(['a', 'b']);
    now = 1000;
    expect(await bound.admit('a', 1)).toEqual({ admitted: true });
    expect(reads).toEqual(['a', 'b', 'a']);
  });

  it('a count that fails lets the submission through to the store (which says why it cannot take it)', async () => {
    const bound = new WaitingBound({ max: 1, count: () => Promise.reject(new Error('store down')) });
    expect(await bound.admit('a', 1)).toEqual({ admitted: true });
  });
});

describe('POST /jobs against a full queue', () => {
  type Deployment = Awaited<ReturnType<typeof startTestDeployment>>;
  let d: Deployment;
  beforeAll(async () => {
    d = await startTestDeployment({ maxWaitingJobs: 5 });
  }, 60_000);
  afterAll(async () => {
    await d?.running.stop();
  });

  it('answers 429 with Retry-After at the bound, and accepts again once the queue drained', async () => {
    const delayed = { queue: 'work', name: 'later', data: { kind: 'ok' }, delayMs: 600_000 };
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const response = await d.request('POST', '/jobs', { body: delayed });
      expect(response.statusCode).toBe(202);
      ids.push((response.json() as { id: string }).id);
    }
    const refused = await d.request('POST', '/jobs', { body: delayed });
    expect(refused.statusCode).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(refused.json()).toMatchObject({ error: 'too_many_requests', reason: expect.stringMatching(/queue work has 5 waiting jobs.*PITBOSS_MAX_WAITING_JOBS/) });
    // Without the token the guard answers first: the bound never counts unauthenticated requests.
    expect((await d.request('POST', '/jobs', { body: delayed, token: null })).statusCode).toBe(401);

    for (const id of ids) expect((await d.request('POST', `/jobs/${id}/cancel`)).statusCode).toBe(200);
    await new Promise((r) => setTimeout(r, 1100)); // the cached count's refresh interval
    expect((await d.request('POST', '/jobs', { body: delayed })).statusCode).toBe(202);
  }, 30_000);
});
