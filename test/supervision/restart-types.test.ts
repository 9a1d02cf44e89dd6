import { afterEach, describe, expect, it } from 'vitest';
import { Supervisor, type RestartType } from '../../src/supervision/index.ts';
import { shouldRestart } from '../../src/supervision/policy.ts';
import { captureEvents, createTelemetry } from '../../src/telemetry/index.ts';
import { Fleet, intensity, settle, stateOf } from './fakes.ts';

const running: Supervisor[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.stop()));
});

type Ending = 'crash' | 'normal' | 'shutdown';

// OTP's table: permanent always, transient only after a crash (`shutdown` counts as normal), temporary never.
const cases: [RestartType, Ending, boolean][] = [
  ['permanent', 'crash', true],
  ['permanent', 'normal', true],
  ['permanent', 'shutdown', true],
  ['transient', 'crash', true],
  ['transient', 'normal', false],
  ['transient', 'shutdown', false],
  ['temporary', 'crash', false],
  ['temporary', 'normal', false],
];

describe('restart types', () => {
  it.each(cases)('a %s child that ends with %s is restarted: %s', async (restart, ending, restarted) => {
    expect(shouldRestart(restart, ending)).toBe(restarted);

    const fleet = new Fleet();
    const bus = createTelemetry();
    const capture = captureEvents(bus, 'supervisor.*');
    const supervisor = new Supervisor({
      id: 'sup', strategy: 'one_for_one', intensity, telemetry: bus, children: [fleet.spec('w', { restart }), fleet.spec('other')],
    });
    running.push(supervisor);
    await supervisor.start();

    const child = fleet.current('w');
    if (ending === 'crash') child.crash();
    else child.exit(ending);

    const [terminated] = await capture.waitFor('supervisor.child.terminated');
    expect(terminated!.metadata).toMatchObject({ child: 'w', reason: ending });
    if (restarted) {
      const [event] = await capture.waitFor('supervisor.child.restarted');
      expect(event!.metadata).toMatchObject({ child: 'w', reason: ending });
      expect(fleet.started('w')).toBe(2);
      expect(stateOf(supervisor, 'w')).toBe('running');
    } else {
      await settle();
      expect(capture.of('supervisor.child.restarted')).toHaveLength(0);
      expect(fleet.started('w')).toBe(1);
      expect(stateOf(supervisor, 'w')).toBe('terminated');
      // The supervisor itself carries on.
      expect(supervisor.state).toBe('running');
      expect(stateOf(supervisor, 'other')).toBe('running');
    }
  });

  it('brings a child that ended for good back with restartChild', async () => {
    const fleet = new Fleet();
    const supervisor = new Supervisor({
      id: 'sup', strategy: 'one_for_one', intensity, telemetry: createTelemetry(), children: [fleet.spec('t', { restart: 'temporary' })],
    });
    running.push(supervisor);
    await supervisor.start();
    fleet.current('t').crash();
    await settle();
    expect(stateOf(supervisor, 't')).toBe('terminated');
    await supervisor.restartChild('t');
    expect(stateOf(supervisor, 't')).toBe('running');
    expect(fleet.started('t')).toBe(2);
  });
});
