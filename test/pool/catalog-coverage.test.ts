/**
 * Every `pool.*`, `worker.*` and `supervisor.*` event of the catalog is emitted by real code: one
 * supervision tree with real pools and threads is driven through each situation, and the test only
 * ever observes (it executes no event itself).
 */
import { describe, expect, it } from 'vitest';
import { captureEvents, catalog, createTelemetry, SupervisedPool, Supervisor } from '../../src/index.ts';
import { eventually, workerPath } from '../helpers/pool.ts';

const groups = ['pool.', 'worker.', 'supervisor.'];
const expected = Object.keys(catalog).filter((name) => groups.some((g) => name.startsWith(g))).sort();

describe('catalog coverage: pool, worker and supervisor events', () => {
  it('fires every one of them from real code paths', async () => {
    const bus = createTelemetry();
    const seen = captureEvents(bus, '*');
    const cov = new SupervisedPool({
      name: 'cov', worker: workerPath('faults'), threads: 1, maxQueue: 1, queueTimeoutMs: 40, recycle: { maxTasks: 5 },
      statusIntervalMs: 20, sampleIntervalMs: 20, intensity: { maxRestarts: 5, periodMs: 60_000 },
    });
    const flaky = new SupervisedPool({ name: 'flaky', worker: workerPath('flaky-boot'), threads: 1, statusIntervalMs: null, sampleIntervalMs: null });
    const doomed = new SupervisedPool({
      name: 'doomed', worker: workerPath('faults'), threads: 1, statusIntervalMs: null, sampleIntervalMs: null, intensity: { maxRestarts: 0, periodMs: 60_000 },
    });
    const root = new Supervisor({
      id: 'root', strategy: 'one_for_one', intensity: { maxRestarts: 5, periodMs: 60_000 }, telemetry: bus,
      children: [
        cov.childSpec(),
        flaky.childSpec(),
        Supervisor.childSpec({ id: 'inner', strategy: 'one_for_one', intensity: { maxRestarts: 0, periodMs: 60_000 }, children: [doomed.childSpec()] }),
      ],
    });
    await root.start();
    try {
      // Queue: one running, one waiting (times out), one refused.
      const slow = cov.run({ kind: 'ok', delayMs: 200 });
      const waiting = cov.run({ kind: 'ok' }).catch((e: unknown) => e);
      await expect(cov.run({ kind: 'ok' })).rejects.toMatchObject({ code: 'PITBOSS_POOL_SATURATED' });
      expect(await waiting).toMatchObject({ code: 'PITBOSS_QUEUE_TIMEOUT' });
      await slow;
      await Promise.all([cov.run({ kind: 'ok', delayMs: 30 }), cov.run({ kind: 'ok' })]); // enqueued → dequeued
      await cov.run({ kind: 'throw' }).catch(() => {}); // worker.call.exception
      await cov.run({ kind: 'ok' }); // fifth task run: recycled
      await eventually(() => seen.of('pool.worker.recycled').length > 0, 5000, 'recycle');
      await eventually(() => cov.threads().length === 1, 5000, 'replacement after recycle');
      await cov.run({ kind: 'exit' }).catch(() => {}); // terminated + restarted
      await seen.waitFor('pool.worker.restarted');
      // A replacement that dies while starting: spawn_failed.
      await flaky.run({ kind: 'crash-then-break-boot' }).catch(() => {});
      await seen.waitFor('pool.worker.spawn_failed');
      // A pool past its intensity fails; its supervisor (intensity 0) gives up and escalates to root.
      await doomed.run({ kind: 'exit-idle' }).catch(() => {});
      await seen.waitFor('supervisor.intensity_exceeded');
      await eventually(() => seen.of('supervisor.child.restarted').some((e) => e.metadata.child === 'inner'), 10_000, 'root restarts inner');
      await seen.waitFor('worker.memory.sampled');
      await seen.waitFor('worker.cpu.sampled');
      await seen.waitFor('pool.status');
    } finally {
      await root.stop();
    }
    const fired = new Set<string>(seen.names());
    const missing = expected.filter((name) => !fired.has(name));
    expect(missing).toEqual([]);
  }, 60_000);
});
