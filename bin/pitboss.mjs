#!/usr/bin/env node
// The `pitboss` command (package.json `bin`, and `npm start`). Runs the built CLI, dist/src/cli.js,
// when there is one at least as new as the sources; otherwise the TypeScript source through tsx,
// registered in this process (no second Node process, as `tsx src/cli.ts` would spawn). So a fresh
// clone needs no build, a build makes every start faster, and an edit after a build is never
// shadowed by a stale dist/. Plain JavaScript on purpose: it must load before any TypeScript loader.
import { existsSync, readdirSync, statSync } from 'node:fs';
import module from 'node:module';
import process from 'node:process';
import { fileURLToPath, URL } from 'node:url';

const root = new URL('../', import.meta.url);
const built = new URL('dist/src/cli.js', root);
const source = new URL('src/cli.ts', root);
// The folders `npm run build` compiles (tsconfig.build.json): a file in them newer than the build
// means the build is stale.
const sourceDirs = ['src', 'supervisors', 'workers'];

/** Newest modification time (ms) of any file under `dir`; 0 when it does not exist. */
function newestUnder(dir) {
  let newest = 0;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const entry of entries) {
    const path = `${dir}/${entry.name}`;
    const time = entry.isDirectory() ? newestUnder(path) : entry.isFile() ? statSync(path).mtimeMs : 0;
    if (time > newest) newest = time;
  }
  return newest;
}

/** Why the source runs instead of the build, or null to run the build. */
function reasonForSource() {
  if (!existsSync(built)) return 'no build';
  // An installed package ships dist/ without src/: nothing to compare, nothing else to run.
  if (!existsSync(source)) return null;
  // A TypeScript deployment file (`pitboss start my-deployment.ts`) imports the TypeScript sources:
  // run them, not a second copy of the runtime from dist/.
  if (process.argv.slice(2).some((arg) => /\.(c|m)?ts$/.test(arg))) return 'TypeScript argument';
  const builtAt = statSync(built).mtimeMs;
  const rootPath = fileURLToPath(root);
  return sourceDirs.some((dir) => newestUnder(`${rootPath}${dir}`) > builtAt) ? 'stale build' : null;
}

// Node 22.1+ keeps V8's compiled code of loaded modules on disk (in the OS temp dir; a read-only one
// just means no cache): importing the runtime from dist/ took ~200 ms instead of ~250 ms on Node 24.
// Node 20 has no such cache.
module.enableCompileCache?.();

const reason = reasonForSource();
if (reason === null) {
  await import(built.href);
} else {
  if (reason === 'stale build') process.stderr.write('pitboss: dist/ is older than the sources; running them through tsx (npm run build to start from dist/)\n');
  let register;
  try {
    ({ register } = await import('tsx/esm/api'));
  } catch {
    process.stderr.write('pitboss: no build in dist/ and no tsx to run the TypeScript source: run npm run build, or npm ci for the dev dependencies\n');
    process.exit(1);
  }
  register();
  await import(source.href);
}
