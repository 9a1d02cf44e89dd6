/**
 * Whether the database is reachable and can write, and the retry loop writes run in. The first
 * connection or storage failure of an outage emits `store.connection.lost` and tells subscribers
 * (consumers stop claiming); the first success after it emits `store.connection.reconnected` with
 * the downtime. While down, a probe notices recovery even when nothing is being written, because
 * consumers that stopped claiming write nothing. A storage outage (a full disk) ends only by a
 * write or a probe that passes the write gate — a read succeeds on a full disk and proves nothing.
 */
import pRetry from 'p-retry';
import type { Telemetry } from '../../telemetry/bus.ts';
import { withoutCorrelation } from '../../telemetry/correlation.ts';
import { describeError } from '../../errors/describe.ts';
import { classifyFailure, closedError, storeError, writeFailed } from './failures.ts';
import type { SqlBackend } from './types.ts';

export interface HealthOptions {
  readonly bus: Telemetry;
  readonly backend: SqlBackend;
  /** Run while down; resolving ends the outage (so it must pass the write gate too). */
  readonly probe: () => Promise<unknown>;
  /** Why a write would fail now, asked before each write; null or absent: no such check (pg). */
  readonly writeBlocker?: (() => Promise<string | null>) | null;
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
  /** Why the store is down (the error that started the outage), null while up. */
  #problem: string | null = null;
  #downKind: 'connection' | 'storage' = 'connection';
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

  /** Why the store is down ("only 3.0 MiB free on …", "connect ECONNREFUSED …"), or null while up. */
  get problem(): string | null {
    return this.#problem;
  }

  /** True while down because the database cannot write (not merely unreachable): waiting will not flush anything. */
  get writeBlocked(): boolean {
    return !this.#available && this.#downKind === 'storage';
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

  /** A statement failed: a connection or storage failure starts an outage; any other answer proves the server is there. */
  failed(error: unknown): void {
    const kind = classifyFailure(error);
    if (kind === 'connection' || kind === 'storage') this.#markDown(error, kind);
    else this.succeeded('read');
  }

  /** A statement succeeded: a write (or the probe) ends any outage, a read only a connection outage. */
  succeeded(proof: 'read' | 'write' = 'write'): void {
    if (this.#available || (proof === 'read' && this.#downKind === 'storage')) return;
    withoutCorrelation(() => this.#markUp());
  }

  #markUp(): void {
    this.#available = true;
    this.#problem = null;
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
    await this.#gate(what);
    try {
      const result = await pRetry(work, {
        retries: Number.POSITIVE_INFINITY, maxRetryTime: budgetMs, minTimeout: minDelayMs, maxTimeout: maxDelayMs, factor: 2, randomize: true, signal,
        onFailedAttempt: ({ error }) => this.failed(error),
        // A full disk is not retried: it does not empty itself within a budget, and the caller
        // (a client waiting on POST /jobs) should hear at once.
        shouldRetry: ({ error }) => { const kind = classifyFailure(error); return kind === 'connection' || kind === 'transient'; },
      });
      this.succeeded();
      return result;
    } catch (error) {
      if (signal.aborted) throw closedError(what);
      throw storeError(error, what);
    }
  }

  /** Runs a read once: no retry (callers poll), but its outcome still moves the health state. */
  async once<T>(what: string, work: () => Promise<T>, proof: 'read' | 'write' = 'read'): Promise<T> {
    if (this.#abort.signal.aborted) throw closedError(what);
    try {
      const result = await work();
      this.succeeded(proof);
      return result;
    } catch (error) {
      this.failed(error);
      throw storeError(error, what);
    }
  }

  /** Runs a write once (not retried: see the callers), behind the write gate. */
  async write<T>(what: string, work: () => Promise<T>): Promise<T> {
    if (this.#abort.signal.aborted) throw closedError(what);
    await this.#gate(what);
    return this.once(what, work, 'write');
  }

  /** Refuses a write up front when the client says it would fail (the embedded store's disk guard). */
  async #gate(what: string): Promise<void> {
    const check = this.#o.writeBlocker;
    if (check === undefined || check === null) return;
    const blocker = await check();
    if (blocker === null) return;
    const error = writeFailed(`${what}: ${blocker}`);
    this.#markDown(writeFailed(blocker), 'storage');
    throw error;
  }

  close(): void {
    this.#abort.abort(closedError('store'));
    if (this.#probeTimer !== null) clearTimeout(this.#probeTimer);
    this.#probeTimer = null;
    this.#listeners = [];
  }

  /** The outage is the store's, not the job whose write noticed it: its events carry no correlation. */
  #markDown(error: unknown, kind: 'connection' | 'storage'): void {
    if (this.#abort.signal.aborted) return;
    // A storage failure met during a connection outage (or the reverse) is the newer news.
    if (!this.#available) {
      this.#downKind = kind;
      this.#problem = describeError(error).error;
      return;
    }
    withoutCorrelation(() => this.#enterOutage(error, kind));
  }

  #enterOutage(error: unknown, kind: 'connection' | 'storage'): void {
    this.#available = false;
    this.#downKind = kind;
    this.#problem = describeError(error).error;
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
      this.#o.probe().then(() => this.succeeded('write'), (error: unknown) => {
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
