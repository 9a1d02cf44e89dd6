/**
 * `store.overview`: read-only views across the tables for operators and metrics. `queueStats` counts
 * jobs per queue and status (the queue-depth gauges, `GET /queues`); `read` is what the status page
 * shows, in one short read-only transaction: the latest failures, the supervisors of the fleet with
 * their heartbeats, and thread lifecycle events of the last hour. The status page polls it every
 * couple of seconds, so every query is bounded (see sql/overview.ts) and the whole read shares one
 * statement timeout.
 */
import type { QueueStats } from '../types.ts';
import { settle, withTimeout, type StoreEngine } from './engine.ts';
import { readFinishedHistory, type FinishedHistory } from './history.ts';
import { toQueueStats } from './rows.ts';
import { overviewSql } from './sql/overview.ts';
import type { SqlClient, SqlRow } from './types.ts';
import { checkCount, invalidJob } from './validate.ts';

/** A job whose latest attempt failed (awaiting retry) or that is dead. */
interface FailedJobSummary {
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
interface SupervisorSummary {
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
interface WorkerEventSummary {
  readonly supervisor: string;
  readonly pool: string;
  readonly workerId: string;
  readonly event: string;
  readonly count: number;
  readonly lastAt: Date;
  readonly reasons: string;
}

/** `store.overview.read()`. */
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
async function readOverview(client: SqlClient, limit: number, timeoutMs: number): Promise<StoreOverview> {
  return client.transaction(async (tx) => {
    const failures = await tx.query(overviewSql.recentFailures, [limit]);
    const supervisors = await tx.query(overviewSql.supervisors, [limit]);
    const workerEvents = await tx.query(overviewSql.workerEventsLastHour, [limit]);
    return { failures: failures.map(toFailure), supervisors: supervisors.map(toSupervisor), workerEvents: workerEvents.map(toWorkerEvent) };
  }, { statementTimeoutMs: timeoutMs });
}

/** `store.overview`: read-only views across the tables for operators and metrics (queue counts, the status page). */
export class OverviewFacet {
  readonly #engine: StoreEngine;

  /** @internal Built by JobStore.open. */
  constructor(engine: StoreEngine) {
    this.#engine = engine;
  }

  /** Counts per queue and status in one query; `timeoutMs` bounds it (`PITBOSS_STORE_TIMEOUT`). */
  queueStats(options: { timeoutMs?: number } = {}): Promise<QueueStats[]> {
    return settle(() => {
      this.#engine.open('queueStats');
      const timeoutMs = options.timeoutMs === undefined ? null : checkCount('timeoutMs', options.timeoutMs, 1);
      const { client, health } = this.#engine;
      const run = async (): Promise<QueueStats[]> => {
        // pg enforces the timeout server-side (the scan is cancelled, not just abandoned); the timer
        // below is the backstop, and the only guard on PGlite, which cannot interrupt a statement.
        const rows = timeoutMs === null
          ? await client.query(overviewSql.queueStats)
          : await client.transaction((tx) => tx.query(overviewSql.queueStats), { statementTimeoutMs: timeoutMs });
        return rows.map(toQueueStats);
      };
      return health.once('queueStats', () => (timeoutMs === null ? run() : withTimeout(run(), timeoutMs, 'queueStats')));
    });
  }

  /**
   * What operators look at: the latest failed and dead jobs, the fleet's supervisors with their
   * heartbeats and running jobs, and thread lifecycle events of the last hour (up to `limit` rows
   * each, default 20), read in one transaction bounded by `timeoutMs` (default 2000).
   */
  read(options: { limit?: number; timeoutMs?: number } = {}): Promise<StoreOverview> {
    return settle(() => {
      this.#engine.open('overview');
      const limit = checkCount('limit', options.limit ?? 20, 1);
      const timeoutMs = checkCount('timeoutMs', options.timeoutMs ?? 2000, 1);
      return this.#engine.health.once('overview', () => withTimeout(readOverview(this.#engine.client, limit, timeoutMs), timeoutMs, 'overview'));
    });
  }

  /**
   * Jobs finished per queue and minute over the last hour: completed, failed, p50/p95 duration (the
   * status page's charts). `since` skips minutes the caller already holds; `closedOnly` stops at the
   * last minute that is over; each half of the read takes at most `cap` rows (default 20 000; see
   * `capped`); one transaction bounded by `timeoutMs` (default 2000).
   */
  history(options: { since?: Date | null; closedOnly?: boolean; cap?: number; timeoutMs?: number } = {}): Promise<FinishedHistory> {
    return settle(() => {
      this.#engine.open('history');
      const since = options.since ?? null;
      if (since !== null && !(since instanceof Date && Number.isFinite(since.getTime()))) throw invalidJob('since', 'must be a valid Date or null');
      const read = { since, closedOnly: options.closedOnly === true, cap: checkCount('cap', options.cap ?? 20_000, 1), timeoutMs: checkCount('timeoutMs', options.timeoutMs ?? 2000, 1) };
      return this.#engine.health.once('history', () => withTimeout(readFinishedHistory(this.#engine.client, read), read.timeoutMs, 'history'));
    });
  }
}
