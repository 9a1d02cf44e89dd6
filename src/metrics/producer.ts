/**
 * Hands the fold's cells to OTel readers. Registered on every reader as a `MetricProducer`
 * (sdk-metrics 2.x `metricProducers`), so Prometheus scrapes and OTLP pushes see folded metrics
 * next to the SDK's own instruments, with the SDK's resource.
 */
import type { Resource } from '@opentelemetry/resources';
import type { CollectionResult, MetricData, MetricProducer, ScopeMetrics } from '@opentelemetry/sdk-metrics';
import { hrNow, type FoldedMetric } from './cells.ts';

/** Name and version of the instrumentation scope (`otel_scope_name` in Prometheus). */
export type Scope = ScopeMetrics['scope'];

/** A `MetricProducer` over folded metrics. Collect is synchronous work on data already aggregated. */
export class FoldProducer implements MetricProducer {
  readonly #metrics: readonly FoldedMetric[];
  readonly #scope: Scope;
  readonly #resource: Resource;

  constructor(metrics: readonly FoldedMetric[], scope: Scope, resource: Resource) {
    this.#metrics = metrics;
    this.#scope = scope;
    this.#resource = resource;
  }

  collect(): Promise<CollectionResult> {
    const endTime = hrNow();
    const metrics: MetricData[] = [];
    const errors: unknown[] = [];
    for (const metric of this.#metrics) {
      try {
        const data = metric.collect(endTime);
        if (data !== null) metrics.push(data);
      } catch (error) {
        // One broken metric must not cost the scrape all the others.
        errors.push(error);
      }
    }
    const scopeMetrics = metrics.length === 0 ? [] : [{ scope: this.#scope, metrics }];
    return Promise.resolve({ resourceMetrics: { resource: this.#resource, scopeMetrics }, errors });
  }
}
