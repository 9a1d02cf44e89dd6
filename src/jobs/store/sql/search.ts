/**
 * SQL of the operator's job surface: listing jobs newest first by keyset, and retrying (redriving)
 * dead, failed or cancelled jobs, one or a filtered batch at a time. The list statement is built
 * from the filters actually given, so each combination gets its own plan on its own index
 * (migration 8): with `($1 IS NULL OR queue = $1)` placeholders, one generic plan would serve every
 * combination and none of them well.
 */

/** The columns of a listed job: everything but payload and result, which can be 256 KiB each. */
const listedColumns = `id::text AS id, queue, name, status, priority, attempts, max_attempts, run_at, created_at,
  started_at, finished_at, updated_at, error, correlation_id, traceparent,
  to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor_at`;

/** What a listing filters on (all optional); `cursor` is the (created_at, id) of the last row of the previous page. */
export interface ListFilter {
  readonly queue: string | null;
  readonly status: string | null;
  readonly name: string | null;
  readonly since: string | null;
  readonly until: string | null;
  readonly cursor: { readonly at: string; readonly id: string } | null;
  readonly limit: number;
}

/** One statement and its parameters for a page of `filter`, newest first. */
export function listStatement(filter: ListFilter): { text: string; params: unknown[] } {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (condition: (placeholder: string) => string, value: unknown): void => {
    params.push(value);
    where.push(condition(`$${params.length}`));
  };
  if (filter.queue !== null) add((p) => `queue = ${p}::text`, filter.queue);
  if (filter.status !== null) add((p) => `status = ${p}::text`, filter.status);
  if (filter.name !== null) add((p) => `name = ${p}::text`, filter.name);
  if (filter.since !== null) add((p) => `created_at >= ${p}::timestamptz`, filter.since);
  if (filter.until !== null) add((p) => `created_at < ${p}::timestamptz`, filter.until);
  if (filter.cursor !== null) {
    params.push(filter.cursor.at, filter.cursor.id);
    // A row comparison: one index condition on (created_at, id), so a deep page starts where the last ended.
    where.push(`(created_at, id) < ($${params.length - 1}::timestamptz, $${params.length}::bigint)`);
  }
  params.push(filter.limit);
  // ORDER BY names the table's columns: a bare `id` would be the output's id::text, sorted as text, by a Sort.
  const text = `SELECT ${listedColumns} FROM jobs${where.length === 0 ? '' : ` WHERE ${where.join(' AND ')}`}
ORDER BY jobs.created_at DESC, jobs.id DESC LIMIT $${params.length}::int`;
  return { text, params };
}

/** The job as it stood, and whether this call moved it: a retry of a retryable job or of any other. */
const retryReturning = `j.id::text AS id, j.queue, j.name, j.payload, j.status, j.priority, j.attempts, j.max_attempts,
  j.backoff_type, j.backoff_delay_ms, j.run_at, j.claimed_by, j.idempotency_key, j.correlation_id, j.traceparent, j.tracestate,
  j.created_at, j.started_at, j.finished_at, j.result, j.error`;

/**
 * The new attempt: queued and due now, with one attempt more than it has used if it had used them
 * all. attempts, job_actions and the last error stay: the error is overwritten only when the next
 * attempt ends. finished_at goes, as it does for a job waiting to retry.
 */
const retrySet = `SET status = 'queued', run_at = now(), finished_at = NULL, updated_at = now(),
  max_attempts = GREATEST(j.max_attempts, j.attempts + 1)`;

export const searchSql = {
  /**
   * Locks the row first (FOR UPDATE), so of two concurrent retries the second waits, then reads the
   * first one's 'queued' and changes nothing: one new attempt. Returns the row either way, with
   * `retried` and the status it came from; no row for an unknown id.
   */
  retryOne: `
WITH target AS (
  SELECT id, status FROM jobs WHERE id = $1::bigint FOR UPDATE
), retried AS (
  UPDATE jobs j ${retrySet}
  FROM target t
  WHERE j.id = t.id AND t.status IN ('dead', 'failed', 'cancelled')
  RETURNING ${retryReturning}, t.status AS previous_status, true AS retried
)
SELECT * FROM retried
UNION ALL
SELECT ${retryReturning}, j.status AS previous_status, false AS retried
FROM jobs j JOIN target t ON j.id = t.id WHERE NOT EXISTS (SELECT 1 FROM retried)`,

  /**
   * One bounded batch of a bulk retry, oldest first by keyset (created_at, id) after ($2, $3) on
   * jobs_status_created, so a job that is retried, fails and dies again while the bulk retry still
   * runs is not picked twice. SKIP LOCKED: rows another retry (or a finishing attempt) holds are left
   * to it. $1 status, $4 limit, then optional queue, name, error type and since (null: any).
   */
  retryBatch: `
WITH picked AS (
  SELECT id, status, created_at FROM jobs
  WHERE status = $1::text AND (created_at, id) > ($2::timestamptz, $3::bigint)
    AND ($5::text IS NULL OR queue = $5::text) AND ($6::text IS NULL OR name = $6::text)
    AND ($7::text IS NULL OR error->>'type' = $7::text) AND ($8::timestamptz IS NULL OR updated_at >= $8::timestamptz)
  ORDER BY created_at, id
  LIMIT $4::int
  FOR UPDATE SKIP LOCKED
)
UPDATE jobs j ${retrySet}
FROM picked p
WHERE j.id = p.id
RETURNING ${retryReturning}, p.status AS previous_status,
  to_char(p.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor_at`,
} as const;
