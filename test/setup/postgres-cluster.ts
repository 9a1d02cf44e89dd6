// A throwaway PostgreSQL cluster for one test run: initdb into a temp dir, start on a free loopback
// port, stop and delete in teardown. Used when no DATABASE_URL is set and no local server takes our
// connection. Owning the cluster means no passwords, no pg_hba edits, no system state touched, and
// two concurrent runs never meet. Measured here: initdb + start ≈ 0.7 s on 2 cores.
import { rmSync } from 'node:fs';
import { appendFile, chown, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  cleanupOnExit,
  findPostgresBinDir,
  freePort,
  isRoot,
  messageOf,
  osUserIds,
  runCommand,
  runCommandSync,
  ServiceSetupError,
} from './support.ts';

const INSTALL_HINT = 'apt-get install -y postgresql, or set DATABASE_URL';
const START_ATTEMPTS = 3;

// Durability costs time and buys nothing for data deleted at teardown. max_connections is raised
// because pools, BullMQ and store writers under test each hold connections at once.
const THROWAWAY_SETTINGS = `
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
`;

export interface ThrowawayPostgres {
  /** Superuser URL to the `postgres` maintenance database (trust auth, loopback only). */
  readonly adminUrl: string;
  stop(): Promise<void>;
}

async function postgresUserIds(user: string): Promise<{ uid: number; gid: number }> {
  try {
    return await osUserIds(user);
  } catch {
    throw new ServiceSetupError(
      `pitboss tests need PostgreSQL (its '${user}' OS user runs initdb when tests run as root): ${INSTALL_HINT}`,
    );
  }
}

async function logTail(logFile: string): Promise<string> {
  try {
    const lines = (await readFile(logFile, 'utf8')).trim().split('\n');
    return lines.slice(-3).join(' | ');
  } catch {
    return '(no server log)';
  }
}

export async function startThrowawayPostgres(): Promise<ThrowawayPostgres> {
  const binDir = await findPostgresBinDir();
  if (binDir === null) throw new ServiceSetupError(`pitboss tests need PostgreSQL (initdb, pg_ctl): ${INSTALL_HINT}`);

  // initdb refuses root, so as root the cluster belongs to the `postgres` OS user. /tmp rather
  // than os.tmpdir(): a root TMPDIR under /root would not be traversable by that user.
  const asUser = isRoot() ? 'postgres' : undefined;
  const ids = asUser === undefined ? null : await postgresUserIds(asUser);
  const baseDir = await mkdtemp(join(asUser === undefined ? tmpdir() : '/tmp', 'pitboss-pg-'));
  if (ids !== null) await chown(baseDir, ids.uid, ids.gid);
  const dataDir = join(baseDir, 'data');
  const logFile = join(baseDir, 'server.log');
  const pgCtl = join(binDir, 'pg_ctl');

  const stopArgs = ['-D', dataDir, '-m', 'immediate', '-w', 'stop'];
  let forgetExitCleanup = (): void => {};
  const stop = async (): Promise<void> => {
    forgetExitCleanup();
    try {
      await runCommand(pgCtl, stopArgs, { asUser });
    } finally {
      await rm(baseDir, { recursive: true, force: true });
    }
  };

  try {
    await runCommand(
      join(binDir, 'initdb'),
      ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C'],
      { asUser },
    );
    await appendFile(join(dataDir, 'postgresql.conf'), THROWAWAY_SETTINGS);
  } catch (error) {
    await rm(baseDir, { recursive: true, force: true });
    throw new ServiceSetupError(`pitboss tests could not create a throwaway PostgreSQL cluster: ${messageOf(error)}`);
  }

  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      await runCommand(pgCtl, ['-D', dataDir, '-l', logFile, '-w', '-t', '30', '-o', `-p ${port}`, 'start'], {
        asUser,
      });
      forgetExitCleanup = cleanupOnExit(() => {
        runCommandSync(pgCtl, stopArgs, { asUser });
        rmSync(baseDir, { recursive: true, force: true });
      });
      return { adminUrl: `postgresql://postgres@127.0.0.1:${port}/postgres`, stop };
    } catch (error) {
      const tail = await logTail(logFile);
      // Another process took the port between freePort() and bind: try a fresh one.
      if (attempt < START_ATTEMPTS && /could not bind|already in use/i.test(tail)) continue;
      await rm(baseDir, { recursive: true, force: true });
      throw new ServiceSetupError(`pitboss tests could not start PostgreSQL: ${messageOf(error)}; log: ${tail}`);
    }
  }
}
