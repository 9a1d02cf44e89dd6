/**
 * The `pitboss` bin (bin/pitboss.mjs, also what `npm start` runs) picks the built CLI in dist/ when
 * it is at least as new as the sources, and the TypeScript source through tsx otherwise. Run against
 * a copy of the bin in a scratch package whose two CLIs only say which one ran, so the repository's
 * own dist/ is neither needed nor created.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const repo = new URL('../../', import.meta.url).pathname;
let root: string;

function write(path: string, text: string, ageSeconds = 0): void {
  const file = join(root, path);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
  const at = Date.now() / 1000 - ageSeconds;
  utimesSync(file, at, at);
}

async function pitboss(...args: string[]): Promise<{ ran: string; args: string[]; stderr: string }> {
  const { stdout, stderr } = await run(process.execPath, [join(root, 'bin/pitboss.mjs'), ...args], { timeout: 30_000 });
  const [ran, json] = stdout.trim().split(' ', 2) as [string, string];
  return { ran, args: JSON.parse(json) as string[], stderr };
}

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'pitboss-bin-'));
  mkdirSync(join(root, 'bin'));
  copyFileSync(join(repo, 'bin/pitboss.mjs'), join(root, 'bin/pitboss.mjs'));
  symlinkSync(realpathSync(join(repo, 'node_modules')), join(root, 'node_modules'), 'dir');
  write('package.json', '{ "type": "module" }\n', 60);
  // A type annotation: this file only runs if tsx compiled it.
  write('src/cli.ts', "const ran: string = 'source';\nconsole.log(ran, JSON.stringify(process.argv.slice(2)));\n", 60);
  write('supervisors/main.ts', 'export default {};\n', 60);
  write('workers/hash.ts', 'export default {};\n', 60);
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

const buildDist = (ageSeconds = 0) => write('dist/src/cli.js', "console.log('dist', JSON.stringify(process.argv.slice(2)));\n", ageSeconds);

describe('the pitboss bin', () => {
  it('runs the TypeScript source through tsx when there is no build', async () => {
    expect(await pitboss('start')).toMatchObject({ ran: 'source', args: ['start'] });
  }, 60_000);

  it('runs dist/ when the build is at least as new as the sources, passing the arguments on', async () => {
    buildDist();
    expect(await pitboss('status', '--url', 'http://127.0.0.1:9')).toEqual({ ran: 'dist', args: ['status', '--url', 'http://127.0.0.1:9'], stderr: '' });
  }, 60_000);

  it('runs the source, and says why, when a source file changed after the build', async () => {
    buildDist(30);
    write('workers/hash.ts', 'export default { edited: true };\n');
    const result = await pitboss('start');
    expect(result).toMatchObject({ ran: 'source', args: ['start'] });
    expect(result.stderr).toMatch(/dist\/ is older than the sources/);
  }, 60_000);

  it('runs the source for a TypeScript deployment file, which imports the sources', async () => {
    buildDist();
    expect(await pitboss('start', 'my-deployment.ts')).toMatchObject({ ran: 'source', args: ['start', 'my-deployment.ts'] });
  }, 60_000);

  it('runs dist/ in an installed package, which ships no sources', async () => {
    buildDist(120);
    for (const dir of ['src', 'supervisors', 'workers']) rmSync(join(root, dir), { recursive: true });
    expect(await pitboss('start', 'my-deployment.ts')).toMatchObject({ ran: 'dist' });
  }, 60_000);
});
