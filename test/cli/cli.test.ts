/**
 * The `pitboss` CLI against a real running supervisor: enqueue, status, control sample and
 * log-level, queue pause and resume go through the HTTP API with the token; migrate applies
 * migrations to an embedded store.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDeployment, testToken } from '../helpers/deployment.ts';

const run = promisify(execFile);
const cli = new URL('../../src/cli.ts', import.meta.url).pathname;
let d: Awaited<ReturnType<typeof startTestDeployment>>;

async function pitboss(args: string[], env: Record<string, string> = {}) {
  const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', cli, ...args], {
    env: { ...process.env, PITBOSS_CONTROL_TOKEN: testToken, ...env }, timeout: 60_000,
  });
  return { stdout, stderr };
}

beforeAll(async () => {
  d = await startTestDeployment();
}, 60_000);
afterAll(async () => {
  await d?.running.stop();
});

describe('pitboss CLI', () => {
  it('enqueue submits a job that runs, status shows the queue', async () => {
    const { stdout } = await pitboss(['enqueue', 'work', 'from-cli', '--data', '{"kind":"ok","value":"cli"}', '--url', d.running.url]);
    const job = JSON.parse(stdout) as { id: string; created: boolean };
    expect(job.created).toBe(true);
    const until = Date.now() + 15_000;
    while ((await d.running.jobs.get(job.id))?.status !== 'completed') {
      if (Date.now() > until) throw new Error('job did not complete');
      await new Promise((r) => setTimeout(r, 50));
    }
    const status = JSON.parse((await pitboss(['status', '--url', d.running.url])).stdout) as { ready: { ready: boolean }; queues: { queue: string }[] };
    expect(status.ready.ready).toBe(true);
    expect(status.queues.map((q) => q.queue)).toContain('work');
  }, 60_000);

  it('enqueue --each submits one job per element in one call; a bad one refuses them all', async () => {
    const { stdout } = await pitboss(['enqueue', 'work', 'each', '--each', '[{"kind":"ok","value":1},{"kind":"ok","value":2}]', '--timeout-ms', '5000', '--url', d.running.url]);
    const { jobs } = JSON.parse(stdout) as { jobs: { id: string; created: boolean }[] };
    expect(jobs.map((j) => j.created)).toEqual([true, true]);
    expect((await d.running.jobs.get(jobs[0]!.id))?.timeoutMs).toBe(5000);
    await expect(pitboss(['enqueue', 'work', 'each', '--each', '{"kind":"ok"}', '--url', d.running.url])).rejects.toMatchObject({ stderr: expect.stringMatching(/--each must be a JSON array/) });
    await expect(pitboss(['enqueue', 'work', 'each', '--each', '[{"kind":"ok"}]', '--timeout-ms', '0', '--url', d.running.url]))
      .rejects.toMatchObject({ stderr: expect.stringMatching(/jobs\[0\]\.timeoutMs must be >= 1/) });
  }, 60_000);

  it('control sample and log-level change the running supervisor', async () => {
    await pitboss(['control', 'sample', 'action.*', '0.5', '--pool', 'tp', '--url', d.running.url]);
    expect(d.telemetry.control.rules().rules).toEqual([expect.objectContaining({ pattern: 'action.*', rate: 0.5, scope: { pool: 'tp', worker: null } })]);
    await pitboss(['control', 'log-level', 'debug', '--category', 'job', '--url', d.running.url]);
    expect(d.running.logger.levels.levelFor('job')).toBe('debug');
  }, 60_000);

  it('queue pause and queue resume change the queue fleet-wide and print its row', async () => {
    const paused = JSON.parse((await pitboss(['queue', 'pause', 'work', '--url', d.running.url])).stdout) as { queue: string; paused: boolean };
    expect(paused).toMatchObject({ queue: 'work', paused: true });
    expect((await d.running.jobs.queues()).find((q) => q.queue === 'work')).toMatchObject({ paused: true });
    const resumed = JSON.parse((await pitboss(['queue', 'resume', 'work', '--url', d.running.url])).stdout) as { queue: string; paused: boolean };
    expect(resumed).toMatchObject({ queue: 'work', paused: false });
    await expect(pitboss(['queue', 'pause', 'bad:name', '--url', d.running.url])).rejects.toMatchObject({ stderr: expect.stringMatching(/400: .*queue/) });
  }, 60_000);

  it('refuses bad arguments and a wrong token with a clear message and a non-zero exit', async () => {
    await expect(pitboss(['control', 'sample', 'action.*', '7', '--url', d.running.url])).rejects.toMatchObject({ stderr: expect.stringMatching(/rate must be a number in 0\.\.1/) });
    await expect(pitboss(['status', '--url', d.running.url], { PITBOSS_CONTROL_TOKEN: 'wrong-token-wrong-token' })).resolves.toBeDefined();
    await expect(pitboss(['enqueue', 'work', 'x', '--url', d.running.url], { PITBOSS_CONTROL_TOKEN: 'wrong-token-wrong-token' }))
      .rejects.toMatchObject({ stderr: expect.stringMatching(/401: wrong token/) });
    await expect(pitboss(['enqueue', 'work', 'x'], { PORT: 'not-a-port' })).rejects.toMatchObject({ code: 78, stderr: expect.stringMatching(/PORT/) });
  }, 60_000);

  it('migrate applies migrations to an embedded store', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pitboss-cli-'));
    try {
      const { stderr } = await pitboss(['migrate'], { PITBOSS_DATA_DIR: join(dir, 'db') });
      expect(stderr).toMatch(/migrations applied \(embedded store/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
