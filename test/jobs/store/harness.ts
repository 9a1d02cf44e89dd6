/**
 * What the store conformance suite needs from a backend: a way to open stores on one shared
 * database (a second store stands for a second supervisor), and a side door for SQL the public API
 * does not offer (backdating heartbeats, inspecting tables). Each pg test file gets its own schema;
 * each PGlite file its own in-memory database, booted once (~2.5 s).
 */
import { randomBytes } from 'node:crypto';
import { createTelemetry, type Telemetry } from '../../../src/index.ts';
import { createSqlClient } from '../../../src/jobs/store/client.ts';
import { JobStore } from '../../../src/jobs/store/store.ts';
import type { JobStoreOptions, SqlClient, SqlRow } from '../../../src/jobs/store/types.ts';

export interface StoreHarness {
  readonly backend: 'postgres' | 'pglite';
  /** Opens a store on the shared database (closed by `teardown`). */
  open(options?: Partial<JobStoreOptions>): Promise<JobStore>;
  /** Closes the stores opened so far (after each test). */
  closeStores(): Promise<void>;
  /** A client on the same database and schema, outside any store. */
  readonly client: SqlClient;
  /** Runs SQL on the same schema, outside any store. */
  sql<R extends SqlRow = SqlRow>(text: string, params?: readonly unknown[]): Promise<R[]>;
  teardown(): Promise<void>;
}

export const randomName = (prefix: string): string => `${prefix}_${randomBytes(4).toString('hex')}`;

/** A queue name no other test uses: assertions only ever look at their own rows. */
export const uniqueQueue = (): string => randomName('q').replace('_', '-');

const fastRetry = { budgetMs: 10_000, minDelayMs: 20, maxDelayMs: 200, probeIntervalMs: 100 };

function tracked(open: (options: Partial<JobStoreOptions>) => Promise<JobStore>) {
  const stores: JobStore[] = [];
  return {
    async open(options: Partial<JobStoreOptions> = {}): Promise<JobStore> {
      const store = await open({ telemetry: createTelemetry() as Telemetry, retry: fastRetry, ...options });
      stores.push(store);
      return store;
    },
    async closeAll(): Promise<void> {
      await Promise.all(stores.splice(0).map((s) => s.close()));
    },
  };
}

/** Stores on a real Postgres database, in a schema of their own. */
export async function postgresHarness(url: string): Promise<StoreHarness> {
  const schema = randomName('store_pg');
  const side: SqlClient = await createSqlClient({ url, schema, poolSize: 2 });
  const stores = tracked((options) => JobStore.open({ url, schema, poolSize: 4, ...options }));
  // Migrate once up front so the side door can see the tables before any test opens a store.
  await stores.open();
  return {
    backend: 'postgres',
    client: side,
    open: stores.open,
    closeStores: stores.closeAll,
    sql: (text, params) => side.query(text, params),
    async teardown() {
      await stores.closeAll();
      await side.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
      await side.close();
    },
  };
}

/** Stores sharing one in-memory PGlite database (the way every store of one embedded process does). */
export async function pgliteHarness(): Promise<StoreHarness> {
  const client = await createSqlClient({ dataDir: 'memory://' });
  const stores = tracked((options) => JobStore.open({ client, ...options }));
  await stores.open();
  return {
    backend: 'pglite',
    client,
    open: stores.open,
    closeStores: stores.closeAll,
    sql: (text, params) => client.query(text, params),
    async teardown() {
      await stores.closeAll();
      await client.close();
    },
  };
}

/** Polls until `check` holds, failing after `timeoutMs`. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 5_000, what = 'condition'): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
