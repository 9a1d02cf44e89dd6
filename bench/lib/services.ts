/**
 * Real Postgres and Redis for scenarios that need them (jobs-throughput). The test setup already
 * knows how to find or start both, and none of it depends on vitest, so this reuses it: Postgres
 * from DATABASE_URL (a fresh database is created on it and dropped afterwards), a local server, or
 * a throwaway cluster (initdb + pg_ctl, as the `postgres` user when root; fsync off); Redis from
 * REDIS_URL (an empty DB index 1-15 is claimed and flushed afterwards), 127.0.0.1:6379, or a
 * throwaway `redis-server --save '' --appendonly no`. Throwaway servers are stopped at the end, and
 * by an exit hook if the scenario dies first.
 *
 * A service that cannot be found or started fails the scenario with one line saying what to
 * install or set: a benchmark that needs a database must not pass by skipping.
 */
import { provisionTestDatabase, type TestDatabase } from '../../test/setup/postgres.ts';
import { provisionTestRedis, type TestRedis } from '../../test/setup/redis.ts';
import { messageOf } from '../../test/setup/support.ts';

export interface BenchServices {
  readonly databaseUrl: string;
  readonly redisUrl: string;
  /** Where each came from and how long it took, for the scenario's notes. */
  readonly origin: string;
  /** True for a server this run started (no one else's load on it, so its CPU time is ours to read). */
  readonly ownsPostgres: boolean;
  readonly ownsRedis: boolean;
  stop(): Promise<void>;
}

/** Thrown when a service is missing: its stack is the message, so the runner prints one line. */
class MissingServiceError extends Error {
  override name = 'MissingServiceError';

  constructor(message: string) {
    super(message);
    this.stack = `${this.name}: ${message}`;
  }
}

/** Finds or starts both services in parallel; tears down whichever started when the other fails. */
export async function startServices(scenario: string): Promise<BenchServices> {
  const started = performance.now();
  const [database, redis] = await Promise.allSettled([provisionTestDatabase(), provisionTestRedis()]);
  if (database.status === 'rejected' || redis.status === 'rejected') {
    const failures: string[] = [];
    for (const result of [database, redis] as PromiseSettledResult<TestDatabase | TestRedis>[]) {
      if (result.status === 'fulfilled') await result.value.teardown().catch(() => {});
      // The setup's messages speak of "pitboss tests"; here it is a benchmark that needs the service.
      else failures.push(messageOf(result.reason).replace(/^pitboss tests /, ''));
    }
    throw new MissingServiceError(`${scenario} needs a real Postgres and Redis (set DATABASE_URL/REDIS_URL or install them): ${failures.join('; ')}`);
  }
  const db = database.value;
  const rd = redis.value;
  const ms = Math.round(performance.now() - started);
  return {
    databaseUrl: db.url,
    redisUrl: rd.url,
    origin: `postgres: ${db.origin} (database ${db.name}); redis: ${rd.origin}; ready in ${ms} ms`,
    ownsPostgres: db.origin.startsWith('throwaway'),
    ownsRedis: rd.origin.startsWith('throwaway'),
    async stop() {
      const outcomes = await Promise.allSettled([db.teardown(), rd.teardown()]);
      for (const outcome of outcomes) {
        // A failed cleanup leaves a stray database or process, but says nothing about the numbers.
        if (outcome.status === 'rejected') console.warn(`  warning: service teardown: ${messageOf(outcome.reason)}`);
      }
    },
  };
}
