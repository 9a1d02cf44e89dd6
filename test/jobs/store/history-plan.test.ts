// How Postgres plans the status page's history read (sql/history.ts) on a real server, with a table
// whose finished jobs are mostly older than the hour: the read must range-scan the indexes the store
// already keeps in their order (jobs_finished for completed rows, jobs_failures for failed and dead
// ones), so its row cap stops the scan early, and never read the table whole.
import { afterAll, describe, expect, it } from 'vitest';
import { createTelemetry } from '../../../src/index.ts';
import { createSqlClient } from '../../../src/jobs/store/client.ts';
import { historySql } from '../../../src/jobs/store/sql/history.ts';
import { JobStore } from '../../../src/jobs/store/store.ts';
import type { SqlClient } from '../../../src/jobs/store/types.ts';
import { testDatabaseUrl } from '../../helpers/services.ts';
import { randomName } from './harness.ts';

let client: SqlClient;
let store: JobStore;
const schema = randomName('store_history_plan');

afterAll(async () => {
  await store?.close();
  await client?.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
  await client?.close();
});

describe('the history read on PostgreSQL', () => {
  it('range-scans jobs_finished and jobs_failures, never the whole table', async () => {
    client = await createSqlClient({ url: testDatabaseUrl(), schema, poolSize: 1 });
    store = await JobStore.open({ client, telemetry: createTelemetry() });
    // 40 000 jobs finished days ago, 200 in the last hour (some failed, some dead), a backlog queued.
    await client.query(`
INSERT INTO jobs (queue, name, status, attempts, started_at, finished_at, updated_at, error)
SELECT 'q' || (i % 5), 'n', CASE WHEN i % 10 = 0 THEN 'dead' ELSE 'completed' END, 1,
  now() - interval '3 days' - i * interval '1 second', now() - interval '3 days' - i * interval '1 second' + interval '20 ms',
  now() - interval '3 days' - i * interval '1 second', CASE WHEN i % 10 = 0 THEN '{"type":"E","message":"m"}'::jsonb END
FROM generate_series(1, 40000) AS i`);
    await client.query(`
INSERT INTO jobs (queue, name, status, attempts, started_at, finished_at, updated_at, error)
SELECT 'q' || (i % 5), 'n', CASE i % 4 WHEN 0 THEN 'dead' WHEN 1 THEN 'failed' ELSE 'completed' END, 1,
  now() - i * interval '10 second', CASE WHEN i % 4 = 1 THEN NULL ELSE now() - i * interval '10 second' + interval '20 ms' END,
  now() - i * interval '10 second', CASE WHEN i % 4 < 2 THEN '{"type":"E","message":"m"}'::jsonb END
FROM generate_series(1, 200) AS i`);
    await client.query(`INSERT INTO jobs (queue, name) SELECT 'q1', 'n' FROM generate_series(1, 5000)`);
    await client.query('ANALYZE jobs');

    for (const sql of [historySql.closedMinutes, historySql.openMinutes]) {
      const plan = (await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql.replaceAll('$1::timestamptz', 'NULL::timestamptz').replaceAll('$2::int', '20000')}`))
        .map((row) => row['QUERY PLAN']).join('\n');
      expect(plan).toMatch(/Index (Only )?Scan using jobs_finished on jobs/);
      // Failed rows are few here: a bitmap scan of jobs_failures and a sort of them is as good as its order.
      expect(plan).toMatch(/Index (Only )?Scan (Backward )?using jobs_failures on jobs|Bitmap Index Scan on jobs_failures/);
      expect(plan).not.toContain('Seq Scan on jobs');
      expect(plan).not.toMatch(/Sort Key: jobs\.finished_at/); // completed rows: read in index order, so the cap stops the scan
    }

    const history = await store.overview.history();
    const total = history.minutes.reduce((sum, m) => sum + m.completed + m.failed, 0);
    // The 200 of the last half hour (10 s apart), none of the old ones, none of the backlog.
    expect(total).toBe(200);
  }, 60_000);
});
