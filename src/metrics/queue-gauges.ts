/**
 * `pitboss.queue.depth` and `pitboss.workers.active`: observable gauges read from Postgres, the
 * truth, rather than folded from events (a restarted supervisor would otherwise start from zero).
 *
 * One stats query serves both gauges and every reader: results are cached for `ttlMs`, and a
 * query already running is shared rather than repeated, so a Prometheus scrape and an OTLP push
 * landing together cost the database one query. A slow or stalled database must not hang /metrics:
 * each read waits at most `timeoutMs`, then serves the last values (if younger than `maxStaleMs`)
 * or nothing, and counts the timeout. A query that never settles is given up on after
 * `abandonAfterMs`, so the gauges recover without piling one stuck query per scrape onto the pool.
 */
import type { Attributes, Meter } from '@opentelemetry/api';
import type { QueueStats } from '../jobs/types.ts';

/** Tuning of the stats cache; every field has a default. */
export interface QueueStatsCacheOptions {
  /** Reads within this long of a finished query reuse its result (default 1000). */
  readonly ttlMs?: number;
  /** The longest a read waits for the query (default 2000). */
  readonly timeoutMs?: number;
  /** After a failed or timed-out read, the last values are served if younger than this (default 30 000). */
  readonly maxStaleMs?: number;
  /** A query still unsettled after this long is abandoned and a new one may start (default 30 000). */
  readonly abandonAfterMs?: number;
}

/** Why a read got no fresh values. */
export type StatsFailure = 'timeout' | 'error';

interface Counts {
  readonly depth: number;
  readonly active: number;
}

/** One query's result: counts per queue and when they were read. */
export interface QueueSnapshot {
  readonly at: number;
  readonly queues: ReadonlyMap<string, Counts>;
}

interface Flight {
  readonly startedAt: number;
  promise: Promise<QueueSnapshot | null>;
}

const toCount = (value: unknown): number => {
  const n = typeof value === 'number' ? value : Number(value);
  return Number.isFinite(n) && n > 0 ? n : 0;
};

/** The single-flight, TTL-cached, time-boxed stats source behind both gauges. */
export class QueueStatsCache {
  readonly #query: () => Promise<readonly QueueStats[]>;
  readonly #onFailure: (reason: StatsFailure, detail: string) => void;
  readonly #ttlMs: number;
  readonly #timeoutMs: number;
  readonly #maxStaleMs: number;
  readonly #abandonAfterMs: number;
  #snapshot: QueueSnapshot | null = null;
  #flight: Flight | null = null;

  constructor(query: () => Promise<readonly QueueStats[]>, options: QueueStatsCacheOptions, onFailure: (reason: StatsFailure, detail: string) => void) {
    this.#query = query;
    this.#onFailure = onFailure;
    this.#ttlMs = options.ttlMs ?? 1000;
    this.#timeoutMs = options.timeoutMs ?? 2000;
    this.#maxStaleMs = options.maxStaleMs ?? 30_000;
    this.#abandonAfterMs = options.abandonAfterMs ?? 30_000;
  }

  /** Fresh or cached counts, stale ones after a failure, or null; resolves within `timeoutMs`, never rejects. */
  read(): Promise<QueueSnapshot | null> {
    const now = Date.now();
    const cached = this.#snapshot;
    if (cached !== null && now - cached.at < this.#ttlMs) return Promise.resolve(cached);
    const flight = this.#flight !== null && now - this.#flight.startedAt < this.#abandonAfterMs ? this.#flight : this.#start(now);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#onFailure('timeout', `the stats query did not answer within ${this.#timeoutMs} ms`);
        resolve(this.#stale());
      }, this.#timeoutMs);
      timer.unref();
      void flight.promise.then((snapshot) => {
        clearTimeout(timer);
        resolve(snapshot ?? this.#stale());
      });
    });
  }

  #start(now: number): Flight {
    const flight: Flight = { startedAt: now, promise: Promise.resolve(null) };
    this.#flight = flight;
    // Called from a microtask so a query that throws synchronously settles like one that rejects,
    // after #flight is set (a synchronous settle would clear #flight before it was assigned).
    flight.promise = Promise.resolve()
      .then(() => this.#query())
      .then((rows) => snapshotOf(rows, Date.now()))
      .then(
        (snapshot) => (this.#snapshot = snapshot),
        (error: unknown) => {
          this.#onFailure('error', error instanceof Error ? error.message : String(error));
          return null;
        },
      )
      .finally(() => {
        if (this.#flight === flight) this.#flight = null;
      });
    return flight;
  }

  #stale(): QueueSnapshot | null {
    const last = this.#snapshot;
    return last !== null && Date.now() - last.at <= this.#maxStaleMs ? last : null;
  }
}

function snapshotOf(rows: readonly QueueStats[], at: number): QueueSnapshot {
  const queues = new Map<string, Counts>();
  if (!Array.isArray(rows)) throw new TypeError('the stats query must resolve to an array of QueueStats');
  for (const row of rows) {
    if (typeof row?.queue !== 'string') continue;
    // Failed jobs are waiting for their retry: they are part of the backlog.
    queues.set(row.queue, { depth: toCount(row.queued) + toCount(row.failed), active: toCount(row.running) });
  }
  return { at, queues };
}

/**
 * Registers the two gauges on `meter` with one batch callback. Queues known to the caller, and every
 * queue ever reported, are observed with explicit zeros when the query has no row for them, so a
 * drained queue reads 0 instead of vanishing (an absent series reads as "unknown", not "empty").
 */
export function registerQueueGauges(meter: Meter, cache: QueueStatsCache, knownQueues: () => readonly string[], warn: (message: string) => void): void {
  const depth = meter.createObservableGauge('pitboss.queue.depth', {
    description: 'Jobs waiting per queue: queued plus failed awaiting a retry (from the job store).', unit: '{job}',
  });
  const active = meter.createObservableGauge('pitboss.workers.active', {
    description: 'Jobs running per queue (from the job store).', unit: '{job}',
  });
  // One attribute object per queue for the life of the process (STYLE §6).
  const attributes = new Map<string, Attributes>();
  const attributesOf = (queue: string): Attributes => {
    let a = attributes.get(queue);
    if (a === undefined) attributes.set(queue, (a = Object.freeze({ queue })));
    return a;
  };
  let warnedKnownQueues = false;
  meter.addBatchObservableCallback(async (result) => {
    const snapshot = await cache.read();
    if (snapshot === null) return;
    let known: readonly string[] = [];
    try {
      known = knownQueues();
    } catch (error) {
      if (!warnedKnownQueues) warn(`pitboss metrics: knownQueues() threw (${String(error)}); reporting only queues seen in stats`);
      warnedKnownQueues = true;
    }
    for (const queue of snapshot.queues.keys()) attributesOf(queue);
    for (const queue of Array.isArray(known) ? known : []) if (typeof queue === 'string') attributesOf(queue);
    for (const [queue, attrs] of attributes) {
      const counts = snapshot.queues.get(queue);
      result.observe(depth, counts?.depth ?? 0, attrs);
      result.observe(active, counts?.active ?? 0, attrs);
    }
  }, [depth, active]);
}
