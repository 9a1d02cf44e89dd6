/**
 * `GET /status/history`: the status page's charts of the last hour, per queue and minute — jobs
 * completed and failed, p50/p95 duration of the completed ones (from the store, fleet-wide) and
 * queue depth (sampled by this supervisor, queue-depth-sampler.ts).
 *
 * Cost is bounded three ways. Each store read range-scans existing indexes and takes at most a
 * capped number of rows (sql/history.ts), so no read holds the store long (on the embedded store,
 * one connection, a long read would hold up claims and finishes). Minutes that are over do not
 * change, so they are read once and kept here; each later read takes only the minutes since (one
 * or two). After a start the hour is read a cap at a time, oldest first, across shared reads. And
 * one read is shared by every viewer for SHARED_READ_MS, like `/status/data`: ten open tabs cost
 * the database what one does.
 */
import type { FinishedHistory, FinishedMinute } from '../jobs/store/history.ts';
import { redactUrl } from '../log/redact-url.ts';
import type { QueueDepthSampler } from './queue-depth-sampler.ts';

const MINUTE_MS = 60_000;
const WINDOW_MINUTES = 60;
const SHARED_READ_MS = 5000;

/** One queue's last hour, minute by minute (index 0 is `from`). */
interface QueueHistory {
  readonly queue: string;
  readonly completed: number[];
  readonly failed: number[];
  readonly p50Ms: (number | null)[];
  readonly p95Ms: (number | null)[];
  readonly waiting: (number | null)[];
  readonly running: (number | null)[];
}

/** The body of `GET /status/history`. */
export interface StatusHistory {
  readonly generatedAt: string;
  /** The first minute's start; minutes are `minuteMs` apart, `minutes` of them. */
  readonly from: string;
  readonly minuteMs: number;
  readonly minutes: number;
  readonly queues: readonly QueueHistory[];
  /** Minutes (indexes) whose finished jobs were counted in part: a read reached its row cap there. */
  readonly partial: readonly number[];
  readonly problems: readonly string[];
}

export interface HistorySources {
  /** The store's read (store.overview.history) from `since`: minutes that are over only, or on to now. */
  readonly finished: (read: { since: Date | null; closedOnly: boolean }) => Promise<FinishedHistory>;
  readonly depth: QueueDepthSampler;
  /** Queues the deployment configures: charted even before they ran anything. */
  readonly knownQueues: readonly string[];
}

const floorMinute = (ms: number): number => Math.floor(ms / MINUTE_MS) * MINUTE_MS;
const messageOf = (error: unknown): string => redactUrl(error instanceof Error ? error.message : String(error)).slice(0, 300);
const lastMinute = (rows: readonly FinishedMinute[]): number => Math.max(...rows.map((r) => r.minute.getTime()));
const clockOf = (ms: number): string => new Date(ms).toISOString().slice(11, 16);

/** The minutes that are over, read once each, and the shared read in flight. */
export class FinishedHistoryCache {
  readonly #sources: HistorySources;
  /** Minute start → rows of that minute (minutes that are over only). */
  readonly #closed = new Map<number, FinishedMinute[]>();
  /** Kept minutes that held more jobs than one read takes (counted in part). */
  readonly #partial = new Set<number>();
  /** The first minute not kept; null before the first read. */
  #closedUntil: number | null = null;
  #shared: { at: number; read: Promise<StatusHistory> } | null = null;

  constructor(sources: HistorySources) {
    this.#sources = sources;
  }

  /** The history, from a read at most SHARED_READ_MS old. */
  read(): Promise<StatusHistory> {
    const now = Date.now();
    if (this.#shared === null || now - this.#shared.at >= SHARED_READ_MS) this.#shared = { at: now, read: this.#read() };
    return this.#shared.read;
  }

  async #read(): Promise<StatusHistory> {
    const problems: string[] = [];
    const partial = new Set(this.#partial);
    let open: readonly FinishedMinute[] = [];
    let windowEnd = floorMinute(Date.now());
    try {
      const closed = await this.#sources.finished({ since: this.#closedUntil === null ? null : new Date(this.#closedUntil), closedOnly: true });
      windowEnd = floorMinute(closed.now.getTime());
      const windowStart = closed.windowStart.getTime();
      const from = Math.max(this.#closedUntil ?? windowStart, windowStart);
      let rows = closed.minutes;
      let until = closed.closedUntil.getTime();
      if (closed.capped && rows.length > 0) {
        const last = lastMinute(rows);
        if (last > from) {
          // Catching up: the last minute read is incomplete; it is read again, whole, next time.
          rows = rows.filter((r) => r.minute.getTime() < last);
          until = last;
          problems.push(`catching up on the hour's finished jobs: minutes from ${clockOf(last)} UTC are not counted yet`);
        } else {
          // One minute alone holds more than a read takes: keep what was counted, and say so.
          this.#partial.add(last);
          partial.add(last);
          until = last + MINUTE_MS;
        }
      }
      for (const row of rows) {
        const minute = row.minute.getTime();
        this.#closed.set(minute, [...(this.#closed.get(minute) ?? []), row]);
      }
      for (const minute of this.#closed.keys()) if (minute < windowStart) this.#closed.delete(minute);
      for (const minute of this.#partial) if (minute < windowStart) this.#partial.delete(minute);
      this.#closedUntil = Math.max(until, windowStart);
      if (!closed.capped) {
        // The minutes since (one or two): read every time, bounded by the cap, never kept.
        const recent = await this.#sources.finished({ since: new Date(this.#closedUntil), closedOnly: false });
        windowEnd = floorMinute(recent.now.getTime());
        open = recent.minutes;
        if (recent.capped && open.length > 0) partial.add(lastMinute(open));
      }
    } catch (error) {
      // The minutes already kept are still true; the recent ones are missing, and the page says so.
      problems.push(`finished-job history unavailable: ${messageOf(error)}`);
    }
    if (partial.size > 0) problems.push('more jobs finished in some minutes than one read counts: those minutes are counted in part');
    return this.#assemble(windowEnd, open, partial, problems);
  }

  #assemble(windowEnd: number, open: readonly FinishedMinute[], partial: ReadonlySet<number>, problems: string[]): StatusHistory {
    const from = windowEnd - (WINDOW_MINUTES - 1) * MINUTE_MS;
    const byQueue = new Map<string, QueueHistory>();
    const queueOf = (queue: string): QueueHistory => {
      let history = byQueue.get(queue);
      if (history === undefined) {
        const zeros = () => new Array<number>(WINDOW_MINUTES).fill(0);
        const nulls = () => new Array<number | null>(WINDOW_MINUTES).fill(null);
        const depth = this.#sources.depth.series(queue, from, WINDOW_MINUTES);
        history = { queue, completed: zeros(), failed: zeros(), p50Ms: nulls(), p95Ms: nulls(), ...depth };
        byQueue.set(queue, history);
      }
      return history;
    };
    const index = (minute: number): number => (minute - from) / MINUTE_MS;
    const inWindow = (i: number): boolean => i >= 0 && i < WINDOW_MINUTES;
    for (const queue of [...this.#sources.knownQueues, ...this.#sources.depth.queues()]) queueOf(queue);
    for (const row of [...[...this.#closed.values()].flat(), ...open]) {
      const i = index(row.minute.getTime());
      if (!inWindow(i)) continue;
      const history = queueOf(row.queue);
      history.completed[i] = row.completed;
      history.failed[i] = row.failed;
      history.p50Ms[i] = row.p50Ms;
      history.p95Ms[i] = row.p95Ms;
    }
    const queues = [...byQueue.values()].sort((a, b) => a.queue.localeCompare(b.queue));
    return {
      generatedAt: new Date().toISOString(), from: new Date(from).toISOString(), minuteMs: MINUTE_MS, minutes: WINDOW_MINUTES, queues,
      partial: [...partial].map(index).filter(inWindow).sort((a, b) => a - b), problems,
    };
  }
}
