/**
 * What a schedule is: its definition (`ScheduleInput`, as a deployment declares it or `PUT
 * /schedules/:name` sends it), the checked form the store writes, and the row `list()` returns.
 * Checking happens here, before anything is written: a bad cron expression or time zone is a
 * PITBOSS_INVALID_CONFIG naming the key and what is wrong with it.
 */
import { Cron } from 'croner';
import { JobError } from '../../errors/classes.ts';
import { isQueueName, serialise } from '../store/validate.ts';

/**
 * What happens to ticks that came while no supervisor ran the schedule (everything was down):
 * `latest` (default) runs the newest missed tick once; `all` runs each of them (the newest
 * MAX_CATCH_UP at most); `skip` runs none, only ticks found on time.
 */
export type MissedTicks = 'latest' | 'all' | 'skip';

/** A schedule's definition: every tick of `cron` (in `timezone`, default UTC) enqueues job `name` with `data` into `queue`. */
export interface ScheduleInput {
  /** Five fields (minute…weekday) or six (a leading seconds field); croner syntax, e.g. `0 9 * * MON-FRI`. */
  readonly cron: string;
  readonly queue: string;
  /** The name of the job each tick enqueues. */
  readonly name: string;
  /** The payload of each job (JSON). */
  readonly data?: unknown;
  /** IANA time zone the expression is read in (`Europe/Paris`); default UTC. */
  readonly timezone?: string;
  /** Ticks missed while everything was down (default `latest`). */
  readonly missed?: MissedTicks;
}

/** Where a schedule came from: a deployment's `schedules` block (upserted at each start) or the runtime API. */
export type ScheduleSource = 'deployment' | 'runtime';

/** A schedule as `GET /schedules` and `jobs.schedules.list()` show it. */
export interface ScheduleRecord {
  /** The schedule's name (its key). */
  readonly schedule: string;
  readonly cron: string;
  /** Null: UTC. */
  readonly timezone: string | null;
  readonly queue: string;
  /** The name of the jobs it enqueues. */
  readonly name: string;
  readonly data: unknown;
  readonly missed: MissedTicks;
  readonly source: ScheduleSource;
  /** The next tick to come (by the database clock), or null when the expression has no future tick. */
  readonly nextRunAt: Date | null;
  /** The newest tick that enqueued a job, or null when none has yet. */
  readonly lastRunAt: Date | null;
  /** Ticks up to this instant are handled (fired or skipped); later ones are still to come. */
  readonly coveredUntil: Date;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** A checked definition, ready for the store. */
export interface CheckedSchedule {
  readonly schedule: string;
  readonly cron: string;
  readonly timezone: string | null;
  readonly queue: string;
  readonly name: string;
  /** The payload as JSON text (null: none). */
  readonly payload: string | null;
  readonly missed: MissedTicks;
}

const scheduleShape = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const jobNameShape = /^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,127}$/;
const missedPolicies: readonly MissedTicks[] = ['latest', 'all', 'skip'];
const MAX_CRON_LENGTH = 256;

const invalid = (field: string, message: string): JobError => new JobError('PITBOSS_INVALID_CONFIG', `${field} ${message}`, { field });

/** True when `timezone` is an IANA zone name this runtime knows. */
function isTimeZone(timezone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
    return true;
  } catch {
    return false;
  }
}

/**
 * The croner job of an expression, read in `timezone` (UTC when null: supervisors of one fleet may
 * run in different local zones, and a schedule must tick at the same instants on all of them).
 * Five or six fields; day-of-month and day-of-week combine with OR when both are restricted, as in
 * Vixie cron (croner's default).
 */
export function cronOf(cron: string, timezone: string | null): Cron {
  // utcOffset 0 rather than timezone 'UTC': the same instants, without a time-zone conversion per step (about 3× faster to enumerate).
  return new Cron(cron, { mode: '5-or-6-parts', paused: true, ...(timezone === null ? { utcOffset: 0 } : { timezone }) });
}

/** Checks a schedule name (1..128 of `[A-Za-z0-9_.-]`, as queue names: it travels in URLs and idempotency keys). */
export function checkScheduleName(field: string, value: unknown): string {
  if (typeof value !== 'string' || !scheduleShape.test(value)) {
    throw invalid(field, `must be 1..128 characters of [A-Za-z0-9_.-] starting with a letter or digit, got ${JSON.stringify(value)}`);
  }
  return value;
}

/**
 * Checks a definition, naming the offending key under `prefix` (`deployment.schedules.nightly`,
 * `schedules.nightly`): the expression parses and has a tick to come, the zone exists, queue and
 * job names are well formed, data is JSON within `maxPayloadBytes`.
 */
export function checkSchedule(prefix: string, schedule: string, input: ScheduleInput, maxPayloadBytes: number): CheckedSchedule {
  const name = checkScheduleName(`${prefix} (the schedule name)`, schedule);
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw invalid(prefix, 'must be an object { cron, queue, name, data?, timezone?, missed? }');
  const known = new Set(['cron', 'queue', 'name', 'data', 'timezone', 'missed']);
  const unknown = Object.keys(input).find((key) => !known.has(key));
  if (unknown !== undefined) throw invalid(`${prefix}.${unknown}`, 'is not a schedule key (cron, queue, name, data, timezone, missed)');
  const timezone = input.timezone ?? null;
  if (timezone !== null && (typeof timezone !== 'string' || !isTimeZone(timezone))) {
    throw invalid(`${prefix}.timezone`, `must be an IANA time zone such as Europe/Paris or UTC, got ${JSON.stringify(timezone)}`);
  }
  const cron = input.cron;
  if (typeof cron !== 'string' || cron.trim() === '' || cron.length > MAX_CRON_LENGTH) {
    throw invalid(`${prefix}.cron`, `must be a cron expression of 5 or 6 fields (seconds first when 6), got ${JSON.stringify(cron)}`);
  }
  let next: Date | null;
  try {
    next = cronOf(cron, timezone).nextRun();
  } catch (error) {
    // croner's messages name the field ("Invalid value for minute: 61"); drop its class prefix.
    const reason = (error as Error).message.replace(/^Cron\w*:\s*/, '');
    throw invalid(`${prefix}.cron`, `${JSON.stringify(cron)} is not a valid cron expression of 5 or 6 fields: ${reason}`);
  }
  if (next === null) throw invalid(`${prefix}.cron`, `${JSON.stringify(cron)} never fires (no date matches it)`);
  if (!isQueueName(input.queue)) {
    throw invalid(`${prefix}.queue`, `must be 1..128 characters of [A-Za-z0-9_.-] starting with a letter or digit, got ${JSON.stringify(input.queue)}`);
  }
  if (typeof input.name !== 'string' || !jobNameShape.test(input.name)) {
    throw invalid(`${prefix}.name`, `must be a job name: 1..128 characters of [A-Za-z0-9_.:/-] starting with a letter or digit, got ${JSON.stringify(input.name)}`);
  }
  const missed = input.missed ?? 'latest';
  if (!missedPolicies.includes(missed)) throw invalid(`${prefix}.missed`, `must be one of ${missedPolicies.join(', ')}, got ${JSON.stringify(missed)}`);
  let payload: string | null;
  try {
    payload = serialise(`${prefix}.data`, input.data, maxPayloadBytes);
  } catch (error) {
    const field = error instanceof JobError && error.field !== null ? error.field : `${prefix}.data`;
    throw new JobError('PITBOSS_INVALID_CONFIG', (error as Error).message, { field });
  }
  return { schedule: name, cron: cron.trim(), timezone, queue: input.queue, name: input.name, payload, missed };
}
