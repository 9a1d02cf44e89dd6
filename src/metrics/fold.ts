/**
 * The fold: telemetry events → per-label-set accumulators, compiled once from the definitions.
 *
 * Per event name there is one `EventPlan` (the bus hands it to the handler as its config, so there
 * is no lookup by name); a plan is a list of steps, one per series index the event feeds; a step
 * finds the series once and adds the event's value to the cell of each metric it feeds. The OTel SDK
 * is not on this path: `histogram.record(v, attrs)` sorts and JSON-hashes the attributes on every call
 * (~2 µs per event here with 3 attributes, bench/metrics-fold); cells are read at collect time.
 *
 * Nothing here throws into the bus (STYLE §4): a failing measurement function or a non-finite value
 * is caught, dropped and reported through `report`, which counts it and warns once.
 */
import { FoldedMetric } from './cells.ts';
import { MetricsError } from '../errors/classes.ts';
import type { MeasurementFn, MetricDefinition } from './definitions.ts';
import { SeriesIndex, type Series } from './series-index.ts';

type Loose = Readonly<Record<string, unknown>>;
type Values = Readonly<Record<string, number | undefined>>;
type Reader = (measurements: Values, metadata: Loose) => number;

/** Why an event was not folded into a metric. */
export type FoldDropReason = 'invalid_measurement' | 'error';

/** Told about every dropped fold, with the event that caused it (a metric may be fed by several); must not throw. */
export type FoldReporter = (metric: string, event: string, reason: FoldDropReason, detail: string) => void;

/** One metric fed by one step: where its cell sits in the series, and how to read the value. */
class Fold {
  readonly metric: FoldedMetric;
  readonly slot: number;
  readonly read: Reader;
  /** Monotonic sums refuse negative values; everything else takes any finite number. */
  readonly min: number;

  constructor(metric: FoldedMetric, slot: number, definition: MetricDefinition) {
    this.metric = metric;
    this.slot = slot;
    this.read = readerOf(definition);
    this.min = definition.monotonic ? 0 : -Infinity;
  }
}

/** One index an event feeds, with the metrics that share its lookup. */
class Step {
  readonly index: SeriesIndex;
  readonly folds: Fold[] = [];
  readonly #report: FoldReporter;
  /** The event of the plan this step belongs to, for drop reports. */
  readonly #event: string;

  constructor(index: SeriesIndex, event: string, report: FoldReporter) {
    this.index = index;
    this.#event = event;
    this.#report = report;
  }

  fold(measurements: Values, metadata: Loose, weight: number): void {
    const folds = this.folds;
    let series: Series;
    try {
      series = this.index.lookup(metadata);
    } catch (error) {
      for (const f of folds) this.#report(f.metric.name, this.#event, 'error', describe(error));
      return;
    }
    for (let i = 0; i < folds.length; i++) {
      const f = folds[i]!;
      try {
        const value = f.read(measurements, metadata);
        if (!Number.isFinite(value) || value < f.min) {
          this.#report(f.metric.name, this.#event, 'invalid_measurement', `value ${String(value)}`);
          continue;
        }
        (series.cells[f.slot] ?? series.open(f.slot, f.metric)).add(value, weight);
      } catch (error) {
        this.#report(f.metric.name, this.#event, 'error', describe(error));
      }
    }
  }
}

/** Everything one event name feeds. */
export class EventPlan {
  readonly event: string;
  readonly steps: Step[] = [];

  constructor(event: string) {
    this.event = event;
  }

  fold(measurements: Values, metadata: Loose, weight: number): void {
    const steps = this.steps;
    for (let i = 0; i < steps.length; i++) steps[i]!.fold(measurements, metadata, weight);
  }
}

/**
 * The bus handler: the plan arrives as the attach config, the weight is 1/rate of the sampling rule
 * that kept the event (1 without sampling). Shared by every event, never throws.
 */
export function foldEvent(_event: string, measurements: Values, metadata: Loose, plan: EventPlan, weight: number): void {
  plan.fold(measurements, metadata, weight);
}

/** The compiled fold of a set of definitions. */
export class MetricFold {
  /** One per metric name, in definition order: what the producer exports. */
  readonly metrics: readonly FoldedMetric[];
  readonly plans: ReadonlyMap<string, EventPlan>;

  constructor(definitions: readonly MetricDefinition[], options: { cardinalityLimit: number; report: FoldReporter }) {
    const metrics = new Map<string, FoldedMetric>();
    const first = new Map<string, MetricDefinition>();
    const indexes = new Map<string, SeriesIndex>();
    const slots = new Map<SeriesIndex, Map<FoldedMetric, number>>();
    const plans = new Map<string, EventPlan>();
    const fed = new Set<string>();
    for (const definition of definitions) {
      const earlier = first.get(definition.name);
      if (earlier === undefined) {
        first.set(definition.name, definition);
        metrics.set(definition.name, new FoldedMetric(definition));
      } else {
        checkSameMetric(earlier, definition);
      }
      const metric = metrics.get(definition.name)!;
      const signature = signatureOf(definition);
      let index = indexes.get(signature);
      if (index === undefined) indexes.set(signature, (index = new SeriesIndex(definition.tags, definition.constantTags, options.cardinalityLimit)));
      let indexSlots = slots.get(index);
      if (indexSlots === undefined) slots.set(index, (indexSlots = new Map()));
      let slot = indexSlots.get(metric);
      if (slot === undefined) indexSlots.set(metric, (slot = index.addSlot()));
      for (const event of definition.events) {
        const key = `${definition.name}\u0000${event}\u0000${signature}`;
        if (fed.has(key)) throw new MetricsError('PITBOSS_INVALID_CONFIG', `metric ${JSON.stringify(definition.name)}: ${event} is folded twice into the same series (duplicate definition)`);
        fed.add(key);
        let plan = plans.get(event);
        if (plan === undefined) plans.set(event, (plan = new EventPlan(event)));
        let step = plan.steps.find((s) => s.index === index);
        if (step === undefined) plan.steps.push((step = new Step(index, event, options.report)));
        step.folds.push(new Fold(metric, slot, definition));
      }
    }
    this.metrics = [...metrics.values()];
    this.plans = plans;
  }
}

/** Definitions sharing a name are one metric: they must agree on everything but events and constant values. */
function checkSameMetric(a: MetricDefinition, b: MetricDefinition): void {
  const labels = (d: MetricDefinition): string => [...d.tags, ...Object.keys(d.constantTags)].sort().join(',');
  const clash = a.kind !== b.kind ? `kind (${a.kind} vs ${b.kind})`
    : a.unit !== b.unit ? `unit (${a.unit} vs ${b.unit})`
      : a.monotonic !== b.monotonic ? 'monotonic'
        : String(a.buckets) !== String(b.buckets) ? 'buckets'
          : labels(a) !== labels(b) ? `labels (${labels(a)} vs ${labels(b)})`
            : b.description !== '' && a.description !== b.description ? 'description' : null;
  if (clash !== null) throw new MetricsError('PITBOSS_INVALID_CONFIG', `metric ${JSON.stringify(a.name)} is defined twice with different ${clash}`);
}

/** Definitions with the same tag keys (in any order) and the same constant tags share an index. */
function signatureOf(definition: MetricDefinition): string {
  const constants = Object.entries(definition.constantTags).map(([k, v]) => `${k}=${v}`).sort();
  return `${[...definition.tags].sort().join('\u0000')}\u0001${constants.join('\u0000')}`;
}

const one: Reader = () => 1;

/**
 * The value of one event for a definition, converted to its unit. Conversions are chosen here, once,
 * so the per-event reader does at most one multiplication or division (see units.ts for why dividing).
 */
function readerOf(definition: MetricDefinition): Reader {
  const { measurement, multiply, divide } = definition;
  if (measurement === null) return one;
  if (typeof measurement === 'string') {
    if (divide !== 1) return (m) => m[measurement]! / divide;
    if (multiply !== 1) return (m) => m[measurement]! * multiply;
    return (m) => m[measurement]!;
  }
  const fn: MeasurementFn = measurement;
  if (divide !== 1) return (m, md) => fn(m, md) / divide;
  if (multiply !== 1) return (m, md) => fn(m, md) * multiply;
  return fn;
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
