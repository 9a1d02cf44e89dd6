// A throwaway redis-server for one test run: a child process on a free loopback port with
// persistence off, killed in teardown. Used when no REDIS_URL is set and nothing answers on
// 127.0.0.1:6379 (apt's redis-server package does not start itself on machines without systemd).
import { spawn, type ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import { Redis } from 'ioredis';
import { cleanupOnExit, exited, findExecutable, freePort, messageOf, ServiceSetupError, stopChild } from './support.ts';

const START_ATTEMPTS = 3;
const READY_TIMEOUT_MS = 5_000;

export interface ThrowawayRedis {
  readonly url: string;
  stop(): Promise<void>;
}

/** Connects once, without ioredis's reconnect loop, and answers whether PING succeeded. */
export async function pingRedis(url: string, timeoutMs = 1_500): Promise<{ ok: true } | { ok: false; reason: string }> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  // connect() rejects with a bare "Connection is closed."; the 'error' event carries the cause
  // (ECONNREFUSED, ENOTFOUND, NOAUTH), which is what a reader of the failure needs.
  let cause: unknown = null;
  client.on('error', (error: unknown) => (cause ??= error));
  try {
    await client.connect();
    await client.ping();
    return { ok: true };
  } catch (error) {
    return { ok: false, reason: messageOf(cause ?? error) };
  } finally {
    client.disconnect();
  }
}

/** Polls PING until the server answers, or reports why it never will (it exited, or timed out). */
async function waitUntilReady(child: ChildProcess, url: string): Promise<'ready' | 'exited' | 'timeout'> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let hasExited = false;
  void exited(child).then(() => (hasExited = true));
  while (Date.now() < deadline) {
    if (hasExited) return 'exited';
    if ((await pingRedis(url, 500)).ok) return 'ready';
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return 'timeout';
}

export async function startThrowawayRedis(): Promise<ThrowawayRedis> {
  const binary = await findExecutable('redis-server', ['/usr/bin', '/usr/sbin', '/usr/local/bin']);
  if (binary === null) throw new ServiceSetupError('pitboss tests need Redis: apt-get install -y redis-server, or set REDIS_URL');

  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const url = `redis://127.0.0.1:${port}`;
    const child = spawn(
      binary,
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', tmpdir()],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    const remember = (chunk: Buffer): void => {
      output = (output + chunk.toString()).slice(-2_000);
    };
    child.stdout?.on('data', remember);
    child.stderr?.on('data', remember);

    const outcome = await waitUntilReady(child, url);
    if (outcome === 'ready') {
      const forgetExitCleanup = cleanupOnExit(() => child.kill('SIGKILL'));
      return {
        url,
        stop: () => {
          forgetExitCleanup();
          return stopChild(child);
        },
      };
    }

    await stopChild(child);
    // Another process took the port between freePort() and bind: try a fresh one.
    if (attempt < START_ATTEMPTS && /already in use/i.test(output)) continue;
    const lastLine = output.trim().split('\n').pop() ?? '';
    throw new ServiceSetupError(`pitboss tests could not start redis-server (${outcome}): ${lastLine}`);
  }
}
