// Utilities shared by the Postgres and Redis parts of the test setup: finding server binaries,
// picking free ports, running commands with readable failures, printing URLs without passwords,
// and the one-line error the setup throws when a service is missing.
import { execFile, execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { access, constants, readdir, realpath } from 'node:fs/promises';
import { createServer } from 'node:net';
import { delimiter, dirname, join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/**
 * The one error the setup throws when a service cannot be found or started. Its stack is just the
 * message: the reader needs the install hint, not frames inside the setup code.
 */
export class ServiceSetupError extends Error {
  override name = 'ServiceSetupError';

  constructor(message: string) {
    super(message);
    this.stack = `${this.name}: ${message}`;
  }
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The URL with its password masked, safe to print. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable URL)';
  }
}

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/**
 * Asks the kernel for a free loopback port. Another process can still take it before the server
 * binds, so callers retry with a fresh port when the server reports the address in use.
 */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('no free port'))));
    });
  });
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Looks a program up on PATH, then in `extraDirs` (for binaries Debian keeps off PATH). */
export async function findExecutable(name: string, extraDirs: readonly string[] = []): Promise<string | null> {
  const pathDirs = (process.env.PATH ?? '').split(delimiter).filter((dir) => dir !== '');
  for (const dir of [...pathDirs, ...extraDirs]) {
    const candidate = join(dir, name);
    if (await isExecutable(candidate)) return candidate;
  }
  return null;
}

/**
 * Finds a directory holding both `initdb` and `pg_ctl`. PATH wins (a developer's own install);
 * then Debian's versioned /usr/lib/postgresql/<major>/bin, newest first. A PATH entry is followed
 * through symlinks because Debian-style setups link initdb alone into /usr/local/bin.
 */
export async function findPostgresBinDir(): Promise<string | null> {
  const onPath = await findExecutable('initdb');
  if (onPath !== null) {
    const dir = dirname(await realpath(onPath));
    if (await isExecutable(join(dir, 'pg_ctl'))) return dir;
  }
  const debianRoot = '/usr/lib/postgresql';
  let majors: string[] = [];
  try {
    majors = (await readdir(debianRoot)).filter((entry) => /^\d+$/.test(entry));
  } catch {
    return null;
  }
  majors.sort((a, b) => Number(b) - Number(a));
  for (const major of majors) {
    const dir = join(debianRoot, major, 'bin');
    if ((await isExecutable(join(dir, 'initdb'))) && (await isExecutable(join(dir, 'pg_ctl')))) return dir;
  }
  return null;
}

function withUser(file: string, args: readonly string[], asUser: string | undefined): [string, string[]] {
  return asUser === undefined ? [file, [...args]] : ['runuser', ['-u', asUser, '--', file, ...args]];
}

/** Synchronous twin of runCommand, for exit-time cleanup only. */
export function runCommandSync(file: string, args: readonly string[], options: { asUser?: string } = {}): void {
  const [command, commandArgs] = withUser(file, args, options.asUser);
  execFileSync(command, commandArgs, { stdio: 'ignore', timeout: 10_000 });
}

/**
 * Runs a command, optionally as another OS user via `runuser` (PostgreSQL's initdb and postgres
 * refuse to run as root). A failure is rethrown with the command's own stderr, which says why.
 */
export async function runCommand(
  file: string,
  args: readonly string[],
  options: { asUser?: string; timeoutMs?: number } = {},
): Promise<string> {
  const [command, commandArgs] = withUser(file, args, options.asUser);
  try {
    const { stdout } = await execFileAsync(command, commandArgs, { timeout: options.timeoutMs ?? 60_000 });
    return stdout;
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim() ?? '';
    const reason = stderr !== '' ? stderr : messageOf(error);
    throw new Error(`${[command, ...commandArgs].join(' ')} failed: ${reason}`);
  }
}

/**
 * Registers last-resort cleanup for a server this run started. Vitest answers Ctrl-C and SIGTERM
 * with process.exit() and never calls the globalSetup teardown, so without this a daemonized
 * postgres would outlive the run. Only synchronous work runs during 'exit'. Returns the
 * unregister function, which the normal teardown calls first.
 */
export function cleanupOnExit(cleanupSync: () => void): () => void {
  const onExit = (): void => {
    try {
      cleanupSync();
    } catch {
      // The process is exiting anyway; nothing useful is left to do with the error.
    }
  };
  process.once('exit', onExit);
  return () => process.off('exit', onExit);
}

/** A short random suffix that keeps names unique across concurrent runs. */
export function randomSuffix(): string {
  return randomBytes(4).toString('hex');
}

/** The numeric uid and gid of an OS user (servers that refuse root run as `postgres`). */
export async function osUserIds(user: string): Promise<{ uid: number; gid: number }> {
  const uid = Number((await runCommand('id', ['-u', user])).trim());
  const gid = Number((await runCommand('id', ['-g', user])).trim());
  return { uid, gid };
}

/** Resolves once `child` has exited (at once if it already has). */
export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** SIGTERM, then SIGKILL if the child is still there after `timeoutMs`; resolves once it has exited. */
export async function stopChild(child: ChildProcess, timeoutMs = 5_000): Promise<void> {
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  await exited(child);
  clearTimeout(timer);
}
