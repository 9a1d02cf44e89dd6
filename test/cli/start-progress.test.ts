/**
 * The product as a user runs it: `pitboss start` (the real CLI, the default deployment of
 * supervisors/main.ts: the hash workload on the embedded store) and its HTTP API over a real socket.
 * The default hash job reports its progress, visible in GET /jobs/:id while it runs; a job given a
 * small timeoutMs is stopped and ends dead with error type timeout, and the supervisor runs the
 * next job; an array of jobs is taken in one call.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repoRoot = new URL('../../', import.meta.url).pathname;
const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^(PITBOSS_|DATABASE_URL|REDIS_URL|PORT$|HOST$|LOG_LEVEL$)/.test(key)));
const token = 'progress-token-0123456789abcdef';

interface JobView { id: string; status: string; progress: unknown; timeoutMs: number | null; error: { type: string; message: string } | null; result: unknown; created?: boolean }

describe('pitboss start: progress, timeoutMs and arrays through the HTTP API', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pitboss-start-progress-'));
  let child: ReturnType<typeof spawn>;
  let exited: Promise<number | null>;
  let url = '';

  const call = async (method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> => {
    const response = await fetch(`${url}${path}`, {
      method, headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, json: await response.json() };
  };
  const until = async (id: string, done: (job: JobView) => boolean, timeoutMs = 30_000): Promise<{ job: JobView; seen: JobView[] }> => {
    const deadline = Date.now() + timeoutMs;
    const seen: JobView[] = [];
    for (;;) {
      const job = (await call('GET', `/jobs/${id}`)).json as JobView;
      seen.push(job);
      if (done(job)) return { job, seen };
      if (Date.now() > deadline) throw new Error(`job ${id}: ${JSON.stringify(job)}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };

  beforeAll(async () => {
    child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'start'], {
      cwd: repoRoot, stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...baseEnv, PORT: '0', HOST: '127.0.0.1', PITBOSS_DATA_DIR: join(dir, 'db'), PITBOSS_THREADS: '1', LOG_LEVEL: 'warn', PITBOSS_CONTROL_TOKEN: token },
    });
    exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    const deadline = Date.now() + 60_000;
    while (!/http:\/\/127\.0\.0\.1:\d+/.test(stderr) || !stderr.includes('  stop ')) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`pitboss start did not come up: ${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    url = /http:\/\/127\.0\.0\.1:\d+/.exec(stderr)![0];
  }, 90_000);

  afterAll(async () => {
    child?.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it('the default hash job reports its progress: a fraction while it runs, 1 once it completed', async () => {
    // 4 MiB hashed 300 times: long enough (over a second) for reports to leave the thread mid-task.
    const submitted = await call('POST', '/jobs', { queue: 'hash', name: 'digest', data: { seed: 7, sizeKiB: 4096, rounds: 300 } });
    expect(submitted.status).toBe(202);
    const { id } = submitted.json as JobView;
    const { job, seen } = await until(id, (j) => j.status === 'completed');
    expect(job).toMatchObject({ progress: 1, result: { digest: expect.stringMatching(/^[0-9a-f]{64}$/), bytes: 4096 * 1024 } });
    const midway = seen.filter((j) => j.status === 'running' && typeof j.progress === 'number' && j.progress > 0 && j.progress < 1);
    expect(midway.length, JSON.stringify(seen.map((j) => [j.status, j.progress]))).toBeGreaterThan(0);
  }, 60_000);

  it('a hash job with a small timeoutMs is stopped and ends dead with error type timeout; the next job runs', async () => {
    const submitted = await call('POST', '/jobs', { queue: 'hash', name: 'too-slow', data: { seed: 1, sizeKiB: 4096, rounds: 100_000 }, timeoutMs: 200, maxAttempts: 1 });
    expect(submitted.status).toBe(202);
    const { job } = await until((submitted.json as JobView).id, (j) => j.status === 'dead');
    expect(job).toMatchObject({ timeoutMs: 200, error: { type: 'timeout', message: expect.stringContaining('200') } });
    const next = await call('POST', '/jobs', [{ queue: 'hash', name: 'after', data: { seed: 2, sizeKiB: 1, rounds: 1 } }, { queue: 'hash', name: 'after', data: { seed: 3, sizeKiB: 1, rounds: 1 } }]);
    expect(next.status).toBe(202);
    const { jobs } = next.json as { jobs: JobView[] };
    expect(jobs.map((j) => j.created)).toEqual([true, true]);
    for (const j of jobs) expect((await until(j.id, (v) => v.status === 'completed')).job.progress).toBe(1);
  }, 60_000);
});
