/**
 * Queue depth per minute over the last hour, for the status page's charts. The job record keeps no
 * history of how many jobs waited (a row only knows its current state, and reconstructing depth
 * from created/started timestamps would scan the hour's every job), so depth is sampled: every
 * time the page's shared fleet read counts the queues (at most once a second while someone looks),
 * and otherwise once per `intervalMs` (default a minute) by a timer of its own, so the chart has
 * history when the page is opened. That is at most one `queueStats` read a minute per supervisor
 * when nobody looks: the metrics scrape already reads the same counts more often.
 *
 * Samples are this supervisor's reads of the fleet-wide counts, kept in memory (the last sample of
 * each minute, 60 minutes): a restart starts the depth chart afresh; the finished-job charts come
 * from the store and survive it.
 */
import type { QueueStats } from '../jobs/types.ts';

/** Jobs waiting (queued, or failed and awaiting their retry) and running, at a sample. */
export interface DepthSample {
  readonly waiting: number;
  readonly running: number;
}

const MINUTE_MS = 60_000;
const KEPT_MINUTES = 61;

export class QueueDepthSampler {
  /** Minute start (epoch ms) → queue → the minute's last sample. */
  readonly #minutes = new Map<number, Map<string, DepthSample>>();
  readonly #read: () => Promise<readonly QueueStats[]>;
  readonly #intervalMs: number;
  #lastAt = 0;
  #timer: NodeJS.Timeout | null = null;

  constructor(read: () => Promise<readonly QueueStats[]>, intervalMs = MINUTE_MS) {
    this.#read = read;
    this.#intervalMs = intervalMs;
  }

  /** Keeps counts someone else read (the status page's shared fleet read). */
  record(stats: readonly QueueStats[], at = Date.now()): void {
    const minute = Math.floor(at / MINUTE_MS) * MINUTE_MS;
    const samples = new Map<string, DepthSample>();
    for (const q of stats) samples.set(q.queue, { waiting: q.queued + q.failed, running: q.running });
    this.#minutes.set(minute, samples);
    this.#lastAt = Math.max(this.#lastAt, at);
    for (const kept of this.#minutes.keys()) if (kept <= minute - KEPT_MINUTES * MINUTE_MS) this.#minutes.delete(kept);
  }

  /** Samples now, then every `intervalMs` unless a read was recorded meanwhile. Idempotent. */
  start(): void {
    if (this.#timer !== null) return;
    void this.#sample();
    this.#timer = setInterval(() => {
      if (Date.now() - this.#lastAt >= this.#intervalMs * 0.9) void this.#sample();
    }, this.#intervalMs);
    // The sampler never keeps a process alive on its own.
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** Queues that have a sample in the window. */
  queues(): Set<string> {
    const names = new Set<string>();
    for (const samples of this.#minutes.values()) for (const queue of samples.keys()) names.add(queue);
    return names;
  }

  /** `count` minutes from `fromMs` (a minute start): each minute's sample of `queue`, or null. */
  series(queue: string, fromMs: number, count: number): { waiting: (number | null)[]; running: (number | null)[] } {
    const waiting: (number | null)[] = [];
    const running: (number | null)[] = [];
    for (let i = 0; i < count; i++) {
      const sample = this.#minutes.get(fromMs + i * MINUTE_MS)?.get(queue);
      waiting.push(sample?.waiting ?? null);
      running.push(sample?.running ?? null);
    }
    return { waiting, running };
  }

  async #sample(): Promise<void> {
    // A failed read leaves a gap in the chart; the page's own fleet read reports the store's problem.
    await this.#read().then((stats) => this.record(stats), () => {});
  }
}
