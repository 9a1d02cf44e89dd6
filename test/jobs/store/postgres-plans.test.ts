// How Postgres plans the store's statements, on a real server. Claim and finish run for every job:
// - they must find their rows by primary key even when the table's statistics are older than its
//   backlog (else a 10-row claim may read every due job through jobs_claimable), and even under a
//   generic plan made while the table was small (else it scans the table whole as it grows);
// - they must be planned once, not per execution: a "retry?" flag in one statement kept Postgres
//   choosing a fresh custom plan every time.
// pg_prepared_statements and EXPLAIN EXECUTE are per session, so each store here runs on a single
// connection and the test reads that connection's statements.
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { createTelemetry } from '../../../src/index.ts';
import { createSqlClient } from '../../../src/jobs/store/client.ts';
import { jobSql } from '../../../src/jobs/store/sql/jobs.ts';
import { JobStore } from '../../../src/jobs/store/store.ts';
import type { SqlClient } from '../../../src/jobs/store/types.ts';
import { testDatabaseUrl } from '../../helpers/services.ts';
import { randomName, uniqueQueue } from './harness.ts';

const opened: { schema: string; client: SqlClient; store: JobStore }[] = [];

/** A store in a fresh schema of its own, on one connection. */
async function openStore(): Promise<{ client: SqlClient; store: JobStore }> {
  const schema = randomName('store_plans');
  const client = await createSqlClient({ url: testDatabaseUrl(), schema, poolSize: 1 });
  const store = await JobStore.open({ client, telemetry: createTelemetry() });
  opened.push({ schema, client, store });
  return { client, store };
}

afterAll(async () => {
  for (const { schema, client, store } of opened) {
    await store.close();
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
    await client.close();
  }
});

type Literal = string | number | null;

/** An argument list as SQL literals (EXPLAIN EXECUTE takes no bind parameters). */
const literals = (args: readonly (readonly Literal[])[]): string =>
  args.map((values) => `'{${values.map((v) => (v === null ? 'NULL' : `"${String(v)}"`)).join(',')}}'`).join(', ');

async function explain(client: SqlClient, statement: string): Promise<string> {
  return (await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${statement}`)).map((row) => row['QUERY PLAN']).join('\n');
}

/** The store connection's prepared statement whose text is `sql`. */
async function preparedName(client: SqlClient, sql: string): Promise<string> {
  const rows = await client.query<{ name: string; statement: string }>('SELECT name, statement FROM pg_prepared_statements');
  const row = rows.find((r) => r.statement === sql);
  if (row === undefined) throw new Error(`the store's connection has not prepared:\n${sql}`);
  return row.name;
}

/** Claims and finishes `jobs` in rounds of `perRound` concurrent calls: one claim and one finish statement per round. */
async function claimAndFinish(store: JobStore, jobs: readonly { id: string }[], perRound: number): Promise<void> {
  for (let i = 0; i < jobs.length; i += perRound) {
    const claimed = await Promise.all(jobs.slice(i, i + perRound).map((job) => store.jobs.claim(job.id, 'plans/test')));
    const finished = await Promise.all(claimed.map((job) => store.jobs.finish({ id: job!.id, attempt: job!.attempt, status: 'completed', result: null })));
    expect(finished.every(Boolean)).toBe(true);
  }
}

const claimArgs = (ids: readonly string[]) => [ids, ids.map(() => 'plans/test'), ids.map(() => randomUUID()), ids.map((_, i) => i)];
const finishArgs = (jobs: readonly { id: string; attempt: number }[]) => [
  jobs.map((j) => j.id), jobs.map((j) => j.attempt), jobs.map(() => 'completed'), jobs.map(() => 'null'), jobs.map(() => null), jobs.map(() => null), jobs.map((_, i) => i),
];

function expectKeyLookup(plan: string, label: string): void {
  expect(plan, label).toContain('Index Scan using jobs_pkey on jobs j');
  expect(plan, label).not.toMatch(/jobs_claimable|jobs_running|Seq Scan on jobs|Hash Join|Merge Join/);
}

describe('store statements on PostgreSQL', () => {
  it('claim and finish by primary key when the statistics predate the backlog', async () => {
    const { client, store } = await openStore();
    const queue = uniqueQueue();
    // Statistics taken while nothing was queued or running, then a backlog the planner has not seen.
    await client.query('ANALYZE jobs');
    const jobs = await store.jobs.enqueue(Array.from({ length: 4000 }, (_, i) => ({ queue, name: 'noop', data: i })));
    const running = (await Promise.all(jobs.slice(0, 2000).map((job) => store.jobs.claim(job.id, 'plans/test')))).map((job) => job!);
    const claimPlan = await explain(client, `EXECUTE ${await preparedName(client, jobSql.claim)}(${literals(claimArgs(jobs.slice(2000, 2010).map((j) => j.id)))})`);
    await claimAndFinish(store, jobs.slice(3990), 10);
    const finishPlan = await explain(client, `EXECUTE ${await preparedName(client, jobSql.finish)}(${literals(finishArgs(running.slice(0, 10)))})`);
    expectKeyLookup(claimPlan, 'claim');
    expectKeyLookup(finishPlan, 'finish');
  });

  it('keep claiming by primary key under a generic plan made while the table was small', async () => {
    const { client, store } = await openStore();
    const queue = uniqueQueue();
    // A few batches on an empty table: Postgres settles on generic plans for both statements here.
    await claimAndFinish(store, await store.jobs.enqueue(Array.from({ length: 160 }, (_, i) => ({ queue, name: 'noop', data: i }))), 20);
    const backlog = await store.jobs.enqueue(Array.from({ length: 5000 }, (_, i) => ({ queue, name: 'noop', data: i })));
    const running = (await Promise.all(backlog.slice(0, 10).map((job) => store.jobs.claim(job.id, 'plans/test')))).map((job) => job!);
    const generic = async (sql: string, args: readonly (readonly Literal[])[]) => {
      await client.query('SET plan_cache_mode = force_generic_plan');
      try {
        return await explain(client, `EXECUTE ${await preparedName(client, sql)}(${literals(args)})`);
      } finally {
        await client.query('RESET plan_cache_mode');
      }
    };
    expectKeyLookup(await generic(jobSql.claim, claimArgs(backlog.slice(10, 20).map((j) => j.id))), 'claim');
    expectKeyLookup(await generic(jobSql.finish, finishArgs(running)), 'finish');
  });

  it('settle on a generic plan for claim and finish after the first few batches', async () => {
    const { client, store } = await openStore();
    const queue = uniqueQueue();
    const rounds = 12;
    // Postgres keeps custom plans while they look cheaper than the generic one, which assumes 10 rows
    // per array: batches under ~10 rows stay custom (cheap enough at that load), larger ones must not.
    const perRound = 20;
    await claimAndFinish(store, await store.jobs.enqueue(Array.from({ length: rounds * perRound }, (_, i) => ({ queue, name: 'noop', data: i }))), perRound);
    const plans = await client.query<{ statement: string; generic_plans: string; custom_plans: string }>(
      'SELECT statement, generic_plans::text, custom_plans::text FROM pg_prepared_statements',
    );
    for (const [label, sql] of [['claim', jobSql.claim], ['finish', jobSql.finish]] as const) {
      const row = plans.find((p) => p.statement === sql);
      expect(row, label).toBeDefined();
      const generic = Number(row!.generic_plans);
      const custom = Number(row!.custom_plans);
      expect(generic + custom, label).toBe(rounds);
      // Postgres plans a statement's first five executions as custom plans, then compares.
      expect(custom, label).toBeLessThanOrEqual(5);
    }
  });

  it('look up existing rows for a skipped enqueue by index, not by scanning jobs', async () => {
    const { client, store } = await openStore();
    const queue = uniqueQueue();
    await store.jobs.enqueue(Array.from({ length: 2000 }, (_, i) => ({ queue, name: 'noop', data: i, idempotencyKey: `k${i}` })));
    await client.query('ANALYZE jobs');
    const again = await store.jobs.enqueue([{ queue, name: 'noop', data: 0, idempotencyKey: 'k7' }]);
    expect(again[0]!.created).toBe(false);
    const plan = await explain(client, `SELECT * FROM (${jobSql.enqueueExisting.replace(/\$1::bigint\[\]/g, "'{1,2}'::bigint[]").replace('$2::text[]', `'{${queue}}'::text[]`).replace('$3::text[]', "'{k7}'::text[]")}) found`);
    expect(plan).not.toMatch(/Seq Scan on jobs/);
    expect(plan).toContain('jobs_idempotency');
  });
});
