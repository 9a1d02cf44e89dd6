/** Environment validation: a bad number names the key, the rule and what was typed (issue 15). */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';

const messageOf = (env: Record<string, string>): string => {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toMatchObject({ code: 'PITBOSS_INVALID_CONFIG' });
    return (error as Error).message;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
};

describe('loadConfig numbers', () => {
  it('refuses a non-number with the key, the rule and the value, not "received NaN"', () => {
    const message = messageOf({ PORT: 'abc' });
    expect(message).toContain('PORT: must be a whole number from 0 to 65535, got "abc"');
    expect(message).not.toMatch(/NaN/);
    expect(messageOf({ PITBOSS_THREADS: 'many' })).toContain('PITBOSS_THREADS: must be a whole number from 1 to 256, got "many"');
    expect(messageOf({ PITBOSS_SHUTDOWN_TIMEOUT_MS: '1e3' })).toContain('PITBOSS_SHUTDOWN_TIMEOUT_MS: must be a whole number 1 or more, got "1e3"');
  });

  it('refuses fractions and out-of-range values the same way', () => {
    expect(messageOf({ PORT: '80.5' })).toContain('PORT: must be a whole number from 0 to 65535, got "80.5"');
    expect(messageOf({ PORT: '70000' })).toContain('PORT: must be a whole number from 0 to 65535, got "70000"');
    expect(messageOf({ PITBOSS_RETENTION_DAYS: '-1' })).toContain('PITBOSS_RETENTION_DAYS: must be a whole number from 0 to 36500, got "-1"');
  });

  it('parses good numbers and keeps the defaults', () => {
    expect(loadConfig({ PORT: '0', PITBOSS_THREADS: '3', PITBOSS_RETENTION_DAYS: '0' })).toMatchObject({ port: 0, threads: 3, retentionDays: 0 });
    expect(loadConfig({})).toMatchObject({ port: 8000, shutdownTimeoutMs: 10_000, heartbeatTtlMs: 15_000, reconcileIntervalMs: 2000, retentionDays: 14, retentionDeadDays: 30 });
    expect(messageOf({ PITBOSS_HEARTBEAT_TTL_MS: '1000' })).toContain('PITBOSS_HEARTBEAT_TTL_MS: must be at least twice PITBOSS_RECONCILE_INTERVAL_MS');
  });
});

describe('loadConfig OTLP metrics URL', () => {
  it('takes OTEL_EXPORTER_OTLP_METRICS_ENDPOINT as it is, else the base endpoint with /v1/metrics, else no push', () => {
    expect(loadConfig({}).otlpMetricsUrl).toBeNull();
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }).otlpMetricsUrl).toBe('http://collector:4318/v1/metrics');
    expect(loadConfig({ OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://collector:4318/custom' }).otlpMetricsUrl).toBe('http://collector:4318/custom');
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://base:4318', OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://metrics:4318/m' }).otlpMetricsUrl).toBe('http://metrics:4318/m');
    expect(messageOf({ OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'collector:4318' })).toContain('OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: must be an http(s) URL');
    expect(messageOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url' })).toContain('OTEL_EXPORTER_OTLP_ENDPOINT: must be an http(s) URL');
  });
});
