/**
 * Job search at scale: `store.search.list` (what `GET /jobs` runs) over 1 M job rows, per filter
 * combination an operator pages through, first page and deep pages reached by following `next`
 * cursors, as p50/p99 ms per page. Rows are loaded with one INSERT … SELECT generate_series: 30 days
 * of jobs over 20 queues (a few busy, most quiet), 20 names per queue, mostly completed with some
 * queued, running, failed, dead and cancelled, then ANALYZE (as autovacuum would). Beside it, a bulk
 * retry of dead jobs in its bounded batches, as jobs per second.
 *
 * Postgres always (a real server: DATABASE_URL, local or throwaway, see lib/services.ts); the
 * embedded PGlite too with PITBOSS_BENCH_PGLITE=1 (slow to load: every row goes through WASM).
 * `--quick` loads 100 k rows and takes fewer samples. Nothing here has a peer to compare with, so no
 * ratio and no target: the rows are the figures docs/jobs.md quotes.
 */
import { createSqlClient } from '../src/jobs/store/client.ts';
import { JobStore } from '../src/jobs/store/store.ts';
import type { JobListQuery } from '../src/jobs/store/search.ts';
import type { SqlClient } from '../src/jobs/store/types.ts';
import { createTelemetry } from '../src/telemetry/bus.ts';
import { RowSet } from './lib/async-measure.ts';
import { quantile } from './lib/measure.ts';
import type { Scenario } from './lib/scenario.ts';
import { startServices } from './lib/services.ts';

const day = 86_400_000;

/** Rows `from`..`to` of `rows`, spread evenly over the 30 days back from now; queue k of 20 gets a share ∝ 1/(k+1) (q0 busiest). */
const load = (rows: number, from: number, to: number): string => `
INSERT INTO jobs (queue, name, status, attempts, max_attempts, created_at, started_at, finished_at, run_at, error)
SELECT q, q || '.n' || (i % 20),
  CASE WHEN r < 0.85 THEN 'completed' WHEN r < 0.88 THEN 'dead' WHEN r < 0.89 THEN 'failed' WHEN r < 0.90 THEN 'cancelled'
       WHEN r < 0.98 THEN 'queued' ELSE 'running' END,
  1, 3, at, at, at, at,
  CASE WHEN r >= 0.85 AND r < 0.89 THEN jsonb_build_object('type', CASE WHEN i % 3 = 0 THEN 'Timeout' ELSE 'InjectedError' END, 'message', 'failed') END
FROM (
  SELECT i, ((i * 7919) % 1000) / 1000.0 AS r, now() - (${rows} - i) * interval '${Math.round((30 * day) / rows)} milliseconds' AS at,
    'q' || least(19, floor(1 / (((i * 104729) % 10007) / 10007.0 + 0.05) - 1)::int) AS q
  FROM generate_series(${from}::bigint, ${to}::bigint) i
) s`;

/** The filter combinations, with values of the kind an operator uses: a busy and a quiet queue, a rare state. */
const combinations = (now: number): [string, JobListQuery][] => [
  ['all', {}],
  ['queue_busy', { queue: 'q0' }],
  ['queue_quiet', { queue: 'q15' }],
  ['state_dead', { status: 'dead' }],
  ['queue_state', { queue: 'q3', status: 'dead' }],
  ['queue_name', { queue: 'q3', name: 'q3.n7' }],
  ['last_day', { since: new Date(now - day) }],
  ['queue_week_ago_1d', { queue: 'q0', since: new Date(now - 8 * day), until: new Date(now - 7 * day) }],
  ['queue_state_week', { queue: 'q0', status: 'failed', since: new Date(now - 7 * day) }],
];

async function timed<T>(work: () => Promise<T>): Promise<[T, number]> {
  const started = performance.now();
  const result = await work();
  return [result, performance.now() - started];
}

async function measureBackend(label: string, client: SqlClient, rows: number, quick: boolean, out: RowSet, notes: string[]): Promise<void> {
  const store = await JobStore.open({ client, telemetry: createTelemetry() });
  try {
    // In chunks, so no one statement runs for minutes.
    const [, loadMs] = await timed(async () => {
      for (let from = 1; from <= rows; from += 100_000) await client.query(load(rows, from, Math.min(rows, from + 99_999)));
    });
    await client.query('ANALYZE jobs');
    notes.push(`${label}: loaded ${rows} rows in ${Math.round(loadMs)} ms (INSERT … SELECT generate_series, 10 indexes)`);
    out.addValue(`${label}_rows`, 'rows', rows);
    const firstSamples = quick ? 10 : 50;
    const deepPages = quick ? 10 : 40;
    for (const [name, query] of combinations(Date.now())) {
      const first: number[] = [];
      for (let i = 0; i < firstSamples; i++) first.push((await timed(() => store.search.list({ ...query, limit: 50 })))[1]);
      // Deep: page after page by cursor, each page timed; the pages 2..N of a walk 50 × N rows deep.
      const deep: number[] = [];
      let page = await store.search.list({ ...query, limit: 50 });
      for (let p = 1; p < deepPages && page.next !== null; p++) {
        const cursor = page.next;
        const [next, ms] = await timed(() => store.search.list({ ...query, limit: 50, cursor }));
        deep.push(ms);
        page = next;
      }
      out.addValue(`${label}_${name}_first_p50`, 'ms', quantile(first, 0.5));
      out.addValue(`${label}_${name}_first_p99`, 'ms', quantile(first, 0.99));
      if (deep.length > 0) {
        out.addValue(`${label}_${name}_deep_p50`, 'ms', quantile(deep, 0.5));
        out.addValue(`${label}_${name}_deep_p99`, 'ms', quantile(deep, 0.99));
      }
      out.addValue(`${label}_${name}_deep_pages`, 'pages', deep.length);
    }
    // Bulk retry of one queue's dead jobs: batches of 500, one short transaction each.
    const [retried, retryMs] = await timed(() => store.search.retryWhere({ status: 'dead', queue: 'q1', limit: 100_000 }, async () => {}));
    out.addValue(`${label}_retry_q1_dead_jobs`, 'jobs', retried);
    out.addValue(`${label}_retry_q1_dead_rate`, 'jobs/s', retried / (retryMs / 1000));
  } finally {
    await store.close();
  }
}

const scenario: Scenario = {
  name: 'job-search',
  description: 'GET /jobs pages (store.search.list) over 1 M rows: p50/p99 per page per filter, first and deep pages; bulk retry rate',
  async run({ quick }) {
    const rows = quick ? 100_000 : 1_000_000;
    const out = new RowSet();
    const notes: string[] = [];
    const services = await startServices('job-search');
    try {
      notes.push(services.origin);
      const client = await createSqlClient({ url: services.databaseUrl, schema: 'bench_job_search', poolSize: 2, statementTimeoutMs: 0 });
      try {
        await client.query('DROP SCHEMA IF EXISTS bench_job_search CASCADE');
        await client.query('CREATE SCHEMA bench_job_search');
        await measureBackend('postgres', client, rows, quick, out, notes);
        await client.query('DROP SCHEMA IF EXISTS bench_job_search CASCADE');
      } finally {
        await client.close();
      }
    } finally {
      await services.stop();
    }
    if (process.env.PITBOSS_BENCH_PGLITE === '1') {
      const client = await createSqlClient({ dataDir: 'memory://' });
      try {
        await measureBackend('pglite', client, rows, quick, out, notes);
      } finally {
        await client.close();
      }
    }
    notes.push('page size 50; first: the same first page fetched repeatedly; deep: pages 2..N of one walk by cursor');
    return { rows: out.rows, ratios: {}, notes };
  },
};

export default scenario;
