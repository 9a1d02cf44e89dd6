/**
 * A real Prometheus server for tests: the Debian `prometheus` binary started as a child process
 * with its own config and data directory in a temp dir, listening on a free loopback port and
 * scraping the given targets every second. Missing binary → one clear line saying what to install.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../setup/support.ts';

export interface PrometheusServer {
  readonly url: string;
  /** An instant query; resolves to the result vector (or throws with Prometheus's error). */
  query(promql: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]>;
  labelValues(label: string, match: string): Promise<string[]>;
  targets(): Promise<{ health: string; scrapeUrl: string; lastError: string }[]>;
  /** Recent stderr lines, for failure messages. */
  log(): string;
  stop(): Promise<void>;
}

/** Throws one line naming the package when the binary is missing. */
export function requirePrometheusBinary(): void {
  const probe = spawnSync('prometheus', ['--version'], { encoding: 'utf8', timeout: 10_000 });
  if ((probe.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    throw new Error('prometheus is not installed: this test runs a real Prometheus server. Install it with `apt-get install -y prometheus` (Debian; .ci/run does) and run again.');
  }
  if (probe.status !== 0) throw new Error(`prometheus --version failed: ${probe.stderr || probe.error?.message}`);
}

/** Starts Prometheus scraping `targets` (host:port) at `metricsPath` every second; resolves once it is ready. */
export async function startPrometheus(targets: readonly string[], options: { metricsPath?: string; readyTimeoutMs?: number } = {}): Promise<PrometheusServer> {
  requirePrometheusBinary();
  const dir = mkdtempSync(join(tmpdir(), 'pitboss-prometheus-'));
  const config = join(dir, 'prometheus.yml');
  writeFileSync(config, [
    'global:',
    '  scrape_interval: 1s',
    '  scrape_timeout: 1s',
    '  evaluation_interval: 1s',
    'scrape_configs:',
    '  - job_name: pitboss',
    `    metrics_path: ${options.metricsPath ?? '/metrics'}`,
    '    static_configs:',
    `      - targets: [${targets.map((t) => `'${t}'`).join(', ')}]`,
    '',
  ].join('\n'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn('prometheus', [
    `--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  const stderr: string[] = [];
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr.push(chunk);
    if (stderr.length > 200) stderr.shift();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let running = true;
  void exited.then(() => { running = false; });

  const stop = async (): Promise<void> => {
    if (running) {
      child.kill('SIGTERM');
      const killed = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 10_000))]);
      if (!killed) {
        child.kill('SIGKILL');
        await exited;
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };

  const api = async <T>(path: string): Promise<T> => {
    const response = await fetch(`${url}${path}`, { signal: AbortSignal.timeout(5000) });
    const body = await response.json() as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`prometheus ${path}: ${body.error ?? response.status}`);
    return body.data;
  };

  const deadline = Date.now() + (options.readyTimeoutMs ?? 30_000);
  for (;;) {
    if (!running) {
      await stop();
      throw new Error(`prometheus exited while starting:\n${stderr.join('')}`);
    }
    const ready = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(2000) }).then((r) => r.ok, () => false);
    if (ready) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus was not ready within ${options.readyTimeoutMs ?? 30_000} ms:\n${stderr.join('')}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  return {
    url,
    query: async (promql) => (await api<{ result: { metric: Record<string, string>; value: [number, string] }[] }>(`/api/v1/query?query=${encodeURIComponent(promql)}`)).result,
    labelValues: (label, match) => api<string[]>(`/api/v1/label/${encodeURIComponent(label)}/values?match[]=${encodeURIComponent(match)}`),
    targets: async () => (await api<{ activeTargets: { health: string; scrapeUrl: string; lastError: string }[] }>('/api/v1/targets')).activeTargets,
    log: () => stderr.join(''),
    stop,
  };
}
