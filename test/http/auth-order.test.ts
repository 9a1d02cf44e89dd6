/**
 * The guard runs before the body is read (a bad body without the token is 401, not 400), and open
 * local control (`PITBOSS_ALLOW_LOCAL_CONTROL`, no token) refuses requests a rebound DNS name or a
 * foreign page could make: Host and Origin must name the loopback address.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDeployment } from '../helpers/deployment.ts';

type Deployment = Awaited<ReturnType<typeof startTestDeployment>>;
let withToken: Deployment;
let openLocally: Deployment;

beforeAll(async () => {
  withToken = await startTestDeployment();
  openLocally = await startTestDeployment({ controlToken: null, allowLocalControl: true, host: '127.0.0.1' });
}, 60_000);
afterAll(async () => {
  await withToken?.running.stop();
  await openLocally?.running.stop();
});

describe('the token is checked before the body', () => {
  it('a bad body without a token is 401, not 400', async () => {
    for (const [method, path, raw] of [
      ['POST', '/jobs', '{"queue": '], ['POST', '/jobs', '{"nope": 1}'],
      ['PUT', '/control/log-levels', '{"default": "loud"}'], ['PUT', '/control/telemetry', 'not json'],
    ] as const) {
      const response = await withToken.request(method, path, { raw, token: null });
      expect(response.statusCode, `${method} ${path} ${raw}`).toBe(401);
      expect(response.json()).toMatchObject({ error: 'unauthorized', reason: 'missing bearer token' });
    }
    // With the token, the same body is judged on its merits.
    expect((await withToken.request('PUT', '/control/log-levels', { raw: '{"default": "loud"}' })).statusCode).toBe(400);
  });
});

describe('open local control and DNS rebinding', () => {
  const change = (headers: Record<string, string>) =>
    openLocally.request('PUT', '/control/log-levels', { body: { categories: { http: 'debug' } }, token: null, headers });

  it('a loopback Host may change log levels without a token', async () => {
    for (const host of ['127.0.0.1:8000', 'localhost:8000', 'localhost', '[::1]:8000']) {
      expect((await change({ host })).statusCode, host).toBe(200);
    }
    expect((await change({ host: '127.0.0.1:8000', origin: 'http://localhost:8000' })).statusCode).toBe(200);
  });

  it('a foreign Host or Origin is refused with 403 naming it', async () => {
    const rebound = await change({ host: 'attacker.example' });
    expect(rebound.statusCode).toBe(403);
    expect(rebound.json()).toMatchObject({ error: 'forbidden', reason: expect.stringContaining('attacker.example') });
    expect((await change({ host: 'attacker.example:8000' })).statusCode).toBe(403);
    expect((await change({ host: '127.0.0.1.attacker.example' })).statusCode).toBe(403);
    const crossSite = await change({ host: '127.0.0.1:8000', origin: 'http://evil.example' });
    expect(crossSite.statusCode).toBe(403);
    expect(crossSite.json().reason).toContain('evil.example');
    expect((await change({ host: '127.0.0.1:8000', origin: 'null' })).statusCode).toBe(403);
    expect((await openLocally.request('POST', '/jobs', { body: { queue: 'work', name: 'x' }, token: null, headers: { host: 'attacker.example' } })).statusCode).toBe(403);
  });
});
