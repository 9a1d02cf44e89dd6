/**
 * Whether the database is reachable, and the retry loop writes run in. The first connection failure
 * of an outage emits `store.connection.lost` and tells subscribers (consumers stop claiming); the
 * first success after it emits `store.connection.reconnected` with the downtime. While down, a
 * probe (`SELECT 1`) notices recovery even when nothing is being written, because consumers that
 * stopped claiming write nothing.
 */
import pRetry from 'p-retry';
import type { Telemetry } from '../../telemetry/bus.ts';
import { withoutCorrelation } from '../../telemetry/correlation.ts';
import { describeError } from '../../telemetry/span.ts';
import { classifyFailure, closedError, storeError } from './failures.ts';
import type { SqlBackend } from './types.ts';

export interface HealthOptions {
  readonly bus: Telemetry;
  readonly backend: SqlBackend;
  readonly probe: () => Promise<unknown>;
  readonly budgetMs: number;
  readonly minDelayMs: number;
  readonly maxDelayMs: number;
  readonly probeIntervalMs: number;
}

export class StoreHealth {
  readonly #o: HealthOptions;
  readonly #metadata: { backend: SqlBackend };
  readonly #abort = new AbortController();
  #available = true;
  #downSince = 0;
  #listeners: readonly ((available: boolean) => void)[] = [];
  #probeTimer: NodeJS.Timeout | null = null;

  constructor(options: HealthOptions) {
    this.#o = options;
    this.#metadata = { backend: options.backend };
  }

  get available(): boolean {
    return this.#available;
  }

  /** Aborted by `close()`: pending retries stop waiting. */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  onChange(listener: (available: boolean) => void): () => void {
    this.#listeners = [...this.#listeners, listener];
    return () => {
      this.#listeners = this.#listeners.filter((l) => l !== listener);
    };
  }

  /** A statement failed: a connection failure starts an outage; any other answer proves the server is there. */
  failed(error: unknown): void {
    if (classifyFailure(error) === 'connection') this.#markDown(error);
    else this.succeeded();
  }

  succeeded(): void {
    if (this.#available) return;
    withoutCorrelation(() => this.#markUp());
  }

  #markUp(): void {
    this.#available = true;
    if (this.#probeTimer !== null) clearTimeout(this.#probeTimer);
    this.#probeTimer = null;
    const downtime = Math.round((performance.now() - this.#downSince) * 1e6);
    this.#o.bus.execute('store.connection.reconnected', { downtime }, this.#metadata);
    this.#notify(true);
  }

  /**
   * Runs a write, retrying connection and transient failures with jittered exponential backoff for
   * up to the retry budget; `attempt` (1-based) lets statements recognise their own earlier try.
   * Rejects with a typed error: unavailable (budget spent), query failed, timeout, or closed.
   */
  async retry<T>(what: string, work: (attempt: number) => Promise<T>): Promise<T> {
    const { budgetMs, minDelayMs, maxDelayMs } = this.#o;
    const signal = this.#abort.signal;
    if (signal.aborted) throw closedError(what);
    try {
      const result = await pRetry(work, {
        retries: Number.POSITIVE_INFINITY, maxRetryTime: budgetMs, minTimeout: minDelayMs, maxTimeout: maxDelayMs, factor: 2, randomize: true, signal,
        onFailedAttempt: ({ error }) => this.failed(error),
        shouldRetry: ({ error }) => classifyFailure(error) !== 'fatal',
      });
      this.succeeded();
      return result;
    } catch (error) {
      if (signal.aborted) throw closedError(what);
      throw storeError(error, what);
    }
  }

  /** Runs a read once: no retry (callers poll), but its outcome still moves the health state. */
  async once<T>(what: string, work: () => Promise<T>): Promise<T> {
    if (this.#abort.signal.aborted) throw closedError(what);
    try {
      const result = await work();
      this.succeeded();
      return result;
    } catch (error) {
      this.failed(error);
      throw storeError(error, what);
    }
  }

  close(): void {
    this.#abort.abort(closedError('store'));
    if (this.#probeTimer !== null) clearTimeout(this.#probeTimer);
    this.#probeTimer = null;
    this.#listeners = [];
  }

  /** The outage is the store's, not the job whose write noticed it: its events carry no correlation. */
  #markDown(error: unknown): void {
    if (!this.#available || this.#abort.signal.aborted) return;
    withoutCorrelation(() => this.#enterOutage(error));
  }

  #enterOutage(error: unknown): void {
    this.#available = false;
    this.#downSince = performance.now();
    // What failed goes with it, or the log line only says that something did.
    this.#o.bus.execute('store.connection.lost', {}, { ...this.#metadata, ...describeError(error) });
    this.#notify(false);
    this.#scheduleProbe();
  }

  #scheduleProbe(): void {
    if (this.#available || this.#abort.signal.aborted) return;
    const delay = this.#o.probeIntervalMs * (0.5 + Math.random());
    this.#probeTimer = setTimeout(() => {
      this.#o.probe().then(() => this.succeeded(), (error: unknown) => {
        this.failed(error);
        this.#scheduleProbe();
      });
    }, delay);
    this.#probeTimer.unref();
  }

  #notify(available: boolean): void {
    for (const listener of this.#listeners) {
      try {
        listener(available);
      } catch {
        // A subscriber's bug must not break the store's bookkeeping.
      }
    }
  }
}
