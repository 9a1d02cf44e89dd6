/**
 * A supervisor as production runs it: `node --import tsx src/cli.ts start test/fixtures/deployment.ts`
 * (or another deployment file) in a process of its own (loopback only, ephemeral HTTP port), on
 * Postgres + Redis or, without their URLs, on the embedded default in `dataDir`. A test can SIGKILL
 * or SIGTERM it and wait for its exit. The tails of its stderr and of its JSON log lines are kept.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const deploymentFile = fileURLToPath(new URL('../../fixtures/deployment.ts', import.meta.url));

export interface SupervisorEnv {
  /** Postgres; unset or null: the embedded store in `dataDir`. */
  readonly databaseUrl?: string | null;
  /** Redis; unset or null: in-process dispatch. */
  readonly redisUrl?: string | null;
  readonly dataDir?: string;
  /** Deployment file (default test/fixtures/deployment.ts). */
  readonly deployment?: string;
  /** More environment for the process (e.g. LOG_LEVEL, what a worker module reads). */
  readonly env?: Readonly<Record<string, string>>;
  readonly heartbeatTtlMs?: number;
  readonly reconcileIntervalMs?: number;
  readonly shutdownTimeoutMs?: number;
}

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export class SupervisorProcess {
  readonly id: string;
  readonly exited: Promise<Exit>;
  #child: ChildProcess;
  #stderr = '';
  #stdout = '';

  private constructor(id: string, child: ChildProcess) {
    this.id = id;
    this.#child = child;
    child.stderr!.on('data', (chunk: Buffer) => {
      this.#stderr = (this.#stderr + chunk.toString()).slice(-8_000);
    });
    child.stdout!.on('data', (chunk: Buffer) => {
      this.#stdout = (this.#stdout + chunk.toString()).slice(-64_000);
    });
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  /** Spawns a supervisor and resolves once it says it is running (rejects after `timeoutMs`). */
  static async start(id: string, env: SupervisorEnv, timeoutMs = 45_000): Promise<SupervisorProcess> {
    // Only what the supervisor is told here: nothing inherited from a developer's PITBOSS_*/DATABASE_URL.
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^(PITBOSS_|DATABASE_URL|REDIS_URL|PORT$|HOST$|LOG_LEVEL$)/.test(key)));
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'start', env.deployment ?? deploymentFile], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...inherited,
        ...(env.databaseUrl == null ? {} : { DATABASE_URL: env.databaseUrl }),
        ...(env.redisUrl == null ? {} : { REDIS_URL: env.redisUrl }),
        ...(env.dataDir === undefined ? {} : { PITBOSS_DATA_DIR: env.dataDir }),
        PORT: '0',
        HOST: '127.0.0.1',
        PITBOSS_SUPERVISOR_ID: id,
        PITBOSS_CONTROL_TOKEN: 'fault-test-token-0123456789',
        PITBOSS_SHUTDOWN_TIMEOUT_MS: String(env.shutdownTimeoutMs ?? 10_000),
        PITBOSS_HEARTBEAT_TTL_MS: String(env.heartbeatTtlMs ?? 15_000),
        PITBOSS_RECONCILE_INTERVAL_MS: String(env.reconcileIntervalMs ?? 2_000),
        LOG_LEVEL: 'warn',
        ...env.env,
      },
    });
    const supervisor = new SupervisorProcess(id, child);
    const until = Date.now() + timeoutMs;
    let exit: Exit | null = null;
    void supervisor.exited.then((e) => { exit = e; });
    while (!supervisor.#stderr.includes(`pitboss supervisor ${id} is running`)) {
      if (exit !== null) throw new Error(`supervisor ${id} exited while starting (${JSON.stringify(exit)}): ${supervisor.#stderr}`);
      if (Date.now() > until) {
        child.kill('SIGKILL');
        throw new Error(`supervisor ${id} did not start within ${timeoutMs} ms: ${supervisor.#stderr}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return supervisor;
  }

  get pid(): number {
    return this.#child.pid!;
  }

  get stderr(): string {
    return this.#stderr;
  }

  /** The tail of its stdout: JSON log lines. */
  get stdout(): string {
    return this.#stdout;
  }

  /** Log lines (parsed) whose `event` is `event`. */
  logLines(event: string): Record<string, unknown>[] {
    return this.#stdout.split('\n').filter((line) => line.includes(`"${event}"`)).flatMap((line) => {
      try {
        const parsed = JSON.parse(line) as Record<string, unknown>;
        return parsed.event === event ? [parsed] : [];
      } catch {
        return [];
      }
    });
  }

  /** Its HTTP base URL, from the startup banner. */
  get url(): string {
    const found = /status\s+(http:\/\/[^/\s]+)\/status/.exec(this.#stderr);
    if (found === null) throw new Error(`supervisor ${this.id}: no URL in its banner: ${this.#stderr}`);
    return found[1]!;
  }

  /** Sends `signal` and waits (bounded) for the exit; SIGKILLs and fails if it does not come. */
  async signal(signal: NodeJS.Signals, timeoutMs = 30_000): Promise<Exit> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.#child.kill('SIGKILL');
        reject(new Error(`supervisor ${this.id} did not exit within ${timeoutMs} ms of ${signal}: ${this.#stderr}`));
      }, timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** For cleanup: kill it if it still runs. */
  async kill(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    this.#child.kill('SIGKILL');
    await this.exited;
  }
}
