// Gives each test run a fresh PostgreSQL database on a real server. The server is, in order:
// DATABASE_URL when set (and then it must work), a local server that lets us create a database
// without a password, or a throwaway cluster started for this run. The database is created under
// a unique name and dropped in teardown, so runs never see each other's rows.
import { userInfo } from 'node:os';
import pg from 'pg';
import { startThrowawayPostgres } from './postgres-cluster.ts';
import { isRoot, messageOf, randomSuffix, redactUrl, ServiceSetupError } from './support.ts';

const CONNECT_TIMEOUT_MS = 3_000;

export interface TestDatabase {
  /** Connection URL of the fresh per-run database. */
  readonly url: string;
  readonly name: string;
  /** Where the server came from, for the one-line setup summary. */
  readonly origin: string;
  teardown(): Promise<void>;
}

interface PostgresServer {
  readonly adminUrl: string;
  readonly origin: string;
  stop?: () => Promise<void>;
}

function withDatabase(adminUrl: string, database: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

async function onAdminConnection<T>(adminUrl: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  // A server that drops us mid-setup would otherwise surface as an unhandled 'error' event.
  client.on('error', () => {});
  try {
    // Inside the try: a refused login must still end the client, or its socket keeps vitest alive.
    await client.connect();
    return await work(client);
  } finally {
    await client.end().catch(() => {});
  }
}

async function createDatabase(adminUrl: string, name: string): Promise<void> {
  await onAdminConnection(adminUrl, (client) => client.query(`CREATE DATABASE "${name}"`));
}

async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  // FORCE (PostgreSQL 13+) ends connections a test leaked, which would otherwise block the drop.
  await onAdminConnection(adminUrl, (client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
}

/**
 * Servers a developer may already run. Default Debian auth rejects all of these for root
 * (peer auth maps root to no role; TCP wants a password), which is fine: we fall through to a
 * throwaway cluster rather than editing pg_hba.conf or setting passwords on a system cluster.
 */
function localCandidates(): string[] {
  const candidates = [
    'postgresql://postgres@127.0.0.1:5432/postgres',
    'postgresql://postgres@localhost/postgres?host=/var/run/postgresql',
  ];
  if (!isRoot()) {
    const me = encodeURIComponent(userInfo().username);
    candidates.push(`postgresql://${me}@localhost/postgres?host=/var/run/postgresql`);
  }
  return candidates;
}

/** Finds or starts a server and creates the database `name` on it. */
async function serverWithDatabase(name: string): Promise<PostgresServer> {
  const fromEnv = process.env.DATABASE_URL;
  if (fromEnv !== undefined && fromEnv !== '') {
    try {
      await createDatabase(fromEnv, name);
    } catch (error) {
      throw new ServiceSetupError(
        `pitboss tests cannot create a database via DATABASE_URL (${redactUrl(fromEnv)}): ${messageOf(error)}; ` +
          'point it at a running server whose role may CREATE DATABASE, or unset it to use a throwaway cluster',
      );
    }
    return { adminUrl: fromEnv, origin: 'DATABASE_URL' };
  }

  for (const candidate of localCandidates()) {
    try {
      await createDatabase(candidate, name);
      return { adminUrl: candidate, origin: `local server ${redactUrl(candidate)}` };
    } catch {
      // Not running, or not ours to use without a password: try the next, then start our own.
    }
  }

  const cluster = await startThrowawayPostgres();
  try {
    await createDatabase(cluster.adminUrl, name);
  } catch (error) {
    await cluster.stop().catch(() => {});
    throw new ServiceSetupError(`pitboss tests started PostgreSQL but could not create a database: ${messageOf(error)}`);
  }
  return { adminUrl: cluster.adminUrl, origin: `throwaway cluster ${cluster.adminUrl}`, stop: cluster.stop };
}

export async function provisionTestDatabase(): Promise<TestDatabase> {
  const name = `pitboss_test_${Date.now()}_${randomSuffix()}`;
  const server = await serverWithDatabase(name);
  return {
    url: withDatabase(server.adminUrl, name),
    name,
    origin: server.origin,
    async teardown() {
      try {
        // A throwaway cluster is deleted whole; dropping the database first would only cost time.
        if (server.stop === undefined) await dropDatabase(server.adminUrl, name);
      } finally {
        await server.stop?.();
      }
    },
  };
}
