// How Postgres plans the job listing (GET /jobs) and the bulk retry, on a real server with 100 k
// rows analysed: every filter combination users page through reads its own index of migration 8
// backward, newest first, and stops after the page — no sequential scan, no sort of the matches.
// bench/job-search.bench.ts measures the same statements at 1 M rows.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTelemetry } from '../../../src/index.ts';
import { createSqlClient } from '../../../src/jobs/store/client.ts';
import { listStatement, searchSql, type ListFilter } from '../../../src/jobs/store/sql/search.ts';
import { JobStore } from '../../../src/jobs/store/store.ts';
import type { SqlClient } from '../../../src/jobs/store/types.ts';
import { testDatabaseUrl } from '../../helpers/services.ts';
import { randomName } from './harness.ts';

const schema = randomName('search_plans');
let client: SqlClient;
let store: JobStore;

beforeAll(async () => {
  client = await createSqlClient({ url: testDatabaseUrl(), schema, poolSize: 1 });
  store = await JobStore.open({ client, telemetry: createTelemetry() });
  // 100 k jobs over 30 days, 26 s apart: ten busy queues q0..q9 of 20 names, and a 'rare' one (1 %) of
  // three names; mostly completed, 2 % dead (a fifth of 'rare'), some failed, queued, cancelled.
  await client.query(`INSERT INTO jobs (queue, name, status, attempts, created_at, finished_at, error)
    SELECT CASE WHEN i % 100 = 7 THEN 'rare' ELSE 'q' || (i % 10) END,
      CASE WHEN i % 100 = 7 THEN 'r' || (i % 300 / 100) ELSE 'n' || (i % 20) END,
      CASE WHEN i % 500 = 7 OR i % 50 = 0 THEN 'dead' WHEN i % 50 = 1 THEN 'failed' WHEN i % 50 = 2 THEN 'cancelled'
           WHEN i % 50 BETWEEN 3 AND 5 THEN 'queued' ELSE 'completed' END,
      1, now() - (100000 - i) * interval '26 seconds', now() - (100000 - i) * interval '26 seconds',
      CASE WHEN i % 500 = 7 OR i % 50 = 0 THEN '{"type":"Timeout","message":"m"}'::jsonb END
    FROM generate_series(1, 100000) i`);
  await client.query('ANALYZE jobs');
}, 60_000);

afterAll(async () => {
  await store?.close();
  await client?.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
  await client?.close();
});

async function explain(text: string, params: readonly unknown[]): Promise<string> {
  return (await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${text}`, params)).map((row) => row['QUERY PLAN']).join('\n');
}

const none: ListFilter = { queue: null, status: null, name: null, since: null, until: null, cursor: null, limit: 51 };
const day = (daysAgo: number): string => new Date(Date.now() - daysAgo * 86_400_000).toISOString();
// A deep page: three days back, inside every time range below.
const cursor = { at: day(3), id: '90000' };

// Each filter with the index meant for it; the values are selective (a 1 % queue, 2 % dead), as the
// filters an operator pages through are.
const combinations: [string, Partial<ListFilter>, string][] = [
  ['everything', {}, 'jobs_created'],
  ['a time range', { since: day(10), until: day(2) }, 'jobs_created'],
  ['a queue', { queue: 'rare' }, 'jobs_queue_created'],
  ['a queue and a time range', { queue: 'rare', since: day(10), until: day(2) }, 'jobs_queue_created'],
  ['a state', { status: 'dead' }, 'jobs_status_created'],
  ['a state and a time range', { status: 'dead', since: day(10) }, 'jobs_status_created'],
  ['a queue and a state', { queue: 'rare', status: 'dead' }, 'jobs_queue_status_created'],
  ['a queue, a state and a time range', { queue: 'rare', status: 'dead', since: day(20), until: day(2) }, 'jobs_queue_status_created'],
  ['a name within a queue', { queue: 'rare', name: 'r1' }, 'jobs_queue_name_created'],
  ['a name within a queue and a time range', { queue: 'rare', name: 'r1', since: day(10) }, 'jobs_queue_name_created'],
];

/**
 * The plan reads an index and never the whole table: either one index read backward in the page's
 * order and stopped by the Limit (no Sort), or — when the planner expects few matches — an index
 * lookup of just those matches, sorted (a Sort over at most a few thousand estimated rows).
 */
function expectIndexedPage(plan: string, index: string): void {
  expect(plan, plan).toMatch(/^Limit/);
  expect(plan, plan).not.toMatch(/Seq Scan/);
  const sort = /Sort {2}\(cost=[^)]* rows=(\d+)/.exec(plan);
  if (sort === null) expect(plan, plan).toMatch(new RegExp(`Index Scan Backward using (${index}|jobs_\\w+_created|jobs_created) on jobs`));
  else {
    expect(Number(sort[1]), plan).toBeLessThanOrEqual(5_000);
    expect(plan, plan).toMatch(/Index Scan|Index Only Scan/);
  }
}

describe('job listing plans on PostgreSQL (100 k rows)', () => {
  it.each(combinations)('%s: its index, first page and deep page; never a sequential scan nor a sort of many rows', async (_label, filter, index) => {
    const first = listStatement({ ...none, ...filter });
    const firstPlan = await explain(first.text, first.params);
    expect(firstPlan, firstPlan).toContain(index);
    expectIndexedPage(firstPlan, index);
    const deep = listStatement({ ...none, ...filter, cursor });
    const deepPlan = await explain(deep.text, deep.params);
    expect(deepPlan, deepPlan).toContain(index);
    expectIndexedPage(deepPlan, index);
  });

  it('a deep page of a queue starts at its cursor: the (created_at, id) row comparison is an index condition', async () => {
    const { text, params } = listStatement({ ...none, queue: 'rare', cursor });
    const plan = await explain(text, params);
    expect(plan, plan).toMatch(/Index Cond: \(\(queue = 'rare'::text\) AND \(ROW\(created_at, id\) < ROW\(/);
  });

  it('a bulk retry batch reads an index and locks only its batch, by state alone or with a queue', async () => {
    for (const params of [['dead', '-infinity', '0', 500, null, null, null, null], ['dead', day(20), '0', 500, 'rare', null, 'Timeout', null]]) {
      const plan = await explain(searchSql.retryBatch, params);
      expect(plan, plan).toMatch(/Index Scan using jobs_(queue_)?status(_created)? on jobs|Bitmap Index Scan on jobs_(queue_)?status/);
      expect(plan, plan).toContain('LockRows');
      expect(plan, plan).not.toMatch(/Seq Scan/);
      const sort = /Sort {2}\(cost=[^)]* rows=(\d+)/.exec(plan);
      if (sort !== null) expect(Number(sort[1]), plan).toBeLessThanOrEqual(5_000);
    }
  });
});
