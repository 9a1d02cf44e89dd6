/**
 * SQL of the schedules table (migration 7). The heart is `fire`: one statement that moves a
 * schedule's cursor by compare-and-set and inserts the jobs of the ticks it covers. Under READ
 * COMMITTED, schedulers racing for one tick queue on the row lock; the first commits, and the
 * others' WHERE no longer matches the cursor they read, so they insert nothing. A tick's job thus
 * exists once whatever the number of supervisors, and the cursor only moves forward, so a tick
 * whose job retention has since deleted is never fired again. The idempotency key
 * `schedule:<name>:<tick>` says which schedule and tick made a job, and guards a second time.
 */

const scheduleColumns = `name, cron, timezone, queue, job_name, payload, missed, source, revision::text AS revision,
  cursor_at, last_fired_at, created_at, updated_at`;

export const scheduleSql = {
  /** Every schedule, with the database's clock (one row with a null name when there are none). */
  list: `
SELECT now() AS db_now, s.* FROM (SELECT 1) AS one
LEFT JOIN (SELECT ${scheduleColumns} FROM schedules) AS s ON true
ORDER BY s.name`,

  /**
   * Creates or replaces a schedule. A new one covers ticks up to now (its first tick is the next one).
   * Changing the expression or its zone restarts the cursor at now (the new expression's past ticks
   * are not "missed"); any change takes a new revision, which fences a pass that read the old one.
   * Upserting an unchanged definition (a deployment's, at each start) changes nothing, so the ticks
   * missed while it was down are still due.
   */
  upsert: `
WITH changed AS (
  INSERT INTO schedules AS s (name, cron, timezone, queue, job_name, payload, missed, source, cursor_at)
  VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, date_trunc('milliseconds', now()))
  ON CONFLICT (name) DO UPDATE SET
    cron = EXCLUDED.cron, timezone = EXCLUDED.timezone, queue = EXCLUDED.queue, job_name = EXCLUDED.job_name,
    payload = EXCLUDED.payload, missed = EXCLUDED.missed, source = EXCLUDED.source,
    cursor_at = CASE WHEN (s.cron, s.timezone) IS DISTINCT FROM (EXCLUDED.cron, EXCLUDED.timezone)
      THEN GREATEST(s.cursor_at, EXCLUDED.cursor_at) ELSE s.cursor_at END,
    revision = nextval('schedules_revision_seq'), updated_at = now()
  WHERE (s.cron, s.timezone, s.queue, s.job_name, s.payload, s.missed, s.source)
    IS DISTINCT FROM (EXCLUDED.cron, EXCLUDED.timezone, EXCLUDED.queue, EXCLUDED.job_name, EXCLUDED.payload, EXCLUDED.missed, EXCLUDED.source)
  RETURNING ${scheduleColumns}
)
SELECT now() AS db_now, * FROM changed
UNION ALL
SELECT now() AS db_now, ${scheduleColumns} FROM schedules WHERE name = $1 AND NOT EXISTS (SELECT 1 FROM changed)`,

  remove: 'DELETE FROM schedules WHERE name = $1 RETURNING name',

  /**
   * $1 name, $2 revision, $3 the cursor as read, $4 the new cursor, $5 the newest fired tick (null:
   * none), then one array entry per job: $6 idempotency keys, $7 correlation ids, $8 traceparents.
   * `advanced` is 0 when another scheduler moved the cursor first, or the schedule changed or went.
   */
  fire: `
WITH advanced AS (
  UPDATE schedules
  SET cursor_at = $4::timestamptz, last_fired_at = coalesce($5::timestamptz, last_fired_at)
  WHERE name = $1 AND revision = $2::bigint AND cursor_at = $3::timestamptz AND $4::timestamptz <= now()
  RETURNING queue, job_name, payload
), inserted AS (
  INSERT INTO jobs (queue, name, payload, idempotency_key, correlation_id, traceparent)
  SELECT a.queue, a.job_name, a.payload, t.key, t.correlation_id, t.traceparent
  FROM advanced a, unnest($6::text[], $7::text[], $8::text[]) WITH ORDINALITY AS t(key, correlation_id, traceparent, ord)
  ORDER BY t.ord
  ON CONFLICT DO NOTHING
  RETURNING id::text AS id, queue, name, priority, max_attempts, backoff_type, backoff_delay_ms, run_at, status, idempotency_key
)
SELECT n.advanced, i.* FROM (SELECT count(*)::int AS advanced FROM advanced) AS n
LEFT JOIN inserted i ON true`,
} as const;
