/**
 * Per-operation timing that holds up on a small, shared, noisy machine.
 *
 * - Each case owns its loop (`run(ops)` loops itself). A shared `for … fn()` driver would make its
 *   call site polymorphic across cases and charge every case for the megamorphic call, hiding the
 *   differences we want to see; closures made by one factory share feedback in V8 for the same reason.
 * - Cases are interleaved round by round, starting at a rotating index, so CPU frequency drift, a
 *   neighbour's compile job or a GC storm lands on ours and the peers alike rather than on whichever
 *   case happened to run during it.
 * - Each round is sized to a time budget (clamped to an op-count range) from a calibration pass, so
 *   a 1 ns op and a 300 ns op both get long enough rounds to swamp timer and scheduling jitter.
 * - The reported value is the median round; ratios are medians of per-round paired ratios, which
 *   cancel drift that affects both sides of one round.
 */

/** One thing to time. `run` must perform the operation exactly `ops` times. */
export interface BenchCase {
  readonly name: string;
  readonly run: (ops: number) => void;
}

export interface MeasureOptions {
  /** Measured rounds per case (odd, so the median is a real sample). */
  readonly rounds: number;
  /** Interleaved rounds run and discarded before measuring, after calibration, to let the JIT settle. */
  readonly warmupRounds: number;
  /** Wall time one round of one case should take. */
  readonly roundTargetMs: number;
  readonly minOps: number;
  readonly maxOps: number;
}

/**
 * Full runs: 21 rounds of ~50 ms, i.e. 1–5 million ops per round for ops of 10–50 ns; slow ops (µs)
 * drop to 100k per round so one scenario stays within a minute or so.
 */
export const fullPreset: MeasureOptions = { rounds: 21, warmupRounds: 3, roundTargetMs: 50, minOps: 100_000, maxOps: 5_000_000 };

/**
 * Smoke runs: prove every case works, in well under a second per case. Too short for the optimiser
 * to settle everywhere (Node 24's tiers take longer), so quick numbers are indicative only.
 */
export const quickPreset: MeasureOptions = { rounds: 5, warmupRounds: 3, roundTargetMs: 5, minOps: 20_000, maxOps: 100_000 };

/** Nanoseconds per op for every measured round of one case, in round order. */
export interface CaseSamples {
  readonly name: string;
  readonly opsPerRound: number;
  readonly nsPerOp: readonly number[];
}

// gc() exists when the runner started this process with --expose-gc. Collecting between rounds
// gives every round the same empty young generation instead of inheriting a neighbour's garbage.
const collectGarbage = (globalThis as { gc?: () => void }).gc ?? ((): void => {});

function timeOnce(bench: BenchCase, ops: number): number {
  const started = process.hrtime.bigint();
  bench.run(ops);
  return Number(process.hrtime.bigint() - started);
}

/**
 * Finds an op count whose round takes about `roundTargetMs`. The growing runs double as first
 * warm-up; the estimate is the fastest of three repeats at the final size, because the first runs
 * time unoptimised code (a 25 ns op can time at 500 ns before the optimiser has seen it) and would
 * shrink its rounds to the minimum.
 */
function calibrate(bench: BenchCase, options: MeasureOptions): number {
  const enough = (options.roundTargetMs * 1e6) / 4;
  let ops = 1_000;
  let elapsed = timeOnce(bench, ops);
  while (elapsed < enough && ops < options.maxOps) {
    ops = Math.min(options.maxOps, ops * 4);
    elapsed = timeOnce(bench, ops);
  }
  for (let repeat = 0; repeat < 3; repeat++) elapsed = Math.min(elapsed, timeOnce(bench, ops));
  const nsPerOp = Math.max(elapsed / ops, 0.01);
  const wanted = Math.round((options.roundTargetMs * 1e6) / nsPerOp);
  return Math.min(options.maxOps, Math.max(options.minOps, wanted));
}

/** Times every case over interleaved rounds; returns samples keyed by case name. */
export function measureInterleaved(cases: readonly BenchCase[], options: MeasureOptions): Map<string, CaseSamples> {
  const names = new Set(cases.map((c) => c.name));
  if (names.size !== cases.length) throw new Error('bench case names must be unique');
  const opsPerRound = cases.map((c) => calibrate(c, options));
  const samples = cases.map(() => [] as number[]);
  const totalRounds = options.warmupRounds + options.rounds;
  for (let round = 0; round < totalRounds; round++) {
    for (let k = 0; k < cases.length; k++) {
      const index = (round + k) % cases.length;
      collectGarbage();
      const ns = timeOnce(cases[index]!, opsPerRound[index]!);
      if (round >= options.warmupRounds) samples[index]!.push(ns / opsPerRound[index]!);
    }
  }
  return new Map(cases.map((c, i) => [c.name, { name: c.name, opsPerRound: opsPerRound[i]!, nsPerOp: samples[i]! }]));
}

/** The value at fraction `q` (0..1) of sorted `values`, interpolated. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const position = (sorted.length - 1) * q;
  const low = Math.floor(position);
  const high = Math.ceil(position);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (position - low);
}

export const median = (values: readonly number[]): number => quantile(values, 0.5);

/** Median over rounds of `ours[r] / peer[r]`: both sides of one round ran well under a second apart, so drift cancels. */
export function pairedRatio(ours: CaseSamples, peer: CaseSamples): number {
  const n = Math.min(ours.nsPerOp.length, peer.nsPerOp.length);
  const ratios: number[] = [];
  for (let r = 0; r < n; r++) ratios.push(ours.nsPerOp[r]! / peer.nsPerOp[r]!);
  return median(ratios);
}
