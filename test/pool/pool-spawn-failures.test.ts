/**
 * A worker module that cannot load: threads die while starting. They are retried after a growing
 * delay (not 11 times in 0.8 s), every attempt reports the load error itself (a thread that died
 * before its hello used to keep its slot, and from the third try the error was "no free worker
 * slot"), and the pool's final failure names that error and carries it as its cause.
 */
import { describe, expect, it } from 'vitest';
import { createTelemetry, captureEvents } from '../../src/index.ts';
import { EventEmitter } from 'node:events';
import type { Worker } from 'node:worker_threads';
import { KeepAlive } from '../../src/pool/engine/keep-alive.ts';
import { Pool } from '../../src/pool/pool.ts';
import { SpawnLedger } from '../../src/pool/engine/spawns.ts';
import { PoolThread } from '../../src/pool/engine/threads.ts';

const brokenWorker = new URL('../fixtures/broken-worker.ts', import.meta.url);

describe('pool: a worker module that fails to load', () => {
  it('is retried with backoff, and spawn_failed and the final error name the load error', async () => {
    const bus = createTelemetry();
    const events = captureEvents(bus, 'pool.worker.spawn_failed');
    const pool = new Pool({ name: 'broken', worker: brokenWorker, threads: 2, telemetry: bus, statusIntervalMs: null, sampleIntervalMs: null, intensity: { maxRestarts: 5, periodMs: 60_000 } });
    const error = await pool.start().then(() => null, (e: unknown) => e as Error & { code: string });
    await pool.close();
    expect(error).toMatchObject({ code: 'PITBOSS_POOL_FAILED', message: expect.stringContaining('config file missing: /etc/worker.json') });
    expect(String((error!.cause as Error | undefined)?.message)).toContain('config file missing');
    const failures = events.of('pool.worker.spawn_failed');
    expect(failures.length).toBe(6);
    for (const failure of failures) expect(failure.metadata).toMatchObject({ pool: 'broken', error: 'config file missing: /etc/worker.json' });
    // The delays themselves are pinned by the unit test below: with two slots dying on their own
    // schedules the waits overlap, so the wall time of the whole start is no measure of them.
    expect(pool.threadCount).toBe(0);
  }, 30_000);

  it('waits 50 ms doubling up to 1 s, never past what lets the intensity fit in its period, and starts over after a hello', () => {
    const delays = (ledger: SpawnLedger, count: number): number[] => Array.from({ length: count }, () => ledger.failedStartDelayMs());
    const keepAlive = new KeepAlive();
    const ledger = new SpawnLedger(createTelemetry(), 'p', { maxRestarts: 10, periodMs: 60_000 }, keepAlive);
    expect(delays(ledger, 8)).toEqual([50, 100, 200, 400, 800, 1000, 1000, 1000]);
    // 10 restarts within 2.2 s: a wait over 200 ms would let failures slide out of the window for ever.
    expect(delays(new SpawnLedger(createTelemetry(), 'p', { maxRestarts: 10, periodMs: 2200 }, keepAlive), 5)).toEqual([50, 100, 200, 200, 200]);
    ledger.expect(0, 'restart', 'crash');
    expect(keepAlive.holds).toBe(1);
    const thread = new PoolThread(new EventEmitter() as unknown as Worker, performance.now());
    thread.slot = 0;
    ledger.arrived(thread);
    expect(keepAlive.holds).toBe(0);
    expect(delays(ledger, 2)).toEqual([50, 100]);
    keepAlive.dispose();
  });
});
