// Integration tests reach the real services started by test/setup/services.ts through these.
import { inject } from 'vitest';

/** URL of this test run's own, freshly created PostgreSQL database. */
export function testDatabaseUrl(): string {
  return inject('databaseUrl');
}

/** URL of a real Redis server, with a DB index no other test run uses. */
export function testRedisUrl(): string {
  return inject('redisUrl');
}
