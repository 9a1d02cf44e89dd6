// Gives each test run its own Redis logical database on a real server. The server is, in order:
// REDIS_URL when set (and then it must answer), a server on 127.0.0.1:6379, or a throwaway
// redis-server started for this run. The run claims an empty DB index 1-15 and flushes only that
// index in teardown; DB 0 is left to whatever else uses a shared server.
import { Redis } from 'ioredis';
import { pingRedis, startThrowawayRedis } from './redis-server.ts';
import { messageOf, randomSuffix, redactUrl, ServiceSetupError } from './support.ts';

const DEFAULT_LOCAL_URL = 'redis://127.0.0.1:6379';
const CLAIMABLE_INDEXES = Array.from({ length: 15 }, (_, i) => i + 1);
// Claims live in DB 0 so tests never see them. The TTL frees an index whose run was killed
// before teardown; it is far longer than any test run.
const CLAIM_KEY_PREFIX = 'pitboss:test:redis-db-claim:';
const CLAIM_TTL_SECONDS = 6 * 60 * 60;

export interface TestRedis {
  /** Connection URL selecting this run's own DB index. */
  readonly url: string;
  readonly origin: string;
  teardown(): Promise<void>;
}

interface RedisServer {
  readonly url: string;
  readonly origin: string;
  stop?: () => Promise<void>;
}

function withDbIndex(serverUrl: string, index: number): string {
  const url = new URL(serverUrl);
  url.pathname = `/${index}`;
  return url.toString();
}

function connect(url: string): Redis {
  const client = new Redis(url, { maxRetriesPerRequest: 1, connectTimeout: 3_000, retryStrategy: () => null });
  client.on('error', () => {});
  return client;
}

async function findOrStartServer(): Promise<RedisServer> {
  const fromEnv = process.env.REDIS_URL;
  if (fromEnv !== undefined && fromEnv !== '') {
    const ping = await pingRedis(fromEnv, 3_000);
    if (!ping.ok) {
      throw new ServiceSetupError(
        `pitboss tests cannot reach REDIS_URL (${redactUrl(fromEnv)}): ${ping.reason}; ` +
          'start that server, or unset REDIS_URL to let the tests start their own redis-server',
      );
    }
    return { url: fromEnv, origin: 'REDIS_URL' };
  }
  if ((await pingRedis(DEFAULT_LOCAL_URL)).ok) return { url: DEFAULT_LOCAL_URL, origin: `local server ${DEFAULT_LOCAL_URL}` };
  const server = await startThrowawayRedis();
  return { url: server.url, origin: `throwaway redis-server ${server.url}`, stop: server.stop };
}

/** Indexes that hold keys, read from INFO keyspace lines such as `db3:keys=5,expires=0`. */
function nonEmptyIndexes(keyspaceInfo: string): Set<number> {
  return new Set([...keyspaceInfo.matchAll(/^db(\d+):keys=(\d+)/gm)].filter((m) => m[2] !== '0').map((m) => Number(m[1])));
}

/**
 * Claims an empty DB index with SET NX, so two concurrent runs against one server never share.
 * Indexes are tried in random order to make collisions rare in the first place.
 */
async function claimDbIndex(serverUrl: string, runId: string): Promise<number> {
  const admin = connect(withDbIndex(serverUrl, 0));
  try {
    const occupied = nonEmptyIndexes(await admin.info('keyspace'));
    const candidates = CLAIMABLE_INDEXES.filter((index) => !occupied.has(index)).sort(() => Math.random() - 0.5);
    for (const index of candidates) {
      const claimed = await admin.set(`${CLAIM_KEY_PREFIX}${index}`, runId, 'EX', CLAIM_TTL_SECONDS, 'NX');
      if (claimed === 'OK') return index;
    }
  } finally {
    admin.disconnect();
  }
  throw new ServiceSetupError(
    `pitboss tests found no empty, unclaimed Redis DB index 1-15 on ${redactUrl(serverUrl)}; ` +
      'set REDIS_URL to a server with a free index, or unset it to let the tests start their own redis-server',
  );
}

async function releaseDbIndex(serverUrl: string, index: number, runId: string): Promise<void> {
  const run = connect(withDbIndex(serverUrl, index));
  try {
    await run.flushdb();
  } finally {
    run.disconnect();
  }
  const admin = connect(withDbIndex(serverUrl, 0));
  try {
    const claimKey = `${CLAIM_KEY_PREFIX}${index}`;
    // Only our own claim: after a TTL expiry the key may already belong to another run.
    if ((await admin.get(claimKey)) === runId) await admin.del(claimKey);
  } finally {
    admin.disconnect();
  }
}

export async function provisionTestRedis(): Promise<TestRedis> {
  const server = await findOrStartServer();
  const runId = `${process.pid}-${randomSuffix()}`;
  let index: number;
  try {
    index = await claimDbIndex(server.url, runId);
    const url = withDbIndex(server.url, index);
    const ping = await pingRedis(url, 3_000);
    if (!ping.ok) throw new ServiceSetupError(`pitboss tests cannot SELECT Redis DB ${index} on ${redactUrl(server.url)}: ${ping.reason}`);
  } catch (error) {
    await server.stop?.().catch(() => {});
    throw error instanceof ServiceSetupError ? error : new ServiceSetupError(`pitboss tests could not set up Redis: ${messageOf(error)}`);
  }
  return {
    url: withDbIndex(server.url, index),
    origin: `${server.origin} db ${index}`,
    async teardown() {
      try {
        // A throwaway server is stopped whole; flushing it first would only cost time.
        if (server.stop === undefined) await releaseDbIndex(server.url, index, runId);
      } finally {
        await server.stop?.();
      }
    },
  };
}
