/**
 * Where the thread runtime lives and how threads load it. Threads start in `thread-entry.mjs`,
 * which (when running from source: tests, `tsx`) registers tsx before importing the TypeScript
 * runtime and worker module, because Node 20 cannot strip types. From `dist/` everything is
 * JavaScript and no loader is involved.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = import.meta.url;
const fromSource = here.endsWith('.ts');

/** File URL of the file piscina loads in every thread. */
export const threadEntryUrl = new URL('./thread-entry.mjs', here).href;

/** File URL of the thread runtime next to this module. */
export const threadRuntimeUrl = new URL(fromSource ? './thread-runtime.ts' : './thread-runtime.js', here).href;

/** True when threads need tsx: the runtime or the worker module is TypeScript. */
export function threadsNeedTypeScript(workerUrl: string): boolean {
  return fromSource || /\.(c|m)?ts$/.test(workerUrl);
}

/** `execArgv` for pool threads: the parent's, minus inspector flags (they would clash on the port) and loaders. */
export function threadExecArgv(): string[] {
  const inherited: string[] = [];
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--require' || arg === '--import' || arg === '-r' || arg === '--loader') i++;
    else if (!arg.startsWith('--inspect') && !arg.startsWith('--import=') && !arg.startsWith('--require=') && !arg.startsWith('--loader=')) inherited.push(arg);
  }
  return inherited;
}

/** True when a worker module file exists (checked at pool creation for a clear error). */
export function workerModuleExists(workerUrl: string): boolean {
  return existsSync(fileURLToPath(workerUrl));
}
