/**
 * SQL of retention: bounded deletes of expired rows (finished jobs with their actions by cascade,
 * thread lifecycle rows, long-silent supervisors). Each deletes at most `limit` rows, oldest first,
 * and skips rows another pruner holds; the `jobs_finished` partial index (migration 2) keeps the
 * job delete off the live rows.
 */

export const retentionSql = {
  /** $1 status, $2 age in ms, $3 limit. */
  jobs: `
WITH doomed AS (
  SELECT id FROM jobs
  WHERE status = $1::text AND finished_at < now() - $2::float8 * interval '1 millisecond'
  ORDER BY finished_at LIMIT $3::int
  FOR UPDATE SKIP LOCKED
), deleted AS (
  DELETE FROM jobs j USING doomed WHERE j.id = doomed.id RETURNING 1
)
SELECT count(*)::int AS n FROM deleted`,
  workerEvents: `
WITH doomed AS (
  SELECT id FROM worker_events
  WHERE at < now() - $1::float8 * interval '1 millisecond'
  ORDER BY at LIMIT $2::int
  FOR UPDATE SKIP LOCKED
), deleted AS (
  DELETE FROM worker_events w USING doomed WHERE w.id = doomed.id RETURNING 1
)
SELECT count(*)::int AS n FROM deleted`,
  /** A supervisor silent that long runs nothing (its jobs were requeued long ago), but check anyway. */
  supervisors: `
WITH deleted AS (
  DELETE FROM supervisors s
  WHERE s.heartbeat_at < now() - $1::float8 * interval '1 millisecond'
    AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.status = 'running' AND split_part(j.claimed_by, '/', 1) = s.id)
  RETURNING 1
)
SELECT count(*)::int AS n FROM deleted`,
} as const;
