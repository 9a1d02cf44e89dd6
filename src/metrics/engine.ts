/**
 * The private engine behind `Metrics`: builds the fold, the OTel MeterProvider with its readers
 * (Prometheus pull, OTLP push when configured), the Postgres-backed gauges and the metrics about the
 * metrics path, then attaches the fold to the bus. Everything is created here, once (STYLE §7).
 */
import type { Attributes, Counter } from '@opentelemetry/api';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { AggregationTemporalityPreference, OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { defaultResource, detectResources, envDetector, resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader, type IMetricReader } from '@opentelemetry/sdk-metrics';
import type { QueueStats, RateLimit } from '../jobs/types.ts';
import type { EventTable } from '../telemetry/types.ts';
import { MetricsError } from '../errors/classes.ts';
import { checkDefinitionFits, type MetricDefinition } from './definitions.ts';
import { foldEvent, MetricFold, type EventPlan, type FoldDropReason } from './fold.ts';
import { queueGaugeNames, selfMetricNames } from './inventory.ts';
import { rateLimitGaugeName, registerRateLimitGauge } from './rate-limit-gauge.ts';
import { FoldProducer } from './producer.ts';
import { QueueStatsCache, registerQueueGauges, type QueueStatsCacheOptions, type StatsFailure } from './queue-gauges.ts';

type Values = Readonly<Record<string, number | undefined>>;
type Loose = Readonly<Record<string, unknown>>;

/** What the engine needs of a telemetry bus (any event table). */
export interface FoldBus {
  attach(id: string, pattern: string, handler: (event: string, m: Values, md: Loose, plan: EventPlan, weight: number) => void, config: EventPlan): void;
  detach(id: string): boolean;
  events(): EventTable;
}

/** Where OTLP pushes go; null when no endpoint is configured. */
export interface OtlpTarget {
  readonly url: string;
  readonly intervalMs: number;
  readonly timeoutMs: number;
}

/** The engine's options, already checked and defaulted by the facade. */
export interface EngineOptions {
  readonly bus: FoldBus;
  readonly definitions: readonly MetricDefinition[];
  readonly stats: (() => Promise<readonly QueueStats[]>) | null;
  readonly knownQueues: () => readonly string[];
  /** Rate limits of the queues consumed here, for `pitboss.queue.rate_limit` (null: not registered). */
  readonly rateLimits: (() => Readonly<Record<string, RateLimit>>) | null;
  readonly statsCache: QueueStatsCacheOptions;
  readonly otlp: OtlpTarget | null;
  readonly resource: Attributes;
  readonly cardinalityLimit: number;
  readonly scrapeTimeoutMs: number;
  readonly warn: (message: string) => void;
}

/** Prometheus text exposition format 0.0.4, what the OTel serializer writes. */
const prometheusContentType = 'text/plain; version=0.0.4; charset=utf-8';

let engines = 0;

export class MetricsEngine {
  readonly meterProvider: MeterProvider;
  readonly #prometheus: PrometheusExporter;
  readonly #serializer = new PrometheusSerializer();
  readonly #bus: FoldBus;
  readonly #handlerIds: string[] = [];
  readonly #warn: (message: string) => void;
  readonly #scrapeTimeoutMs: number;
  readonly #warned = new Set<string>();
  #dropped: Counter | null = null;
  #shutdown: Promise<void> | null = null;

  constructor(o: EngineOptions) {
    this.#bus = o.bus;
    this.#warn = o.warn;
    this.#scrapeTimeoutMs = o.scrapeTimeoutMs;
    // Everything that can refuse the configuration runs before anything is created or attached.
    const table = o.bus.events();
    for (const definition of o.definitions) checkDefinitionFits(table, definition);
    const reserved = new Set([...selfMetricNames, ...(o.stats === null ? [] : queueGaugeNames), ...(o.rateLimits === null ? [] : [rateLimitGaugeName])]);
    const taken = o.definitions.find((d) => reserved.has(d.name));
    if (taken !== undefined) throw new MetricsError('PITBOSS_INVALID_CONFIG', `metric ${JSON.stringify(taken.name)}: the name is reserved by pitboss`);
    const fold = new MetricFold(o.definitions, { cardinalityLimit: o.cardinalityLimit, report: (metric, event, reason, detail) => this.#foldDropped(metric, event, reason, detail) });

    const resource = resourceOf(o.resource);
    const producer = new FoldProducer(fold.metrics, { name: 'pitboss' }, resource);
    this.#prometheus = new PrometheusExporter({ preventServerStart: true, metricProducers: [producer] });
    const readers: IMetricReader[] = [this.#prometheus];
    if (o.otlp !== null) {
      readers.push(new PeriodicExportingMetricReader({
        exporter: new OTLPMetricExporter({ url: o.otlp.url, temporalityPreference: AggregationTemporalityPreference.CUMULATIVE }),
        exportIntervalMillis: o.otlp.intervalMs,
        exportTimeoutMillis: o.otlp.timeoutMs,
        metricProducers: [producer],
      }));
    }
    this.meterProvider = new MeterProvider({ resource, readers });
    const meter = this.meterProvider.getMeter('pitboss');
    this.#dropped = meter.createCounter('pitboss.metrics.dropped', { description: 'Events a metric could not fold (invalid_measurement, error), by metric.', unit: '{event}' });
    if (o.stats !== null) {
      const failures = meter.createCounter('pitboss.metrics.stats.failures', { description: 'Job-store stats reads that timed out or failed; gauges served stale values or none.' });
      const cache = new QueueStatsCache(o.stats, o.statsCache, (reason, detail) => this.#statsFailed(failures, reason, detail));
      registerQueueGauges(meter, cache, o.knownQueues, o.warn);
    }
    if (o.rateLimits !== null) registerRateLimitGauge(meter, o.rateLimits);
    this.#attach(fold.plans);
  }

  /** Collects every reader source once and renders the Prometheus text exposition. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    if (this.#shutdown !== null) throw new MetricsError('PITBOSS_INVALID_CONFIG', 'metrics were shut down; create a new Metrics to scrape again');
    const { resourceMetrics, errors } = await this.#prometheus.collect({ timeoutMillis: this.#scrapeTimeoutMs });
    if (errors.length > 0) this.#warnOnce('collect', `pitboss metrics: collecting raised ${errors.length} error(s), e.g. ${String(errors[0])}; partial results served`);
    return { contentType: prometheusContentType, body: this.#serializer.serialize(resourceMetrics) };
  }

  /** Detaches from the bus, flushes OTLP and stops every reader. Idempotent. */
  shutdown(): Promise<void> {
    this.#shutdown ??= (async () => {
      for (const id of this.#handlerIds) this.#bus.detach(id);
      await this.meterProvider.shutdown();
    })();
    return this.#shutdown;
  }

  #attach(plans: ReadonlyMap<string, EventPlan>): void {
    const prefix = `pitboss.metrics.${++engines}`;
    try {
      for (const [event, plan] of plans) {
        const id = `${prefix}.${event}`;
        this.#bus.attach(id, event, foldEvent, plan);
        this.#handlerIds.push(id);
      }
    } catch (error) {
      for (const id of this.#handlerIds) this.#bus.detach(id);
      throw error;
    }
  }

  #foldDropped(metric: string, event: string, reason: FoldDropReason, detail: string): void {
    try {
      this.#dropped?.add(1, { metric, reason });
      // Once per metric, event and reason: all three are bounded (definitions × catalog).
      this.#warnOnce(`${metric}\u0000${event}\u0000${reason}`,
        `pitboss metrics: ${metric} dropped a ${event} event (${reason}: ${detail}); later drops are counted in pitboss.metrics.dropped without a warning`);
    } catch {
      // The report path must not throw into the fold either.
    }
  }

  #statsFailed(failures: Counter, reason: StatsFailure, detail: string): void {
    failures.add(1, { reason });
    this.#warnOnce(`stats\u0000${reason}`, `pitboss metrics: queue stats ${reason} (${detail}); pitboss.queue.depth and pitboss.workers.active serve the last values or none. Counted in pitboss.metrics.stats.failures`);
  }

  #warnOnce(key: string, message: string): void {
    if (this.#warned.has(key)) return;
    this.#warned.add(key);
    this.#warn(message);
  }
}

/** The SDK defaults, `service.name=pitboss`, then OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES, then the caller's attributes. */
function resourceOf(attributes: Attributes): Resource {
  return defaultResource()
    .merge(resourceFromAttributes({ 'service.name': 'pitboss' }))
    .merge(detectResources({ detectors: [envDetector] }))
    .merge(resourceFromAttributes(attributes));
}
