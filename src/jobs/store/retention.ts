/**
 * Retention: deleting what the store no longer needs to keep — finished jobs (with their action
 * rows, by cascade) past their status's age, thread lifecycle rows, and supervisors long silent.
 * Each statement deletes at most `limit` rows, oldest first, and skips rows another pruner holds,
 * so several supervisors pruning at once neither wait on each other nor hold long transactions.
 * The `jobs_finished` partial index (migration 2) keeps each statement off the live rows.
 */
import type { Telemetry } from '../../telemetry/bus.ts';
import type { PruneCounts, RetentionPolicy } from '../types.ts';
import type { SqlBackend, SqlClient } from './types.ts';
import { invalidJob } from './validate.ts';

const retentionSql = {
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

/** Checks a policy, naming the offending field. */
export function checkRetention(policy: RetentionPolicy): RetentionPolicy {
  if (typeof policy !== 'object' || policy === null) throw invalidJob('retention', 'must be an object');
  for (const field of ['completedMs', 'deadMs', 'cancelledMs', 'fleetHistoryMs'] as const) {
    const value = policy[field];
    if (value !== null && !(Number.isSafeInteger(value) && value > 0)) {
      throw invalidJob(`retention.${field}`, `must be a positive integer of ms or null (keep for ever), got ${String(value)}`);
    }
  }
  if (!(Number.isSafeInteger(policy.limit) && policy.limit > 0)) throw invalidJob('retention.limit', `must be a positive integer, got ${String(policy.limit)}`);
  return policy;
}

/**
 * Deletes one bounded batch of each kind of expired row. Each delete that removed rows is a store
 * write like any other: a `store.flush` with kind `prune_<kind>` (prune_completed, prune_worker_events, …).
 */
export async function prune(client: SqlClient, bus: Telemetry, backend: SqlBackend, policy: RetentionPolicy): Promise<PruneCounts> {
  const count = async (kind: string, ageMs: number | null, sql: string, params: (ageMs: number) => unknown[]): Promise<number> => {
    if (ageMs === null) return 0;
    const started = performance.now();
    const [row] = await client.query<{ n: number }>(sql, params(ageMs));
    const rows = Number(row?.n ?? 0);
    if (rows > 0) bus.execute('store.flush', { rows, duration: Math.round((performance.now() - started) * 1e6) }, { backend, kind: `prune_${kind}` });
    return rows;
  };
  const { limit } = policy;
  return {
    completed: await count('completed', policy.completedMs, retentionSql.jobs, (ms) => ['completed', ms, limit]),
    dead: await count('dead', policy.deadMs, retentionSql.jobs, (ms) => ['dead', ms, limit]),
    cancelled: await count('cancelled', policy.cancelledMs, retentionSql.jobs, (ms) => ['cancelled', ms, limit]),
    workerEvents: await count('worker_events', policy.fleetHistoryMs, retentionSql.workerEvents, (ms) => [ms, limit]),
    supervisors: await count('supervisors', policy.fleetHistoryMs, retentionSql.supervisors, (ms) => [ms]),
  };
}
