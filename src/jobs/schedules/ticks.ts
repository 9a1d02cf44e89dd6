/**
 * Tick arithmetic, pure: given a schedule's expression, the instant its ticks are handled up to
 * (the cursor) and the database's now, which ticks to fire and which to skip, and why. The
 * scheduler applies the plan in one statement (sql/schedules.ts); nothing here touches a clock.
 *
 * A tick is "due" once now has reached it, and "missed" once it is more than `missedAfterMs` past
 * (default 5 s; a scheduler handles a tick within a pass or two, so an older one means nobody ran
 * the schedule: every supervisor, or the store, was down). A late tick that is not missed fires
 * whatever the policy; missed ones follow the schedule's `missed` policy —
 *   - `latest`: the newest due tick fires (missed or not); the other missed ones are skipped.
 *   - `all`: each fires, oldest first; beyond the newest MAX_CATCH_UP the oldest are skipped (`catch_up_limit`).
 *   - `skip`: missed ticks are skipped; only ticks found in time fire.
 */
import type { Cron } from 'croner';
import type { MissedTicks } from './spec.ts';

/** Most ticks one plan fires (`all` after a long outage). */
export const MAX_CATCH_UP = 100;
/**
 * Ticks counted per plan: a longer gap (a per-second schedule down for over a quarter of an hour)
 * reports this many, `capped`. Croner steps through a time zone at some 50–150 µs a tick, so this
 * bounds a pass's work after an outage to tens of milliseconds.
 */
const MAX_COUNTED = 1_000;

/** Why ticks were not run: past `missedAfterMs` under `latest` or `skip`, or beyond what `all` catches up on. */
type SkipReason = 'missed' | 'catch_up_limit';

/** A run of consecutive ticks skipped for one reason. */
interface SkippedTicks {
  readonly reason: SkipReason;
  readonly first: Date;
  readonly last: Date;
  /** How many (at most MAX_COUNTED; `capped` says there were more). */
  readonly ticks: number;
  readonly capped: boolean;
}

/** What one pass does for one schedule. */
export interface TickPlan {
  /** Ticks to enqueue a job for, oldest first. */
  readonly fire: readonly Date[];
  readonly skipped: readonly SkippedTicks[];
  /** The newest due tick: the cursor once the plan is applied (null: nothing is due). */
  readonly cursor: Date | null;
}

/** Due ticks after `cursor` up to `now`, oldest first; `capped` when there were more than MAX_COUNTED. */
function dueTicks(cron: Cron, cursor: Date, now: Date): { due: Date[]; capped: boolean } {
  const due: Date[] = [];
  for (const tick of cron.enumerate(cursor)) {
    if (tick.getTime() > now.getTime()) break;
    if (due.length === MAX_COUNTED) return { due, capped: true };
    due.push(tick);
  }
  return { due, capped: false };
}

/** The newest `n` ticks at or before `now`, oldest first. */
function newestTicks(cron: Cron, now: Date, n: number): Date[] {
  // previousRuns counts runs strictly before its reference (earlier ones within its second too): 1 ms past now takes a tick at now.
  return cron.previousRuns(n, new Date(now.getTime() + 1)).reverse();
}

/**
 * The plan for the ticks of `cron` after `cursor` up to `now` under policy `missed`; a tick more
 * than `missedAfterMs` before `now` is missed.
 */
export function planTicks(cron: Cron, cursor: Date, now: Date, missed: MissedTicks, missedAfterMs: number): TickPlan {
  const { due, capped } = dueTicks(cron, cursor, now);
  if (due.length === 0) return { fire: [], skipped: [], cursor: null };
  // The newest MAX_CATCH_UP due ticks are the candidates; older ones are never fired.
  const tail = capped ? newestTicks(cron, now, MAX_CATCH_UP) : due.slice(-MAX_CATCH_UP);
  const older = capped ? due.filter((tick) => tick.getTime() < tail[0]!.getTime()) : due.slice(0, due.length - tail.length);
  const newest = tail[tail.length - 1]!;
  const inTime = tail.filter((tick) => now.getTime() - tick.getTime() <= missedAfterMs);
  const fire = missed === 'all' ? tail : missed === 'latest' && inTime.length === 0 ? [newest] : inTime;
  const notFired = tail.slice(0, tail.length - fire.length);
  const skipped: SkippedTicks[] = [];
  const run = (reason: SkipReason, ticks: readonly Date[]): void => {
    if (ticks.length > 0) skipped.push({ reason, first: ticks[0]!, last: ticks[ticks.length - 1]!, ticks: ticks.length, capped });
  };
  if (missed === 'all') run('catch_up_limit', older);
  else run('missed', [...older, ...notFired]);
  return { fire, skipped, cursor: newest };
}
