/**
 * The default deployment as users run it: `node bin/pitboss.mjs start` (what `npm start` runs) in a
 * child process on the embedded store (no DATABASE_URL, no REDIS_URL), a data dir of the caller's,
 * a free port and a control token. The bin imports dist/src/cli.js into its own process, so the
 * child's pid is the supervisor's and /proc/<pid>/status is its memory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../test/setup/support.ts';
import { projectRoot } from './dist.ts';

/** `PITBOSS_CONTROL_TOKEN` of every started deployment (≥ 16 characters). */
const token = 'bench-embedded-control-token';
const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 30_000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A field of /proc/<pid>/status in MB (`VmRSS`, `VmHWM`). */
function procStatusMb(pid: number, field: string): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  if (match === null) throw new Error(`/proc/${pid}/status has no ${field}`);
  return Number(match[1]) / 1024;
}

/** A running `pitboss start`. */
export class Deployment {
  readonly url: string;
  readonly #child: ChildProcess;
  /** The last lines of its output, for the error when it dies or never gets ready. */
  readonly #tail: string[] = [];
  readonly #exited: Promise<number | null>;

  private constructor(child: ChildProcess, url: string) {
    this.#child = child;
    this.url = url;
    const keep = (chunk: Buffer): void => {
      this.#tail.push(...chunk.toString('utf8').split('\n').filter((line) => line !== ''));
      this.#tail.splice(0, Math.max(0, this.#tail.length - 20));
    };
    // Read and dropped (but the tail): the deployment logs a line per completed job at info, and a
    // pipe nobody reads would block it.
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    this.#exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  /**
   * Starts `node bin/pitboss.mjs start` on `dataDir` and resolves once `GET /readyz` answers 200,
   * with the ms from spawn to that answer. Fails if the bin says it runs the sources instead of dist/.
   */
  static async start(dataDir: string): Promise<{ deployment: Deployment; readyMs: number }> {
    const port = await freePort();
    const env: NodeJS.ProcessEnv = { ...process.env, PITBOSS_DATA_DIR: dataDir, PORT: String(port), PITBOSS_CONTROL_TOKEN: token, HOST: '127.0.0.1' };
    // The embedded default: no services. No NODE_OPTIONS either: the runner's loaders are not the user's.
    for (const key of ['DATABASE_URL', 'REDIS_URL', 'NODE_OPTIONS', 'PITBOSS_THREADS', 'LOG_LEVEL']) delete env[key];
    const started = performance.now();
    const child = spawn(process.execPath, [join(projectRoot, 'bin/pitboss.mjs'), 'start'], { cwd: projectRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const deployment = new Deployment(child, `http://127.0.0.1:${port}`);
    let exitCode: number | null | undefined;
    void deployment.#exited.then((code) => { exitCode = code; });
    for (;;) {
      if (exitCode !== undefined) throw new Error(`pitboss start exited (${exitCode}) before ready:\n${deployment.#tail.join('\n')}`);
      if (performance.now() - started > READY_TIMEOUT_MS) {
        await deployment.stop().catch(() => {});
        throw new Error(`pitboss start not ready after ${READY_TIMEOUT_MS / 1000} s:\n${deployment.#tail.join('\n')}`);
      }
      const ready = await fetch(`${deployment.url}/readyz`).then((r) => r.status === 200, () => false);
      if (ready) break;
      await sleep(5);
    }
    const readyMs = performance.now() - started;
    const fromSource = deployment.#tail.find((line) => line.includes('running them through tsx'));
    if (fromSource !== undefined) {
      await deployment.stop();
      throw new Error(`pitboss start ran the sources, not dist/: ${fromSource}`);
    }
    return { deployment, readyMs };
  }

  /** Resident set size of the supervisor process now (VmRSS), in MB. */
  rssMb(): number {
    return procStatusMb(this.#child.pid!, 'VmRSS');
  }

  /** Peak resident set size so far (VmHWM), in MB. */
  peakRssMb(): number {
    return procStatusMb(this.#child.pid!, 'VmHWM');
  }

  /** `POST /jobs` with the control token; retries after a 429 (backpressure) as a client should. */
  async enqueue(body: unknown): Promise<void> {
    for (;;) {
      const response = await fetch(`${this.url}/jobs`, {
        method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body),
      });
      const text = await response.text();
      if (response.status === 202) return;
      if (response.status !== 429) throw new Error(`POST /jobs answered ${response.status}: ${text}`);
      await sleep(Number(response.headers.get('retry-after') ?? 1) * 1000);
    }
  }

  /** One queue's counts from `GET /queues`. */
  async queue(name: string): Promise<{ queued: number; running: number; completed: number; failed: number; dead: number }> {
    const response = await fetch(`${this.url}/queues`, { headers: { authorization: `Bearer ${token}` } });
    if (response.status !== 200) throw new Error(`GET /queues answered ${response.status}`);
    const { queues } = (await response.json()) as { queues: { queue: string; queued: number; running: number; completed: number; failed: number; dead: number }[] };
    const stats = queues.find((q) => q.queue === name);
    if (stats === undefined) throw new Error(`GET /queues has no queue ${name}`);
    return stats;
  }

  /** SIGTERM, as an orchestrator stops it; resolves with the exit code once the process is gone. */
  async stop(): Promise<number | null> {
    this.#child.kill('SIGTERM');
    const timeout = sleep(STOP_TIMEOUT_MS).then(() => 'timeout' as const);
    const result = await Promise.race([this.#exited, timeout]);
    if (result === 'timeout') {
      this.#child.kill('SIGKILL');
      throw new Error(`pitboss start did not exit within ${STOP_TIMEOUT_MS / 1000} s of SIGTERM`);
    }
    return result;
  }
}
