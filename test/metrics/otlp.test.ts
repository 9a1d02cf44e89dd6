import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { createMetrics, type Metrics } from '../../src/metrics/index.ts';
import { createTelemetry } from '../../src/telemetry/bus.ts';
import { startTestDeployment } from '../helpers/deployment.ts';
import { loadConfig } from '../../src/config.ts';

/** A stand-in OTLP/HTTP collector that keeps every request it gets. */
interface Collector {
  readonly url: string;
  readonly requests: { path: string; contentType: string; body: string }[];
  close(): Promise<void>;
}

async function startCollector(): Promise<Collector> {
  const requests: Collector['requests'] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push({ path: req.url ?? '', contentType: String(req.headers['content-type']), body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, requests, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

interface OtlpPoint { attributes: { key: string; value: { stringValue?: string } }[]; asDouble?: number; count?: string | number; sum?: number }
interface OtlpMetric { name: string; sum?: { dataPoints: OtlpPoint[] }; histogram?: { dataPoints: OtlpPoint[] } }

/** Metrics by name from an OTLP JSON export request. */
function metricsIn(body: string): Map<string, OtlpMetric> {
  const parsed = JSON.parse(body) as { resourceMetrics: { scopeMetrics: { metrics: OtlpMetric[] }[] }[] };
  return new Map(parsed.resourceMetrics.flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics)).map((m) => [m.name, m]));
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function track(metrics: Metrics): Metrics {
  cleanups.push(() => metrics.shutdown());
  return metrics;
}

async function until(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for an OTLP push');
    await sleep(20);
  }
}

describe('OTLP push', () => {
  it('pushes folded metrics to <endpoint>/v1/metrics on its interval', async () => {
    const collector = await startCollector();
    cleanups.push(collector.close);
    const bus = createTelemetry();
    track(createMetrics({ telemetry: bus, otlp: { endpoint: `${collector.url}/`, intervalMs: 100 }, resource: { 'service.instance.id': 'test-1' } }));
    bus.execute('job.stop', { duration: 5e8, queue_time: 0, attempt: 1 }, { queue: 'email', job_name: 'send', status: 'completed' });
    bus.execute('job.stop', { duration: 1e9, queue_time: 0, attempt: 1 }, { queue: 'email', job_name: 'send', status: 'completed' });

    await until(() => collector.requests.some((r) => r.body.includes('pitboss.jobs')));
    const request = collector.requests.find((r) => r.body.includes('pitboss.jobs'))!;
    expect(request.path).toBe('/v1/metrics');
    const metrics = metricsIn(request.body);
    expect(metrics.get('pitboss.jobs')!.sum!.dataPoints[0]!.asDouble).toBe(2);
    const duration = metrics.get('pitboss.job.duration')!.histogram!.dataPoints[0]!;
    expect(Number(duration.count)).toBe(2);
    expect(duration.sum).toBe(1.5);
    expect(request.body).toContain('test-1');
  });

  it('uses OTEL_EXPORTER_OTLP_ENDPOINT when no endpoint is given, flushes on shutdown, and stays off with otlp: false', async () => {
    const collector = await startCollector();
    cleanups.push(collector.close);
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_METRIC_EXPORT_INTERVAL: '60000' };

    const silent = createTelemetry();
    track(createMetrics({ telemetry: silent, otlp: false, env }));
    silent.execute('job.cancelled', { attempt: 0 }, { queue: 'silent', job_name: 'x', status: 'cancelled' });

    const bus = createTelemetry();
    const metrics = createMetrics({ telemetry: bus, env });
    bus.execute('job.cancelled', { attempt: 0 }, { queue: 'email', job_name: 'send', status: 'cancelled' });
    await sleep(100);
    expect(collector.requests).toEqual([]);
    await metrics.shutdown();
    expect(collector.requests).toHaveLength(1);
    expect(collector.requests[0]!.path).toBe('/v1/metrics');
    expect(metricsIn(collector.requests[0]!.body).get('pitboss.jobs')!.sum!.dataPoints[0]!.asDouble).toBe(1);
    expect(collector.requests[0]!.body).not.toContain('silent');
  });

  it('a deployment pushes to OTEL_EXPORTER_OTLP_METRICS_ENDPOINT as it is, and flushes when it stops', async () => {
    const collector = await startCollector();
    cleanups.push(collector.close);
    const { otlpMetricsUrl } = loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9/', OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: `${collector.url}/otlp/metrics` });
    const { running, request } = await startTestDeployment({ otlpMetricsUrl });
    const accepted = await request('POST', '/jobs', { body: { queue: 'work', name: 'ok', data: { kind: 'ok', value: 1 } } });
    expect(accepted.statusCode).toBe(202);
    const id = (accepted.json() as { id: string }).id;
    for (let status = ''; status !== 'completed'; await sleep(25)) status = (((await request('GET', `/jobs/${id}`)).json()) as { status: string }).status;
    await running.stop('test');
    // The base endpoint (a closed port) is never tried: the metrics variable wins.
    expect(collector.requests.map((r) => r.path)).toEqual(['/otlp/metrics']);
    expect(metricsIn(collector.requests[0]!.body).get('pitboss.jobs')!.sum!.dataPoints[0]!.asDouble).toBe(1);
  });
});
