/**
 * Issue 18 over HTTP, through a running deployment: `POST /jobs` with an array (202 `{ jobs }`,
 * all-or-nothing validation naming the bad item's index and field, the waiting bound applied to the
 * whole array), `timeoutMs` on a job, and `progress` in `GET /jobs/:id`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineDeployment } from '../../src/deploy/define.ts';
import { startTestDeployment } from '../helpers/deployment.ts';

const deployment = defineDeployment({
  pools: [{ name: 'pp', worker: new URL('../fixtures/progress-worker.ts', import.meta.url), threads: 1, killGraceMs: 100, statusIntervalMs: null, sampleIntervalMs: null }],
  queues: { work: { pool: 'pp', concurrency: 1 } },
  acceptQueues: ['other'],
});

type Running = Awaited<ReturnType<typeof startTestDeployment>>;
interface JobView { id: string; status: string; created?: boolean; progress?: unknown; timeoutMs?: number | null; error?: { type: string; message: string } | null; result?: unknown }

describe('POST /jobs with an array, timeoutMs and progress', () => {
  let d: Running;
  const waiting = async (): Promise<number> => {
    const { queues } = (await d.request('GET', '/queues')).json() as { queues: { queue: string; queued: number; failed: number }[] };
    const work = queues.find((q) => q.queue === 'work');
    return (work?.queued ?? 0) + (work?.failed ?? 0);
  };
  const until = async (id: string, done: (job: JobView) => boolean): Promise<JobView> => {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const job = (await d.request('GET', `/jobs/${id}`)).json() as JobView;
      if (done(job)) return job;
      if (Date.now() > deadline) throw new Error(`job ${id}: ${JSON.stringify(job)}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  };

  beforeAll(async () => {
    d = await startTestDeployment({ maxWaitingJobs: 20 }, { deployment });
  }, 60_000);
  afterAll(async () => {
    await d?.running.stop();
  });

  it('takes an array as one call: 202 { jobs } with each created flag, an idempotency key repeated inside it coming back as the same job', async () => {
    const later = { queue: 'work', name: 'later', data: { kind: 'who' }, delayMs: 600_000 };
    const response = await d.request('POST', '/jobs', { body: [later, { ...later, idempotencyKey: 'k1' }, { ...later, idempotencyKey: 'k1' }] });
    expect(response.statusCode).toBe(202);
    const { jobs } = response.json() as { jobs: JobView[] };
    expect(jobs.map((j) => [j.status, j.created])).toEqual([['queued', true], ['queued', true], ['queued', false]]);
    expect(jobs[2]!.id).toBe(jobs[1]!.id);
    for (const job of jobs.slice(0, 2)) expect((await d.request('POST', `/jobs/${job.id}/cancel`)).statusCode).toBe(200);
  });

  it('refuses the whole array with 400 naming the bad item, and writes none of it', async () => {
    const ok = { queue: 'work', name: 'n', data: { kind: 'who' }, delayMs: 600_000 };
    const before = await waiting();
    const cases: [unknown, string][] = [
      [[ok, ok, { ...ok, timeoutMs: 0 }], 'jobs[2].timeoutMs must be >= 1'],
      [[ok, { ...ok, colour: 'red' }], 'jobs[1].colour is not a job field'],
      [[ok, { queue: 'work' }], 'jobs[1].name is required'],
      [[ok, { ...ok, backoff: { type: 'linear', delayMs: 1 } }], 'jobs[1].backoff.type must be equal to one of the allowed values'],
      [[], 'jobs must hold at least one job'],
      [Array.from({ length: 1001 }, () => ok), 'jobs must hold at most 1000 jobs'],
      [{ ...ok, timeoutMs: 1.5 }, 'body.timeoutMs must be integer'],
    ];
    for (const [body, reason] of cases) {
      const response = await d.request('POST', '/jobs', { body });
      expect(response.statusCode, reason).toBe(400);
      expect(response.json()).toEqual({ error: 'bad_request', reason });
    }
    // A job the schema lets through but the store refuses (a payload the store cannot hold): the same, by the store.
    const nul = await d.request('POST', '/jobs', { body: [ok, { ...ok, data: { text: 'a\u0000b' } }] });
    expect(nul.statusCode).toBe(400);
    expect(nul.json()).toMatchObject({ code: 'PITBOSS_INVALID_JOB', reason: expect.stringContaining('jobs[1].data.text') });
    expect(await waiting()).toBe(before);
  });

  it('applies the waiting bound to the whole array (429, nothing written)', async () => {
    const before = await waiting();
    const over = Array.from({ length: 21 - before }, () => ({ queue: 'work', name: 'n', data: { kind: 'who' }, delayMs: 600_000 }));
    const response = await d.request('POST', '/jobs', { body: over });
    expect(response.statusCode).toBe(429);
    expect(await waiting()).toBe(before);
  });

  it('an array refused for one of its queues counts nothing against the others', async () => {
    const later = (queue: string) => ({ queue, name: 'n', data: { kind: 'who' }, delayMs: 600_000 });
    const full = 21 - await waiting();
    const refused = await d.request('POST', '/jobs', { body: [...Array.from({ length: 15 }, () => later('other')), ...Array.from({ length: full }, () => later('work'))] });
    expect(refused.statusCode).toBe(429);
    // Had the 15 been counted for queue other, 20 more would pass its bound of 20.
    const accepted = await d.request('POST', '/jobs', { body: Array.from({ length: 20 }, () => later('other')) });
    expect(accepted.statusCode).toBe(202);
  });

  it('shows progress in GET /jobs/:id while the job runs and after', async () => {
    const values = Array.from({ length: 16 }, (_, i) => (i + 1) / 16);
    const response = await d.request('POST', '/jobs', { body: { queue: 'work', name: 'report', data: { kind: 'report', values, stepMs: 60 } } });
    expect(response.statusCode).toBe(202);
    const { id } = response.json() as JobView;
    const midway = await until(id, (j) => j.status === 'running' && typeof j.progress === 'number');
    expect(midway.progress).toBeGreaterThan(0);
    expect(midway.progress).toBeLessThan(1);
    expect(await until(id, (j) => j.status === 'completed')).toMatchObject({ progress: 1, result: 'done', timeoutMs: null });
    // A number is state, visible without the token; a JSON value may quote the job's data, so it needs it.
    expect((await d.request('GET', `/jobs/${id}`, { token: null })).json()).toMatchObject({ progress: 1, result: null });
    const json = await d.request('POST', '/jobs', { body: { queue: 'work', name: 'report', data: { kind: 'report', values: [{ file: 'secret.csv' }], stepMs: 1 } } });
    const jsonId = (json.json() as JobView).id;
    expect(await until(jsonId, (j) => j.status === 'completed')).toMatchObject({ progress: { file: 'secret.csv' } });
    expect((await d.request('GET', `/jobs/${jsonId}`, { token: null })).json()).toMatchObject({ progress: null, hidden: expect.stringContaining('progress') });
  });

  it('a job with timeoutMs that overruns it ends dead with error type timeout', async () => {
    const response = await d.request('POST', '/jobs', { body: { queue: 'work', name: 'hang', data: { kind: 'heed' }, timeoutMs: 100, maxAttempts: 1 } });
    const { id } = response.json() as JobView;
    const dead = await until(id, (j) => j.status === 'dead');
    expect(dead).toMatchObject({ timeoutMs: 100, error: { type: 'timeout', message: 'task deadline (run timeoutMs 100 ms) reached' } });
  });
});
