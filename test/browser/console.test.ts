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
import { captureEvents } from '../../src/index.ts';
import { startTestDeployment, testToken } from '../helpers/deployment.ts';
import { artifacts, launchChromium, readmeScreenshot, type TestBrowser } from './chromium.ts';

const deployment = defineDeployment({
  pools: [
    { name: 'tp', worker: new URL('../../workers/faults.ts', import.meta.url), threads: 2, statusIntervalMs: 300, sampleIntervalMs: 300 },
    { name: 'hp', worker: new URL('../../workers/hash.ts', import.meta.url), threads: 1, statusIntervalMs: null, sampleIntervalMs: null },
  ],
  queues: { work: { pool: 'tp', concurrency: 2 }, mail: { pool: 'tp', concurrency: 1 }, hash: { pool: 'hp', concurrency: 1, rateLimit: { max: 50, perMs: 1000 } } },
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
    submit({ queue: 'work', name: 'broken', data: { kind: 'throw', message: 'no luck' }, maxAttempts: 1 }),
  ]);
  // 31 mail jobs in one call (all or nothing): more than one page of the explorer.
  const mail = await d.request('POST', '/jobs', { body: Array.from({ length: 31 }, (_, i) => ({ queue: 'mail', name: 'send', data: { kind: 'ok', value: i } })) });
  expect(mail.statusCode).toBe(202);
  done.push(...(mail.json() as { jobs: { id: string }[] }).jobs.map((j) => j.id));
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
    await poll(() => sumOf('svg[data-chart=throughput][data-queue=mail] rect.completed')).toBe(31);
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

  it('lists and filters jobs with the token, a page at a time, and opens one from the list', async () => {
    await page.goto(`${d.running.url}/status#jobs`);
    await poll(() => page.locator('#token-state').textContent()).toBe('token accepted');
    await page.selectOption('#jobs-queue', 'mail');
    await page.selectOption('#jobs-state', 'completed');
    await page.selectOption('#jobs-limit', '25');
    await page.click('#jobs-filter button[type=submit]');
    const rows = page.locator('#jobs-list tbody tr');
    await poll(() => rows.count()).toBe(25);
    const firstPage = await rows.evaluateAll((trs) => trs.map((tr) => Number((tr as unknown as { dataset: { job: string } }).dataset.job)));
    expect(firstPage).toEqual([...firstPage].sort((a, b) => b - a)); // newest first
    expect(await page.locator('#jobs-list tbody').textContent()).not.toMatch(/work|queued|dead/);
    await page.click('#jobs-more');
    await poll(() => page.locator('#jobs-page').textContent()).toMatch(/^page 2 · 6 shown · the oldest/);
    const secondPage = await rows.evaluateAll((trs) => trs.map((tr) => Number((tr as unknown as { dataset: { job: string } }).dataset.job)));
    expect(Math.max(...secondPage)).toBeLessThan(Math.min(...firstPage));
    expect(await page.locator('#jobs-more').isDisabled()).toBe(true);
    // Newer goes back to the page before, the same rows as at first.
    await page.click('#jobs-newer');
    await poll(() => page.locator('#jobs-page').textContent()).toMatch(/^page 1 · 25 shown/);
    expect(await rows.evaluateAll((trs) => trs.map((tr) => Number((tr as unknown as { dataset: { job: string } }).dataset.job)))).toEqual(firstPage);
    expect(await page.locator('#jobs-newer').isDisabled()).toBe(true);
    await page.click('#jobs-more');
    await poll(() => page.locator('#jobs-page').textContent()).toMatch(/^page 2 · 6 shown · the oldest/);
    await rows.first().click();
    await poll(() => page.locator('#job-id').textContent()).toBe(String(secondPage[0]));
    expect(new URL(page.url()).hash).toBe(`#jobs:${secondPage[0]}`);
  }, 30_000);

  it('retries a dead job from its page after confirmation, and bulk-retries by filter', async () => {
    const retried = captureEvents(d.telemetry, 'job.retried');
    const dead = await submit({ queue: 'work', name: 'fragile', data: { kind: 'throw', message: 'again' }, maxAttempts: 1 });
    await poll(() => statusOf(dead)).toBe('dead');
    await page.goto(`${d.running.url}/status#jobs:${dead}`);
    await poll(() => page.locator('#job-state').textContent()).toBe('dead');
    await page.click('#job-retry');
    expect(await page.locator('#confirm-text').textContent()).toBe(`Retry job ${dead}?`);
    await page.click('#confirm-yes');
    await poll(() => page.locator('#control-message').textContent()).toBe(`job ${dead}: retry requested`);
    expect(retried.events.map((e) => e.metadata.job_id)).toEqual([dead]);
    // It fails again (the worker throws): a second attempt, dead again.
    await poll(() => page.locator('#job-fields tbody').textContent()).toMatch(/attempts2 of 2/);

    retried.clear();
    await page.selectOption('#jobs-queue', 'work');
    await page.selectOption('#jobs-state', 'dead');
    await page.fill('#jobs-name', 'broken');
    await page.click('#jobs-bulk-retry');
    expect(await page.locator('#confirm-text').textContent()).toBe('Retry every dead job (queue work, named broken)?');
    await page.click('#confirm-yes');
    await poll(() => page.locator('#control-message').textContent()).toBe('retried 1 dead job');
    expect(retried.events).toHaveLength(1);
    expect(retried.events[0]!.metadata.job_id).not.toBe(dead);
  }, 30_000);

  it('pauses and resumes a queue after confirmation', async () => {
    await page.click('#tabs a[data-tab=queues]');
    const button = page.locator('#queue-controls button[data-queue=mail]');
    await poll(() => button.textContent()).toBe('Pause…');
    // The rate limit a queue runs under is on its row; a queue without one says so.
    expect(await page.locator('#queue-controls tbody tr', { hasText: 'hash' }).textContent()).toContain('50 / 1 s');
    expect(await page.locator('#queue-controls tbody tr', { hasText: 'mail' }).textContent()).toContain('none');
    await button.click();
    expect(await page.locator('#confirm-text').textContent()).toMatch(/^Pause queue mail\?/);
    await page.click('#confirm-yes');
    await poll(() => page.locator('#control-message').textContent()).toBe('queue mail paused');
    const paused = async () => ((await d.request('GET', '/queues')).json() as { queues: { queue: string; paused: boolean }[] }).queues.find((q) => q.queue === 'mail')!.paused;
    expect(await paused()).toBe(true);
    await poll(() => page.locator('#queue-controls tbody tr', { hasText: 'mail' }).textContent()).toContain('paused');
    // A paused queue keeps its jobs: one submitted now waits.
    const waiting = await submit({ queue: 'mail', name: 'held', data: { kind: 'ok' } });
    await poll(() => button.textContent()).toBe('Resume…');
    await shoot('paused');
    expect(await statusOf(waiting)).toBe('queued');
    // The overview's queue table says it too.
    await page.click('#tabs a[data-tab=overview]');
    await poll(() => page.locator('#queues tbody tr', { hasText: 'mail' }).textContent()).toContain('mail (paused)');
    expect(await page.locator('#queues tbody tr', { hasText: 'hash' }).textContent()).not.toContain('paused');
    await page.click('#tabs a[data-tab=queues]');
    await button.click();
    await page.click('#confirm-yes');
    await poll(() => page.locator('#control-message').textContent()).toBe('queue mail resumed');
    expect(await paused()).toBe(false);
    await poll(() => statusOf(waiting)).toBe('completed');
  }, 30_000);

  it('adds and removes a schedule after confirmation, showing its next run', async () => {
    await page.click('#tabs a[data-tab=schedules]');
    await poll(() => page.locator('#schedules tbody').textContent()).toBe('no schedules');
    await page.fill('#schedule-key', 'nightly');
    await page.fill('#schedule-cron', '0 3 * * *');
    await page.fill('#schedule-timezone', 'Europe/Paris');
    await page.selectOption('#schedule-queue', 'work');
    await page.fill('#schedule-name', 'report');
    await page.fill('#schedule-data', '{"kind":"ok"}');
    await page.click('#schedule-form button[type=submit]');
    expect(await page.locator('#confirm-text').textContent()).toBe('Save schedule nightly: enqueue report on work at "0 3 * * *" (Europe/Paris)?');
    await page.click('#confirm-yes');
    await poll(() => page.locator('#control-message').textContent()).toBe('schedule nightly saved');
    const row = page.locator('#schedules tbody tr', { hasText: 'nightly' });
    await poll(() => row.textContent()).toMatch(/nightly0 3 \* \* \*Europe\/Pariswork.*report/);
    const [schedule] = ((await d.request('GET', '/schedules')).json() as { schedules: { schedule: string; nextRunAt: string }[] }).schedules;
    expect(schedule!.schedule).toBe('nightly');
    // The next run as the server computed it, in the page's clock format (03:00 in Paris).
    expect(new Date(schedule!.nextRunAt).getTime()).toBeGreaterThan(Date.now());
    expect(await row.locator('td').nth(5).textContent()).not.toBe('–');
    await shoot('schedules');

    await page.click('#schedules button[data-schedule=nightly]');
    expect(await page.locator('#confirm-text').textContent()).toMatch(/^Remove schedule nightly\?/);
    await page.click('#confirm-yes');
    await poll(() => page.locator('#control-message').textContent()).toBe('schedule nightly removed');
    await poll(() => page.locator('#schedules tbody').textContent()).toBe('no schedules');
    expect(((await d.request('GET', '/schedules')).json() as { schedules: unknown[] }).schedules).toEqual([]);
  }, 30_000);

  it('shows a job\'s progress', async () => {
    const id = await submit({ queue: 'hash', name: 'digest', data: { seed: 7, rounds: 20 } });
    await poll(() => statusOf(id)).toBe('completed');
    await page.goto(`${d.running.url}/status#jobs:${id}`);
    await poll(() => page.locator('#job-progress').textContent()).toContain('100%');
    expect(await page.locator('#job-progress .bar > span').evaluate((bar) => (bar as unknown as { style: { width: string } }).style.width)).toBe('100%');
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
