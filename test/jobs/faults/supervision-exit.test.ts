/**
 * When supervision gives up, the process ends: `pitboss start` with a pool whose threads die idle (a
 * pool that cannot work, at the default intensities: pool 10 restarts / 60 s, root 10 / 60 s). The
 * pool fails by its intensity, again after each restart, until the root supervisor gives up; the
 * process then logs why and exits 1 — before, it stayed up with every child stopped, so an
 * orchestrator never restarted it. Bound: 90 s from start (measured 50 s on the reference machine: 11 pool lives of 11 thread deaths each).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { SupervisorProcess } from './supervisor-process.ts';

const EXIT_BOUND_MS = 90_000;
const deployment = fileURLToPath(new URL('../../fixtures/dying-deployment.ts', import.meta.url));

describe('supervision that gives up ends the process', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pitboss-gives-up-'));
  const started: SupervisorProcess[] = [];
  afterAll(async () => {
    await Promise.all(started.map((s) => s.kill()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('a pool whose threads die idle fails by intensity, the root gives up, and pitboss start exits 1 naming the cause', async () => {
    const begun = performance.now();
    const supervisor = await SupervisorProcess.start('sup-gives-up', {
      dataDir: join(dir, 'pglite'), deployment, shutdownTimeoutMs: 5_000, env: { DYING_AFTER_MS: '200' },
    });
    started.push(supervisor);
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<'bound'>((resolve) => { timer = setTimeout(() => resolve('bound'), EXIT_BOUND_MS); });
    const exit = await Promise.race([supervisor.exited, bound]);
    clearTimeout(timer);
    const tookS = (performance.now() - begun) / 1000;
    expect(exit, `still running after ${EXIT_BOUND_MS} ms: ${supervisor.stderr}`).toEqual({ code: 1, signal: null });
    expect(supervisor.stderr).toContain('pitboss: supervision gave up: supervisor "sup-gives-up" exceeded its restart intensity');

    // The log says which child and why: the pool's failures, each naming how its threads died.
    const [failed] = supervisor.logLines('supervision_failed');
    expect(failed, supervisor.stdout.slice(-4_000)).toMatchObject({ child: 'doomed', error: expect.stringContaining('exceeded its restart intensity') });
    const failures = failed!.failures as { child: string; error: string }[];
    expect(failures.length).toBeGreaterThan(0);
    expect(failures.every((f) => f.child === 'doomed')).toBe(true);
    expect(failures.some((f) => /died (idle|while starting)|thread restarts within/.test(f.error))).toBe(true);
    expect(supervisor.logLines('intensity_exceeded')).toEqual([expect.objectContaining({ supervisor: 'sup-gives-up', child: 'doomed' })]);
    expect(supervisor.logLines('deployment_failed')).toHaveLength(1);
    console.log(`[gives up] pitboss start exited ${exit === 'bound' ? '-' : exit.code} ${tookS.toFixed(1)} s after start; failures: ${JSON.stringify(failures.slice(-2))}`);
  }, EXIT_BOUND_MS + 60_000);
});
