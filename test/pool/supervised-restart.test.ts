/**
 * SupervisedPool.run() while its supervisor replaces a failed pool instance: the task waits for the
 * replacement (bounded by the pool's queueTimeoutMs) instead of failing with PoolClosedError, and
 * ready() resolves once the replacement runs. Real supervisor, real threads.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createTelemetry, SupervisedPool, Supervisor } from '../../src/index.ts';
import type { PoolOptions } from '../../src/pool/options.ts';
import { eventually, workerPath } from '../helpers/pool.ts';

const roots: Supervisor[] = [];
afterEach(async () => {
  await Promise.all(roots.splice(0).map((root) => root.stop()));
});

/** A supervised one-thread pool that fails at its first idle thread death, restarted after `backoffMs`. */
async function startSupervised(backoffMs: number, options: Partial<PoolOptions> = {}) {
  const telemetry = createTelemetry();
  const pool = new SupervisedPool({
    name: 'supervised', worker: workerPath('faults'), threads: 1, statusIntervalMs: null, sampleIntervalMs: null,
    intensity: { maxRestarts: 0, periodMs: 60_000 }, ...options,
  }, { shutdownMs: 1000, backoff: { initialMs: backoffMs, maxMs: backoffMs, resetAfterMs: 60_000 } });
  const root = new Supervisor({ id: 'root', strategy: 'one_for_one', intensity: { maxRestarts: 5, periodMs: 60_000 }, telemetry, children: [pool.childSpec()] });
  roots.push(root);
  await root.start();
  return { pool, root };
}

/** Kills the only thread while idle: over the pool's intensity (0), so the instance fails and the supervisor restarts it. */
async function failInstance(pool: SupervisedPool): Promise<void> {
  const failing = pool.current!;
  await pool.run({ kind: 'exit-idle', afterMs: 10 });
  await eventually(() => failing.state === 'failed', 5000, 'the instance to fail');
}

describe('SupervisedPool: a task during a restart', () => {
  it('waits for the replacement instance and runs there; ready() resolves when it is up', async () => {
    const { pool } = await startSupervised(300);
    const first = pool.current;
    await failInstance(pool);
    const during = pool.run<string>({ kind: 'ok', value: 'ran on the replacement' });
    const ready = pool.ready();
    expect(await during).toBe('ran on the replacement');
    await ready;
    expect(pool.current).not.toBeNull();
    expect(pool.current).not.toBe(first);
    expect(pool.current!.state).toBe('running');
  }, 20_000);

  it('rejects with PITBOSS_POOL_CLOSED, naming the wait, when no replacement runs within queueTimeoutMs', async () => {
    const { pool } = await startSupervised(3000, { queueTimeoutMs: 200 });
    await failInstance(pool);
    const started = performance.now();
    const error = await pool.run({ kind: 'ok' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'PITBOSS_POOL_CLOSED', message: expect.stringContaining('no instance was running within 200 ms') });
    expect(performance.now() - started).toBeGreaterThanOrEqual(190);
  }, 20_000);

  it('a stop for good rejects the waiting tasks and ready() at once', async () => {
    const { pool, root } = await startSupervised(5000);
    await failInstance(pool);
    const waiting = pool.run({ kind: 'ok' }).catch((e: unknown) => e);
    const ready = pool.ready().catch((e: unknown) => e);
    const started = performance.now();
    await root.stop();
    // The supervisor drops the pending restart; nothing will start the pool again.
    expect(await waiting).toMatchObject({ code: expect.stringMatching(/^PITBOSS_POOL_(CLOSED|FAILED)$/) });
    expect(await ready).toMatchObject({ code: expect.stringMatching(/^PITBOSS_POOL_(CLOSED|FAILED)$/) });
    expect(performance.now() - started).toBeLessThan(2000);
    await expect(pool.run({ kind: 'ok' })).rejects.toMatchObject({ code: 'PITBOSS_POOL_CLOSED' });
  }, 20_000);
});
