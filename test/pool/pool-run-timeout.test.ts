/**
 * `Pool.run(input, { timeoutMs })`: a per-run deadline through the pool's own timeout mechanism —
 * `ctx.signal` aborts at it, the thread is terminated `killGraceMs` later and replaced, the run
 * rejects with TaskTimeoutError, and the restart is the task's fault (not charged to intensity). It
 * overrides `taskTimeoutMs` either way, and such a run is never sent inside a chunk.
 */
import { describe, expect, it } from 'vitest';
import { startPool } from '../helpers/pool.ts';

describe('Pool.run timeoutMs', () => {
  it('terminates a run past its own deadline, replaces the thread uncharged, and the pool runs on', async () => {
    // Intensity 0: any restart charged to the pool would fail it.
    const { pool, events } = await startPool({ threads: 1, killGraceMs: 100, intensity: { maxRestarts: 0, periodMs: 60_000 } });
    const before = pool.threads()[0]!.threadId;
    const error = await pool.run({ kind: 'hang' }, { timeoutMs: 100 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'PITBOSS_TASK_TIMEOUT', message: 'pool test: task exceeded its run timeoutMs 100' });
    await events.waitFor('pool.worker.restarted');
    expect(events.of('pool.worker.restarted')[0]!.metadata).toMatchObject({ reason: 'timeout', fault: 'task' });
    expect(events.of('worker.call.crashed')[0]!.metadata).toMatchObject({ reason: 'timeout' });
    expect(await pool.run({ kind: 'ok', value: 'next' })).toBe('next');
    expect(pool.state).toBe('running');
    expect(pool.threads()[0]!.threadId).not.toBe(before);
  });

  it('aborts ctx.signal at the run deadline, shorter or longer than the pool taskTimeoutMs', async () => {
    const { pool, events } = await startPool({ threads: 1, taskTimeoutMs: 5_000, killGraceMs: 2_000 });
    const started = performance.now();
    // The task sees the abort at 50 ms and returns at once; having passed its own deadline, the run fails by it.
    const aborted = await pool.run({ kind: 'cooperative', ms: 5_000 }, { timeoutMs: 50 }).catch((e: unknown) => e);
    expect(aborted).toMatchObject({ remote: { code: 'PITBOSS_TASK_TIMEOUT' } });
    expect(performance.now() - started).toBeLessThan(2_000);
    const { pool: strict } = await startPool({ threads: 1, taskTimeoutMs: 50, killGraceMs: 2_000 });
    // A longer own deadline lets a 300 ms task finish that the pool's 50 ms would have aborted.
    expect(await strict.run({ kind: 'cooperative', ms: 300 }, { timeoutMs: 2_000 })).toBe('finished');
    expect(events.of('pool.worker.terminated')).toHaveLength(0);
  });

  it('fails a run that ignores its signal and returns after its own deadline, within the kill grace', async () => {
    const { pool, events } = await startPool({ threads: 1, killGraceMs: 5_000 });
    // 'ok' with a delay never looks at ctx.signal: it answers 300 ms in, long before the kill.
    const late = await pool.run({ kind: 'ok', value: 'late', delayMs: 300 }, { timeoutMs: 50 }).catch((e: unknown) => e);
    expect(late).toMatchObject({ remote: { code: 'PITBOSS_TASK_TIMEOUT', message: 'task deadline (run timeoutMs 50 ms) passed before it returned' } });
    expect(await pool.run({ kind: 'ok', value: 'in time', delayMs: 10 }, { timeoutMs: 2_000 })).toBe('in time');
    // Not a crash: the thread answered, so it is kept.
    expect(events.of('pool.worker.terminated')).toHaveLength(0);
  });

  it('sends runs with their own deadline alone, never in a chunk', async () => {
    const { pool } = await startPool({ threads: 1, chunking: { maxTasks: 8, maxTaskMs: 50 } });
    // Short tasks first, so the pool measures them short and would chunk what queues behind them.
    for (let i = 0; i < 5; i++) await pool.run({ kind: 'ok' });
    await Promise.all(Array.from({ length: 40 }, () => pool.run({ kind: 'ok' }, { timeoutMs: 5_000 })));
    expect(pool.dispatched.chunks).toBe(0);
    await Promise.all(Array.from({ length: 40 }, () => pool.run({ kind: 'ok' })));
    expect(pool.dispatched.chunks).toBeGreaterThan(0);
  });

  it('rejects a timeoutMs that is not a positive integer, naming it', async () => {
    const { pool } = await startPool({ threads: 1 });
    for (const timeoutMs of [0, -1, 1.5, Number.NaN]) {
      await expect(pool.run({ kind: 'ok' }, { timeoutMs })).rejects.toMatchObject({ code: 'PITBOSS_INVALID_CONFIG', message: expect.stringContaining('run options.timeoutMs') });
    }
  });
});
