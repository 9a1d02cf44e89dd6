/**
 * SQL of the fleet table group (`supervisors`, `worker_events`): heartbeats, who holds a supervisor
 * id, the queues the fleet consumes, a clean stop, and thread lifecycle rows (batched with `unnest`,
 * one array per column, like the job writes in jobs.ts).
 */

export const fleetSql = {
  insertWorkerEvents: `
INSERT INTO worker_events (supervisor, pool, worker_id, event, reason, at)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[])`,

  /**
   * A restarted process (new instance, pid or host) under the same id starts a new life. Returns who
   * wrote the row before this beat: another instance there, after this life's first beat, means a
   * second live process shares the id (see supervisor-life.ts).
   */
  heartbeat: `
WITH before AS (SELECT instance, host, pid FROM supervisors WHERE id = $1)
INSERT INTO supervisors AS s (id, host, pid, instance, queues) VALUES ($1, $2, $3, $4, $5::text[])
ON CONFLICT (id) DO UPDATE SET
  heartbeat_at = now(), host = EXCLUDED.host, pid = EXCLUDED.pid, instance = EXCLUDED.instance, queues = EXCLUDED.queues, stopped_at = NULL,
  started_at = CASE WHEN s.instance IS NOT DISTINCT FROM EXCLUDED.instance AND s.pid = EXCLUDED.pid AND s.host = EXCLUDED.host
    THEN s.started_at ELSE now() END
RETURNING (SELECT instance FROM before) AS previous_instance, (SELECT host FROM before) AS previous_host,
  (SELECT pid FROM before) AS previous_pid`,

  /** Who holds a supervisor id: its last beat (age by the database clock, and as a value to compare) and whether it stopped. */
  supervisor: `
SELECT host, pid, instance, stopped_at IS NOT NULL AS stopped,
  GREATEST(0, EXTRACT(EPOCH FROM (now() - heartbeat_at)) * 1000)::float8 AS age_ms,
  (EXTRACT(EPOCH FROM heartbeat_at) * 1000000)::float8 AS beat_us
FROM supervisors WHERE id = $1`,

  /**
   * Queues consumed by supervisors heard from within $1 ms, stopped ones included: a queue whose
   * consumers are restarting (a rolling deploy) is still the fleet's.
   */
  consumedQueues: `
SELECT DISTINCT q.queue FROM supervisors s, unnest(s.queues) AS q(queue)
WHERE s.heartbeat_at > now() - $1::float8 * interval '1 millisecond'
ORDER BY q.queue`,

  /** A life that stopped cleanly says so: a process starting under its id need not wait for its heartbeat to age. */
  supervisorStopped: 'UPDATE supervisors SET stopped_at = now() WHERE id = $1 AND instance = $2',
} as const;
