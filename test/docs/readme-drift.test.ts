/**
 * README tables are generated from the code (catalog, metrics, logs, config) and pinned here; the
 * error table lives in docs/errors.md (test/docs/errors-table.test.ts). Run
 * `UPDATE_DOCS=1 npx vitest run test/docs` to rewrite them after changing the code.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { catalog, defaultMetrics, telemetry } from '../../src/index.ts';
import { configVariables } from '../../src/config.ts';
import { eventLines } from '../../src/log/event-logs.ts';
import { renderConfigTable, renderEventTable, renderLogTable, renderMetricTable } from '../../src/telemetry/docs.ts';

const readmePath = new URL('../../README.md', import.meta.url);

function section(readme: string, name: string): { start: number; end: number; body: string } {
  const open = `<!-- ${name}:start -->\n`;
  const close = `\n<!-- ${name}:end -->`;
  const start = readme.indexOf(open);
  const end = readme.indexOf(close);
  if (start < 0 || end < start) throw new Error(`README.md lacks the ${name} markers`);
  return { start: start + open.length, end, body: readme.slice(start + open.length, end) };
}

function expectSection(name: string, expected: string): void {
  let readme = readFileSync(readmePath, 'utf8');
  const found = section(readme, name);
  if (process.env.UPDATE_DOCS === '1' && found.body !== expected) {
    readme = readme.slice(0, found.start) + expected + readme.slice(found.end);
    writeFileSync(readmePath, readme);
    return;
  }
  expect(found.body, `README ${name} table is stale: run UPDATE_DOCS=1 npx vitest run test/docs`).toBe(expected);
}

describe('README drift', () => {
  it('the event catalog table matches src/telemetry/catalog.ts', () => {
    expectSection('catalog', renderEventTable(catalog));
  });

  it('the metrics table matches the default inventory', () => {
    expectSection('metrics', renderMetricTable(defaultMetrics));
  });

  it('the log events table matches src/log/event-logs.ts', () => {
    expectSection('log-events', renderLogTable(eventLines));
  });

  it('the configuration table matches src/config.ts', () => {
    expectSection('config', renderConfigTable(configVariables));
  });

  it('the telemetry API table names every public method of the bus', () => {
    const readme = readFileSync(readmePath, 'utf8');
    const api = section(readme, 'telemetry-api').body;
    const methods = Object.getOwnPropertyNames(Object.getPrototypeOf(telemetry)).filter((m) => m !== 'constructor');
    const controlMethods = Object.keys(telemetry.control).map((m) => `control.${m}`);
    for (const method of [...methods, ...controlMethods]) expect(api, `README telemetry API table lacks ${method}`).toContain(`\`${method}(`);
  });
});
