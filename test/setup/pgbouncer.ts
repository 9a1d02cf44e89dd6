// A throwaway PgBouncer in front of the test database, for the tests of what the store asks of a
// connection pooler. Started per test file (only those tests need it) on a free loopback port, with
// PgBouncer's own defaults for everything the store depends on — in particular an empty
// `ignore_startup_parameters`, so a client that sends `options` or `statement_timeout` at startup is
// refused, as it is by a stock install. PgBouncer refuses to run as root, so as root it runs as the
// `postgres` OS user, like the throwaway cluster.
import { spawn, type ChildProcess } from 'node:child_process';
import { chown, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanupOnExit, findExecutable, freePort, isRoot, messageOf, osUserIds, ServiceSetupError, stopChild } from './support.ts';

const INSTALL_HINT = 'install it with `apt-get install -y pgbouncer` (.ci/run does)';
const READY_TIMEOUT_MS = 10_000;

export interface ThrowawayPgbouncer {
  /** The test database's URL with host and port pointing at PgBouncer. */
  readonly url: string;
  stop(): Promise<void>;
}

/** Resolves once something accepts TCP connections on `port`, or rejects after `timeoutMs`. */
async function waitForPort(port: number, timeoutMs: number, exited: () => string | null): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => { socket.destroy(); resolve(true); });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    const exit = exited();
    if (exit !== null) throw new Error(`pgbouncer exited before listening (${exit})`);
    if (Date.now() > deadline) throw new Error(`pgbouncer did not listen on port ${port} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Starts PgBouncer in session mode in front of the database `databaseUrl` names. */
export async function startPgbouncer(databaseUrl: string): Promise<ThrowawayPgbouncer> {
  const binary = await findExecutable('pgbouncer', ['/usr/sbin']);
  if (binary === null) throw new ServiceSetupError(`pitboss's connection-pooler tests need PgBouncer: ${INSTALL_HINT}`);
  const server = new URL(databaseUrl);
  const user = decodeURIComponent(server.username || 'postgres');
  const password = decodeURIComponent(server.password);
  const database = decodeURIComponent(server.pathname.slice(1));
  const asUser = isRoot() ? 'postgres' : undefined;
  // /tmp rather than os.tmpdir(): a root TMPDIR under /root would not be readable by that user.
  const dir = await mkdtemp(join(asUser === undefined ? tmpdir() : '/tmp', 'pitboss-pgbouncer-'));
  const port = await freePort();
  const quote = (s: string): string => `"${s.replace(/"/g, '""')}"`;
  await writeFile(join(dir, 'users.txt'), `${quote(user)} ${quote(password)}\n`);
  await writeFile(join(dir, 'pgbouncer.ini'), [
    '[databases]',
    `${database} = host=${server.hostname} port=${server.port || 5432} dbname=${database}`,
    '[pgbouncer]',
    'listen_addr = 127.0.0.1',
    `listen_port = ${port}`,
    'unix_socket_dir =',
    // Clients are trusted on loopback; PgBouncer logs in to the server with the password above.
    'auth_type = trust',
    `auth_file = ${join(dir, 'users.txt')}`,
    'pool_mode = session',
    `logfile = ${join(dir, 'pgbouncer.log')}`,
    '',
  ].join('\n'));
  if (asUser !== undefined) {
    const { uid, gid } = await osUserIds(asUser);
    for (const name of ['', 'users.txt', 'pgbouncer.ini']) await chown(join(dir, name), uid, gid);
  }
  const [command, args] = asUser === undefined
    ? [binary, [join(dir, 'pgbouncer.ini')]]
    : ['runuser', ['-u', asUser, '--', binary, join(dir, 'pgbouncer.ini')]];
  const child: ChildProcess = spawn(command, args, { stdio: 'ignore' });
  let exit: string | null = null;
  child.once('exit', (code, signal) => { exit = `code ${code}, signal ${signal}`; });
  // A test process that exits without its afterAll must not leave PgBouncer behind.
  const forgetExitCleanup = cleanupOnExit(() => child.kill('SIGTERM'));
  const stop = async (): Promise<void> => {
    forgetExitCleanup();
    await stopChild(child);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitForPort(port, READY_TIMEOUT_MS, () => exit);
  } catch (error) {
    const log = await readFile(join(dir, 'pgbouncer.log'), 'utf8').catch(() => '(no log)');
    await stop();
    throw new ServiceSetupError(`could not start PgBouncer: ${messageOf(error)}; log: ${log.trim().split('\n').slice(-3).join(' | ')}`);
  }
  const url = new URL(databaseUrl);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return { url: url.toString(), stop };
}
