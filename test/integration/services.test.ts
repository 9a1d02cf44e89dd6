// Proves the globalSetup hands tests real, per-run services: a fresh PostgreSQL database that
// accepts DDL and writes, and a Redis DB index of our own.
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabaseUrl, testRedisUrl } from '../helpers/services.ts';

const FRESH_DATABASE_NAME = /^pitboss_test_\d+_[0-9a-f]{8}$/;

describe('PostgreSQL from the test setup', () => {
  let client: pg.Client;

  beforeAll(async () => {
    client = new pg.Client({ connectionString: testDatabaseUrl() });
    await client.connect();
  });

  afterAll(async () => {
    await client.end();
  });

  it('is connected to the fresh per-run database named in the URL', async () => {
    const nameInUrl = new URL(testDatabaseUrl()).pathname.slice(1);
    expect(nameInUrl).toMatch(FRESH_DATABASE_NAME);
    const { rows } = await client.query<{ name: string }>('SELECT current_database() AS name');
    expect(rows[0]?.name).toBe(nameInUrl);
  });

  it('was created by this run (other files share it, so its tables are not checked)', async () => {
    const { rows } = await client.query<{ name: string }>('SELECT current_database() AS name');
    const stamp = Number(/^pitboss_test_(\d+)_/.exec(rows[0]!.name)?.[1]);
    expect(Date.now() - stamp).toBeLessThan(60 * 60_000);
  });

  it('creates a table, writes rows and reads them back', async () => {
    await client.query('CREATE TABLE setup_probe (id serial PRIMARY KEY, payload jsonb NOT NULL)');
    await client.query('INSERT INTO setup_probe (payload) VALUES ($1), ($2)', [{ n: 1 }, { n: 2 }]);
    const { rows } = await client.query<{ payload: { n: number } }>('SELECT payload FROM setup_probe ORDER BY id');
    expect(rows.map((row) => row.payload.n)).toEqual([1, 2]);
  });
});

describe('Redis from the test setup', () => {
  let redis: Redis;

  beforeAll(async () => {
    redis = new Redis(testRedisUrl(), { lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect();
  });

  afterAll(async () => {
    await redis.quit();
  });

  it('selects a DB index of its own, never the shared DB 0', () => {
    const index = Number(new URL(testRedisUrl()).pathname.slice(1));
    expect(index).toBeGreaterThanOrEqual(1);
    expect(index).toBeLessThanOrEqual(15);
  });

  it('sets and gets a key', async () => {
    await redis.set('setup-probe', 'hello', 'EX', 60);
    expect(await redis.get('setup-probe')).toBe('hello');
  });
});
