import { afterEach, describe, expect, it } from 'vitest';
import { Supervisor, type BackoffOptions } from '../../src/supervision/index.ts';
import { BackoffStreak, backoffDelay } from '../../src/supervision/policy.ts';
import { captureEvents, createTelemetry } from '../../src/telemetry/index.ts';
import { Fleet, settle, stateOf, until, type FakeOptions } from './fakes.ts';

const running: Supervisor[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.stop()));
});

/** One supervisor over the given children; records each child's chosen backoff at every restart. */
function setup(children: [string, FakeOptions][]) {
  const fleet = new Fleet();
  const bus = createTelemetry();
  const capture = captureEvents(bus, 'supervisor.*');
  const supervisor = new Supervisor({
    id: 'sup', strategy: 'one_for_one', intensity: { maxRestarts: 100, periodMs: 60_000 }, telemetry: bus,
    children: children.map(([id, options]) => fleet.spec(id, options)),
  });
  const delays: number[] = [];
  bus.attach('record-backoff', 'supervisor.child.restarted', (_event, _m, metadata) => {
    delays.push(supervisor.whichChildren().find((c) => c.id === metadata.child)!.backoffMs);
  });
  running.push(supervisor);
  return { fleet, capture, supervisor, delays };
}

describe('backoff policy', () => {
  const backoff = { initialMs: 100, maxMs: 1_000, factor: 2, resetAfterMs: 5_000 };

  it('grows by factor per consecutive failure, capped at maxMs', () => {
    expect([0, 1, 2, 3, 4, 5].map((n) => backoffDelay(backoff, n))).toEqual([100, 200, 400, 800, 1_000, 1_000]);
    expect(backoffDelay(null, 3)).toBe(0);
  });

  it('resets after a run of at least resetAfterMs; failed starts never reset', () => {
    const streak = new BackoffStreak(backoff);
    expect([streak.next(10), streak.next(null), streak.next(4_999)]).toEqual([100, 200, 400]);
    expect(streak.next(5_000)).toBe(100);
    expect(streak.next(0)).toBe(200);
    expect(new BackoffStreak(null).next(0)).toBe(0);
  });
});

describe('restart backoff', () => {
  const fast: BackoffOptions = { initialMs: 5, maxMs: 40, factor: 2, resetAfterMs: 60_000 };

  it('delays consecutive restarts longer and longer, up to maxMs', async () => {
    const { capture, supervisor, delays } = setup([['w', { backoff: fast, crashOnStart: (i) => i <= 6 }]]);
    await supervisor.start();
    const restarted = await capture.waitFor('supervisor.child.restarted', { count: 6 });
    expect(delays).toEqual([5, 10, 20, 40, 40, 40]);
    // Each restart took at least its backoff, give or take timer granularity (lower bounds only: a
    // loaded machine may take much longer).
    restarted.forEach((event, i) => expect(event.measurements.duration).toBeGreaterThanOrEqual((delays[i]! - 2) * 1e6));
    expect(supervisor.whichChildren()[0]).toMatchObject({ state: 'running', restarts: 6, backoffMs: 40 });
  });

  it('starts over after the child ran for resetAfterMs', async () => {
    const backoff = { ...fast, resetAfterMs: 50 };
    const { fleet, capture, supervisor, delays } = setup([['w', { backoff, crashOnStart: (i) => i <= 3 || i === 5 }]]);
    await supervisor.start();
    await capture.waitFor('supervisor.child.restarted', { count: 3 });
    expect(delays).toEqual([5, 10, 20]);

    await settle(100); // instance 4 stays up longer than resetAfterMs
    fleet.current('w').crash();
    await capture.waitFor('supervisor.child.restarted', { count: 5 });
    expect(delays).toEqual([5, 10, 20, 5, 10]);
  });

  it('continues the streak through failed start attempts', async () => {
    const backoff = { initialMs: 5, maxMs: 1_000, factor: 2, resetAfterMs: 60_000 };
    const { fleet, capture, supervisor, delays } = setup([['w', { backoff, failStarts: (n) => n === 2 || n === 3 }]]);
    await supervisor.start();
    fleet.current('w').crash();
    const [restarted] = await capture.waitFor('supervisor.child.restarted');
    // 5 ms before attempt 2 (fails), 10 ms before attempt 3 (fails), 20 ms before attempt 4.
    expect(delays).toEqual([20]);
    expect(restarted!.measurements.duration).toBeGreaterThanOrEqual(30 * 1e6);
    expect(fleet.log).toEqual(['start:w', 'fail:w', 'fail:w', 'start:w']);
    fleet.current('w').crash();
    await capture.waitFor('supervisor.child.restarted', { count: 2 });
    expect(delays).toEqual([20, 40]);
  });

  it('stop() during a backoff wait returns promptly and starts nothing', async () => {
    const slow = { initialMs: 30_000, maxMs: 30_000, resetAfterMs: 60_000 };
    const { fleet, capture, supervisor } = setup([['a', {}], ['w', { backoff: slow }]]);
    await supervisor.start();
    fleet.current('w').crash();
    await until(() => stateOf(supervisor, 'w') === 'restarting');
    expect(supervisor.whichChildren()[1]!.backoffMs).toBe(30_000);

    const began = performance.now();
    await supervisor.stop();
    expect(performance.now() - began).toBeLessThan(5_000);
    expect(fleet.started('w')).toBe(1);
    expect(supervisor.state).toBe('stopped');
    expect(stateOf(supervisor, 'w')).toBe('terminated');
    expect(capture.of('supervisor.child.restarted')).toHaveLength(0);
  });

  it("one child's backoff does not hold up another child's restart (one_for_one)", async () => {
    const slow = { initialMs: 30_000, maxMs: 30_000, resetAfterMs: 60_000 };
    const { fleet, capture, supervisor } = setup([['slow', { backoff: slow }], ['quick', {}]]);
    await supervisor.start();
    fleet.current('slow').crash();
    await until(() => stateOf(supervisor, 'slow') === 'restarting');
    fleet.current('quick').crash();
    const [restarted] = await capture.waitFor('supervisor.child.restarted');
    expect(restarted!.metadata.child).toBe('quick');
    expect(stateOf(supervisor, 'slow')).toBe('restarting');
  });

  it('terminateChild cancels a pending restart; restartChild pre-empts it', async () => {
    // Long enough that the manual calls below always land inside the wait, even on a loaded machine.
    const wait = { initialMs: 1_000, maxMs: 1_000, resetAfterMs: 60_000 };
    const { fleet, supervisor } = setup([['t', { backoff: wait }], ['r', { backoff: wait }]]);
    await supervisor.start();
    fleet.current('t').crash();
    fleet.current('r').crash();
    await until(() => stateOf(supervisor, 't') === 'restarting' && stateOf(supervisor, 'r') === 'restarting');

    await supervisor.terminateChild('t');
    await supervisor.restartChild('r');
    expect(stateOf(supervisor, 't')).toBe('terminated');
    expect(stateOf(supervisor, 'r')).toBe('running');
    expect(fleet.started('r')).toBe(2);

    await settle(1_400); // past the backoff: the cancelled restarts must not happen
    expect(fleet.started('t')).toBe(1);
    expect(fleet.started('r')).toBe(2);
  });
});
