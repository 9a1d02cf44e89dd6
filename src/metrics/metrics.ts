/**
 * The metrics facade: `createMetrics({ telemetry })` folds the bus's events into OTel metrics
 * (the default inventory unless `definitions` says otherwise), serves Prometheus text for the
 * caller's /metrics route, and pushes OTLP when an endpoint is configured. Checks its options and
 * delegates to the private engine (STYLE §1).
 *
 * ```ts
 * const metrics = createMetrics({ telemetry, stats: () => store.overview.queueStats(), knownQueues: () => ['email'] });
 * app.get('/metrics', async (_req, reply) => {
 *   const { contentType, body } = await metrics.scrape();
 *   reply.type(contentType).send(body);
 * });
 * ```
 */
import type { Attributes } from '@opentelemetry/api';
import type { MeterProvider } from '@opentelemetry/sdk-metrics';
import type { QueueStats, RateLimit } from '../jobs/types.ts';
import type { Telemetry } from '../telemetry/bus.ts';
import type { EventTable } from '../telemetry/types.ts';
import { MetricsError } from '../errors/classes.ts';
import { isMetricDefinition, type MetricDefinition } from './definitions.ts';
import { MetricsEngine, type FoldBus, type OtlpTarget } from './engine.ts';
import { defaultMetrics } from './inventory.ts';
import type { QueueStatsCacheOptions } from './queue-gauges.ts';

/** Where and how often to push OTLP (HTTP/JSON). */
export interface OtlpOptions {
  /** Base URL like OTEL_EXPORTER_OTLP_ENDPOINT (`http://collector:4318`); `/v1/metrics` is appended. */
  readonly endpoint?: string;
  /** The whole metrics URL, used as it is, like OTEL_EXPORTER_OTLP_METRICS_ENDPOINT; wins over `endpoint`. */
  readonly url?: string;
  /** Push period (default OTEL_METRIC_EXPORT_INTERVAL, else 60 000). */
  readonly intervalMs?: number;
  /** Per-push timeout, at most the interval (default OTEL_METRIC_EXPORT_TIMEOUT, else 30 000). */
  readonly timeoutMs?: number;
}

/** Options of `createMetrics`. Only `telemetry` is required. */
export interface MetricsOptions<C extends EventTable = EventTable> {
  /** The bus whose events are folded. */
  readonly telemetry: Telemetry<C>;
  /** What to fold (default `defaultMetrics`; spread it to add your own). */
  readonly definitions?: readonly MetricDefinition[];
  /** One query for the Postgres-backed gauges; without it, `pitboss.queue.depth`/`pitboss.workers.active` are not registered. */
  readonly stats?: () => Promise<readonly QueueStats[]>;
  /** Queues reported with explicit zeros when the stats have no row for them. */
  readonly knownQueues?: () => readonly string[];
  /** Rate limits of the queues this supervisor consumes; with it, `pitboss.queue.rate_limit` is registered. */
  readonly rateLimits?: () => Readonly<Record<string, RateLimit>>;
  /** TTL, timeout and staleness of the stats query (defaults: 1 s, 2 s, 30 s). */
  readonly statsCache?: QueueStatsCacheOptions;
  /**
   * OTLP push. Default: on when OTEL_EXPORTER_OTLP_METRICS_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT is
   * set; `false` turns it off whatever the environment says.
   */
  readonly otlp?: OtlpOptions | false;
  /** Resource attributes, over `service.name=pitboss` and OTEL_RESOURCE_ATTRIBUTES. */
  readonly resource?: Attributes;
  /** Label sets per tag set before new ones share an `otel.metric.overflow` series (default 2000, as OTel). */
  readonly cardinalityLimit?: number;
  /** Backstop for a whole scrape (default 5000); the stats query has its own, shorter timeout. */
  readonly scrapeTimeoutMs?: number;
  /** Where warnings go (each distinct problem once); default `process.emitWarning`. */
  readonly warn?: (message: string) => void;
  /** Environment to read OTEL_* from (default `process.env`). */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** A Prometheus scrape: send `body` with `contentType` from your own /metrics route. */
export interface PrometheusScrape {
  readonly contentType: string;
  readonly body: string;
}

/** Metrics folded from one telemetry bus, exported through OpenTelemetry. */
export class Metrics {
  readonly #engine: MetricsEngine;

  /** Prefer `createMetrics`. Throws `MetricsError` (`PITBOSS_INVALID_CONFIG` / `PITBOSS_UNKNOWN_EVENT`) naming the bad option. */
  constructor(options: MetricsOptions<EventTable>) {
    this.#engine = new MetricsEngine(checkOptions(options));
  }

  /** The OTel provider (Prometheus reader, OTLP reader if configured): add your own instruments to it. */
  get meterProvider(): MeterProvider {
    return this.#engine.meterProvider;
  }

  /** Prometheus text of every metric; settles within the stats timeout even when Postgres stalls. Rejects after `shutdown`. */
  scrape(): Promise<PrometheusScrape> {
    return this.#engine.scrape();
  }

  /** Detaches from the bus, pushes a last OTLP export and stops the readers. Idempotent. */
  shutdown(): Promise<void> {
    return this.#engine.shutdown();
  }
}

/** Folds `options.telemetry`'s events into OTel metrics; see `MetricsOptions`. */
export function createMetrics<C extends EventTable>(options: MetricsOptions<C>): Metrics {
  return new Metrics(options as unknown as MetricsOptions<EventTable>);
}

const positive = (value: unknown): boolean => typeof value === 'number' && Number.isFinite(value) && value > 0;

function checkOptions(options: MetricsOptions<EventTable>): ConstructorParameters<typeof MetricsEngine>[0] {
  const fail = (key: string, why: string): never => {
    throw new MetricsError('PITBOSS_INVALID_CONFIG', `createMetrics: ${key} ${why}`);
  };
  if (typeof options !== 'object' || options === null) fail('options', 'must be an object');
  const bus = options.telemetry as unknown as FoldBus | undefined;
  if (typeof bus?.attach !== 'function' || typeof bus.detach !== 'function' || typeof bus.events !== 'function') fail('telemetry', 'must be a telemetry bus (createTelemetry())');
  const definitions = options.definitions ?? defaultMetrics;
  if (!Array.isArray(definitions)) fail('definitions', 'must be an array');
  definitions.forEach((d, i) => isMetricDefinition(d) || fail(`definitions[${i}]`, 'is not a metric definition (make it with counter(), sum(), lastValue(), summary() or distribution())'));
  for (const key of ['stats', 'knownQueues', 'rateLimits', 'warn'] as const) {
    if (options[key] !== undefined && typeof options[key] !== 'function') fail(key, 'must be a function');
  }
  for (const key of ['ttlMs', 'timeoutMs', 'maxStaleMs', 'abandonAfterMs'] as const) {
    const value = options.statsCache?.[key];
    if (value !== undefined && !positive(value)) fail(`statsCache.${key}`, 'must be a positive number of milliseconds');
  }
  const cardinalityLimit = options.cardinalityLimit ?? 2000;
  if (!Number.isInteger(cardinalityLimit) || cardinalityLimit < 1) fail('cardinalityLimit', 'must be a positive integer');
  const scrapeTimeoutMs = options.scrapeTimeoutMs ?? 5000;
  if (!positive(scrapeTimeoutMs)) fail('scrapeTimeoutMs', 'must be a positive number of milliseconds');
  if (options.resource !== undefined && (typeof options.resource !== 'object' || options.resource === null)) fail('resource', 'must be an object of attributes');
  return {
    bus: bus!,
    definitions,
    stats: options.stats ?? null,
    knownQueues: options.knownQueues ?? (() => []),
    rateLimits: options.rateLimits ?? null,
    statsCache: options.statsCache ?? {},
    otlp: otlpTarget(options.otlp, options.env ?? process.env, fail),
    resource: options.resource ?? {},
    cardinalityLimit,
    scrapeTimeoutMs,
    warn: options.warn ?? ((message) => process.emitWarning(message, { code: 'PITBOSS_METRICS' })),
  };
}

/** The OTLP metrics URL and timing from the options, else from the standard OTEL_* variables. */
function otlpTarget(otlp: OtlpOptions | false | undefined, env: Readonly<Record<string, string | undefined>>, fail: (key: string, why: string) => never): OtlpTarget | null {
  if (otlp === false) return null;
  if (otlp !== undefined && (typeof otlp !== 'object' || otlp === null)) fail('otlp', 'must be { endpoint?, url?, intervalMs?, timeoutMs? } or false');
  const fromEnv = (name: string): number | undefined => {
    const raw = env[name];
    if (raw === undefined || raw === '') return undefined;
    return positive(Number(raw)) ? Number(raw) : fail(name, `must be a positive number of milliseconds (got ${JSON.stringify(raw)})`);
  };
  const signalUrl = (base: string): string => `${base.replace(/\/+$/, '')}/v1/metrics`;
  const url = otlp?.url ?? (otlp?.endpoint !== undefined ? signalUrl(otlp.endpoint)
    : env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT ? env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT
      : env.OTEL_EXPORTER_OTLP_ENDPOINT ? signalUrl(env.OTEL_EXPORTER_OTLP_ENDPOINT) : null);
  if (url === null) return null;
  const key = otlp?.url !== undefined ? 'otlp.url' : otlp?.endpoint !== undefined ? 'otlp.endpoint' : 'the OTLP endpoint';
  if (!URL.canParse(url)) fail(key, `${JSON.stringify(url)} is not a URL`);
  const intervalMs = otlp?.intervalMs ?? fromEnv('OTEL_METRIC_EXPORT_INTERVAL') ?? 60_000;
  if (!positive(intervalMs)) fail('otlp.intervalMs', 'must be a positive number of milliseconds');
  const timeoutMs = otlp?.timeoutMs ?? fromEnv('OTEL_METRIC_EXPORT_TIMEOUT') ?? 30_000;
  if (!positive(timeoutMs)) fail('otlp.timeoutMs', 'must be a positive number of milliseconds');
  // The SDK refuses a timeout longer than the interval; a push cannot usefully outlast its period.
  return { url, intervalMs, timeoutMs: Math.min(timeoutMs, intervalMs) };
}
