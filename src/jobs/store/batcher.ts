/**
 * Group commit. Concurrent callers push rows; one flush writes every row pending at that moment with
 * one multi-row statement and hands each caller its own slice of the results. A flush starts on the
 * next turn of the event loop (or as soon as `maxRows` are pending); rows that arrive while
 * `maxInFlight` flushes are under way wait and form the next batch, so batches grow by themselves
 * with load. Measured on the reference 2-core machine (local Postgres 15, 256 concurrent callers,
 * one job each): ~32–42k rows/s at ~250 rows per flush, against ~2.6–3.1k rows/s with `maxRows: 1`
 * (row-at-a-time) and ~5–6.5k rows/s for plain one-row INSERTs on a 10-connection pg pool. PGlite:
 * ~11k vs ~1.1k rows/s. maxInFlight 2 beat 1 by ~10% and 4 gained nothing at 256 callers.
 *
 * Failure handling:
 *  - connection failures are retried inside one flush (StoreHealth.retry), rows stay pending;
 *  - a rejected statement (constraint, bad data) fails only the callers whose rows caused it: a
 *    batch of several callers is re-run one caller at a time;
 *  - a storage failure (full disk) is not retried: the callers hear at once;
 *  - `keep` batchers (fire-and-forget rows) put their rows back when the retry budget runs out, or
 *    the disk is full, and try again later instead of failing anyone; only closing the store drops
 *    them (counted).
 */
import type { Telemetry } from '../../telemetry/bus.ts';
import { withoutCorrelation } from '../../telemetry/correlation.ts';
import type { PitbossError } from '../../errors/classes.ts';
import { closedError } from './failures.ts';
import type { StoreHealth } from './health.ts';
import type { SqlBackend } from './types.ts';

export type FlushKind = 'enqueue' | 'claim' | 'finish' | 'actions' | 'worker_events' | 'progress';

export interface BatcherOptions<I, O> {
  readonly kind: FlushKind;
  readonly backend: SqlBackend;
  readonly bus: Telemetry;
  readonly health: StoreHealth;
  readonly maxRows: number;
  readonly maxInFlight: number;
  readonly delayMs: number;
  /** Writes `rows`; resolves to one output per row, in order. `attempt` > 1 marks a retry. */
  readonly write: (rows: readonly I[], attempt: number) => Promise<readonly O[]>;
  /** Keep rows through an outage instead of failing their callers (for fire-and-forget writes). */
  readonly keep: boolean;
  /** How many kept rows may wait before the oldest are dropped (counted). */
  readonly maxKeptRows: number;
  /** Delay before a kept batch is tried again after its retry budget ran out. */
  readonly keepRetryMs: number;
}

/** One caller's rows and how to answer it. */
class Group<I, O> {
  constructor(
    readonly rows: readonly I[],
    readonly resolve: (outputs: O[]) => void,
    readonly reject: (error: unknown) => void,
  ) {}
}

export class Batcher<I, O> {
  readonly #o: BatcherOptions<I, O>;
  readonly #metadata: { backend: SqlBackend; kind: FlushKind };
  #pending: Group<I, O>[] = [];
  #pendingRows = 0;
  #inFlight = 0;
  #timer: NodeJS.Timeout | NodeJS.Immediate | null = null;
  #closed = false;
  #dropped = 0;
  #idle: (() => void)[] = [];

  constructor(options: BatcherOptions<I, O>) {
    this.#o = options;
    this.#metadata = { backend: options.backend, kind: options.kind };
  }

  /** Rows dropped: kept rows over `maxKeptRows`, still unwritten when the store closed, or refused. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Counts rows the caller refused before pushing (malformed): lost like the rest, so counted with them. */
  refused(rows: number): void {
    this.#dropped += rows;
  }

  /** Queues one caller's rows; resolves to their outputs once a flush committed them. */
  push(rows: readonly I[]): Promise<O[]> {
    if (this.#closed) return Promise.reject(closedError(this.#o.kind));
    if (rows.length === 0) return Promise.resolve([]);
    return new Promise<O[]>((resolve, reject) => {
      this.#pending.push(new Group(rows, resolve, reject));
      this.#pendingRows += rows.length;
      if (this.#o.keep) this.#shed();
      this.#schedule();
    });
  }

  /** Resolves once nothing is pending or in flight. */
  idle(): Promise<void> {
    if (this.#pending.length === 0 && this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Fails what is still pending (after the caller gave `idle()` its chance) and refuses new rows. */
  close(): void {
    this.#closed = true;
    this.#clearTimer();
    const left = this.#pending;
    this.#pending = [];
    this.#pendingRows = 0;
    for (const group of left) {
      if (this.#o.keep) this.#dropped += group.rows.length;
      group.reject(closedError(this.#o.kind));
    }
    this.#checkIdle();
  }

  #schedule(): void {
    if (this.#pending.length === 0 || this.#inFlight >= this.#o.maxInFlight) return;
    if (this.#pendingRows >= this.#o.maxRows) {
      this.#clearTimer();
      withoutCorrelation(() => this.#flush());
      return;
    }
    if (this.#timer !== null) return;
    const fire = (): void => {
      this.#timer = null;
      this.#flush();
    };
    // One flush writes the rows of many callers: it runs (and emits store.flush) in none's correlation.
    this.#timer = withoutCorrelation(() => (this.#o.delayMs > 0 ? setTimeout(fire, this.#o.delayMs) : setImmediate(fire)));
  }

  #flush(): void {
    while (this.#pending.length > 0 && this.#inFlight < this.#o.maxInFlight) {
      const groups: Group<I, O>[] = [];
      let rows = 0;
      // Whole callers only; one caller larger than maxRows goes alone (its statement is still one).
      while (this.#pending.length > 0 && (rows === 0 || rows + this.#pending[0]!.rows.length <= this.#o.maxRows)) {
        const group = this.#pending.shift()!;
        groups.push(group);
        rows += group.rows.length;
      }
      this.#pendingRows -= rows;
      this.#inFlight += 1;
      void this.#run(groups).finally(() => {
        this.#inFlight -= 1;
        this.#schedule();
        this.#checkIdle();
      });
    }
  }

  async #run(groups: Group<I, O>[]): Promise<void> {
    const rows = groups.length === 1 ? groups[0]!.rows : groups.flatMap((g) => g.rows);
    try {
      const outputs = await this.#write(rows);
      let offset = 0;
      for (const group of groups) {
        group.resolve(outputs.slice(offset, offset + group.rows.length));
        offset += group.rows.length;
      }
    } catch (error) {
      const code = (error as PitbossError).code;
      if (code === 'PITBOSS_STORE_QUERY_FAILED' && groups.length > 1) {
        // Find the caller(s) whose rows the server rejected; the others still commit.
        for (const group of groups) await this.#run([group]);
      } else if ((code === 'PITBOSS_STORE_UNAVAILABLE' || code === 'PITBOSS_STORE_WRITE_FAILED') && this.#o.keep && !this.#closed) {
        this.#requeue(groups);
      } else {
        if (this.#o.keep) this.#dropped += rows.length;
        for (const group of groups) group.reject(error);
      }
    }
  }

  async #write(rows: readonly I[]): Promise<readonly O[]> {
    let started = 0;
    const outputs = await this.#o.health.retry(`store ${this.#o.kind}`, (attempt) => {
      started = performance.now();
      return this.#o.write(rows, attempt);
    });
    this.#o.bus.execute('store.flush', { rows: rows.length, duration: Math.round((performance.now() - started) * 1e6) }, this.#metadata);
    return outputs;
  }

  #requeue(groups: Group<I, O>[]): void {
    this.#pending.unshift(...groups);
    this.#pendingRows += groups.reduce((n, g) => n + g.rows.length, 0);
    this.#shed();
    // Hold the slot for a while so the outage is not hammered by an immediate re-flush.
    this.#inFlight += 1;
    setTimeout(() => {
      this.#inFlight -= 1;
      this.#schedule();
      this.#checkIdle();
    }, this.#o.keepRetryMs).unref();
  }

  /** Drops the oldest kept rows beyond `maxKeptRows` (their callers never wait: fire-and-forget). */
  #shed(): void {
    while (this.#pendingRows > this.#o.maxKeptRows && this.#pending.length > 1) {
      const oldest = this.#pending.shift()!;
      this.#pendingRows -= oldest.rows.length;
      this.#dropped += oldest.rows.length;
      oldest.resolve([]);
    }
  }

  #clearTimer(): void {
    if (this.#timer === null) return;
    if (this.#o.delayMs > 0) clearTimeout(this.#timer as NodeJS.Timeout);
    else clearImmediate(this.#timer as NodeJS.Immediate);
    this.#timer = null;
  }

  #checkIdle(): void {
    if (this.#pending.length > 0 || this.#inFlight > 0) return;
    const waiting = this.#idle;
    this.#idle = [];
    for (const resolve of waiting) resolve();
  }
}
