/**
 * The history cache and the depth sampler as pure logic (the store read is a stand-in here; the
 * real read is covered by test/jobs/store/conformance-history.ts and test/http/status-history.test.ts):
 * minutes that are over are read once and kept, later reads ask only from where the kept ones end,
 * viewers within the shared window get one read, a failing read keeps what was kept and says why,
 * and depth samples land in their minute.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { FinishedHistory, FinishedMinute } from '../../src/jobs/store/history.ts';
import type { QueueStats } from '../../src/jobs/types.ts';
import { QueueDepthSampler } from '../../src/http/queue-depth-sampler.ts';
import { FinishedHistoryCache } from '../../src/http/status-history.ts';

const MINUTE = 60_000;
const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const row = (minute: number, completed: number, failed = 0): FinishedMinute => ({ queue: 'q', minute: new Date(minute), completed, failed, p50Ms: completed > 0 ? 5 : null, p95Ms: completed > 0 ? 9 : null });
const stats = (queue: string, queued: number, running: number, failed = 0): QueueStats => ({ queue, queued, running, failed, completed: 0, dead: 0, cancelled: 0 });

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('FinishedHistoryCache', () => {
  it('reads the hour once, then only from the first minute that was not over', async () => {
    vi.setSystemTime(T0 + 10_000);
    const calls: (number | null)[] = [];
    let answer: FinishedMinute[] = [row(T0 - 10 * MINUTE, 4, 1), row(T0 - MINUTE, 2), row(T0, 1)];
    const finished = async (since: Date | null): Promise<FinishedHistory> => {
      calls.push(since === null ? null : since.getTime());
      const now = new Date(Date.now());
      return { now, windowStart: new Date(Math.floor(now.getTime() / MINUTE) * MINUTE - 59 * MINUTE), minutes: answer.filter((r) => since === null || r.minute >= since) };
    };
    const cache = new FinishedHistoryCache({ finished, depth: new QueueDepthSampler(async () => []), knownQueues: ['q', 'idle'] });

    const first = await cache.read();
    expect(calls).toEqual([null]);
    expect(first.from).toBe(new Date(T0 - 59 * MINUTE).toISOString());
    const q = first.queues.find((x) => x.queue === 'q')!;
    expect([q.completed[49], q.failed[49], q.completed[58], q.completed[59], q.p50Ms[59]]).toEqual([4, 1, 2, 1, 5]);
    expect(first.queues.map((x) => x.queue)).toEqual(['idle', 'q']);

    // Within the shared window every viewer gets the same read.
    expect(await cache.read()).toBe(first);
    expect(calls).toHaveLength(1);

    // 10 s after 12:00 the minute 11:59 is not over yet (15 s of settling); 50 s after, it is.
    vi.setSystemTime(T0 + 50_000);
    answer = [...answer.slice(0, 2), row(T0, 3)];
    const second = await cache.read();
    expect(calls).toEqual([null, T0 - MINUTE]);
    vi.setSystemTime(T0 + 80_000);
    const third = await cache.read();
    expect(calls).toEqual([null, T0 - MINUTE, T0]);
    const q3 = third.queues.find((x) => x.queue === 'q')!;
    // The window moved on a minute: 12:00 is now the one before last.
    expect([q3.completed[48], q3.completed[57], q3.completed[58], q3.completed[59]]).toEqual([4, 2, 3, 0]);
    expect(second.problems).toEqual([]);
  });

  it('keeps the minutes it holds and names the problem when a read fails', async () => {
    vi.setSystemTime(T0 + 40_000);
    let fail = false;
    const finished = async (): Promise<FinishedHistory> => {
      if (fail) throw new Error('connect ECONNREFUSED postgres://app:secret@db:5432/jobs');
      return { now: new Date(Date.now()), windowStart: new Date(T0 - 59 * MINUTE), minutes: [row(T0 - 5 * MINUTE, 7)] };
    };
    const cache = new FinishedHistoryCache({ finished, depth: new QueueDepthSampler(async () => []), knownQueues: ['q'] });
    await cache.read();
    fail = true;
    vi.setSystemTime(T0 + 50_000);
    const after = await cache.read();
    expect(after.problems).toHaveLength(1);
    expect(after.problems[0]).toMatch(/^finished-job history unavailable: connect ECONNREFUSED/);
    expect(after.problems[0]).not.toContain('secret');
    expect(after.queues[0]!.completed[54]).toBe(7);
  });

  it('does not keep a read that filled the row limit, and says the charts are partial', async () => {
    vi.setSystemTime(T0 + 40_000);
    const calls: (Date | null)[] = [];
    const finished = async (since: Date | null): Promise<FinishedHistory> => {
      calls.push(since);
      return { now: new Date(Date.now()), windowStart: new Date(T0 - 59 * MINUTE), minutes: [row(T0 - 3 * MINUTE, 1), row(T0 - 2 * MINUTE, 1)] };
    };
    const cache = new FinishedHistoryCache({ finished, depth: new QueueDepthSampler(async () => []), knownQueues: [], rowLimit: 2 });
    expect((await cache.read()).problems).toEqual(['more queue-minutes finished than one history read returns: the charts show part of them']);
    vi.setSystemTime(T0 + 50_000);
    await cache.read();
    expect(calls).toEqual([null, null]);
  });
});

describe('QueueDepthSampler', () => {
  it('keeps the last sample of each minute for an hour: waiting (queued + awaiting retry) and running', async () => {
    const sampler = new QueueDepthSampler(async () => []);
    sampler.record([stats('a', 3, 1, 2)], T0 + 1_000);
    sampler.record([stats('a', 5, 2), stats('b', 1, 0)], T0 + 50_000);
    sampler.record([stats('a', 9, 0)], T0 + 2 * MINUTE);
    expect(sampler.series('a', T0, 3)).toEqual({ waiting: [5, null, 9], running: [2, null, 0] });
    expect(sampler.series('b', T0, 3)).toEqual({ waiting: [1, null, null], running: [0, null, null] });
    expect([...sampler.queues()].sort()).toEqual(['a', 'b']);
    sampler.record([stats('a', 1, 1)], T0 + 62 * MINUTE);
    expect(sampler.series('a', T0, 3)).toEqual({ waiting: [null, null, 9], running: [null, null, 0] });
  });

  it('samples on start by itself, and a failed read leaves a gap', async () => {
    vi.setSystemTime(T0);
    let fail = false;
    const sampler = new QueueDepthSampler(async () => {
      if (fail) throw new Error('down');
      return [stats('a', 2, 1)];
    });
    sampler.start();
    await vi.waitFor(() => expect(sampler.series('a', T0, 1).waiting).toEqual([2]));
    sampler.stop();
    fail = true;
    vi.setSystemTime(T0 + MINUTE);
    sampler.start();
    await new Promise((resolve) => setTimeout(resolve, 10));
    sampler.stop();
    expect(sampler.series('a', T0, 2).waiting).toEqual([2, null]);
  });
});
