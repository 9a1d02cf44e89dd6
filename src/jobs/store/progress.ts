/**
 * Writing job progress: the newest `ctx.progress` value of each running attempt, recorded on its
 * job row. Fire-and-forget like actions (a `keep` batcher: rows wait through an outage, only closing
 * the store drops them), with two differences that keep "the last value lands" true:
 *
 * - one flush in flight at a time, so two values of one job can never commit out of order;
 * - a batch keeps only the newest row per job: an UPDATE … FROM with two source rows for one target
 *   row applies one of them, and which one is unspecified.
 *
 * Threads send at most four reports a second per job (thread/progress.ts), so the store sees at
 * most that many rows per running job, fewer once batches coalesce them.
 */
import { Buffer } from 'node:buffer';
import type { Batcher } from './batcher.ts';
import type { StoreEngine } from './engine.ts';
import { progressSql } from './sql/progress.ts';
import type { SqlClient } from './types.ts';
import { isJobId } from './validate.ts';

/** Largest progress value the store takes, as JSON text in UTF-8 bytes (what the thread enforces too). */
const MAX_PROGRESS_BYTES = 1024;

/** One progress report (fixed shape); `json` is the value's JSON text. */
class ProgressRow {
  constructor(readonly jobId: string, readonly attempt: number, readonly json: string) {}
}

async function writeProgress(client: SqlClient, rows: readonly ProgressRow[]): Promise<null[]> {
  const newest = new Map<string, ProgressRow>();
  // Later rows replace earlier ones of the same job; attempts are compared by the statement's fence.
  for (const row of rows) newest.set(row.jobId, row);
  const kept = [...newest.values()];
  await client.query(progressSql.write, [kept.map((r) => r.jobId), kept.map((r) => r.attempt), kept.map((r) => r.json)]);
  return new Array<null>(rows.length).fill(null);
}

/** Records job progress (see the header). */
export class ProgressWriter {
  readonly #engine: StoreEngine;
  readonly #batcher: Batcher<ProgressRow, null>;

  constructor(engine: StoreEngine) {
    this.#engine = engine;
    const { client } = engine;
    this.#batcher = engine.batcher('progress', true, (rows) => writeProgress(client, rows), { maxInFlight: 1 });
  }

  /**
   * Records `json` (a JSON text of at most 1 KiB) as the progress of attempt `attempt` of a job.
   * Never throws or rejects: a malformed report, or a row the store cannot write, is counted in
   * `store.drops().progress`.
   */
  record(jobId: string, attempt: number, json: string): void {
    if (this.#engine.closed) return;
    if (!wellFormed(jobId, attempt, json)) return this.#batcher.refused(1);
    this.#batcher.push([new ProgressRow(jobId, attempt, json)]).catch(() => {});
  }
}

/** Whether a report can be stored: a job id, an attempt, and JSON text of at most 1 KiB without NUL (jsonb refuses it). */
function wellFormed(jobId: string, attempt: number, json: string): boolean {
  if (!isJobId(jobId) || !Number.isInteger(attempt) || attempt < 1 || typeof json !== 'string') return false;
  if (json.length > MAX_PROGRESS_BYTES && Buffer.byteLength(json, 'utf8') > MAX_PROGRESS_BYTES) return false;
  try {
    JSON.parse(json);
  } catch {
    return false;
  }
  return !json.includes('\\u0000');
}
