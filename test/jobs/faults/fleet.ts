/**
 * What the fault tests share: a schema of their own on the run's Postgres that CLI-spawned
 * supervisors reach through their DATABASE_URL (search_path in the URL's `options`), a producer that
 * enqueues the way host code does, and bounded waits on the job table.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import { createTelemetry, JobSystem } from '../../../src/index.ts';
import { BullmqDispatcher } from '../../../src/jobs/dispatch/index.ts';
import { createSqlClient } from '../../../src/jobs/store/client.ts';
import { JobStore } from '../../../src/jobs/store/store.ts';
import type { SqlClient, SqlRow } from '../../../src/jobs/store/types.ts';
import type { EnqueueInput, EnqueuedJob } from '../../../src/jobs/types.ts';
import { testDatabaseUrl } from '../../helpers/services.ts';
import { RedisProcess } from '../dispatch/redis-process.ts';
import type { SupervisorProcess } from './supervisor-process.ts';

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** `url` with `search_path` set to `schema` for every connection made from it. */
function withSearchPath(url: string, schema: string): string {
  const parsed = new URL(url);
  parsed.searchParams.set('options', `-c search_path=${schema}`);
  return parsed.toString();
}

export interface FleetDatabase {
  readonly schema: string;
  /** DATABASE_URL for supervisors: lands in `schema`. */
  readonly url: string;
  sql<R extends SqlRow = SqlRow>(text: string, params?: readonly unknown[]): Promise<R[]>;
  /** Enqueues through a JobSystem that consumes nothing (host code submitting jobs), dispatching on `redisUrl` (prefix `pitboss`). */
  enqueue(redisUrl: string, inputs: readonly EnqueueInput[]): Promise<EnqueuedJob[]>;
  drop(): Promise<void>;
}

/** Creates and migrates a fresh schema on `url`. */
async function fleetDatabase(url: string, prefix: string): Promise<FleetDatabase> {
  const schema = `${prefix}_${randomBytes(4).toString('hex')}`;
  const migrated = await JobStore.open({ url, schema, poolSize: 1, telemetry: createTelemetry() });
  await migrated.close();
  const side: SqlClient = await createSqlClient({ url, schema, poolSize: 2 });
  return {
    schema,
    url: withSearchPath(url, schema),
    sql: (text, params) => side.query(text, params),
    async enqueue(redisUrl, inputs) {
      const bus = createTelemetry();
      const store = await JobStore.open({ url, schema, poolSize: 2, telemetry: bus, migrate: false });
      const dispatcher = new BullmqDispatcher({ url: redisUrl, telemetry: bus });
      try {
        // Tests fill the queues before starting the supervisors that consume them: declare them.
        const producer = new JobSystem({ store, dispatcher, queues: {}, acceptQueues: [...new Set(inputs.map((input) => input.queue))], telemetry: bus });
        const jobs: EnqueuedJob[] = [];
        for (let i = 0; i < inputs.length; i += 1000) jobs.push(...await producer.enqueue(inputs.slice(i, i + 1000)));
        return jobs;
      } finally {
        await dispatcher.close();
        await store.close();
      }
    },
    async drop() {
      await side.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
      await side.close();
    },
  };
}

/** Counts of the job table by status. */
export async function statusCounts(db: Pick<FleetDatabase, 'sql'>): Promise<Record<string, number>> {
  const rows = await db.sql<{ status: string; n: number }>('SELECT status, count(*)::int AS n FROM jobs GROUP BY status');
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}

/** Polls until `check` holds; fails after `timeoutMs` with `describe()`'s view of the state. */
export async function until(check: () => Promise<boolean>, timeoutMs: number, describe: () => Promise<unknown>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms; state: ${JSON.stringify(await describe())}`);
    await sleep(50);
  }
}

/** What a fault test's describe block works on: its schema, its redis-server, the supervisors it started. */
export interface FleetSuite {
  readonly db: FleetDatabase;
  readonly redis: RedisProcess;
  /** Every supervisor started goes here, so the suite kills what is left of them. */
  readonly supervisors: SupervisorProcess[];
}

/** Call in a describe block: a fresh schema and redis-server before its tests; after them, the supervisors killed and both removed. */
export function fleetSuite(prefix: string): FleetSuite {
  let db: FleetDatabase | undefined;
  let redis: RedisProcess | undefined;
  const supervisors: SupervisorProcess[] = [];
  beforeAll(async () => {
    [db, redis] = await Promise.all([fleetDatabase(testDatabaseUrl(), prefix), RedisProcess.start()]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all(supervisors.map((s) => s.kill()));
    await redis?.kill();
    await db?.drop();
  }, 30_000);
  return {
    get db() { return db!; },
    get redis() { return redis!; },
    supervisors,
  };
}
