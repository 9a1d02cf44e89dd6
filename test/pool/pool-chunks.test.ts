import { describe, expect, it } from 'vitest';
import { eventually, startPool } from '../helpers/pool.ts';
import type { Pool } from '../../src/pool/pool.ts';

type Who = { threadId: number; task: string };

/** One short task, so the pool knows its tasks are short (nothing measured counts as long). */
async function warm(pool: Pool): Promise<void> {
  await pool.run({ kind: 'ok' });
}

/** Submits everything at once (so all but the first queue up) and settles each. */
function burst(pool: Pool, inputs: readonly unknown[]) {
  return Promise.allSettled(inputs.map((input, i) => pool.run(input, { task: `t${i}` })));
}

describe('pool: chunked dispatch of short queued tasks', () => {
  it('a burst of short tasks goes out in chunks, with every per-task answer and event intact', async () => {
    const { pool, events } = await startPool({ threads: 2 });
    await warm(pool);
    const n = 120; // within the default maxQueue (threads × 64)
    const results = await Promise.all(Array.from({ length: n }, (_, i) => pool.run({ kind: 'ok', value: i }, { task: `t${i}` })));
    expect(results).toEqual(Array.from({ length: n }, (_, i) => i));
    const { chunks, chunkedTasks } = pool.dispatched;
    expect(chunks).toBeGreaterThan(0);
    expect(chunkedTasks).toBeGreaterThan(n / 2);
    for (const event of ['worker.call.start', 'worker.call.stop'] as const) {
      const tasks = events.of(event).map((e) => String(e.metadata.task)).filter((t) => t.startsWith('t'));
      expect(tasks.sort()).toEqual(Array.from({ length: n }, (_, i) => `t${i}`).sort());
    }
    expect(events.of('pool.queue.dequeued').length).toBe(events.of('pool.queue.enqueued').length);
    expect(events.of('worker.call.stop').every((e) => e.metadata.worker_id === 0 || e.metadata.worker_id === 1)).toBe(true);
  });

  it('a thread dying mid-chunk loses no finished answer; its unstarted tasks run on the replacement', async () => {
    const { pool, events } = await startPool({ threads: 1 });
    await warm(pool);
    const first = pool.threads()[0]!.threadId;
    // The first task goes out alone; the other seven queue behind it and leave as one chunk.
    const inputs = [{ kind: 'whoami' }, { kind: 'whoami' }, { kind: 'whoami' }, { kind: 'exit', code: 9 }, ...Array.from({ length: 4 }, () => ({ kind: 'whoami' }))];
    const settled = await burst(pool, inputs);
    // 7 in the first chunk; the 4 it never started wait for the replacement and leave as one chunk.
    expect(pool.dispatched).toEqual({ single: 2, chunks: 2, chunkedTasks: 11 });
    expect(settled[3]).toMatchObject({ status: 'rejected', reason: { code: 'PITBOSS_WORKER_CRASHED', reason: 'exit' } });
    const ran = settled.filter((s, i) => i !== 3).map((s) => (s as PromiseFulfilledResult<Who>).value);
    expect(ran.map((w) => w.task)).toEqual(['t0', 't1', 't2', 't4', 't5', 't6', 't7']);
    expect(ran.slice(0, 3).every((w) => w.threadId === first)).toBe(true);
    expect(ran.slice(3).every((w) => w.threadId !== first)).toBe(true);
    // Each task answered once (one worker.call.start/stop per task name); the crashed one has its exception.
    const answered = events.of('worker.call.stop').map((e) => String(e.metadata.task)).filter((t) => t.startsWith('t'));
    expect(answered.sort()).toEqual(['t0', 't1', 't2', 't4', 't5', 't6', 't7']);
    expect(events.of('worker.call.exception').map((e) => e.metadata.task)).toEqual(['t3']);
    expect(events.of('pool.worker.terminated')[0]!.metadata).toMatchObject({ reason: 'exit', planned: false });
  });

  it('an uncaught throw mid-chunk (an \'error\' before the exit) loses no finished answer and runs nothing twice', async () => {
    const { pool, events } = await startPool({ threads: 1 });
    await warm(pool);
    const first = pool.threads()[0]!.threadId;
    const inputs = [{ kind: 'whoami' }, { kind: 'whoami' }, { kind: 'whoami' }, { kind: 'uncaught' }, ...Array.from({ length: 4 }, () => ({ kind: 'whoami' }))];
    const settled = await burst(pool, inputs);
    expect(settled[3]).toMatchObject({ status: 'rejected', reason: { code: 'PITBOSS_WORKER_CRASHED', reason: 'crash' } });
    const ran = settled.filter((s, i) => i !== 3).map((s) => (s as PromiseFulfilledResult<Who>).value);
    expect(ran.map((w) => w.task)).toEqual(['t0', 't1', 't2', 't4', 't5', 't6', 't7']);
    // t1 and t2 finished on the first thread before t3 killed it: their answers stand, they never ran again.
    expect(ran.slice(0, 3).every((w) => w.threadId === first)).toBe(true);
    expect(ran.slice(3).every((w) => w.threadId !== first)).toBe(true);
    const answered = events.of('worker.call.stop').map((e) => String(e.metadata.task)).filter((t) => t.startsWith('t'));
    expect(answered.sort()).toEqual(['t0', 't1', 't2', 't4', 't5', 't6', 't7']);
  });

  it('each task of a chunk gets taskTimeoutMs from its own start, not from the chunk start', async () => {
    // timeout 300 + grace 150: the second 250 ms task ends 500 ms into the chunk, past a chunk-wide
    // deadline, but each task alone stays well inside its own.
    const { pool, events } = await startPool({ threads: 1, taskTimeoutMs: 300, killGraceMs: 150 });
    await warm(pool);
    const first = pool.threads()[0]!.threadId;
    const settled = await burst(pool, [{ kind: 'whoami' }, { kind: 'whoami', delayMs: 250 }, { kind: 'whoami', delayMs: 250 }, { kind: 'hang' }, { kind: 'whoami' }]);
    expect(pool.dispatched.chunkedTasks).toBe(4);
    expect(settled.slice(0, 3).map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
    expect(settled[3]).toMatchObject({ status: 'rejected', reason: { code: 'PITBOSS_TASK_TIMEOUT' } });
    expect(settled[4]).toMatchObject({ status: 'fulfilled' });
    expect((settled[4] as PromiseFulfilledResult<Who>).value.threadId).not.toBe(first);
    expect(events.of('pool.worker.terminated')[0]!.metadata).toMatchObject({ reason: 'timeout', planned: false });
  });

  it('an answer structured clone refuses fails that task only; the chunk and its thread go on', async () => {
    const { pool, events } = await startPool({ threads: 1 });
    await warm(pool);
    const settled = await burst(pool, [{ kind: 'ok', value: 0 }, { kind: 'ok', value: 1 }, { kind: 'unclonable' }, { kind: 'ok', value: 3 }]);
    expect(pool.dispatched.chunkedTasks).toBe(3);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect(settled[2]).toMatchObject({ reason: { code: 'PITBOSS_TASK_FAILED', remote: { name: 'DataCloneError' } } });
    expect(events.of('pool.worker.terminated')).toHaveLength(0);
  });

  it('long tasks and chunking.maxTasks 1 go one per thread; tasks with an AbortSignal are chunked like the rest', async () => {
    const signals = await startPool({ threads: 1 });
    await warm(signals.pool);
    const values = await Promise.all(Array.from({ length: 20 }, (_, i) => signals.pool.run({ kind: 'ok', value: i }, { signal: new AbortController().signal })));
    expect(values).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(signals.pool.dispatched.chunks).toBeGreaterThan(0);

    const long = await startPool({ threads: 1, chunking: { maxTaskMs: 1 } });
    await long.pool.run({ kind: 'ok', delayMs: 20 });
    await Promise.all(Array.from({ length: 10 }, () => long.pool.run({ kind: 'ok', delayMs: 5 })));
    expect(long.pool.dispatched.chunks).toBe(0);

    const off = await startPool({ threads: 1, chunking: { maxTasks: 1 } });
    await warm(off.pool);
    await Promise.all(Array.from({ length: 20 }, (_, i) => off.pool.run({ kind: 'ok', value: i })));
    expect(off.pool.dispatched.chunks).toBe(0);
  });

  it('recycling mid-chunk hands the rest of the chunk to the replacement, and each task runs once', async () => {
    // Three pools in a row: a task handed back by a recycling thread and sent out again before its
    // old chunk ended once ran twice (1 round in 30 here); each task's stop is counted by name.
    for (let round = 0; round < 3; round++) {
      const { pool, events } = await startPool({ threads: 2, recycle: { maxTasks: 5 } });
      await warm(pool);
      const results = await Promise.all(Array.from({ length: 60 }, (_, i) => pool.run({ kind: 'ok', value: i }, { task: `t${i}` })));
      expect(results).toEqual(Array.from({ length: 60 }, (_, i) => i));
      expect(pool.dispatched.chunks).toBeGreaterThan(0);
      expect(events.of('pool.worker.recycled').length).toBeGreaterThanOrEqual(10);
      const stops = events.of('worker.call.stop').map((e) => String(e.metadata.task)).filter((t) => t.startsWith('t'));
      expect(stops.sort()).toEqual(Array.from({ length: 60 }, (_, i) => `t${i}`).sort());
      await pool.close();
    }
  });

  it('tasks a recycling thread handed back run once each, on the replacement', async () => {
    // One thread recycled after 3 tasks: warm-up and t0 go alone, t1..t5 leave as one chunk; the
    // thread runs t1, is due for recycling, and hands t2..t5 back unrun. (Their order can change: one
    // sent out again at once may reach the thread on its way out and come back a second time.)
    const { pool, events } = await startPool({ threads: 1, recycle: { maxTasks: 3 } });
    await warm(pool);
    const first = pool.threads()[0]!.threadId;
    const settled = await burst(pool, Array.from({ length: 6 }, () => ({ kind: 'whoami' })));
    expect(settled.every((s) => s.status === 'fulfilled')).toBe(true);
    const ran = settled.map((s) => (s as PromiseFulfilledResult<Who>).value);
    expect(ran.slice(0, 2).every((w) => w.threadId === first)).toBe(true);
    expect(ran.slice(2).every((w) => w.threadId !== first)).toBe(true);
    const stops = events.of('worker.call.stop').map((e) => String(e.metadata.task)).filter((t) => t.startsWith('t'));
    expect(stops.sort()).toEqual(['t0', 't1', 't2', 't3', 't4', 't5']);
  });

  it('an abort calls off a chunked task its thread has not started: it never runs, the rest do, the thread lives', async () => {
    // Tasks up to 1 s count as short here, so the queued ones leave as one chunk behind t0.
    const { pool, events } = await startPool({ threads: 1, chunking: { maxTaskMs: 1000 } });
    await warm(pool);
    const thread = pool.threads()[0]!.threadId;
    const called = new AbortController();
    const inputs = [{ kind: 'ok', delayMs: 100 }, { kind: 'ok', value: 'a', delayMs: 300 }, { kind: 'ok', value: 'b' }, { kind: 'ok', value: 'c' }];
    const all = Promise.allSettled(inputs.map((input, i) => pool.run(input, { task: `t${i}`, signal: i === 2 ? called.signal : new AbortController().signal })));
    // t0's answer sends t1..t3 out as a chunk; t1 runs for 300 ms, t2 waits behind it in the thread.
    await eventually(() => events.of('worker.call.stop').some((e) => e.metadata.task === 't0'), 5_000, 't0 answered');
    await new Promise((resolve) => setTimeout(resolve, 100));
    called.abort(new Error('called off'));
    const settled = await all;
    expect(settled.map((s) => (s.status === 'fulfilled' ? s.value : (s.reason as Error).message))).toEqual(['ok', 'a', 'called off', 'c']);
    expect(pool.dispatched.chunkedTasks).toBe(3);
    const ran = events.of('worker.call.start').map((e) => String(e.metadata.task)).filter((t) => t.startsWith('t'));
    expect(ran).toEqual(['t0', 't1', 't3']);
    expect(pool.threads()[0]!.threadId).toBe(thread);
    expect(events.of('pool.worker.terminated')).toHaveLength(0);
  });

  it('an abort of a chunked task that is running terminates its thread; the others keep their answers or run again', async () => {
    const { pool, events } = await startPool({ threads: 1, chunking: { maxTaskMs: 1000 } });
    await warm(pool);
    const thread = pool.threads()[0]!.threadId;
    const called = new AbortController();
    const inputs = [{ kind: 'ok', delayMs: 100 }, { kind: 'whoami' }, { kind: 'hang' }, { kind: 'whoami' }];
    const all = Promise.allSettled(inputs.map((input, i) => pool.run(input, { task: `t${i}`, signal: i === 2 ? called.signal : undefined })));
    // t0's answer sends t1..t3 out as a chunk; t1 is instant, so well before 200 ms later t2 hangs.
    // (Answers inside a chunk are read when it ends, so t1's cannot be waited for here.)
    await eventually(() => events.of('worker.call.stop').some((e) => e.metadata.task === 't0'), 5_000, 't0 answered');
    await new Promise((resolve) => setTimeout(resolve, 200));
    called.abort(new Error('stop that'));
    const settled = await all;
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect((settled[2] as PromiseRejectedResult).reason).toMatchObject({ message: 'stop that' });
    // t1 finished on the first thread before the abort; t3 had not started and ran on the replacement.
    expect((settled[1] as PromiseFulfilledResult<Who>).value.threadId).toBe(thread);
    expect((settled[3] as PromiseFulfilledResult<Who>).value.threadId).not.toBe(thread);
    expect(events.of('pool.worker.terminated').map((e) => e.metadata.reason)).toEqual(['aborted']);
  });

  it('a close that cuts a chunk short settles every task of it', async () => {
    const { pool } = await startPool({ threads: 1 });
    await warm(pool);
    const all = burst(pool, [{ kind: 'ok' }, { kind: 'ok', delayMs: 300 }, { kind: 'ok' }, { kind: 'ok' }, { kind: 'ok' }]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await pool.close({ timeoutMs: 20 });
    const settled = await all;
    expect(pool.dispatched.chunkedTasks).toBe(4);
    expect(settled[0]!.status).toBe('fulfilled');
    for (const s of settled.slice(1)) expect(s).toMatchObject({ status: 'rejected' });
    expect(pool.threadCount).toBe(0);
  });
});

describe('pool options: chunking', () => {
  it('rejects a bad chunking option naming the key', async () => {
    const { Pool } = await import('../../src/pool/pool.ts');
    const worker = new URL('../../workers/noop.ts', import.meta.url).pathname;
    expect(() => new Pool({ name: 'c', worker, chunking: { maxTasks: 0 } })).toThrow(/pool\(c\)\.chunking\.maxTasks must be a positive integer/);
    expect(() => new Pool({ name: 'c', worker, chunking: { maxTaskMs: -1 } })).toThrow(/pool\(c\)\.chunking\.maxTaskMs must be a positive number/);
  });
});
