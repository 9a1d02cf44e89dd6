/**
 * Job payloads, results and error texts are readable only with the token (or with public reads
 * opted into): ids are sequential, so an open `GET /jobs/:id` would hand every payload to anyone
 * who can reach the port. Without the token, `/status/data` still shows counts and error types.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDeployment } from '../helpers/deployment.ts';

type Deployment = Awaited<ReturnType<typeof startTestDeployment>>;
const SECRET = 'card-4111-1111-1111-1111';

async function runToEnd(d: Deployment, body: unknown, status: string): Promise<string> {
  const { id } = (await d.request('POST', '/jobs', { body })).json() as { id: string };
  const until = Date.now() + 15_000;
  while ((await d.request('GET', `/jobs/${id}`)).json().status !== status) {
    if (Date.now() > until) throw new Error(`job ${id} never became ${status}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  return id;
}

describe('with a token configured', () => {
  let d: Deployment;
  let okId: string;
  let deadId: string;
  beforeAll(async () => {
    d = await startTestDeployment();
    okId = await runToEnd(d, { queue: 'work', name: 'pay', data: { kind: 'ok', value: SECRET } }, 'completed');
    deadId = await runToEnd(d, { queue: 'work', name: 'pay-broken', data: { kind: 'throw', message: `declined ${SECRET}` }, maxAttempts: 1 }, 'dead');
  }, 60_000);
  afterAll(async () => {
    await d?.running.stop();
  });

  it('GET /jobs/:id without the token shows state, not payload, result or error text', async () => {
    for (const token of [null, 'wrong-token-wrong-token']) {
      const ok = await d.request('GET', `/jobs/${okId}`, { token });
      expect(ok.statusCode).toBe(200);
      expect(ok.body).not.toContain(SECRET);
      expect(ok.json()).toMatchObject({ id: okId, status: 'completed', attempts: 1, payload: null, result: null, hidden: expect.stringContaining('token') });
      const dead = await d.request('GET', `/jobs/${deadId}`, { token });
      expect(dead.body).not.toContain(SECRET);
      expect(dead.json()).toMatchObject({ status: 'dead', error: { type: 'InjectedError', message: null } });
    }
    expect((await d.request('GET', '/jobs/999999', { token: null })).statusCode).toBe(404);
  });

  it('GET /jobs/:id with the token shows everything', async () => {
    expect((await d.request('GET', `/jobs/${okId}`)).json()).toMatchObject({ payload: { kind: 'ok', value: SECRET }, result: SECRET });
    expect((await d.request('GET', `/jobs/${deadId}`)).json()).toMatchObject({ error: { type: 'InjectedError', message: `declined ${SECRET}` } });
    expect((await d.request('GET', `/jobs/${okId}`)).json()).not.toHaveProperty('hidden');
  });

  it('/status/data without the token: counts and error types, no error texts', async () => {
    const open = await d.request('GET', '/status/data', { token: null });
    expect(open.statusCode).toBe(200);
    expect(open.body).not.toContain(SECRET);
    const data = open.json() as { queues: { queue: string; dead: number }[]; failures: { id: string; error: unknown }[]; recentJobs: { id: string; error: unknown }[] };
    expect(data.queues.find((q) => q.queue === 'work')?.dead).toBe(1);
    expect(data.failures.find((f) => f.id === deadId)?.error).toEqual({ type: 'InjectedError', message: null });
    expect(data.recentJobs.find((j) => j.id === deadId)?.error).toBe('InjectedError');
    const full = await d.request('GET', '/status/data');
    expect(full.body).toContain(`declined ${SECRET}`);
  });
});

describe('PITBOSS_PUBLIC_READS=true', () => {
  it('shows payloads and error texts without the token', async () => {
    const d = await startTestDeployment({ publicReads: true });
    try {
      const id = await runToEnd(d, { queue: 'work', name: 'public', data: { kind: 'ok', value: 'visible' } }, 'completed');
      expect((await d.request('GET', `/jobs/${id}`, { token: null })).json()).toMatchObject({ payload: { value: 'visible' }, result: 'visible' });
    } finally {
      await d.running.stop();
    }
  }, 60_000);
});
