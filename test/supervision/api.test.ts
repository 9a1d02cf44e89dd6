import { afterEach, describe, expect, it } from 'vitest';
import { SupervisorError } from '../../src/errors/classes.ts';
import { Supervisor, type ChildHandle, type SupervisorOptions } from '../../src/supervision/index.ts';
import { captureEvents, createTelemetry } from '../../src/telemetry/index.ts';
import { telemetry as sharedTelemetry } from '../../src/telemetry/default.ts';
import { Fleet, intensity, settle, stateOf } from './fakes.ts';

const running: Supervisor[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.stop()));
});

function setup(ids: string[] = ['a', 'b']) {
  const fleet = new Fleet();
  const bus = createTelemetry();
  const capture = captureEvents(bus, 'supervisor.*');
  const supervisor = new Supervisor({ id: 'sup', strategy: 'one_for_one', intensity, telemetry: bus, children: ids.map((id) => fleet.spec(id)) });
  running.push(supervisor);
  return { fleet, bus, capture, supervisor };
}

describe('whichChildren', () => {
  it('lists every child in start order with its state, restarts, start time and handle', async () => {
    const { fleet, supervisor } = setup();
    expect(supervisor.whichChildren().map((c) => [c.id, c.state, c.startedAt, c.handle])).toEqual([
      ['a', 'idle', null, null], ['b', 'idle', null, null],
    ]);
    const before = Date.now();
    await supervisor.start();
    const [a] = supervisor.whichChildren();
    expect(a).toMatchObject({ id: 'a', state: 'running', restarts: 0, backoffMs: 0 });
    expect(a!.startedAt).toBeGreaterThanOrEqual(before);
    expect(a!.handle).toBe(fleet.current('a'));
  });
});

describe('restartChild', () => {
  it('stops a running child and starts a new instance', async () => {
    const { fleet, capture, supervisor } = setup();
    await supervisor.start();
    const first = fleet.current('a');
    await supervisor.restartChild('a');
    expect(fleet.log).toEqual(['start:a', 'start:b', 'stop:a', 'start:a']);
    expect(fleet.current('a')).not.toBe(first);
    expect(supervisor.whichChildren()[0]).toMatchObject({ state: 'running', restarts: 1, handle: fleet.current('a') });
    const [restarted] = capture.of('supervisor.child.restarted');
    expect(restarted!.metadata).toMatchObject({ child: 'a', reason: 'manual' });
    // Manual restarts do not count against the intensity.
    expect(restarted!.measurements.restarts).toBe(0);
  });

  it('rejects with typed errors', async () => {
    const { supervisor } = setup();
    await expect(supervisor.restartChild('a')).rejects.toMatchObject({ code: 'PITBOSS_SUPERVISOR_STATE' });
    await supervisor.start();
    await expect(supervisor.restartChild('nope')).rejects.toMatchObject({ code: 'PITBOSS_UNKNOWN_CHILD' });
    await expect(supervisor.terminateChild('nope')).rejects.toBeInstanceOf(SupervisorError);
    await supervisor.stop();
    await expect(supervisor.restartChild('a')).rejects.toMatchObject({ code: 'PITBOSS_SUPERVISOR_STOPPED' });
    await expect(supervisor.terminateChild('a')).rejects.toMatchObject({ code: 'PITBOSS_SUPERVISOR_STOPPED' });
  });

  it('leaves the child terminated when the new instance fails to start', async () => {
    const fleet = new Fleet();
    const supervisor = new Supervisor({
      id: 'sup', strategy: 'one_for_one', intensity, telemetry: createTelemetry(),
      children: [fleet.spec('a', { failStarts: (n) => n === 2 })],
    });
    running.push(supervisor);
    await supervisor.start();
    await expect(supervisor.restartChild('a')).rejects.toMatchObject({ code: 'PITBOSS_CHILD_START_FAILED' });
    expect(stateOf(supervisor, 'a')).toBe('terminated');
    expect(supervisor.state).toBe('running');
  });
});

describe('terminateChild', () => {
  it('keeps a permanent child down until restartChild', async () => {
    const { fleet, capture, supervisor } = setup();
    await supervisor.start();
    await supervisor.terminateChild('a');
    await supervisor.terminateChild('a'); // idempotent
    await settle();
    expect(stateOf(supervisor, 'a')).toBe('terminated');
    expect(fleet.started('a')).toBe(1);
    expect(capture.of('supervisor.child.terminated').map((e) => e.metadata.reason)).toEqual(['shutdown']);
    await supervisor.restartChild('a');
    expect(stateOf(supervisor, 'a')).toBe('running');
  });
});

describe('children', () => {
  it('treats an exited promise that rejects as a crash', async () => {
    const bus = createTelemetry();
    const capture = captureEvents(bus, 'supervisor.child.*');
    let fail: (error: Error) => void = () => {};
    const supervisor = new Supervisor({
      id: 'sup', strategy: 'one_for_one', intensity, telemetry: bus,
      children: [{
        id: 'x', restart: 'transient', shutdownMs: 100,
        start: (): ChildHandle => ({ stop: async () => {}, exited: new Promise((_resolve, reject) => (fail = reject)) }),
      }],
    });
    running.push(supervisor);
    await supervisor.start();
    fail(new Error('broken'));
    await capture.waitFor('supervisor.child.restarted');
    expect(capture.of('supervisor.child.terminated')[0]!.metadata.reason).toBe('crash');
  });

  it('hands start() an AbortSignal and the supervisor bus', async () => {
    const { fleet, bus, supervisor } = setup(['a']);
    await supervisor.start();
    const [context] = fleet.contexts;
    expect(context!.telemetry).toBe(bus);
    expect(context!.signal.aborted).toBe(false);
    await supervisor.stop();
    expect(context!.signal.aborted).toBe(true);
    expect((context!.signal.reason as SupervisorError).code).toBe('PITBOSS_SUPERVISOR_STOPPED');
  });

  it('reports on the shared bus by default, and nested supervisors on their parent bus', async () => {
    const fleet = new Fleet();
    const capture = captureEvents(sharedTelemetry, 'supervisor.child.started');
    try {
      const supervisor = new Supervisor({
        id: 'shared-bus', strategy: 'one_for_one', intensity,
        children: [Supervisor.childSpec({ id: 'nested', strategy: 'one_for_one', intensity, children: [fleet.spec('leaf')] })],
      });
      running.push(supervisor);
      await supervisor.start();
      expect(capture.events.map((e) => [e.metadata.supervisor, e.metadata.child])).toEqual([['nested', 'leaf'], ['shared-bus', 'nested']]);
    } finally {
      capture.stop();
    }
  });
});

describe('validation', () => {
  const ok: SupervisorOptions = {
    id: 'sup', strategy: 'one_for_one', intensity: { maxRestarts: 1, periodMs: 1_000 },
    children: [{ id: 'a', start: () => { throw new Error('unused'); }, restart: 'permanent', shutdownMs: 100 }],
  };
  const child = ok.children[0]!;
  const bad: [string, unknown][] = [
    ['empty id', { ...ok, id: '' }],
    ['unknown strategy', { ...ok, strategy: 'one-for-one' }],
    ['negative maxRestarts', { ...ok, intensity: { maxRestarts: -1, periodMs: 1_000 } }],
    ['fractional maxRestarts', { ...ok, intensity: { maxRestarts: 1.5, periodMs: 1_000 } }],
    ['zero periodMs', { ...ok, intensity: { maxRestarts: 1, periodMs: 0 } }],
    ['missing intensity', { ...ok, intensity: undefined }],
    ['children not an array', { ...ok, children: {} }],
    ['duplicate child ids', { ...ok, children: [child, child] }],
    ['start not a function', { ...ok, children: [{ ...child, start: 'x' }] }],
    ['unknown restart type', { ...ok, children: [{ ...child, restart: 'always' }] }],
    ['negative shutdownMs', { ...ok, children: [{ ...child, shutdownMs: -1 }] }],
    ['NaN shutdownMs', { ...ok, children: [{ ...child, shutdownMs: NaN }] }],
    ['backoff maxMs below initialMs', { ...ok, children: [{ ...child, backoff: { initialMs: 100, maxMs: 10, resetAfterMs: 1 } }] }],
    ['backoff factor below 1', { ...ok, children: [{ ...child, backoff: { initialMs: 1, maxMs: 10, factor: 0.5, resetAfterMs: 1 } }] }],
    ['telemetry not a bus', { ...ok, telemetry: {} }],
  ];

  it.each(bad)('rejects %s', (_name, options) => {
    expect(() => new Supervisor(options as SupervisorOptions)).toThrow(
      expect.objectContaining({ code: 'PITBOSS_INVALID_SUPERVISOR_SPEC' }) as Error,
    );
  });

  it('accepts shutdownMs Infinity and checks nested specs when they are defined', () => {
    expect(() => new Supervisor({ ...ok, children: [{ ...child, shutdownMs: Infinity }], telemetry: createTelemetry() })).not.toThrow();
    expect(() => Supervisor.childSpec({ ...ok, strategy: 'nope' as never })).toThrow(SupervisorError);
  });
});
