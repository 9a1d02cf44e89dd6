/**
 * `store.retention`: deleting what the store no longer needs to keep — finished jobs (with their
 * action rows, by cascade) past their status's age, thread lifecycle rows, and supervisors long
 * silent. Each statement deletes at most `limit` rows, oldest first, and skips rows another pruner
 * holds, so several supervisors pruning at once neither wait on each other nor hold long
 * transactions. The `jobs_finished` partial index (migration 2) keeps each statement off the live
 * rows. Statements are in sql/retention.ts.
 */
import type { Telemetry } from '../../telemetry/bus.ts';
import type { PruneCounts, RetentionPolicy } from '../types.ts';
import { settle, type StoreEngine } from './engine.ts';
import { retentionSql } from './sql/retention.ts';
import type { SqlBackend, SqlClient } from './types.ts';
import { invalidJob } from './validate.ts';

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
async function prune(client: SqlClient, bus: Telemetry, backend: SqlBackend, policy: RetentionPolicy): Promise<PruneCounts> {
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

/** `store.retention`: deletes finished jobs and fleet history older than the retention policy. */
export class RetentionFacet {
  readonly #engine: StoreEngine;

  /** @internal Built by JobStore.open. */
  constructor(engine: StoreEngine) {
    this.#engine = engine;
  }

  /**
   * Deletes one bounded batch (`policy.limit` per kind) of expired rows: finished jobs past their
   * status's age with their actions, old thread lifecycle rows, long-silent supervisors. Call again
   * while a kind comes back full; the job system does this on a timer (`retention`).
   */
  prune(policy: RetentionPolicy): Promise<PruneCounts> {
    return settle(() => {
      this.#engine.open('prune');
      const checked = checkRetention(policy);
      const { client, bus, health } = this.#engine;
      return health.write('prune', () => prune(client, bus, client.backend, checked));
    });
  }
}
