/**
 * SQL of job progress (`ctx.progress`): one statement writes the newest value of many jobs. Apart
 * from sql/jobs.ts because it is not on the claim/finish path: it touches only `progress`, never
 * `status`, `updated_at` or an index column, so Postgres can make it a HOT update.
 */
export const progressSql = {
  /**
   * Fenced by attempt, not by status: a value of attempt N lands while the row is at attempt N,
   * even after that attempt finished (the last report of a task travels with its answer and may
   * commit after the finish), and never once attempt N + 1 claimed the row (claim clears progress).
   */
  write: `
UPDATE jobs j SET progress = v.progress::jsonb
FROM unnest($1::bigint[], $2::int[], $3::text[]) AS v(id, attempt, progress)
WHERE j.id = v.id AND j.attempts = v.attempt`,
} as const;
