/**
 * Accumulators of the fold: one cell per metric per label set, updated in place on every event and
 * read only when a reader collects. A cell is a few numbers in a fixed-shape object (STYLE §10), so
 * folding an event is a couple of additions — no attribute hashing, no allocation.
 *
 * Every event counts `weight` times: 1/rate of the sampling rule that kept it (a Horvitz–Thompson
 * estimate), so counters, sums and histogram counts stay unbiased under sampling and exact at rate 1.
 * Last values, minima and maxima are observations, not totals, and ignore the weight.
 */
import { ValueType, type Attributes, type HrTime } from '@opentelemetry/api';
import {
  AggregationTemporality, DataPointType, type DataPoint, type Histogram, type MetricData, type MetricDescriptor,
} from '@opentelemetry/sdk-metrics';
import type { MetricDefinition, MetricKind } from './definitions.ts';

/** What the fold calls per event; one of the three classes below. */
export interface Cell {
  readonly attributes: Attributes;
  readonly startTime: HrTime;
  /** Folds one event's value; `weight` is how many events it stands for (1/rate). */
  add(value: number, weight: number): void;
}

/** Counters and sums. */
class SumCell implements Cell {
  readonly attributes: Attributes;
  readonly startTime: HrTime;
  value = 0;

  constructor(attributes: Attributes, startTime: HrTime) {
    this.attributes = attributes;
    this.startTime = startTime;
  }

  add(value: number, weight: number): void {
    this.value += value * weight;
  }
}

/** Last values (gauges). */
class GaugeCell implements Cell {
  readonly attributes: Attributes;
  readonly startTime: HrTime;
  value = 0;

  constructor(attributes: Attributes, startTime: HrTime) {
    this.attributes = attributes;
    this.startTime = startTime;
  }

  add(value: number): void {
    this.value = value;
  }
}

/** Explicit-bucket histograms (distributions; summaries are the bucketless case). */
class HistogramCell implements Cell {
  readonly attributes: Attributes;
  readonly startTime: HrTime;
  readonly boundaries: readonly number[];
  /** counts[i] holds values ≤ boundaries[i] (and > the previous one); the last slot is the overflow. */
  readonly counts: Float64Array;
  count = 0;
  sum = 0;
  min = Infinity;
  max = -Infinity;

  constructor(attributes: Attributes, startTime: HrTime, boundaries: readonly number[]) {
    this.attributes = attributes;
    this.startTime = startTime;
    this.boundaries = boundaries;
    this.counts = new Float64Array(boundaries.length + 1);
  }

  add(value: number, weight: number): void {
    // Upper bounds are inclusive, as in OTel's binarySearchUB: the first boundary ≥ value.
    const b = this.boundaries;
    let low = 0;
    let high = b.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (b[mid]! < value) low = mid + 1;
      else high = mid;
    }
    this.counts[low]! += weight;
    this.count += weight;
    this.sum += value * weight;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
  }
}

/** Wall-clock time as OTel's [seconds, nanoseconds]. */
export function hrNow(): HrTime {
  const ms = Date.now();
  return [Math.floor(ms / 1000), (ms % 1000) * 1e6];
}

const pointTypes: Readonly<Record<MetricKind, DataPointType>> = {
  counter: DataPointType.SUM, sum: DataPointType.SUM, lastValue: DataPointType.GAUGE,
  summary: DataPointType.HISTOGRAM, distribution: DataPointType.HISTOGRAM,
};

/** Every cell of one exported metric, and how to turn them into OTel data on collect. */
export class FoldedMetric {
  readonly name: string;
  readonly kind: MetricKind;
  readonly descriptor: MetricDescriptor;
  readonly monotonic: boolean;
  readonly boundaries: readonly number[];
  readonly cells: Cell[] = [];

  constructor(definition: MetricDefinition) {
    this.name = definition.name;
    this.kind = definition.kind;
    this.descriptor = { name: definition.name, description: definition.description, unit: definition.unit, valueType: ValueType.DOUBLE };
    this.monotonic = definition.monotonic;
    this.boundaries = definition.buckets ?? [];
  }

  /** A new cell for one label set, registered for export. */
  open(attributes: Attributes): Cell {
    const startTime = hrNow();
    const cell = this.kind === 'lastValue' ? new GaugeCell(attributes, startTime)
      : pointTypes[this.kind] === DataPointType.HISTOGRAM ? new HistogramCell(attributes, startTime, this.boundaries)
        : new SumCell(attributes, startTime);
    this.cells.push(cell);
    return cell;
  }

  /** A snapshot of every cell as cumulative OTel data, or null when nothing was folded yet (as the SDK skips it). */
  collect(endTime: HrTime): MetricData | null {
    const cells = this.cells;
    if (cells.length === 0) return null;
    const base = { descriptor: this.descriptor, aggregationTemporality: AggregationTemporality.CUMULATIVE };
    if (this.kind === 'lastValue') {
      const dataPoints = cells.map((c) => point(c, endTime, (c as GaugeCell).value));
      return { ...base, dataPointType: DataPointType.GAUGE, dataPoints };
    }
    if (pointTypes[this.kind] === DataPointType.SUM) {
      const dataPoints = cells.map((c) => point(c, endTime, (c as SumCell).value));
      return { ...base, dataPointType: DataPointType.SUM, isMonotonic: this.monotonic, dataPoints };
    }
    const dataPoints = cells.map((c) => point<Histogram>(c, endTime, histogramOf(c as HistogramCell)));
    return { ...base, dataPointType: DataPointType.HISTOGRAM, dataPoints };
  }
}

function point<T>(cell: Cell, endTime: HrTime, value: T): DataPoint<T> {
  return { startTime: cell.startTime, endTime, attributes: cell.attributes, value };
}

/** Copies, so an exporter still serialising (OTLP pushes asynchronously) never sees later events. */
function histogramOf(cell: HistogramCell): Histogram {
  const empty = cell.count === 0;
  return {
    buckets: { boundaries: [...cell.boundaries], counts: Array.from(cell.counts) },
    count: cell.count,
    sum: cell.sum,
    min: empty ? undefined : cell.min,
    max: empty ? undefined : cell.max,
  };
}
