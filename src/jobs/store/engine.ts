/**
 * The private engine behind JobStore: owns the SQL client, the health state, one group-commit
 * batcher per kind of write, and runs every statement. Arguments arrive already validated.
 */
import { JobError } from '../../errors/classes.ts';
import type { Telemetry } from '../../telemetry/bus.ts';
import type {
  AbandonedClaims, ClaimedJob, DispatchJob, EnqueuedJob, JobDetails, JobRecord, PruneCounts, QueueStats, RetentionPolicy, SupervisorHolder, SupervisorRecord,
} from '../types.ts';
import { Batcher, type FlushKind } from './batcher.ts';
import { loadControl, saveControl, watchControl } from './control.ts';
import { writeFailed } from './failures.ts';
import { StoreHealth } from './health.ts';
import { readOverview, type StoreOverview } from './overview.ts';
import { prune } from './retention.ts';
import { migrationSql } from './schema.ts';
import { jobSql } from './sql.ts';
import { toDispatchJob, toJobDetails, toJobRecord, toQueueStats } from './rows.ts';
import type { BatchOptions, ControlInput, ControlState, RetryOptions, SqlClient, StoreDrops } from './types.ts';
import type { PreparedJob } from './validate.ts';
import {
  IdAllocator, writeActions, writeClaims, writeFinishes, writeJobs, writeWorkerEvents,
  type ActionRow, type ClaimRequest, type FinishRequest, type WorkerEventRow,
} from './writers.ts';

export interface EngineOptions {
  readonly client: SqlClient;
  readonly ownsClient: boolean;
  readonly bus: Telemetry;
  readonly schema: string;
  readonly batch: Required<BatchOptions>;
  readonly retry: Required<RetryOptions>;
  readonly closeTimeoutMs: number;
}

export class StoreEngine {
  readonly client: SqlClient;
  readonly health: StoreHealth;
  readonly #o: EngineOptions;
  readonly #ids: IdAllocator;
  readonly #enqueue: Batcher<PreparedJob, EnqueuedJob>;
  readonly #claim: Batcher<ClaimRequest, ClaimedJob | null>;
  readonly #finish: Batcher<FinishRequest, boolean>;
  readonly #actions: Batcher<ActionRow, null>;
  readonly #workerEvents: Batcher<WorkerEventRow, null>;
  readonly #unlisteners = new Set<() => Promise<void>>();

  constructor(options: EngineOptions) {
    this.#o = options;
    const { client, bus, retry } = options;
    this.client = client;
    // Only a client that can tell (PGlite's disk guard) gates writes; pg pays nothing for it.
    const writeBlocker = client.writeBlocker === undefined ? null : client.writeBlocker.bind(client);
    const probe = async (): Promise<void> => {
      const blocker = await writeBlocker?.();
      if (blocker !== undefined && blocker !== null) throw writeFailed(blocker);
      await client.query('SELECT 1');
    };
    this.health = new StoreHealth({ bus, backend: client.backend, probe, writeBlocker, ...retry });
    this.#ids = new IdAllocator(client);
    this.#enqueue = this.#batcher('enqueue', false, (rows) => writeJobs(client, this.#ids, rows));
    this.#claim = this.#batcher('claim', false, (rows, attempt) => writeClaims(client, rows, attempt));
    this.#finish = this.#batcher('finish', false, (rows, attempt) => writeFinishes(client, rows, attempt));
    this.#actions = this.#batcher('actions', true, (rows, attempt) => writeActions(client, rows, attempt));
    this.#workerEvents = this.#batcher('worker_events', true, (rows) => writeWorkerEvents(client, rows));
  }

  #batcher<I, O>(kind: FlushKind, keep: boolean, write: (rows: readonly I[], attempt: number) => Promise<readonly O[]>): Batcher<I, O> {
    const { bus, client, batch, retry } = this.#o;
    return new Batcher<I, O>({
      kind, backend: client.backend, bus, health: this.health, write, keep, ...batch, maxKeptRows: 100_000, keepRetryMs: retry.maxDelayMs,
    });
  }

  enqueue(jobs: PreparedJob[]): Promise<EnqueuedJob[]> {
    return this.#enqueue.push(jobs);
  }

  async claim(request: ClaimRequest): Promise<ClaimedJob | null> {
    return (await this.#claim.push([request]))[0] ?? null;
  }

  async finish(request: FinishRequest): Promise<boolean> {
    return (await this.#finish.push([request]))[0] === true;
  }

  recordActions(rows: ActionRow[]): void {
    // Fire-and-forget: failures are counted by the batcher (see drops()), never thrown at the caller.
    this.#actions.push(rows).catch(() => {});
  }

  recordWorkerEvents(rows: WorkerEventRow[]): void {
    this.#workerEvents.push(rows).catch(() => {});
  }

  drops(): StoreDrops {
    return { actions: this.#actions.dropped, workerEvents: this.#workerEvents.dropped };
  }

  get(id: string): Promise<JobDetails | null> {
    return this.health.once('get', async () => {
      const [row] = await this.client.query(jobSql.get, [id]);
      return row === undefined ? null : toJobDetails(row);
    });
  }

  cancel(id: string): Promise<JobRecord | null> {
    // A retry after a lost reply finds the job already cancelled and returns it: same answer.
    return this.health.retry('cancel', async () => {
      const [row] = await this.client.query(jobSql.cancel, [id]);
      return row === undefined ? null : toJobRecord(row);
    });
  }

  queueStats(timeoutMs: number | null): Promise<QueueStats[]> {
    const { client } = this;
    const run = async (): Promise<QueueStats[]> => {
      // pg enforces the timeout server-side (the scan is cancelled, not just abandoned); the timer
      // below is the backstop, and the only guard on PGlite, which cannot interrupt a statement.
      const rows = timeoutMs === null
        ? await client.query(jobSql.queueStats)
        : await client.transaction((tx) => tx.query(jobSql.queueStats), { statementTimeoutMs: timeoutMs });
      return rows.map(toQueueStats);
    };
    return this.health.once('queueStats', () => (timeoutMs === null ? run() : withTimeout(run(), timeoutMs, 'queueStats')));
  }

  overview(limit: number, timeoutMs: number): Promise<StoreOverview> {
    return this.health.once('overview', () => withTimeout(readOverview(this.client, limit, timeoutMs), timeoutMs, 'overview'));
  }

  claimable(olderThanMs: number, limit: number, queues: readonly string[] | null): Promise<DispatchJob[]> {
    return this.health.once('claimable', async () => (await this.client.query(jobSql.claimable, [olderThanMs, limit, queues])).map(toDispatchJob));
  }

  countClaimable(queue: string): Promise<number> {
    return this.health.once('countClaimable', async () => Number((await this.client.query(jobSql.countClaimable, [queue]))[0]?.n ?? 0));
  }

  heartbeat(id: string, host: string, pid: number, instance: string | null, queues: readonly string[]): Promise<SupervisorHolder | null> {
    return this.health.retry('heartbeat', async () => {
      const [row] = await this.client.query(jobSql.heartbeat, [id, host, pid, instance, queues]);
      if (row?.previous_host === null || row?.previous_host === undefined) return null;
      return { host: String(row.previous_host), pid: Number(row.previous_pid), instance: row.previous_instance === null ? null : String(row.previous_instance) };
    });
  }

  consumedQueues(withinMs: number): Promise<string[]> {
    return this.health.once('consumedQueues', async () => (await this.client.query(jobSql.consumedQueues, [withinMs])).map((row) => String(row.queue)));
  }

  supervisor(id: string): Promise<SupervisorRecord | null> {
    return this.health.once('supervisor', async () => {
      const [row] = await this.client.query(jobSql.supervisor, [id]);
      if (row === undefined) return null;
      return {
        host: String(row.host), pid: Number(row.pid), instance: row.instance === null ? null : String(row.instance),
        stopped: row.stopped === true, heartbeatAgeMs: Number(row.age_ms), beatAt: Number(row.beat_us),
      };
    });
  }

  supervisorStopped(id: string, instance: string): Promise<void> {
    return this.health.write('supervisorStopped', async () => { await this.client.query(jobSql.supervisorStopped, [id, instance]); });
  }

  requeueOrphans(ttlMs: number, limit: number, previousLifeOf: string | null, abandoned: AbandonedClaims | null): Promise<{ requeued: JobRecord[]; dead: JobRecord[] }> {
    const own = abandoned === null ? [null, 0, []] : [abandoned.supervisorId, abandoned.olderThanMs, abandoned.running];
    return this.health.retry('requeueOrphans', async () => {
      const jobs = (await this.client.query(jobSql.requeueOrphans, [ttlMs, limit, previousLifeOf, ...own])).map(toJobRecord);
      return { requeued: jobs.filter((j) => j.status === 'queued'), dead: jobs.filter((j) => j.status === 'dead') };
    });
  }

  prune(policy: RetentionPolicy): Promise<PruneCounts> {
    return this.health.write('prune', () => prune(this.client, this.#o.bus, this.client.backend, policy));
  }

  loadControl(): Promise<ControlState> {
    return this.health.once('loadControl', () => loadControl(this.client));
  }

  /** Not retried: a save whose reply was lost may have committed, and bumping twice would be a surprise. */
  saveControl(input: ControlInput): Promise<ControlState> {
    return this.health.write('saveControl', () => saveControl(this.client, input));
  }

  async onControlChange(listener: (state: ControlState) => void, onError: (error: unknown) => void): Promise<() => Promise<void>> {
    const unlisten = await watchControl(this.client, this.#o.schema, listener, onError);
    this.#unlisteners.add(unlisten);
    return async () => {
      if (this.#unlisteners.delete(unlisten)) await unlisten();
    };
  }

  async close(): Promise<void> {
    const batchers = [this.#enqueue, this.#claim, this.#finish, this.#actions, this.#workerEvents];
    // Give pending writes their chance (they may be riding out an outage), then stop retrying; a
    // store that cannot write (full disk) would only spend the shutdown timeout on them.
    if (!this.health.writeBlocked) await withTimeout(Promise.all(batchers.map((b) => b.idle())), this.#o.closeTimeoutMs, 'close').catch(() => {});
    this.health.close();
    for (const batcher of batchers) batcher.close();
    await Promise.all([...this.#unlisteners].map((unlisten) => unlisten().catch(() => {})));
    this.#unlisteners.clear();
    if (this.#o.ownsClient) await this.client.close();
  }
}

/** The schema a client's statements land in (after migrations created it). */
export async function currentSchema(client: SqlClient): Promise<string> {
  const [row] = await client.query<{ schema: string | null }>(migrationSql.currentSchema);
  return row?.schema ?? client.schema ?? 'public';
}

function withTimeout<T>(work: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new JobError('PITBOSS_STORE_TIMEOUT', `${what} took longer than ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
