/**
 * `jobs.schedules`: cron schedules of one JobSystem — list, set and remove them at runtime, and the
 * scheduler that fires their ticks. Schedules live in the store, shared by the fleet: one set on any
 * supervisor is run by all of them (each tick once, see scheduler.ts).
 *
 * A deployment's `schedules` are upserted at each start (source `deployment`); an unchanged one
 * keeps its cursor, so ticks missed while everything was down follow its `missed` policy. Runtime
 * schedules (`PUT /schedules/:name`, source `runtime`) persist until removed. Both are one kind of
 * row: setting a deployment's schedule at runtime overrides it until the next start of a
 * supervisor that declares it, and removing one from a deployment file does not delete it (an
 * older supervisor of a rolling restart would only add it again): remove it with `DELETE`.
 */
import { JobError } from '../../errors/classes.ts';
import type { Telemetry } from '../../telemetry/bus.ts';
import type { AcceptedQueues } from '../accepted-queues.ts';
import type { SchedulesFacet, StoredSchedule } from '../store/schedules.ts';
import { toDispatchJob, type Dispatcher, type EnqueuedJob } from '../types.ts';
import { Scheduler, type SchedulerOptions } from './scheduler.ts';
import { checkSchedule, checkScheduleName, cronOf, type CheckedSchedule, type ScheduleInput, type ScheduleRecord, type ScheduleSource } from './spec.ts';

interface SchedulesDeps {
  readonly store: SchedulesFacet;
  readonly dispatcher: Dispatcher;
  readonly bus: Telemetry;
  readonly accepted: AcceptedQueues;
  /** Told of each queue a tick enqueued into (the job system's known queues). */
  readonly onQueue: (queue: string) => void;
  /** Schedules the deployment declares (upserted at start). */
  readonly declared: Readonly<Record<string, ScheduleInput>>;
  /** False: this system fires no ticks (its schedules are still listed, set and removed). */
  readonly scheduler: SchedulerOptions | false;
}

/** Runtime management of cron schedules, and the scheduler that fires them on this supervisor. */
export class Schedules {
  readonly #deps: SchedulesDeps;
  readonly #declared: readonly CheckedSchedule[];
  readonly #scheduler: Scheduler | null;

  /** @internal Built by JobSystem; throws PITBOSS_INVALID_CONFIG naming the key of a bad declared schedule. */
  constructor(deps: SchedulesDeps) {
    this.#deps = deps;
    if (typeof deps.declared !== 'object' || deps.declared === null || Array.isArray(deps.declared)) {
      throw new JobError('PITBOSS_INVALID_CONFIG', 'schedules must be an object of schedule name → { cron, queue, name, data?, timezone?, missed? }', { field: 'schedules' });
    }
    this.#declared = Object.entries(deps.declared).map(([name, input]) => checkSchedule(`schedules.${name}`, name, input, deps.store.maxPayloadBytes));
    this.#scheduler = deps.scheduler === false ? null : new Scheduler({ store: deps.store, bus: deps.bus, dispatch: (made) => this.#dispatch(made) }, deps.scheduler);
  }

  /** Every schedule, by name, with its next and last run (by the database's clock). */
  async list(): Promise<ScheduleRecord[]> {
    const { now, schedules } = await this.#deps.store.list();
    return schedules.map((schedule) => this.#record(schedule, now));
  }

  /**
   * Creates or replaces schedule `name` (source `runtime`). Rejects with PITBOSS_INVALID_CONFIG
   * naming the key (`schedules.<name>.cron`…) for a bad definition, and PITBOSS_UNKNOWN_QUEUE for a
   * queue nobody in the fleet consumes or accepts. Changing the expression or zone starts it afresh
   * from now; other changes apply from the next tick.
   */
  async set(name: string, input: ScheduleInput): Promise<ScheduleRecord> {
    const checked = checkSchedule(`schedules.${String(name)}`, name, input, this.#deps.store.maxPayloadBytes);
    return this.#upsert(checked, 'runtime');
  }

  /** Deletes a schedule; false when there was none. Jobs it already enqueued stay; no tick fires after this resolves. */
  async remove(name: string): Promise<boolean> {
    return this.#deps.store.remove(checkScheduleName('schedule', name));
  }

  /** @internal Upserts the declared schedules, then starts firing ticks. */
  async start(): Promise<void> {
    for (const schedule of this.#declared) await this.#upsert(schedule, 'deployment');
    this.#scheduler?.start();
  }

  /** @internal */
  stop(): Promise<void> {
    return this.#scheduler?.stop() ?? Promise.resolve();
  }

  async #upsert(checked: CheckedSchedule, source: ScheduleSource): Promise<ScheduleRecord> {
    try {
      await this.#deps.accepted.check([{ queue: checked.queue, name: checked.name }]);
    } catch (error) {
      if (!(error instanceof JobError) || error.code !== 'PITBOSS_UNKNOWN_QUEUE') throw error;
      const field = `schedules.${checked.schedule}.queue`;
      throw new JobError('PITBOSS_UNKNOWN_QUEUE', error.message.replace(/^jobs\[0\]\.queue/, field), { field });
    }
    const { now, schedule } = await this.#deps.store.upsert(checked, source);
    // A new or changed schedule may tick before the next pass would run.
    void this.#scheduler?.wake().catch(() => {});
    return this.#record(schedule, now);
  }

  #record(schedule: StoredSchedule, now: Date): ScheduleRecord {
    const after = schedule.cursor > now ? schedule.cursor : now;
    let nextRunAt: Date | null = null;
    try {
      nextRunAt = (this.#scheduler?.cronFor(schedule) ?? cronOf(schedule.cron, schedule.timezone)).nextRun(after);
    } catch {
      // A row this version cannot parse (written by a newer one): shown without a next run.
    }
    return {
      schedule: schedule.schedule, cron: schedule.cron, timezone: schedule.timezone, queue: schedule.queue, name: schedule.name, data: schedule.data,
      missed: schedule.missed, source: schedule.source, nextRunAt, lastRunAt: schedule.lastFiredAt, coveredUntil: schedule.cursor,
      createdAt: schedule.createdAt, updatedAt: schedule.updatedAt,
    };
  }

  /** Dispatches jobs a tick created (committed already; a dispatch failure is left to the reconciler, as for any enqueue). */
  async #dispatch(made: readonly { job: EnqueuedJob; correlationId: string; traceparent: string }[]): Promise<void> {
    if (made.length === 0) return;
    for (const { job } of made) this.#deps.onQueue(job.queue);
    await this.#deps.dispatcher.addNew(made.map(({ job }) => toDispatchJob(job))).catch(() => {});
    for (const { job, correlationId, traceparent } of made) {
      this.#deps.bus.execute('job.enqueued', {}, { queue: job.queue, job_name: job.name, job_id: job.id, correlation_id: correlationId, traceparent });
    }
  }
}
