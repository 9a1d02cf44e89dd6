/**
 * The build under test for scenarios that start worker threads.
 *
 * Threads of a pool run from source register tsx inside every thread (src/pool/thread/thread-entry.mjs),
 * which adds seconds of startup and a `__name()` call per closure that users never pay: they run the
 * tsc output in dist/. So thread scenarios import the pool from dist/src and use worker modules from
 * dist/workers, and this module makes sure the part of dist/ they load is there and no older than
 * its sources, building it (`npm run build`) when it is not, so `npm run bench` works from a clean clone.
 *
 * `PITBOSS_BENCH_DIST=/path/to/dist` points the scenarios at another build (a patched copy, to
 * measure a change before applying it); it is used as is, never rebuilt. Its .js files must load as
 * ES modules: keep it inside a copy of the project, or put `{"type":"module"}` in its package.json.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type * as PitbossApi from '../../src/index.ts';

/** The public API, as the dist build exports it. */
export type Pitboss = typeof PitbossApi;

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
/** Where a thread scenario enters the build: the public API, the thread side, the worker modules. */
const entryOutputs = ['src/index.js', 'src/pool/thread/thread-entry.mjs', 'src/pool/thread/thread-runtime.js', 'workers/noop.js', 'workers/faults.js', 'workers/hash.js'];
/** Configs that change every output. */
const configFiles = ['tsconfig.json', 'tsconfig.build.json', 'package.json'];
const relativeImport = /(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g;

export interface DistBuild {
  /** Absolute path of the build root (holds src/ and workers/). */
  readonly root: string;
  /** What happened: up to date, rebuilt (and how long it took), or overridden. */
  readonly note: string;
}

const mtime = (path: string): number | null => statSync(path, { throwIfNoEntry: false })?.mtimeMs ?? null;

/** The source a dist file was compiled from (`dist/src/a.js` ← `src/a.ts`; `.mjs` files are copied as is). */
function sourceOf(root: string, output: string): string {
  const rel = relative(root, output);
  return join(repoRoot, rel.endsWith('.mjs') ? rel : rel.replace(/\.js$/, '.ts'));
}

/**
 * Why the build cannot be used as is, or null when it can: an output the scenarios load (the entry
 * points and everything they import, followed through the built files) is missing or older than
 * its source. Only that graph counts, so files the scenarios never load (the CLI, supervisors) do
 * not force a rebuild; a changed import shows up because the importing file itself changed.
 */
function staleness(root: string): string | null {
  if (mtime(root) === null) return `${relative(repoRoot, root) || root} does not exist`;
  const configs = Math.max(...configFiles.map((f) => mtime(join(repoRoot, f)) ?? 0));
  const seen = new Set<string>();
  const pending = entryOutputs.map((f) => join(root, f));
  while (pending.length > 0) {
    const output = pending.pop()!;
    if (seen.has(output)) continue;
    seen.add(output);
    const built = mtime(output);
    if (built === null) return `${relative(root, output)} is missing`;
    const source = mtime(sourceOf(root, output));
    if (source !== null && source > built) return `${relative(repoRoot, sourceOf(root, output))} changed`;
    if (configs > built) return 'a tsconfig or package.json changed';
    for (const match of readFileSync(output, 'utf8').matchAll(relativeImport)) pending.push(join(dirname(output), match[1]!));
  }
  return null;
}

/** Runs `npm run build` because of `reason`; `after` says why the result is still unusable, or null. */
function rebuild(root: string, reason: string, after: () => string | null): DistBuild {
  console.log(`  dist/ is stale (${reason}): npm run build`);
  const started = performance.now();
  const build = spawnSync('npm', ['run', 'build'], { cwd: repoRoot, encoding: 'utf8' });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  // tsc still emits when other files of the project have type errors; only a build whose graph is
  // still missing or stale afterwards stops the run, a failed type check elsewhere is reported.
  const still = after();
  if (still !== null) throw new Error(`npm run build left dist/ unusable (${still}): ${build.error?.message ?? ''}\n${build.stdout}${build.stderr}`);
  if (build.status !== 0) {
    const firstError = `${build.stdout}${build.stderr}`.split('\n').find((line) => line.includes('error TS')) ?? `exit ${build.status}`;
    console.warn(`  warning: npm run build reported errors (outputs were emitted): ${firstError}`);
    return { root, note: `build under test: dist/ rebuilt in ${seconds} s; tsc reported errors elsewhere in the project (${firstError})` };
  }
  return { root, note: `build under test: dist/ rebuilt in ${seconds} s` };
}

/** Returns the build to measure, running `npm run build` first when dist/ is missing or stale. */
export function ensureBuilt(): DistBuild {
  const override = process.env.PITBOSS_BENCH_DIST;
  if (override !== undefined && override !== '') {
    const missing = entryOutputs.find((f) => mtime(join(override, f)) === null);
    if (missing !== undefined) throw new Error(`PITBOSS_BENCH_DIST=${override} has no ${missing}`);
    return { root: override, note: `build under test: ${override} (PITBOSS_BENCH_DIST)` };
  }
  const root = join(repoRoot, 'dist');
  const reason = staleness(root);
  return reason === null ? { root, note: 'build under test: dist/ (up to date)' } : rebuild(root, reason, () => staleness(root));
}

/** Newest modification time (ms) of any file under `dir`; 0 when it does not exist. */
function newestUnder(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) newest = Math.max(newest, mtime(join(entry.parentPath, entry.name)) ?? 0);
  }
  return newest;
}

/**
 * Why `pitboss start` (bin/pitboss.mjs) would not run dist/, by the bin's own test: dist/src/cli.js
 * missing, or older than some file under src/, supervisors/ or workers/ (the bin then runs the
 * sources through tsx, which is not what users of the build run). Null when it runs dist/.
 */
function cliStaleness(root: string): string | null {
  const cli = mtime(join(root, 'src/cli.js'));
  if (cli === null) return 'dist/src/cli.js is missing';
  const stale = ['src', 'supervisors', 'workers'].find((dir) => newestUnder(join(repoRoot, dir)) > cli);
  return stale === undefined ? null : `a file under ${stale}/ is newer than dist/src/cli.js`;
}

/**
 * Makes sure `node bin/pitboss.mjs start` runs the repository's dist/ (not the sources through tsx),
 * building it when the bin would not. Always the repository's dist/: the bin knows no other build,
 * so PITBOSS_BENCH_DIST does not apply to a scenario that starts the CLI.
 */
export function ensureCliBuilt(): DistBuild {
  const root = join(repoRoot, 'dist');
  const reason = cliStaleness(root) ?? staleness(root);
  if (reason === null) return { root, note: 'pitboss start runs dist/ (up to date by the bin\'s own test)' };
  return rebuild(root, reason, () => cliStaleness(root) ?? staleness(root));
}

/** Absolute path of the repository's root (where bin/ and package.json are). */
export const projectRoot = repoRoot;

/**
 * The runner starts scenarios with `--expose-gc`, and pools pass the parent's flags to their threads;
 * `new Worker` rejects V8 flags in an explicit `execArgv` (ERR_WORKER_INVALID_EXEC_ARGV) although V8
 * flags are process-wide and reach threads anyway. Dropping the flag from `process.execArgv` after
 * startup keeps `gc()` in this process and lets pools start; returns the flags removed.
 */
export function dropFlagsWorkersReject(): string[] {
  const rejected = ['--expose-gc', '--expose_gc'];
  const removed = process.execArgv.filter((arg) => rejected.includes(arg));
  process.execArgv = process.execArgv.filter((arg) => !rejected.includes(arg));
  return removed;
}

/** Imports the public API from a build. */
export async function loadPitboss(build: DistBuild): Promise<Pitboss> {
  return (await import(pathToFileURL(join(build.root, 'src/index.js')).href)) as Pitboss;
}

/** File URL of a worker module of the build (`noop`, `hash`, `faults`). */
export function distWorker(build: DistBuild, name: string): string {
  return pathToFileURL(join(build.root, 'workers', `${name}.js`)).href;
}

/** Absolute path of a plain-JS peer worker in bench/workers. */
export function benchWorker(name: string): string {
  const path = fileURLToPath(new URL(`../workers/${name}.mjs`, import.meta.url));
  if (!existsSync(path)) throw new Error(`no bench worker ${path}`);
  return path;
}

/**
 * `execArgv` for peer threads: exactly what the pool gives its own threads (the parent's flags minus
 * loaders and inspector), taken from the build, so both sides boot with the same flags.
 */
export async function threadExecArgv(build: DistBuild): Promise<string[]> {
  const runtimePath = (await import(pathToFileURL(join(build.root, 'src/pool/engine/runtime-path.js')).href)) as { threadExecArgv(): string[] };
  return runtimePath.threadExecArgv();
}
