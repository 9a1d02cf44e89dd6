/**
 * Queue control as an operator uses it, over real HTTP against a running deployment (embedded
 * store, local dispatch): `POST /queues/:queue/pause` and `/resume` need the token and refuse a bad
 * name; a paused queue takes `POST /jobs` but runs nothing until resumed; `GET /queues` and
 * `/status/data` rows carry `paused` and the queue's `rateLimit`, which `/metrics` shows too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineDeployment } from '../../src/deploy/define.ts';
import { startTestDeployment, testToken } from '../helpers/deployment.ts';

let d: Awaited<ReturnType<typeof startTestDeployment>>;

beforeAll(async () => {
  d = await startTestDeployment({}, {
    deployment: defineDeployment({
      pools: [{ name: 'tp', worker: new URL('../../workers/faults.ts', import.meta.url), threads: 1, statusIntervalMs: null, sampleIntervalMs: null }],
      queues: { work: { pool: 'tp', concurrency: 2 }, metered: { pool: 'tp', concurrency: 1, rateLimit: { max: 5, perMs: 1000 } } },
    }),
  });
}, 60_000);
afterAll(async () => {
  await d?.running.stop();
});

const call = async (method: string, path: string, options: { body?: unknown; token?: string | null } = {}) => {
  const headers: Record<string, string> = {};
  if (options.token !== null) headers.authorization = `Bearer ${options.token ?? testToken}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${d.running.url}${path}`, { method, headers, body: options.body === undefined ? undefined : JSON.stringify(options.body) });
  return { status: response.status, body: await response.json() as Record<string, unknown> };
};
const queueRow = async (queue: string) => ((await call('GET', '/queues', { token: null })).body.queues as { queue: string }[]).find((q) => q.queue === queue);
const statusRow = async (queue: string) => ((await call('GET', '/status/data', { token: null })).body.queues as { queue: string }[]).find((q) => q.queue === queue);
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('POST /queues/:queue/pause and /resume', () => {
  it('need the control token and refuse a malformed queue name with a 400', async () => {
    expect((await call('POST', '/queues/work/pause', { token: null })).status).toBe(401);
    expect((await call('POST', '/queues/work/resume', { token: 'wrong-token-wrong-token' })).status).toBe(401);
    const bad = await call('POST', '/queues/bad:name/pause');
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error: 'bad_request' });
    expect(String(bad.body.reason)).toMatch(/queue/);
    expect((await queueRow('work'))).toMatchObject({ paused: false });
  });

  it('pause: jobs are accepted but none runs; resume: they run; GET /queues and /status/data show it', async () => {
    const paused = await call('POST', '/queues/work/pause');
    expect(paused).toMatchObject({ status: 200, body: { queue: 'work', paused: true, rateLimit: null } });
    const submitted = await call('POST', '/jobs', { body: { queue: 'work', name: 'held', data: { kind: 'ok', value: 'later' } } });
    expect(submitted.status).toBe(202);
    const id = String(submitted.body.id);
    await sleep(1_000);
    expect((await call('GET', `/jobs/${id}`, { token: null })).body).toMatchObject({ status: 'queued', attempts: 0 });
    expect(await queueRow('work')).toMatchObject({ paused: true, queued: 1 });
    expect(await statusRow('work')).toMatchObject({ paused: true, pool: 'tp' });

    expect(await call('POST', '/queues/work/resume')).toMatchObject({ status: 200, body: { queue: 'work', paused: false } });
    const until = Date.now() + 10_000;
    let job = (await call('GET', `/jobs/${id}`)).body;
    while (job.status !== 'completed' && Date.now() < until) {
      await sleep(50);
      job = (await call('GET', `/jobs/${id}`)).body;
    }
    expect(job).toMatchObject({ status: 'completed', result: 'later' });
    expect(await queueRow('work')).toMatchObject({ paused: false });
  }, 30_000);

  it('a queue with no jobs yet can be paused, and shows in GET /queues; rows carry the rate limit', async () => {
    expect(await call('POST', '/queues/not-yet-used/pause')).toMatchObject({ status: 200, body: { queue: 'not-yet-used', paused: true, queued: 0 } });
    expect(await queueRow('not-yet-used')).toMatchObject({ paused: true });
    expect(await call('POST', '/queues/not-yet-used/resume')).toMatchObject({ status: 200, body: { paused: false } });
    expect(await queueRow('metered')).toMatchObject({ paused: false, rateLimit: { max: 5, perMs: 1000 } });
    expect(await statusRow('metered')).toMatchObject({ paused: false, rateLimit: { max: 5, perMs: 1000 } });
    // And on /metrics, as the starts per second it allows; a queue without a limit has no series.
    const metrics = await (await fetch(`${d.running.url}/metrics`)).text();
    expect(metrics).toMatch(/^pitboss_queue_rate_limit\{queue="metered"[^}]*\} 5$/m);
    expect(metrics).not.toMatch(/^pitboss_queue_rate_limit\{queue="work"/m);
  });
});
