/**
 * The status page as a console, end to end in Debian's Chromium (see chromium.ts) against a live
 * embedded deployment (PGlite + local dispatch; status-page.test.ts runs the page on Postgres):
 * the Queues tab draws charts of the last hour from what really ran (asserted on the SVG marks: the
 * bars add up to the jobs that completed and failed, the duration and depth lines have points), the
 * Jobs tab opens a job (fields, trace id) and cancels it only after the operator confirms, the
 * explorer asks for the token it needs, and nothing breaks the page's CSP. Screenshots of each tab
 * go to test/artifacts/; PITBOSS_UPDATE_SCREENSHOT=1 refreshes the README's.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineDeployment } from '../../src/deploy/define.ts';
import { startTestDeployment, testToken } from '../helpers/deployment.ts';
import { artifacts, launchChromium, readmeScreenshot, type TestBrowser } from './chromium.ts';

const deployment = defineDeployment({
  pools: [{ name: 'tp', worker: new URL('../../workers/faults.ts', import.meta.url), threads: 2, statusIntervalMs: 300, sampleIntervalMs: 300 }],
  queues: { work: { pool: 'tp', concurrency: 2 }, mail: { pool: 'tp', concurrency: 1 } },
});

type Running = Awaited<ReturnType<typeof startTestDeployment>>;
let d: Running;
let browser: TestBrowser;
let page: Page;
const poll = <T>(read: () => Promise<T> | T, timeout = 15_000) => expect.poll(read, { timeout, interval: 100 });
const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';

async function submit(body: Record<string, unknown>, headers: Record<string, string> = {}): Promise<string> {
  const response = await d.request('POST', '/jobs', { body, headers });
  expect(response.statusCode).toBe(202);
  return (response.json() as { id: string }).id;
}
const statusOf = async (id: string): Promise<string> => ((await d.request('GET', `/jobs/${id}`)).json() as { status: string }).status;

/** Sum of the data-value of the marks `selector` finds. */
const sumOf = (selector: string) => page.$$eval(selector, (marks) => marks.reduce((sum, m) => sum + Number(m.getAttribute('data-value')), 0));

async function shoot(name: string): Promise<string> {
  mkdirSync(artifacts, { recursive: true });
  const path = join(artifacts, `console-${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

beforeAll(async () => {
  browser = await launchChromium();
  page = browser.page;
  d = await startTestDeployment({ supervisorId: 'console-test' }, { deployment });
  // What the charts will show: jobs that completed (a few durations) and failed, on two queues.
  const done = await Promise.all([
    ...[5, 20, 40, 80].map((delayMs) => submit({ queue: 'work', name: 'timed', data: { kind: 'ok', delayMs } })),
    submit({ queue: 'mail', name: 'send', data: { kind: 'ok', delayMs: 15 } }),
    submit({ queue: 'work', name: 'broken', data: { kind: 'throw', message: 'no luck' }, maxAttempts: 1 }),
  ]);
  const until = Date.now() + 20_000;
  while ((await Promise.all(done.map(statusOf))).some((s) => s !== 'completed' && s !== 'dead')) {
    if (Date.now() > until) throw new Error('the chart jobs did not finish within 20 s');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await d?.running.stop();
}, 60_000);

describe('the console in a real browser', () => {
  it('draws the last hour per queue as SVG: bars add up to what ran, duration and depth have points', async () => {
    await page.goto(`${d.running.url}/status#queues`);
    const work = 'svg[data-chart=throughput][data-queue=work]';
    await poll(() => sumOf(`${work} rect.completed`)).toBe(4);
    expect(await sumOf(`${work} rect.failed`)).toBe(1);
    expect(await sumOf('svg[data-chart=throughput][data-queue=mail] rect.completed')).toBe(1);
    // Bars have real geometry: inside the chart, taller for more jobs.
    const bars = await page.$$eval(`${work} rect.completed`, (rects) => rects.map((r) => ({ h: Number(r.getAttribute('height')), y: Number(r.getAttribute('y')) })));
    for (const bar of bars) {
      expect(bar.h).toBeGreaterThan(0);
      expect(bar.y).toBeGreaterThanOrEqual(0);
    }
    const p50 = await page.$$eval('svg[data-chart=duration][data-queue=work] circle.dot-p50Ms', (dots) => dots.map((c) => Number(c.getAttribute('data-value'))));
    expect(p50.length).toBeGreaterThanOrEqual(1);
    for (const ms of p50) expect(ms).toBeGreaterThan(0);
    expect(await page.$$eval('svg[data-chart=duration][data-queue=work] circle.dot-p95Ms', (dots) => Math.max(...dots.map((c) => Number(c.getAttribute('data-value')))))).toBeGreaterThanOrEqual(40);
    expect(await page.locator('svg[data-chart=duration][data-queue=work] path.p50Ms').getAttribute('d')).toMatch(/^M[\d.]+ [\d.]+/);
    // Depth: sampled when the deployment started and on each of the page's reads.
    await poll(() => page.locator('svg[data-chart=depth][data-queue=work] circle.dot-waiting').count()).toBeGreaterThanOrEqual(1);
    expect(await page.locator('svg[data-chart=throughput][data-queue=work] title').first().textContent()).toMatch(/\d+ (completed|failed)$/);
    await shoot('queues');
  }, 60_000);

  it('the job explorer asks for the token; a job opens with its fields and trace id', async () => {
    await page.goto(`${d.running.url}/status#jobs`);
    await poll(() => page.locator('#jobs-list tbody').textContent()).toMatch(/needs the control token|not listed/);
    const id = await submit({ queue: 'work', name: 'later', data: { kind: 'ok' }, delayMs: 3_600_000 }, { traceparent: `00-${traceId}-00f067aa0ba902b7-01` });
    await page.goto(`${d.running.url}/status#jobs:${id}`);
    await poll(() => page.locator('#job-id').textContent()).toBe(id);
    await poll(() => page.locator('#job-state').textContent()).toBe('queued');
    const fields = page.locator('#job-fields tbody');
    await poll(() => fields.textContent()).toContain(traceId);
    expect(await fields.textContent()).toMatch(/queuework.*namelater.*attempts0 of 3/);
    // Payloads need the token: the page says so instead of showing nothing.
    expect(await fields.textContent()).toContain('needs the control token');
  }, 30_000);

  it('cancels a job only after the operator confirms, with the token', async () => {
    const id = (await page.locator('#job-id').textContent())!;
    await page.fill('#token', testToken);
    await page.click('#token-form button[type=submit]');
    await poll(() => page.locator('#token-state').textContent()).toBe('token accepted');

    await page.click('#job-cancel');
    await poll(() => page.locator('#confirm').isVisible()).toBe(true);
    expect(await page.locator('#confirm-text').textContent()).toBe(`Cancel job ${id}?`);
    await page.click('#confirm-no');
    await poll(() => page.locator('#confirm').isVisible()).toBe(false);
    expect(await statusOf(id)).toBe('queued');

    await page.click('#job-cancel');
    await page.click('#confirm-yes');
    await poll(() => page.locator('#control-message').textContent()).toBe(`job ${id}: cancel requested`);
    expect(await statusOf(id)).toBe('cancelled');
    await poll(() => page.locator('#job-state').textContent()).toBe('cancelled');
    expect(await page.locator('#job-cancel').isDisabled()).toBe(true);
    await shoot('job');
  }, 30_000);

  it('loaded nothing from elsewhere and broke no CSP rule', async () => {
    await page.click('#tabs a[data-tab=queues]');
    await poll(() => page.locator('svg[data-chart=throughput]').count()).toBeGreaterThanOrEqual(2);
    const origin = new URL(d.running.url).origin;
    expect(browser.requested.filter((url) => !url.startsWith(`${origin}/`) && !url.startsWith('data:'))).toEqual([]);
    expect(browser.cspViolations).toEqual([]);
    await shoot('final');
    // The docs' copy: the header, the queue controls and the charts, clipped to what is drawn (small).
    const charts = (await page.locator('#charts').boundingBox())!;
    const shot = join(artifacts, 'console-readme.png');
    await page.screenshot({ path: shot, clip: { x: 0, y: 0, width: 1280, height: Math.ceil(charts.y + charts.height + 12) } });
    if (process.env.PITBOSS_UPDATE_SCREENSHOT === '1') copyFileSync(shot, readmeScreenshot);
  }, 30_000);
});
