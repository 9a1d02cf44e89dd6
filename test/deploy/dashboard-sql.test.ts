/**
 * The dashboard's Postgres panels against a real, migrated Postgres: jobs in every state (due,
 * delayed, running, stuck, completed, retrying, dead, cancelled), a live and a silent supervisor,
 * and thread lifecycle rows written the way a deployment writes them. Every SQL panel query runs
 * after Grafana's substitutions, inside a READ ONLY transaction (Grafana's role can only read),
 * and must return rows; a query that errors or comes back empty fails the suite with the panel's name.
 * The structure checks beside it pin what the issue asks of the dashboard.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTelemetry } from '../../src/index.ts';
import { recordWorkerLifecycle } from '../../src/deploy/worker-events.ts';
import { JobStore } from '../../src/jobs/store/index.ts';
import { isolatedSchema, type IsolatedSchema } from '../helpers/schema.ts';
import { allPanels, datasourceUids, interpolateSql, leftovers, loadDashboard, panelQueries, repoRoot, type VariableValues } from './grafana.ts';

const dashboard = loadDashboard();
const sqlQueries = panelQueries(dashboard).filter((q) => q.language === 'sql');
const queues = ['dash-mail', 'dash-video'];
const pools = ['cpu', 'io'];
/** Custom and constant variables keep the value the dashboard ships with (Stuck after, Heartbeat TTL). */
const fixed = Object.fromEntries(dashboard.templating.list.filter((v) => v.type !== 'query').map((v) => [v.name, String(v.current?.value)]));

let db: IsolatedSchema;
let store: JobStore;

beforeAll(async () => {
  db = await isolatedSchema('dash_sql');
  const bus = createTelemetry();
  store = await JobStore.open({ url: db.url, telemetry: bus });
  const [mail, video] = queues as [string, string];
  const jobs = await store.jobs.enqueue([
    { queue: mail, name: 'due' }, { queue: mail, name: 'later', delayMs: 3_600_000 },
    { queue: mail, name: 'running' }, { queue: video, name: 'stuck' }, { queue: video, name: 'orphaned' },
    { queue: mail, name: 'done' }, { queue: video, name: 'retrying', maxAttempts: 3 }, { queue: video, name: 'dead', maxAttempts: 1 },
    { queue: mail, name: 'cancelled' },
  ]);
  const id = (name: string) => jobs.find((j) => j.name === name)!.id;
  await store.fleet.heartbeat({ id: 'sup-live', host: 'host-a', pid: 101 });
  await store.fleet.heartbeat({ id: 'sup-silent', host: 'host-b', pid: 202 });
  await store.fleet.heartbeat({ id: 'sup-stopped', host: 'host-c', pid: 303, instance: 'stopped-life' });
  await store.fleet.supervisorStopped({ id: 'sup-stopped', instance: 'stopped-life' });
  for (const name of ['running', 'stuck', 'done', 'retrying', 'dead']) expect(await store.jobs.claim(id(name), 'sup-live/cpu')).not.toBeNull();
  expect(await store.jobs.claim(id('orphaned'), 'sup-silent/cpu')).not.toBeNull();
  await store.jobs.finish({ id: id('done'), attempt: 1, status: 'completed', result: { ok: true } });
  await store.jobs.finish({ id: id('retrying'), attempt: 1, status: 'failed', error: { type: 'Timeout', message: 'upstream took 30 s' }, retryAt: new Date(Date.now() + 600_000) });
  await store.jobs.finish({ id: id('dead'), attempt: 1, status: 'dead', error: { type: 'InjectedError', message: "it's <b>broken</b>" } });
  await store.jobs.cancel(id('cancelled'));
  await db.sql("UPDATE jobs SET started_at = now() - interval '2 hours' WHERE id = ANY($1::bigint[])", [[id('stuck'), id('orphaned')]]);
  await db.sql("UPDATE supervisors SET heartbeat_at = now() - interval '5 minutes' WHERE id = 'sup-silent'");

  // Lifecycle rows through the same recorder a deployment attaches to its bus.
  const detach = recordWorkerLifecycle(bus, store.fleet, 'sup-live');
  bus.execute('pool.worker.terminated', { lifetime: 1e9, tasks: 3 }, { pool: 'cpu', worker_id: 0, thread_id: 7, reason: 'exit', planned: false });
  bus.execute('pool.worker.restarted', { downtime: 2e6, restarts: 1 }, { pool: 'cpu', worker_id: 0, thread_id: 9, reason: 'exit' });
  bus.execute('pool.worker.recycled', { lifetime: 5e9, tasks: 100, heap_bytes: 1e8 }, { pool: 'io', worker_id: 1, thread_id: 10, reason: 'max_tasks', planned: true });
  detach();
  const until = Date.now() + 10_000;
  while ((await db.sql('SELECT count(*)::int AS n FROM worker_events'))[0]!.n !== 3) {
    if (Date.now() > until) throw new Error('worker events were not written within 10 s');
    await new Promise((r) => setTimeout(r, 50));
  }
  await db.sql("INSERT INTO worker_events (supervisor, pool, worker_id, event, reason, at) VALUES ('sup-old', 'cpu', '1', 'pool.worker.restarted', 'oom', now() - interval '3 hours')");
}, 60_000);

afterAll(async () => {
  await store?.close();
  await db?.drop();
});

/** Runs a panel query as Grafana's read-only role would: in a READ ONLY transaction, rolled back. */
async function runReadOnly(sql: string): Promise<{ rows: Record<string, unknown>[]; columns: string[] }> {
  await db.sql('BEGIN READ ONLY');
  try {
    const rows = await db.sql(sql);
    return { rows, columns: rows[0] === undefined ? [] : Object.keys(rows[0]) };
  } finally {
    await db.sql('ROLLBACK');
  }
}

const range = () => ({ from: new Date(Date.now() - 3_600_000), to: new Date(Date.now() + 1000) });

describe('Postgres panels on a real, migrated database', () => {
  it('the dashboard has SQL panels to run', () => {
    expect(sqlQueries.length).toBeGreaterThanOrEqual(6);
  });

  const selections: [string, VariableValues][] = [
    ['All queues and pools', { ...fixed, queue: queues, pool: pools }],
    ['one queue and one pool', { ...fixed, queue: ['dash-video'], pool: ['cpu'] }],
  ];
  for (const [label, variables] of selections) {
    for (const query of sqlQueries) {
      it(`${query.panel} (${query.refId}) runs and returns rows — ${label}`, async () => {
        const sql = interpolateSql(query.text, range(), variables);
        expect(leftovers(sql), `unsubstituted macros or variables in:\n${sql}`).toEqual([]);
        let result: Awaited<ReturnType<typeof runReadOnly>>;
        try {
          result = await runReadOnly(sql);
        } catch (error) {
          throw new Error(`panel "${query.panel}" query failed: ${(error as Error).message}\n${sql}`);
        }
        expect(result.rows.length, `panel "${query.panel}" returned no rows for the seeded data:\n${sql}`).toBeGreaterThan(0);
        if (query.format === 'time_series') {
          expect(result.columns).toContain('time');
          for (const row of result.rows) expect(Number.isFinite(Number(row.time))).toBe(true);
        }
      });
    }
  }

  it('the panels show what the seed says', async () => {
    const variables = { ...fixed, queue: queues, pool: pools };
    const run = async (panel: string) => (await runReadOnly(interpolateSql(sqlQueries.find((q) => q.panel === panel)!.text, range(), variables))).rows;
    expect(Number((await run('Running jobs'))[0]!.running)).toBe(3);
    const depth = await run('Queue depth per queue');
    expect(depth.map((r) => [r.queue, Number(r.due), Number(r.delayed), Number(r.retrying), Number(r.running)])).toEqual([
      ['dash-mail', 1, 1, 0, 1], ['dash-video', 0, 0, 1, 2],
    ]);
    const failures = await run('Recent failures');
    expect(failures.map((r) => [r.name, r.status, r.error_type, r.error])).toEqual(expect.arrayContaining([
      ['dead', 'dead', 'InjectedError', "it's <b>broken</b>"], ['retrying', 'failed', 'Timeout', 'upstream took 30 s'],
    ]));
    const stuck = await run('Stuck and long-running jobs');
    expect(stuck).toHaveLength(2);
    expect(stuck.map((r) => [r.name, r.claimer])).toEqual(expect.arrayContaining([['stuck', 'alive'], ['orphaned', 'silent']]));
    const supervisors = await run('Supervisors and heartbeats');
    expect(Object.fromEntries(supervisors.map((r) => [r.supervisor, [r.state, Number(r.running_jobs)]]))).toEqual({ 'sup-live': ['alive', 2], 'sup-silent': ['silent', 1], 'sup-stopped': ['stopped', 0] });
    const restarts = await run('Worker restarts in the last hour');
    expect(restarts.map((r) => [r.pool, r.slot, r.supervisor, Number(r.restarts), r.reasons])).toEqual([['cpu', '0', 'sup-live', 1, 'exit']]);
    const lifecycle = await run('Thread lifecycle events');
    expect(lifecycle.map((r) => r.metric).sort()).toEqual(['cpu restarted', 'cpu terminated', 'io recycled']);
  });
});

describe('dashboard structure', () => {
  const panels = allPanels(dashboard).filter((p) => p.type !== 'row');
  const exprs = panelQueries(dashboard).filter((q) => q.language === 'promql');

  it('has the panels an operator needs, each on a provisioned datasource', () => {
    const titles = panels.map((p) => p.title);
    for (const title of [
      'Running jobs', 'Queue depth per queue', 'Recent failures', 'Stuck and long-running jobs', 'Worker restarts in the last hour', 'Supervisors and heartbeats',
      'Job rate by status', 'Job duration p50 / p95 / p99', 'Queue time p50 / p95 / p99', 'Worker restarts', 'Thread heap used', 'Thread event-loop utilization', 'Dropped telemetry events',
    ]) expect(titles).toContain(title);
    for (const panel of panels) expect(Object.values(datasourceUids)).toContain(panel.datasource?.uid);
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
  });

  it('has queue and pool variables, used by the panels', () => {
    const names = dashboard.templating.list.map((v) => v.name);
    expect(names).toEqual(expect.arrayContaining(['queue', 'pool']));
    for (const name of ['queue', 'pool']) {
      const variable = dashboard.templating.list.find((v) => v.name === name)!;
      expect(variable).toMatchObject({ includeAll: true, multi: true });
      expect(panelQueries(dashboard).some((q) => q.text.includes(`$${name}`))).toBe(true);
    }
  });

  it('combines the on-scrape Postgres gauges across replicas with max, never sum', () => {
    const gauges = exprs.filter((q) => /pitboss_(queue_depth|workers_active)\b/.test(q.text));
    expect(gauges.length).toBeGreaterThanOrEqual(2);
    for (const q of gauges) expect(q.text, q.panel).toMatch(/^max by \(/);
    for (const q of exprs) expect(q.text, q.panel).not.toMatch(/sum[^(]*\(\s*pitboss_(queue_depth|workers_active)/);
  });

  it('refers to the datasource uids the provisioning file creates', () => {
    const provisioning = readFileSync(`${repoRoot}supervisors/deploy/grafana/provisioning/datasources/pitboss.yml`, 'utf8');
    for (const uid of Object.values(datasourceUids)) expect(provisioning).toContain(`uid: ${uid}`);
  });
});
