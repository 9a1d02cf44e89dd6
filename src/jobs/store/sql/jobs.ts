/**
 * SQL of the jobs table group (`jobs`, `job_actions`): the group-committed writes (enqueue, claim,
 * finish, actions), reads of one job, cancel, what the reconciler hands back to dispatch, and the
 * orphan sweep. Each table group has its own module here (fleet.ts, settings.ts, overview.ts,
 * retention.ts), plain TypeScript strings, so `dist/` needs no asset copying; the schema and its
 * migrations are in ../schema.ts.
 *
 * Batched statements take one array per column and `unnest` them: one round trip and one plan
 * however many rows, and no 65 535-parameter ceiling. Ids are selected as `id::text` because pg
 * returns bigint as a string and PGlite as a number; counts and nanosecond durations are cast to
 * int / float8 for the same reason.
 */

const jobColumnNames = [
  'queue', 'name', 'payload', 'status', 'priority', 'attempts', 'max_attempts', 'backoff_type', 'backoff_delay_ms', 'run_at',
  'claimed_by', 'idempotency_key', 'correlation_id', 'traceparent', 'tracestate', 'created_at', 'started_at', 'finished_at', 'result', 'error',
  'timeout_ms', 'progress',
];
const enqueuedColumnNames = ['queue', 'name', 'priority', 'max_attempts', 'backoff_type', 'backoff_delay_ms', 'run_at', 'status'];
/** The id (as text) and `names`, optionally qualified by a table alias. */
const columnList = (names: readonly string[], alias = ''): string => [`${alias}id::text AS id`, ...names.map((c) => alias + c)].join(', ');
/** The columns of a JobRecord. */
const jobColumns = columnList(jobColumnNames);
const qualifiedJobColumns = columnList(jobColumnNames, 'j.');
/** The columns of an EnqueuedJob. */
const enqueuedColumns = columnList(enqueuedColumnNames);
const qualifiedEnqueuedColumns = columnList(enqueuedColumnNames, 'j.');
const claimedColumns = `j.id::text AS id, j.queue, j.name, j.payload, j.attempts, j.max_attempts, j.backoff_type,
  j.backoff_delay_ms, j.correlation_id, j.traceparent, j.tracestate, j.created_at, j.run_at, j.timeout_ms`;

/**
 * The hot batched writes, shared by their first-try and retry statements. Each must find its rows
 * by primary key whatever the planner believes about the table, so the state checks sit inside a
 * CASE, which the planner cannot turn into an index condition or match to a partial index. Written
 * as plain conditions, they let it scan jobs_claimable (every due job) or jobs_running instead when
 * its statistics were older than the backlog: measured with 20 k queued jobs not yet analysed, a
 * 10-row claim took 4.0 ms (it read all 20 k) against 0.2 ms by key.
 *
 * Also, one statement per first try and one per retry rather than a "retry?" parameter: with the
 * flag, Postgres planned afresh on every execution (a custom plan could drop the retry branch, so it
 * always looked cheaper than the generic plan). Measured on the reference machine, claim + finish of
 * B rows each, 60 k jobs: backend CPU per job 89–95 µs at B = 10 and 114 at B = 100 before, 42 and
 * 27–29 once the generic plan is used. Postgres switches to it after five executions when a batch is
 * about 10 rows or more (it costs the generic plan for 10); smaller batches keep custom plans, which
 * only happens at light load. A generic plan made while the table was still small would be a
 * sequential scan kept until the table is next analysed: the store's Postgres connections rule that
 * out (plannerSettings in pg-client.ts).
 *
 * A claim refuses rows of a paused queue: the lookup sits inside the CASE too, so it stays a subplan
 * run per claimable row (a probe of paused_queues, usually empty) instead of becoming a join the
 * planner could reorder; it also makes every claim hold the lock a pause waits on (sql/queues.ts).
 */
const claimWrite = `
WITH v AS (
  SELECT * FROM unnest($1::bigint[], $2::text[], $3::uuid[], $4::int[]) AS v(id, claimed_by, token, ord)
), claimed AS (
  UPDATE jobs j
  SET status = 'running', attempts = j.attempts + 1, claimed_by = v.claimed_by, attempt_id = v.token,
      started_at = now(), updated_at = now(), progress = NULL
  FROM v
  WHERE j.id = v.id AND CASE WHEN j.status IN ('queued', 'failed')
    THEN j.run_at <= now() AND NOT EXISTS (SELECT 1 FROM paused_queues p WHERE p.queue = j.queue) END
  RETURNING v.ord, ${claimedColumns}
)`;

const finishWrite = `
WITH v AS (
  SELECT * FROM unnest($1::bigint[], $2::int[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::int[])
    AS v(id, attempt, status, result, error, retry_at, ord)
), finished AS (
  UPDATE jobs j
  SET status = v.status,
      attempts = CASE WHEN v.status = 'queued' THEN j.attempts - 1 ELSE j.attempts END,
      result = CASE WHEN v.status = 'completed' THEN v.result::jsonb END,
      error = CASE WHEN v.status = 'completed' THEN NULL WHEN v.status = 'queued' THEN j.error ELSE v.error::jsonb END,
      run_at = CASE WHEN v.status IN ('failed', 'queued') THEN v.retry_at ELSE j.run_at END,
      finished_at = CASE WHEN v.status IN ('failed', 'queued') THEN NULL ELSE now() END,
      updated_at = now()
  FROM v
  WHERE j.id = v.id AND CASE WHEN j.status = 'running' THEN j.attempts = v.attempt END
  RETURNING v.ord
)`;

const actionsInsert = `
INSERT INTO job_actions (job_id, attempt, action, status, duration_ns, error, at)
SELECT v.job_id, v.attempt, v.action, v.status, v.duration_ns, v.error, v.at
FROM unnest($1::bigint[], $2::int[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::timestamptz[])
  AS v(job_id, attempt, action, status, duration_ns, error, at)`;

export const jobSql = {
  /** Ids are taken ahead of the insert so a retried batch re-sends the same ids and cannot duplicate rows. */
  allocateIds: "SELECT nextval('jobs_id_seq')::text AS id FROM generate_series(1, $1::int)",

  enqueue: `
INSERT INTO jobs (id, queue, name, payload, priority, max_attempts, backoff_type, backoff_delay_ms, run_at,
                  idempotency_key, correlation_id, traceparent, tracestate, timeout_ms)
SELECT v.id, v.queue, v.name, v.payload::jsonb, v.priority, v.max_attempts, v.backoff_type, v.backoff_delay_ms,
       now() + v.delay_ms * interval '1 millisecond', v.idempotency_key, v.correlation_id, v.traceparent, v.tracestate, v.timeout_ms
FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::int[], $6::int[], $7::text[], $8::int[],
            $9::float8[], $10::text[], $11::text[], $12::text[], $13::text[], $14::int[])
  AS v(id, queue, name, payload, priority, max_attempts, backoff_type, backoff_delay_ms, delay_ms,
       idempotency_key, correlation_id, traceparent, tracestate, timeout_ms)
ON CONFLICT DO NOTHING
RETURNING ${enqueuedColumns}`,

  /**
   * Rows the insert skipped: an idempotency key already taken (by an older job, an earlier row of
   * the same batch, or a concurrent writer), or our own id already committed by a try whose reply
   * was lost. Runs as a new statement so it sees rows committed after the insert's snapshot. Two
   * index lookups (by id, by jobs_idempotency) in a UNION: as one WHERE with OR, Postgres could only
   * answer it by scanning the table.
   */
  enqueueExisting: `
SELECT ${enqueuedColumns}, idempotency_key, true AS own
FROM jobs WHERE id = ANY($1::bigint[])
UNION
SELECT ${qualifiedEnqueuedColumns}, j.idempotency_key, j.id = ANY($1::bigint[]) AS own
FROM unnest($2::text[], $3::text[]) AS k(queue, idempotency_key)
JOIN jobs j ON j.queue = k.queue AND j.idempotency_key = k.idempotency_key
WHERE j.idempotency_key IS NOT NULL`,

  /**
   * One claim per row of v; `ord` says which caller won. The first try of a batch runs `claim`;
   * a retry runs `claimRetry`, which also returns as a win a row already claimed with this
   * caller's token (the first try committed, its reply was lost). Two statements rather than one
   * with a "retry?" parameter: with the flag, Postgres re-planned the statement on every execution
   * — see the note on `claimWrite`.
   */
  claim: `${claimWrite}
SELECT * FROM claimed`,

  claimRetry: `${claimWrite}
SELECT * FROM claimed
UNION ALL
SELECT v.ord, ${claimedColumns}
FROM jobs j JOIN v ON j.id = v.id
WHERE CASE WHEN j.status = 'running' THEN j.attempt_id = v.token END`,

  /**
   * Fenced by attempt: only the attempt that is still running may end it. A cancelled job or one
   * requeued and claimed again no longer matches, so a stale attempt's write changes nothing. A
   * retry (`finishRetry`) also accepts rows already in that state at that attempt. Status 'queued'
   * is a release: the attempt is handed back uncharged (attempts - 1), to be claimed again.
   */
  finish: `${finishWrite}
SELECT ord FROM finished`,

  finishRetry: `${finishWrite}
SELECT ord FROM finished
UNION ALL
SELECT v.ord FROM jobs j JOIN v ON j.id = v.id
WHERE CASE WHEN j.status = v.status THEN j.attempts = v.attempt - CASE WHEN v.status = 'queued' THEN 1 ELSE 0 END END`,

  insertActions: actionsInsert,

  /** On a retry, rows a lost-reply try already wrote are skipped (job_actions_job makes the probe cheap). */
  insertActionsRetry: `${actionsInsert}
WHERE NOT EXISTS (
  SELECT 1 FROM job_actions a
  WHERE a.job_id = v.job_id AND a.attempt = v.attempt AND a.at = v.at AND a.action = v.action AND a.duration_ns = v.duration_ns
)`,


  get: `
SELECT ${qualifiedJobColumns},
  (SELECT coalesce(jsonb_agg(jsonb_build_object('jobId', a.job_id::text, 'attempt', a.attempt, 'action', a.action,
            'status', a.status, 'duration', a.duration_ns, 'error', a.error) ORDER BY a.at, a.id), '[]'::jsonb)
   FROM job_actions a WHERE a.job_id = j.id) AS actions
FROM jobs j WHERE j.id = $1::bigint`,

  /** Cancels a live job, or returns a finished one unchanged, in one round trip. */
  cancel: `
WITH cancelled AS (
  UPDATE jobs SET status = 'cancelled', finished_at = now(), updated_at = now()
  WHERE id = $1::bigint AND status IN ('queued', 'failed', 'running')
  RETURNING ${jobColumns}
)
SELECT * FROM cancelled
UNION ALL
SELECT ${jobColumns} FROM jobs WHERE id = $1::bigint AND NOT EXISTS (SELECT 1 FROM cancelled)`,


  /** Waiting rows untouched for `olderThanMs` (dispatch had its chance), oldest due first. */
  claimable: `
SELECT id::text AS id, queue, name, priority, max_attempts, backoff_type, backoff_delay_ms,
  GREATEST(0, CEIL(EXTRACT(EPOCH FROM (run_at - now())) * 1000))::float8 AS delay_ms
FROM jobs
WHERE status IN ('queued', 'failed') AND updated_at <= now() - $1::float8 * interval '1 millisecond'
  AND ($3::text[] IS NULL OR queue = ANY($3::text[]))
  -- A paused queue's jobs would only be refused at claim: they wait in the store until it resumes.
  AND NOT EXISTS (SELECT 1 FROM paused_queues p WHERE p.queue = jobs.queue)
ORDER BY run_at, id
LIMIT $2::int`,

  countClaimable: "SELECT count(*)::int AS n FROM jobs WHERE queue = $1 AND status IN ('queued', 'failed')",

  /**
   * Running rows whose claimer went silent for `ttl`: its supervisor's heartbeat expired, or it
   * never heartbeated and the attempt is older than `ttl`. Also rows a live supervisor ($4) claimed
   * more than $5 ms ago and is not running ($6): a claim whose reply never reached it, or a finish
   * it gave up writing. The lost attempt already counts, so the job is queued again or, with
   * attempts exhausted, dead. SKIP LOCKED lets every supervisor of a fleet run this at once.
   */
  requeueOrphans: `
WITH orphan AS (
  SELECT j.id FROM jobs j
  LEFT JOIN supervisors s ON s.id = split_part(j.claimed_by, '/', 1)
  WHERE j.status = 'running'
    AND (coalesce(s.heartbeat_at, j.started_at) < now() - $1::float8 * interval '1 millisecond'
      -- A supervisor starting under an id it had before (a fixed PITBOSS_SUPERVISOR_ID) runs
      -- nothing yet: whatever is claimed under that id belongs to its previous life.
      OR split_part(j.claimed_by, '/', 1) = $3::text
      OR (split_part(j.claimed_by, '/', 1) = $4::text AND j.started_at < now() - $5::float8 * interval '1 millisecond'
        AND NOT (j.id = ANY($6::bigint[]))))
  ORDER BY j.id
  LIMIT $2::int
  FOR UPDATE OF j SKIP LOCKED
)
UPDATE jobs j
SET status = CASE WHEN j.attempts >= j.max_attempts THEN 'dead' ELSE 'queued' END,
    finished_at = CASE WHEN j.attempts >= j.max_attempts THEN now() END,
    run_at = now(), updated_at = now(),
    error = jsonb_build_object('type', 'Stalled',
      'message', 'claimer ' || coalesce(j.claimed_by, '(none)') || CASE WHEN split_part(j.claimed_by, '/', 1) = $4::text
        THEN ' lost track of attempt ' ELSE ' stopped heartbeating during attempt ' END || j.attempts)
FROM orphan o
WHERE j.id = o.id AND j.status = 'running'
RETURNING ${qualifiedJobColumns}`,
} as const;

