/**
 * The two configurations the job system runs in, as factories for the shared suite: a fleet
 * (real Postgres in a schema of this file's own + BullMQ on the run's Redis under a unique prefix)
 * and the embedded default (in-memory PGlite + in-process dispatch). Each also opens a side door on
 * the same database for SQL the public API does not offer.
 */
import { randomBytes } from 'node:crypto';
import type { Telemetry } from '../../../src/index.ts';
import { BullmqDispatcher, LocalDispatcher } from '../../../src/jobs/dispatch/index.ts';
import { createSqlClient } from '../../../src/jobs/store/client.ts';
import { JobStore } from '../../../src/jobs/store/store.ts';
import type { SqlClient, SqlRow } from '../../../src/jobs/store/types.ts';
import type { Dispatcher } from '../../../src/jobs/types.ts';
import { testDatabaseUrl, testRedisUrl } from '../../helpers/services.ts';

export interface SystemBackend {
  readonly store: JobStore;
  readonly dispatcher: Dispatcher;
  /** SQL on the store's database and schema, outside the store. */
  sql<R extends SqlRow = SqlRow>(text: string, params?: readonly unknown[]): Promise<R[]>;
  close(): Promise<void>;
}

export type BackendFactory = (bus: Telemetry) => Promise<SystemBackend>;

export const randomName = (prefix: string): string => `${prefix}_${randomBytes(4).toString('hex')}`;

/** Store writes ride out short outages quickly in tests. */
export const fastRetry = { budgetMs: 20_000, minDelayMs: 20, maxDelayMs: 200, probeIntervalMs: 100 };

export const postgresBullmq: BackendFactory = async (bus) => {
  const url = testDatabaseUrl();
  const schema = randomName('jobsys');
  const store = await JobStore.open({ url, schema, telemetry: bus, poolSize: 6, retry: fastRetry });
  const side: SqlClient = await createSqlClient({ url, schema, poolSize: 2 });
  const dispatcher = new BullmqDispatcher({
    url: testRedisUrl(), prefix: `pbsys-${randomBytes(4).toString('hex')}`, telemetry: bus, stalledIntervalMs: 2_000, lockDurationMs: 4_000,
  });
  return {
    store,
    dispatcher,
    sql: (text, params) => side.query(text, params),
    async close() {
      await dispatcher.close();
      await store.close();
      await side.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
      await side.close();
    },
  };
};

export const pgliteLocal: BackendFactory = async (bus) => {
  const client = await createSqlClient({ dataDir: 'memory://' });
  const store = await JobStore.open({ client, telemetry: bus, retry: fastRetry });
  const dispatcher = new LocalDispatcher();
  return {
    store,
    dispatcher,
    sql: (text, params) => client.query(text, params),
    async close() {
      await dispatcher.close();
      await store.close();
      await client.close();
    },
  };
};
