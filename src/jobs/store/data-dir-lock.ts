/**
 * One process per PGlite data directory. PGlite is Postgres in single-user mode inside this
 * process: it has no postmaster to arbitrate, and a second process opening the same directory
 * writes over the first. Measured: two processes inserting into one directory — one died in a
 * WASM abort and every row it had committed was gone. So the embedded store holds a lock file
 * beside its directory (`<dataDir>.lock`, holding the owner's pid and host) for as long as it is
 * open, and a second open fails at once, naming the owner.
 *
 * A lock left by a process that no longer runs on this host (SIGKILL, power loss) is taken over;
 * one from another host cannot be checked and is refused (delete it by hand if that host is gone).
 */
import { hostname } from 'node:os';
import { link, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { JobError } from '../../errors.ts';

interface LockOwner {
  readonly pid: number;
  readonly host: string;
  readonly startedAt: string;
}

/** True when a process with `pid` runs on this host (EPERM: it runs, as another user). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Links `draft` to `path`; false when `path` exists already. */
async function linked(draft: string, path: string): Promise<boolean> {
  try {
    await link(draft, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

async function readOwner(path: string): Promise<LockOwner | null> {
  try {
    const owner = JSON.parse(await readFile(path, 'utf8')) as Partial<LockOwner>;
    return typeof owner.pid === 'number' && typeof owner.host === 'string' ? { pid: owner.pid, host: owner.host, startedAt: String(owner.startedAt) } : null;
  } catch {
    // Gone meanwhile, or unreadable: no owner to respect.
    return null;
  }
}

export class DataDirLock {
  private constructor(readonly path: string) {}

  /** Takes the lock of `dataDir`, or fails with PITBOSS_STORE_IN_USE naming the process that holds it. */
  static async acquire(dataDir: string): Promise<DataDirLock> {
    const path = `${dataDir}.lock`;
    const me: LockOwner = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString() };
    // Written whole under a name of our own, then linked into place: link() fails if the lock
    // exists, so one of any processes racing wins, and nobody ever reads a half-written lock.
    const draft = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}`;
    await writeFile(draft, JSON.stringify(me));
    try {
      for (let attempt = 0; attempt < 3; attempt++) {
        if (await linked(draft, path)) return new DataDirLock(path);
        const owner = await readOwner(path);
        if (owner !== null && (owner.host !== me.host || alive(owner.pid))) {
          const who = owner.pid === process.pid && owner.host === me.host ? 'this process (a store already open on it)' : `process ${owner.pid} on ${owner.host}, since ${owner.startedAt}`;
          throw new JobError('PITBOSS_STORE_IN_USE', `the embedded store's data directory ${dataDir} is in use by ${who}: PGlite takes one process per directory — stop that one, give this one another data directory, or set DATABASE_URL to share a Postgres server (lock file: ${path})`);
        }
        // Its owner is gone: move the stale lock aside and try again. Moved, not deleted, so a taker
        // that raced us and already put its own lock in place gets it back instead of losing it.
        const moved = `${draft}.stale`;
        try {
          await rename(path, moved);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
          throw error;
        }
        const was = await readOwner(moved);
        if (was !== null && alive(was.pid) && was.host === me.host) await linked(moved, path);
        await rm(moved, { force: true });
      }
    } finally {
      await rm(draft, { force: true });
    }
    throw new JobError('PITBOSS_STORE_IN_USE', `could not take the lock ${path} on the embedded store's data directory: other processes keep taking it`);
  }

  /** Gives the lock up (only if it is still ours). */
  async release(): Promise<void> {
    const owner = await readOwner(this.path);
    if (owner?.pid === process.pid && owner.host === hostname()) await rm(this.path, { force: true });
  }
}
