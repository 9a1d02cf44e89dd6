// What the store asks of the connection in front of Postgres, checked on real servers: a stock
// PgBouncer in session mode (docs/jobs.md) and connection URLs that carry settings of their own.
// The store's session settings — schema, statement_timeout, planner settings — are SET on each new
// connection, so none of them travels as a startup parameter that a pooler refuses or a URL
// overrides.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTelemetry } from '../../../src/index.ts';
import { createSqlClient } from '../../../src/jobs/store/client.ts';
import { JobStore } from '../../../src/jobs/store/store.ts';
import type { SqlClient } from '../../../src/jobs/store/types.ts';
import { startPgbouncer, type ThrowawayPgbouncer } from '../../setup/pgbouncer.ts';
import { testDatabaseUrl } from '../../helpers/services.ts';
import { randomName, uniqueQueue } from './harness.ts';

const schemas: string[] = [];
const clients: SqlClient[] = [];
let bouncer: ThrowawayPgbouncer;
let direct: SqlClient;

beforeAll(async () => {
  bouncer = await startPgbouncer(testDatabaseUrl());
  direct = await createSqlClient({ url: testDatabaseUrl() });
});

afterAll(async () => {
  for (const client of clients) await client.close().catch(() => {});
  for (const schema of schemas) await direct.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
  await direct?.close();
  await bouncer?.stop();
});

async function client(url: string, options: { schema?: string; statementTimeoutMs?: number } = {}): Promise<SqlClient> {
  if (options.schema !== undefined) schemas.push(options.schema);
  const opened = await createSqlClient({ url, poolSize: 1, ...options });
  clients.push(opened);
  return opened;
}

/** The settings a store connection runs with, read on that connection. */
async function sessionSettings(c: SqlClient): Promise<Record<string, string>> {
  const rows = await c.query<{ name: string; setting: string }>(
    "SELECT name, setting FROM pg_settings WHERE name IN ('search_path', 'statement_timeout', 'enable_seqscan', 'enable_hashjoin', 'enable_mergejoin')",
  );
  return Object.fromEntries(rows.map((row) => [row.name, row.setting]));
}

describe('behind PgBouncer (session mode, stock startup-parameter policy)', () => {
  it('runs a job end to end in its own schema, with its statement timeout and planner settings', async () => {
    const schema = randomName('pooled');
    const c = await client(bouncer.url, { schema, statementTimeoutMs: 12_000 });
    const store = await JobStore.open({ client: c, telemetry: createTelemetry() });
    try {
      const queue = uniqueQueue();
      const [job] = await store.jobs.enqueue([{ queue, name: 'through-bouncer', data: { n: 1 } }]);
      const claimed = await store.jobs.claim(job!.id, 'pooler/test');
      expect(claimed?.payload).toEqual({ n: 1 });
      expect(await store.jobs.finish({ id: job!.id, attempt: claimed!.attempt, status: 'completed', result: 'ok' })).toBe(true);
      // The row is in the store's schema, seen from a direct connection.
      const [row] = await direct.query<{ status: string }>(`SELECT status FROM "${schema}".jobs WHERE id = $1::bigint`, [job!.id]);
      expect(row?.status).toBe('completed');
      expect(await sessionSettings(c)).toEqual({
        search_path: schema, statement_timeout: '12000', enable_seqscan: 'off', enable_hashjoin: 'off', enable_mergejoin: 'off',
      });
    } finally {
      await store.close();
    }
  });
});

describe('a connection URL with settings of its own', () => {
  it('keeps the store in its schema when the URL sets search_path through options', async () => {
    const schema = randomName('own_schema');
    const url = new URL(testDatabaseUrl());
    url.searchParams.set('options', '-c search_path=public -c work_mem=8MB');
    const c = await client(url.toString(), { schema });
    const store = await JobStore.open({ client: c, telemetry: createTelemetry() });
    try {
      const [job] = await store.jobs.enqueue([{ queue: uniqueQueue(), name: 'own-schema' }]);
      const [row] = await direct.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${schema}".jobs WHERE id = $1::bigint`, [job!.id]);
      expect(row?.n).toBe(1);
      const settings = await sessionSettings(c);
      expect(settings.search_path).toBe(schema);
      // The URL's other settings still apply.
      expect((await c.query<{ work_mem: string }>('SHOW work_mem'))[0]?.work_mem).toBe('8MB');
    } finally {
      await store.close();
    }
  });

  it('applies statementTimeoutMs over a statement_timeout in the URL (0 turns it off)', async () => {
    const url = new URL(testDatabaseUrl());
    url.searchParams.set('options', '-c statement_timeout=5000');
    const c = await client(url.toString(), { statementTimeoutMs: 0 });
    expect((await sessionSettings(c)).statement_timeout).toBe('0');
  });
});
