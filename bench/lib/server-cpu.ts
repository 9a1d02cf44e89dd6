/**
 * CPU time of the Postgres and Redis servers a scenario started itself, read from /proc (Linux).
 * `process.cpuUsage()` sees only this process; on a small machine the servers compete for the same
 * cores, so a side that saves Node CPU by sending the database more work can only be judged with
 * their share in view. Servers found by listening port: the process whose command line names the
 * port, plus all its descendants (Postgres backends). Resolution is the kernel's clock tick (10 ms),
 * fine for rounds of a second. Returns null where /proc is missing or the server is not found.
 */
import { readdirSync, readFileSync } from 'node:fs';

interface ProcInfo {
  readonly ppid: number;
}

const TICKS_PER_SECOND = 100;

function readProcs(): Map<number, ProcInfo> {
  const procs = new Map<number, ProcInfo>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the command name, which is in parentheses and may contain spaces.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      procs.set(Number(entry), { ppid: Number(fields[1]) });
    } catch {
      // The process exited between readdir and read.
    }
  }
  return procs;
}

function ownTicks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime + stime, plus cutime + cstime: the time of children it has reaped. A Postgres backend that
    // exits (a pool closing an idle connection) moves its time into the postmaster's instead of
    // vanishing from the sum, which made a round's server CPU negative.
    return Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
  } catch {
    return 0;
  }
}

/**
 * Direct children, from /proc/<pid>/task/<tid>/children (a few files instead of a scan of every
 * process: ~40 µs against ~1.4 ms here); a full scan where the kernel does not offer those files.
 */
function childrenOf(pid: number): number[] {
  try {
    const tasks = readdirSync(`/proc/${pid}/task`);
    return tasks.flatMap((tid) => readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' ').filter((s) => s !== '').map(Number));
  } catch {
    return [...readProcs()].filter(([, info]) => info.ppid === pid).map(([child]) => child);
  }
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

/** Finds the server listening on `port` by its command line (`-p 5433`, `--port 6380`, `127.0.0.1:6380`). */
function findRoot(port: number, program: RegExp): number | null {
  const patterns = [new RegExp(`-p ${port}\\b`), new RegExp(`--port ${port}\\b`), new RegExp(`:${port}\\b`)];
  for (const pid of readProcs().keys()) {
    const line = cmdline(pid);
    if (program.test(line) && patterns.some((p) => p.test(line))) return pid;
  }
  return null;
}

/** A meter over one server process tree: `read()` returns its total CPU seconds so far. */
export class ServerCpu {
  readonly #root: number;

  private constructor(root: number) {
    this.#root = root;
  }

  /** Null when the server cannot be found (not local, not started here, no /proc). */
  static find(url: string, program: RegExp): ServerCpu | null {
    try {
      const port = Number(new URL(url).port);
      if (!Number.isInteger(port) || port <= 0) return null;
      const root = findRoot(port, program);
      return root === null ? null : new ServerCpu(root);
    } catch {
      return null;
    }
  }

  /** CPU seconds used by the server and every process under it, exited ones included once reaped. */
  read(): number {
    let ticks = 0;
    const pending = [this.#root];
    while (pending.length > 0) {
      const pid = pending.pop()!;
      ticks += ownTicks(pid);
      pending.push(...childrenOf(pid));
    }
    return ticks / TICKS_PER_SECOND;
  }
}
