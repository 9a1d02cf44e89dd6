/**
 * Module hooks that compile the benchmarked `.ts` files with TypeScript itself, as `npm run build`
 * does, instead of with tsx's esbuild.
 *
 * Why: tsx compiles with esbuild's `keepNames`, which wraps every function expression in a
 * `__name(fn, "fn")` call (an `Object.defineProperty`). A closure made per call — `span()`'s error
 * callback, say — then pays a property definition per call that the shipped build (tsc output in
 * dist/) never pays: 500–700 ns per `span()` on Node 20 here, more than the span itself. Benchmarks
 * must time the code users run, so scenarios and everything they import go through
 * `ts.transpileModule` with the project's compiler options.
 *
 * tsx installs its own hooks first; ours must run ahead of them. Hooks registered later run first
 * within their kind, and in-thread hooks (`module.registerHooks`, Node ≥ 22.15, which tsx uses
 * where it exists) run before off-thread ones (`module.register`), so we use whichever tsx uses.
 * The runner then checks with transpile-probe.ts that it took effect.
 */
import { readFileSync } from 'node:fs';
import module from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

interface LoadContext {
  readonly format?: string | null;
}
interface LoadResult {
  readonly format?: string | null;
  readonly source?: string | ArrayBuffer | Uint8Array;
  readonly shortCircuit?: boolean;
}
type SyncLoad = (url: string, context: LoadContext, nextLoad: (url: string, context?: LoadContext) => LoadResult) => LoadResult;
type AsyncLoad = (url: string, context: LoadContext, nextLoad: (url: string, context?: LoadContext) => Promise<LoadResult>) => Promise<LoadResult>;
/** `module.registerHooks` is newer than this project's @types/node (Node 20). */
type RegisterHooks = (hooks: { load: SyncLoad }) => unknown;

const projectConfig = fileURLToPath(new URL('../../tsconfig.json', import.meta.url));
let compilerOptions: ts.CompilerOptions | null = null;

/** The project's tsconfig options (wherever the loaded file lives), adjusted for in-memory ES module output. */
function projectOptions(): ts.CompilerOptions {
  if (compilerOptions !== null) return compilerOptions;
  const { config, error } = ts.readConfigFile(projectConfig, ts.sys.readFile);
  if (error !== undefined) throw new Error(`cannot read ${projectConfig}: ${ts.flattenDiagnosticMessageText(error.messageText, '\n')}`);
  const parsed = ts.parseJsonConfigFileContent(config, ts.sys, dirname(projectConfig));
  compilerOptions = {
    ...parsed.options,
    // The package is `"type": "module"`; transpileModule cannot see that, so say ES modules outright.
    module: ts.ModuleKind.ESNext,
    // Specifiers stay `.ts`: these files are loaded from source, not from dist/.
    rewriteRelativeImportExtensions: false,
    declaration: false,
    sourceMap: false,
    inlineSourceMap: true,
    noEmit: false,
  };
  return compilerOptions;
}

/** The file path when `url` is one of ours to compile: a local `.ts` source outside node_modules. */
function ownSource(url: string): string | null {
  if (!url.startsWith('file:') || url.includes('/node_modules/')) return null;
  const path = fileURLToPath(url.split('?')[0]!);
  return path.endsWith('.ts') && !path.endsWith('.d.ts') ? path : null;
}

function compile(path: string): LoadResult {
  const output = ts.transpileModule(readFileSync(path, 'utf8'), { compilerOptions: projectOptions(), fileName: path });
  return { format: 'module', source: output.outputText, shortCircuit: true };
}

/**
 * Off-thread `load` hook (Node's `module.register`); exported under the name Node looks for.
 * @public — Node imports it by name from this file's URL, which knip cannot follow.
 */
export const load: AsyncLoad = async (url, context, nextLoad) => {
  const path = ownSource(url);
  return path === null ? nextLoad(url, context) : compile(path);
};

const loadSync: SyncLoad = (url, context, nextLoad) => {
  const path = ownSource(url);
  return path === null ? nextLoad(url, context) : compile(path);
};

/** Which compiler produced the code under test, for the run's header. */
export const transpiler = `typescript ${ts.version}`;

/** Installs the hooks ahead of tsx's, for every module imported from now on. */
export function installTranspileHooks(): void {
  const registerHooks = (module as unknown as { registerHooks?: RegisterHooks }).registerHooks;
  if (typeof registerHooks === 'function') registerHooks({ load: loadSync });
  else module.register(import.meta.url);
}
