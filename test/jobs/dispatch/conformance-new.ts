/**
 * `addNew` (jobs the store just created) as tests, for every backend: whatever the backend does
 * with them (BullMQ packs them several to a BullMQ job), each is handed out once, in priority order,
 * under the consumer's concurrency and pause, counted one by one, and retried alone.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Dispatcher } from '../../../src/jobs/types.ts';
import type { DispatcherFactory } from './conformance.ts';
import { deferred, eventually, job, recorder, sleep } from './helpers.ts';

const QUIET_MS = 400;
const many = (n: number, from = 1): ReturnType<typeof job>[] => Array.from({ length: n }, (_, i) => job(String(from + i)));

export function addNewConformance(label: string, create: DispatcherFactory): void {
  describe(`${label}: addNew (new jobs, packed where the backend packs)`, () => {
    const opened: Dispatcher[] = [];
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((dispatcher) => dispatcher.close()));
    });
    const open = (): Dispatcher => {
      const dispatcher = create({ failureRetryDelayMs: 200, onError: () => {} });
      opened.push(dispatcher);
      return dispatcher;
    };

    it('hands each of 50 jobs out exactly once, at most `concurrency` at a time and using all of it; counts them one by one', async () => {
      const dispatcher = open();
      await dispatcher.addNew(many(50));
      expect(await dispatcher.count('q')).toBe(50);
      const rec = recorder(async () => {
        await sleep(20);
        return { kind: 'done' };
      });
      dispatcher.consume('q', { concurrency: 5 }, rec.process);
      await eventually(() => rec.deliveries.length === 50, '50 deliveries');
      await sleep(QUIET_MS);
      expect(rec.ids().sort()).toEqual(many(50).map((j) => j.id).sort());
      expect(rec.maxRunning).toBe(5);
      await eventually(async () => (await dispatcher.count('q')) === 0, 'count 0 after done');
    });

    it('hands out higher priority first and keeps a delayed job back; a repeated id is handed out once', async () => {
      const dispatcher = open();
      const addedAt = performance.now();
      await dispatcher.addNew([
        job('a'), job('b'), job('late', { delayMs: 500 }), job('u1', { priority: 5 }), job('u2', { priority: 5 }), job('a'), job('c'),
      ]);
      const rec = recorder();
      dispatcher.consume('q', { concurrency: 1 }, rec.process);
      await eventually(() => rec.deliveries.length === 6, 'six deliveries');
      expect(rec.ids()).toEqual(['u1', 'u2', 'a', 'b', 'c', 'late']);
      expect((rec.of('late')[0]?.at ?? 0) - addedAt).toBeGreaterThanOrEqual(495);
      await sleep(QUIET_MS);
      expect(rec.deliveries).toHaveLength(6);
    });

    it('retries one job of a batch alone, after its delay; the others run once', async () => {
      const dispatcher = open();
      const rec = recorder((dispatched, delivery) => (dispatched.id === '3' && delivery === 1 ? { kind: 'retry', delayMs: 300 } : { kind: 'done' }));
      dispatcher.consume('q', { concurrency: 4 }, rec.process);
      await dispatcher.addNew(many(8));
      await eventually(() => rec.deliveries.length === 9, 'nine deliveries');
      const [first, second] = rec.of('3').map((d) => d.at) as [number, number];
      expect(second - first).toBeGreaterThanOrEqual(295);
      await sleep(QUIET_MS);
      expect(rec.deliveries).toHaveLength(9);
      await eventually(async () => (await dispatcher.count('q')) === 0, 'count 0 after done');
    });

    it('a re-add of ids still waiting (the reconciler\'s) hands none out twice', async () => {
      const dispatcher = open();
      await dispatcher.addNew(many(20));
      await dispatcher.add(many(20));
      expect(await dispatcher.count('q')).toBe(20);
      const rec = recorder();
      dispatcher.consume('q', { concurrency: 3 }, rec.process);
      await eventually(() => rec.deliveries.length === 20, '20 deliveries');
      await sleep(QUIET_MS);
      expect(rec.deliveries).toHaveLength(20);
    });

    it('a pause stops handing out the rest of a batch; they stay counted and run after resume', async () => {
      const dispatcher = open();
      const release = deferred();
      const rec = recorder(async (dispatched) => {
        if (dispatched.id === '1') await release.promise;
        return { kind: 'done' };
      });
      const consumer = dispatcher.consume('q', { concurrency: 1 }, rec.process);
      await dispatcher.addNew(many(4));
      await eventually(() => rec.deliveries.length === 1, 'job 1 started');
      await consumer.pause();
      release.resolve();
      await sleep(QUIET_MS);
      expect(rec.ids()).toEqual(['1']);
      await eventually(async () => (await dispatcher.count('q')) === 3, 'three jobs held while paused');
      consumer.resume();
      await eventually(() => rec.deliveries.length === 4, 'the rest after resume');
      expect(rec.ids().slice(1).sort()).toEqual(['2', '3', '4']);
    });

    it('close waits for every started job of a batch', async () => {
      const dispatcher = open();
      const finished: string[] = [];
      const rec = recorder(async (dispatched) => {
        await sleep(300);
        finished.push(dispatched.id);
        return { kind: 'done' };
      });
      const consumer = dispatcher.consume('q', { concurrency: 3 }, rec.process);
      await dispatcher.addNew(many(3));
      await eventually(() => rec.deliveries.length === 3, 'three started');
      await consumer.close(10_000);
      expect(finished.sort()).toEqual(['1', '2', '3']);
    });
  });
}
