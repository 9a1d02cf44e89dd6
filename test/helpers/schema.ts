/**
 * A schema of its own on the run's real Postgres, for tests that start whole deployments: their
 * jobs, supervisors and persisted control rules stay out of other test files' way (the control
 * table is fleet-wide per schema, and NOTIFY payloads name their schema). The URL carries
 * `options=-c search_path=<schema>`, so code that only takes a DATABASE_URL lands there too.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { testDatabaseUrl } from './services.ts';

export interface IsolatedSchema {
  readonly schema: string;
  /** DATABASE_URL whose connections use only this schema. */
  readonly url: string;
  /** Runs one statement in the schema (for seeding and inspection). */
  sql<R extends Record<string, unknown>>(text: string, params?: unknown[]): Promise<R[]>;
  drop(): Promise<void>;
}

export async function isolatedSchema(prefix: string): Promise<IsolatedSchema> {
  const schema = `${prefix}_${randomBytes(4).toString('hex')}`;
  const url = new URL(testDatabaseUrl());
  url.searchParams.set('options', `-c search_path=${schema}`);
  const client = new pg.Client({ connectionString: url.toString(), connectionTimeoutMillis: 5000 });
  client.on('error', () => {});
  await client.connect();
  await client.query(`CREATE SCHEMA "${schema}"`);
  return {
    schema,
    url: url.toString(),
    sql: async <R extends Record<string, unknown>>(text: string, params: unknown[] = []) => (await client.query<R>(text, params)).rows,
    async drop() {
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
      await client.end().catch(() => {});
    },
  };
}
