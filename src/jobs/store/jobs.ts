/**
 * `store.jobs`: the jobs table group (`jobs`, `job_actions`). Enqueue, claim, finish and actions
 * are group-committed: concurrent calls share one multi-row statement. Arguments are checked here
 * and rejected with typed errors (never thrown synchronously); statements are in sql/jobs.ts.
 */
import type {
  AbandonedClaims, ActionRecord, ClaimedJob, DispatchJob, EnqueueInput, EnqueuedJob, FinishInput, JobDetails, JobRecord,
} from '../types.ts';
import type { Batcher } from './batcher.ts';
import { settle, type StoreEngine } from './engine.ts';
import { toDispatchJob, toJobDetails, toJobRecord } from './rows.ts';
import { ProgressWriter } from './progress.ts';
import { jobSql } from './sql/jobs.ts';
import {
  checkAbandoned, checkCount, clean, errorJson, invalidJob, isJobId, prepareJobs, serialise, type EnqueueContext, type PreparedJob,
} from './validate.ts';
import { ActionRow, ClaimRequest, FinishRequest, IdAllocator, writeActions, writeClaims, writeFinishes, writeJobs } from './writers.ts';

const MAX_DURATION_NS = Number.MAX_SAFE_INTEGER;

/** `store.jobs`: the jobs and job_actions tables (enqueue, claim, finish, cancel, get, orphan requeue). */
export class JobsFacet {
  readonly #engine: StoreEngine;
  readonly #maxPayloadBytes: number;
  readonly #enqueue: Batcher<PreparedJob, EnqueuedJob>;
  readonly #claim: Batcher<ClaimRequest, ClaimedJob | null>;
  readonly #finish: Batcher<FinishRequest, boolean>;
  readonly #actions: Batcher<ActionRow, null>;
  readonly #progress: ProgressWriter;

  /** @internal Built by JobStore.open. */
  constructor(engine: StoreEngine, maxPayloadBytes: number) {
    this.#engine = engine;
    this.#maxPayloadBytes = maxPayloadBytes;
    const { client } = engine;
    const ids = new IdAllocator(client);
    this.#enqueue = engine.batcher('enqueue', false, (rows) => writeJobs(client, ids, rows));
    this.#claim = engine.batcher('claim', false, (rows, attempt) => writeClaims(client, rows, attempt));
    this.#finish = engine.batcher('finish', false, (rows, attempt) => writeFinishes(client, rows, attempt));
    this.#actions = engine.batcher('actions', true, (rows, attempt) => writeActions(client, rows, attempt));
    this.#progress = new ProgressWriter(engine);
  }

  /**
   * Commits job rows (group commit across concurrent calls). The whole call is validated first: one
   * bad job rejects it with `PITBOSS_INVALID_JOB` naming the field, and no row is written. A job
   * whose idempotency key already exists in its queue comes back as that job with `created: false`.
   */
  enqueue(inputs: readonly EnqueueInput[], context?: EnqueueContext): Promise<EnqueuedJob[]> {
    return settle(() => {
      this.#engine.open('enqueue');
      return this.#enqueue.push(prepareJobs(inputs, context, this.#maxPayloadBytes));
    });
  }

  /**
   * Claims a job for one attempt: status running, attempts + 1. Null when it is not claimable
   * (running, finished, cancelled, not yet due, unknown). Of concurrent claims exactly one wins.
   */
  claim(id: string, claimedBy: string): Promise<ClaimedJob | null> {
    return settle(async () => {
      this.#engine.open('claim');
      if (!isJobId(id)) throw invalidJob('id', `must be a decimal job id, got ${JSON.stringify(id)}`);
      if (typeof claimedBy !== 'string' || claimedBy === '' || claimedBy.length > 512) throw invalidJob('claimedBy', 'must be a non-empty string');
      return (await this.#claim.push([new ClaimRequest(id, clean(claimedBy, 512))]))[0] ?? null;
    });
  }

  /**
   * Ends an attempt, fenced by attempt: false when this attempt no longer owns the job (it was
   * cancelled, or requeued and claimed again), in which case nothing is written. `released` queues
   * the job again without charging the attempt (see FinishInput).
   */
  finish(input: FinishInput): Promise<boolean> {
    return settle(async () => (await this.#finish.push([this.#finishRequest(input)]))[0] === true);
  }

  #finishRequest(input: FinishInput): FinishRequest {
    this.#engine.open('finish');
    if (typeof input !== 'object' || input === null || !isJobId(input.id)) throw invalidJob('id', 'must be a decimal job id');
    checkCount('attempt', input.attempt, 1);
    const { id, attempt } = input;
    switch (input.status) {
      case 'completed':
        return new FinishRequest(id, attempt, 'completed', serialise('result', input.result ?? null, this.#maxPayloadBytes), null, null);
      case 'failed': {
        const retryAt = retryAtOf(input.retryAt);
        return new FinishRequest(id, attempt, 'failed', null, errorJson('error', input.error), retryAt);
      }
      case 'dead':
        return new FinishRequest(id, attempt, 'dead', null, errorJson('error', input.error), null);
      case 'released':
        return new FinishRequest(id, attempt, 'queued', null, null, retryAtOf(input.retryAt));
      default:
        throw invalidJob('status', `must be completed, failed, dead or released, got ${JSON.stringify((input as { status: unknown }).status)}`);
    }
  }

  /**
   * Records actions of job attempts (batched). Fire-and-forget: never throws or rejects; rows that
   * cannot be written (malformed, or still unwritten at close) are counted in `store.drops()`.
   */
  recordActions(actions: readonly ActionRecord[]): void {
    if (this.#engine.closed || !Array.isArray(actions)) return;
    const rows: ActionRow[] = [];
    for (const a of actions) {
      if (typeof a !== 'object' || a === null || !isJobId(a.jobId) || !Number.isInteger(a.attempt) || typeof a.action !== 'string') {
        this.#actions.refused(1);
        continue;
      }
      const duration = Number.isFinite(a.duration) ? Math.min(MAX_DURATION_NS, Math.max(0, Math.round(a.duration))) : 0;
      rows.push(new ActionRow(a.jobId, a.attempt, clean(a.action, 200), a.status === 'error' ? 'error' : 'ok', String(duration), a.error == null ? null : clean(String(a.error), 8_192)));
    }
    // Failures are counted by the batcher (see drops()), never thrown at the caller.
    if (rows.length > 0) this.#actions.push(rows).catch(() => {});
  }

  /**
   * Records the progress of a job's attempt (`json`: the value's JSON text, ≤ 1 KiB), fenced by
   * attempt: a stale attempt's value never lands on a newer one. Fire-and-forget, never throws;
   * batched, newest value per job, in order (see progress.ts).
   */
  recordProgress(jobId: string, attempt: number, json: string): void {
    this.#progress.record(jobId, attempt, json);
  }

  /** A job with its actions in order, or null (also for a malformed id). */
  get(id: string): Promise<JobDetails | null> {
    return settle(() => (this.#engine.open('get') && isJobId(id) ? this.#engine.health.once('get', async () => {
      const [row] = await this.#engine.client.query(jobSql.get, [id]);
      return row === undefined ? null : toJobDetails(row);
    }) : Promise.resolve(null)));
  }

  /**
   * Cancels a queued, failed or running job (a running attempt's later finish is then fenced out);
   * a finished job is returned unchanged; null when there is no such job.
   */
  cancel(id: string): Promise<JobRecord | null> {
    // A retry after a lost reply finds the job already cancelled and returns it: same answer.
    return settle(() => (this.#engine.open('cancel') && isJobId(id) ? this.#engine.health.retry('cancel', async () => {
      const [row] = await this.#engine.client.query(jobSql.cancel, [id]);
      return row === undefined ? null : toJobRecord(row);
    }) : Promise.resolve(null)));
  }

  /**
   * Waiting jobs (queued, or failed awaiting retry) untouched for `olderThanMs`, oldest due first,
   * for the reconciler to hand to dispatch again; `delayMs` is how long until each is due.
   */
  claimable(options: { olderThanMs: number; limit: number; queues?: readonly string[] }): Promise<DispatchJob[]> {
    return settle(() => {
      this.#engine.open('claimable');
      const olderThanMs = checkCount('olderThanMs', options?.olderThanMs, 0);
      const limit = checkCount('limit', options.limit, 1);
      const queues = options.queues === undefined ? null : [...options.queues].map(String);
      const { client, health } = this.#engine;
      return health.once('claimable', async () => (await client.query(jobSql.claimable, [olderThanMs, limit, queues])).map(toDispatchJob));
    });
  }

  /** How many jobs of `queue` wait (queued, or failed awaiting retry), due or not. */
  countClaimable(queue: string): Promise<number> {
    return settle(() => {
      this.#engine.open('countClaimable');
      const { client, health } = this.#engine;
      const name = String(queue);
      return health.once('countClaimable', async () => Number((await client.query(jobSql.countClaimable, [name]))[0]?.n ?? 0));
    });
  }

  /**
   * Running jobs whose claimer stopped heartbeating for `ttlMs` (or never did, and the attempt is
   * older than that): queued again as a new attempt, or dead when attempts are exhausted.
   * `previousLifeOf`: a supervisor id that is starting now; jobs still claimed under it are orphans too.
   * `abandoned`: claims of a live supervisor that it is not running (see AbandonedClaims) are too.
   */
  requeueOrphans(
    ttlMs: number, options: { limit?: number; previousLifeOf?: string; abandoned?: AbandonedClaims } = {},
  ): Promise<{ requeued: JobRecord[]; dead: JobRecord[] }> {
    return settle(() => {
      this.#engine.open('requeueOrphans');
      const params = [checkCount('ttlMs', ttlMs, 1), checkCount('limit', options.limit ?? 1000, 1), options.previousLifeOf ?? null];
      const abandoned = checkAbandoned(options.abandoned);
      const own = abandoned === null ? [null, 0, []] : [abandoned.supervisorId, abandoned.olderThanMs, abandoned.running];
      return this.#engine.health.retry('requeueOrphans', async () => {
        const jobs = (await this.#engine.client.query(jobSql.requeueOrphans, [...params, ...own])).map(toJobRecord);
        return { requeued: jobs.filter((j) => j.status === 'queued'), dead: jobs.filter((j) => j.status === 'dead') };
      });
    });
  }
}

function retryAtOf(retryAt: unknown): string {
  if (!(retryAt instanceof Date) || Number.isNaN(retryAt.getTime())) throw invalidJob('retryAt', 'must be a valid Date');
  return retryAt.toISOString();
}
