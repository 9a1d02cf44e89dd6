/**
 * Watches the dispatcher's Redis connection: answers `healthy()`, reports each outage once as
 * `dispatch.connection.lost` and its end as `dispatch.connection.reconnected` (with the downtime),
 * and lets producer calls wait a bounded time for the connection instead of queueing forever.
 *
 * ioredis reconnects by itself; an outage starts at the first `close` (a failed first connect counts
 * too) and ends at the next `ready`, so the many `close`/`reconnecting` events of one outage give one
 * `lost`. Every ioredis `error` is handled here, since an unhandled one would crash the process.
 */
import type { Redis } from 'ioredis';
import type { Telemetry } from '../../telemetry/bus.ts';
import { describeError } from '../../errors/describe.ts';
import { report, type DispatchErrorHandler } from './processing.ts';
import { DispatchError } from '../../errors/classes.ts';

const backend = { backend: 'bullmq' } as const;

/** Socket-level failures: what an outage looks like from ioredis, once per reconnect attempt. */
const NETWORK_ERROR_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE']);

/** Also what BullMQ retries by itself until the connection is back (its `isNotConnectionError`, negated). */
export function isConnectionError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  return (typeof code === 'string' && NETWORK_ERROR_CODES.has(code)) || error.message === 'Connection is closed.' || error.message.includes('ECONNREFUSED');
}

/**
 * An 'error' listener for ioredis clients and BullMQ classes: passes errors on to `onError`, except
 * connection errors, which arrive once per reconnect attempt during an outage and are already
 * reported once as `dispatch.connection.lost` / `.reconnected`.
 */
export function errorListener(onError: DispatchErrorHandler): (error: Error) => void {
  return (error) => {
    if (!isConnectionError(error)) report(onError, error);
  };
}

export class RedisWatch {
  readonly #client: Redis;
  readonly #bus: Telemetry;
  #lostAt: bigint | null = null;
  /** The last error the client reported since it was last ready: why the connection went. */
  #lastError: unknown = null;
  #stopped = false;
  readonly #onError: (error: Error) => void;
  readonly #onClose: () => void;
  readonly #onReady: () => void;
  /** Wakes every `ready()` caller waiting out an outage; one listener however many callers wait. */
  #readyWaiters: (() => void)[] = [];

  constructor(client: Redis, bus: Telemetry, onError: DispatchErrorHandler) {
    this.#client = client;
    this.#bus = bus;
    const forward = errorListener(onError);
    this.#onError = (error) => {
      this.#lastError = error;
      forward(error);
    };
    this.#onClose = () => {
      if (this.#stopped || this.#lostAt !== null) return;
      this.#lostAt = process.hrtime.bigint();
      // ioredis reports the cause ('error': refused, reset, WRONGPASS…) just before 'close'.
      const cause = this.#lastError === null ? {} : describeError(this.#lastError);
      this.#bus.execute('dispatch.connection.lost', {}, { ...backend, ...cause });
    };
    this.#onReady = () => {
      this.#lastError = null;
      const waiters = this.#readyWaiters;
      this.#readyWaiters = [];
      for (const wake of waiters) wake();
      if (this.#lostAt === null) return;
      const downtime = Number(process.hrtime.bigint() - this.#lostAt);
      this.#lostAt = null;
      this.#bus.execute('dispatch.connection.reconnected', { downtime }, backend);
    };
    client.on('error', this.#onError);
    client.on('close', this.#onClose);
    client.on('ready', this.#onReady);
  }

  /** True while the connection is up (ioredis status `ready`). */
  healthy(): boolean {
    return !this.#stopped && this.#client.status === 'ready';
  }

  /**
   * Resolves once the connection is ready; rejects with `PITBOSS_DISPATCH_UNAVAILABLE` after
   * `timeoutMs`. Producer calls wait here rather than in ioredis's offline queue, so an outage costs a
   * caller at most `timeoutMs` and the reconciler re-adds whatever could not be added meanwhile.
   */
  async ready(timeoutMs: number): Promise<void> {
    const client = this.#client;
    if (client.status === 'ready') return;
    if (client.status === 'wait') client.connect().catch(() => {}); // a lazyConnect client handed in by the host
    if (client.status === 'end') throw new DispatchError('PITBOSS_DISPATCH_UNAVAILABLE', 'the Redis connection is closed');
    await new Promise<void>((resolve, reject) => {
      const wake = (): void => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#readyWaiters = this.#readyWaiters.filter((w) => w !== wake);
        reject(new DispatchError('PITBOSS_DISPATCH_UNAVAILABLE', `Redis did not become ready within ${timeoutMs} ms (status ${client.status})`));
      }, timeoutMs);
      this.#readyWaiters.push(wake);
    });
  }

  /** Stops reporting (before the connection is closed on purpose) and detaches from the client. */
  stop(): void {
    this.#stopped = true;
    this.#client.off('close', this.#onClose);
    this.#client.off('ready', this.#onReady);
    // The error listener stays: a client closing after stop() must still never emit an unhandled 'error'.
  }
}

/**
 * Closes a client without hanging: QUIT is queued like any command, so on a client that is not
 * connected (and with `maxRetriesPerRequest: null`) it would wait for Redis forever.
 */
export async function closeClient(client: Redis): Promise<void> {
  if (client.status !== 'ready') {
    client.disconnect();
    return;
  }
  await client.quit().catch(() => client.disconnect());
}
