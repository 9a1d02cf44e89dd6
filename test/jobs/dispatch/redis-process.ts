/**
 * A redis-server of the test's own, on a fixed free port, that the test can SIGKILL and start again
 * on the same port. Persistence is off, so a restart comes back empty: the "Redis lost everything"
 * case the reconciler exists for.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import { pingRedis } from '../../setup/redis-server.ts';
import { findExecutable, freePort } from '../../setup/support.ts';
import { sleep } from './helpers.ts';

export class RedisProcess {
  readonly port: number;
  readonly url: string;
  #child: ChildProcess | null = null;

  private constructor(port: number) {
    this.port = port;
    this.url = `redis://127.0.0.1:${port}/0`;
  }

  /** Starts a server on a free port and waits until it answers PING. */
  static async start(): Promise<RedisProcess> {
    const server = new RedisProcess(await freePort());
    await server.restart();
    return server;
  }

  /** (Re)starts the server on the same port. */
  async restart(): Promise<void> {
    if (this.#child !== null) throw new Error('redis-server is still running');
    const binary = await findExecutable('redis-server', ['/usr/bin', '/usr/sbin', '/usr/local/bin']);
    if (binary === null) throw new Error('redis-server is not installed');
    const child = spawn(binary, ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', tmpdir()], {
      stdio: 'ignore',
    });
    this.#child = child;
    child.once('exit', () => {
      if (this.#child === child) this.#child = null;
    });
    const until = Date.now() + 10_000;
    while (!(await pingRedis(this.url, 500)).ok) {
      if (this.#child !== child) throw new Error(`redis-server on port ${this.port} exited while starting`);
      if (Date.now() > until) throw new Error(`redis-server on port ${this.port} did not answer within 10 s`);
      await sleep(25);
    }
  }

  /** SIGKILLs the server (no shutdown, no save) and waits for it to exit. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (child === null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
    this.#child = null;
  }
}
