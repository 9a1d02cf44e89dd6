/**
 * The batched writes of the jobs table group: each turns a batch of rows into one statement (column arrays → `unnest`) and
 * its result rows back into one output per input row. Every write is safe to repeat after a try
 * whose reply was lost (the connection died after COMMIT): enqueue re-sends the same pre-allocated
 * ids, claim carries a per-caller token, finish accepts "already in that state at that attempt",
 * and actions skip rows already present.
 */
import { randomUUID } from 'node:crypto';
import type { ClaimedJob, EnqueuedJob, FinishInput } from '../types.ts';
import { toClaimed, toEnqueued } from './rows.ts';
import { jobSql } from './sql/jobs.ts';
import type { SqlClient } from './types.ts';
import type { PreparedJob } from './validate.ts';

/** Hands out job ids from blocks of `nextval`, so allocation costs a round trip per block, not per batch. */
export class IdAllocator {
  readonly #client: SqlClient;
  readonly #block: number;
  #ids: string[] = [];

  constructor(client: SqlClient, block = 2048) {
    this.#client = client;
    this.#block = block;
  }

  async assign(jobs: readonly PreparedJob[]): Promise<void> {
    const missing = jobs.reduce((n, job) => n + (job.id === null ? 1 : 0), 0);
    if (missing > this.#ids.length) {
      // At least `missing` new ids: a concurrent flush may take the cached ones while this one waits.
      const rows = await this.#client.query<{ id: string }>(jobSql.allocateIds, [Math.max(this.#block, missing)]);
      // Kept in descending order so pop() hands out the smallest first: ids follow enqueue order.
      this.#ids = [...rows.map((row) => String(row.id)).reverse(), ...this.#ids];
    }
    for (const job of jobs) if (job.id === null) job.id = this.#ids.pop()!;
  }
}

export async function writeJobs(client: SqlClient, ids: IdAllocator, jobs: readonly PreparedJob[]): Promise<EnqueuedJob[]> {
  await ids.assign(jobs);
  const n = jobs.length;
  const cols = { id: new Array<string>(n), queue: new Array<string>(n), name: new Array<string>(n), payload: new Array<string | null>(n),
    priority: new Array<number>(n), maxAttempts: new Array<number>(n), backoffType: new Array<string>(n), backoffDelay: new Array<number>(n),
    delay: new Array<number>(n), key: new Array<string | null>(n), correlation: new Array<string | null>(n), traceparent: new Array<string | null>(n),
    tracestate: new Array<string | null>(n), timeout: new Array<number | null>(n) };
  for (let i = 0; i < n; i++) {
    const job = jobs[i]!;
    cols.id[i] = job.id!; cols.queue[i] = job.queue; cols.name[i] = job.name; cols.payload[i] = job.payload;
    cols.priority[i] = job.priority; cols.maxAttempts[i] = job.maxAttempts; cols.backoffType[i] = job.backoff.type;
    cols.backoffDelay[i] = job.backoff.delayMs; cols.delay[i] = job.delayMs; cols.key[i] = job.idempotencyKey;
    cols.correlation[i] = job.correlationId; cols.traceparent[i] = job.traceparent; cols.tracestate[i] = job.tracestate;
    cols.timeout[i] = job.timeoutMs;
  }
  const inserted = await client.query(jobSql.enqueue, [cols.id, cols.queue, cols.name, cols.payload, cols.priority, cols.maxAttempts,
    cols.backoffType, cols.backoffDelay, cols.delay, cols.key, cols.correlation, cols.traceparent, cols.tracestate, cols.timeout]);
  const byId = new Map(inserted.map((row) => [String(row.id), toEnqueued(row, true)]));
  if (byId.size < n) await resolveSkipped(client, jobs, byId);
  return jobs.map((job) => {
    const own = byId.get(job.id!);
    if (own !== undefined) return own;
    const existing = byId.get(`key:${job.queue}\u0000${job.idempotencyKey ?? ''}`);
    if (existing === undefined) throw new Error(`enqueue: job ${job.id} was neither inserted nor found by its idempotency key`);
    return existing;
  });
}

/** Finds rows the insert skipped: our own ids (a lost-reply retry) or the jobs holding an idempotency key. */
async function resolveSkipped(client: SqlClient, jobs: readonly PreparedJob[], byId: Map<string, EnqueuedJob>): Promise<void> {
  const skipped = jobs.filter((job) => !byId.has(job.id!));
  const keyed = skipped.filter((job) => job.idempotencyKey !== null);
  const rows = await client.query(jobSql.enqueueExisting, [skipped.map((j) => j.id), keyed.map((j) => j.queue), keyed.map((j) => j.idempotencyKey)]);
  const mine = new Map(skipped.map((job) => [job.id!, job]));
  for (const row of rows) {
    const id = String(row.id);
    const job = mine.get(id);
    // Our id on a row of the same queue and name: the first try committed it.
    if (row.own === true && job !== undefined && job.queue === row.queue && job.name === row.name) byId.set(id, toEnqueued(row, true));
    else byId.set(`key:${String(row.queue)}\u0000${String(row.idempotency_key ?? '')}`, toEnqueued(row, false));
  }
}

/** One claim request (fixed shape); the token makes a retried claim recognise its own earlier win. */
export class ClaimRequest {
  readonly token = randomUUID();
  constructor(readonly id: string, readonly claimedBy: string) {}
}

export async function writeClaims(client: SqlClient, requests: readonly ClaimRequest[], attempt: number): Promise<(ClaimedJob | null)[]> {
  const rows = await client.query(attempt > 1 ? jobSql.claimRetry : jobSql.claim, [
    requests.map((r) => r.id), requests.map((r) => r.claimedBy), requests.map((r) => r.token), requests.map((_, i) => i),
  ]);
  const out = new Array<ClaimedJob | null>(requests.length).fill(null);
  for (const row of rows) out[Number(row.ord)] = toClaimed(row);
  return out;
}

/** A finish, validated and serialised (fixed shape). */
export class FinishRequest {
  constructor(
    readonly id: string,
    readonly attempt: number,
    /** The row's new status: a release writes 'queued'. */
    readonly status: Exclude<FinishInput['status'], 'released'> | 'queued',
    readonly result: string | null,
    readonly error: string | null,
    readonly retryAt: string | null,
  ) {}
}

export async function writeFinishes(client: SqlClient, requests: readonly FinishRequest[], attempt: number): Promise<boolean[]> {
  const rows = await client.query<{ ord: number }>(attempt > 1 ? jobSql.finishRetry : jobSql.finish, [
    requests.map((r) => r.id), requests.map((r) => r.attempt), requests.map((r) => r.status), requests.map((r) => r.result),
    requests.map((r) => r.error), requests.map((r) => r.retryAt), requests.map((_, i) => i),
  ]);
  const out = new Array<boolean>(requests.length).fill(false);
  for (const row of rows) out[Number(row.ord)] = true;
  return out;
}

/** An action row (fixed shape): durations clamp to a safe integer so the bigint cast never fails. */
export class ActionRow {
  readonly at = new Date().toISOString();
  constructor(
    readonly jobId: string,
    readonly attempt: number,
    readonly action: string,
    readonly status: 'ok' | 'error',
    readonly durationNs: string,
    readonly error: string | null,
  ) {}
}

export async function writeActions(client: SqlClient, rows: readonly ActionRow[], attempt: number): Promise<null[]> {
  await client.query(attempt > 1 ? jobSql.insertActionsRetry : jobSql.insertActions, [
    rows.map((r) => r.jobId), rows.map((r) => r.attempt), rows.map((r) => r.action), rows.map((r) => r.status),
    rows.map((r) => r.durationNs), rows.map((r) => r.error), rows.map((r) => r.at),
  ]);
  return new Array<null>(rows.length).fill(null);
}
