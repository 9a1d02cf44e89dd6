/** Starts a real deployment (HTTP on an ephemeral port) on an isolated bus, for API tests. */
import { loadConfig, type PitbossConfig } from '../../src/config.ts';
import type { Deployment } from '../../src/deploy/define.ts';
import { startDeployment, type RunningDeployment } from '../../src/deploy/run.ts';
import { createTelemetry } from '../../src/index.ts';
import deployment from '../fixtures/deployment.ts';
import { captureLines } from './log-capture.ts';

export const testToken = 'test-token-0123456789abcdef';

/** `setup.deployment` replaces the default fixture (the faults worker behind queue `work`). */
export async function startTestDeployment(overrides: Partial<PitbossConfig> = {}, setup: { deployment?: Deployment } = {}) {
  const config: PitbossConfig = { ...loadConfig({}), port: 0, dataDir: 'memory://', controlToken: testToken, shutdownTimeoutMs: 3000, ...overrides };
  const telemetry = createTelemetry();
  const logs = captureLines();
  const running: RunningDeployment = await startDeployment(setup.deployment ?? deployment, config, { telemetry, logDestination: logs.stream });
  const request = (method: string, path: string, options: { body?: unknown; raw?: string; token?: string | null; headers?: Record<string, string> } = {}) => {
    const headers: Record<string, string> = { ...options.headers };
    const token = options.token === undefined ? testToken : options.token;
    if (token !== null) headers.authorization = `Bearer ${token}`;
    let payload: string | undefined = options.raw;
    if (options.body !== undefined) payload = JSON.stringify(options.body);
    if (payload !== undefined) headers['content-type'] ??= 'application/json';
    return running.http.inject({ method: method as 'GET', url: path, headers, payload });
  };
  return { running, telemetry, logs: logs.lines, rawLogs: logs.raw, request, config };
}
