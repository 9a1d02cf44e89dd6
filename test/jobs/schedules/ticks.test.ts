/**
 * Tick arithmetic and schedule checking, pure (no store, no clock): which ticks are due after a
 * cursor, what each missed-tick policy fires and skips, time zones and DST, and the errors a bad
 * definition gets.
 */
import { describe, expect, it } from 'vitest';
import { checkSchedule, cronOf } from '../../../src/jobs/schedules/spec.ts';
import { MAX_CATCH_UP, planTicks } from '../../../src/jobs/schedules/ticks.ts';

const at = (iso: string): Date => new Date(iso);
const iso = (dates: readonly Date[]): string[] => dates.map((d) => d.toISOString());
const MISSED_AFTER = 5_000;

describe('due ticks', () => {
  const everySecond = cronOf('* * * * * *', null);

  it('nothing is due before the next tick; the cursor itself is never due again', () => {
    expect(planTicks(everySecond, at('2026-01-01T00:00:00.000Z'), at('2026-01-01T00:00:00.999Z'), 'latest', MISSED_AFTER))
      .toEqual({ fire: [], skipped: [], cursor: null });
  });

  it('a tick is due once now reaches it, and becomes the new cursor', () => {
    const plan = planTicks(everySecond, at('2026-01-01T00:00:00.300Z'), at('2026-01-01T00:00:01.000Z'), 'latest', MISSED_AFTER);
    expect(iso(plan.fire)).toEqual(['2026-01-01T00:00:01.000Z']);
    expect(plan.skipped).toEqual([]);
    expect(plan.cursor).toEqual(at('2026-01-01T00:00:01.000Z'));
  });

  it('late ticks that are not yet missed all fire, whatever the policy', () => {
    for (const policy of ['latest', 'all', 'skip'] as const) {
      const plan = planTicks(everySecond, at('2026-01-01T00:00:00Z'), at('2026-01-01T00:00:03.500Z'), policy, MISSED_AFTER);
      expect(iso(plan.fire)).toEqual(['2026-01-01T00:00:01.000Z', '2026-01-01T00:00:02.000Z', '2026-01-01T00:00:03.000Z']);
      expect(plan.skipped).toEqual([]);
    }
  });

  it('five fields tick on the minute; six fields carry seconds', () => {
    const minutes = cronOf('*/15 * * * *', null);
    expect(iso(planTicks(minutes, at('2026-01-01T00:00:00Z'), at('2026-01-01T00:15:00Z'), 'latest', MISSED_AFTER).fire)).toEqual(['2026-01-01T00:15:00.000Z']);
    const seconds = cronOf('*/2 * * * * *', null);
    expect(iso(planTicks(seconds, at('2026-01-01T00:00:00Z'), at('2026-01-01T00:00:02.001Z'), 'latest', MISSED_AFTER).fire)).toEqual(['2026-01-01T00:00:02.000Z']);
  });
});

describe('missed-tick policies (everything was down)', () => {
  const hourly = cronOf('0 * * * *', null);
  const cursor = at('2026-01-01T00:00:00Z');
  // Down from just after midnight until 03:30: the 01:00, 02:00 and 03:00 ticks were missed.
  const now = at('2026-01-01T03:30:00Z');

  it('latest (the default) runs the newest missed tick once and skips the others', () => {
    const plan = planTicks(hourly, cursor, now, 'latest', MISSED_AFTER);
    expect(iso(plan.fire)).toEqual(['2026-01-01T03:00:00.000Z']);
    expect(plan.skipped).toEqual([{ reason: 'missed', first: at('2026-01-01T01:00:00Z'), last: at('2026-01-01T02:00:00Z'), ticks: 2, capped: false }]);
    expect(plan.cursor).toEqual(at('2026-01-01T03:00:00Z'));
  });

  it('all runs every missed tick, oldest first', () => {
    const plan = planTicks(hourly, cursor, now, 'all', MISSED_AFTER);
    expect(iso(plan.fire)).toEqual(['2026-01-01T01:00:00.000Z', '2026-01-01T02:00:00.000Z', '2026-01-01T03:00:00.000Z']);
    expect(plan.skipped).toEqual([]);
  });

  it(`all runs at most the newest ${MAX_CATCH_UP} and says it skipped the older ones`, () => {
    const plan = planTicks(hourly, cursor, at('2026-01-11T00:30:00Z'), 'all', MISSED_AFTER);
    expect(plan.fire).toHaveLength(MAX_CATCH_UP);
    expect(plan.fire[plan.fire.length - 1]).toEqual(at('2026-01-11T00:00:00Z'));
    expect(plan.skipped).toEqual([{ reason: 'catch_up_limit', first: at('2026-01-01T01:00:00Z'), last: at('2026-01-06T20:00:00Z'), ticks: 240 - MAX_CATCH_UP, capped: false }]);
  });

  it('skip runs none of the missed ticks, only one found in time', () => {
    const plan = planTicks(hourly, cursor, now, 'skip', MISSED_AFTER);
    expect(plan.fire).toEqual([]);
    expect(plan.skipped).toEqual([{ reason: 'missed', first: at('2026-01-01T01:00:00Z'), last: at('2026-01-01T03:00:00Z'), ticks: 3, capped: false }]);
    expect(plan.cursor).toEqual(at('2026-01-01T03:00:00Z'));
    const inTime = planTicks(hourly, cursor, at('2026-01-01T03:00:02Z'), 'skip', MISSED_AFTER);
    expect(iso(inTime.fire)).toEqual(['2026-01-01T03:00:00.000Z']);
    expect(inTime.skipped.map((s) => s.ticks)).toEqual([2]);
  });

  it('a gap too long to count (a per-second schedule down a day) is reported capped, and the newest tick still fires', () => {
    const everySecond = cronOf('* * * * * *', null);
    const plan = planTicks(everySecond, cursor, at('2026-01-02T00:00:00.500Z'), 'latest', MISSED_AFTER);
    // The five ticks within missedAfterMs are late, not missed: they fire.
    expect(iso(plan.fire)).toEqual(['2026-01-01T23:59:56.000Z', '2026-01-01T23:59:57.000Z', '2026-01-01T23:59:58.000Z', '2026-01-01T23:59:59.000Z', '2026-01-02T00:00:00.000Z']);
    expect(plan.skipped).toHaveLength(1);
    expect(plan.skipped[0]).toMatchObject({ reason: 'missed', first: at('2026-01-01T00:00:01Z'), last: at('2026-01-01T23:59:55Z'), capped: true });
    expect(plan.cursor).toEqual(at('2026-01-02T00:00:00Z'));
  });
});

describe('time zones and DST', () => {
  it('an expression without a zone is read in UTC, with one in that zone', () => {
    const from = at('2026-06-01T00:00:00Z');
    expect(cronOf('0 9 * * *', null).nextRun(from)).toEqual(at('2026-06-01T09:00:00Z'));
    expect(cronOf('0 9 * * *', 'Europe/Paris').nextRun(from)).toEqual(at('2026-06-01T07:00:00Z'));
    expect(cronOf('0 9 * * *', 'America/New_York').nextRun(from)).toEqual(at('2026-06-01T13:00:00Z'));
  });

  it('spring forward: a fixed time inside the gap runs once, just after it', () => {
    // Europe/Paris, 2026-03-29: 02:00 → 03:00; 02:30 does not exist that day.
    const cron = cronOf('0 30 2 * * *', 'Europe/Paris');
    const plan = planTicks(cron, at('2026-03-28T12:00:00Z'), at('2026-03-30T12:00:00Z'), 'all', MISSED_AFTER);
    expect(iso(plan.fire)).toEqual(['2026-03-29T01:00:00.000Z', '2026-03-30T00:30:00.000Z']);
  });

  it('fall back: a fixed time runs once, an interval schedule on both occurrences of the repeated hour', () => {
    // Europe/Paris, 2026-10-25: 03:00 → 02:00; 02:00–02:59 happen twice.
    const fixed = cronOf('0 30 2 * * *', 'Europe/Paris');
    expect(iso(planTicks(fixed, at('2026-10-24T12:00:00Z'), at('2026-10-25T12:00:00Z'), 'all', MISSED_AFTER).fire)).toEqual(['2026-10-25T00:30:00.000Z']);
    const halfHourly = cronOf('0 */30 2 * * *', 'Europe/Paris');
    expect(iso(planTicks(halfHourly, at('2026-10-24T12:00:00Z'), at('2026-10-25T12:00:00Z'), 'all', MISSED_AFTER).fire))
      .toEqual(['2026-10-25T00:00:00.000Z', '2026-10-25T00:30:00.000Z', '2026-10-25T01:00:00.000Z', '2026-10-25T01:30:00.000Z']);
  });
});

describe('checking a definition', () => {
  const check = (input: Record<string, unknown>, name = 'nightly') => () => checkSchedule(`schedules.${name}`, name, { cron: '0 3 * * *', queue: 'q', name: 'job', ...input } as never, 1024);

  it('takes a good one, trimmed, with defaults', () => {
    expect(check({ cron: ' 0 3 * * * ', data: { a: 1 } })()).toEqual({ schedule: 'nightly', cron: '0 3 * * *', timezone: null, queue: 'q', name: 'job', payload: '{"a":1}', missed: 'latest' });
  });

  it.each([
    [{ cron: '0 3 * *' }, /^schedules\.nightly\.cron "0 3 \* \*" is not a valid cron expression of 5 or 6 fields: .*exactly five, six/],
    [{ cron: '61 * * * *' }, /^schedules\.nightly\.cron .*Invalid value for minute: 61/],
    [{ cron: '0 0 0 0 0 0 0' }, /^schedules\.nightly\.cron .*5 or 6 parts/],
    [{ cron: '0 0 30 2 *' }, /^schedules\.nightly\.cron "0 0 30 2 \*" never fires/],
    [{ cron: 5 }, /^schedules\.nightly\.cron must be a cron expression/],
    [{ timezone: 'Mars/Olympus' }, /^schedules\.nightly\.timezone must be an IANA time zone .*"Mars\/Olympus"/],
    [{ queue: 'has space' }, /^schedules\.nightly\.queue must be 1\.\.128 characters/],
    [{ name: '' }, /^schedules\.nightly\.name must be a job name/],
    [{ missed: 'some' }, /^schedules\.nightly\.missed must be one of latest, all, skip, got "some"/],
    [{ data: 'x'.repeat(2000) }, /^schedules\.nightly\.data is \d+ bytes as JSON, over the 1024-byte limit/],
    [{ data: { n: 10n } }, /^schedules\.nightly\.data\.n /],
    [{ every: '5m' }, /^schedules\.nightly\.every is not a schedule key/],
  ])('refuses %o naming the key', (input, message) => {
    expect(check(input)).toThrow(expect.objectContaining({ code: 'PITBOSS_INVALID_CONFIG', message: expect.stringMatching(message) }));
  });

  it('refuses a schedule name that could not travel in a URL or key', () => {
    expect(check({}, 'a/b')).toThrow(/schedules\.a\/b \(the schedule name\) must be 1\.\.128 characters of \[A-Za-z0-9_.-\]/);
  });
});
