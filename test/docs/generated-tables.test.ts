/**
 * The reference tables in docs/ are generated from the code (catalog, metrics, log events,
 * configuration) and pinned here (the error codes: errors-table.test.ts), each in the page of its topic between
 * `<!-- name:start -->` / `<!-- name:end -->` markers. Run `UPDATE_DOCS=1 npx vitest run test/docs`
 * to rewrite them after changing the code.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { catalog, defaultMetrics, telemetry } from '../../src/index.ts';
import { configVariables } from '../../src/config.ts';
import { eventLines } from '../../src/log/event-logs.ts';
import { renderConfigTable, renderEventTable, renderLogTable, renderMetricTable } from '../../src/telemetry/docs.ts';

const page = (name: string): URL => new URL(`../../docs/${name}`, import.meta.url);

function section(text: string, file: string, name: string): { start: number; end: number; body: string } {
  const open = `<!-- ${name}:start -->\n`;
  const close = `\n<!-- ${name}:end -->`;
  const start = text.indexOf(open);
  const end = text.indexOf(close);
  if (start < 0 || end < start) throw new Error(`docs/${file} lacks the ${name} markers`);
  return { start: start + open.length, end, body: text.slice(start + open.length, end) };
}

function expectSection(file: string, name: string, expected: string): void {
  const path = page(file);
  let text = readFileSync(path, 'utf8');
  const found = section(text, file, name);
  if (process.env.UPDATE_DOCS === '1' && found.body !== expected) {
    text = text.slice(0, found.start) + expected + text.slice(found.end);
    writeFileSync(path, text);
    return;
  }
  expect(found.body, `docs/${file} ${name} table is stale: run UPDATE_DOCS=1 npx vitest run test/docs`).toBe(expected);
}

describe('generated tables in docs/', () => {
  it('docs/telemetry.md: the event catalog table matches src/telemetry/catalog.ts', () => {
    expectSection('telemetry.md', 'catalog', renderEventTable(catalog));
  });


  it('docs/metrics.md: the metrics table matches the default inventory', () => {
    expectSection('metrics.md', 'metrics', renderMetricTable(defaultMetrics));
  });

  it('docs/logs.md: the log events table matches src/log/event-logs.ts', () => {
    expectSection('logs.md', 'log-events', renderLogTable(eventLines));
  });

  it('docs/configuration.md: the configuration table matches src/config.ts', () => {
    expectSection('configuration.md', 'config', renderConfigTable(configVariables));
  });

  it('docs/telemetry.md: the telemetry API table names every public method of the bus', () => {
    const api = section(readFileSync(page('telemetry.md'), 'utf8'), 'telemetry.md', 'telemetry-api').body;
    const methods = Object.getOwnPropertyNames(Object.getPrototypeOf(telemetry)).filter((m) => m !== 'constructor');
    const controlMethods = Object.keys(telemetry.control).map((m) => `control.${m}`);
    for (const method of [...methods, ...controlMethods]) expect(api, `docs/telemetry.md API table lacks ${method}`).toContain(`\`${method}(`);
  });

  it('README.md stays a front door: no generated table, at most 250 lines', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    expect(readme, 'generated tables live in their docs/ page').not.toMatch(/<!-- [a-z-]+:start -->/);
    expect(readme.split('\n').length, 'move reference text into docs/').toBeLessThanOrEqual(250);
  });
});
