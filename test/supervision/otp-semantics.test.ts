/**
 * The group-restart semantics checked against Erlang/OTP's supervisor.erl (restart/3,
 * restart_multiple_children, terminate_children, start_children, try_again_restart): what a failed
 * group restart does, which children a group restart brings back, and how an exit that arrives while
 * a restart is in progress is handled.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { IntensityExceededError } from '../../src/errors/classes.ts';
import { Supervisor, type Strategy } from '../../src/supervision/index.ts';
import { captureEvents, createTelemetry } from '../../src/telemetry/index.ts';
import { Fleet, intensity, stateOf, until, type FakeOptions } from './fakes.ts';

const running: Supervisor[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.stop()));
});

function setup(strategy: Strategy, children: [string, FakeOptions?][]) {
  const fleet = new Fleet();
  const bus = createTelemetry();
  const capture = captureEvents(bus, 'supervisor.*');
  const supervisor = new Supervisor({
    id: 'sup', strategy, intensity, telemetry: bus, children: children.map(([id, options]) => fleet.spec(id, options)),
  });
  running.push(supervisor);
  const restarted = (): [unknown, unknown][] => capture.of('supervisor.child.restarted').map((e) => [e.metadata.child, e.metadata.reason]);
  return { fleet, capture, supervisor, restarted };
}

describe('one_for_all: a child that fails to restart', () => {
  it('restarts the whole group again, stopping the children the failed attempt started', async () => {
    const { fleet, capture, supervisor, restarted } = setup('one_for_all', [['a'], ['b', { failStarts: (n) => n === 2 }], ['c']]);
    await supervisor.start();
    fleet.clearLog();

    fleet.current('c').crash();
    await capture.waitFor('supervisor.child.restarted', { count: 4 });
    expect(fleet.log).toEqual(['stop:b', 'stop:a', 'start:a', 'fail:b', 'stop:a', 'start:a', 'start:b', 'start:c']);
    expect(capture.of('supervisor.child.terminated').map((e) => [e.metadata.child, e.metadata.reason])).toEqual([
      ['c', 'crash'], ['b', 'shutdown'], ['a', 'shutdown'], ['a', 'shutdown'],
    ]);
    expect(restarted()).toEqual([['a', 'shutdown'], ['a', 'shutdown'], ['b', 'shutdown'], ['c', 'crash']]);
    // The crash and the failed start each count against the intensity.
    expect(capture.of('supervisor.child.restarted').at(-1)!.measurements.restarts).toBe(2);
    expect(supervisor.whichChildren().map((c) => c.state)).toEqual(['running', 'running', 'running']);
  });

  it('keeps the trigger\'s reason when the crashed child is the one that fails, and waits its next backoff', async () => {
    const backoff = { initialMs: 20, maxMs: 1_000, factor: 2, resetAfterMs: 60_000 };
    const { fleet, capture, supervisor, restarted } = setup('one_for_all', [['a'], ['b', { backoff, failStarts: (n) => n === 2 }], ['c']]);
    await supervisor.start();
    fleet.clearLog();

    fleet.current('b').crash();
    const events = await capture.waitFor('supervisor.child.restarted', { count: 4 });
    expect(fleet.log).toEqual(['stop:c', 'stop:a', 'start:a', 'fail:b', 'stop:a', 'start:a', 'start:b', 'start:c']);
    expect(restarted()).toEqual([['a', 'shutdown'], ['a', 'shutdown'], ['b', 'crash'], ['c', 'shutdown']]);
    // 20 ms before the first attempt, 40 ms (b's next delay) before the second; durations count from the crash.
    expect(events[2]!.measurements.duration).toBeGreaterThanOrEqual(58 * 1e6);
    expect(supervisor.whichChildren()[1]!.backoffMs).toBe(40);
  });
});

describe('group restarts bring back every non-temporary child of the group', () => {
  const children: [string, FakeOptions?][] = [
    ['a'], ['tmp', { restart: 'temporary' }], ['off'], ['tr', { restart: 'transient' }], ['b'],
  ];

  it.each<[Strategy, string, string[]]>([
    ['one_for_all', 'a', ['stop:b', 'stop:tmp', 'start:a', 'start:off', 'start:tr', 'start:b']],
    ['rest_for_one', 'a', ['stop:b', 'stop:tmp', 'start:a', 'start:off', 'start:tr', 'start:b']],
  ])('%s: one stopped by terminateChild and a transient that ended normally come back; a temporary one does not', async (strategy, crashing, log) => {
    const { fleet, capture, supervisor, restarted } = setup(strategy, children);
    await supervisor.start();
    await supervisor.terminateChild('off');
    fleet.current('tr').exit('normal');
    await until(() => stateOf(supervisor, 'tr') === 'terminated');
    fleet.clearLog();

    fleet.current(crashing).crash();
    await capture.waitFor('supervisor.child.restarted', { count: 4 });
    expect(fleet.log).toEqual(log);
    expect(restarted()).toEqual([['a', 'crash'], ['off', 'shutdown'], ['tr', 'shutdown'], ['b', 'shutdown']]);
    expect(supervisor.whichChildren().map((c) => [c.id, c.state])).toEqual([
      ['a', 'running'], ['tmp', 'terminated'], ['off', 'running'], ['tr', 'running'], ['b', 'running'],
    ]);
  });

  it('rest_for_one leaves children before the trigger as they are', async () => {
    const { fleet, capture, supervisor } = setup('rest_for_one', [['off'], ['a'], ['tr', { restart: 'transient' }], ['b']]);
    await supervisor.start();
    await supervisor.terminateChild('off');
    fleet.current('tr').exit('normal');
    await until(() => stateOf(supervisor, 'tr') === 'terminated');
    fleet.clearLog();

    fleet.current('a').crash();
    await capture.waitFor('supervisor.child.restarted', { count: 3 });
    expect(fleet.log).toEqual(['stop:b', 'start:a', 'start:tr', 'start:b']);
    expect(stateOf(supervisor, 'off')).toBe('terminated');
  });
});

describe('rest_for_one: an earlier child crashes while a restart is in progress', () => {
  it('completes the restart in progress, then stops and restarts again for the new exit', async () => {
    // c takes 250 ms to stop (it is killed), so a crashes while b's restart is still stopping c.
    const { fleet, capture, supervisor, restarted } = setup('rest_for_one', [['a'], ['b'], ['c', { onStop: 'hang', shutdownMs: 250 }]]);
    await supervisor.start();
    fleet.clearLog();

    fleet.current('b').crash();
    await until(() => fleet.log.includes('stop:c'));
    fleet.current('a').crash();
    const events = await capture.waitFor('supervisor.child.restarted', { count: 5 });
    expect(fleet.log).toEqual(['stop:c', 'kill:c', 'start:b', 'start:c', 'stop:c', 'kill:c', 'stop:b', 'start:a', 'start:b', 'start:c']);
    expect(restarted()).toEqual([['b', 'crash'], ['c', 'shutdown'], ['a', 'crash'], ['b', 'shutdown'], ['c', 'shutdown']]);
    expect(events.map((e) => e.measurements.restarts)).toEqual([1, 1, 2, 2, 2]);
    expect(supervisor.whichChildren().map((c) => [c.state, c.restarts])).toEqual([['running', 1], ['running', 2], ['running', 2]]);
  });

  it('a backoff wait is part of the restart in progress: the new exit is handled after it', async () => {
    const backoff = { initialMs: 500, maxMs: 500, resetAfterMs: 60_000 }; // a's crash must land inside it
    const { fleet, capture, supervisor, restarted } = setup('rest_for_one', [['a'], ['b', { backoff }], ['c']]);
    await supervisor.start();
    fleet.clearLog();

    fleet.current('b').crash();
    await until(() => stateOf(supervisor, 'b') === 'restarting');
    fleet.current('a').crash();
    await until(() => stateOf(supervisor, 'a') === 'restarting');
    expect(fleet.started('a')).toBe(1); // waits for b's restart to finish
    await capture.waitFor('supervisor.child.restarted', { count: 5 });
    expect(fleet.log).toEqual(['stop:c', 'start:b', 'start:c', 'stop:c', 'stop:b', 'start:a', 'start:b', 'start:c']);
    expect(restarted()).toEqual([['b', 'crash'], ['c', 'shutdown'], ['a', 'crash'], ['b', 'shutdown'], ['c', 'shutdown']]);
  });

  it('an exit put off this way is dropped when the child is terminated by hand meanwhile', async () => {
    const backoff = { initialMs: 500, maxMs: 500, resetAfterMs: 60_000 }; // a's crash must land inside it
    const { fleet, capture, supervisor } = setup('rest_for_one', [['a'], ['b', { backoff }], ['c']]);
    await supervisor.start();
    fleet.current('b').crash();
    await until(() => stateOf(supervisor, 'b') === 'restarting');
    fleet.current('a').crash();
    await until(() => stateOf(supervisor, 'a') === 'restarting');
    await supervisor.terminateChild('a');

    await capture.waitFor('supervisor.child.restarted', { count: 2 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(fleet.started('a')).toBe(1);
    expect(supervisor.whichChildren().map((c) => c.state)).toEqual(['terminated', 'running', 'running']);
  });
});

describe('intensity', () => {
  it('under one_for_all, a child that never starts again exhausts the intensity and is named', async () => {
    const fleet = new Fleet();
    const bus = createTelemetry();
    const capture = captureEvents(bus, 'supervisor.*');
    const supervisor = new Supervisor({
      id: 'sup', strategy: 'one_for_all', intensity: { maxRestarts: 3, periodMs: 60_000 }, telemetry: bus,
      children: [fleet.spec('a'), fleet.spec('b', { failStarts: (n) => n > 1 }), fleet.spec('c')],
    });
    running.push(supervisor);
    await supervisor.start();
    fleet.clearLog();

    fleet.current('c').crash();
    const exit = await supervisor.exited;
    const error = exit.error as IntensityExceededError;
    expect(error).toBeInstanceOf(IntensityExceededError);
    expect(error.child).toBe('b');
    expect(error.failures.map((f) => f.child)).toEqual(['c', 'b', 'b', 'b']);
    // Each failed attempt stopped again the a it had started; the last stop is the supervisor giving up.
    expect(fleet.log).toEqual([
      'stop:b', 'stop:a', 'start:a', 'fail:b', 'stop:a', 'start:a', 'fail:b', 'stop:a', 'start:a', 'fail:b', 'stop:a',
    ]);
    expect(capture.of('supervisor.intensity_exceeded')[0]!.measurements.restarts).toBe(4);
  });
});

describe('deliberate differences from OTP (docs/supervision.md table)', () => {
  it('an exit during the backoff before a failed restart\'s retry is handled after the retry', async () => {
    const backoff = { initialMs: 10, maxMs: 1_000, factor: 10, resetAfterMs: 60_000 };
    const { fleet, capture, supervisor, restarted } = setup('rest_for_one', [['a'], ['b', { backoff, failStarts: (n) => n === 2 }], ['c']]);
    await supervisor.start();
    fleet.clearLog();

    fleet.current('b').crash();
    await until(() => fleet.log.includes('fail:b')); // the retry now waits 100 ms
    fleet.current('a').crash();
    await capture.waitFor('supervisor.child.restarted', { count: 5 });
    expect(fleet.log).toEqual(['stop:c', 'fail:b', 'start:b', 'start:c', 'stop:c', 'stop:b', 'start:a', 'start:b', 'start:c']);
    expect(restarted()).toEqual([['b', 'crash'], ['c', 'shutdown'], ['a', 'crash'], ['b', 'shutdown'], ['c', 'shutdown']]);
  });

  it('a nested supervisor that gave up exits as a crash, so a transient parent restarts it', async () => {
    const fleet = new Fleet();
    const bus = createTelemetry();
    const capture = captureEvents(bus, 'supervisor.*');
    const inner = Supervisor.childSpec({
      id: 'inner', strategy: 'one_for_one', intensity: { maxRestarts: 0, periodMs: 60_000 }, restart: 'transient', children: [fleet.spec('w')],
    });
    const outer = new Supervisor({ id: 'outer', strategy: 'one_for_one', intensity, telemetry: bus, children: [inner] });
    running.push(outer);
    await outer.start();

    fleet.current('w').crash();
    const [event] = await capture.waitFor('supervisor.child.restarted');
    expect(event!.metadata).toMatchObject({ supervisor: 'outer', child: 'inner', reason: 'crash' });
    expect(fleet.started('w')).toBe(2);
  });
});
