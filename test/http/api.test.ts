import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureEvents } from '../../src/index.ts';
import { eventually } from '../helpers/pool.ts';
import { startTestDeployment } from '../helpers/deployment.ts';

type Deployment = Awaited<ReturnType<typeof startTestDeployment>>;
let d: Deployment;

beforeAll(async () => {
  d = await startTestDeployment();
}, 60_000);
afterAll(async () => {
  await d?.running.stop();
});

async function submit(body: unknown) {
  const response = await d.request('POST', '/jobs', { body });
  return { response, job: response.json() as { id: string } };
}

async function waitForStatus(id: string, status: string) {
  const until = Date.now() + 15_000;
  for (;;) {
    const job = (await d.request('GET', `/jobs/${id}`)).json() as { status: string };
    if (job.status === status) return job;
    if (Date.now() > until) throw new Error(`job ${id} is ${job.status}, not ${status}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('HTTP API', () => {
  it('serves every route docs/http-api.md lists', async () => {
    const { readFileSync } = await import('node:fs');
    const page = readFileSync(new URL('../../docs/http-api.md', import.meta.url), 'utf8');
    const section = page.slice(page.indexOf('<!-- http-routes:start -->'), page.indexOf('<!-- http-routes:end -->'));
    const routes = [...section.matchAll(/\| `(GET|POST|PUT) ([^`]+)`/g)].map((m) => [m[1]!, m[2]!] as const);
    expect(routes.length).toBeGreaterThanOrEqual(11);
    for (const [method, url] of routes) expect(d.running.http.hasRoute({ method, url }), `${method} ${url}`).toBe(true);
  });

  it('health and readiness', async () => {
    expect((await d.request('GET', '/healthz')).json()).toEqual({ status: 'ok' });
    const ready = await d.request('GET', '/readyz');
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ ready: true, store: true, storeProblem: null, dispatch: true, draining: false });
  });

  it('POST /jobs → 202 with Location; the job runs; GET shows state, attempts and actions', async () => {
    const { response, job } = await submit({ queue: 'work', name: 'echo', data: { kind: 'ok', value: 41 } });
    expect(response.statusCode).toBe(202);
    expect(response.headers.location).toBe(`/jobs/${job.id}`);
    const done = await waitForStatus(job.id, 'completed') as unknown as { attempts: number; result: unknown };
    expect(done).toMatchObject({ attempts: 1, result: 41 });
    const failing = await submit({ queue: 'work', name: 'boom', data: { kind: 'throw', message: 'nope' }, maxAttempts: 1 });
    const dead = await waitForStatus(failing.job.id, 'dead') as unknown as { error: unknown };
    expect(dead.error).toEqual({ type: 'InjectedError', message: 'nope' });
  });

  it('idempotency key: the second submit returns the first job with 200', async () => {
    const first = await submit({ queue: 'work', name: 'once', data: { kind: 'ok' }, idempotencyKey: 'k-1' });
    const second = await submit({ queue: 'work', name: 'once', data: { kind: 'ok' }, idempotencyKey: 'k-1' });
    expect(first.response.statusCode).toBe(202);
    expect(second.response.statusCode).toBe(200);
    expect(second.job.id).toBe(first.job.id);
  });

  it('cancel a delayed job; unknown ids are 404; bad ids are 400', async () => {
    const { job } = await submit({ queue: 'work', name: 'later', data: { kind: 'ok' }, delayMs: 60_000 });
    const cancelled = await d.request('POST', `/jobs/${job.id}/cancel`);
    expect(cancelled.statusCode).toBe(200);
    expect(cancelled.json()).toMatchObject({ id: job.id, status: 'cancelled' });
    expect((await d.request('GET', '/jobs/999999')).statusCode).toBe(404);
    expect((await d.request('POST', '/jobs/999999/cancel')).statusCode).toBe(404);
    expect((await d.request('GET', '/jobs/abc')).statusCode).toBe(400);
  });

  it('GET /queues lists depth and running per queue', async () => {
    const body = (await d.request('GET', '/queues')).json() as { queues: { queue: string }[] };
    expect(body.queues.map((q) => q.queue)).toContain('work');
    expect(body.queues[0]).toMatchObject({ queued: expect.any(Number), running: expect.any(Number) });
  });

  it('mutating and control routes need the bearer token', async () => {
    for (const token of [null, 'wrong-token-wrong-token']) {
      const response = await d.request('POST', '/jobs', { body: { queue: 'work', name: 'x' }, token });
      expect(response.statusCode).toBe(401);
      expect(response.json()).toMatchObject({ error: 'unauthorized' });
      expect((await d.request('PUT', '/control/telemetry', { body: { rules: [] }, token })).statusCode).toBe(401);
      expect((await d.request('GET', '/control/log-levels', { token })).statusCode).toBe(401);
    }
  });

  it('rejects bad input with a 4xx and a reason', async () => {
    const badJson = await d.request('POST', '/jobs', { raw: '{"queue": ' });
    expect(badJson.statusCode).toBe(400);
    const wrongTypes = await d.request('POST', '/jobs', { body: { queue: 'work', name: 'x', priority: 'high' } });
    expect(wrongTypes.statusCode).toBe(400);
    expect(wrongTypes.json().reason).toMatch(/priority/);
    const unknownField = await d.request('POST', '/jobs', { body: { queue: 'work', name: 'x', surprise: 1 } });
    expect(unknownField.statusCode).toBe(400);
    const missing = await d.request('POST', '/jobs', { body: { name: 'x' } });
    expect(missing.json().reason).toMatch(/queue/);
    const huge = await d.request('POST', '/jobs', { body: { queue: 'work', name: 'x', data: 'x'.repeat(2 * 1024 * 1024) } });
    expect(huge.statusCode).toBe(413);
    const badRule = await d.request('PUT', '/control/telemetry', { body: { rules: [{ pattern: 'pool.status', rate: 2 }] } });
    expect(badRule.statusCode).toBe(400);
    const badLevel = await d.request('PUT', '/control/log-levels', { body: { default: 'loud' } });
    expect(badLevel.statusCode).toBe(400);
    const badPattern = await d.request('PUT', '/control/telemetry', { body: { rules: [{ pattern: 'Not A Pattern' }] } });
    expect(badPattern.statusCode).toBe(400);
    expect(badPattern.json().reason).toMatch(/rule\.pattern/);
  });

  it('a sampling change through HTTP reaches the running pool thread without a restart', async () => {
    const actions = captureEvents(d.telemetry, 'action.stop');
    const threadBefore = d.running.pools[0]!.threads()[0]!.threadId;
    await waitForStatus((await submit({ queue: 'work', name: 'burst', data: { kind: 'burst', count: 100 } })).job.id, 'completed');
    expect(actions.events.length).toBe(100);
    const put = await d.request('PUT', '/control/telemetry', { body: { rules: [{ pattern: 'action.*', rate: 0, scope: { pool: 'tp' } }] } });
    expect(put.statusCode).toBe(200);
    const { version } = put.json() as { version: number };
    actions.clear();
    await waitForStatus((await submit({ queue: 'work', name: 'burst', data: { kind: 'burst', count: 100 } })).job.id, 'completed');
    expect(actions.events.length).toBe(0);
    const state = (await d.request('GET', '/control/telemetry')).json() as { applied: Record<string, { workerId: number; rulesVersion: number }[]> };
    expect(state.applied.tp).toEqual([{ workerId: 0, rulesVersion: version }]);
    expect(d.running.pools[0]!.threads()[0]!.threadId).toBe(threadBefore);
    await d.request('PUT', '/control/telemetry', { body: { rules: [] } });
  });

  it('a log level change through HTTP reaches code in the worker thread', async () => {
    const before = d.logs.length;
    await waitForStatus((await submit({ queue: 'work', name: 'log', data: { kind: 'log', level: 'debug', msg: 'quiet' } })).job.id, 'completed');
    const put = await d.request('PUT', '/control/log-levels', { body: { workers: { 'tp/0': 'debug' } } });
    expect(put.statusCode).toBe(200);
    await waitForStatus((await submit({ queue: 'work', name: 'log', data: { kind: 'log', level: 'debug', msg: 'loud' } })).job.id, 'completed');
    await eventually(() => d.logs.slice(before).some((l) => l.msg === 'loud'), 3000, 'debug line');
    const lines = d.logs.slice(before).filter((l) => l.event === 'worker_log').map((l) => l.msg);
    expect(lines).toEqual(['loud']);
  });

  it('/metrics shows the jobs that ran, with values', async () => {
    const body = (await d.request('GET', '/metrics')).body;
    const completed = /pitboss_jobs_total\{queue="work",job_name="echo",status="completed"[^}]*\} (\d+)/.exec(body);
    expect(Number(completed?.[1])).toBe(1);
    expect(body).toMatch(/pitboss_jobs_total\{queue="work",job_name="boom",status="dead"[^}]*\} 1/);
    expect(body).toMatch(/pitboss_queue_depth\{queue="work"/);
  });

  it('drain: submissions get 503 and readiness goes false', async () => {
    await d.running.drain();
    const ready = await d.request('GET', '/readyz');
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toMatchObject({ ready: false, draining: true });
    const refused = await d.request('POST', '/jobs', { body: { queue: 'work', name: 'late', data: { kind: 'ok' } } });
    expect(refused.statusCode).toBe(503);
    expect(refused.json()).toMatchObject({ error: 'draining' });
  });
});
