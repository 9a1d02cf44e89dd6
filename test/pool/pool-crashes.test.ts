import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createTelemetry, captureEvents } from '../../src/index.ts';
import { Pool } from '../../src/pool/pool.ts';
import { eventually, startPool, workerPath } from '../helpers/pool.ts';

describe('pool: every crash kind', () => {
  it('an error thrown by a task rejects that task and the thread lives on', async () => {
    const { pool, events } = await startPool({ threads: 1 });
    const before = pool.threads()[0]!.threadId;
    const error = await pool.run({ kind: 'throw', message: 'bad row 7' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'PITBOSS_TASK_FAILED', remote: { name: 'InjectedError', message: 'bad row 7' } });
    expect(String((error as Error).stack)).toContain('in worker thread');
    expect(await pool.run({ kind: 'ok', value: 'still here' })).toBe('still here');
    expect(pool.threads()[0]!.threadId).toBe(before);
    expect(events.of('worker.call.exception')[0]!.metadata).toMatchObject({ pool: 'test', worker_id: 0, error_type: 'InjectedError' });
    expect(events.of('pool.worker.terminated')).toHaveLength(0);
  });

  it.each([
    ['uncaught async exception', { kind: 'uncaught' }, 'crash'],
    ['process.exit in the thread', { kind: 'exit', code: 7 }, 'exit'],
  ] as const)('%s: the task rejects, the thread is replaced in the same slot', async (_name, input, reason) => {
    const { pool, events } = await startPool({ threads: 1 });
    const before = pool.threads()[0]!.threadId;
    const error = await pool.run(input).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'PITBOSS_WORKER_CRASHED', reason });
    await events.waitFor('pool.worker.restarted');
    expect(events.of('pool.worker.terminated')[0]!.metadata).toMatchObject({ worker_id: 0, reason, planned: false });
    // The task's crash: replaced, not counted against the intensity (restarts in the window: 0).
    expect(events.of('pool.worker.restarted')[0]).toMatchObject({ measurements: { restarts: 0 }, metadata: { worker_id: 0, reason, fault: 'task' } });
    expect(events.of('worker.call.exception').at(-1)!.metadata).toMatchObject({ worker_id: 0, error_type: 'WorkerCrashedError' });
    expect(events.of('worker.call.crashed').map((e) => e.metadata)).toEqual([expect.objectContaining({ worker_id: 0, task: 'default', reason, error_type: 'WorkerCrashedError' })]);
    expect(await pool.run({ kind: 'ok', value: 1 })).toBe(1);
    expect(pool.threads().map((t) => t.workerId)).toEqual([0]);
    expect(pool.threads()[0]!.threadId).not.toBe(before);
  });

  it('an answer structured clone refuses fails that task once (it is not run again), and the pool lives on', async () => {
    // piscina rethrows the failed post of the answer uncaught, killing the thread after the task
    // finished; run again, the task would kill thread after thread until the pool failed.
    const { pool, events } = await startPool({ threads: 1 });
    const error = await pool.run({ kind: 'unclonable' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'PITBOSS_WORKER_CRASHED', reason: 'unclonable_answer', message: expect.stringContaining('could not send its answer') });
    await events.waitFor('pool.worker.restarted');
    expect(await pool.run({ kind: 'ok', value: 'after' })).toBe('after');
    expect(events.of('pool.worker.terminated')).toHaveLength(1);
    expect(events.of('pool.worker.terminated')[0]!.metadata).toMatchObject({ reason: 'unclonable_answer', planned: false });
    expect(pool.state).toBe('running');
  });

  it('unclonable answers do not count against intensity: they are the task\'s fault, not the thread\'s', async () => {
    // With a budget of one restart, a second unclonable answer used to fail the whole pool.
    const { pool, events } = await startPool({ threads: 1, intensity: { maxRestarts: 1, periodMs: 60_000 } });
    for (let i = 0; i < 3; i++) {
      await expect(pool.run({ kind: 'unclonable' })).rejects.toMatchObject({ reason: 'unclonable_answer' });
      await events.waitFor('pool.worker.restarted', { count: i + 1 });
    }
    expect(pool.state).toBe('running');
    expect(await pool.run({ kind: 'ok', value: 'still' })).toBe('still');
    // Threads dying on their own still count, and the budget of one is still whole: the first is
    // restarted, the second fails the pool.
    expect(await pool.run({ kind: 'exit-idle' })).toBe('ok');
    await events.waitFor('pool.worker.restarted', { count: 4 });
    expect(events.of('pool.worker.restarted').at(-1)!.metadata).toMatchObject({ reason: 'exit', fault: 'thread' });
    expect(pool.state).toBe('running');
    await pool.run({ kind: 'exit-idle' }).catch(() => {});
    expect(await pool.exited).toMatchObject({ code: 'PITBOSS_POOL_FAILED' });
  });

  it('tasks that kill their thread never fail the pool, whatever the kind and however many; healthy tasks all complete', async () => {
    // With a budget of one restart, any two counted deaths would fail the pool.
    const { pool, events } = await startPool({
      threads: 2, intensity: { maxRestarts: 1, periodMs: 60_000 }, taskTimeoutMs: 1500, killGraceMs: 50,
      resourceLimits: { maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 8 },
    });
    const poison = [{ kind: 'exit' }, { kind: 'uncaught' }, { kind: 'hang' }, { kind: 'oom' }] as const;
    const inputs = Array.from({ length: 80 }, (_, i) => (i % 10 === 3 ? poison[(i / 10 | 0) % 4]! : { kind: 'ok', value: i }));
    const settled = await Promise.allSettled(inputs.map((input) => pool.run(input, { task: input.kind === 'ok' ? 'good' : `bad-${input.kind}` })));
    settled.forEach((s, i) => {
      const input = inputs[i]!;
      if (input.kind === 'ok') expect(s).toEqual({ status: 'fulfilled', value: i });
      else expect(s).toMatchObject({ status: 'rejected', reason: { code: input.kind === 'hang' ? 'PITBOSS_TASK_TIMEOUT' : 'PITBOSS_WORKER_CRASHED' } });
    });
    expect(pool.state).toBe('running');
    const crashed = events.of('worker.call.crashed').map((e) => `${String(e.metadata.task)}:${String(e.metadata.reason)}`).sort();
    expect(crashed).toEqual(['bad-exit:exit', 'bad-exit:exit', 'bad-hang:timeout', 'bad-hang:timeout', 'bad-oom:oom', 'bad-oom:oom', 'bad-uncaught:crash', 'bad-uncaught:crash']);
    await eventually(() => events.of('pool.worker.restarted').length === 8, 10_000, 'eight replacements');
    expect(events.of('pool.worker.restarted').every((e) => e.metadata.fault === 'task' && e.measurements.restarts === 0)).toBe(true);
    expect(pool.threads()).toHaveLength(2);
  });

  it('no task runs twice when threads die at once and their replacements get work before their hello is read', async () => {
    // piscina may hand a fresh thread a task or a chunk before the thread's hello (another port) is
    // read. A thread dying over a task then was taken for one that never started it, and a chunk's
    // answers, posted on a port only the hello names, were taken for missing: both ran again.
    const marks = join(mkdtempSync(join(tmpdir(), 'pitboss-exit-storm-')), 'marks');
    // Chunks only form while tasks average under chunking.maxTaskMs (1 ms by default), which a loaded
    // machine's hashing and file appends exceed: a generous bound keeps chunks in play on any machine.
    const { pool, events } = await startPool({
      threads: 2, worker: fileURLToPath(new URL('../fixtures/poison-worker.ts', import.meta.url)), chunking: { maxTaskMs: 1000 },
    });
    const inputs = Array.from({ length: 240 }, (_, index) => ({ kind: index % 8 === 5 ? 'exit' : 'ok', file: marks, index }) as const);
    // Waves of 8 (as a queue consumer keeps a few in flight), so chunks of short tasks meet fresh threads.
    const settled: PromiseSettledResult<unknown>[] = [];
    for (let at = 0; at < inputs.length; at += 8) settled.push(...await Promise.allSettled(inputs.slice(at, at + 8).map((input) => pool.run(input))));
    settled.forEach((s, i) => expect(s.status, `task ${i}`).toBe(inputs[i]!.kind === 'ok' ? 'fulfilled' : 'rejected'));
    const runs = readFileSync(marks, 'utf8').trim().split('\n').sort();
    expect(runs).toEqual(inputs.map((input) => (input.kind === 'ok' ? String(input.index) : `p${input.index}`)).sort());
    expect(events.of('worker.call.crashed')).toHaveLength(30);
    expect(pool.dispatched.chunks).toBeGreaterThan(0);
    expect(pool.state).toBe('running');
  });

  it('out of memory under resourceLimits kills the thread (reason oom) and it is replaced', async () => {
    const { pool, events } = await startPool({ threads: 1, resourceLimits: { maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 8 } });
    const error = await pool.run({ kind: 'oom' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'PITBOSS_WORKER_CRASHED', reason: 'oom' });
    await events.waitFor('pool.worker.restarted');
    expect(events.of('pool.worker.terminated')[0]!.metadata.reason).toBe('oom');
    expect(await pool.run({ kind: 'ok', value: 'alive' })).toBe('alive');
  });

  it('an infinite loop hits the task timeout: the thread is terminated and replaced', async () => {
    const { pool, events } = await startPool({ threads: 1, taskTimeoutMs: 100, killGraceMs: 100 });
    const error = await pool.run({ kind: 'hang' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'PITBOSS_TASK_TIMEOUT' });
    await events.waitFor('pool.worker.restarted');
    expect(events.of('pool.worker.terminated')[0]!.metadata).toMatchObject({ reason: 'timeout', planned: false });
    expect(await pool.run({ kind: 'ok', value: 'next' })).toBe('next');
  });

  it('a cooperative task sees ctx.signal abort at the soft deadline and is not killed', async () => {
    const { pool, events } = await startPool({ threads: 1, taskTimeoutMs: 50, killGraceMs: 2000 });
    expect(await pool.run({ kind: 'cooperative', ms: 5000 })).toBe('aborted cleanly');
    expect(events.of('pool.worker.terminated')).toHaveLength(0);
  });

  it('restarts beyond the intensity fail the pool: tasks reject and exited resolves with the error', async () => {
    const { pool, events } = await startPool({ threads: 1, intensity: { maxRestarts: 2, periodMs: 60_000 } });
    // Threads that die idle (after their task returned): a pool that cannot keep threads alive.
    for (let i = 0; i < 3; i++) {
      await pool.run({ kind: 'exit-idle' }).catch(() => {});
      if (i < 2) await events.waitFor('pool.worker.restarted', { count: i + 1 });
    }
    const failure = await pool.exited;
    expect(failure).toMatchObject({ code: 'PITBOSS_POOL_FAILED' });
    expect(pool.state).toBe('failed');
    await expect(pool.run({ kind: 'ok' })).rejects.toMatchObject({ code: 'PITBOSS_POOL_FAILED' });
    await eventually(() => pool.threadCount === 0, 3000, 'threads gone');
    expect(events.of('pool.worker.restarted')).toHaveLength(2);
  });

  it('a worker module that fails at load is reported as spawn_failed and fails the start', async () => {
    const bus = createTelemetry();
    const events = captureEvents(bus, 'pool.worker.*');
    const pool = new Pool({ name: 'broken', worker: new URL('../fixtures/broken-worker.ts', import.meta.url), threads: 1, telemetry: bus, intensity: { maxRestarts: 2, periodMs: 60_000 } });
    await expect(pool.start()).rejects.toMatchObject({ code: 'PITBOSS_POOL_FAILED' });
    expect(events.of('pool.worker.spawn_failed').length).toBeGreaterThanOrEqual(3);
    expect(events.of('pool.worker.spawn_failed')[0]!.metadata).toMatchObject({ pool: 'broken', error: expect.stringContaining('config file missing') });
    await pool.close();
    expect(pool.threadCount).toBe(0);
  });

  it('a module without a defineWorker default export is refused at load', async () => {
    const bus = createTelemetry();
    const events = captureEvents(bus, 'pool.worker.spawn_failed');
    const pool = new Pool({ name: 'plain', worker: new URL('../fixtures/not-a-worker.ts', import.meta.url), threads: 1, telemetry: bus, intensity: { maxRestarts: 0, periodMs: 1000 } });
    await expect(pool.start()).rejects.toMatchObject({ code: 'PITBOSS_POOL_FAILED' });
    expect(events.events[0]!.metadata.error).toContain('PITBOSS_INVALID_WORKER');
    await pool.close();
  });
});

describe('pool: recovery from piscina bootstrap failures', () => {
  it('keeps full strength when a replacement thread dies while starting', async () => {
    const { pool, events } = await startPool({ worker: workerPath('flaky-boot'), threads: 2, intensity: { maxRestarts: 10, periodMs: 60_000 } });
    // The first crash makes the replacement fail at boot (flag file), which sets piscina's sticky
    // "fails during bootstrap" flag; the pool must still get back to 2 threads.
    await pool.run({ kind: 'crash-then-break-boot' }).catch(() => {});
    await eventually(() => pool.threads().length === 2 && events.of('pool.worker.spawn_failed').length >= 1, 10_000, 'two threads again');
    expect(await Promise.all([pool.run({ kind: 'ok' }), pool.run({ kind: 'ok' })])).toEqual(['ok', 'ok']);
  });
});
