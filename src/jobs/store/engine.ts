/**
 * The private engine behind JobStore and its facets: owns the SQL client, the health state, the
 * group-commit batchers the facets create, the settings listeners, and closing. Facets validate
 * their arguments and run their statements through it; nothing here is exported from the index.
 */
import { JobError } from '../../errors/classes.ts';
import type { Telemetry } from '../../telemetry/bus.ts';
import { Batcher, type FlushKind } from './batcher.ts';
import { closedError, writeFailed } from './failures.ts';
import { StoreHealth } from './health.ts';
import { migrationSql } from './schema.ts';
import type { BatchOptions, RetryOptions, SqlBackend, SqlClient } from './types.ts';

export interface EngineOptions {
  readonly client: SqlClient;
  readonly ownsClient: boolean;
  readonly bus: Telemetry;
  readonly schema: string;
  readonly batch: Required<BatchOptions>;
  readonly retry: Required<RetryOptions>;
  readonly closeTimeoutMs: number;
}

export class StoreEngine {
  readonly client: SqlClient;
  readonly health: StoreHealth;
  readonly bus: Telemetry;
  /** The schema this store's statements land in (NOTIFY payloads name it). */
  readonly schema: string;
  readonly #o: EngineOptions;
  readonly #batchers = new Map<FlushKind, Batcher<never, unknown>>();
  readonly #unlisteners = new Set<() => Promise<void>>();
  #closing: Promise<void> | null = null;

  constructor(options: EngineOptions) {
    this.#o = options;
    const { client, bus, retry } = options;
    this.client = client;
    this.bus = bus;
    this.schema = options.schema;
    // Only a client that can tell (PGlite's disk guard) gates writes; pg pays nothing for it.
    const writeBlocker = client.writeBlocker === undefined ? null : client.writeBlocker.bind(client);
    const probe = async (): Promise<void> => {
      const blocker = await writeBlocker?.();
      if (blocker !== undefined && blocker !== null) throw writeFailed(blocker);
      await client.query('SELECT 1');
    };
    this.health = new StoreHealth({ bus, backend: client.backend, probe, writeBlocker, ...retry });
  }

  get backend(): SqlBackend {
    return this.client.backend;
  }

  /**
   * A group-commit batcher for one kind of write (one per kind); `close()` drains and closes it.
   * `tuning` overrides the store's batch options for this kind (e.g. one flush in flight, for writes
   * whose order matters).
   */
  batcher<I, O>(
    kind: FlushKind, keep: boolean, write: (rows: readonly I[], attempt: number) => Promise<readonly O[]>, tuning: { maxInFlight?: number } = {},
  ): Batcher<I, O> {
    const { bus, client, batch, retry } = this.#o;
    const batcher = new Batcher<I, O>({
      kind, backend: client.backend, bus, health: this.health, write, keep, ...batch, ...tuning, maxKeptRows: 100_000, keepRetryMs: retry.maxDelayMs,
    });
    this.#batchers.set(kind, batcher as unknown as Batcher<never, unknown>);
    return batcher;
  }

  /** Rows of a fire-and-forget kind that could not be written. */
  dropped(kind: FlushKind): number {
    return this.#batchers.get(kind)?.dropped ?? 0;
  }

  /** True once `close()` was called. */
  get closed(): boolean {
    return this.#closing !== null;
  }

  /** Throws `PITBOSS_STORE_CLOSED` naming `what` once the store is closing; true otherwise (for `&&` chains). */
  open(what: string): true {
    if (this.#closing !== null) throw closedError(what);
    return true;
  }

  /** Keeps a listener's unsubscribe so `close()` ends it; the returned unsubscribe runs it at most once. */
  track(unlisten: () => Promise<void>): () => Promise<void> {
    this.#unlisteners.add(unlisten);
    return async () => {
      if (this.#unlisteners.delete(unlisten)) await unlisten();
    };
  }

  /** Writes what is pending (waiting up to `closeTimeoutMs`), then closes; the same promise on every call. */
  close(): Promise<void> {
    return (this.#closing ??= this.#close());
  }

  async #close(): Promise<void> {
    const batchers = [...this.#batchers.values()];
    // Give pending writes their chance (they may be riding out an outage), then stop retrying; a
    // store that cannot write (full disk) would only spend the shutdown timeout on them.
    if (!this.health.writeBlocked) await withTimeout(Promise.all(batchers.map((b) => b.idle())), this.#o.closeTimeoutMs, 'close').catch(() => {});
    this.health.close();
    for (const batcher of batchers) batcher.close();
    await Promise.all([...this.#unlisteners].map((unlisten) => unlisten().catch(() => {})));
    this.#unlisteners.clear();
    if (this.#o.ownsClient) await this.client.close();
  }
}

/** Runs `fn`, turning a synchronous throw (a validation error) into a rejection. */
export const settle = <T>(fn: () => Promise<T>): Promise<T> => {
  try {
    return fn();
  } catch (error) {
    return Promise.reject(error);
  }
};

/** The schema a client's statements land in (after migrations created it). */
export async function currentSchema(client: SqlClient): Promise<string> {
  const [row] = await client.query<{ schema: string | null }>(migrationSql.currentSchema);
  return row?.schema ?? client.schema ?? 'public';
}

export function withTimeout<T>(work: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new JobError('PITBOSS_STORE_TIMEOUT', `${what} took longer than ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
