/**
 * What an operator looks at, read from the store in one short read-only transaction: the latest
 * failures, the supervisors of the fleet with their heartbeats, and thread lifecycle events of the
 * last hour. The status page polls this every couple of seconds, so every query is bounded (see
 * `overviewSql`) and the whole read shares one statement timeout.
 */
import { overviewSql } from './sql.ts';
import type { SqlClient, SqlRow } from './types.ts';

/** A job whose latest attempt failed (awaiting retry) or that is dead. */
export interface FailedJobSummary {
  readonly id: string;
  readonly queue: string;
  readonly name: string;
  readonly status: 'failed' | 'dead';
  readonly attempts: number;
  readonly maxAttempts: number;
  readonly error: { readonly type: string; readonly message: string } | null;
  readonly updatedAt: Date;
}

/** A supervisor of the fleet as its heartbeats record it. */
export interface SupervisorSummary {
  readonly id: string;
  readonly host: string;
  readonly pid: number;
  readonly startedAt: Date;
  readonly heartbeatAt: Date;
  /** Age of the last heartbeat by the database clock (not this host's). */
  readonly heartbeatAgeMs: number;
  /** It stopped cleanly (drained and said so) after its last heartbeat. */
  readonly stopped: boolean;
  /** Jobs this supervisor has claimed and not finished. */
  readonly running: number;
}

/** Lifecycle events of one thread slot and kind in the last hour. */
export interface WorkerEventSummary {
  readonly supervisor: string;
  readonly pool: string;
  readonly workerId: string;
  readonly event: string;
  readonly count: number;
  readonly lastAt: Date;
  readonly reasons: string;
}

/** `JobStore.overview()`. */
export interface StoreOverview {
  readonly failures: readonly FailedJobSummary[];
  readonly supervisors: readonly SupervisorSummary[];
  readonly workerEvents: readonly WorkerEventSummary[];
}

const asDate = (value: unknown): Date => (value instanceof Date ? value : new Date(String(value)));

function errorOf(value: unknown): FailedJobSummary['error'] {
  if (value === null || typeof value !== 'object') return null;
  const { type, message } = value as Record<string, unknown>;
  return { type: String(type), message: String(message) };
}

const toFailure = (row: SqlRow): FailedJobSummary => ({
  id: String(row.id), queue: String(row.queue), name: String(row.name), status: row.status === 'dead' ? 'dead' : 'failed',
  attempts: Number(row.attempts), maxAttempts: Number(row.max_attempts), error: errorOf(row.error), updatedAt: asDate(row.updated_at),
});

const toSupervisor = (row: SqlRow): SupervisorSummary => ({
  id: String(row.id), host: String(row.host), pid: Number(row.pid), startedAt: asDate(row.started_at), heartbeatAt: asDate(row.heartbeat_at),
  heartbeatAgeMs: Math.max(0, Number(row.heartbeat_age_ms)), stopped: row.stopped === true, running: Number(row.running),
});

const toWorkerEvent = (row: SqlRow): WorkerEventSummary => ({
  supervisor: String(row.supervisor), pool: String(row.pool), workerId: String(row.worker_id), event: String(row.event),
  count: Number(row.count), lastAt: asDate(row.last_at), reasons: String(row.reasons ?? ''),
});

/** Runs the three reads in one transaction bounded by `timeoutMs` (server-side on Postgres). */
export async function readOverview(client: SqlClient, limit: number, timeoutMs: number): Promise<StoreOverview> {
  return client.transaction(async (tx) => {
    const failures = await tx.query(overviewSql.recentFailures, [limit]);
    const supervisors = await tx.query(overviewSql.supervisors, [limit]);
    const workerEvents = await tx.query(overviewSql.workerEventsLastHour, [limit]);
    return { failures: failures.map(toFailure), supervisors: supervisors.map(toSupervisor), workerEvents: workerEvents.map(toWorkerEvent) };
  }, { statementTimeoutMs: timeoutMs });
}
