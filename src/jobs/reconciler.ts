/**
 * Postgres is the truth; dispatch is an index that can be lost (Redis flushed or restarted without
 * persistence). On every pass the reconciler:
 *   1. refreshes this supervisor's heartbeat;
 *   2. requeues running jobs whose supervisor stopped heartbeating (a new attempt, or dead when the
 *      attempts are spent) and dispatches them again; and so for jobs claimed under this supervisor
 *      long ago that it is not running (a claim whose reply never arrived, a finish it gave up on) —
 *      unless another live process was seen beating under the same id (those claims may be its);
 *   3. for each queue where dispatch holds fewer jobs than the store says are waiting, re-adds the
 *      store's waiting jobs (`add` is idempotent per id, so jobs dispatch still has are untouched).
 */
import type { Telemetry } from '../telemetry/bus.ts';
import { PeriodicPass } from './periodic.ts';
import type { JobStore } from './store/store.ts';
import { SupervisorLife, type SupervisorIdNotice } from './supervisor-life.ts';
import { toDispatchJob, type Dispatcher, type JobRecord } from './types.ts';

export interface ReconcilerOptions {
  readonly store: JobStore;
  readonly dispatcher: Dispatcher;
  readonly bus: Telemetry;
  readonly supervisorId: string;
  readonly queues: () => readonly string[];
  /** The queues this supervisor consumes, recorded with its heartbeat (default none). */
  readonly consumes?: readonly string[];
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
  /** Told when startup waits for another holder of the id to fall silent, and when a live twin shows (default: nothing). */
  readonly onSupervisorIdNotice?: ((notice: SupervisorIdNotice) => void) | null;
}

export class Reconciler {
  readonly #o: Required<ReconcilerOptions>;
  readonly #periodic: PeriodicPass;
  readonly #life: SupervisorLife;
  /** Until then (performance.now()) another live process is taken to share the id: its claims are not swept as abandoned. */
  #sharedUntil = -Infinity;

  constructor(options: ReconcilerOptions) {
    this.#o = {
      intervalMs: 2000, heartbeatTtlMs: 15_000, graceMs: 1000, batch: 5000, running: null, abandonAfterMs: 60_000, onSupervisorIdNotice: null, consumes: [], ...options,
    };
    this.#periodic = new PeriodicPass(() => this.#pass(), this.#o.intervalMs);
    const { store, supervisorId, heartbeatTtlMs, onSupervisorIdNotice, consumes } = this.#o;
    this.#life = new SupervisorLife({ fleet: store.fleet, supervisorId, heartbeatTtlMs, queues: consumes, ...(onSupervisorIdNotice === null ? {} : { onNotice: onSupervisorIdNotice }) });
  }

  start(): void {
    this.#periodic.start(0);
  }

  /** Runs a pass now (after a dispatch reconnect, or from tests); joins a pass already running. */
  reconcile(): Promise<void> {
    return this.#periodic.run();
  }

  /** Stops the passes and marks this life stopped in the store (a restart under the id need not wait out the TTL). */
  async stop(): Promise<void> {
    await this.#periodic.stop();
    if (this.#o.store.available) await this.#life.stopped().catch(() => {});
  }

  /**
   * Runs once before this supervisor claims anything: jobs still claimed under its id belong to a
   * previous process with the same id (a fixed PITBOSS_SUPERVISOR_ID) and are requeued at once;
   * their heartbeat would otherwise look alive forever. Rejects with PITBOSS_SUPERVISOR_ID_IN_USE
   * when that process is alive (see supervisor-life.ts). A store outage only postpones the sweep:
   * the passes that follow take such claims for abandoned ones.
   */
  async recoverPreviousLife(): Promise<void> {
    if (!this.#o.store.available || !(await this.#life.waitUntilFree())) return;
    await this.#pass(true).catch(() => {});
  }

  async #pass(startingUp = false): Promise<void> {
    const { store, dispatcher, supervisorId } = this.#o;
    if (!store.available) return;
    if (await this.#life.beat()) this.#sharedUntil = performance.now() + this.#o.heartbeatTtlMs;
    const running = this.#o.running;
    const sweepOwn = running !== null && performance.now() >= this.#sharedUntil;
    const { requeued, dead } = await store.jobs.requeueOrphans(this.#o.heartbeatTtlMs, startingUp ? { previousLifeOf: supervisorId }
      : sweepOwn ? { abandoned: { supervisorId, olderThanMs: this.#o.abandonAfterMs, running: running() } } : {});
    this.#reportOrphans(requeued, dead);
    if (!dispatcher.healthy()) return;
    if (requeued.length > 0) await dispatcher.add(requeued.map(toDispatchJob));
    for (const queue of this.#o.queues()) {
      const [waiting, held] = await Promise.all([store.jobs.countClaimable(queue), dispatcher.count(queue)]);
      if (held >= waiting) continue;
      const jobs = await store.jobs.claimable({ olderThanMs: this.#o.graceMs, limit: this.#o.batch, queues: [queue] });
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
