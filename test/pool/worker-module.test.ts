/** workerModule() finds `.mjs` worker modules (it looked for `.ts` and `.js` only), and a pool runs one. */
import { describe, expect, it } from 'vitest';
import { workerModule } from '../../src/index.ts';
import { startPool } from '../helpers/pool.ts';

const here = import.meta.url;

describe('workerModule', () => {
  it('resolves a .mjs worker next to the deployment file, and a pool runs it', async () => {
    const url = workerModule('../fixtures/esm-worker', here);
    expect(url.href).toBe(new URL('../fixtures/esm-worker.mjs', here).href);
    const { pool } = await startPool({ worker: url.pathname, threads: 1 });
    expect(await pool.run('hello')).toBe('mjs worker got hello');
  });

  it('takes a path that names its extension as it is, and prefers the source next to a .ts file', () => {
    expect(workerModule('../fixtures/esm-worker.mjs', here).href).toBe(new URL('../fixtures/esm-worker.mjs', here).href);
    expect(workerModule('../../workers/faults', here).href).toBe(new URL('../../workers/faults.ts', here).href);
  });

  it('names the module and the extensions it tried when none exists', () => {
    expect(() => workerModule('../fixtures/nothing-here', here)).toThrow(/workerModule: no worker module \.\.\/fixtures\/nothing-here\(\.ts\|\.mts\|\.js\|\.mjs\) next to/);
    expect(() => workerModule('../fixtures/nothing-here', here)).toThrow(expect.objectContaining({ code: 'PITBOSS_INVALID_CONFIG' }));
  });
});
