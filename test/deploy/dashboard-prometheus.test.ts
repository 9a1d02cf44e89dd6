/**
 * The dashboard's Prometheus panels against a real Prometheus (Debian's binary) scraping a live
 * supervisor over HTTP every second while it works: jobs submitted continuously through the API,
 * some failing and retried, some dying, a thread crash every few seconds (restarts) and worker code
 * emitting an uncataloged event (dropped telemetry). Every PromQL panel query, after Grafana's
 * substitutions, must return at least one series with a finite value through /api/v1/query —
 * for "All" and for one selected queue and pool. The queue and pool variables' label_values
 * queries must list the live queue and pool.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineDeployment } from '../../src/deploy/define.ts';
import { startTestDeployment, testToken } from '../helpers/deployment.ts';
import { isolatedSchema, type IsolatedSchema } from '../helpers/schema.ts';
import { interpolatePromql, leftovers, loadDashboard, panelQueries, type VariableValues } from './grafana.ts';
import { requirePrometheusBinary, startPrometheus, type PrometheusServer } from './prometheus.ts';

const promQueries = panelQueries(loadDashboard()).filter((q) => q.language === 'promql');
const dashboard = loadDashboard();

const deployment = defineDeployment({
  pools: [{
    name: 'tp', worker: new URL('../../workers/faults.ts', import.meta.url), threads: 2,
    statusIntervalMs: 500, sampleIntervalMs: 500,
    // Crashes are the point here: let them happen without the pool giving up.
    intensity: { maxRestarts: 1000, periodMs: 60_000 },
  }],
  queues: { work: { pool: 'tp', concurrency: 2 } },
});

type Running = Awaited<ReturnType<typeof startTestDeployment>>;
let db: IsolatedSchema;
let d: Running;
let prometheus: PrometheusServer | null = null;
let stopLoad: (() => Promise<void>) | null = null;
const submitted = { ok: 0, failing: 0, crash: 0, drop: 0, errors: 0 };

/** Submits a mix of jobs through the real HTTP API every 100 ms until stopped. */
function startLoad(url: string): () => Promise<void> {
  let tick = 0;
  let inFlight = Promise.resolve();
  const post = (body: unknown) => fetch(`${url}/jobs`, {
    method: 'POST', headers: { authorization: `Bearer ${testToken}`, 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(5000),
  }).then((r) => { if (r.status >= 300) submitted.errors++; }, () => { submitted.errors++; });
  const timer = setInterval(() => {
    tick++;
    const batch: Promise<void>[] = [post({ queue: 'work', name: 'resize', data: { kind: 'ok', delayMs: 1 + (tick % 20) } })];
    submitted.ok++;
    if (tick % 4 === 0) {
      batch.push(post({ queue: 'work', name: 'flaky', data: { kind: 'throw', message: 'upstream said no' }, maxAttempts: 2, backoff: { type: 'fixed', delayMs: 50 } }));
      submitted.failing++;
    }
    if (tick % 10 === 0) {
      batch.push(post({ queue: 'work', name: 'chatty', data: { kind: 'emit', events: [{ name: 'not.in.catalog', measurements: {} }] } }));
      submitted.drop++;
    }
    if (tick % 30 === 1) {
      batch.push(post({ queue: 'work', name: 'crash', data: { kind: 'exit', code: 7 }, maxAttempts: 1 }));
      submitted.crash++;
    }
    inFlight = Promise.all([inFlight, ...batch]).then(() => {});
  }, 100);
  return async () => {
    clearInterval(timer);
    await inFlight;
  };
}

beforeAll(async () => {
  requirePrometheusBinary();
  db = await isolatedSchema('dash_prom');
  d = await startTestDeployment({ databaseUrl: db.url, supervisorId: 'prom-test' }, { deployment });
  stopLoad = startLoad(d.running.url);
  prometheus = await startPrometheus([new URL(d.running.url).host]);
}, 60_000);

afterAll(async () => {
  await stopLoad?.();
  await prometheus?.stop();
  await d?.running.stop();
  await db?.drop();
}, 60_000);

/** Polls until every query returns a finite value (or the deadline passes); reports the ones that never did. */
async function expectAllAnswer(variables: VariableValues, deadlineMs: number): Promise<void> {
  const pending = new Map(promQueries.map((q) => [`${q.panel} (${q.refId})`, interpolatePromql(q.text, variables)]));
  const lastSeen = new Map<string, string>();
  for (const [name, expr] of pending) expect(leftovers(expr), `${name}: ${expr}`).toEqual([]);
  const deadline = Date.now() + deadlineMs;
  while (pending.size > 0 && Date.now() < deadline) {
    for (const [name, expr] of pending) {
      try {
        const result = await prometheus!.query(expr);
        lastSeen.set(name, JSON.stringify(result).slice(0, 300));
        if (result.some((sample) => Number.isFinite(Number(sample.value[1])))) pending.delete(name);
      } catch (error) {
        // A query Prometheus rejects (parse error, bad function) fails at once: waiting will not fix it.
        throw new Error(`panel ${name}: Prometheus rejected ${expr}: ${(error as Error).message}`);
      }
    }
    if (pending.size > 0) await new Promise((r) => setTimeout(r, 500));
  }
  const missing = [...pending].map(([name, expr]) => `  ${name}: ${expr} → ${lastSeen.get(name) ?? 'no answer'}`);
  expect(missing, `panels without data after ${deadlineMs} ms (load: ${JSON.stringify(submitted)}):\n${missing.join('\n')}`).toEqual([]);
}

describe('Prometheus panels against a real Prometheus scraping a supervisor under load', () => {
  it('the dashboard has PromQL panels and Prometheus scrapes the supervisor', async () => {
    expect(promQueries.length).toBeGreaterThanOrEqual(10);
    const until = Date.now() + 20_000;
    let targets = await prometheus!.targets();
    while (!targets.some((t) => t.health === 'up') && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 250));
      targets = await prometheus!.targets();
    }
    expect(targets.map((t) => [t.health, t.lastError])).toEqual([['up', '']]);
  }, 30_000);

  it('every PromQL panel query returns data with All selected', async () => {
    await expectAllAnswer({ queue: '.*', pool: '.*' }, 60_000);
    expect(submitted.errors).toBe(0);
  }, 90_000);

  it('every PromQL panel query returns data for one selected queue and pool', async () => {
    await expectAllAnswer({ queue: ['work'], pool: ['tp'] }, 30_000);
  }, 60_000);

  it('the queue and pool variables list the live queue and pool', async () => {
    for (const variable of dashboard.templating.list.filter((v) => v.type === 'query')) {
      const query = String((variable.query as { query?: string }).query ?? variable.query);
      const match = /^label_values\((\w+),\s*(\w+)\)$/.exec(query);
      expect(match, `${variable.name}: ${query}`).not.toBeNull();
      const values = await prometheus!.labelValues(match![2]!, match![1]!);
      expect(values, `${variable.name}: ${query}`).toContain(variable.name === 'queue' ? 'work' : 'tp');
    }
  });

  it('the load produced what the panels are about', async () => {
    const restarts = await prometheus!.query('sum(pitboss_worker_restarts_total)');
    expect(Number(restarts[0]?.value[1])).toBeGreaterThanOrEqual(1);
    const dead = await prometheus!.query('sum(pitboss_jobs_total{status="dead"})');
    expect(Number(dead[0]?.value[1])).toBeGreaterThanOrEqual(1);
  });
});
