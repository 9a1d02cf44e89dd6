/**
 * What folding one event into metrics costs: `job.stop` through the bus into the default inventory
 * (`pitboss.job.duration` histogram + `pitboss.jobs` counter, 3 labels: queue, job_name, status),
 * against the OTel SDK used directly — `histogram.record(v, attrs)` + `counter.add(1, attrs)` with the
 * same 3 attributes on a MeterProvider with a PrometheusExporter reader — measured interleaved.
 *
 * Inputs rotate: 64 metadata objects over 6 label sets (2 queues × 3 job names, distinct job ids, as
 * the consumer builds one object per event) and 16 durations spread over the buckets, so neither
 * side can ride a one-entry cache. The direct peer gets its attribute objects pre-built (its best
 * case); `otel_from_bus_handler` is what a plain handler would do: build them from metadata per event.
 * Before timing, both sides fold the same 6 000 events and must render identical Prometheus samples;
 * after timing, each side's count must equal the ops it ran.
 */
import type { Attributes, Counter, Histogram } from '@opentelemetry/api';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { createMetrics, type Metrics } from '../src/metrics/index.ts';
import { secondsBuckets } from '../src/metrics/units.ts';
import { createTelemetry, type Telemetry } from '../src/telemetry/bus.ts';
import { fullPreset, measureInterleaved, pairedRatio, quickPreset, type BenchCase, type CaseSamples } from './lib/measure.ts';
import { summarize } from './lib/report.ts';
import type { Scenario } from './lib/scenario.ts';

// ── inputs, shared by every side ────────────────────────────────────────────────────────────────
const queues = ['email', 'billing'];
const jobNames = ['send', 'charge', 'refund'];
const metadata = Array.from({ length: 64 }, (_, i) => ({
  queue: queues[i % 2]!, job_name: jobNames[i % 3]!, job_id: String(100_000 + i), correlation_id: `c-${i}`, status: 'completed',
}));
const attributes: Attributes[] = metadata.map((md) => ({ queue: md.queue, job_name: md.job_name, status: md.status }));
const measurements = Array.from({ length: 16 }, (_, i) => ({ duration: Math.round(3e6 * 1.7 ** i), queue_time: 1e6, attempt: 1 }));
const durationsS = measurements.map((m) => m.duration / 1e9);

// ── ours: the bus and the fold ──────────────────────────────────────────────────────────────────
interface Ours { readonly bus: Telemetry; readonly metrics: Metrics }
function ours(): Ours {
  const bus = createTelemetry();
  return { bus, metrics: createMetrics({ telemetry: bus, otlp: false }) };
}

// ── peer: the OTel SDK, instruments created once, a Prometheus reader attached ───────────────────
interface Direct { readonly reader: PrometheusExporter; readonly histogram: Histogram; readonly counter: Counter }
function direct(): Direct {
  const reader = new PrometheusExporter({ preventServerStart: true });
  const meter = new MeterProvider({ readers: [reader] }).getMeter('pitboss');
  return {
    reader,
    histogram: meter.createHistogram('pitboss.job.duration', { unit: 's', advice: { explicitBucketBoundaries: [...secondsBuckets] } }),
    counter: meter.createCounter('pitboss.jobs'),
  };
}

const foldSide = ours();
const directSide = direct();
const handlerSide = direct();
const handlerBus = createTelemetry();
handlerBus.attach('otel', 'job.stop', (_event, m, md) => {
  const attrs = { queue: md.queue, job_name: md.job_name, status: md.status } as Attributes;
  handlerSide.histogram.record(m.duration! / 1e9, attrs);
  handlerSide.counter.add(1, attrs);
});
const noopBus = createTelemetry();
let noopDeliveries = 0;
noopBus.attach('noop', 'job.stop', () => {
  noopDeliveries++;
});

const ops = { fold: 0, direct: 0, handler: 0 };
// Every loop is written out: see lib/measure.ts for why cases must not share a driver loop.
const cases: readonly BenchCase[] = [
  { name: 'fold_via_bus', run: (n) => { ops.fold += n; const bus = foldSide.bus; for (let i = 0; i < n; i++) bus.execute('job.stop', measurements[i & 15]!, metadata[i & 63]!); } },
  { name: 'otel_direct', run: (n) => { ops.direct += n; const { histogram, counter } = directSide; for (let i = 0; i < n; i++) { const a = attributes[i & 63]!; histogram.record(durationsS[i & 15]!, a); counter.add(1, a); } } },
  { name: 'otel_from_bus_handler', run: (n) => { ops.handler += n; for (let i = 0; i < n; i++) handlerBus.execute('job.stop', measurements[i & 15]!, metadata[i & 63]!); } },
  { name: 'bus_noop_handler', run: (n) => { for (let i = 0; i < n; i++) noopBus.execute('job.stop', measurements[i & 15]!, metadata[i & 63]!); } },
];

// ── checks: the same events give the same samples; every timed op was recorded ──────────────────
const serializer = new PrometheusSerializer(undefined, false, undefined, true, true);
const samplesOf = (text: string): string[] => text.split('\n').filter((l) => /^pitboss_(job_duration|jobs)_/.test(l)).sort();
async function directText(side: Direct): Promise<string> {
  return serializer.serialize((await side.reader.collect()).resourceMetrics);
}
async function oursText(side: Ours): Promise<string> {
  return (await side.metrics.scrape()).body.replace(/,?otel_scope_name="pitboss"/g, '').replace(/\{\}/g, '');
}
const total = (lines: readonly string[], prefix: string): number =>
  lines.filter((l) => l.startsWith(prefix)).reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);

async function checkSameSamples(): Promise<void> {
  const a = ours();
  const b = direct();
  for (let i = 0; i < 6_000; i++) {
    a.bus.execute('job.stop', measurements[i & 15]!, metadata[i & 63]!);
    b.histogram.record(durationsS[i & 15]!, attributes[i & 63]!);
    b.counter.add(1, attributes[i & 63]!);
  }
  const left = samplesOf(await oursText(a));
  const right = samplesOf(await directText(b));
  if (left.length === 0 || left.join('\n') !== right.join('\n')) {
    const diff = left.filter((l) => !right.includes(l)).slice(0, 3);
    throw new Error(`fold and OTel disagree on the same 6000 events (${left.length} vs ${right.length} samples), e.g. ${diff.join(' | ')}`);
  }
  await a.metrics.shutdown();
}

async function checkTotals(): Promise<string> {
  const fold = samplesOf(await oursText(foldSide));
  const peer = samplesOf(await directText(directSide));
  const handler = samplesOf(await directText(handlerSide));
  const checks: [string, number, number][] = [
    ['fold pitboss_jobs_total', total(fold, 'pitboss_jobs_total'), ops.fold],
    ['fold pitboss_job_duration_count', total(fold, 'pitboss_job_duration_count'), ops.fold],
    ['direct pitboss_jobs_total', total(peer, 'pitboss_jobs_total'), ops.direct],
    ['direct pitboss_job_duration_count', total(peer, 'pitboss_job_duration_count'), ops.direct],
    ['handler pitboss_jobs_total', total(handler, 'pitboss_jobs_total'), ops.handler],
  ];
  for (const [what, got, want] of checks) if (got !== want) throw new Error(`${what} is ${got}, expected ${want} (the ops run)`);
  return `recorded totals match ops run: fold ${ops.fold}, direct ${ops.direct}, handler ${ops.handler}; series per side: ${fold.filter((l) => l.startsWith('pitboss_jobs_total')).length}`;
}

const scenario: Scenario = {
  name: 'metrics-fold',
  description: 'ns per job.stop folded into a histogram + counter (3 labels) vs the OTel SDK directly',
  targets: [{ key: 'vs_direct_otel', op: '<=', value: 0.25, goal: 0.1 }],
  async run({ quick }) {
    await checkSameSamples();
    const samples = measureInterleaved(cases, quick ? quickPreset : fullPreset);
    const totals = await checkTotals();
    if (noopDeliveries === 0) throw new Error('the no-op handler never ran');
    const s = (name: string): CaseSamples => samples.get(name)!;
    const { rows, stats } = summarize(samples);
    return {
      rows,
      stats,
      ratios: {
        vs_direct_otel: pairedRatio(s('fold_via_bus'), s('otel_direct')),
        vs_otel_from_bus_handler: pairedRatio(s('fold_via_bus'), s('otel_from_bus_handler')),
        fold_vs_bus_noop_handler: pairedRatio(s('fold_via_bus'), s('bus_noop_handler')),
      },
      notes: [
        'ours includes the bus (execute, sampling check, handler call); bus_noop_handler is that floor alone',
        'otel_direct passes pre-built attribute objects (its best case); otel_from_bus_handler builds them per event',
        '64 metadata objects over 6 label sets and 16 durations, rotating; Prometheus reader on every OTel side',
        'checked before timing: 6000 identical events give identical job_duration/jobs samples on both sides',
        totals,
      ],
    };
  },
};

export default scenario;
