/**
 * Two supervisors sharing one real Postgres: a control change made through one's API reaches the
 * other (and its pool threads) within a second, through the store and LISTEN/NOTIFY.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabaseUrl } from '../helpers/services.ts';
import { eventually } from '../helpers/pool.ts';
import { startTestDeployment } from '../helpers/deployment.ts';

type Deployment = Awaited<ReturnType<typeof startTestDeployment>>;
let a: Deployment;
let b: Deployment;

beforeAll(async () => {
  const databaseUrl = testDatabaseUrl();
  a = await startTestDeployment({ databaseUrl, supervisorId: 'fleet-a' });
  b = await startTestDeployment({ databaseUrl, supervisorId: 'fleet-b' });
}, 60_000);
afterAll(async () => {
  await Promise.all([a?.running.stop(), b?.running.stop()]);
});

describe('control across a fleet', () => {
  it('a sampling rule set on A is applied by B and B\'s threads within a second', async () => {
    const put = await a.request('PUT', '/control/telemetry', { body: { rules: [{ pattern: 'worker.call.*', rate: 0.25, scope: { pool: 'tp' } }] } });
    expect(put.statusCode).toBe(200);
    const started = Date.now();
    await eventually(() => b.telemetry.control.rules().rules.some((r) => r.pattern === 'worker.call.*' && r.rate === 0.25), 1000, 'B applies the rule');
    const version = b.telemetry.control.rules().version;
    await eventually(() => b.running.pools[0]!.threads().every((t) => t.rulesVersion === version), 1000, "B's threads apply it");
    expect(Date.now() - started).toBeLessThan(1000);
    const state = (await b.request('GET', '/control/telemetry')).json() as { storeVersion: number; rules: unknown[] };
    expect(state.rules).toHaveLength(1);
  });

  it('a log level set on B is applied by A', async () => {
    const put = await b.request('PUT', '/control/log-levels', { body: { categories: { job: 'debug' } } });
    expect(put.statusCode).toBe(200);
    await eventually(() => a.running.logger.levels.levelFor('job') === 'debug', 1000, 'A applies the level');
  });

  it('a supervisor started later adopts the persisted table', async () => {
    const c = await startTestDeployment({ databaseUrl: testDatabaseUrl(), supervisorId: 'fleet-c' });
    try {
      expect(c.telemetry.control.rules().rules.map((r) => r.pattern)).toEqual(['worker.call.*']);
      expect(c.running.logger.levels.levelFor('job')).toBe('debug');
    } finally {
      await c.running.stop();
    }
  });
});
