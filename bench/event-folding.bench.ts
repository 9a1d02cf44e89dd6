/**
 * Events per second from a worker thread to a handler on the supervisor's bus: our transport (events
 * encoded into Float64Array batches with a per-batch string table, decoded and re-executed on the
 * supervisor) against the obvious alternative, a Worker that posts arrays of 1024 event objects
 * `{ name, measurements, metadata }` for the main thread to iterate — both in one process, rounds
 * interleaved.
 *
 * One round is one burst: ours runs workers/faults.ts `{ kind: 'burst', count: N }` (N `action.stop`
 * events from `ctx.emit`), the baseline builds the same N events with the same metadata the handler
 * receives from us (pool, worker_id, action, status). A round ends when all N events reached the
 * handler; both sides' handlers are the same few lines and every round checks the count.
 *
 * The headline uses a transport with room for a whole burst in flight (maxPendingBatches ≥ N/1024), so
 * no event is dropped and both sides deliver everything; drops with the default transport are
 * reported on their own, since dropping under load is what the default is for.
 */
import { Worker } from 'node:worker_threads';
import { measureAsyncInterleaved, pairedMedian, RowSet, type AsyncBenchCase } from './lib/async-measure.ts';
import { benchWorker, distWorker, dropFlagsWorkersReject, ensureBuilt, loadPitboss, threadExecArgv, type DistBuild, type Pitboss } from './lib/dist.ts';
import type { Scenario } from './lib/scenario.ts';

const eventsPerBurst = 100_000;
const batchEvents = 1024;
/** Room for every batch of a burst in flight at once: the headline measures speed, not back-pressure. */
const headlineTransport = { batchEvents, maxPendingBatches: Math.ceil(eventsPerBurst / batchEvents) + 1, flushIntervalMs: 50 };
const defaultTransport = { batchEvents: 1024, maxPendingBatches: 16, flushIntervalMs: 50 };

// ── the handlers: the same body on both sides, written twice so each call site keeps its own feedback ──
let oursDelivered = 0;
let oursSum = 0;
let oursLast: unknown = null;
const oursHandler = (_event: string, measurements: Readonly<Record<string, number>>, metadata: unknown): void => {
  oursDelivered++;
  oursSum += measurements.duration!;
  oursLast = metadata;
};
let baselineDelivered = 0;
let baselineSum = 0;
let baselineLast: unknown = null;
const baselineHandler = (_event: string, measurements: Readonly<Record<string, number>>, metadata: unknown): void => {
  baselineDelivered++;
  baselineSum += measurements.duration!;
  baselineLast = metadata;
};

/** Every event of a burst arrived, each once: the count and the sum of durations 0 … N-1. */
function checkBurst(side: string, delivered: number, durationSum: number): void {
  const expectedSum = (eventsPerBurst * (eventsPerBurst - 1)) / 2;
  if (delivered !== eventsPerBurst || durationSum !== expectedSum) {
    throw new Error(`${side}: ${delivered} of ${eventsPerBurst} events delivered (duration sum ${durationSum}, expected ${expectedSum})`);
  }
}

interface BurstSide {
  readonly burst: () => Promise<void>;
  /** Thread-side nanoseconds per event of the last burst (the emit loop, posting included). */
  readonly emitNsPerEvent: () => number;
  readonly close: () => Promise<void>;
}

async function ourPool(api: Pitboss, build: DistBuild, name: string, transport: typeof headlineTransport): Promise<BurstSide & { dropped: () => number; delivered: () => number }> {
  const bus = api.createTelemetry();
  bus.attach('bench.fold', 'action.stop', oursHandler);
  let emitNs = 0;
  // The burst task's own span: its duration is the thread's time to emit all N events.
  bus.attach('bench.emit-time', 'worker.call.stop', (_event, measurements) => {
    emitNs = measurements.duration ?? 0;
  });
  const pool = new api.Pool({ name, worker: distWorker(build, 'faults'), threads: 1, telemetry: bus, transport });
  await pool.start();
  let delivered = 0;
  const dropped = (): number => Object.values(bus.dropped()).reduce((a, b) => a + b, 0);
  return {
    burst: async () => {
      const before = { delivered: oursDelivered, sum: oursSum };
      await pool.run({ kind: 'burst', count: eventsPerBurst });
      // The pool settles a task only after the batches its thread posted during it were delivered.
      if (transport === headlineTransport) checkBurst(name, oursDelivered - before.delivered, oursSum - before.sum);
      delivered += oursDelivered - before.delivered;
    },
    emitNsPerEvent: () => emitNs / eventsPerBurst,
    close: () => pool.close(),
    dropped,
    delivered: () => delivered,
  };
}

async function batchedPostMessage(build: DistBuild): Promise<BurstSide> {
  const worker = new Worker(benchWorker('event-batches'), { execArgv: await threadExecArgv(build) });
  let emitNs = 0;
  let settle: ((error?: Error) => void) | null = null;
  let before = { delivered: 0, sum: 0 };
  worker.on('message', (message: { name: string; measurements: Record<string, number>; metadata: unknown }[] | { done: number; emitNs: number }) => {
    if (Array.isArray(message)) {
      for (let i = 0; i < message.length; i++) {
        const e = message[i]!;
        baselineHandler(e.name, e.measurements, e.metadata);
      }
      return;
    }
    // Same port, so every array of the burst was handled before this message.
    emitNs = message.emitNs;
    try {
      checkBurst('batched_postmessage', baselineDelivered - before.delivered, baselineSum - before.sum);
      settle?.();
    } catch (error) {
      settle?.(error as Error);
    }
  });
  return {
    burst: () => new Promise<void>((resolve, reject) => {
      settle = (error) => (error === undefined ? resolve() : reject(error));
      before = { delivered: baselineDelivered, sum: baselineSum };
      worker.postMessage({ count: eventsPerBurst, batch: batchEvents, pool: 'bench-fold', workerId: 0 });
    }),
    emitNsPerEvent: () => emitNs / eventsPerBurst,
    close: async () => {
      await worker.terminate();
    },
  };
}

const scenario: Scenario = {
  name: 'event-folding',
  description: `events/s thread → supervisor handler: binary batches vs batched postMessage of event objects (${eventsPerBurst / 1000}k per burst)`,
  targets: [{ key: 'vs_batched_postmessage', op: '>=', value: 2.0 }],
  async run({ quick }) {
    const build = ensureBuilt();
    dropFlagsWorkersReject();
    const api = await loadPitboss(build);
    const closers: (() => Promise<void>)[] = [];
    try {
      const ours = await ourPool(api, build, 'bench-fold', headlineTransport);
      closers.push(ours.close);
      const baseline = await batchedPostMessage(build);
      closers.push(baseline.close);
      const emitNs = { ours: [] as number[], baseline: [] as number[] };
      const cases: AsyncBenchCase[] = [
        { name: 'ours_binary_batches', run: async () => { await ours.burst(); emitNs.ours.push(ours.emitNsPerEvent()); } },
        { name: 'batched_postmessage', run: async () => { await baseline.burst(); emitNs.baseline.push(baseline.emitNsPerEvent()); } },
      ];
      const rounds = quick ? 3 : 15;
      const warmupRounds = quick ? 1 : 2;
      const samples = await measureAsyncInterleaved(cases, { rounds, warmupRounds, opsPerRound: eventsPerBurst });
      const headlineDrops = ours.dropped();
      if (JSON.stringify(oursLast) !== JSON.stringify(baselineLast)) {
        throw new Error(`the handlers saw different metadata: ours ${JSON.stringify(oursLast)}, baseline ${JSON.stringify(baselineLast)}`);
      }

      // The default transport, untimed: how much of a burst it sheds when the supervisor falls behind.
      const defaults = await ourPool(api, build, 'bench-fold-defaults', defaultTransport);
      closers.push(defaults.close);
      const defaultBursts = quick ? 1 : 3;
      for (let i = 0; i < defaultBursts; i++) await defaults.burst();

      const s = (name: string) => samples.get(name)!;
      const out = new RowSet();
      for (const c of cases) out.add(c.name, 'events/s', s(c.name).nsPerOp.map((ns) => 1e9 / ns), eventsPerBurst);
      // The first warm-up bursts are dropped, as the harness drops their timings.
      out.add('ours_binary_batches_thread_emit', 'ns/event', emitNs.ours.slice(warmupRounds), eventsPerBurst);
      out.add('batched_postmessage_thread_emit', 'ns/event', emitNs.baseline.slice(warmupRounds), eventsPerBurst);
      for (const c of cases) out.add(`${c.name}_cpu`, 'ns/event', s(c.name).cpuNsPerOp, eventsPerBurst);
      out.addValue('ours_dropped_headline', 'events', headlineDrops);
      out.addValue('ours_default_transport_dropped_per_burst', 'events', defaults.dropped() / defaultBursts);
      out.addValue('ours_default_transport_delivered_per_burst', 'events', defaults.delivered() / defaultBursts);
      return {
        rows: out.rows,
        stats: out.stats,
        ratios: {
          vs_batched_postmessage: pairedMedian(s('batched_postmessage').nsPerOp, s('ours_binary_batches').nsPerOp, (b, o) => b / o),
          thread_emit_vs_batched_postmessage: pairedMedian(emitNs.ours.slice(warmupRounds), emitNs.baseline.slice(warmupRounds), (o, b) => o / b),
          cpu_per_event_vs_batched_postmessage: pairedMedian(s('ours_binary_batches').cpuNsPerOp, s('batched_postmessage').cpuNsPerOp, (o, b) => o / b),
        },
        notes: [
          build.note,
          `one thread per side, ${eventsPerBurst} events per burst; a round ends when the handler has all of them (checked every round)`,
          `headline transport ${JSON.stringify(headlineTransport)}: room for a whole burst in flight, so nothing is dropped (ours_dropped_headline)`,
          `default transport ${JSON.stringify(defaultTransport)} measured untimed over ${defaultBursts} burst(s): drops there are back-pressure, by design`,
          'ours: every event sampled (no rules); thread_emit is the burst task\'s worker.call.stop duration / N; the baseline times its own loop, posts included',
          '*_cpu rows are process CPU (both threads) per event',
        ],
      };
    } finally {
      for (const close of closers.reverse()) await close();
    }
  },
};

export default scenario;
