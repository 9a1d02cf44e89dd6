/**
 * Pending work keeps the process alive; an idle pool does not. piscina unrefs its threads, so this
 * runs a real child process, a plain script with top-level awaits (test/fixtures/keep-alive-script.ts):
 * held by nothing, it used to end with exit code 13 (an unsettled top-level await) while a
 * replacement thread booted under a waiting task.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const script = fileURLToPath(new URL('../fixtures/keep-alive-script.ts', import.meta.url));

function runScript(timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    // A pool that held the process while idle would never let it end: kill it, and the code says so.
    const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(killer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

describe('pool: keeping the process alive', () => {
  it('a script awaiting run() across thread crashes gets every answer, then exits 0 on its own with the pool idle', async () => {
    const { code, signal, stdout, stderr } = await runScript(40_000);
    expect({ code, signal, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, signal: null, stderr: '' });
    const lines = stdout.split('\n').filter((line) => /^(first|second|third|fourth):/.test(line));
    expect(lines).toEqual([
      'first: PITBOSS_WORKER_CRASHED',
      'second: queued ran',
      'third: crashed again',
      'fourth: after the replacement',
    ]);
  }, 60_000);
});
