/**
 * `store.search`: the operator's view of the jobs table — pages of jobs newest first by keyset on
 * (created_at, id), and retries (redrive) of dead, failed or cancelled jobs, one or in bounded
 * batches. Arguments are checked here and rejected with typed errors naming the field; statements
 * are in sql/search.ts, indexes in migration 8.
 */
import { Buffer } from 'node:buffer';
import type { JobRecord, JobStatus } from '../types.ts';
import { settle, type StoreEngine } from './engine.ts';
import { toJobRecord } from './rows.ts';
import { listStatement, searchSql, type ListFilter } from './sql/search.ts';
import type { SqlRow } from './types.ts';
import { invalidJob, isJobId } from './validate.ts';

const statuses: readonly JobStatus[] = ['queued', 'running', 'completed', 'failed', 'dead', 'cancelled'];
/** States a job can be retried from. */
export const retryableStatuses = ['dead', 'failed', 'cancelled'] as const;
/** Page size of `list` by default and at most. */
export const LIST_LIMIT = { default: 50, max: 500 } as const;
/** Rows one retry batch moves: one short transaction each. */
const RETRY_BATCH = 500;
const cursorAtShape = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

/** A job as a listing shows it: its row without payload and result (see `GET /jobs/:id` for those). */
export interface JobSummary {
  readonly id: string;
  readonly queue: string;
  readonly name: string;
  readonly status: JobStatus;
  readonly priority: number;
  readonly attempts: number;
  readonly maxAttempts: number;
  readonly runAt: Date;
  readonly createdAt: Date;
  readonly startedAt: Date | null;
  readonly finishedAt: Date | null;
  readonly updatedAt: Date;
  readonly error: { readonly type: string; readonly message: string } | null;
  readonly correlationId: string | null;
  readonly traceparent: string | null;
}

/** What `list` filters on: every field optional; `since`/`until` bound `createdAt` (since inclusive, until exclusive). */
export interface JobListQuery {
  readonly queue?: string;
  readonly status?: JobStatus;
  readonly name?: string;
  readonly since?: Date;
  readonly until?: Date;
  /** Page size, 1..500 (default 50). */
  readonly limit?: number;
  /** `next` of the previous page. */
  readonly cursor?: string;
}

/** One page, newest first; `next` continues after its last row, null at the end. */
export interface JobPage {
  readonly jobs: readonly JobSummary[];
  readonly next: string | null;
}

/** Which jobs a bulk retry moves: `status` is required; `since` bounds their last update (finish). */
export interface RetryFilter {
  readonly status: (typeof retryableStatuses)[number];
  readonly queue?: string;
  readonly name?: string;
  /** `error.type` of the last attempt, e.g. `TypeError`. */
  readonly errorType?: string;
  readonly since?: Date;
  /** At most this many jobs (default 1000, at most 100 000). */
  readonly limit?: number;
}

/** What a retry did to one job: `retried` false when it was in a state that cannot be retried. */
export interface RetryOutcome {
  readonly job: JobRecord;
  readonly previousStatus: JobStatus;
  readonly retried: boolean;
}

/** Bulk retry bounds. */
const RETRY_LIMIT = { default: 1_000, max: 100_000 } as const;

const text = (field: string, value: unknown, max = 128): string | null => {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || value === '' || value.length > max) throw invalidJob(field, `must be a non-empty string of at most ${max} characters`);
  return value;
};
const time = (field: string, value: unknown): string | null => {
  if (value === undefined || value === null) return null;
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) throw invalidJob(field, 'must be a valid Date');
  return value.toISOString();
};
const bounded = (field: string, value: unknown, bounds: { default: number; max: number }): number => {
  if (value === undefined) return bounds.default;
  if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > bounds.max) throw invalidJob(field, `must be an integer in 1..${bounds.max}, got ${String(value)}`);
  return value as number;
};

/** An opaque page cursor: the (created_at to the microsecond, id) of the last row shown. */
const encodeCursor = (at: string, id: string): string => Buffer.from(`${at}|${id}`).toString('base64url');
function decodeCursor(cursor: unknown): { at: string; id: string } | null {
  if (cursor === undefined || cursor === null) return null;
  const [at, id, ...rest] = typeof cursor === 'string' ? Buffer.from(cursor, 'base64url').toString('utf8').split('|') : [];
  if (rest.length > 0 || at === undefined || !cursorAtShape.test(at) || !isJobId(id)) throw invalidJob('cursor', 'is not a cursor this API returned');
  return { at, id };
}

function toSummary(row: SqlRow): JobSummary {
  const record = toJobRecord(row);
  return {
    id: record.id, queue: record.queue, name: record.name, status: record.status, priority: record.priority, attempts: record.attempts,
    maxAttempts: record.maxAttempts, runAt: record.runAt, createdAt: record.createdAt, startedAt: record.startedAt, finishedAt: record.finishedAt,
    updatedAt: row.updated_at instanceof Date ? row.updated_at : new Date(String(row.updated_at)),
    error: record.error, correlationId: record.correlationId, traceparent: record.traceparent,
  };
}

/** `store.search`: list jobs by filter, newest first, and retry dead, failed or cancelled ones. */
export class SearchFacet {
  readonly #engine: StoreEngine;

  /** @internal Built by JobStore.open. */
  constructor(engine: StoreEngine) {
    this.#engine = engine;
  }

  /** A page of jobs matching `query`, newest first. */
  list(query: JobListQuery = {}): Promise<JobPage> {
    return settle(() => {
      this.#engine.open('list');
      if (query.status !== undefined && !statuses.includes(query.status)) throw invalidJob('status', `must be one of ${statuses.join(', ')}`);
      const filter: ListFilter = {
        queue: text('queue', query.queue), status: query.status ?? null, name: text('name', query.name),
        since: time('since', query.since), until: time('until', query.until), cursor: decodeCursor(query.cursor),
        limit: bounded('limit', query.limit, LIST_LIMIT),
      };
      // One row more than the page says whether there is a next page, without a count.
      const { text: sql, params } = listStatement({ ...filter, limit: filter.limit + 1 });
      return this.#engine.health.once('list', async () => {
        const rows = await this.#engine.client.query(sql, params);
        const page = rows.slice(0, filter.limit);
        const last = page.at(-1);
        const next = rows.length > filter.limit && last !== undefined ? encodeCursor(String(last.cursor_at), String(last.id)) : null;
        return { jobs: page.map(toSummary), next };
      });
    });
  }

  /**
   * Puts a dead, failed or cancelled job back to queued as a new attempt, due now; null for an
   * unknown id. A job in any other state comes back unchanged with `retried: false`.
   */
  retry(id: string): Promise<RetryOutcome | null> {
    return settle(() => {
      this.#engine.open('retry');
      if (!isJobId(id)) return Promise.resolve(null);
      // Retried after a lost reply, the statement finds the job queued and says retried: false;
      // so it runs once, as a write (`write` does not repeat it).
      return this.#engine.health.write('retry', async () => {
        const [row] = await this.#engine.client.query(searchSql.retryOne, [id]);
        return row === undefined ? null : { job: toJobRecord(row), previousStatus: row.previous_status as JobStatus, retried: row.retried === true };
      });
    });
  }

  /**
   * Retries up to `filter.limit` jobs matching the filter, in batches of 500 rows (one short
   * transaction each); `onBatch` gets each batch's jobs as soon as it commits (to dispatch them).
   */
  retryWhere(filter: RetryFilter, onBatch: (outcomes: readonly RetryOutcome[]) => Promise<void>): Promise<number> {
    return settle(async () => {
      this.#engine.open('retryWhere');
      if (typeof filter !== 'object' || filter === null || !retryableStatuses.includes(filter.status)) {
        throw invalidJob('state', `must be one of ${retryableStatuses.join(', ')}`);
      }
      const rest = [text('queue', filter.queue), text('name', filter.name), text('errorType', filter.errorType, 200), time('since', filter.since)];
      const limit = bounded('limit', filter.limit, RETRY_LIMIT);
      let after = { at: '-infinity', id: '0' };
      let total = 0;
      while (total < limit) {
        const size = Math.min(RETRY_BATCH, limit - total);
        const rows = await this.#engine.health.write('retryWhere', () => this.#engine.client.query(searchSql.retryBatch, [filter.status, after.at, after.id, size, ...rest]));
        if (rows.length === 0) break;
        total += rows.length;
        for (const row of rows) {
          const candidate = { at: String(row.cursor_at), id: String(row.id) };
          if (after.at === '-infinity' || candidate.at > after.at || (candidate.at === after.at && BigInt(candidate.id) > BigInt(after.id))) after = candidate;
        }
        await onBatch(rows.map((row) => ({ job: toJobRecord(row), previousStatus: row.previous_status as JobStatus, retried: true })));
        if (rows.length < size) break;
      }
      return total;
    });
  }
}
