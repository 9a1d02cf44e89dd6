// One process per embedded-store data directory (src/jobs/store/data-dir-lock.ts). PGlite has no
// postmaster: a second process on the same directory used to write over the first, which died in a
// WASM abort with its committed rows gone. A second open now fails at once, naming the holder; a
// lock whose holder died is taken over, and what the holder committed is still there.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { createSqlClient } from '../../../src/jobs/store/client.ts';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const holder = fileURLToPath(new URL('../../fixtures/hold-pglite.ts', import.meta.url));
const dirs: string[] = [];

afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function dataDir(): Promise<string> {
  const base = await mkdtemp(join(tmpdir(), 'pitboss-pglite-lock-'));
  dirs.push(base);
  return join(base, 'pglite');
}

/** A process holding `dir` open; resolves once it has written its row. */
async function holdInAnotherProcess(dir: string): Promise<{ pid: number; kill: () => Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', holder, dir], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => { if (chunk.toString().includes('open')) resolve(); });
    void exited.then(() => reject(new Error(`holder exited before opening: ${stderr}`)));
  });
  return { pid: child.pid!, kill: async () => { child.kill('SIGKILL'); await exited; } };
}

describe('embedded store: one process per data directory', () => {
  it('refuses a second process while the first runs, and takes over once it died, keeping its rows', async () => {
    const dir = await dataDir();
    const first = await holdInAnotherProcess(dir);
    try {
      await expect(createSqlClient({ dataDir: dir })).rejects.toMatchObject({
        code: 'PITBOSS_STORE_IN_USE', message: expect.stringContaining(`process ${first.pid} on`),
      });
    } finally {
      await first.kill();
    }
    // SIGKILL left its lock behind: the next open sees its holder is gone and takes over.
    const client = await createSqlClient({ dataDir: dir });
    try {
      expect(await client.query<{ by: number }>('SELECT by FROM held')).toEqual([{ by: first.pid }]);
    } finally {
      await client.close();
    }
  }, 60_000);

  it('refuses a second client in the same process until the first closes', async () => {
    const dir = await dataDir();
    const first = await createSqlClient({ dataDir: dir });
    await expect(createSqlClient({ dataDir: dir })).rejects.toMatchObject({ code: 'PITBOSS_STORE_IN_USE', message: expect.stringContaining('this process') });
    await first.close();
    const second = await createSqlClient({ dataDir: dir });
    await second.close();
  }, 60_000);

  it.runIf(process.platform === 'linux')('takes over a lock whose pid now runs another process (a container restarted with the same pid)', async () => {
    const dir = await dataDir();
    // Our own pid and host, as a restarted container's previous run would have left them, but an earlier process.
    await writeFile(`${dir}.lock`, JSON.stringify({ pid: process.pid, host: hostname(), startedAt: '2026-01-01T00:00:00.000Z', process: 'an-earlier-boot:12345' }));
    const client = await createSqlClient({ dataDir: dir });
    await client.close();
  }, 60_000);

  it('refuses a lock held from another host (its holder cannot be checked from here)', async () => {
    const dir = await dataDir();
    await writeFile(`${dir}.lock`, JSON.stringify({ pid: 1, host: 'elsewhere.example', startedAt: '2026-01-01T00:00:00.000Z' }));
    await expect(createSqlClient({ dataDir: dir })).rejects.toMatchObject({ code: 'PITBOSS_STORE_IN_USE', message: expect.stringContaining('elsewhere.example') });
  });

  it('keeps no lock for an in-memory database', async () => {
    const a = await createSqlClient({ dataDir: 'memory://' });
    const b = await createSqlClient({ dataDir: 'memory://' });
    await a.close();
    await b.close();
  }, 60_000);
});
