/**
 * The status page's charts of the last hour, per queue and minute: jobs completed and failed, and
 * the p50/p95 duration of the completed ones. Both halves range-scan an index the store already
 * keeps for other reads, in time order (no new index, so the finish path writes nothing more):
 * completed rows by jobs_finished (status, finished_at), failed and dead rows by jobs_failures
 * (updated_at DESC, read backwards); a failed attempt clears finished_at (it will run again), so
 * its updated_at is when it failed.
 *
 * A job counts once, by the state it is in now: a job that failed once and then completed counts as
 * completed in the minute it completed. The duration is the completing attempt's, started_at to
 * finished_at (both the database's clock).
 *
 * Cost: each half reads at most `$2` rows (the oldest from `$1`), so one statement's work is
 * bounded whatever the job rate; `capped` says the cap was reached and the last minute read is
 * incomplete. `$1` never reaches back past the start of the minute an hour ago. The closed variant
 * stops at the last minute that ended SETTLE_SECONDS ago (its rows will not change: a finish is
 * stamped with its transaction's start and a group-committed batch commits a little later), so a
 * caller can keep those minutes and never read them again (status-history.ts); the open variant
 * reads on to now.
 */
const SETTLE_SECONDS = 15;
const windowStart = `date_trunc('minute', now()) - interval '59 minutes'`;
const closedUntil = `date_trunc('minute', now() - interval '${SETTLE_SECONDS} seconds')`;

function perQueueMinute(closed: boolean): string {
  const upper = (column: string) => (closed ? `AND ${column} < ${closedUntil}` : '');
  return `
WITH completed AS (
  SELECT queue, finished_at AS at, EXTRACT(EPOCH FROM (finished_at - started_at)) * 1000 AS ms
  FROM jobs
  WHERE status = 'completed' AND finished_at >= GREATEST($1::timestamptz, ${windowStart}) ${upper('finished_at')}
  ORDER BY finished_at LIMIT $2::int
), failed AS (
  SELECT queue, updated_at AS at
  FROM jobs
  WHERE status IN ('failed', 'dead') AND updated_at >= GREATEST($1::timestamptz, ${windowStart}) ${upper('updated_at')}
  ORDER BY updated_at LIMIT $2::int
), finished AS (
  SELECT queue, at, ms FROM completed
  UNION ALL
  SELECT queue, at, NULL FROM failed
)
SELECT queue, date_trunc('minute', at) AS minute,
  count(ms)::int AS completed,
  (count(*) - count(ms))::int AS failed,
  percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS p50_ms,
  percentile_cont(0.95) WITHIN GROUP (ORDER BY ms) AS p95_ms,
  (SELECT count(*) FROM completed) >= $2::int OR (SELECT count(*) FROM failed) >= $2::int AS capped
FROM finished
GROUP BY queue, minute
ORDER BY minute, queue`;
}

export const historySql = {
  clock: `SELECT now() AS now, ${windowStart} AS window_start, ${closedUntil} AS closed_until`,
  closedMinutes: perQueueMinute(true),
  openMinutes: perQueueMinute(false),
} as const;
