/**
 * The contract between the runner and a scenario. A scenario is a `bench/<name>.bench.ts` file whose
 * default export is a `Scenario`; the runner discovers it by file name, runs it in its own process,
 * prints its table, writes `bench/results/<name>.json` and checks its declared ratio targets.
 */

/** How a scenario should size itself. */
interface ScenarioOptions {
  /** A short smoke run (CI): small loops, few rounds, targets reported but never enforced. */
  readonly quick: boolean;
}

/** One measured quantity, e.g. `{ name: 'execute_1_handler', value: 12.3, unit: 'ns/op' }`. */
export interface Row {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
}

/** Spread of one row over its measured rounds, kept beside the rows so the JSON shows how noisy a run was. */
export interface RowStats {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  /** Interquartile range as a fraction of the median. */
  readonly iqr: number;
  readonly rounds: number;
  readonly opsPerRound: number;
}

/** What `run` hands back; the runner adds the scenario name, Node version and target verdicts. */
export interface ScenarioResult {
  readonly rows: readonly Row[];
  /** Dimensionless comparisons, ours over a peer's (lower is better unless a target says otherwise). */
  readonly ratios: Readonly<Record<string, number>>;
  readonly stats?: Readonly<Record<string, RowStats>>;
  /** Method notes printed under the table and stored in the JSON (how objects were allocated, etc.). */
  readonly notes?: readonly string[];
}

/** A declared bound on one ratio. `goal` is the aspiration, reported but never enforced. */
export interface Target {
  readonly key: string;
  readonly op: '<=' | '>=';
  readonly value: number;
  readonly goal?: number;
  /**
   * The scenario may leave this ratio out on purpose (a peer that does not run on this Node): a
   * missing ratio is then reported as skipped instead of missed. Without it a missing ratio is a miss,
   * so a scenario that silently stops measuring cannot pass.
   */
  readonly optional?: boolean;
}

/** A target after a run: the measured ratio and whether the bound (and goal) held. */
export interface TargetVerdict extends Target {
  readonly actual: number | null;
  readonly met: boolean;
  /** An optional target whose ratio this run did not produce: neither met nor missed. */
  readonly skipped: boolean;
  readonly goalMet: boolean | null;
}

/** The default export of a `bench/<name>.bench.ts` file. */
export interface Scenario {
  /** Must equal the file name without `.bench.ts`; it names the results file and the CLI argument. */
  readonly name: string;
  readonly description: string;
  readonly targets?: readonly Target[];
  run(options: ScenarioOptions): Promise<ScenarioResult>;
}

/** The JSON written to `bench/results/<scenario>.json`. */
export interface ResultFile {
  readonly scenario: string;
  readonly node: string;
  readonly rows: readonly Row[];
  readonly ratios: Readonly<Record<string, number>>;
  readonly targets: readonly TargetVerdict[];
  readonly quick: boolean;
  readonly date: string;
  readonly platform: { readonly os: string; readonly arch: string; readonly cpus: number; readonly cpuModel: string };
  readonly stats: Readonly<Record<string, RowStats>>;
  readonly notes: readonly string[];
}

function holds(actual: number, op: Target['op'], bound: number): boolean {
  return op === '<=' ? actual <= bound : actual >= bound;
}

/** Checks declared targets against measured ratios; a missing ratio counts as missed unless the target is optional. */
export function judgeTargets(targets: readonly Target[], ratios: Readonly<Record<string, number>>): TargetVerdict[] {
  return targets.map((target) => {
    const actual = ratios[target.key];
    if (actual === undefined && target.optional === true) return { ...target, actual: null, met: false, skipped: true, goalMet: null };
    if (actual === undefined || !Number.isFinite(actual)) return { ...target, actual: null, met: false, skipped: false, goalMet: null };
    const goalMet = target.goal === undefined ? null : holds(actual, target.op, target.goal);
    return { ...target, actual, met: holds(actual, target.op, target.value), skipped: false, goalMet };
  });
}

/** Narrows an imported module's default export, naming what is wrong so a broken scenario file is easy to fix. */
export function asScenario(value: unknown, file: string): Scenario {
  const candidate = value as Partial<Scenario> | null;
  if (typeof candidate !== 'object' || candidate === null) throw new Error(`${file}: default export must be a scenario object`);
  if (typeof candidate.name !== 'string' || candidate.name === '') throw new Error(`${file}: scenario.name must be a non-empty string`);
  if (typeof candidate.description !== 'string') throw new Error(`${file}: scenario.description must be a string`);
  if (typeof candidate.run !== 'function') throw new Error(`${file}: scenario.run must be a function`);
  if (candidate.targets !== undefined && !Array.isArray(candidate.targets)) throw new Error(`${file}: scenario.targets must be an array`);
  return candidate as Scenario;
}
