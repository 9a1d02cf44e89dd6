/**
 * Debian's Chromium driven by playwright-core (no browser download), for the status page tests:
 * one persistent headless context per file, every request the page makes recorded (the page must
 * load nothing from elsewhere), and every Content-Security-Policy violation the page reports kept,
 * both as the browser's console message and as the document's `securitypolicyviolation` event.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

const chromiumPath = '/usr/bin/chromium';
const root = fileURLToPath(new URL('../../', import.meta.url));
/** Screenshots of test runs (gitignored). */
export const artifacts = join(root, 'test/artifacts');
/** The copy shown in README.md and docs/deploy.md; refreshed only on request (PITBOSS_UPDATE_SCREENSHOT=1), so test runs leave the tree clean. */
export const readmeScreenshot = join(root, 'supervisors/deploy/status-page.png');

export interface TestBrowser {
  readonly context: BrowserContext;
  readonly page: Page;
  /** URLs the page requested. */
  readonly requested: string[];
  /** CSP violations: console messages about the policy and securitypolicyviolation events. */
  readonly cspViolations: string[];
  close(): Promise<void>;
}

export async function launchChromium(): Promise<TestBrowser> {
  if (!existsSync(chromiumPath)) {
    throw new Error(`chromium is not installed at ${chromiumPath}: this test drives a real browser. Install it with \`apt-get install -y chromium\` (Debian; .ci/run does) and run again.`);
  }
  const profile = mkdtempSync(join(tmpdir(), 'pitboss-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 1000 },
    timeout: 60_000,
  });
  const page = context.pages()[0] ?? await context.newPage();
  page.setDefaultTimeout(15_000);
  const requested: string[] = [];
  const cspViolations: string[] = [];
  page.on('request', (request) => requested.push(request.url()));
  page.on('console', (message) => {
    if (/Content Security Policy|Refused to (load|apply|execute|connect|frame)/i.test(message.text())) cspViolations.push(message.text());
  });
  // Playwright's init scripts run outside the page's CSP; the listener only records what the page reports.
  await page.addInitScript({
    content: "document.addEventListener('securitypolicyviolation', (e) => console.error('Content Security Policy violation: ' + e.violatedDirective + ' blocked ' + e.blockedURI));",
  });
  return {
    context, page, requested, cspViolations,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
