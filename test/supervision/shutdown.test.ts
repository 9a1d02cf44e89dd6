import { afterEach, describe, expect, it } from 'vitest';
import { SupervisorError } from '../../src/errors/classes.ts';
import { Supervisor, type ChildExit } from '../../src/supervision/index.ts';
import { captureEvents, createTelemetry } from '../../src/telemetry/index.ts';
import { Fleet, intensity, settle, until, type FakeOptions } from './fakes.ts';

const running: Supervisor[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.stop()));
});

function setup(children: [string, FakeOptions?][], strategy: 'one_for_one' | 'one_for_all' = 'one_for_one') {
  const fleet = new Fleet();
  const bus = createTelemetry();
  const capture = captureEvents(bus, 'supervisor.*');
  const supervisor = new Supervisor({
    id: 'sup', strategy, intensity, telemetry: bus, children: children.map(([id, options]) => fleet.spec(id, options)),
  });
  running.push(supervisor);
  return { fleet, capture, supervisor };
}

const reasons = (capture: ReturnType<typeof setup>['capture']) =>
  capture.of('supervisor.child.terminated').map((e) => [e.metadata.child, e.metadata.reason]);

describe('stopping children', () => {
  it('kills a child that does not stop within shutdownMs', async () => {
    const { fleet, capture, supervisor } = setup([['a'], ['stuck', { onStop: 'hang', shutdownMs: 30 }]]);
    await supervisor.start();
    await supervisor.stop();
    expect(fleet.log.slice(2)).toEqual(['stop:stuck', 'kill:stuck', 'stop:a']);
    expect(reasons(capture)).toEqual([['stuck', 'killed'], ['a', 'shutdown']]);
  });

  it('abandons a child without kill() after shutdownMs and moves on', async () => {
    const { fleet, capture, supervisor } = setup([['a'], ['stuck', { onStop: 'hang', shutdownMs: 30, killable: false }]]);
    await supervisor.start();
    await supervisor.stop();
    expect(fleet.log.slice(2)).toEqual(['stop:stuck', 'stop:a']);
    expect(reasons(capture)).toEqual([['stuck', 'killed'], ['a', 'shutdown']]);
    expect(supervisor.state).toBe('stopped');
  });

  it('kills at once when stop() rejects', async () => {
    const { fleet, capture, supervisor } = setup([['a', { onStop: 'reject', shutdownMs: 60_000 }]]);
    await supervisor.start();
    await supervisor.stop();
    expect(fleet.log).toEqual(['start:a', 'stop:a', 'kill:a']);
    expect(reasons(capture)).toEqual([['a', 'killed']]);
  });

  it('kill() skips graceful stops', async () => {
    const { fleet, capture, supervisor } = setup([['a', { onStop: 'hang', shutdownMs: 60_000 }], ['b', { onStop: 'hang', shutdownMs: 60_000 }]]);
    await supervisor.start();
    await supervisor.kill();
    expect(fleet.log).toEqual(['start:a', 'start:b', 'kill:b', 'kill:a']);
    expect(reasons(capture)).toEqual([['b', 'killed'], ['a', 'killed']]);
    expect(capture.of('supervisor.shutdown')[0]!.metadata.reason).toBe('killed');
  });

  it('waits for exited, not for stop(), before restarting a group', async () => {
    const fleet = new Fleet();
    const bus = createTelemetry();
    const capture = captureEvents(bus, 'supervisor.*');
    // Like a child process: stop() only sends the signal; the process exits a little later.
    const signalled = {
      id: 'proc', restart: 'permanent' as const, shutdownMs: 5_000,
      start: () => {
        fleet.log.push('start:proc');
        let exit: () => void = () => {};
        const exited = new Promise<ChildExit>((resolve) => (exit = () => resolve({ kind: 'shutdown' })));
        return { exited, stop: async () => void setTimeout(() => (fleet.log.push('exited:proc'), exit()), 30) };
      },
    };
    const supervisor = new Supervisor({ id: 'sup', strategy: 'one_for_all', intensity, telemetry: bus, children: [signalled, fleet.spec('a')] });
    running.push(supervisor);
    await supervisor.start();
    fleet.current('a').crash();
    await capture.waitFor('supervisor.child.restarted', { count: 2 });
    expect(fleet.log).toEqual(['start:proc', 'start:a', 'exited:proc', 'start:proc', 'start:a']);
  });

  it('kills a nested supervisor that overruns its shutdownMs, which kills its own children at once', async () => {
    const fleet = new Fleet();
    const bus = createTelemetry();
    const capture = captureEvents(bus, 'supervisor.*');
    const outer = new Supervisor({
      id: 'outer', strategy: 'one_for_one', intensity, telemetry: bus,
      children: [
        Supervisor.childSpec({
          id: 'inner', strategy: 'one_for_one', intensity, shutdownMs: 30,
          children: [fleet.spec('g1'), fleet.spec('g2', { onStop: 'hang', shutdownMs: 60_000 })],
        }),
      ],
    });
    await outer.start();
    const began = performance.now();
    await outer.stop();
    expect(performance.now() - began).toBeLessThan(10_000);
    expect(fleet.log.slice(2)).toEqual(['stop:g2', 'kill:g2', 'kill:g1']);
    expect(reasons(capture)).toEqual([['g2', 'killed'], ['g1', 'killed'], ['inner', 'killed']]);
  });

  it('terminateChild stops one child (within shutdownMs) and keeps it down', async () => {
    const { fleet, capture, supervisor } = setup([['a'], ['b', { onStop: 'hang', shutdownMs: 20 }], ['c']]);
    await supervisor.start();
    await supervisor.terminateChild('b');
    expect(fleet.log.slice(3)).toEqual(['stop:b', 'kill:b']);
    await settle();
    expect(fleet.started('b')).toBe(1);
    expect(supervisor.whichChildren().map((c) => c.state)).toEqual(['running', 'terminated', 'running']);
    expect(reasons(capture)).toEqual([['b', 'killed']]);
  });
});

describe('supervisor start', () => {
  it('a failing child start fails the start and stops the started children in reverse', async () => {
    const { fleet, capture, supervisor } = setup([['a'], ['b'], ['bad', { failStarts: () => true }], ['c']]);
    const failure = supervisor.start();
    await expect(failure).rejects.toBeInstanceOf(SupervisorError);
    await expect(failure).rejects.toMatchObject({ code: 'PITBOSS_CHILD_START_FAILED' });
    const error = (await failure.then(
      () => null,
      (e: unknown) => e,
    )) as SupervisorError;
    expect((error.cause as Error).message).toContain('bad cannot start');
    expect(fleet.log).toEqual(['start:a', 'start:b', 'fail:bad', 'stop:b', 'stop:a']);
    expect(supervisor.state).toBe('failed');
    expect(await supervisor.exited).toEqual({ kind: 'crash', error });
    expect(capture.of('supervisor.shutdown')[0]!.metadata.reason).toBe('start_failed');
    expect(supervisor.whichChildren().map((c) => c.state)).toEqual(['terminated', 'terminated', 'idle', 'idle']);
  });

  it('rejects a start() that returns no ChildHandle', async () => {
    const supervisor = new Supervisor({
      id: 'sup', strategy: 'one_for_one', intensity, telemetry: createTelemetry(),
      children: [{ id: 'x', restart: 'permanent', shutdownMs: 100, start: () => ({ nope: true }) as never }],
    });
    await expect(supervisor.start()).rejects.toMatchObject({ code: 'PITBOSS_CHILD_START_FAILED' });
  });

  it('rejects a second start, and a start after stop', async () => {
    const { supervisor } = setup([['a']]);
    await supervisor.start();
    await expect(supervisor.start()).rejects.toMatchObject({ code: 'PITBOSS_SUPERVISOR_STATE' });
    const idle = new Supervisor({ id: 'idle', strategy: 'one_for_one', intensity, children: [], telemetry: createTelemetry() });
    await idle.stop();
    expect(idle.state).toBe('stopped');
    await expect(idle.start()).rejects.toMatchObject({ code: 'PITBOSS_SUPERVISOR_STATE' });
  });

  it('stop() during start stops what was started and rejects the start', async () => {
    const fleet = new Fleet();
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    let aborted = false;
    const supervisor = new Supervisor({
      id: 'sup', strategy: 'one_for_one', intensity, telemetry: createTelemetry(),
      children: [
        fleet.spec('a'),
        {
          id: 'slow', restart: 'permanent', shutdownMs: 100,
          start: async ({ signal }) => {
            signal.addEventListener('abort', () => (aborted = true));
            await gate;
            return fleet.spec('slow').start({ signal, telemetry: createTelemetry() });
          },
        },
        fleet.spec('never'),
      ],
    });
    const starting = supervisor.start();
    starting.catch(() => {});
    await until(() => fleet.log.length === 1);
    const stopping = supervisor.stop();
    expect(aborted).toBe(true);
    release();
    await expect(starting).rejects.toMatchObject({ code: 'PITBOSS_SUPERVISOR_STOPPED' });
    await stopping;
    expect(fleet.log).toEqual(['start:a', 'start:slow', 'stop:slow', 'stop:a']);
    expect(supervisor.state).toBe('stopped');
  });

  it('an aborted start signal stops the supervisor', async () => {
    const { fleet, supervisor } = setup([['a']]);
    const controller = new AbortController();
    controller.abort();
    await expect(supervisor.start({ signal: controller.signal })).rejects.toMatchObject({ code: 'PITBOSS_SUPERVISOR_STOPPED' });
    await supervisor.stop();
    expect(fleet.log).toEqual([]);
  });
});

describe('crashes during shutdown', () => {
  it('are reported but never restarted', async () => {
    const { fleet, capture, supervisor } = setup(
      [['a', { onStop: 'crash' }], ['b'], ['slow', { onStop: 'hang', shutdownMs: 60_000 }]],
      'one_for_all',
    );
    await supervisor.start();
    const stopping = supervisor.stop();
    await until(() => fleet.log.includes('stop:slow'));
    // b crashes on its own while the supervisor waits for `slow`.
    fleet.current('b').crash();
    await settle();
    fleet.current('slow').exit('shutdown');
    await stopping;

    expect(fleet.log.slice(3)).toEqual(['stop:slow', 'stop:a']);
    // b's crash is handled in turn, after the stop of `slow` the supervisor was busy with.
    expect(reasons(capture)).toEqual([['slow', 'shutdown'], ['b', 'crash'], ['a', 'crash']]);
    expect(capture.of('supervisor.child.restarted')).toHaveLength(0);
    expect(['a', 'b', 'slow'].map((id) => fleet.started(id))).toEqual([1, 1, 1]);
    expect(supervisor.state).toBe('stopped');
  });

  it('stop() is idempotent and concurrent calls share one shutdown', async () => {
    const { capture, supervisor } = setup([['a'], ['b']]);
    await supervisor.start();
    await Promise.all([supervisor.stop(), supervisor.stop('other'), supervisor.kill()]);
    await supervisor.stop();
    expect(capture.of('supervisor.shutdown')).toHaveLength(1);
    expect(capture.of('supervisor.shutdown')[0]!.metadata.reason).toBe('shutdown');
  });
});
