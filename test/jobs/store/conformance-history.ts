/**
 * Store conformance, the charts' read: `store.overview.history` counts jobs finished per queue and
 * minute over the last hour (completed by finished_at; failed and dead by when their last attempt
 * failed), with the p50/p95 duration of the completed ones, honours `since`, `closedOnly` and
 * `cap` (the oldest rows first, and says when it stopped there), and leaves
 * out what is older than the hour, cancelled, or still to run. Rows are finished through the store,
 * then backdated through the side door to known minutes (the database's clock).
 */
import { describe, expect, it } from 'vitest';
import type { FinishedMinute } from '../../../src/jobs/store/history.ts';
import type { JobStore } from '../../../src/jobs/store/store.ts';
import { uniqueQueue, type StoreHarness } from './harness.ts';

const boom = { type: 'Error', message: 'boom' };
const MINUTE = 60_000;

export function storeHistoryConformance(harness: () => StoreHarness): void {
  describe('finished-job history (the status page charts)', () => {
    /** Runs one job to `status` through the store and moves its timestamps to `finishedAt` (ms) after `durationMs`. */
    async function finished(store: JobStore, queue: string, status: 'completed' | 'failed' | 'dead' | 'cancelled', finishedAt: number, durationMs = 0): Promise<void> {
      const [job] = await store.jobs.enqueue([{ queue, name: 'h', maxAttempts: 2 }]);
      const id = job!.id;
      if (status === 'cancelled') await store.jobs.cancel(id);
      else {
        await store.jobs.claim(id, 's/p');
        if (status === 'completed') await store.jobs.finish({ id, attempt: 1, status, result: null });
        else if (status === 'failed') await store.jobs.finish({ id, attempt: 1, status, error: boom, retryAt: new Date(Date.now() + 3_600_000) });
        else await store.jobs.finish({ id, attempt: 1, status, error: boom });
      }
      await harness().sql(
        `UPDATE jobs SET started_at = $2::timestamptz - $3::float8 * interval '1 millisecond', updated_at = $2::timestamptz,
           finished_at = CASE WHEN finished_at IS NULL THEN NULL ELSE $2::timestamptz END WHERE id = $1::bigint`,
        [id, new Date(finishedAt), durationMs],
      );
    }

    const currentMinute = async (): Promise<number> => {
      const [row] = await harness().sql<{ m: Date | string }>(`SELECT date_trunc('minute', now()) AS m`);
      return new Date(row!.m).getTime();
    };
    const mine = (rows: readonly FinishedMinute[], queue: string) => rows.filter((r) => r.queue === queue)
      .map((r) => ({ minute: r.minute.getTime(), completed: r.completed, failed: r.failed, p50Ms: r.p50Ms, p95Ms: r.p95Ms }));

    it('counts completed and failed jobs per queue and minute, with p50/p95 of the completed durations', async () => {
      const store = await harness().open();
      const [q, other] = [uniqueQueue(), uniqueQueue()];
      const now = await currentMinute();
      const m10 = now - 10 * MINUTE;
      const m5 = now - 5 * MINUTE;
      for (const ms of [100, 200, 1000]) await finished(store, q, 'completed', m10 + 20_000, ms);
      await finished(store, q, 'dead', m10 + 40_000);
      await finished(store, q, 'failed', m5 + 1_000);
      await finished(store, q, 'completed', now - 2 * MINUTE + 5_000, 50);
      await finished(store, q, 'completed', now - 2 * 3_600_000, 10); // two hours ago: outside the window
      await finished(store, q, 'cancelled', m5 + 2_000); // cancelled: neither completed nor failed
      await store.jobs.enqueue([{ queue: q, name: 'waiting' }]); // not finished
      await finished(store, other, 'completed', m10 + 1_000, 7);

      const history = await store.overview.history({ timeoutMs: 10_000 });
      expect(history.now.getTime()).toBeGreaterThanOrEqual(now);
      expect(history.windowStart.getTime()).toBe(Math.floor(history.now.getTime() / MINUTE) * MINUTE - 59 * MINUTE);
      expect(mine(history.minutes, q)).toEqual([
        { minute: m10, completed: 3, failed: 1, p50Ms: 200, p95Ms: 920 },
        { minute: m5, completed: 0, failed: 1, p50Ms: null, p95Ms: null },
        { minute: now - 2 * MINUTE, completed: 1, failed: 0, p50Ms: 50, p95Ms: 50 },
      ]);
      expect(mine(history.minutes, other)).toEqual([{ minute: m10, completed: 1, failed: 0, p50Ms: 7, p95Ms: 7 }]);

      expect(history.capped).toBe(false);

      // `since` skips the minutes a caller already holds.
      const recent = await store.overview.history({ since: new Date(m5) });
      expect(mine(recent.minutes, q).map((r) => r.minute)).toEqual([m5, now - 2 * MINUTE]);
      expect(mine(recent.minutes, other)).toEqual([]);
      // A `since` before the window is the window.
      expect(mine((await store.overview.history({ since: new Date(now - 5 * 3_600_000) })).minutes, q)).toHaveLength(3);

      // `closedOnly` stops before the minute that ended less than 15 s ago: this one is still open.
      await finished(store, q, 'completed', now, 5);
      expect(mine((await store.overview.history()).minutes, q).map((r) => r.minute)).toEqual([m10, m5, now - 2 * MINUTE, now]);
      const closed = await store.overview.history({ closedOnly: true });
      expect(closed.closedUntil.getTime()).toBe(Math.floor((closed.now.getTime() - 15_000) / MINUTE) * MINUTE);
      expect(mine(closed.minutes, q).map((r) => r.minute)).toEqual([m10, m5, now - 2 * MINUTE]);
    });

    it('reads at most `cap` rows of each kind, the oldest first, and says so; refuses bad arguments with a typed error', async () => {
      const store = await harness().open();
      const q = uniqueQueue();
      const now = await currentMinute();
      // Other tests' jobs share the database: these are backdated to where no other test puts any.
      for (let i = 53; i >= 51; i--) await finished(store, q, 'completed', now - i * MINUTE + 1_000, 5);
      await finished(store, q, 'dead', now - 53 * MINUTE + 2_000);
      const since = new Date(now - 54 * MINUTE);
      const capped = await store.overview.history({ since, cap: 2 });
      expect(capped.capped).toBe(true);
      expect(mine(capped.minutes, q).map((r) => [r.minute, r.completed, r.failed])).toEqual([[now - 53 * MINUTE, 1, 1], [now - 52 * MINUTE, 1, 0]]);
      const uncapped = await store.overview.history({ since, cap: 100_000 });
      expect(uncapped.capped).toBe(false);
      expect(mine(uncapped.minutes, q).map((r) => r.completed)).toEqual([1, 1, 1]);
      await expect(store.overview.history({ cap: 0 })).rejects.toMatchObject({ code: 'PITBOSS_INVALID_JOB', field: 'cap' });
      await expect(store.overview.history({ since: new Date(Number.NaN) })).rejects.toMatchObject({ code: 'PITBOSS_INVALID_JOB', field: 'since' });
    });
  });
}
