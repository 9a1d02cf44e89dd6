/**
 * What one telemetry event costs the code that emits it: `execute` with 0, 1 and 3 handlers, a
 * sampled-out event, a prefix-attached handler and a sync `span`, measured in the same process and
 * interleaved with Node's own primitives — `diagnostics_channel` publish (the bar: it is what Node
 * core and undici emit through), `EventEmitter.emit`, and `TracingChannel.traceSync` as the peer of `span`.
 *
 * Every payload is a pre-allocated object, as a real emitter with constant per-pool metadata would
 * hold (STYLE §6), so the numbers are the bus's own cost, not the caller's allocations. Every handler,
 * subscriber and listener is the same tiny function: it counts the delivery and keeps a reference to
 * the payload, so nothing can be optimised away and no side pays for a heavier consumer.
 */
import dc from 'node:diagnostics_channel';
import { EventEmitter } from 'node:events';
import { createTelemetry } from '../src/telemetry/bus.ts';
import { withCorrelation } from '../src/telemetry/correlation.ts';
import { fullPreset, measureInterleaved, pairedRatio, quickPreset, type BenchCase, type CaseSamples } from './lib/measure.ts';
import { summarize } from './lib/report.ts';
import type { Scenario } from './lib/scenario.ts';

// ── the sink every consumer feeds ──────────────────────────────────────────────────────────────
let delivered = 0;
let lastPayload: unknown = null;
const busHandler = (_event: string, measurements: object): void => {
  delivered++;
  lastPayload = measurements;
};
const subscriber = (message: unknown): void => {
  delivered++;
  lastPayload = message;
};
const ignore = (): void => {};

// ── payloads: one shape for every side ─────────────────────────────────────────────────────────
const statusMeasurements = { queue_depth: 3, busy_workers: 2, idle_workers: 0, utilization: 1 };
const poolMetadata = { pool: 'bench' };
const dcMessage = { measurements: statusMeasurements, metadata: poolMetadata };
const spawnedMeasurements = { duration: 1_250_000 };
const workerMetadata = { pool: 'bench', worker_id: 1 };
const callMetadata = { pool: 'bench', worker_id: 1, task: 'resize' };
const task = (): number => 1;
let spanResults = 0;

// ── ours ───────────────────────────────────────────────────────────────────────────────────────
const busNone = createTelemetry();
const busOne = createTelemetry();
busOne.attach('one', 'pool.status', busHandler);
const busThree = createTelemetry();
for (const id of ['a', 'b', 'c']) busThree.attach(id, 'pool.status', busHandler);
const busSampled = createTelemetry();
busSampled.attach('sampled', 'pool.status', busHandler);
busSampled.control.setRule({ pattern: 'pool.status', rate: 0 });
const busPrefix = createTelemetry();
busPrefix.attach('prefix', 'pool.worker.*', busHandler);
const busSpan = createTelemetry();
busSpan.attach('span', 'worker.call.*', busHandler);
const busStamped = createTelemetry();
busStamped.attach('stamped', 'pool.status', busHandler, undefined, { correlation: true });
// Handles: the bus's equivalent of holding a dc channel object — no name lookup per call.
const handleNone = busNone.event('pool.status');
const handleOne = busOne.event('pool.status');

// ── peers ──────────────────────────────────────────────────────────────────────────────────────
const channelNone = dc.channel('pitboss.bench.none');
const channelOne = dc.channel('pitboss.bench.one');
dc.subscribe('pitboss.bench.one', subscriber);
const emitter = new EventEmitter();
emitter.on('pool.status', subscriber);
const tracing = dc.tracingChannel<unknown, { pool: string; worker_id: number; task: string }>('pitboss.bench.call');
tracing.subscribe({ start: subscriber, end: subscriber, asyncStart: ignore, asyncEnd: ignore, error: ignore });

// A running supervisor has entered correlation contexts, which switches AsyncLocalStorage on for the
// whole process (getStore() does real work from then on). Switch it on up front so every case pays
// that, instead of only the cases timed after the first context happened to be entered.
withCorrelation({ correlationId: 'bench-setup' }, () => undefined);

/** A case plus how many deliveries one op must produce, checked before timing so a silent no-op cannot win. */
interface CheckedCase extends BenchCase {
  readonly deliveriesPerOp: number;
}

// Every loop is written out: see lib/measure.ts for why cases must not share a driver loop.
const cases: readonly CheckedCase[] = [
  { name: 'execute_0_handlers', deliveriesPerOp: 0, run: (n) => { for (let i = 0; i < n; i++) busNone.execute('pool.status', statusMeasurements, poolMetadata); } },
  { name: 'execute_1_handler', deliveriesPerOp: 1, run: (n) => { for (let i = 0; i < n; i++) busOne.execute('pool.status', statusMeasurements, poolMetadata); } },
  { name: 'execute_3_handlers', deliveriesPerOp: 3, run: (n) => { for (let i = 0; i < n; i++) busThree.execute('pool.status', statusMeasurements, poolMetadata); } },
  { name: 'execute_sampled_out', deliveriesPerOp: 0, run: (n) => { for (let i = 0; i < n; i++) busSampled.execute('pool.status', statusMeasurements, poolMetadata); } },
  { name: 'execute_prefix_handler', deliveriesPerOp: 1, run: (n) => { for (let i = 0; i < n; i++) busPrefix.execute('pool.worker.spawned', spawnedMeasurements, workerMetadata); } },
  { name: 'execute_1_handler_in_correlation', deliveriesPerOp: 1, run: (n) => withCorrelation({ correlationId: 'bench' }, () => { for (let i = 0; i < n; i++) busOne.execute('pool.status', statusMeasurements, poolMetadata); }) },
  { name: 'execute_1_stamping_handler_in_correlation', deliveriesPerOp: 1, run: (n) => withCorrelation({ correlationId: 'bench' }, () => { for (let i = 0; i < n; i++) busStamped.execute('pool.status', statusMeasurements, poolMetadata); }) },
  { name: 'handle_execute_0_handlers', deliveriesPerOp: 0, run: (n) => { for (let i = 0; i < n; i++) handleNone.execute(statusMeasurements, poolMetadata); } },
  { name: 'handle_execute_1_handler', deliveriesPerOp: 1, run: (n) => { for (let i = 0; i < n; i++) handleOne.execute(statusMeasurements, poolMetadata); } },
  { name: 'span_sync_1_handler', deliveriesPerOp: 2, run: (n) => { for (let i = 0; i < n; i++) spanResults += busSpan.span('worker.call', callMetadata, task); } },
  { name: 'dc_publish_0_subscribers', deliveriesPerOp: 0, run: (n) => { for (let i = 0; i < n; i++) channelNone.publish(dcMessage); } },
  { name: 'dc_publish_1_subscriber', deliveriesPerOp: 1, run: (n) => { for (let i = 0; i < n; i++) channelOne.publish(dcMessage); } },
  { name: 'event_emitter_emit_1_listener', deliveriesPerOp: 1, run: (n) => { for (let i = 0; i < n; i++) emitter.emit('pool.status', statusMeasurements, poolMetadata); } },
  // A tracing context is per-call state (it receives `result`), so callers allocate one per call.
  { name: 'dc_tracing_sync_1_subscriber', deliveriesPerOp: 2, run: (n) => { for (let i = 0; i < n; i++) spanResults += tracing.traceSync(task, { pool: 'bench', worker_id: 1, task: 'resize' }); } },
];

function checkDeliveries(): void {
  const ops = 1_000;
  for (const c of cases) {
    const before = delivered;
    c.run(ops);
    const got = delivered - before;
    if (got !== c.deliveriesPerOp * ops) throw new Error(`${c.name}: expected ${c.deliveriesPerOp * ops} deliveries for ${ops} ops, got ${got}`);
  }
}

const scenario: Scenario = {
  name: 'telemetry-overhead',
  description: 'ns per event: bus execute/span vs diagnostics_channel and EventEmitter',
  targets: [
    { key: 'vs_dc_publish_1', op: '<=', value: 2.0, goal: 1.5 },
    { key: 'no_handler_vs_dc_publish_1', op: '<=', value: 0.5 },
  ],
  async run({ quick }) {
    checkDeliveries();
    const samples = measureInterleaved(cases, quick ? quickPreset : fullPreset);
    if (lastPayload === null || spanResults === 0) throw new Error('sink never written: the loops did not run');
    const s = (name: string): CaseSamples => samples.get(name)!;
    const { rows, stats } = summarize(samples);
    return {
      rows,
      stats,
      ratios: {
        vs_dc_publish_1: pairedRatio(s('execute_1_handler'), s('dc_publish_1_subscriber')),
        // An unheard event through its handle (like a dc channel object): a no-op call.
        no_handler_vs_dc_publish_1: pairedRatio(s('handle_execute_0_handlers'), s('dc_publish_1_subscriber')),
        // The same through execute(name): the handle plus one Map lookup by name.
        by_name_no_handler_vs_dc_publish_1: pairedRatio(s('execute_0_handlers'), s('dc_publish_1_subscriber')),
        handle_vs_dc_publish_1: pairedRatio(s('handle_execute_1_handler'), s('dc_publish_1_subscriber')),
        stamping_vs_plain_in_correlation: pairedRatio(s('execute_1_stamping_handler_in_correlation'), s('execute_1_handler_in_correlation')),
        sampled_out_vs_dc_publish_1: pairedRatio(s('execute_sampled_out'), s('dc_publish_1_subscriber')),
        prefix_vs_exact: pairedRatio(s('execute_prefix_handler'), s('execute_1_handler')),
        three_vs_one_handler: pairedRatio(s('execute_3_handlers'), s('execute_1_handler')),
        in_correlation_vs_plain: pairedRatio(s('execute_1_handler_in_correlation'), s('execute_1_handler')),
        vs_event_emitter_1: pairedRatio(s('execute_1_handler'), s('event_emitter_emit_1_listener')),
        span_vs_tracing_channel: pairedRatio(s('span_sync_1_handler'), s('dc_tracing_sync_1_subscriber')),
      },
      notes: [
        'payloads are pre-allocated constants (a real emitter with fixed per-pool metadata); dc publishes one {measurements, metadata} object',
        'correlation storage (AsyncLocalStorage) is enabled, as in a running supervisor; only *_in_correlation runs inside a context',
        'dc_publish_0_subscribers is an inlined no-op call: it is the loop floor, not a realistic bar',
        `sink: ${delivered} deliveries, span results ${spanResults}`,
      ],
    };
  },
};

export default scenario;
