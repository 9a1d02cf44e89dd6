/**
 * The status page's charts of the last hour, per queue and minute: jobs completed and failed, and
 * the p50/p95 duration of the completed ones. Both halves range-scan an index the store already
 * keeps for other reads (no new index, so the finish path writes nothing more): completed rows by
 * jobs_finished (status, finished_at), failed and dead rows by jobs_failures (updated_at DESC); a
 * failed attempt clears finished_at (it will run again), so its updated_at is when it failed.
 *
 * A job counts once, by the state it is in now: a job that failed once and then completed counts as
 * completed in the minute it completed. The duration is the completing attempt's, started_at to
 * finished_at (both the database's clock).
 *
 * `$1` is where the caller's cache ends (null: nothing cached); the window never reaches back past
 * the start of the minute an hour ago, so one read scans at most an hour of finished jobs and a
 * caller that caches closed minutes (status-history.ts) rescans only the last one or two.
 */
export const historySql = {
  now: `SELECT now() AS now, date_trunc('minute', now()) - interval '59 minutes' AS window_start`,

  perQueueMinute: `
WITH finished AS (
  SELECT queue, finished_at AS at, EXTRACT(EPOCH FROM (finished_at - started_at)) * 1000 AS ms, true AS completed
  FROM jobs
  WHERE status = 'completed' AND finished_at >= GREATEST($1::timestamptz, date_trunc('minute', now()) - interval '59 minutes')
  UNION ALL
  SELECT queue, updated_at, NULL, false
  FROM jobs
  WHERE status IN ('failed', 'dead') AND updated_at >= GREATEST($1::timestamptz, date_trunc('minute', now()) - interval '59 minutes')
)
SELECT queue, date_trunc('minute', at) AS minute,
  count(*) FILTER (WHERE completed)::int AS completed,
  count(*) FILTER (WHERE NOT completed)::int AS failed,
  percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS p50_ms,
  percentile_cont(0.95) WITHIN GROUP (ORDER BY ms) AS p95_ms
FROM finished
GROUP BY queue, minute
ORDER BY queue, minute
LIMIT $2::int`,
} as const;
