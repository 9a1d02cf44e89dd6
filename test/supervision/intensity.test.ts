import { afterEach, describe, expect, it } from 'vitest';
import { SupervisorError } from '../../src/errors/classes.ts';
import { Supervisor } from '../../src/supervision/index.ts';
import { RestartIntensity } from '../../src/supervision/policy.ts';
import { captureEvents, createTelemetry } from '../../src/telemetry/index.ts';
import { Fleet, stateOf, until } from './fakes.ts';

const running: Supervisor[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.stop()));
});

async function crashReason(supervisor: Supervisor): Promise<SupervisorError> {
  const exit = await supervisor.exited;
  expect(exit.kind).toBe('crash');
  expect(exit.error).toBeInstanceOf(SupervisorError);
  return exit.error as SupervisorError;
}

describe('RestartIntensity', () => {
  it('counts restarts in a sliding window', () => {
    const intensity = new RestartIntensity(2, 100);
    expect(intensity.record(0)).toEqual({ restarts: 1, exceeded: false });
    expect(intensity.record(50)).toEqual({ restarts: 2, exceeded: false });
    expect(intensity.record(99)).toEqual({ restarts: 3, exceeded: true });
    // At 160 the restarts at 0 and 50 have left the window.
    expect(intensity.count(160)).toBe(1);
    expect(intensity.record(160)).toEqual({ restarts: 2, exceeded: false });
  });

  it('with maxRestarts 0 the first restart is one too many', () => {
    expect(new RestartIntensity(0, 1_000).record(0)).toEqual({ restarts: 1, exceeded: true });
  });
});

describe('intensity exceeded', () => {
  it('stops all children in reverse order, emits the event and fails the supervisor', async () => {
    const fleet = new Fleet();
    const bus = createTelemetry();
    const capture = captureEvents(bus, 'supervisor.*');
    const supervisor = new Supervisor({
      id: 'sup', strategy: 'one_for_one', intensity: { maxRestarts: 2, periodMs: 60_000 }, telemetry: bus,
      children: ['a', 'b', 'c', 'd'].map((id) => fleet.spec(id)),
    });
    running.push(supervisor);
    await supervisor.start();

    for (let n = 1; n <= 2; n++) {
      fleet.current('b').crash();
      await capture.waitFor('supervisor.child.restarted', { count: n });
    }
    fleet.clearLog();
    capture.clear();
    const lastCrash = new Error('third time');
    fleet.current('b').crash(lastCrash);

    const error = await crashReason(supervisor);
    expect(error.code).toBe('PITBOSS_INTENSITY_EXCEEDED');
    expect(error.cause).toBe(lastCrash);
    expect(supervisor.state).toBe('failed');
    expect(fleet.log).toEqual(['stop:d', 'stop:c', 'stop:a']);
    expect(capture.names()).toEqual([
      'supervisor.child.terminated', // b, crash
      'supervisor.intensity_exceeded',
      'supervisor.child.terminated', 'supervisor.child.terminated', 'supervisor.child.terminated', // d, c, a
      'supervisor.shutdown',
    ]);
    expect(capture.of('supervisor.intensity_exceeded')[0]!).toMatchObject({
      measurements: { restarts: 3 }, metadata: { supervisor: 'sup', strategy: 'one_for_one' },
    });
    expect(capture.of('supervisor.shutdown')[0]!.metadata.reason).toBe('intensity_exceeded');
    expect(fleet.started('b')).toBe(3);
    // stop() on a failed supervisor resolves at once.
    await supervisor.stop();
    expect(supervisor.state).toBe('failed');
  });

  it('counts a failed start of a restarted child as a restart', async () => {
    const fleet = new Fleet();
    const bus = createTelemetry();
    const capture = captureEvents(bus, 'supervisor.*');
    const supervisor = new Supervisor({
      id: 'sup', strategy: 'one_for_one', intensity: { maxRestarts: 3, periodMs: 60_000 }, telemetry: bus,
      children: [fleet.spec('a'), fleet.spec('b', { failStarts: (attempt) => attempt > 1 })],
    });
    running.push(supervisor);
    await supervisor.start();

    fleet.current('b').crash();
    const error = await crashReason(supervisor);
    expect(error.code).toBe('PITBOSS_INTENSITY_EXCEEDED');
    // The crash is restart 1; attempts 2, 3 fail (restarts 2, 3); attempt 4 fails and makes it 4 > 3.
    expect(fleet.log.filter((l) => l === 'fail:b')).toHaveLength(3);
    expect((error.cause as SupervisorError).code).toBe('PITBOSS_CHILD_START_FAILED');
    expect(capture.of('supervisor.intensity_exceeded')[0]!.measurements.restarts).toBe(4);
    expect(capture.of('supervisor.child.restarted')).toHaveLength(0);
  });

  it('retries a failed restart until it succeeds while within the intensity', async () => {
    const fleet = new Fleet();
    const bus = createTelemetry();
    const capture = captureEvents(bus, 'supervisor.*');
    const supervisor = new Supervisor({
      id: 'sup', strategy: 'rest_for_one', intensity: { maxRestarts: 5, periodMs: 60_000 }, telemetry: bus,
      children: [fleet.spec('a'), fleet.spec('b', { failStarts: (attempt) => attempt === 2 || attempt === 3 }), fleet.spec('c')],
    });
    running.push(supervisor);
    await supervisor.start();
    fleet.clearLog();

    fleet.current('a').crash();
    await capture.waitFor('supervisor.child.restarted', { count: 3 });
    // a came back first and stays up while b is retried; c waits for b (start order is kept).
    expect(fleet.log).toEqual(['stop:c', 'stop:b', 'start:a', 'fail:b', 'fail:b', 'start:b', 'start:c']);
    expect(capture.of('supervisor.child.restarted').map((e) => [e.metadata.child, e.measurements.restarts])).toEqual([
      ['a', 1], ['b', 3], ['c', 3],
    ]);
    expect(supervisor.state).toBe('running');
  });
});

describe('nested supervisors', () => {
  it('a failing child supervisor is restarted by its parent, and the parent escalates in turn', async () => {
    const fleet = new Fleet();
    const bus = createTelemetry();
    const capture = captureEvents(bus, 'supervisor.*');
    const outer = new Supervisor({
      id: 'outer', strategy: 'one_for_one', intensity: { maxRestarts: 1, periodMs: 60_000 }, telemetry: bus,
      children: [
        fleet.spec('a'),
        Supervisor.childSpec({ id: 'inner', strategy: 'one_for_one', intensity: { maxRestarts: 0, periodMs: 60_000 }, children: [fleet.spec('w')] }),
      ],
    });
    running.push(outer);
    await outer.start();
    const inner = outer.whichChildren().find((c) => c.id === 'inner')!.handle as Supervisor;
    expect(inner).toBeInstanceOf(Supervisor);
    expect(inner.state).toBe('running');

    // w crashes → inner gives up (maxRestarts 0) → outer sees inner crash and restarts it (a new instance).
    fleet.current('w').crash();
    const [restarted] = await capture.waitFor('supervisor.child.restarted');
    expect(restarted!.metadata).toMatchObject({ supervisor: 'outer', child: 'inner', reason: 'crash' });
    expect(inner.state).toBe('failed');
    expect(((await inner.exited).error as SupervisorError).code).toBe('PITBOSS_INTENSITY_EXCEEDED');
    const inner2 = outer.whichChildren().find((c) => c.id === 'inner')!.handle as Supervisor;
    expect(inner2).not.toBe(inner);
    expect(fleet.started('w')).toBe(2);
    expect(capture.of('supervisor.intensity_exceeded').map((e) => e.metadata.supervisor)).toEqual(['inner']);

    // Again: outer's second restart within its period is one too many, so outer fails too.
    fleet.current('w').crash();
    const error = await crashReason(outer);
    expect(error.code).toBe('PITBOSS_INTENSITY_EXCEEDED');
    expect((error.cause as SupervisorError).code).toBe('PITBOSS_INTENSITY_EXCEEDED');
    expect(capture.of('supervisor.intensity_exceeded').map((e) => e.metadata.supervisor)).toEqual(['inner', 'inner', 'outer']);
    expect(fleet.log.at(-1)).toBe('stop:a');
    expect(stateOf(outer, 'a')).toBe('terminated');
  });

  it('escalates through two levels and is absorbed where the intensity allows', async () => {
    const fleet = new Fleet();
    const bus = createTelemetry();
    const capture = captureEvents(bus, 'supervisor.*');
    const leaf = Supervisor.childSpec({ id: 'leaf', strategy: 'one_for_one', intensity: { maxRestarts: 0, periodMs: 60_000 }, children: [fleet.spec('w')] });
    const mid = Supervisor.childSpec({ id: 'mid', strategy: 'one_for_one', intensity: { maxRestarts: 0, periodMs: 60_000 }, children: [leaf, fleet.spec('m')] });
    const root = new Supervisor({ id: 'root', strategy: 'one_for_one', intensity: { maxRestarts: 5, periodMs: 60_000 }, telemetry: bus, children: [mid] });
    running.push(root);
    await root.start();

    fleet.current('w').crash();
    const [restarted] = await capture.waitFor('supervisor.child.restarted');
    expect(restarted!.metadata).toMatchObject({ supervisor: 'root', child: 'mid', reason: 'crash' });
    expect(capture.of('supervisor.intensity_exceeded').map((e) => e.metadata.supervisor)).toEqual(['leaf', 'mid']);
    expect(root.state).toBe('running');
    await until(() => fleet.started('m') === 2);
    expect(fleet.started('w')).toBe(2);

    // A whole tree stops depth-first, in reverse order at every level.
    fleet.clearLog();
    await root.stop();
    expect(fleet.log).toEqual(['stop:m', 'stop:w']);
    expect(capture.of('supervisor.shutdown').slice(-3).map((e) => e.metadata.supervisor)).toEqual(['leaf', 'mid', 'root']);
  });
});
