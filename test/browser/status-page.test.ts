/**
 * The status page end to end, in Debian's Chromium driven by playwright-core (no browser download):
 * a live supervisor on real Postgres serves the page; the page shows its threads and a job that just
 * ran, redraws without reloading when more work happens, shows failure text as text (an error
 * message carrying markup stays inert), and a sampling rule set through its form is applied by the
 * running supervisor and its threads (events stop arriving) — likewise a log level. Everything the
 * page loads comes from the supervisor itself, and it breaks no CSP rule. A screenshot goes to
 * test/artifacts/. The console's tabs (jobs, queues, schedules) are driven by console.test.ts.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineDeployment } from '../../src/deploy/define.ts';
import { captureEvents } from '../../src/index.ts';
import { startTestDeployment, testToken } from '../helpers/deployment.ts';
import { eventually } from '../helpers/pool.ts';
import { isolatedSchema, type IsolatedSchema } from '../helpers/schema.ts';
import { artifacts, launchChromium, type TestBrowser } from './chromium.ts';

const deployment = defineDeployment({
  pools: [{ name: 'tp', worker: new URL('../../workers/faults.ts', import.meta.url), threads: 2, statusIntervalMs: 300, sampleIntervalMs: 300 }],
  queues: { work: { pool: 'tp', concurrency: 2 } },
});

type Running = Awaited<ReturnType<typeof startTestDeployment>>;
let db: IsolatedSchema;
let d: Running;
let browser: TestBrowser;
let page: Page;
/** The page redraws every 1.5 s; on a loaded machine give it several rounds. */
const poll = <T>(read: () => Promise<T> | T) => expect.poll(read, { timeout: 15_000, interval: 100 });

async function runJob(body: Record<string, unknown>, status: string): Promise<string> {
  const response = await d.request('POST', '/jobs', { body });
  expect(response.statusCode).toBe(202);
  const { id } = response.json() as { id: string };
  const until = Date.now() + 15_000;
  for (;;) {
    const job = (await d.request('GET', `/jobs/${id}`)).json() as { status: string };
    if (job.status === status) return id;
    if (Date.now() > until) throw new Error(`job ${id} is ${job.status}, not ${status}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

beforeAll(async () => {
  browser = await launchChromium();
  page = browser.page;
  db = await isolatedSchema('status_page');
  d = await startTestDeployment({ databaseUrl: db.url, supervisorId: 'status-test' }, { deployment });
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await d?.running.stop();
  await db?.drop();
}, 60_000);

describe('status page in a real browser', () => {
  it('shows the live threads, a job that just ran, failures as inert text, and the fleet', async () => {
    await runJob({ queue: 'work', name: 'hello-browser', data: { kind: 'ok', value: 1 } }, 'completed');
    await runJob({ queue: 'work', name: 'broken', data: { kind: 'throw', message: '<img src=x onerror="window.__xss=1">' }, maxAttempts: 1 }, 'dead');
    // A supervisor of the fleet that drained and stopped cleanly.
    await d.running.store.fleet.heartbeat({ id: 'status-gone', host: 'elsewhere', pid: 4321, instance: 'gone-life' });
    await d.running.store.fleet.supervisorStopped({ id: 'status-gone', instance: 'gone-life' });

    const response = await page.goto(`${d.running.url}/`);
    expect(new URL(page.url()).pathname).toBe('/status');
    expect(response?.headers()['content-security-policy']).toContain("default-src 'none'; script-src 'self'");
    await poll(() => page.title()).toBe('pitboss status');

    const threads = page.locator('table[data-pool="tp"] tbody tr');
    await poll(() => threads.count()).toBe(2);
    await poll(() => threads.first().textContent()).toMatch(/idle|busy/);
    await poll(() => threads.first().textContent()).toMatch(/MiB/);

    await poll(() => page.locator('#recent-jobs tbody').textContent()).toContain('hello-browser');
    await poll(() => page.locator('#queues tbody').textContent()).toContain('work');
    await poll(() => page.locator('#supervisors tbody').textContent()).toContain('status-test (this)');
    expect(await page.locator('#supervisors tbody tr', { hasText: 'status-test (this)' }).textContent()).toContain('alive');
    expect(await page.locator('#supervisors tbody tr', { hasText: 'status-gone' }).textContent()).toMatch(/elsewhere.*4321.*stopped/);

    // Without the token: the failure and its error type, not its text (read-access.ts).
    await poll(() => page.locator('#failures tbody').textContent()).toContain('InjectedError');
    expect(await page.locator('#failures tbody').textContent()).not.toContain('onerror');
    expect(await page.locator('#details-hidden').isVisible()).toBe(true);
  }, 60_000);

  it('redraws in place when more work happens (no reload)', async () => {
    await page.evaluate(() => { (globalThis as unknown as { __marker: string }).__marker = 'same document'; });
    await runJob({ queue: 'work', name: 'after-load', data: { kind: 'ok' } }, 'completed');
    await runJob({ queue: 'work', name: 'crash', data: { kind: 'exit', code: 9 }, maxAttempts: 1 }, 'dead');
    await poll(() => page.locator('#recent-jobs tbody').textContent()).toContain('after-load');
    await poll(() => page.locator('#worker-events tbody').textContent()).toContain('restarted');
    await poll(() => page.locator('table[data-pool="tp"]').textContent()).toMatch(/exit at/);
    expect(await page.evaluate(() => (globalThis as unknown as { __marker?: string }).__marker)).toBe('same document');
  }, 60_000);

  it('a sampling rule set through the form takes effect in the running supervisor and its threads', async () => {
    const actions = captureEvents(d.telemetry, 'action.stop');
    await runJob({ queue: 'work', name: 'burst', data: { kind: 'burst', count: 50 } }, 'completed');
    expect(actions.events.length).toBe(50);

    await poll(() => page.locator('#token-state').textContent()).toContain('enter the control token');
    await page.fill('#token', testToken);
    await page.click('#token-form button[type=submit]');
    await poll(() => page.locator('#token-state').textContent()).toBe('token accepted');
    // With the token the page reads error texts too, and shows them as inert text.
    await poll(() => page.locator('#failures tbody').textContent()).toContain('InjectedError: <img src=x onerror="window.__xss=1">');
    expect(await page.locator('#failures img').count()).toBe(0);
    expect(await page.evaluate(() => (globalThis as unknown as { __xss?: number }).__xss)).toBeUndefined();
    expect(await page.locator('#details-hidden').isVisible()).toBe(false);
    expect(await page.evaluate(() => (globalThis as unknown as { sessionStorage: { getItem(key: string): string | null } }).sessionStorage.getItem('pitboss.controlToken'))).toBe(testToken);

    await page.click('#tabs a[data-tab=control]');
    await page.fill('#rule-pattern', 'action.*');
    await page.fill('#rule-rate', '0');
    await page.selectOption('#rule-pool', 'tp');
    await page.click('#rule-form button[type=submit]');
    await poll(() => page.locator('#control-message').textContent()).toMatch(/set action\.\* to rate 0 in pool tp · rules version \d+/);
    await poll(() => page.locator('#rules tbody').textContent()).toContain('action.*');

    expect(d.telemetry.control.rules().rules).toEqual([{ pattern: 'action.*', rate: 0, enabled: true, scope: { pool: 'tp', worker: null } }]);
    const version = d.telemetry.control.rules().version;
    await eventually(() => d.running.pools[0]!.threads().every((t) => t.rulesVersion === version), 5000, 'threads apply the rule');
    actions.clear();
    await runJob({ queue: 'work', name: 'burst', data: { kind: 'burst', count: 50 } }, 'completed');
    expect(actions.events.length).toBe(0);
  }, 60_000);

  it('a log level set through the form reaches the supervisor', async () => {
    await page.selectOption('#level-target', 'job');
    await page.selectOption('#level-value', 'debug');
    await page.click('#level-form button[type=submit]');
    await poll(() => page.locator('#control-message').textContent()).toMatch(/log level of job set to debug/);
    expect(d.running.logger.levels.levelFor('job')).toBe('debug');
    await poll(() => page.locator('#levels').textContent()).toContain('job=debug');
  }, 30_000);

  it('loaded nothing from anywhere but the supervisor, broke no CSP rule; screenshot written', async () => {
    const origin = new URL(d.running.url).origin;
    const foreign = browser.requested.filter((url) => !url.startsWith(`${origin}/`) && !url.startsWith('data:'));
    expect(foreign).toEqual([]);
    expect(browser.cspViolations).toEqual([]);
    await page.click('#tabs a[data-tab=overview]');
    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: join(artifacts, 'status-page.png'), fullPage: true });
  }, 30_000);
});
