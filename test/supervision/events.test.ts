/**
 * Catalog coverage for supervision: every `supervisor.*` event in the catalog is emitted by real
 * supervisor code, with the measurements and metadata the catalog declares.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Supervisor } from '../../src/supervision/index.ts';
import { captureEvents, catalog, createTelemetry } from '../../src/telemetry/index.ts';
import { Fleet } from './fakes.ts';

const running: Supervisor[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.stop()));
});

describe('supervisor events', () => {
  it('emits every supervisor.* catalog event with its declared shape', async () => {
    const fleet = new Fleet();
    const bus = createTelemetry();
    const capture = captureEvents(bus, 'supervisor.*');
    const supervisor = new Supervisor({
      id: 'sup', strategy: 'rest_for_one', intensity: { maxRestarts: 1, periodMs: 60_000 }, telemetry: bus,
      children: [fleet.spec('a'), fleet.spec('b')],
    });
    running.push(supervisor);
    await supervisor.start();
    fleet.current('a').crash();
    await capture.waitFor('supervisor.child.restarted', { count: 2 });
    fleet.current('b').crash();
    await supervisor.exited;

    const cataloged = Object.keys(catalog).filter((name) => name.startsWith('supervisor.'));
    expect(new Set(capture.names())).toEqual(new Set(cataloged));
    for (const { event, measurements, metadata } of capture.events) {
      const spec = catalog[event];
      expect(Object.keys(measurements).sort(), event).toEqual([...spec.measurements].sort());
      for (const value of Object.values(measurements)) expect(Number.isInteger(value) && value >= 0, event).toBe(true);
      for (const key of Object.keys(metadata)) expect(spec.metadata as readonly string[], event).toContain(key);
      expect(metadata.supervisor).toBe('sup');
      expect(metadata.strategy).toBe('rest_for_one');
    }
  });
});
