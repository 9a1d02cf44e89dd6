import { afterEach, describe, expect, it } from 'vitest';
import { Supervisor, type Strategy } from '../../src/supervision/index.ts';
import { captureEvents, createTelemetry } from '../../src/telemetry/index.ts';
import { Fleet, intensity, stateOf } from './fakes.ts';

const running: Supervisor[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.stop()));
});

function setup(strategy: Strategy, ids: string[] = ['a', 'b', 'c']) {
  const fleet = new Fleet();
  const bus = createTelemetry();
  const capture = captureEvents(bus, 'supervisor.*');
  const supervisor = new Supervisor({ id: 'sup', strategy, intensity, telemetry: bus, children: ids.map((id) => fleet.spec(id)) });
  running.push(supervisor);
  return { fleet, capture, supervisor };
}

describe('start and stop order', () => {
  it('starts children in order and stops them in reverse', async () => {
    const { fleet, capture, supervisor } = setup('one_for_one');
    await supervisor.start();
    expect(fleet.log).toEqual(['start:a', 'start:b', 'start:c']);
    expect(supervisor.state).toBe('running');
    expect(capture.of('supervisor.child.started').map((e) => e.metadata.child)).toEqual(['a', 'b', 'c']);

    await supervisor.stop();
    expect(fleet.log.slice(3)).toEqual(['stop:c', 'stop:b', 'stop:a']);
    const terminated = capture.of('supervisor.child.terminated');
    expect(terminated.map((e) => [e.metadata.child, e.metadata.reason])).toEqual([['c', 'shutdown'], ['b', 'shutdown'], ['a', 'shutdown']]);
    expect(capture.of('supervisor.shutdown')).toHaveLength(1);
    expect(capture.of('supervisor.shutdown')[0]!.metadata).toMatchObject({ supervisor: 'sup', reason: 'shutdown', strategy: 'one_for_one' });
    expect(supervisor.state).toBe('stopped');
    await expect(supervisor.exited).resolves.toEqual({ kind: 'shutdown' });
    expect(supervisor.whichChildren().map((c) => c.state)).toEqual(['terminated', 'terminated', 'terminated']);
  });
});

describe('one_for_one', () => {
  it('restarts only the child that crashed', async () => {
    const { fleet, capture, supervisor } = setup('one_for_one');
    await supervisor.start();
    const [a, c] = [fleet.current('a'), fleet.current('c')];
    fleet.clearLog();

    fleet.current('b').crash();
    const [restarted] = await capture.waitFor('supervisor.child.restarted');
    expect(fleet.log).toEqual(['start:b']);
    expect(fleet.current('a')).toBe(a);
    expect(fleet.current('c')).toBe(c);
    expect(fleet.started('b')).toBe(2);
    expect(restarted!.metadata).toMatchObject({ supervisor: 'sup', child: 'b', reason: 'crash', strategy: 'one_for_one' });
    expect(restarted!.measurements.restarts).toBe(1);
    expect(capture.of('supervisor.child.terminated').map((e) => [e.metadata.child, e.metadata.reason])).toEqual([['b', 'crash']]);
    expect(supervisor.whichChildren().map((c) => [c.id, c.state, c.restarts])).toEqual([
      ['a', 'running', 0], ['b', 'running', 1], ['c', 'running', 0],
    ]);
  });
});

describe('one_for_all', () => {
  it('stops the others in reverse order and restarts all in order', async () => {
    const { fleet, capture, supervisor } = setup('one_for_all');
    await supervisor.start();
    fleet.clearLog();

    fleet.current('b').crash();
    await capture.waitFor('supervisor.child.restarted', { count: 3 });
    expect(fleet.log).toEqual(['stop:c', 'stop:a', 'start:a', 'start:b', 'start:c']);
    expect(capture.of('supervisor.child.terminated').map((e) => [e.metadata.child, e.metadata.reason])).toEqual([
      ['b', 'crash'], ['c', 'shutdown'], ['a', 'shutdown'],
    ]);
    // The child whose exit caused the restart carries its own reason; the siblings were shut down.
    expect(capture.of('supervisor.child.restarted').map((e) => [e.metadata.child, e.metadata.reason])).toEqual([
      ['a', 'shutdown'], ['b', 'crash'], ['c', 'shutdown'],
    ]);
    // One crash is one restart against the intensity, however many children it takes down.
    expect(capture.of('supervisor.child.restarted').map((e) => e.measurements.restarts)).toEqual([1, 1, 1]);
    expect(supervisor.whichChildren().map((c) => c.restarts)).toEqual([1, 1, 1]);
  });
});

describe('rest_for_one', () => {
  it('restarts the crashed child and those started after it', async () => {
    const { fleet, capture, supervisor } = setup('rest_for_one', ['a', 'b', 'c', 'd']);
    await supervisor.start();
    const a = fleet.current('a');
    fleet.clearLog();

    fleet.current('b').crash();
    await capture.waitFor('supervisor.child.restarted', { count: 3 });
    expect(fleet.log).toEqual(['stop:d', 'stop:c', 'start:b', 'start:c', 'start:d']);
    expect(fleet.current('a')).toBe(a);
    expect(capture.of('supervisor.child.restarted').map((e) => [e.metadata.child, e.metadata.reason])).toEqual([
      ['b', 'crash'], ['c', 'shutdown'], ['d', 'shutdown'],
    ]);
  });

  it('restarts only the last child when it is the one that crashed', async () => {
    const { fleet, capture, supervisor } = setup('rest_for_one');
    await supervisor.start();
    fleet.clearLog();
    fleet.current('c').crash();
    await capture.waitFor('supervisor.child.restarted');
    expect(fleet.log).toEqual(['start:c']);
    expect(stateOf(supervisor, 'c')).toBe('running');
  });
});
