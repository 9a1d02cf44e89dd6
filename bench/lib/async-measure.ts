/**
 * Interleaved rounds for operations that complete asynchronously (a pool task, a burst of thread
 * events, a thread restart): the async sibling of `measureInterleaved` in measure.ts, with the same
 * habits — each case drives its own loop, rounds rotate their starting case so drift lands on every
 * case alike, and ratios are medians of per-round pairs.
 *
 * Unlike measure.ts it does not call gc() before rounds: a forced full collection leaves the young
 * generation at its minimum size, and a round of thread round trips then runs through many more
 * scavenges until it has grown back. Measured here (Node 20, raw piscina no-op tasks): gc() before
 * each 800-task round cut throughput from ~45k to ~10k tasks/s, and 8000-task rounds still ran at half.
 *
 * Each round also records the process's CPU time (`process.cpuUsage()`: every thread of the process,
 * user + system). Work handed to threads is invisible to the wall clock once the machine has spare
 * cores, so CPU per op is what shows an overhead that a many-core machine would hide; on a machine
 * with few cores it is also what bounds throughput.
 */
import { median, quantile, type CaseSamples } from './measure.ts';
import { round } from './report.ts';
import type { Row, RowStats } from './scenario.ts';

/** One thing to time. `run` must perform the operation exactly `ops` times before it resolves. */
export interface AsyncBenchCase {
  readonly name: string;
  readonly run: (ops: number) => Promise<void>;
}

export interface AsyncMeasureOptions {
  readonly rounds: number;
  readonly warmupRounds: number;
  /** Fixed ops per round (a burst of N events, one restart); otherwise calibrated to `roundTargetMs`. */
  readonly opsPerRound?: number;
  readonly roundTargetMs?: number;
  readonly minOps?: number;
  readonly maxOps?: number;
}

/** Samples of one case: wall and CPU nanoseconds per op for every measured round. */
export interface AsyncCaseSamples extends CaseSamples {
  readonly cpuNsPerOp: readonly number[];
}

async function timeOnce(bench: AsyncBenchCase, ops: number): Promise<{ wallNs: number; cpuNs: number }> {
  const cpuBefore = process.cpuUsage();
  const started = process.hrtime.bigint();
  await bench.run(ops);
  const wallNs = Number(process.hrtime.bigint() - started);
  const cpu = process.cpuUsage(cpuBefore);
  return { wallNs, cpuNs: (cpu.user + cpu.system) * 1000 };
}

/** Op count whose round takes about `roundTargetMs` (fastest of three repeats, as in measure.ts). */
async function calibrate(bench: AsyncBenchCase, options: AsyncMeasureOptions): Promise<number> {
  if (options.opsPerRound !== undefined) return options.opsPerRound;
  const targetNs = (options.roundTargetMs ?? 100) * 1e6;
  const minOps = options.minOps ?? 100;
  const maxOps = options.maxOps ?? 1_000_000;
  let ops = minOps;
  let elapsed = (await timeOnce(bench, ops)).wallNs;
  while (elapsed < targetNs / 4 && ops < maxOps) {
    ops = Math.min(maxOps, ops * 4);
    elapsed = (await timeOnce(bench, ops)).wallNs;
  }
  for (let repeat = 0; repeat < 3; repeat++) elapsed = Math.min(elapsed, (await timeOnce(bench, ops)).wallNs);
  return Math.min(maxOps, Math.max(minOps, Math.round(targetNs / (elapsed / ops))));
}

/** Times every case over interleaved rounds; returns samples keyed by case name, in case order. */
export async function measureAsyncInterleaved(cases: readonly AsyncBenchCase[], options: AsyncMeasureOptions): Promise<Map<string, AsyncCaseSamples>> {
  if (new Set(cases.map((c) => c.name)).size !== cases.length) throw new Error('bench case names must be unique');
  const opsPerRound: number[] = [];
  for (const c of cases) opsPerRound.push(await calibrate(c, options));
  const wall = cases.map(() => [] as number[]);
  const cpu = cases.map(() => [] as number[]);
  for (let r = 0; r < options.warmupRounds + options.rounds; r++) {
    for (let k = 0; k < cases.length; k++) {
      const index = (r + k) % cases.length;
      const ops = opsPerRound[index]!;
      const { wallNs, cpuNs } = await timeOnce(cases[index]!, ops);
      if (r < options.warmupRounds) continue;
      wall[index]!.push(wallNs / ops);
      cpu[index]!.push(cpuNs / ops);
    }
  }
  return new Map(cases.map((c, i) => [c.name, { name: c.name, opsPerRound: opsPerRound[i]!, nsPerOp: wall[i]!, cpuNsPerOp: cpu[i]! }]));
}

/**
 * A row (median) and its spread from per-round values already converted to the row's unit, e.g.
 * `perRound = samples.nsPerOp.map((ns) => 1e9 / ns)` for ops/s.
 */
function rowFrom(name: string, unit: string, perRound: readonly number[], opsPerRound: number): { row: Row; stats: RowStats } {
  const mid = median(perRound);
  return {
    row: { name, value: round(mid), unit },
    stats: {
      median: round(mid),
      min: round(Math.min(...perRound)),
      max: round(Math.max(...perRound)),
      iqr: round((quantile(perRound, 0.75) - quantile(perRound, 0.25)) / mid),
      rounds: perRound.length,
      opsPerRound,
    },
  };
}

/** Collects rows and stats in the order they are added. */
export class RowSet {
  readonly rows: Row[] = [];
  readonly stats: Record<string, RowStats> = {};

  add(name: string, unit: string, perRound: readonly number[], opsPerRound: number): void {
    const { row, stats } = rowFrom(name, unit, perRound, opsPerRound);
    this.rows.push(row);
    this.stats[name] = stats;
  }

  /** A single value with no rounds behind it (a count, a setting). */
  addValue(name: string, unit: string, value: number): void {
    this.rows.push({ name, value: round(value), unit });
  }
}

/** Median over rounds of `f(a[r], b[r])`: paired per round, so drift common to both cancels. */
export function pairedMedian(a: readonly number[], b: readonly number[], f: (x: number, y: number) => number): number {
  const n = Math.min(a.length, b.length);
  const values: number[] = [];
  for (let r = 0; r < n; r++) values.push(f(a[r]!, b[r]!));
  return median(values);
}
