/**
 * What the disk guard exists to prevent, with the guard off (minFreeBytes 0): PGlite on a tmpfs
 * filled to the last block meets the full disk when it needs a new WAL segment, and fails that
 * commit with a PANIC. The client then refuses every statement at once (PGlite would spin for ever
 * in XLogFlush on the next one), settles `failed`, closes without touching PGlite, and a new client
 * on the grown volume finds every row committed before the PANIC. Needs root (mount).
 */
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgliteClient } from '../../../src/jobs/store/pglite-client.ts';

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.log('[pglite-panic] skipped: mounting a tmpfs needs root');

describe.skipIf(!isRoot)('PGlite after a PANIC on a full disk', () => {
  let mountPoint = '';
  let mounted = false;

  beforeAll(() => {
    mountPoint = mkdtempSync(join(tmpdir(), 'pitboss-pglite-panic-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=160m', 'tmpfs', mountPoint]);
    mounted = true;
  });

  afterAll(() => {
    // Lazily: a failed test may leave the client's files open.
    if (mounted) execFileSync('umount', ['-l', mountPoint]);
    rmSync(mountPoint, { recursive: true, force: true });
  });

  it('refuses at once, settles failed, and loses nothing committed', async () => {
    const dataDir = join(mountPoint, 'pglite');
    const client = await PgliteClient.open(dataDir, null, { minFreeBytes: 0 });
    // Free room inside the table, so that after the fill only the WAL needs new space (no
    // checkpoint ran, so no recycled segment is waiting).
    await client.exec("CREATE TABLE t (v text); INSERT INTO t SELECT repeat('y', 1500) FROM generate_series(1, 30000); DELETE FROM t");
    await client.exec('VACUUM (TRUNCATE false) t');
    const fs = statfsSync(mountPoint);
    execFileSync('fallocate', ['-l', String(fs.bavail * fs.bsize), join(mountPoint, 'filler')]);

    let committed = 0;
    let failure: unknown = null;
    while (failure === null && committed < 100_000) {
      try {
        await client.query('INSERT INTO t (v) VALUES ($1)', [randomBytes(1200).toString('base64')]);
        committed += 1;
      } catch (error) {
        failure = error;
      }
    }
    expect(failure).toMatchObject({ code: 'PITBOSS_STORE_WRITE_FAILED' });
    expect((failure as Error).message).toContain('No space left on device');
    await expect(client.failed).resolves.toMatchObject({ code: 'PITBOSS_STORE_WRITE_FAILED' });
    expect(await client.writeBlocker()).toContain(dataDir);

    // Even a read is refused, at once: PGlite must not be entered again.
    const started = performance.now();
    await expect(client.query('SELECT 1')).rejects.toMatchObject({ code: 'PITBOSS_STORE_WRITE_FAILED' });
    expect(performance.now() - started).toBeLessThan(100);
    await expect(client.close()).rejects.toMatchObject({ code: 'PITBOSS_STORE_WRITE_FAILED' });

    execFileSync('mount', ['-o', 'remount,size=512m', mountPoint]);
    const reopened = await PgliteClient.open(dataDir, null);
    const [row] = await reopened.query<{ n: number }>('SELECT count(*)::int AS n FROM t');
    expect(row!.n).toBe(committed);
    await reopened.close();
    console.log(`[pglite-panic] ${committed} rows committed before the PANIC; all ${row!.n} there after the restart`);
  }, 120_000);
});
