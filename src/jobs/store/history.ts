/**
 * `store.overview.history`: jobs finished per queue and minute over the last hour (see
 * sql/history.ts for what counts, which index serves it and how each read is bounded). Read in one
 * transaction with the database's clock, so the caller can tell which minutes are over by the clock
 * that stamped the rows.
 */
import { historySql } from './sql/history.ts';
import type { SqlClient, SqlRow } from './types.ts';

/** One queue's finished jobs in one minute. */
export interface FinishedMinute {
  readonly queue: string;
  /** The minute's start (database clock). */
  readonly minute: Date;
  readonly completed: number;
  /** Jobs now failed (awaiting a retry) or dead whose last attempt failed in this minute. */
  readonly failed: number;
  /** Median duration of the attempts that completed in this minute, ms; null when none did. */
  readonly p50Ms: number | null;
  readonly p95Ms: number | null;
}

/** `store.overview.history()`. */
export interface FinishedHistory {
  /** The database's clock when the read ran. */
  readonly now: Date;
  /** The first minute of the hour the read covers. */
  readonly windowStart: Date;
  /** Minutes before this one are over: their rows will not change. */
  readonly closedUntil: Date;
  /** Rows from `since` (or `windowStart`, whichever is later), by minute then queue. */
  readonly minutes: readonly FinishedMinute[];
  /**
   * The read stopped at its row cap: the latest minute it returned is incomplete (counted in part),
   * and later minutes were not read.
   */
  readonly capped: boolean;
}

const asDate = (value: unknown): Date => (value instanceof Date ? value : new Date(String(value)));
const msOrNull = (value: unknown): number | null => (value === null || value === undefined ? null : Math.round(Number(value) * 100) / 100);

const toMinute = (row: SqlRow): FinishedMinute => ({
  queue: String(row.queue), minute: asDate(row.minute), completed: Number(row.completed), failed: Number(row.failed),
  p50Ms: msOrNull(row.p50_ms), p95Ms: msOrNull(row.p95_ms),
});

export interface HistoryRead {
  readonly since: Date | null;
  /** Only minutes that are over (see `closedUntil`), or on to now. */
  readonly closedOnly: boolean;
  /** Rows each half (completed, failed) reads at most. */
  readonly cap: number;
  readonly timeoutMs: number;
}

/** Both statements in one transaction (one `now()`), bounded by `timeoutMs` server-side on Postgres. */
export async function readFinishedHistory(client: SqlClient, read: HistoryRead): Promise<FinishedHistory> {
  return client.transaction(async (tx) => {
    const [clock] = await tx.query(historySql.clock);
    const rows = await tx.query(read.closedOnly ? historySql.closedMinutes : historySql.openMinutes, [read.since, read.cap]);
    return {
      now: asDate(clock!.now), windowStart: asDate(clock!.window_start), closedUntil: asDate(clock!.closed_until),
      minutes: rows.map(toMinute), capped: rows.some((r) => r.capped === true),
    };
  }, { statementTimeoutMs: read.timeoutMs });
}
