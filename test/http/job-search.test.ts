/**
 * The operator's job routes on a running deployment (embedded store, real pool and threads), as a
 * user drives them: a job dies, `GET /jobs?state=dead` finds it, `POST /jobs/:id/retry` runs it
 * again, `POST /jobs/retry` retries by filter; paging with `next`; and the refusals — 401/403
 * without the token, 400 naming the bad parameter, 404 and 409 with a reason.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureEvents } from '../../src/index.ts';
import { startTestDeployment } from '../helpers/deployment.ts';

type Deployment = Awaited<ReturnType<typeof startTestDeployment>>;
interface Listed { id: string; queue: string; name: string; status: string; attempts: number; maxAttempts: number; error: { type: string; message: string } | null }
interface Page { jobs: Listed[]; next: string | null }

let d: Deployment;
let openLocally: Deployment;

beforeAll(async () => {
  [d, openLocally] = await Promise.all([
    startTestDeployment(),
    startTestDeployment({ controlToken: null, allowLocalControl: true, host: '127.0.0.1' }),
  ]);
}, 60_000);
afterAll(async () => {
  await Promise.all([d?.running.stop(), openLocally?.running.stop()]);
});

async function waitForStatus(id: string, status: string, attempts?: number): Promise<Record<string, unknown>> {
  const until = Date.now() + 15_000;
  for (;;) {
    const job = (await d.request('GET', `/jobs/${id}`)).json() as Record<string, unknown>;
    if (job.status === status && (attempts === undefined || job.attempts === attempts)) return job;
    if (Date.now() > until) throw new Error(`job ${id} is ${String(job.status)} after ${String(job.attempts)} attempts, not ${status}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('GET /jobs, POST /jobs/:id/retry, POST /jobs/retry', () => {
  it('a dead job is found by state, retried as one more attempt that runs, and its history stays', async () => {
    const seen = captureEvents(d.telemetry, ['job.retried']);
    const submitted = await d.request('POST', '/jobs', { body: { queue: 'work', name: 'doomed', data: { kind: 'throw', message: 'bad input' }, maxAttempts: 1 } });
    const { id } = submitted.json() as { id: string };
    await waitForStatus(id, 'dead');

    const dead = (await d.request('GET', '/jobs?queue=work&state=dead&limit=10')).json() as Page;
    expect(dead.jobs.map((j) => j.id)).toContain(id);
    expect(dead.jobs.find((j) => j.id === id)).toMatchObject({ name: 'doomed', attempts: 1, maxAttempts: 1, error: { type: 'InjectedError', message: 'bad input' } });
    expect(dead.jobs[0]).not.toHaveProperty('payload');

    const retried = await d.request('POST', `/jobs/${id}/retry`);
    expect(retried.statusCode).toBe(200);
    expect(retried.json()).toMatchObject({ id, status: 'queued', attempts: 1, maxAttempts: 2, error: { message: 'bad input' } });
    // It runs again (and, throwing again, dies again after its second attempt).
    await waitForStatus(id, 'dead', 2);
    expect(seen.of('job.retried').map((e) => [e.metadata.job_id, e.metadata.status, e.measurements.attempt])).toEqual([[id, 'dead', 1]]);
    seen.stop();

    const again = await d.request('POST', '/jobs/retry', { body: { state: 'dead', queue: 'work', name: 'doomed', errorType: 'InjectedError' } });
    expect(again.json()).toEqual({ retried: 1 });
    await waitForStatus(id, 'dead', 3);
    expect((await d.request('POST', '/jobs/retry', { body: { state: 'dead', queue: 'work', name: 'doomed', errorType: 'Other' } })).json()).toEqual({ retried: 0 });
  });

  it('pages newest first with next until null, each job once', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      ids.push(((await d.request('POST', '/jobs', { body: { queue: 'work', name: 'paged', data: { kind: 'ok' }, delayMs: 60_000 } })).json() as { id: string }).id);
    }
    const seen: string[] = [];
    let next: string | null = null;
    do {
      const response = await d.request('GET', `/jobs?queue=work&name=paged&limit=3${next === null ? '' : `&cursor=${next}`}`);
      expect(response.statusCode).toBe(200);
      const page = response.json() as Page;
      expect(page.jobs.length).toBeLessThanOrEqual(3);
      seen.push(...page.jobs.map((j) => j.id));
      next = page.next;
    } while (next !== null);
    expect(seen).toEqual([...ids].reverse());
    for (const id of ids) await d.request('POST', `/jobs/${id}/cancel`);
    expect((await d.request('GET', '/jobs?queue=work&name=paged&state=cancelled&limit=500')).json()).toMatchObject({ jobs: expect.any(Array), next: null });
  });

  it('404 for an unknown job, 409 naming the state of one that cannot be retried', async () => {
    expect((await d.request('POST', '/jobs/999999999/retry')).json()).toMatchObject({ error: 'not_found', reason: 'no job 999999999' });
    const { id } = (await d.request('POST', '/jobs', { body: { queue: 'work', name: 'waits', data: { kind: 'ok' }, delayMs: 60_000 } })).json() as { id: string };
    const conflict = await d.request('POST', `/jobs/${id}/retry`);
    expect(conflict.statusCode).toBe(409);
    expect(conflict.json()).toMatchObject({ error: 'conflict', code: 'PITBOSS_JOB_NOT_RETRYABLE', reason: expect.stringContaining(`job ${id} is queued`) });
    await d.request('POST', `/jobs/${id}/cancel`);
  });

  it('400 naming the bad parameter', async () => {
    const bad = async (method: string, path: string, body?: unknown): Promise<string> => {
      const response = await d.request(method, path, body === undefined ? {} : { body });
      expect(response.statusCode, `${method} ${path}`).toBe(400);
      return (response.json() as { reason: string }).reason;
    };
    expect(await bad('GET', '/jobs?state=lost')).toMatch(/state/);
    expect(await bad('GET', '/jobs?limit=0')).toMatch(/limit/);
    expect(await bad('GET', '/jobs?limit=501')).toMatch(/limit must be at most 500/);
    expect(await bad('GET', '/jobs?limit=ten')).toMatch(/limit/);
    expect(await bad('GET', '/jobs?since=yesterday')).toMatch(/since/);
    expect(await bad('GET', '/jobs?until=2026-13-45T00:00:00Z')).toMatch(/until/);
    expect(await bad('GET', '/jobs?cursor=not-a-cursor')).toMatch(/cursor/);
    expect(await bad('GET', '/jobs?colour=red')).toMatch(/colour|additional/);
    expect(await bad('POST', '/jobs/abc/retry')).toMatch(/id/);
    expect(await bad('POST', '/jobs/retry', {})).toMatch(/state/);
    expect(await bad('POST', '/jobs/retry', { state: 'completed' })).toMatch(/state/);
    expect(await bad('POST', '/jobs/retry', { state: 'dead', limit: 100_001 })).toMatch(/limit/);
    expect(await bad('POST', '/jobs/retry', { state: 'dead', since: 'last week' })).toMatch(/since/);
  });

  it('401 without the token or with a wrong one, 403 from a foreign Host under open local control', async () => {
    for (const [method, path] of [['GET', '/jobs'], ['POST', '/jobs/1/retry'], ['POST', '/jobs/retry']] as const) {
      const missing = await d.request(method, path, { token: null, ...(method === 'POST' ? { body: { state: 'dead' } } : {}) });
      expect(missing.statusCode, `${method} ${path}`).toBe(401);
      expect((await d.request(method, path, { token: 'wrong-token-wrong-token' })).statusCode, `${method} ${path}`).toBe(401);
      const foreign = await openLocally.request(method, path, { token: null, headers: { host: 'attacker.example' } });
      expect(foreign.statusCode, `${method} ${path}`).toBe(403);
    }
    expect((await openLocally.request('GET', '/jobs?limit=1', { token: null, headers: { host: '127.0.0.1' } })).statusCode).toBe(200);
  });
});
