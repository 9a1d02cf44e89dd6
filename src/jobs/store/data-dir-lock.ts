/**
 * One process per PGlite data directory. PGlite is Postgres in single-user mode inside this
 * process: it has no postmaster to arbitrate, and a second process opening the same directory
 * writes over the first. Measured: two processes inserting into one directory — one died in a
 * WASM abort and every row it had committed was gone. So the embedded store holds a lock file
 * beside its directory (`<dataDir>.lock`) for as long as it is open, and a second open fails at
 * once, naming the holder.
 *
 * A lock left by a process that no longer runs on this host (SIGKILL, power loss) is taken over;
 * one from another host cannot be checked and is refused (delete it by hand if that host is gone).
 * "Still runs" means the same process, not just the same pid: a container restarted on its volume
 * gets the pid its previous run had (often 1) and the same hostname, so on Linux the lock also
 * records the kernel's boot id and the process's start time, and a pid now running something
 * started later is a new process.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { link, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { JobError } from '../../errors/classes.ts';

interface LockOwner {
  readonly pid: number;
  readonly host: string;
  readonly startedAt: string;
  /** `<boot id>:<start time in clock ticks>` of the holder (Linux), or null where /proc is absent. */
  readonly process: string | null;
}

/** Which process `pid` is, across pid reuse: boot id and start time from /proc; null elsewhere. */
function processIdentity(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces: starttime is field 22.
    const startTime = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
    return `${readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()}:${startTime}`;
  } catch {
    return null;
  }
}

/** True while `pid` runs on this host (EPERM: it runs, as another user). */
export function processRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** True when the holder still runs on this host, and is the same process (not a reused pid). */
function alive(owner: LockOwner): boolean {
  if (!processRunning(owner.pid)) return false;
  const now = owner.process === null ? null : processIdentity(owner.pid);
  return now === null || now === owner.process;
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
    if (typeof owner.pid !== 'number' || typeof owner.host !== 'string') return null;
    return { pid: owner.pid, host: owner.host, startedAt: String(owner.startedAt), process: typeof owner.process === 'string' ? owner.process : null };
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
    const me: LockOwner = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString(), process: processIdentity(process.pid) };
    // Written whole under a name of our own, then linked into place: link() fails if the lock
    // exists, so one of any processes racing wins, and nobody ever reads a half-written lock.
    const draft = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}`;
    await writeFile(draft, JSON.stringify(me));
    try {
      for (let attempt = 0; attempt < 3; attempt++) {
        if (await linked(draft, path)) return new DataDirLock(path);
        const owner = await readOwner(path);
        if (owner !== null && (owner.host !== me.host || alive(owner))) {
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
        if (was !== null && was.host === me.host && alive(was)) await linked(moved, path);
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
    if (owner?.pid === process.pid && owner.host === hostname() && owner.process === processIdentity(process.pid)) await rm(this.path, { force: true });
  }
}
