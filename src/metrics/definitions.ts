/**
 * Declarative metric definitions over telemetry events, in the spirit of Elixir's telemetry_metrics:
 * `counter`, `sum`, `lastValue`, `summary` and `distribution` say which event feeds a metric, which
 * measurement, which tags and which unit — and nothing about how it is folded or exported.
 *
 * Everything is checked when the definition is made, against the event table: an unknown event,
 * a measurement the event does not carry, or a tag that is not one of the event's label-safe keys
 * (`job_id`, `error`: unbounded, so never a label) is a `MetricsError` naming the offender.
 */
import { MetricsError } from '../errors/classes.ts';
import { catalog, type Catalog } from '../telemetry/catalog.ts';
import type { EventName, EventTable, Measurements, Metadata } from '../telemetry/types.ts';
import { checkBuckets, defaultBuckets, nanosecondMeasurements, resolveUnit, type MetricUnit } from './units.ts';

/** How events are folded: count them, add a measurement, keep the last, or bucket it. */
export type MetricKind = 'counter' | 'sum' | 'lastValue' | 'summary' | 'distribution';

/** A measurement computed from an event, for values that are not one measurement key. */
export type MeasurementFn = (measurements: Readonly<Record<string, number | undefined>>, metadata: Readonly<Record<string, unknown>>) => number;

/** A validated definition, as `counter()` & co. return it. Frozen; feed it to `createMetrics`. */
export interface MetricDefinition {
  readonly kind: MetricKind;
  /** OTel name, dot-separated (`pitboss.job.duration`); Prometheus shows `pitboss_job_duration`. */
  readonly name: string;
  readonly events: readonly string[];
  /** A measurement key, a function, or null for counters (which count events). */
  readonly measurement: string | MeasurementFn | null;
  /** Metadata keys that become labels; each is a label-safe key of every event. */
  readonly tags: readonly string[];
  /** Fixed labels added to every series of this definition (e.g. `{ status: 'ok' }` for `action.stop`). */
  readonly constantTags: Readonly<Record<string, string>>;
  /** Exported unit (UCUM), '' when none. */
  readonly unit: string;
  /** Each measurement is exported as `value * multiply / divide`. */
  readonly multiply: number;
  readonly divide: number;
  readonly description: string;
  /** Histogram boundaries: explicit for distributions, empty for summaries (count/sum/min/max), null otherwise. */
  readonly buckets: readonly number[] | null;
  /** Counters and sums that only grow are exported as Prometheus counters (`_total`). */
  readonly monotonic: boolean;
}

type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never;
/** Each event's keys in its own box, so the intersection below intersects per event, not per key. */
type LabelBoxes<C extends EventTable, E extends EventName<C>> = E extends unknown ? [C[E]['labels'][number]] : never;
type MeasurementBoxes<C extends EventTable, E extends EventName<C>> = E extends unknown ? [C[E]['measurements'][number]] : never;
type Shared<Boxes> = UnionToIntersection<Boxes> extends infer I ? (I extends readonly [unknown] ? I[0] & string : never) : never;

/** Tags allowed for events `E`: label-safe keys that every one of them declares. */
type SharedLabel<C extends EventTable, E extends EventName<C>> = Shared<LabelBoxes<C, E>>;
/** Measurement keys that every event of `E` carries. */
type SharedMeasurement<C extends EventTable, E extends EventName<C>> = Shared<MeasurementBoxes<C, E>>;

/** Options every kind shares. */
interface BaseOptions<C extends EventTable, E extends EventName<C>> {
  readonly name: string;
  /** One event or several (a metric fed by `job.stop` and `job.exception`). */
  readonly event: E | readonly E[];
  readonly tags?: readonly SharedLabel<C, E>[];
  readonly constantTags?: Readonly<Record<string, string>>;
  readonly description?: string;
}

/** Options of kinds that read a value from each event. */
interface ValueOptions<C extends EventTable, E extends EventName<C>> extends BaseOptions<C, E> {
  readonly measurement: SharedMeasurement<C, E> | ((measurements: Measurements<C, E>, metadata: Metadata<C, E>) => number);
  readonly unit?: MetricUnit;
}

/** The constructors, typed and checked against one event table. */
export interface MetricConstructors<C extends EventTable> {
  /** Counts events (the measurement is not read). */
  counter<const E extends EventName<C>>(options: BaseOptions<C, E> & { readonly unit?: string }): MetricDefinition;
  /** Adds up a measurement; `monotonic: false` for values that may be negative (exported as a gauge). */
  sum<const E extends EventName<C>>(options: ValueOptions<C, E> & { readonly monotonic?: boolean }): MetricDefinition;
  /** Keeps the latest measurement per tag set (an OTel gauge). */
  lastValue<const E extends EventName<C>>(options: ValueOptions<C, E>): MetricDefinition;
  /** Count, sum, min and max of a measurement: a histogram without buckets (no in-process quantiles). */
  summary<const E extends EventName<C>>(options: ValueOptions<C, E>): MetricDefinition;
  /** A histogram over explicit buckets (default: `secondsBuckets` for seconds, OTel's otherwise). */
  distribution<const E extends EventName<C>>(options: ValueOptions<C, E> & { readonly buckets?: readonly number[] }): MetricDefinition;
}

interface LooseOptions {
  name?: unknown; event?: unknown; measurement?: unknown; tags?: unknown; constantTags?: unknown;
  unit?: unknown; description?: unknown; buckets?: unknown; monotonic?: unknown;
}

// OTel's instrument-name syntax, minus '/' and '-' which Prometheus would fold into '_' ambiguously.
const nameShape = /^[a-zA-Z][a-zA-Z0-9_.]{0,254}$/;
const labelShape = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** Labels the Prometheus exposition reserves for histograms, summaries and the scope. */
const reservedLabels = new Set(['le', 'quantile', 'otel_scope_name', 'otel_scope_version']);

/** Definitions made by `defineMetric` (and so validated); hand-built objects are refused. */
const made = new WeakSet<MetricDefinition>();

/** Builds and checks one definition against `table` (`createMetrics` re-checks it against the bus with `checkDefinitionFits`). */
function defineMetric(table: EventTable, kind: MetricKind, options: LooseOptions): MetricDefinition {
  const label = typeof options?.name === 'string' ? JSON.stringify(options.name) : '(unnamed)';
  const fail = (why: string, code: 'PITBOSS_INVALID_CONFIG' | 'PITBOSS_UNKNOWN_EVENT' = 'PITBOSS_INVALID_CONFIG'): never => {
    throw new MetricsError(code, `metric ${label}: ${why}`);
  };
  if (typeof options !== 'object' || options === null) fail('options must be an object');
  const { name, event, measurement, tags = [], constantTags = {}, description = '', unit, buckets, monotonic = true } = options;
  if (typeof name !== 'string' || !nameShape.test(name)) fail('name must start with a letter and use letters, digits, "_" and "." (e.g. "pitboss.job.duration")');
  const events: unknown[] = Array.isArray(event) ? event : [event];
  if (events.length === 0) fail('event must name at least one event');
  if (!Array.isArray(tags) || tags.some((t) => typeof t !== 'string')) fail('tags must be an array of metadata keys');
  if (new Set(events).size !== events.length) fail('event lists an event twice');
  if (new Set(tags as string[]).size !== (tags as string[]).length) fail('tags lists a key twice');
  for (const tag of tags as string[]) if (reservedLabels.has(tag)) fail(`tag ${JSON.stringify(tag)} is reserved by the Prometheus exposition`);
  if (kind !== 'counter' && typeof measurement !== 'function' && typeof measurement !== 'string') fail('measurement must be a measurement key or a function');
  const measurementKey = kind !== 'counter' && typeof measurement === 'string' ? measurement : null;
  checkFit(table, label, events, tags as string[], measurementKey);
  if (typeof constantTags !== 'object' || constantTags === null || Array.isArray(constantTags)) fail('constantTags must be an object of strings');
  for (const [key, value] of Object.entries(constantTags as object)) {
    if (!labelShape.test(key) || reservedLabels.has(key)) fail(`constant tag ${JSON.stringify(key)} is not a usable label name`);
    if (typeof value !== 'string') fail(`constant tag ${JSON.stringify(key)} must be a string`);
    if ((tags as string[]).includes(key)) fail(`${JSON.stringify(key)} is both a tag and a constant tag`);
  }

  const reads = kind === 'counter' ? null : (measurement as string | MeasurementFn);
  if (kind === 'counter' && unit !== undefined && typeof unit !== 'string') fail('a counter counts events: its unit cannot convert');
  const resolved = resolveUnit(distributionUnit(kind, measurementKey, unit as MetricUnit | undefined, buckets, fail));
  if (typeof resolved === 'string') fail(resolved);
  const { unit: exported, multiply, divide } = resolved as Exclude<typeof resolved, string>;
  if (typeof description !== 'string') fail('description must be a string');
  if (typeof monotonic !== 'boolean') fail('monotonic must be a boolean');

  let bounds: readonly number[] | null = null;
  if (kind === 'summary') bounds = [];
  if (kind === 'distribution') {
    const why = buckets === undefined ? null : checkBuckets(buckets);
    if (why !== null) fail(why);
    bounds = buckets === undefined ? defaultBuckets(exported) : Object.freeze([...(buckets as number[])]);
  }
  const definition: MetricDefinition = Object.freeze({
    kind, name: name as string, events: Object.freeze([...(events as string[])]), measurement: reads,
    tags: Object.freeze([...(tags as string[])]), constantTags: Object.freeze({ ...(constantTags as Record<string, string>) }),
    unit: exported, multiply, divide, description: description as string, buckets: bounds,
    monotonic: kind === 'counter' || (kind === 'sum' && monotonic === true),
  });
  made.add(definition);
  return definition;
}

/**
 * A distribution of a nanosecond measurement with default buckets: without a unit it is converted to
 * seconds (the default buckets are seconds); left in nanoseconds it is refused, because OTel's default
 * buckets (0…10 000) would put every sample in `+Inf`.
 */
function distributionUnit(kind: MetricKind, key: string | null, unit: MetricUnit | undefined, buckets: unknown, fail: (why: string) => never): MetricUnit | undefined {
  if (kind !== 'distribution' || key === null || buckets !== undefined || !nanosecondMeasurements.has(key)) return unit;
  if (unit === undefined) return { from: 'ns', to: 's' };
  if (typeof unit === 'string' || (typeof unit === 'object' && unit !== null && unit.to === 'ns')) {
    fail(`measurement ${JSON.stringify(key)} is in nanoseconds and the default buckets (0…10000) would put every sample in +Inf: `
      + `convert it with unit: { from: 'ns', to: 's' } (or omit unit) or give buckets in nanoseconds`);
  }
  return unit;
}

/** True when `value` came from `counter()`, `sum()`, `lastValue()`, `summary()` or `distribution()`. */
export function isMetricDefinition(value: unknown): value is MetricDefinition {
  return typeof value === 'object' && value !== null && made.has(value as MetricDefinition);
}

/** Re-checks a definition against another table (the bus's, which may differ from the one it was made for). */
export function checkDefinitionFits(table: EventTable, definition: MetricDefinition): void {
  const key = typeof definition.measurement === 'string' ? definition.measurement : null;
  checkFit(table, JSON.stringify(definition.name), definition.events, definition.tags, key);
}

/** Every event exists, every tag is label-safe on every event, the measurement key is carried by every event. */
function checkFit(table: EventTable, label: string, events: readonly unknown[], tags: readonly string[], measurement: string | null): void {
  const fail = (why: string, code: 'PITBOSS_INVALID_CONFIG' | 'PITBOSS_UNKNOWN_EVENT' = 'PITBOSS_INVALID_CONFIG'): never => {
    throw new MetricsError(code, `metric ${label}: ${why}`);
  };
  for (const e of events) {
    const spec = typeof e === 'string' && Object.hasOwn(table, e) ? table[e]! : fail(`event ${JSON.stringify(e)} is not in the event table`, 'PITBOSS_UNKNOWN_EVENT');
    for (const tag of tags) {
      if (spec.labels.includes(tag)) continue;
      const why = spec.metadata.includes(tag) ? 'is unbounded metadata, not a label-safe key' : 'is not a metadata key';
      fail(`tag ${JSON.stringify(tag)} ${why} of ${String(e)} (labels: ${spec.labels.join(', ') || 'none'})`);
    }
    if (measurement !== null && !spec.measurements.includes(measurement)) {
      fail(`measurement ${JSON.stringify(measurement)} is not carried by ${String(e)} (measurements: ${spec.measurements.join(', ') || 'none'})`);
    }
  }
}

/**
 * Constructors typed and checked against an event table — the catalog plus host events, say:
 * `const { counter } = definitionsFor({ ...catalog, ...billingEvents })`, for a bus that registered them.
 */
export function definitionsFor<const C extends EventTable>(table: C): MetricConstructors<C> {
  const make = (kind: MetricKind) => (options: object): MetricDefinition => defineMetric(table, kind, options as LooseOptions);
  return {
    counter: make('counter'), sum: make('sum'), lastValue: make('lastValue'), summary: make('summary'), distribution: make('distribution'),
  } as MetricConstructors<C>;
}

const builtin: MetricConstructors<Catalog> = definitionsFor(catalog);

/** A counter over catalog events: counts events per tag set (`pitboss.jobs`). */
export const counter: MetricConstructors<Catalog>['counter'] = builtin.counter;
/** A sum of a catalog measurement per tag set (`pitboss.telemetry.events.dropped` adds `count`). */
export const sum: MetricConstructors<Catalog>['sum'] = builtin.sum;
/** The last value of a catalog measurement per tag set (a gauge, e.g. heap used per worker). */
export const lastValue: MetricConstructors<Catalog>['lastValue'] = builtin.lastValue;
/** Count, sum, min and max of a catalog measurement per tag set (a bucketless histogram). */
export const summary: MetricConstructors<Catalog>['summary'] = builtin.summary;
/** A histogram of a catalog measurement per tag set (`pitboss.job.duration`). */
export const distribution: MetricConstructors<Catalog>['distribution'] = builtin.distribution;
