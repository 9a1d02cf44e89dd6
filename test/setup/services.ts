// Vitest globalSetup: gives the whole test run one real PostgreSQL database and one real Redis DB
// index, both fresh for this run, and hands their URLs to tests through provide/inject (see
// test/helpers/services.ts). A missing service fails the run with one line saying what to install;
// integration tests are never silently skipped.
import type { TestProject } from 'vitest/node';
import { provisionTestDatabase, type TestDatabase } from './postgres.ts';
import { provisionTestRedis, type TestRedis } from './redis.ts';
import { messageOf, ServiceSetupError } from './support.ts';

type Teardown = () => Promise<void>;

/** Tears down whichever services did start, then reports every failure, one line each. */
async function failSetup(
  results: [PromiseSettledResult<TestDatabase>, PromiseSettledResult<TestRedis>],
): Promise<never> {
  const failures: string[] = [];
  for (const result of results) {
    if (result.status === 'fulfilled') await result.value.teardown().catch(() => {});
    else failures.push(messageOf(result.reason));
  }
  throw new ServiceSetupError(failures.join('\n'));
}

export default async function setup({ provide }: TestProject): Promise<Teardown> {
  const startedAt = performance.now();
  // Both start in parallel: a throwaway Postgres cluster is the slow one (~0.7 s) either way.
  const results = await Promise.allSettled([provisionTestDatabase(), provisionTestRedis()]);
  const [databaseResult, redisResult] = results;
  if (databaseResult.status === 'rejected' || redisResult.status === 'rejected') return failSetup(results);
  const database = databaseResult.value;
  const redis = redisResult.value;

  provide('databaseUrl', database.url);
  provide('redisUrl', redis.url);
  // Also in the environment, for child processes a test spawns (supervisors under test); vitest's
  // own workers should use inject, which does not depend on when a worker was forked.
  const previousEnv = {
    database: process.env.PITBOSS_TEST_DATABASE_URL,
    redis: process.env.PITBOSS_TEST_REDIS_URL,
  };
  process.env.PITBOSS_TEST_DATABASE_URL = database.url;
  process.env.PITBOSS_TEST_REDIS_URL = redis.url;

  const elapsedMs = Math.round(performance.now() - startedAt);
  console.log(
    `[test services] postgres: ${database.origin}, database ${database.name}; ` +
      `redis: ${redis.origin} (ready in ${elapsedMs} ms)`,
  );

  return async () => {
    restoreEnv('PITBOSS_TEST_DATABASE_URL', previousEnv.database);
    restoreEnv('PITBOSS_TEST_REDIS_URL', previousEnv.redis);
    const outcomes = await Promise.allSettled([database.teardown(), redis.teardown()]);
    for (const outcome of outcomes) {
      // A failed cleanup leaves a stray database or process behind but says nothing about the code
      // under test, so it warns instead of failing a green run.
      if (outcome.status === 'rejected') console.warn(`[test services] teardown: ${messageOf(outcome.reason)}`);
    }
  };
}

function restoreEnv(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}
