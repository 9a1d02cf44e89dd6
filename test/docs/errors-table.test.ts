/**
 * docs/errors.md carries the error table generated from src/errors/table.ts, pinned here. Run
 * `UPDATE_DOCS=1 npx vitest run test/docs` to rewrite it after changing the table.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { errorCodes, type ErrorEntry } from '../../src/errors/table.ts';

const pagePath = new URL('../../docs/errors.md', import.meta.url);
const open = '<!-- error-codes:start -->\n';
const close = '\n<!-- error-codes:end -->';

/** `Error` in the table is raised inside a worker thread, not as a PitbossError on the caller's side. */
const className = (name: string): string => (name === 'Error' ? '`Error` (in the thread)' : `\`${name}\``);

/** The Markdown table: code, HTTP status, meaning, the classes that raise it. */
export function renderErrorTable(table: Readonly<Record<string, ErrorEntry>>): string {
  const rows = Object.entries(table).map(([code, e]) => `| \`${code}\` | ${e.status} | ${e.meaning} | ${e.classes.map(className).join(', ')} |`);
  return ['| code | HTTP status | meaning | class |', '|---|---|---|---|', ...rows].join('\n');
}

it('docs/errors.md carries the table of src/errors/table.ts', () => {
  const page = readFileSync(pagePath, 'utf8');
  const start = page.indexOf(open);
  const end = page.indexOf(close);
  if (start < 0 || end < start) throw new Error('docs/errors.md lacks the error-codes markers');
  const found = page.slice(start + open.length, end);
  const expected = renderErrorTable(errorCodes);
  if (process.env.UPDATE_DOCS === '1' && found !== expected) {
    writeFileSync(pagePath, page.slice(0, start + open.length) + expected + page.slice(end));
    return;
  }
  expect(found, 'docs/errors.md error table is stale: run UPDATE_DOCS=1 npx vitest run test/docs').toBe(expected);
});
