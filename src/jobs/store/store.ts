/**
 * JobStore: the Postgres record of every job (the truth of the job system), one object with a
 * facet per table group. Each facet checks its arguments, rejecting with typed errors (never
 * throwing synchronously from an async method), and runs its statements (sql/<group>.ts) through
 * the private engine, which owns the connection, the health state and the group-commit batchers.
 *
 * | facet | tables | what |
 * |---|---|---|
 * | `store.jobs` | jobs, job_actions | enqueue, claim, finish, actions, get, cancel, claimable, orphans |
 * | `store.fleet` | supervisors, worker_events | heartbeats, id holders, consumed queues, thread lifecycle rows |
 * | `store.settings` | control_state, control_rules | persisted telemetry settings: rules and log levels, NOTIFY on change |
 * | `store.queues` | paused_queues | paused queues, fleet-wide: pause, resume, NOTIFY on change |
 * | `store.overview` | (reads across them) | queue counts, the status page's view |
 * | `store.retention` | jobs, worker_events, supervisors | bounded pruning of expired rows |
 * | `store.schedules` | schedules (+ jobs) | cron schedules, and firing their ticks once across a fleet |
 * | `store.search` | jobs | list jobs by filter (keyset pages), retry dead/failed/cancelled jobs |
 *
 * ```ts
 * const store = await JobStore.open({ url: process.env.DATABASE_URL }); // no URL → embedded PGlite
 * const [job] = await store.jobs.enqueue([{ queue: 'email', name: 'welcome', data: { to } }]);
 * const claimed = await store.jobs.claim(job.id, `${supervisorId}/email`);
 * if (claimed) await store.jobs.finish({ id: job.id, attempt: claimed.attempt, status: 'completed', result: null });
 * ```
 */
import { JobError } from '../../errors/classes.ts';
import { redactUrl } from '../../log/logger.ts';
import { describeError } from '../../errors/describe.ts';
import { telemetry as sharedTelemetry } from '../../telemetry/default.ts';
import { checkClientOptions, createSqlClient } from './client.ts';
import { currentSchema, StoreEngine } from './engine.ts';
import { classifyFailure } from './failures.ts';
import { FleetFacet } from './fleet.ts';
import { JobsFacet } from './jobs.ts';
import { migrate } from './migrate.ts';
import { OverviewFacet } from './overview.ts';
import { QueuesFacet } from './queues.ts';
import { RetentionFacet } from './retention.ts';
import { SchedulesFacet } from './schedules.ts';
import { SearchFacet } from './search.ts';
import { SettingsFacet } from './settings.ts';
import type { JobStoreOptions, SqlBackend, StoreDrops } from './types.ts';
import { checkCount, DEFAULT_MAX_PAYLOAD_BYTES } from './validate.ts';

/**
 * The job record on Postgres or embedded PGlite: `open` it, then reach each table group through its
 * facet (`jobs`, `fleet`, `settings`, `queues`, `overview`, `retention`). Tracks the database's availability.
 */
export class JobStore {
  /** Jobs and their actions: enqueue, claim, finish, get, cancel, and what the reconciler needs. */
  readonly jobs: JobsFacet;
  /** Supervisors and thread lifecycle rows: heartbeats, who holds an id, the queues the fleet consumes. */
  readonly fleet: FleetFacet;
  /** The persisted telemetry settings (sampling/filter rules and log levels), shared by the fleet. */
  readonly settings: SettingsFacet;
  /** Paused queues, shared by the fleet: pause, resume, and who is paused now. */
  readonly queues: QueuesFacet;
  /** Read-only views: per-queue counts and what the status page shows. */
  readonly overview: OverviewFacet;
  /** Bounded deletes of expired rows. */
  readonly retention: RetentionFacet;
  /** Cron schedules: definitions, and the one statement that fires a tick's job once across a fleet. */
  readonly schedules: SchedulesFacet;
  /** The operator's job surface: pages of jobs by filter, newest first, and retries of dead, failed or cancelled jobs. */
  readonly search: SearchFacet;
  readonly #engine: StoreEngine;

  private constructor(engine: StoreEngine, maxPayloadBytes: number) {
    this.#engine = engine;
    this.jobs = new JobsFacet(engine, maxPayloadBytes);
    this.fleet = new FleetFacet(engine);
    this.settings = new SettingsFacet(engine);
    this.queues = new QueuesFacet(engine);
    this.overview = new OverviewFacet(engine);
    this.retention = new RetentionFacet(engine);
    this.schedules = new SchedulesFacet(engine, maxPayloadBytes);
    this.search = new SearchFacet(engine);
  }

  /**
   * Opens a store: connects (or boots PGlite), applies migrations unless `migrate: false`, and
   * resolves once the schema is ready. Rejects with `PITBOSS_INVALID_CONFIG` for bad options.
   */
  static async open(options: JobStoreOptions = {}): Promise<JobStore> {
    checkClientOptions(options);
    const maxPayloadBytes = options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
    checkCount('maxPayloadBytes', maxPayloadBytes, 2);
    const client = options.client ?? (await createSqlClient(options));
    try {
      if (options.migrate !== false) await migrate(client);
      const schema = await currentSchema(client);
      const engine = new StoreEngine({
        client, ownsClient: options.client === undefined, bus: options.telemetry ?? sharedTelemetry, schema,
        // delayMs 1: at a consumer concurrency of 16, waiting a millisecond doubles claim/finish batches
        // (4 → 8 rows) and cut Postgres CPU per job 348 → 198 µs (bench/jobs-throughput).
        batch: { maxRows: 1000, maxInFlight: 2, delayMs: 1, ...options.batch },
        retry: { budgetMs: 30_000, minDelayMs: 50, maxDelayMs: 2_000, probeIntervalMs: 1_000, ...options.retry },
        closeTimeoutMs: options.closeTimeoutMs ?? 5_000,
      });
      return new JobStore(engine, maxPayloadBytes);
    } catch (error) {
      if (options.client === undefined) await client.close().catch(() => {});
      // "connect ECONNREFUSED 127.0.0.1:5432" alone does not say that it was the job store's database.
      if (client.backend === 'postgres' && classifyFailure(error) === 'connection') {
        const where = options.url ? ` at ${redactUrl(options.url)}` : '';
        throw new JobError('PITBOSS_STORE_UNAVAILABLE', `the job store cannot reach Postgres${where}: ${describeError(error).error}`, { cause: error });
      }
      throw error;
    }
  }

  /** `'postgres'` or `'pglite'`. */
  get backend(): SqlBackend {
    return this.#engine.backend;
  }

  /** False while the database is unreachable or cannot write (see `problem`; consumers should stop claiming). */
  get available(): boolean {
    return this.#engine.health.available;
  }

  /** Why the store is down — unreachable, or unable to write (disk full, directory read-only or gone) — or null while up. */
  get problem(): string | null {
    return this.#engine.health.problem;
  }

  /**
   * Settles (never rejects) once the store can never write again in this process — the embedded
   * store after PGlite failed a write with a PANIC (it cannot run another statement); the data on
   * disk is safe, and a restart recovers it. A Postgres store never settles it (its outages end).
   */
  get failed(): Promise<JobError> {
    return this.#engine.client.failed ?? new Promise<never>(() => {});
  }

  /** Called with false when the store goes down and true when it is back; returns an unsubscribe. */
  onAvailability(listener: (available: boolean) => void): () => void {
    return this.#engine.health.onChange(listener);
  }

  /** Fire-and-forget rows (`jobs.recordActions`, `fleet.recordWorkerEvents`, `jobs.recordProgress`) malformed or not written, by kind. */
  drops(): StoreDrops {
    return { actions: this.#engine.dropped('actions'), workerEvents: this.#engine.dropped('worker_events'), progress: this.#engine.dropped('progress') };
  }

  /** Writes what is pending (waiting up to `closeTimeoutMs`), then closes the connection it opened. */
  close(): Promise<void> {
    return this.#engine.close();
  }
}
