/**
 * SQL of the paused queues (`paused_queues`: one row per paused queue), and the NOTIFY channel a
 * pause or resume is announced on.
 *
 * A pause first takes an ACCESS EXCLUSIVE lock on `paused_queues`. Every claim reads the table (see
 * `claimWrite` in jobs.ts), so it holds ACCESS SHARE on it until it commits: the lock waits for the
 * claims already under way, and holds back new ones until the pause commits. A claim that waited
 * takes its snapshot after it got the lock, so it sees the new row. Hence, once a pause has
 * committed, no claim of that queue can commit, whichever supervisor runs it. Only the claims wait
 * (and only for the length of the pause's transaction); enqueue and finish never read this table.
 */

export const queueSql = {
  lock: 'LOCK TABLE paused_queues IN ACCESS EXCLUSIVE MODE',
  /** One row back when this call paused the queue; none when it was paused already. */
  pause: 'INSERT INTO paused_queues (queue) VALUES ($1) ON CONFLICT DO NOTHING RETURNING queue',
  /** One row back when this call resumed the queue; none when it was not paused. */
  resume: 'DELETE FROM paused_queues WHERE queue = $1 RETURNING queue',
  list: 'SELECT queue FROM paused_queues ORDER BY queue',
  /** Delivered at commit; the payload names the schema so stores in other schemas of one database ignore it. */
  notify: "SELECT pg_notify($1, json_build_object('schema', current_schema(), 'queue', $2::text, 'paused', $3::boolean)::text)",
} as const;

/** The NOTIFY channel pauses and resumes are announced on (a contract between the supervisors of a fleet). */
export const queuesChannel = 'pitboss_queues';
