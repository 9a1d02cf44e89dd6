/** Starts pools on an isolated bus for a test and closes them afterwards. */
import { afterEach } from 'vitest';
import { createTelemetry, captureEvents, type Telemetry } from '../../src/index.ts';
import { Pool } from '../../src/pool/pool.ts';
import type { PoolOptions } from '../../src/pool/options.ts';

const open: Pool[] = [];

afterEach(async () => {
  await Promise.all(open.splice(0).map((pool) => pool.close({ timeoutMs: 2000 })));
});

export const workerPath = (name: string): string => new URL(`../../workers/${name}.ts`, import.meta.url).pathname;

/** A pool with its own bus and a capture of every event, started and registered for cleanup. */
export async function startPool(options: Partial<PoolOptions> & { worker?: string } = {}) {
  const bus: Telemetry = options.telemetry ?? createTelemetry();
  const events = captureEvents(bus, '*');
  const pool = new Pool({
    name: 'test',
    threads: 2,
    statusIntervalMs: null,
    sampleIntervalMs: null,
    ...options,
    worker: options.worker ?? workerPath('faults'),
    telemetry: bus,
  });
  open.push(pool);
  await pool.start();
  return { pool, bus, events };
}

/** Polls `check` until it returns true, failing after `timeoutMs`. */
export async function eventually(check: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
