/**
 * Postgres is the truth; dispatch is an index that can be lost (Redis flushed or restarted without
 * persistence). On every pass the reconciler:
 *   1. refreshes this supervisor's heartbeat;
 *   2. requeues running jobs whose supervisor stopped heartbeating (a new attempt, or dead when the
 *      attempts are spent) and dispatches them again; and so for jobs claimed under this supervisor
 *      long ago that it is not running (a claim whose reply never arrived, a finish it gave up on);
 *   3. for each queue where dispatch holds fewer jobs than the store says are waiting, re-adds the
 *      store's waiting jobs (`add` is idempotent per id, so jobs dispatch still has are untouched).
 */
import { hostname } from 'node:os';
import type { Telemetry } from '../telemetry/bus.ts';
import { PeriodicPass } from './periodic.ts';
import type { JobStorePort } from './ports.ts';
import { toDispatchJob, type Dispatcher, type JobRecord } from './types.ts';

export interface ReconcilerOptions {
  readonly store: JobStorePort;
  readonly dispatcher: Dispatcher;
  readonly bus: Telemetry;
  readonly supervisorId: string;
  readonly queues: () => readonly string[];
  /** Ids of the jobs this supervisor is running now (default: none known, so none of its claims are swept). */
  readonly running?: (() => readonly string[]) | null;
  /**
   * A claim of this supervisor older than this that it is not running is requeued (default 60 s:
   * twice the store's 30 s write budget, so a claim whose reply is still being retried is never taken).
   */
  readonly abandonAfterMs?: number;
  /** Pass period (default 2000 ms). */
  readonly intervalMs?: number;
  /** A supervisor silent this long is presumed dead and its running jobs requeued (default 15 s). */
  readonly heartbeatTtlMs?: number;
  /** Only re-dispatch jobs waiting at least this long, to skip ones being added right now (default 1000 ms). */
  readonly graceMs?: number;
  /** Jobs re-added per queue per pass (default 5000). */
  readonly batch?: number;
}

export class Reconciler {
  readonly #o: Required<ReconcilerOptions>;
  readonly #periodic: PeriodicPass;

  constructor(options: ReconcilerOptions) {
    this.#o = { intervalMs: 2000, heartbeatTtlMs: 15_000, graceMs: 1000, batch: 5000, running: null, abandonAfterMs: 60_000, ...options };
    this.#periodic = new PeriodicPass(() => this.#pass(), this.#o.intervalMs);
  }

  start(): void {
    this.#periodic.start(0);
  }

  /** Runs a pass now (after a dispatch reconnect, or from tests); joins a pass already running. */
  reconcile(): Promise<void> {
    return this.#periodic.run();
  }

  stop(): Promise<void> {
    return this.#periodic.stop();
  }

  /**
   * Runs once before this supervisor claims anything: jobs still claimed under its id belong to a
   * previous process with the same id (a fixed PITBOSS_SUPERVISOR_ID) and are requeued at once;
   * their heartbeat would otherwise look alive forever.
   */
  async recoverPreviousLife(): Promise<void> {
    await this.#pass(true);
  }

  async #pass(startingUp = false): Promise<void> {
    const { store, dispatcher, supervisorId } = this.#o;
    if (!store.available) return;
    await store.heartbeat({ id: supervisorId, host: hostname(), pid: process.pid });
    const running = this.#o.running;
    const { requeued, dead } = await store.requeueOrphans(this.#o.heartbeatTtlMs, startingUp ? { previousLifeOf: supervisorId }
      : running === null ? {} : { abandoned: { supervisorId, olderThanMs: this.#o.abandonAfterMs, running: running() } });
    this.#reportOrphans(requeued, dead);
    if (!dispatcher.healthy()) return;
    if (requeued.length > 0) await dispatcher.add(requeued.map(toDispatchJob));
    for (const queue of this.#o.queues()) {
      const [waiting, held] = await Promise.all([store.countClaimable(queue), dispatcher.count(queue)]);
      if (held >= waiting) continue;
      const jobs = await store.claimable({ olderThanMs: this.#o.graceMs, limit: this.#o.batch, queues: [queue] });
      if (jobs.length > 0) await dispatcher.add(jobs);
    }
  }

  #reportOrphans(requeued: readonly JobRecord[], dead: readonly JobRecord[]): void {
    const { bus } = this.#o;
    for (const job of requeued) bus.execute('job.stalled', { attempt: job.attempts }, jobMetadata(job));
    for (const job of dead) {
      bus.execute('job.stalled', { attempt: job.attempts }, jobMetadata(job));
      bus.execute('job.dead', { attempt: job.attempts }, { ...jobMetadata(job), error_type: 'SupervisorLost' });
    }
  }
}

/**
 * Metadata of an event about a job emitted outside its run (reconciler, cancel): the job's own
 * correlation, so every event of a job can be tied to the code that enqueued it.
 */
export function jobMetadata(job: JobRecord): { queue: string; job_name: string; job_id: string; correlation_id: string | undefined; traceparent: string | undefined } {
  return { queue: job.queue, job_name: job.name, job_id: job.id, correlation_id: job.correlationId ?? undefined, traceparent: job.traceparent ?? undefined };
}
