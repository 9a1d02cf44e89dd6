/**
 * The Dispatcher contract, as tests: every implementation registers this suite with its own factory
 * (test/jobs/dispatch/local.test.ts, bullmq.test.ts). Timing assertions are lower bounds only, with
 * generous upper waits, so they hold on a loaded machine.
 *
 * Decided here for every backend: a processor that throws (or returns no valid outcome) does not lose
 * the job; it is handed out again after `failureRetryDelayMs`, and `onError` receives a
 * `PITBOSS_DISPATCH_PROCESSOR_FAILED`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Dispatcher } from '../../../src/jobs/types.ts';
import { deferred, eventually, job, recorder, sleep } from './helpers.ts';

/** What every factory is given. */
interface ConformanceOptions {
  readonly failureRetryDelayMs: number;
  readonly onError: (error: Error) => void;
}

export type DispatcherFactory = (options: ConformanceOptions) => Dispatcher;

const FAILURE_RETRY_DELAY_MS = 200;
/** Timers and Redis timestamps have millisecond resolution; allow that much below a lower bound. */
const CLOCK_SLACK_MS = 5;
/** How long "nothing more happens" is watched for. */
const QUIET_MS = 400;

export function dispatcherConformance(label: string, create: DispatcherFactory): void {
  describe(`${label}: Dispatcher conformance`, () => {
    const opened: Dispatcher[] = [];
    let errors: Error[] = [];

    function open(): Dispatcher {
      errors = [];
      const dispatcher = create({ failureRetryDelayMs: FAILURE_RETRY_DELAY_MS, onError: (error) => errors.push(error) });
      opened.push(dispatcher);
      return dispatcher;
    }

    afterEach(async () => {
      await Promise.all(opened.splice(0).map((dispatcher) => dispatcher.close()));
    });

    it('hands each added job to a consumer exactly once, as { id, queue, name }', async () => {
      const dispatcher = open();
      const rec = recorder();
      dispatcher.consume('q', { concurrency: 2 }, rec.process);
      await dispatcher.add([job('1', { name: 'alpha' }), job('2'), job('3')]);
      await eventually(() => rec.deliveries.length === 3, 'three deliveries');
      await sleep(QUIET_MS);
      expect(rec.ids().sort()).toEqual(['1', '2', '3']);
      expect(rec.of('1')[0]?.job).toEqual({ id: '1', queue: 'q', name: 'alpha' });
      await eventually(async () => (await dispatcher.count('q')) === 0, 'count 0 after done');
    });

    it('collapses duplicate ids while the job is waiting, delayed or active', async () => {
      const dispatcher = open();
      await dispatcher.add([job('1'), job('1')]);
      await dispatcher.add([job('1'), job('2', { delayMs: 60_000 })]);
      await dispatcher.add([job('2')]);
      expect(await dispatcher.count('q')).toBe(2);
      const release = deferred();
      const rec = recorder(async () => {
        await release.promise;
        return { kind: 'done' };
      });
      dispatcher.consume('q', { concurrency: 2 }, rec.process);
      await eventually(() => rec.deliveries.length === 1, 'job 1 active');
      await dispatcher.add([job('1'), job('2')]);
      expect(await dispatcher.count('q')).toBe(2);
      release.resolve();
      await eventually(async () => (await dispatcher.count('q')) === 1, 'job 1 done, job 2 still delayed');
      await sleep(QUIET_MS);
      expect(rec.ids()).toEqual(['1']);
    });

    it('hands out higher priority first, first-in first-out within a priority', async () => {
      const dispatcher = open();
      await dispatcher.add([
        job('a', { priority: 0 }), job('b', { priority: 5 }), job('c', { priority: -3 }),
        job('d', { priority: 5 }), job('e', { priority: 10 }), job('f', { priority: 0 }),
      ]);
      const rec = recorder();
      dispatcher.consume('q', { concurrency: 1 }, rec.process);
      await eventually(() => rec.deliveries.length === 6, 'six deliveries');
      expect(rec.ids()).toEqual(['e', 'b', 'd', 'a', 'f', 'c']);
    });

    it('does not hand out a delayed job before its delay has passed', async () => {
      const dispatcher = open();
      const rec = recorder();
      dispatcher.consume('q', { concurrency: 2 }, rec.process);
      const addedAt = performance.now();
      await dispatcher.add([job('late', { delayMs: 500 }), job('now')]);
      await eventually(() => rec.deliveries.length === 2, 'both deliveries');
      expect(rec.ids()).toEqual(['now', 'late']);
      expect((rec.of('late')[0]?.at ?? 0) - addedAt).toBeGreaterThanOrEqual(500 - CLOCK_SLACK_MS);
    });

    it('promote hands out a delayed job now and adds an unknown one, once each (a retry)', async () => {
      const dispatcher = open();
      const rec = recorder();
      dispatcher.consume('q', { concurrency: 2 }, rec.process);
      await dispatcher.add([job('held', { delayMs: 60_000 })]);
      await sleep(QUIET_MS);
      expect(rec.ids()).toEqual([]);
      await dispatcher.promote([job('held', { delayMs: 60_000 }), job('new', { delayMs: 60_000 })]);
      await eventually(() => rec.deliveries.length === 2, 'both handed out now');
      await sleep(QUIET_MS);
      expect(rec.ids().sort()).toEqual(['held', 'new']);
      await eventually(async () => (await dispatcher.count('q')) === 0, 'count 0 after done');
    });

    it('runs at most `concurrency` jobs at a time, and uses all of it', async () => {
      const dispatcher = open();
      const rec = recorder(async () => {
        await sleep(100);
        return { kind: 'done' };
      });
      await dispatcher.add(Array.from({ length: 9 }, (_, i) => job(String(i + 1))));
      dispatcher.consume('q', { concurrency: 3 }, rec.process);
      await eventually(() => rec.deliveries.length === 9, 'nine deliveries');
      expect(rec.maxRunning).toBe(3);
    });

    it('hands a job out again after the delay a retry outcome asks for', async () => {
      const dispatcher = open();
      const counts: number[] = [];
      const rec = recorder(async (_job, delivery) => {
        counts.push(await dispatcher.count('q'));
        return delivery < 3 ? { kind: 'retry', delayMs: 300 } : { kind: 'done' };
      });
      dispatcher.consume('q', { concurrency: 1 }, rec.process);
      await dispatcher.add([job('1')]);
      await eventually(() => counts.length === 3, 'three deliveries of job 1');
      const [first, second, third] = rec.of('1').map((d) => d.at) as [number, number, number];
      expect(second - first).toBeGreaterThanOrEqual(300 - CLOCK_SLACK_MS);
      expect(third - second).toBeGreaterThanOrEqual(300 - CLOCK_SLACK_MS);
      expect(counts).toEqual([1, 1, 1]); // held (active or delayed) the whole time
      await eventually(async () => (await dispatcher.count('q')) === 0, 'count 0 after done');
      await sleep(QUIET_MS);
      expect(rec.deliveries).toHaveLength(3);
    });

    it('runs a finished id again when it is added again', async () => {
      const dispatcher = open();
      const rec = recorder();
      dispatcher.consume('q', { concurrency: 1 }, rec.process);
      await dispatcher.add([job('1')]);
      await eventually(async () => rec.deliveries.length === 1 && (await dispatcher.count('q')) === 0, 'first run finished');
      await dispatcher.add([job('1')]);
      await eventually(() => rec.deliveries.length === 2, 'second run');
      expect(rec.ids()).toEqual(['1', '1']);
    });

    it('stops handing out jobs while paused and starts again on resume; jobs in flight run on', async () => {
      const dispatcher = open();
      const release = deferred();
      const finished: string[] = [];
      const rec = recorder(async (dispatched) => {
        if (dispatched.id === 'inflight') await release.promise;
        finished.push(dispatched.id);
        return { kind: 'done' };
      });
      const consumer = dispatcher.consume('q', { concurrency: 2 }, rec.process);
      await dispatcher.add([job('inflight')]);
      await eventually(() => rec.deliveries.length === 1, 'in-flight job started');
      await consumer.pause(); // resolves without waiting for the job in flight
      await dispatcher.add([job('1'), job('2')]);
      release.resolve();
      await eventually(() => finished.includes('inflight'), 'in-flight job finished while paused');
      await sleep(QUIET_MS);
      expect(rec.ids()).toEqual(['inflight']);
      expect(await dispatcher.count('q')).toBe(2);
      consumer.resume();
      await eventually(() => rec.deliveries.length === 3, 'deliveries after resume');
      expect(rec.ids().slice(1).sort()).toEqual(['1', '2']);
    });

    it('close waits for jobs in flight and takes no new ones', async () => {
      const dispatcher = open();
      const finished: string[] = [];
      const rec = recorder(async (dispatched) => {
        await sleep(300);
        finished.push(dispatched.id);
        return { kind: 'done' };
      });
      const consumer = dispatcher.consume('q', { concurrency: 2 }, rec.process);
      await dispatcher.add([job('1'), job('2')]);
      await eventually(() => rec.deliveries.length === 2, 'both started');
      await consumer.close(10_000);
      expect(finished.sort()).toEqual(['1', '2']);
      await dispatcher.add([job('3')]);
      await sleep(QUIET_MS);
      expect(rec.deliveries).toHaveLength(2);
      expect(await dispatcher.count('q')).toBe(1);
    });

    it('close gives up waiting after its timeout', async () => {
      const dispatcher = open();
      const release = deferred();
      const rec = recorder(async () => {
        await release.promise;
        return { kind: 'done' };
      });
      const consumer = dispatcher.consume('q', { concurrency: 1 }, rec.process);
      await dispatcher.add([job('stuck')]);
      await eventually(() => rec.deliveries.length === 1, 'stuck job started');
      const started = performance.now();
      await consumer.close(200);
      const waited = performance.now() - started;
      expect(waited).toBeGreaterThanOrEqual(200 - CLOCK_SLACK_MS);
      expect(waited).toBeLessThan(5_000);
      release.resolve();
    });

    it('counts waiting, delayed and active jobs', async () => {
      const dispatcher = open();
      expect(await dispatcher.count('q')).toBe(0);
      await dispatcher.add([job('w1'), job('w2'), job('d', { delayMs: 60_000 }), job('other', { queue: 'elsewhere' })]);
      expect(await dispatcher.count('q')).toBe(3);
      expect(await dispatcher.count('elsewhere')).toBe(1);
      const release = deferred();
      const rec = recorder(async (dispatched) => {
        if (dispatched.id === 'w1') await release.promise;
        return { kind: 'done' };
      });
      dispatcher.consume('q', { concurrency: 1 }, rec.process);
      await eventually(() => rec.deliveries.length === 1, 'w1 active');
      expect(await dispatcher.count('q')).toBe(3); // w1 active, w2 waiting, d delayed
      release.resolve();
      await eventually(async () => (await dispatcher.count('q')) === 1, 'only the delayed job left');
      expect(rec.ids()).toEqual(['w1', 'w2']);
    });

    it('does not lose a job whose processor throws: it comes back after failureRetryDelayMs', async () => {
      const dispatcher = open();
      const rec = recorder((dispatched, delivery) => {
        if (delivery === 1) throw new Error('processor bug');
        if (delivery === 2) return undefined as never; // not an outcome: treated the same way
        return { kind: 'done' };
      });
      dispatcher.consume('q', { concurrency: 1 }, rec.process);
      await dispatcher.add([job('1')]);
      await eventually(() => rec.deliveries.length === 3, 'three deliveries');
      const [first, second, third] = rec.of('1').map((d) => d.at) as [number, number, number];
      expect(second - first).toBeGreaterThanOrEqual(FAILURE_RETRY_DELAY_MS - CLOCK_SLACK_MS);
      expect(third - second).toBeGreaterThanOrEqual(FAILURE_RETRY_DELAY_MS - CLOCK_SLACK_MS);
      const codes = errors.map((error) => (error as { code?: string }).code);
      expect(codes.filter((code) => code === 'PITBOSS_DISPATCH_PROCESSOR_FAILED')).toHaveLength(2);
      expect(errors[0]?.cause).toMatchObject({ message: 'processor bug' });
      await eventually(async () => (await dispatcher.count('q')) === 0, 'count 0 after done');
    });

    it('rejects malformed jobs and bad options with typed errors, and everything after close', async () => {
      const dispatcher = open();
      await eventually(() => dispatcher.healthy(), 'healthy once connected');
      await expect(dispatcher.add([job('ok'), job('')])).rejects.toMatchObject({ code: 'PITBOSS_INVALID_DISPATCH_JOB' });
      await expect(dispatcher.add([job('a:b')])).rejects.toMatchObject({ code: 'PITBOSS_INVALID_DISPATCH_JOB' });
      await expect(dispatcher.add([job('x', { queue: 'bad:queue' })])).rejects.toMatchObject({ code: 'PITBOSS_INVALID_DISPATCH_JOB' });
      await expect(dispatcher.add([job('x', { priority: Number.NaN })])).rejects.toMatchObject({ code: 'PITBOSS_INVALID_DISPATCH_JOB' });
      await expect(dispatcher.add([job('x', { maxAttempts: 0 })])).rejects.toMatchObject({ code: 'PITBOSS_INVALID_DISPATCH_JOB' });
      expect(await dispatcher.count('q')).toBe(0); // a batch with a bad job adds nothing
      expect(() => dispatcher.consume('q', { concurrency: 0 }, async () => ({ kind: 'done' }))).toThrow(expect.objectContaining({ code: 'PITBOSS_INVALID_CONFIG' }));
      await dispatcher.close();
      await expect(dispatcher.add([job('late')])).rejects.toMatchObject({ code: 'PITBOSS_DISPATCH_CLOSED' });
      await expect(dispatcher.count('q')).rejects.toMatchObject({ code: 'PITBOSS_DISPATCH_CLOSED' });
      expect(() => dispatcher.consume('q', { concurrency: 1 }, async () => ({ kind: 'done' }))).toThrow(expect.objectContaining({ code: 'PITBOSS_DISPATCH_CLOSED' }));
    });
  });
}
