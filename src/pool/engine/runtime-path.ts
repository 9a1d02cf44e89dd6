/**
 * Where the thread runtime lives (../thread/) and how threads load it. Threads start in
 * `thread-entry.mjs`, which (when running from source: tests, `tsx`) registers tsx before importing
 * the TypeScript runtime and worker module, because Node 20 cannot strip types. From `dist/`
 * everything is JavaScript and no loader is involved. Paths are relative to this module, and tsc
 * keeps the folder layout (copying the .mjs entry as is), so they resolve in src/ and dist/src/ alike.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = import.meta.url;
const fromSource = here.endsWith('.ts');

/** File URL of the file piscina loads in every thread. */
export const threadEntryUrl = new URL('../thread/thread-entry.mjs', here).href;

/** File URL of the thread runtime next to this module. */
export const threadRuntimeUrl = new URL(fromSource ? '../thread/thread-runtime.ts' : '../thread/thread-runtime.js', here).href;

/** True when threads need tsx: the runtime or the worker module is TypeScript. */
export function threadsNeedTypeScript(workerUrl: string): boolean {
  return fromSource || /\.(c|m)?ts$/.test(workerUrl);
}

/**
 * V8 flags `new Worker` refuses in an explicit `execArgv` (ERR_WORKER_INVALID_EXEC_ARGV), although
 * V8 flags are process-wide and apply to threads anyway; heap sizes per thread are `resourceLimits`.
 */
const v8Flag = /^--(expose[-_]gc|max[-_]old[-_]space[-_]size|max[-_]semi[-_]space[-_]size|max[-_]heap[-_]size|stack[-_]size|jitless|harmony)/;

/**
 * `execArgv` for pool threads: the parent's, minus inspector flags (they would clash on the port),
 * loaders and V8 flags. `undefined` (Node's own inheritance, which skips what threads cannot take)
 * when there is nothing to remove: the usual `node --max-old-space-size=4096 dist/main.js`.
 */
export function threadExecArgv(): string[] | undefined {
  const inherited: string[] = [];
  const argv = process.execArgv;
  let removed = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--require' || arg === '--import' || arg === '-r' || arg === '--loader') {
      i++;
      removed = true;
    } else if (arg.startsWith('--inspect') || arg.startsWith('--import=') || arg.startsWith('--require=') || arg.startsWith('--loader=')) {
      removed = true;
    } else if (!v8Flag.test(arg)) {
      inherited.push(arg);
    }
  }
  return removed ? inherited : undefined;
}

/** True when a worker module file exists (checked at pool creation for a clear error). */
export function workerModuleExists(workerUrl: string): boolean {
  return existsSync(fileURLToPath(workerUrl));
}
