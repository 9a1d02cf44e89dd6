// The in-process dispatcher against the shared Dispatcher conformance suite, plus what only it does.
import { describe, expect, it } from 'vitest';
import { LocalDispatcher } from '../../../src/jobs/dispatch/index.ts';
import { PriorityHeap } from '../../../src/jobs/dispatch/priority-heap.ts';
import { dispatcherConformance } from './conformance.ts';
import { addNewConformance } from './conformance-new.ts';
import { eventually, job, recorder } from './helpers.ts';

dispatcherConformance('LocalDispatcher', (options) => new LocalDispatcher(options));
addNewConformance('LocalDispatcher', (options) => new LocalDispatcher(options));

describe('LocalDispatcher', () => {
  it('is always healthy and reports its backend', () => {
    const dispatcher = new LocalDispatcher();
    expect(dispatcher.backend).toBe('local');
    expect(dispatcher.healthy()).toBe(true);
  });

  it('shares a queue between two consumers', async () => {
    const dispatcher = new LocalDispatcher();
    const a = recorder();
    const b = recorder();
    dispatcher.consume('q', { concurrency: 1 }, a.process);
    dispatcher.consume('q', { concurrency: 1 }, b.process);
    await dispatcher.add(Array.from({ length: 10 }, (_, i) => job(String(i))));
    await eventually(() => a.deliveries.length + b.deliveries.length === 10, 'ten deliveries');
    expect(a.deliveries.length).toBeGreaterThan(0);
    expect(b.deliveries.length).toBeGreaterThan(0);
    await dispatcher.close();
  });

  it('refuses a negative failureRetryDelayMs', () => {
    expect(() => new LocalDispatcher({ failureRetryDelayMs: -1 })).toThrow(expect.objectContaining({ code: 'PITBOSS_INVALID_CONFIG' }));
  });
});

describe('PriorityHeap', () => {
  it('pops in order under random pushes', () => {
    const heap = new PriorityHeap<number>((a, b) => a < b);
    const values = Array.from({ length: 500 }, () => Math.floor(Math.random() * 100));
    for (const value of values) heap.push(value);
    const popped: number[] = [];
    while (heap.size > 0) popped.push(heap.pop() as number);
    expect(popped).toEqual([...values].sort((x, y) => x - y));
    expect(heap.pop()).toBeUndefined();
  });
});
