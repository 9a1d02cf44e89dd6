/**
 * The scheduler every supervisor runs: no leader to elect, none to die silently. Each pass (a PeriodicPass) reads
 * the schedules with the database's clock, plans each one's due ticks (ticks.ts) and applies the
 * plan with `store.schedules.fire`, which moves the schedule's cursor by compare-and-set and
 * inserts the ticks' jobs in the same statement: of supervisors racing for a tick, exactly one
 * creates its job, and only that one reports `schedule.fired` (and `schedule.skipped` for the ticks
 * it passed over). The others find the cursor moved and do nothing.
 *
 * Every decision uses the database's clock, so supervisors whose clocks disagree still agree on
 * which ticks are due. A pass runs just after the next tick (by that clock), and at least every
 * `pollMs`, which is how soon a schedule added or changed on another supervisor is seen.
 */
import type { Cron } from 'croner';
import type { Telemetry } from '../../telemetry/bus.ts';
import { childTraceparent, newCorrelationId } from '../../telemetry/correlation.ts';
import { tickKey, type SchedulesFacet, type StoredSchedule } from '../store/schedules.ts';
import type { EnqueuedJob } from '../types.ts';
import { cronOf } from './spec.ts';
import { PeriodicPass } from '../periodic.ts';
import { planTicks } from './ticks.ts';

/** The scheduler's timing; tests shorten it. */
export interface SchedulerOptions {
  /** Longest wait between passes (default 1000 ms): how soon another supervisor's schedule edits are seen. */
  readonly pollMs?: number;
  /** A due tick this far in the past counts as missed and follows its schedule's `missed` policy (default 5000 ms). */
  readonly missedAfterMs?: number;
}

interface SchedulerDeps {
  readonly store: SchedulesFacet;
  readonly bus: Telemetry;
  /** Hands jobs a tick created to dispatch (and reports them enqueued); the rows are committed already. */
  readonly dispatch: (jobs: readonly { job: EnqueuedJob; correlationId: string; traceparent: string }[]) => Promise<void>;
}

/** A timer wakes a pass this long after a tick, so the database's clock has surely reached it. */
const AFTER_TICK_MS = 5;
const MIN_WAIT_MS = 20;
/** After a failed fire, the next pass comes this soon (bounded by pollMs). */
const RETRY_MS = 250;

export class Scheduler {
  readonly #deps: SchedulerDeps;
  readonly #missedAfterMs: number;
  /** Parsed expressions by `cron \0 timezone` (parsing is the costly part of a plan). */
  readonly #crons = new Map<string, Cron>();
  /** Passes every `pollMs` at most, sooner when a tick is due (each pass says when). */
  readonly #periodic: PeriodicPass;
  #stopped = true;

  constructor(deps: SchedulerDeps, options: SchedulerOptions = {}) {
    this.#deps = deps;
    this.#missedAfterMs = options.missedAfterMs ?? 5000;
    const pollMs = options.pollMs ?? 1000;
    this.#periodic = new PeriodicPass(() => this.#pass(pollMs), pollMs);
  }

  start(): void {
    this.#stopped = false;
    this.#periodic.start(0);
  }

  /** Runs a pass now (joins one under way); the timer is re-armed after it. */
  wake(): Promise<void> {
    return this.#periodic.run();
  }

  /** No more passes; resolves once a pass under way has ended. */
  stop(): Promise<void> {
    this.#stopped = true;
    return this.#periodic.stop();
  }

  /** The parsed expression of a schedule (cached). */
  cronFor(schedule: Pick<StoredSchedule, 'cron' | 'timezone'>): Cron {
    const key = `${schedule.cron}\u0000${schedule.timezone ?? ''}`;
    let cron = this.#crons.get(key);
    if (cron === undefined) {
      cron = cronOf(schedule.cron, schedule.timezone);
      this.#crons.set(key, cron);
    }
    return cron;
  }

  /** One pass over every schedule; resolves to how long to wait before the next. A store that cannot list ends it early (the next pass retries). */
  async #pass(pollMs: number): Promise<number> {
    const { now, schedules } = await this.#deps.store.list();
    let waitMs = pollMs;
    for (const schedule of schedules) {
      if (this.#stopped) break;
      try {
        const cron = this.cronFor(schedule);
        const plan = planTicks(cron, schedule.cursor, now, schedule.missed, this.#missedAfterMs);
        // A failed fire (a store hiccup) moved nothing: the next pass plans the same ticks again.
        if (plan.cursor !== null) await this.#apply(schedule, plan.cursor, plan.fire, plan.skipped, now).catch(() => { waitMs = Math.min(waitMs, RETRY_MS); });
        const next = cron.nextRun(plan.cursor ?? (schedule.cursor > now ? schedule.cursor : now));
        if (next !== null) waitMs = Math.min(waitMs, next.getTime() - now.getTime() + AFTER_TICK_MS);
      } catch {
        // A row this version cannot parse (written by a newer one): left to the supervisors that can.
      }
    }
    // Croner's crons are cheap to keep, but not a schedule's edits for ever.
    if (this.#crons.size > 4 * schedules.length + 16) this.#crons.clear();
    return Math.max(MIN_WAIT_MS, waitMs);
  }

  async #apply(schedule: StoredSchedule, to: Date, fire: readonly Date[], skipped: ReturnType<typeof planTicks>['skipped'], now: Date): Promise<void> {
    const jobs = fire.map((tick) => ({ tick, correlationId: newCorrelationId(), traceparent: childTraceparent() }));
    const result = await this.#deps.store.fire({ schedule: schedule.schedule, revision: schedule.revision, from: schedule.cursor, to, jobs });
    // Another supervisor moved the cursor first (it reports these ticks), or the schedule changed or went.
    if (!result.advanced) return;
    const byKey = new Map(result.created.map((created) => [created.key, created.job]));
    const made: { job: EnqueuedJob; tick: Date; correlationId: string; traceparent: string }[] = [];
    const { bus } = this.#deps;
    const base = { schedule: schedule.schedule, queue: schedule.queue, job_name: schedule.name };
    for (const { tick, correlationId, traceparent } of jobs) {
      const job = byKey.get(tickKey(schedule.schedule, tick));
      if (job !== undefined) {
        made.push({ job, tick, correlationId, traceparent });
        continue;
      }
      // The tick's key was taken: a schedule removed and created again under its name already ran this tick.
      bus.execute('schedule.skipped', { ticks: 1 }, { ...base, reason: 'duplicate', first_tick: tick.toISOString(), last_tick: tick.toISOString(), capped: false });
    }
    await this.#deps.dispatch(made);
    for (const { job, tick } of made) {
      bus.execute('schedule.fired', { lateness: Math.max(0, now.getTime() - tick.getTime()) * 1e6 }, { ...base, job_id: job.id, tick: tick.toISOString() });
    }
    for (const run of skipped) {
      bus.execute('schedule.skipped', { ticks: run.ticks }, {
        ...base, reason: run.reason, first_tick: run.first.toISOString(), last_tick: run.last.toISOString(), capped: run.capped,
      });
    }
  }
}
