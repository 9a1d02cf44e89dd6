/**
 * The error table against the source: each code's `classes` are exactly the classes src/ constructs
 * with that code, and every class the table names is a PitbossError exported from the package.
 * Read from the source text rather than from instances, since most codes are only raised by failures
 * (a dead Postgres, a crashed thread) a unit test does not stage.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as api from '../../src/index.ts';
import { errorCodes, type ErrorCode } from '../../src/errors/table.ts';

const srcDir = new URL('../../src/', import.meta.url).pathname;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.(ts|mjs)$/.test(entry.name) && !path.endsWith('/errors/table.ts') ? [path] : [];
  });
}

/**
 * code → the classes src/ raises it with. Four shapes: `new XError('PITBOSS_…'`; `super('PITBOSS_…'`
 * inside `class XError extends …`; `new XError(code, …)` with the code in a variable (every code
 * literal of that file counts for XError, as in metrics/definitions.ts); and a plain
 * `new Error(`… (PITBOSS_…)`)` in thread code, listed as `Error`.
 */
function raisedCodes(): Map<string, Set<string>> {
  const raised = new Map<string, Set<string>>();
  const add = (code: string, cls: string): void => {
    raised.set(code, (raised.get(code) ?? new Set()).add(cls));
  };
  for (const file of sourceFiles(srcDir)) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/new (\w*Error)\(\s*'(PITBOSS_[A-Z_]+)'/g)) add(m[2]!, m[1]!);
    for (const m of text.matchAll(/new Error\(`[^`]*\b(PITBOSS_[A-Z_]+)\b/g)) add(m[1]!, 'Error');
    const classes = [...text.matchAll(/class (\w+) extends \w+/g)].map((m) => ({ name: m[1]!, at: m.index }));
    for (const m of text.matchAll(/super\(\s*'(PITBOSS_[A-Z_]+)'/g)) {
      const enclosing = classes.filter((c) => c.at < m.index).at(-1);
      if (enclosing !== undefined) add(m[1]!, enclosing.name);
    }
    const byVariable = [...text.matchAll(/new (\w*Error)\(\s*[a-z]\w*\s*,/g)].map((m) => m[1]!).filter((c) => c !== 'Error');
    if (byVariable.length > 0) {
      for (const m of text.matchAll(/'(PITBOSS_[A-Z_]+)'/g)) if (m[1]! in errorCodes) for (const cls of byVariable) add(m[1]!, cls);
    }
  }
  return raised;
}

const exported = api as unknown as Record<string, unknown>;
const isPitbossClass = (value: unknown): value is typeof api.PitbossError =>
  typeof value === 'function' && (value === api.PitbossError || value.prototype instanceof api.PitbossError);

describe('error table', () => {
  const raised = raisedCodes();

  it('every code is raised by exactly the classes the table names', () => {
    for (const [code, entry] of Object.entries(errorCodes)) {
      expect([...(raised.get(code) ?? [])].sort(), `${code}: classes raising it in src/`).toEqual([...entry.classes].sort());
    }
  });

  it('every code raised in src/ is in the table', () => {
    const unknown = [...raised.keys()].filter((code) => !(code in errorCodes));
    expect(unknown).toEqual([]);
  });

  it('every class the table names is a PitbossError exported from the package, and the reverse', () => {
    const named = new Set<string>(Object.values(errorCodes).flatMap((e) => e.classes).filter((c) => c !== 'Error'));
    for (const name of named) expect(isPitbossClass(exported[name]), `${name} exported from src/index.ts`).toBe(true);
    const classes = Object.entries(exported).filter(([, value]) => isPitbossClass(value)).map(([name]) => name);
    expect(classes.filter((name) => !named.has(name)), 'exported error classes no code names').toEqual([]);
  });

  it('an error carries its code, its class name and its cause', () => {
    const cause = new Error('disk');
    const error = new api.JobError('PITBOSS_STORE_WRITE_FAILED', 'cannot write', { cause, field: 'jobs[0]' });
    expect(error).toMatchObject({ name: 'JobError', code: 'PITBOSS_STORE_WRITE_FAILED', message: 'cannot write', cause, field: 'jobs[0]' });
    expect(error).toBeInstanceOf(api.PitbossError);
    expect(errorCodes[error.code satisfies ErrorCode].status).toBe(503);
  });
});
