/**
 * The `try` line `pitboss start` prints works when pasted: the real CLI runs the default
 * deployment, and its line goes through bash with the environment the user has — a generated
 * token, PITBOSS_CONTROL_TOKEN from the environment, and open local control without a token.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { startupBanner } from '../../src/cli-banner.ts';

const run = promisify(execFile);
const repoRoot = new URL('../../', import.meta.url).pathname;
// Only what each case sets: nothing inherited from a developer's PITBOSS_*, DATABASE_URL, PORT…
const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^(PITBOSS_|DATABASE_URL|REDIS_URL|PORT$|HOST$|LOG_LEVEL$)/.test(key)));

/** Starts `pitboss start` with `env`, returns its banner, stops it. */
async function banner(env: Record<string, string>, use: (text: string) => Promise<void>): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'pitboss-banner-'));
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'start'], {
    cwd: repoRoot, stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...baseEnv, PORT: '0', HOST: '127.0.0.1', PITBOSS_DATA_DIR: join(dir, 'db'), PITBOSS_THREADS: '1', LOG_LEVEL: 'warn', ...env },
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  try {
    const until = Date.now() + 45_000;
    while (!stderr.includes('  stop ')) {
      if (child.exitCode !== null || Date.now() > until) throw new Error(`pitboss start did not print its banner: ${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await use(stderr);
    return stderr;
  } finally {
    child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs the banner's `try` line in bash with `env`, as pasted; resolves the HTTP status curl saw. */
async function pasteTryLine(text: string, env: Record<string, string>): Promise<string> {
  const line = /^ {2}try {8}(.+)$/m.exec(text)?.[1];
  expect(line, text).toBeDefined();
  const { stdout } = await run('bash', ['-c', `${line!} -o /dev/null -w '%{http_code}'`], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: tmpdir(), ...env }, timeout: 30_000 });
  return stdout.trim();
}

describe('pitboss start banner', () => {
  it('with a generated token: the try line carries it and is accepted', async () => {
    const text = await banner({}, async (t) => {
      expect(await pasteTryLine(t, {})).toBe('202');
    });
    expect(text).toMatch(/token {6}\S+ {2}\(generated for this run/);
  }, 90_000);

  it('with PITBOSS_CONTROL_TOKEN from the environment: the try line expands it and is accepted', async () => {
    const token = 'env-token-0123456789abcdef';
    const text = await banner({ PITBOSS_CONTROL_TOKEN: token }, async (t) => {
      expect(await pasteTryLine(t, { PITBOSS_CONTROL_TOKEN: token })).toBe('202');
    });
    expect(text).toContain('token      from PITBOSS_CONTROL_TOKEN');
    expect(text).not.toContain(token);
  }, 90_000);

  it('with open local control and no token: no token is claimed or sent, and the try line is accepted', async () => {
    const text = await banner({ PITBOSS_ALLOW_LOCAL_CONTROL: 'true' }, async (t) => {
      expect(await pasteTryLine(t, {})).toBe('202');
    });
    expect(text).not.toContain('from PITBOSS_CONTROL_TOKEN');
    expect(text).toMatch(/token {6}none: PITBOSS_ALLOW_LOCAL_CONTROL=true opens/);
    expect(/^ {2}try .*$/m.exec(text)?.[0]).not.toMatch(/authorization/);
  }, 90_000);

  it('prints no try line when the server would refuse it (local control asked for on a non-loopback host, no token)', () => {
    const text = startupBanner({
      supervisorId: 's', url: 'http://0.0.0.0:8000', storeBackend: 'pglite', dispatchBackend: 'local', queue: 'hash',
      host: '0.0.0.0', token: null, generated: false, allowLocalControl: true,
    });
    expect(text).toMatch(/token {6}none: control and job routes are refused .*set PITBOSS_CONTROL_TOKEN/);
    expect(text).not.toMatch(/^ {2}try /m);
  });
});
