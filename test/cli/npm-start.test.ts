/**
 * `npm start` as a process manager runs it: the manager signals npm, not the supervisor under it.
 * npm forwards SIGTERM to its script's shell; a shell that does not `exec` dies of it and leaves the
 * supervisor running, reparented to init, with its port and store lock held. The start script execs,
 * so the signal reaches the supervisor, which drains and exits 0, and so does npm.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'pitboss-npm-start-'));
/** Pids to kill after the test: a supervisor the signal did not reach outlives npm. */
const leftovers: number[] = [];
afterAll(() => {
  for (const pid of leftovers) if (alive(pid)) process.kill(pid, 'SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** Whether a process of that pid still exists. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('npm start', () => {
  it('SIGTERM to npm reaches the supervisor: it drains, exits 0, and nothing is left running', async () => {
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^(PITBOSS_|DATABASE_URL|REDIS_URL|PORT$|HOST$|npm_)/.test(key)));
    const npm = spawn('npm', ['start'], {
      cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...inherited, PORT: '0', HOST: '127.0.0.1', PITBOSS_DATA_DIR: join(dir, 'data'), PITBOSS_CONTROL_TOKEN: 'npm-start-test-token-0123', LOG_LEVEL: 'info' },
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => npm.once('exit', (code, signal) => resolve({ code, signal })));
    let stdout = '';
    npm.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
    npm.stderr.resume();

    // The deployment_started line names the HTTP address and, in its supervisor id, the supervisor's pid.
    const started = await new Promise<{ url: string; pid: number }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no deployment_started within 45 s:\n${stdout.slice(-2000)}`)), 45_000);
      const look = (): void => {
        const line = stdout.split('\n').find((l) => l.includes('"event":"deployment_started"'));
        if (line === undefined) return;
        clearTimeout(timer);
        npm.stdout.off('data', look);
        const { url, supervisor_id: id } = JSON.parse(line) as { url: string; supervisor_id: string };
        resolve({ url, pid: Number(/-(\d+)-[^-]+$/.exec(id)![1]) });
      };
      npm.stdout.on('data', look);
      void exited.then((e) => reject(new Error(`npm exited while starting (${JSON.stringify(e)}):\n${stdout.slice(-2000)}`)));
    });
    leftovers.push(started.pid);
    expect(started.pid).not.toBe(npm.pid);
    expect((await fetch(`${started.url}/readyz`)).status).toBe(200);

    npm.kill('SIGTERM');
    expect(await exited).toEqual({ code: 0, signal: null });
    expect(stdout).toContain('"event":"deployment_stopped","reason":"SIGTERM"');
    expect(alive(started.pid)).toBe(false);
  }, 90_000);
});
