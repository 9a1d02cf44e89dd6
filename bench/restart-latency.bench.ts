/**
 * How long a pool slot is empty after its thread crashes: from the thread's exit (the supervisor's
 * `pool.worker.terminated`) to the replacement's `pool.worker.spawned` (its hello: runtime and worker
 * module loaded, ready for tasks). The peer is the floor for any thread pool: `new Worker(file)` of a
 * plain-JS worker that imports the same worker module and posts 'ready'.
 *
 * Ours pays piscina's thread bootstrap, the pool runtime (telemetry bus, encoder, shared control) and
 * the slot handshake on top of the floor. Samples alternate between the two sides and both are
 * reported as medians; the crash is workers/faults.ts `{ kind: 'exit' }` (process.exit in the thread),
 * counted against an intensity set high enough never to trip.
 */
import { Worker } from 'node:worker_threads';
import { pairedMedian, RowSet } from './lib/async-measure.ts';
import { benchWorker, distWorker, dropFlagsWorkersReject, ensureBuilt, loadPitboss, threadExecArgv } from './lib/dist.ts';
import type { Scenario } from './lib/scenario.ts';

interface RestartSample {
  readonly exitToReady: number;
  readonly submitToReady: number;
  /** The pool's own `pool.worker.restarted` downtime, as a cross-check of our timestamps. */
  readonly reportedDowntime: number;
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

const scenario: Scenario = {
  name: 'restart-latency',
  description: 'ms from a crashed thread\'s exit to its replacement ready, vs a raw Worker spawn to ready',
  targets: [{ key: 'vs_raw_spawn', op: '<=', value: 1.5 }],
  async run({ quick }) {
    const build = ensureBuilt();
    dropFlagsWorkersReject();
    const { Pool, createTelemetry } = await loadPitboss(build);
    const faultsModule = distWorker(build, 'faults');
    const execArgv = await threadExecArgv(build);
    const samples = quick ? 3 : 20;
    const warmup = quick ? 1 : 2;

    const bus = createTelemetry();
    let exitedAt = 0;
    let readyAt = 0;
    let downtimeNs = 0;
    let whenReady: (() => void) | null = null;
    bus.attach('bench.exit', 'pool.worker.terminated', () => {
      exitedAt = performance.now();
    });
    bus.attach('bench.spawned', 'pool.worker.spawned', () => {
      readyAt = performance.now();
      whenReady?.();
    });
    bus.attach('bench.restarted', 'pool.worker.restarted', (_event, measurements) => {
      downtimeNs = measurements.downtime ?? 0;
    });
    const pool = new Pool({
      name: 'bench-restart', worker: faultsModule, threads: 1, telemetry: bus,
      intensity: { maxRestarts: 10_000, periodMs: 60_000 }, onLog: () => {},
    });
    await pool.start();

    const crashOurs = async (): Promise<RestartSample> => {
      const ready = new Promise<void>((resolve) => {
        whenReady = resolve;
      });
      const submitted = performance.now();
      const outcome = pool.run({ kind: 'exit' }).then(() => 'resolved', (error: unknown) => (error as { code?: string }).code ?? String(error));
      await ready;
      whenReady = null;
      const code = await outcome;
      if (code !== 'PITBOSS_WORKER_CRASHED') throw new Error(`crash task settled with ${code}, expected PITBOSS_WORKER_CRASHED`);
      // The spawned handler ran inside the supervisor's hello handling; let it finish before the next crash.
      await nextTurn();
      return { exitToReady: readyAt - exitedAt, submitToReady: readyAt - submitted, reportedDowntime: downtimeNs / 1e6 };
    };

    const spawnRaw = async (): Promise<number> => {
      const started = performance.now();
      const worker = new Worker(benchWorker('ready'), { workerData: { module: faultsModule }, execArgv });
      await new Promise<void>((resolve, reject) => {
        worker.once('message', () => resolve());
        worker.once('error', reject);
      });
      const elapsed = performance.now() - started;
      await worker.terminate();
      return elapsed;
    };

    const ours: RestartSample[] = [];
    const raw: number[] = [];
    // piscina unrefs its threads, so while a replacement boots nothing would keep this process alive
    // (it would exit with an unsettled await); a server holding the pool has its own handles.
    const keepAlive = setInterval(() => {}, 1000);
    try {
      for (let i = 0; i < warmup + samples; i++) {
        // Alternate which side goes first, so neither always follows the other's teardown.
        let restart: RestartSample;
        let spawn: number;
        if (i % 2 === 0) {
          restart = await crashOurs();
          spawn = await spawnRaw();
        } else {
          spawn = await spawnRaw();
          restart = await crashOurs();
        }
        if (i < warmup) continue;
        ours.push(restart);
        raw.push(spawn);
      }
      const answer = await pool.run({ kind: 'ok', value: 'still serving' });
      if (answer !== 'still serving') throw new Error(`pool after ${warmup + samples} restarts answered ${String(answer)}`);
    } finally {
      await pool.close();
      clearInterval(keepAlive);
    }

    const out = new RowSet();
    const exitToReady = ours.map((s) => s.exitToReady);
    out.add('ours_exit_to_ready', 'ms', exitToReady, 1);
    out.add('ours_submit_to_ready', 'ms', ours.map((s) => s.submitToReady), 1);
    out.add('ours_reported_downtime', 'ms', ours.map((s) => s.reportedDowntime), 1);
    out.add('raw_worker_spawn_to_ready', 'ms', raw, 1);
    return {
      rows: out.rows,
      stats: out.stats,
      ratios: {
        vs_raw_spawn: pairedMedian(exitToReady, raw, (o, r) => o / r),
        submit_vs_raw_spawn: pairedMedian(ours.map((s) => s.submitToReady), raw, (o, r) => o / r),
      },
      notes: [
        build.note,
        `${samples} restarts and ${samples} raw spawns (after ${warmup} of each as warm-up), alternating; rows are medians`,
        'exit_to_ready: pool.worker.terminated → pool.worker.spawned on the supervisor bus; submit_to_ready adds the crash task\'s dispatch and the thread\'s teardown',
        'reported_downtime is the pool\'s own pool.worker.restarted downtime (from its exit handling to the hello)',
        'raw: new Worker(bench/workers/ready.mjs) importing dist/workers/faults.js → first message; the same execArgv as pool threads',
      ],
    };
  },
};

export default scenario;
