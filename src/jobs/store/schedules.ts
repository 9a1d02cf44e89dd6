/**
 * `store.schedules`: the schedules table (migration 7) — list, upsert and remove definitions, and
 * `fire`, which advances a schedule's cursor and inserts its ticks' jobs in one statement (see
 * sql/schedules.ts for why that makes a tick fire once across a fleet). Definitions are checked by
 * the caller (schedules/spec.ts); the store checks what it needs to write safely.
 */
import type { CheckedSchedule, MissedTicks, ScheduleRecord, ScheduleSource } from '../schedules/spec.ts';
import type { EnqueuedJob } from '../types.ts';
import { settle, type StoreEngine } from './engine.ts';
import { toEnqueued } from './rows.ts';
import { scheduleSql } from './sql/schedules.ts';
import type { SqlRow } from './types.ts';

/** A schedule's row as the store holds it: the definition as listed, with its cursor and revision in place of the derived times. */
export interface StoredSchedule extends Omit<ScheduleRecord, 'nextRunAt' | 'lastRunAt' | 'coveredUntil'> {
  /** Changes with every edit (a decimal string: bigint). */
  readonly revision: string;
  /** Ticks up to here are handled. */
  readonly cursor: Date;
  readonly lastFiredAt: Date | null;
}

/** One application of a tick plan (see schedules/ticks.ts). */
export interface FireInput {
  readonly schedule: string;
  readonly revision: string;
  /** The cursor as read: the statement applies only if it is still there. */
  readonly from: Date;
  readonly to: Date;
  /** One entry per tick to enqueue, oldest first. */
  readonly jobs: readonly { readonly tick: Date; readonly correlationId: string; readonly traceparent: string }[];
}

/** What `fire` did: whether this call moved the cursor, and the jobs it created. */
export interface FireResult {
  readonly advanced: boolean;
  /** The jobs created, each with its idempotency key (a tick whose key was taken created none). */
  readonly created: readonly { readonly key: string; readonly job: EnqueuedJob }[];
}

const asDate = (value: unknown): Date => (value instanceof Date ? value : new Date(String(value)));

/** The idempotency key of a tick's job: which schedule and tick made it. */
export const tickKey = (schedule: string, tick: Date): string => `schedule:${schedule}:${tick.toISOString()}`;

function toStored(row: SqlRow): StoredSchedule {
  return {
    schedule: String(row.name),
    cron: String(row.cron),
    timezone: row.timezone === null || row.timezone === undefined ? null : String(row.timezone),
    queue: String(row.queue),
    name: String(row.job_name),
    data: row.payload ?? null,
    missed: row.missed as MissedTicks,
    source: row.source as ScheduleSource,
    revision: String(row.revision),
    cursor: asDate(row.cursor_at),
    lastFiredAt: row.last_fired_at === null || row.last_fired_at === undefined ? null : asDate(row.last_fired_at),
    createdAt: asDate(row.created_at),
    updatedAt: asDate(row.updated_at),
  };
}

/** `store.schedules`: cron schedules and the tick each has covered. */
export class SchedulesFacet {
  /** The largest payload (as JSON) a schedule's jobs may carry: the store's limit for any job. */
  readonly maxPayloadBytes: number;
  readonly #engine: StoreEngine;

  /** @internal Built by JobStore.open. */
  constructor(engine: StoreEngine, maxPayloadBytes: number) {
    this.#engine = engine;
    this.maxPayloadBytes = maxPayloadBytes;
  }

  /** Every schedule by name, and the database's clock (the one clock every supervisor's scheduler reads). */
  list(): Promise<{ now: Date; schedules: StoredSchedule[] }> {
    return settle(() => this.#engine.open('schedules.list') && this.#engine.health.once('schedules.list', async () => {
      const rows = await this.#engine.client.query(scheduleSql.list);
      return { now: asDate(rows[0]?.db_now), schedules: rows.filter((row) => row.name !== null && row.name !== undefined).map(toStored) };
    }));
  }

  /** Creates or replaces a schedule (see `scheduleSql.upsert`: an unchanged definition keeps its cursor). Idempotent, so retried through an outage. */
  upsert(schedule: CheckedSchedule, source: ScheduleSource): Promise<{ now: Date; schedule: StoredSchedule }> {
    return settle(() => this.#engine.open('schedules.upsert') && this.#engine.health.retry('schedules.upsert', async () => {
      const { schedule: name, cron, timezone, queue, name: jobName, payload, missed } = schedule;
      const [row] = await this.#engine.client.query(scheduleSql.upsert, [name, cron, timezone, queue, jobName, payload, missed, source]);
      return { now: asDate(row!.db_now), schedule: toStored(row!) };
    }));
  }

  /** Deletes a schedule; false when there was none. Its jobs already enqueued stay. */
  remove(schedule: string): Promise<boolean> {
    return settle(() => this.#engine.open('schedules.remove') && this.#engine.health.write('schedules.remove', async () => {
      return (await this.#engine.client.query(scheduleSql.remove, [String(schedule)])).length > 0;
    }));
  }

  /**
   * Moves the cursor from `from` to `to` and inserts one job per entry of `jobs`, keyed
   * `schedule:<name>:<tick ISO>`, in one statement. Not retried: a try whose reply was lost may have
   * committed; the next pass re-reads the cursor and so never fires a tick twice.
   */
  fire(input: FireInput): Promise<FireResult> {
    return settle(() => this.#engine.open('schedules.fire') && this.#engine.health.write('schedules.fire', async () => {
      const newest = input.jobs.length === 0 ? null : input.jobs[input.jobs.length - 1]!.tick.toISOString();
      const rows = await this.#engine.client.query(scheduleSql.fire, [
        input.schedule, input.revision, input.from.toISOString(), input.to.toISOString(), newest,
        input.jobs.map((job) => tickKey(input.schedule, job.tick)), input.jobs.map((job) => job.correlationId), input.jobs.map((job) => job.traceparent),
      ]);
      const created = rows.filter((row) => row.id !== null && row.id !== undefined).map((row) => ({ key: String(row.idempotency_key), job: toEnqueued(row, true) }));
      return { advanced: Number(rows[0]?.advanced ?? 0) > 0, created };
    }));
  }
}
