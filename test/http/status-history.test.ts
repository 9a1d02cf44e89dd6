/**
 * `GET /status/history` on running deployments of both backends (embedded PGlite + local dispatch,
 * and Postgres + BullMQ): what the console's charts read. Jobs submitted over the HTTP API show up
 * in the current minute as completed or failed with their p50/p95 duration; queued jobs show up as
 * depth once the page's fleet read (or the sampler) counted them; the window is the last hour,
 * minute by minute, and the response carries the status page's security headers.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineDeployment } from '../../src/deploy/define.ts';
import type { StatusHistory } from '../../src/http/status-history.ts';
import { startTestDeployment } from '../helpers/deployment.ts';
import { isolatedSchema, type IsolatedSchema } from '../helpers/schema.ts';
import { testRedisUrl } from '../helpers/services.ts';

type Running = Awaited<ReturnType<typeof startTestDeployment>>;

const backends = [
  { label: 'PGlite + local dispatch', fleet: false },
  { label: 'Postgres + BullMQ', fleet: true },
] as const;

describe.each(backends)('GET /status/history on $label', ({ fleet }) => {
  // BullMQ keys are per queue name under one prefix: a queue of this run's own keeps other files out.
  const queue = `hist-${randomBytes(3).toString('hex')}`;
  let d: Running;
  let db: IsolatedSchema | null = null;

  beforeAll(async () => {
    const deployment = defineDeployment({
      pools: [{ name: 'hp', worker: new URL('../../workers/faults.ts', import.meta.url), threads: 2, statusIntervalMs: null, sampleIntervalMs: null }],
      queues: { [queue]: { pool: 'hp', concurrency: 2 } },
    });
    if (fleet) db = await isolatedSchema('status_history');
    d = await startTestDeployment(fleet ? { databaseUrl: db!.url, redisUrl: testRedisUrl(), supervisorId: `hist-${randomBytes(3).toString('hex')}` } : {}, { deployment });
  }, 60_000);

  afterAll(async () => {
    await d?.running.stop();
    await db?.drop();
  }, 30_000);

  const history = async (): Promise<StatusHistory> => {
    const response = await d.request('GET', '/status/history', { token: null });
    expect(response.statusCode).toBe(200);
    return response.json() as StatusHistory;
  };
  const mine = (h: StatusHistory) => h.queues.find((q) => q.queue === queue)!;
  const sum = (values: readonly (number | null)[]) => values.reduce<number>((total, v) => total + (v ?? 0), 0);

  async function submit(body: Record<string, unknown>): Promise<string> {
    const response = await d.request('POST', '/jobs', { body: { queue, ...body } });
    expect(response.statusCode).toBe(202);
    return (response.json() as { id: string }).id;
  }

  async function until(id: string, status: string): Promise<void> {
    await expect.poll(async () => ((await d.request('GET', `/jobs/${id}`)).json() as { status: string }).status, { timeout: 15_000, interval: 50 }).toBe(status);
  }

  it('answers the last hour per minute for every configured queue, open to readers, under the page CSP', async () => {
    const response = await d.request('GET', '/status/history', { token: null });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-security-policy']).toContain("default-src 'none'");
    expect(response.headers['cache-control']).toBe('no-store');
    const h = response.json() as StatusHistory;
    expect(h.problems).toEqual([]);
    expect([h.minutes, h.minuteMs]).toEqual([60, 60_000]);
    expect(Date.parse(h.from) % 60_000).toBe(0);
    const now = Date.now();
    expect(Date.parse(h.from)).toBeGreaterThan(now - 61 * 60_000);
    expect(Date.parse(h.from)).toBeLessThanOrEqual(now - 58 * 60_000);
    const q = mine(h);
    for (const series of [q.completed, q.failed, q.p50Ms, q.p95Ms, q.waiting, q.running]) expect(series).toHaveLength(60);
    expect(sum(q.completed) + sum(q.failed)).toBe(0);
  });

  it('serves the script modules of the page from itself, and nothing else under /status/', async () => {
    for (const module of ['app.js', 'status-dom.js', 'status-api.js', 'status-charts.js', 'status-jobs.js', 'status-ops.js', 'status-control.js']) {
      const response = await d.request('GET', `/status/${module}`, { token: null });
      expect(response.statusCode, module).toBe(200);
      expect(response.headers['content-type']).toBe('text/javascript; charset=utf-8');
      expect(response.headers['content-security-policy']).toContain("script-src 'self'");
      // Each module's imports are modules this route serves (relative, same directory).
      for (const [, imported] of response.body.matchAll(/from '\.\/([\w-]+\.js)'/g)) expect((await d.request('GET', `/status/${imported}`)).statusCode, imported).toBe(200);
    }
    for (const missing of ['nope.js', 'status-page.js', '..%2Fconfig.js']) expect((await d.request('GET', `/status/${missing}`)).statusCode, missing).toBe(404);
  });

  it('charts jobs that ran (completed and failed this minute, p50/p95 of the completed) and the queue depth the page counted', async () => {
    const ok = await Promise.all([10, 30, 60].map((delayMs) => submit({ name: 'timed', data: { kind: 'ok', delayMs } })));
    const bad = await submit({ name: 'broken', data: { kind: 'throw' }, maxAttempts: 1 });
    await Promise.all(Array.from({ length: 4 }, () => submit({ name: 'later', data: { kind: 'ok' }, delayMs: 3_600_000 })));
    for (const id of ok) await until(id, 'completed');
    await until(bad, 'dead');
    // One read is shared for 5 s: poll until a fresh one includes the jobs. The page's fleet read
    // (GET /status/data, shared for a second) is a depth sample.
    await expect.poll(async () => {
      await d.request('GET', '/status/data', { token: null });
      const q = mine(await history());
      return { completed: sum(q.completed), failed: sum(q.failed), waiting: Math.max(...q.waiting.slice(-2).map((v) => v ?? 0)) };
    }, { timeout: 20_000, interval: 250 }).toEqual({ completed: 3, failed: 1, waiting: 4 });

    const q = mine(await history());
    const minutes = q.completed.flatMap((n, i) => (n > 0 ? [i] : []));
    expect(minutes.length).toBeGreaterThanOrEqual(1);
    expect(minutes.at(-1)).toBeGreaterThanOrEqual(58); // this minute or the one before (a minute may have turned)
    for (const i of minutes) {
      expect(q.p50Ms[i]).toBeGreaterThan(0);
      expect(q.p95Ms[i]).toBeGreaterThanOrEqual(q.p50Ms[i]!);
    }
    expect(Math.max(...q.p95Ms.map((v) => v ?? 0))).toBeGreaterThanOrEqual(50); // the 60 ms job
    expect(q.running.some((v) => v !== null)).toBe(true);
  }, 60_000);
});
