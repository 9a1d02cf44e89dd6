/**
 * Read-only SQL for operators: per-queue counts (the metrics gauges and `GET /queues`), and the
 * views of the status page (the Grafana dashboard's SQL panels follow the same shapes). Each view
 * is bounded by `LIMIT $1` and stays on an index or a small table: failed/dead rows via the partial
 * jobs_failures index (newest first, no sort), running rows via the partial jobs_running index,
 * worker_events via worker_events_at.
 */

export const overviewSql = {
  /** Counts per queue and status in one scan. */
  queueStats: `
SELECT queue,
  count(*) FILTER (WHERE status = 'queued')::int AS queued,
  count(*) FILTER (WHERE status = 'running')::int AS running,
  count(*) FILTER (WHERE status = 'failed')::int AS failed,
  count(*) FILTER (WHERE status = 'completed')::int AS completed,
  count(*) FILTER (WHERE status = 'dead')::int AS dead,
  count(*) FILTER (WHERE status = 'cancelled')::int AS cancelled
FROM jobs GROUP BY queue ORDER BY queue`,

  /** The latest failed and dead jobs. */
  recentFailures: `
SELECT id::text AS id, queue, name, status, attempts, max_attempts, error, updated_at
FROM jobs WHERE status IN ('failed', 'dead')
ORDER BY updated_at DESC, jobs.id DESC LIMIT $1::int`,

  /** Supervisors heard from in the last day, with how many jobs each has running now. */
  supervisors: `
SELECT s.id, s.host, s.pid, s.started_at, s.heartbeat_at, s.stopped_at IS NOT NULL AS stopped,
  (EXTRACT(EPOCH FROM (now() - s.heartbeat_at)) * 1000)::float8 AS heartbeat_age_ms,
  (SELECT count(*)::int FROM jobs j WHERE j.status = 'running' AND split_part(j.claimed_by, '/', 1) = s.id) AS running
FROM supervisors s
WHERE s.heartbeat_at > now() - interval '1 day'
ORDER BY s.heartbeat_at DESC, s.id LIMIT $1::int`,

  /** Thread lifecycle events of the last hour across the fleet, per thread slot and kind. */
  workerEventsLastHour: `
SELECT supervisor, pool, worker_id, event, count(*)::int AS count, max(at) AS last_at,
  string_agg(DISTINCT coalesce(reason, ''), ', ') AS reasons
FROM worker_events WHERE at > now() - interval '1 hour'
GROUP BY supervisor, pool, worker_id, event
ORDER BY last_at DESC LIMIT $1::int`,
} as const;
