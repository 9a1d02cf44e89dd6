/** Metrics: declarative definitions folded from telemetry events, exported through OpenTelemetry. */
export {
  counter, definitionsFor, distribution, isMetricDefinition, lastValue, summary, sum,
  type BaseOptions, type MeasurementFn, type MetricConstructors, type MetricDefinition, type MetricKind, type SharedLabel, type SharedMeasurement, type ValueOptions,
} from './definitions.ts';
export { defaultMetrics } from './inventory.ts';
export { Metrics, createMetrics, type MetricsOptions, type OtlpOptions, type PrometheusScrape } from './metrics.ts';
export type { QueueStatsCacheOptions } from './queue-gauges.ts';
export { otelDefaultBuckets, secondsBuckets, type MetricUnit, type TimeUnit } from './units.ts';
