/** Metrics: declarative definitions folded from telemetry events, exported through OpenTelemetry. */
export {
  counter, definitionsFor, distribution, lastValue, summary, sum, type MetricConstructors, type MetricDefinition, type MetricKind,
} from './definitions.ts';
export { defaultMetrics } from './inventory.ts';
export { Metrics, createMetrics, type MetricsOptions, type OtlpOptions, type PrometheusScrape } from './metrics.ts';
