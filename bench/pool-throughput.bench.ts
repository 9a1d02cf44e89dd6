/**
 * Tasks per second through a supervised `Pool` against raw piscina, the engine it wraps, in the same
 * process with rounds interleaved: what supervision, the pool's own queue, the slot table and full
 * telemetry (every event sampled, a handler on '*') cost per task.
 *
 * Both sides get the same thread count, piscina options (one task per thread, 'async' atomics as
 * src/pool/engine/core.ts sets), the same flags for their threads, and the same number of tasks in flight
 * (threads × 4, refilled as each settles). Two tasks: a no-op (the pure per-task overhead, the worst
 * case for us) and a small SHA-256 job (workers/hash.ts) where that overhead is amortised. Our side
 * runs the dist/ build and its worker modules; piscina runs plain-JS peers from bench/workers.
 *
 * Our pools run at their defaults, chunked dispatch included (src/pool/engine/chunks.ts: queued short tasks
 * go to a free thread several at a time). A third no-op case turns chunking off, so the report also
 * shows the per-task cost of one piscina task per pool task (`vs_raw_piscina_noop_unchunked`).
 */
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { measureAsyncInterleaved, pairedMedian, RowSet, type AsyncBenchCase, type AsyncMeasureOptions } from './lib/async-measure.ts';
import { benchWorker, distWorker, dropFlagsWorkersReject, ensureBuilt, loadPitboss, threadExecArgv, type DistBuild } from './lib/dist.ts';
import type { Scenario } from './lib/scenario.ts';

/** At most 4 threads: beyond that a small CI machine measures its scheduler, not the pool. */
const threads = Math.max(1, Math.min(4, availableParallelism()));
const inFlight = threads * 4;
/** ~50 µs of CPU per task here: small enough that per-task overhead still shows, large enough to be work. */
const hashSize = { sizeKiB: 8, rounds: 2 };

const fullRun: AsyncMeasureOptions = { rounds: 11, warmupRounds: 2, roundTargetMs: 250, minOps: 500, maxOps: 200_000 };
const quickRun: AsyncMeasureOptions = { rounds: 3, warmupRounds: 1, roundTargetMs: 100, minOps: 200, maxOps: 50_000 };

/** Keeps `inFlight` tasks submitted until `ops` have settled; any rejection fails the round. */
function slidingWindow(submit: (i: number) => Promise<unknown>): (ops: number) => Promise<void> {
  return (ops) => new Promise((resolve, reject) => {
    let submitted = 0;
    let settled = 0;
    const launch = (): void => {
      submitted++;
      submit(submitted).then(next, reject);
    };
    const next = (): void => {
      settled++;
      if (submitted < ops) launch();
      else if (settled === ops) resolve();
    };
    while (submitted < Math.min(inFlight, ops)) launch();
  });
}

interface Side {
  readonly run: (input: unknown) => Promise<unknown>;
  readonly close: () => Promise<void>;
  /** Events delivered to the '*' handler and worker.call.stop among them (0 for raw piscina). */
  readonly events: () => { all: number; stops: number };
}

async function ourPool(build: DistBuild, worker: 'noop' | 'hash', chunkMaxTasks = 8): Promise<Side & { dispatched: () => { single: number; chunks: number; chunkedTasks: number } }> {
  const { Pool, createTelemetry } = await loadPitboss(build);
  const bus = createTelemetry();
  let all = 0;
  let stops = 0;
  bus.attach('bench.count', '*', (event) => {
    all++;
    if (event === 'worker.call.stop') stops++;
  });
  // Every option a user might tune is spelled out at its default, so the JSON records what ran.
  const pool = new Pool({
    name: `bench-${worker}`, worker: distWorker(build, worker), threads, telemetry: bus, statusIntervalMs: 5000, sampleIntervalMs: 5000,
    transport: { batchEvents: 1024, maxPendingBatches: 16, flushIntervalMs: 50 }, chunking: { maxTasks: chunkMaxTasks, maxTaskMs: 1 },
  });
  await pool.start();
  return { run: (input) => pool.run(input), close: () => pool.close(), events: () => ({ all, stops }), dispatched: () => pool.dispatched };
}

async function rawPiscina(build: DistBuild, worker: 'noop' | 'hash'): Promise<Side> {
  const piscina = new Piscina({
    filename: benchWorker(worker), minThreads: threads, maxThreads: threads, idleTimeout: Number.POSITIVE_INFINITY,
    concurrentTasksPerWorker: 1, atomics: 'async', execArgv: await threadExecArgv(build), workerData: { hashModule: distWorker(build, 'hash') },
  });
  return { run: (input) => piscina.run(input) as Promise<unknown>, close: () => piscina.destroy(), events: () => ({ all: 0, stops: 0 }) };
}

/** Proves each side does the work it claims before anything is timed: same answers, one stop event per task. */
async function check(sides: Record<string, Side>): Promise<void> {
  for (const i of [1, 2, 3]) {
    const ours = await sides.noop_ours!.run(i);
    const raw = await sides.noop_raw_piscina!.run(i);
    if (ours !== i || raw !== i) throw new Error(`noop: expected ${i}, got ours ${String(ours)} raw ${String(raw)}`);
    const input = { seed: i, ...hashSize };
    const [a, b] = [await sides.cpu_ours!.run(input), await sides.cpu_raw_piscina!.run(input)] as { digest: string }[];
    if (a?.digest === undefined || a.digest !== b?.digest) throw new Error(`hash: digests differ for seed ${i}`);
  }
  for (const name of ['noop_ours', 'noop_ours_unchunked', 'cpu_ours']) {
    const side = sides[name]!;
    const before = side.events().stops;
    await slidingWindow((i) => side.run(name.startsWith('noop') ? i : { seed: i, ...hashSize }))(200);
    const stops = side.events().stops - before;
    if (stops !== 200) throw new Error(`${name}: 200 tasks delivered ${stops} worker.call.stop events to the handler`);
  }
}

const scenario: Scenario = {
  name: 'pool-throughput',
  description: 'tasks/s: supervised Pool (telemetry on, handler on *) vs raw piscina, noop and small hash tasks',
  targets: [{ key: 'vs_raw_piscina', op: '>=', value: 0.9 }],
  async run({ quick }) {
    const build = ensureBuilt();
    dropFlagsWorkersReject();
    const sides: Record<string, Side> = {};
    try {
      const noopOurs = await ourPool(build, 'noop');
      const cpuOurs = await ourPool(build, 'hash');
      sides.noop_ours = noopOurs;
      sides.noop_ours_unchunked = await ourPool(build, 'noop', 1);
      sides.noop_raw_piscina = await rawPiscina(build, 'noop');
      sides.cpu_ours = cpuOurs;
      sides.cpu_raw_piscina = await rawPiscina(build, 'hash');
      await check(sides);
      // Events the handler saw per task, over every round of a case (calibration and warm-up included).
      const tally = new Map<string, { tasks: number; events: number }>();
      const cases: AsyncBenchCase[] = Object.entries(sides).map(([name, side]) => {
        const drive = slidingWindow(name.startsWith('noop') ? (i) => side.run(i) : (i) => side.run({ seed: i, ...hashSize }));
        const counted = { tasks: 0, events: 0 };
        tally.set(name, counted);
        return {
          name,
          run: async (ops: number) => {
            const before = side.events().all;
            await drive(ops);
            counted.tasks += ops;
            counted.events += side.events().all - before;
          },
        };
      });
      const samples = await measureAsyncInterleaved(cases, quick ? quickRun : fullRun);
      const s = (name: string) => samples.get(name)!;
      const out = new RowSet();
      for (const c of cases) out.add(c.name, 'tasks/s', s(c.name).nsPerOp.map((ns) => 1e9 / ns), s(c.name).opsPerRound);
      for (const c of cases) out.add(`${c.name}_cpu`, 'µs/task', s(c.name).cpuNsPerOp.map((ns) => ns / 1000), s(c.name).opsPerRound);
      for (const name of ['noop_ours', 'noop_ours_unchunked', 'cpu_ours']) out.addValue(`${name}_events_per_task`, 'events', tally.get(name)!.events / tally.get(name)!.tasks);
      for (const [name, side] of [['noop_ours', noopOurs], ['cpu_ours', cpuOurs]] as const) {
        const { single, chunks, chunkedTasks } = side.dispatched();
        out.addValue(`${name}_chunked_share`, 'tasks', chunkedTasks / (single + chunkedTasks));
        out.addValue(`${name}_tasks_per_chunk`, 'tasks', chunks === 0 ? 0 : chunkedTasks / chunks);
      }
      const speed = (peer: string, ours: string): number => pairedMedian(s(peer).nsPerOp, s(ours).nsPerOp, (p, o) => p / o);
      const cpuCost = (ours: string, peer: string): number => pairedMedian(s(ours).cpuNsPerOp, s(peer).cpuNsPerOp, (o, p) => o / p);
      const noop = speed('noop_raw_piscina', 'noop_ours');
      const cpu = speed('cpu_raw_piscina', 'cpu_ours');
      const unchunked = speed('noop_raw_piscina', 'noop_ours_unchunked');
      return {
        rows: out.rows,
        stats: out.stats,
        ratios: {
          // The headline is the worse of the two: a no-op shows the full per-task overhead.
          vs_raw_piscina: Math.min(noop, cpu),
          vs_raw_piscina_noop: noop,
          vs_raw_piscina_cpu: cpu,
          // Not the headline: chunking is on by default; this is the cost of one piscina task per pool task.
          vs_raw_piscina_noop_unchunked: unchunked,
          cpu_per_task_noop_vs_raw: cpuCost('noop_ours', 'noop_raw_piscina'),
          cpu_per_task_cpu_vs_raw: cpuCost('cpu_ours', 'cpu_raw_piscina'),
        },
        notes: [
          build.note,
          `${threads} threads per pool (machine: ${availableParallelism()} cores), ${inFlight} tasks in flight, piscina atomics 'async', one piscina task per thread at a time`,
          'ours at its defaults: chunked dispatch (chunking.maxTasks 8, maxTaskMs 1) sends queued short tasks to a free thread several per piscina task; *_chunked_share and *_tasks_per_chunk say how many went that way; noop_ours_unchunked runs with chunking.maxTasks 1',
          `cpu task: workers/hash.ts with ${JSON.stringify(hashSize)}; the raw peer calls the same functions from the same build`,
          'ours: every event sampled (no rules), one counting handler on "*"; raw piscina emits nothing',
          'vs_raw_piscina = min(noop, cpu) of ours/raw tasks/s, each a median of per-round pairs; *_cpu rows are process CPU (all threads) per task',
          'events_per_task: events the "*" handler received per task, over every round of the case',
        ],
      };
    } finally {
      for (const side of Object.values(sides)) await side.close();
    }
  },
};

export default scenario;
