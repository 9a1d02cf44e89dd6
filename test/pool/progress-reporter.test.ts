/**
 * The thread-side throttle of ctx.progress (pure logic, fake clock): nothing leaves in a task's
 * first 250 ms, then at most one report per 250 ms with the newest value winning, a held value goes
 * when its interval ends (async task) or at the task's end (with its answer), and outside a job a
 * valid value goes nowhere while a bad one still throws.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ProgressReporter } from '../../src/pool/thread/progress.ts';

type Sent = [json: string, fraction: number | null, size: number, now: boolean];

describe('ProgressReporter', () => {
  let sent: Sent[];
  let reporter: ProgressReporter;
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    sent = [];
    reporter = new ProgressReporter((...args) => { sent.push(args); });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('holds a short task\'s reports and sends only the last, with the answer', () => {
    reporter.begin(true);
    for (const value of [0.1, 0.2, 0.3]) reporter.report(value);
    vi.advanceTimersByTime(100);
    expect(sent).toEqual([]);
    reporter.settle();
    expect(sent).toEqual([['0.3', 0.3, 3, false]]);
  });

  it('sends at most one report per 250 ms, the newest value, and the held one when its interval ends', () => {
    reporter.begin(true);
    reporter.report(0.1);
    vi.advanceTimersByTime(250);
    expect(sent).toEqual([['0.1', 0.1, 3, true]]);
    reporter.report(0.2);
    reporter.report({ step: 'b' });
    vi.advanceTimersByTime(249);
    expect(sent).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(sent.at(-1)).toEqual(['{"step":"b"}', null, 12, true]);
    vi.advanceTimersByTime(300);
    // A synchronous report once the interval has passed goes at once (a CPU-bound task turns no timers).
    reporter.report(0.9);
    expect(sent.at(-1)).toEqual(['0.9', 0.9, 3, true]);
    reporter.settle();
    expect(sent).toHaveLength(3);
  });

  it('outside a job sends nothing, yet refuses a bad value', () => {
    reporter.begin(false);
    reporter.report(0.5);
    expect(() => reporter.report(2)).toThrow(RangeError);
    reporter.settle();
    vi.advanceTimersByTime(1000);
    expect(sent).toEqual([]);
  });

  it('a value held when a task ends never leaks into the next task', () => {
    reporter.begin(true);
    reporter.report(0.4);
    reporter.settle();
    reporter.begin(true);
    vi.advanceTimersByTime(1000);
    reporter.settle();
    expect(sent).toEqual([['0.4', 0.4, 3, false]]);
  });
});
