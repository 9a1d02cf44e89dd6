/**
 * Benchmark runner: `npm run bench` runs every `bench/<name>.bench.ts`, `npm run bench -- <name> …`
 * runs some, `--quick` makes it a smoke run, `--list` names what exists.
 *
 * Each scenario runs in a child process of its own: JIT feedback, heap and ALS state left behind by
 * one scenario would otherwise skew the next (a call site made megamorphic by scenario A stays so for
 * B). The child gets --expose-gc so rounds can start from a collected heap, and compiles the scenario
 * and the code under test with TypeScript rather than tsx (see lib/transpile-hooks.ts for why).
 *
 * Exit status: 0 when every scenario ran and, in a full run, every declared target held; 1 when a
 * scenario crashed or a full run missed a target; 2 for bad arguments. Quick runs report targets but
 * never fail on them: a short run on a shared CI machine is too noisy to judge a ratio.
 */
import { fork } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { printResult, toResultFile, writeResultFile } from './lib/report.ts';
import { asScenario, type ResultFile } from './lib/scenario.ts';
import { installTranspileHooks, transpiler } from './lib/transpile-hooks.ts';

const benchDir = fileURLToPath(new URL('.', import.meta.url));
const resultsDir = join(benchDir, 'results');
const suffix = '.bench.ts';

const exitOk = 0;
const exitFailed = 1;
const exitUsage = 2;
/** A scenario that threw; distinct from a missed target so the summary can say which. */
const exitCrashed = 3;

function discover(): string[] {
  return readdirSync(benchDir).filter((f) => f.endsWith(suffix)).map((f) => f.slice(0, -suffix.length)).sort();
}

/** Child side: run one scenario, print and write its results, and say through the exit code how it went. */
async function runChild(name: string, quick: boolean): Promise<number> {
  installTranspileHooks();
  // Imported only now, so it is compiled by the hooks just installed (a static import would not be).
  const probe = await import('./lib/transpile-probe.ts');
  probe.assertTranspiledByTypeScript();
  const file = join(benchDir, `${name}${suffix}`);
  const scenario = asScenario((await import(pathToFileURL(file).href) as { default?: unknown }).default, file);
  if (scenario.name !== name) throw new Error(`${file}: scenario.name is ${JSON.stringify(scenario.name)}, expected ${JSON.stringify(name)}`);
  console.log(`\n▶ ${name}${quick ? ' (quick)' : ''} — ${scenario.description}\n  node ${process.version}, code under test compiled by ${transpiler}\n`);
  const result = await scenario.run({ quick });
  const resultFile = toResultFile(name, result, scenario.targets ?? [], quick);
  printResult(resultFile);
  console.log(`  wrote ${writeResultFile(resultsDir, resultFile)}`);
  const missed = resultFile.targets.filter((t) => !t.met && !t.skipped);
  return missed.length > 0 && !quick ? exitFailed : exitOk;
}

function runInChildProcess(name: string, quick: boolean): Promise<number> {
  // A results file left from an earlier run must not pass for this run's when the child dies early.
  rmSync(join(resultsDir, `${name}.json`), { force: true });
  const self = fileURLToPath(import.meta.url);
  const args = ['--child', name, ...(quick ? ['--quick'] : [])];
  // process.execArgv carries tsx's loader flags, so the child can import .ts files too.
  const child = fork(self, args, { execArgv: [...process.execArgv, '--expose-gc'], stdio: 'inherit' });
  return new Promise((resolve) => {
    child.on('error', (error) => {
      console.error(`✖ ${name}: could not start: ${error.message}`);
      resolve(exitCrashed);
    });
    child.on('exit', (code, signal) => resolve(signal === null ? (code ?? exitCrashed) : exitCrashed));
  });
}

function readResult(name: string): ResultFile | null {
  try {
    return JSON.parse(readFileSync(join(resultsDir, `${name}.json`), 'utf8')) as ResultFile;
  } catch {
    return null;
  }
}

function summaryLine(name: string, code: number, quick: boolean): string {
  const result = readResult(name);
  if (code !== exitOk && code !== exitFailed) return `✖ ${name}: crashed (exit ${code})`;
  if (result === null) return `✖ ${name}: no results file`;
  const missed = result.targets.filter((t) => !t.met && !t.skipped).map((t) => `${t.key}=${t.actual ?? '—'} (${t.op} ${t.value})`);
  const skipped = result.targets.filter((t) => t.skipped).length;
  const skippedText = skipped === 0 ? '' : `, ${skipped} skipped (not measured in this run)`;
  if (missed.length === 0) return `✔ ${name}: ${result.targets.length - skipped} target(s) met${skippedText}`;
  return `${quick ? '•' : '✖'} ${name}: missed ${missed.join(', ')}${quick ? ' (quick run: not enforced)' : ''}`;
}

async function main(args: readonly string[]): Promise<number> {
  const quick = args.includes('--quick');
  const childIndex = args.indexOf('--child');
  if (childIndex >= 0) return runChild(args[childIndex + 1] ?? '', quick);

  const available = discover();
  if (args.includes('--list')) {
    console.log(available.join('\n'));
    return exitOk;
  }
  const unknownFlags = args.filter((a) => a.startsWith('-') && a !== '--quick' && a !== '--list');
  const requested = args.filter((a) => !a.startsWith('-'));
  const unknown = requested.filter((n) => !available.includes(n));
  if (unknownFlags.length > 0 || unknown.length > 0) {
    console.error(`unknown ${unknownFlags.length > 0 ? `option(s) ${unknownFlags.join(' ')}` : `scenario(s) ${unknown.join(', ')}`}`);
    console.error(`usage: npm run bench -- [--quick] [--list] [scenario …]\nscenarios: ${available.join(', ')}`);
    return exitUsage;
  }
  const selected = requested.length > 0 ? requested : available;
  const codes = new Map<string, number>();
  for (const name of selected) codes.set(name, await runInChildProcess(name, quick));

  console.log(`\n${quick ? 'quick run' : 'full run'} summary`);
  for (const [name, code] of codes) console.log(`  ${summaryLine(name, code, quick)}`);
  return [...codes.values()].some((code) => code !== exitOk) ? exitFailed : exitOk;
}

const argv = process.argv.slice(2);
main(argv).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exitCode = argv.includes('--child') ? exitCrashed : exitFailed;
  },
);
