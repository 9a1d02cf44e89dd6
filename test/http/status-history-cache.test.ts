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

/**
 * A stand-in for the store's read with its semantics (sql/history.ts): minutes from `since` (never
 * before the window), up to the settled boundary when `closedOnly`, at most `cap` rows of the
 * finished jobs in `jobs` (each { at, completed }), the oldest first.
 */
function fakeStore(jobs: { at: number; completed: boolean }[], cap = 1000) {
  const calls: { since: number | null; closedOnly: boolean }[] = [];
  let fail = false;
  const finished = async ({ since, closedOnly }: { since: Date | null; closedOnly: boolean }): Promise<FinishedHistory> => {
    calls.push({ since: since === null ? null : since.getTime(), closedOnly });
    if (fail) throw new Error('connect ECONNREFUSED postgres://app:secret@db:5432/jobs');
    const now = Date.now();
    const windowStart = Math.floor(now / MINUTE) * MINUTE - 59 * MINUTE;
    const closedUntil = Math.floor((now - 15_000) / MINUTE) * MINUTE;
    const from = Math.max(since?.getTime() ?? windowStart, windowStart);
    const pick = (completed: boolean) => jobs.filter((j) => j.completed === completed && j.at >= from && j.at <= now && (!closedOnly || j.at < closedUntil))
      .sort((a, b) => a.at - b.at).slice(0, cap);
    const [done, failed] = [pick(true), pick(false)];
    const minutes = new Map<number, { completed: number; failed: number }>();
    for (const j of [...done, ...failed]) {
      const m = Math.floor(j.at / MINUTE) * MINUTE;
      const counts = minutes.get(m) ?? { completed: 0, failed: 0 };
      if (j.completed) counts.completed += 1;
      else counts.failed += 1;
      minutes.set(m, counts);
    }
    return {
      now: new Date(now), windowStart: new Date(windowStart), closedUntil: new Date(closedUntil), capped: done.length >= cap || failed.length >= cap,
      minutes: [...minutes].sort(([a], [b]) => a - b).map(([m, c]) => row(m, c.completed, c.failed)),
    };
  };
  return { finished, calls, failNext: (value: boolean) => { fail = value; } };
}
const jobsAt = (at: number, n: number, completed = true) => Array.from({ length: n }, (_, i) => ({ at: at + i, completed }));

describe('FinishedHistoryCache', () => {
  it('reads the minutes that are over once, and only the minutes since every time', async () => {
    vi.setSystemTime(T0 + 10_000);
    const jobs = [...jobsAt(T0 - 10 * MINUTE, 4), ...jobsAt(T0 - 10 * MINUTE + 5, 1, false), ...jobsAt(T0 - MINUTE, 2), ...jobsAt(T0, 1)];
    const store = fakeStore(jobs);
    const cache = new FinishedHistoryCache({ finished: store.finished, depth: new QueueDepthSampler(async () => []), knownQueues: ['q', 'idle'] });

    const first = await cache.read();
    // 10 s after 12:00 the minute 11:59 is not over yet (15 s of settling): kept up to 11:59, read on from there.
    expect(store.calls).toEqual([{ since: null, closedOnly: true }, { since: T0 - MINUTE, closedOnly: false }]);
    expect(first.from).toBe(new Date(T0 - 59 * MINUTE).toISOString());
    const q = first.queues.find((x) => x.queue === 'q')!;
    expect([q.completed[49], q.failed[49], q.completed[58], q.completed[59], q.p50Ms[59]]).toEqual([4, 1, 2, 1, 5]);
    expect(first.queues.map((x) => x.queue)).toEqual(['idle', 'q']);
    expect([first.partial, first.problems]).toEqual([[], []]);

    // Within the shared window every viewer gets the same read.
    expect(await cache.read()).toBe(first);
    expect(store.calls).toHaveLength(2);

    vi.setSystemTime(T0 + 50_000);
    jobs.push(...jobsAt(T0 + 40_000, 2));
    const second = await cache.read();
    expect(store.calls.slice(2)).toEqual([{ since: T0 - MINUTE, closedOnly: true }, { since: T0, closedOnly: false }]);
    expect(second.queues.find((x) => x.queue === 'q')!.completed.slice(48)).toEqual([0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 2, 3]);

    vi.setSystemTime(T0 + 80_000);
    const third = await cache.read();
    // 65 s after 12:00 its minute is over too: kept, and read on from 12:01.
    expect(store.calls.slice(4)).toEqual([{ since: T0, closedOnly: true }, { since: T0 + MINUTE, closedOnly: false }]);
    // The window moved on a minute: 12:00 is now the one before last.
    expect(third.queues.find((x) => x.queue === 'q')!.completed.slice(47)).toEqual([0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 2, 3, 0]);
  });

  it('catches up on the hour a cap at a time, oldest first, and says so meanwhile', async () => {
    vi.setSystemTime(T0 + 30_000);
    const store = fakeStore([...jobsAt(T0 - 30 * MINUTE, 3), ...jobsAt(T0 - 20 * MINUTE, 3), ...jobsAt(T0 - 10 * MINUTE, 3), ...jobsAt(T0, 1)], 4);
    const cache = new FinishedHistoryCache({ finished: store.finished, depth: new QueueDepthSampler(async () => []), knownQueues: ['q'] });
    const first = await cache.read();
    // The cap (4) stopped inside 11:40: 11:30 is kept, 11:40 is read again next time, nothing after it yet.
    expect(store.calls).toEqual([{ since: null, closedOnly: true }]);
    expect(first.problems).toEqual(['catching up on the hour\'s finished jobs: minutes from 11:40 UTC are not counted yet']);
    expect(first.queues[0]!.completed.filter((n) => n > 0)).toEqual([3]);
    vi.setSystemTime(T0 + 40_000);
    await cache.read();
    vi.setSystemTime(T0 + 50_000);
    const caughtUp = await cache.read();
    expect(store.calls.map((c) => c.since)).toEqual([null, T0 - 20 * MINUTE, T0 - 10 * MINUTE, T0]);
    expect(caughtUp.problems).toEqual([]);
    expect(caughtUp.queues[0]!.completed.filter((n) => n > 0)).toEqual([3, 3, 3, 1]);
  });

  it('keeps a minute that alone holds more than a read takes, marked as counted in part', async () => {
    vi.setSystemTime(T0 + 30_000);
    const store = fakeStore([...jobsAt(T0 - 5 * MINUTE, 6), ...jobsAt(T0 - 2 * MINUTE, 1)], 4);
    const cache = new FinishedHistoryCache({ finished: store.finished, depth: new QueueDepthSampler(async () => []), knownQueues: ['q'] });
    await cache.read(); // capped inside 11:55 after nothing before it: catching up stops there
    vi.setSystemTime(T0 + 40_000);
    const next = await cache.read();
    expect(next.partial).toEqual([54]);
    expect(next.problems).toEqual(['more jobs finished in some minutes than one read counts: those minutes are counted in part']);
    expect(next.queues[0]!.completed.filter((n) => n > 0)).toEqual([4]);
    vi.setSystemTime(T0 + 50_000);
    const after = await cache.read();
    expect(after.queues[0]!.completed.filter((n) => n > 0)).toEqual([4, 1]);
    expect(after.partial).toEqual([54]);
  });

  it('keeps the minutes it holds and names the problem (without secrets) when a read fails', async () => {
    vi.setSystemTime(T0 + 40_000);
    const store = fakeStore(jobsAt(T0 - 5 * MINUTE, 7));
    const cache = new FinishedHistoryCache({ finished: store.finished, depth: new QueueDepthSampler(async () => []), knownQueues: ['q'] });
    await cache.read();
    store.failNext(true);
    vi.setSystemTime(T0 + 50_000);
    const after = await cache.read();
    expect(after.problems).toHaveLength(1);
    expect(after.problems[0]).toMatch(/^finished-job history unavailable: connect ECONNREFUSED/);
    expect(after.problems[0]).not.toContain('secret');
    expect(after.queues[0]!.completed[54]).toBe(7);
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
