// How Postgres plans the hot batched writes (claim, finish), which run for every job.
// - They must find their rows by primary key even when the table's statistics are older than its
//   backlog: otherwise a 10-row claim may read every due job through jobs_claimable.
// - They must be planned once, not per execution. Postgres keeps a custom plan for a prepared
//   statement while it looks cheaper than the generic one; a "retry?" flag in one statement made it
//   look so forever. pg_prepared_statements counts both kinds of plan per session, so the store here
//   runs on a single connection and reads that connection's counts.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobSql } from '../../../src/jobs/store/sql.ts';
import { createTelemetry } from '../../../src/index.ts';
import { createSqlClient } from '../../../src/jobs/store/client.ts';
import { JobStore } from '../../../src/jobs/store/store.ts';
import type { SqlClient } from '../../../src/jobs/store/types.ts';
import { testDatabaseUrl } from '../../helpers/services.ts';
import { randomName, uniqueQueue } from './harness.ts';

const schema = randomName('store_plans');
let client: SqlClient;
let store: JobStore;

beforeAll(async () => {
  client = await createSqlClient({ url: testDatabaseUrl(), schema, poolSize: 1 });
  store = await JobStore.open({ client, telemetry: createTelemetry() });
});
afterAll(async () => {
  await store?.close();
  await client?.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
  await client?.close();
});

type PlanCounts = { statement: string; generic_plans: string; custom_plans: string };

/** An array argument as a Postgres array literal's text (EXPLAIN EXECUTE takes no bind parameters). */
const arrayText = (values: readonly (string | number | null)[]): string =>
  `{${values.map((v) => (v === null ? 'NULL' : `"${String(v).replace(/["\\]/g, '\\$&')}"`)).join(',')}}`;

/** The plan Postgres makes for `sql` with these arguments, as a custom plan and as a generic one. */
async function plans(sql: string, types: string, args: readonly (readonly (string | number | null)[])[]): Promise<{ custom: string; generic: string }> {
  const side = new pg.Client({ connectionString: testDatabaseUrl(), options: `-c search_path=${schema}` });
  await side.connect();
  try {
    const explain = async (mode: string): Promise<string> => {
      await side.query(`SET plan_cache_mode = ${mode}`);
      await side.query(`PREPARE probe(${types}) AS ${sql}`);
      const literals = args.map((values) => side.escapeLiteral(arrayText(values))).join(', ');
      const rows = await side.query<{ 'QUERY PLAN': string }>(`EXPLAIN EXECUTE probe(${literals})`);
      await side.query('DEALLOCATE probe');
      return rows.rows.map((row) => row['QUERY PLAN']).join('\n');
    };
    return { custom: await explain('force_custom_plan'), generic: await explain('force_generic_plan') };
  } finally {
    await side.end();
  }
}

describe('prepared hot writes on PostgreSQL', () => {
  it('find their rows by primary key when the statistics predate the backlog', async () => {
    const queue = uniqueQueue();
    // Statistics taken while nothing was queued or running, then a backlog the planner has not seen.
    await client.query('ANALYZE jobs');
    const jobs = await store.enqueue(Array.from({ length: 4000 }, (_, i) => ({ queue, name: 'noop', data: i })));
    const running = await Promise.all(jobs.slice(0, 2000).map((job) => store.claim(job.id, 'plans/test')));
    const claimIds = jobs.slice(2000, 2010).map((job) => job.id);
    const claim = await plans(jobSql.claim, 'bigint[], text[], uuid[], int[]', [
      claimIds, claimIds.map(() => 'plans/test'), claimIds.map(() => randomUUID()), claimIds.map((_, i) => i),
    ]);
    const finishing = running.slice(0, 10).map((job) => job!);
    const finish = await plans(jobSql.finish, 'bigint[], int[], text[], text[], text[], timestamptz[], int[]', [
      finishing.map((job) => job.id), finishing.map((job) => job.attempt), finishing.map(() => 'completed'), finishing.map(() => 'null'),
      finishing.map(() => null), finishing.map(() => null), finishing.map((_, i) => i),
    ]);
    for (const [name, plan] of Object.entries({ claimCustom: claim.custom, claimGeneric: claim.generic, finishCustom: finish.custom, finishGeneric: finish.generic })) {
      expect(plan, name).toContain('Index Scan using jobs_pkey on jobs j');
      expect(plan, name).not.toMatch(/jobs_claimable|jobs_running|Seq Scan on jobs/);
    }
  });

  it('settle on a generic plan for claim and finish after the first few batches', async () => {
    const queue = uniqueQueue();
    const rounds = 12;
    // Postgres keeps custom plans while they look cheaper than the generic one, which assumes 10 rows
    // per array: batches under ~10 rows stay custom (cheap enough at that load), larger ones must not.
    const perBatch = 20;
    const planCounts = async (marker: string) => {
      const rows = await client.query<PlanCounts>('SELECT statement, generic_plans::text, custom_plans::text FROM pg_prepared_statements');
      const row = rows.find((p) => p.statement.includes(marker));
      return { generic: Number(row?.generic_plans ?? 0), custom: Number(row?.custom_plans ?? 0) };
    };
    const markers = ['claimed AS (', 'finished AS ('];
    const before = await Promise.all(markers.map(planCounts));
    const jobs = await store.enqueue(Array.from({ length: rounds * perBatch }, (_, i) => ({ queue, name: 'noop', data: i })));
    for (let round = 0; round < rounds; round++) {
      const batch = jobs.slice(round * perBatch, (round + 1) * perBatch);
      // Concurrent calls share one flush: each round is one claim statement and one finish statement.
      const claimed = await Promise.all(batch.map((job) => store.claim(job.id, 'plans/test')));
      const finished = await Promise.all(claimed.map((job) => store.finish({ id: job!.id, attempt: job!.attempt, status: 'completed', result: null })));
      expect(finished).toEqual(batch.map(() => true));
    }

    const after = await Promise.all(markers.map(planCounts));
    markers.forEach((marker, i) => {
      const generic = after[i]!.generic - before[i]!.generic;
      const custom = after[i]!.custom - before[i]!.custom;
      expect(generic + custom, marker).toBe(rounds);
      // Postgres plans a statement's first five executions on the connection as custom plans, then compares.
      expect(custom, marker).toBeLessThanOrEqual(5);
      expect(generic, marker).toBeGreaterThanOrEqual(rounds - 5);
    });
  });
});
