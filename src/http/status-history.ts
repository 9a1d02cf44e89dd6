/**
 * `GET /status/history`: the status page's charts of the last hour, per queue and minute — jobs
 * completed and failed, p50/p95 duration of the completed ones (from the store, fleet-wide) and
 * queue depth (sampled by this supervisor, queue-depth-sampler.ts).
 *
 * Cost is bounded three ways. The store read range-scans existing indexes over at most an hour of
 * finished jobs (sql/history.ts). Minutes that are over do not change, so they are kept here and
 * each later read asks only for the minutes since (one or two). And one read is shared by every
 * viewer for SHARED_READ_MS, like `/status/data`: ten open tabs cost the database what one does.
 */
import type { FinishedHistory, FinishedMinute } from '../jobs/store/history.ts';
import { redactUrl } from '../log/redact-url.ts';
import type { QueueDepthSampler } from './queue-depth-sampler.ts';

const MINUTE_MS = 60_000;
const WINDOW_MINUTES = 60;
const SHARED_READ_MS = 5000;
/**
 * A minute is taken as over this long after it ended by the database clock: a finish is stamped
 * with its transaction's start (now()), and a group-committed batch commits a little later.
 */
const SETTLE_MS = 15_000;

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
  readonly problems: readonly string[];
}

export interface HistorySources {
  /** The store's read (store.overview.history) from `since`. */
  readonly finished: (since: Date | null) => Promise<FinishedHistory>;
  readonly depth: QueueDepthSampler;
  /** Queues the deployment configures: charted even before they ran anything. */
  readonly knownQueues: readonly string[];
  /** Rows one store read may return (default 3000); a read that fills it is not cached. */
  readonly rowLimit?: number;
}

const floorMinute = (ms: number): number => Math.floor(ms / MINUTE_MS) * MINUTE_MS;
const messageOf = (error: unknown): string => redactUrl(error instanceof Error ? error.message : String(error)).slice(0, 300);

/** The closed minutes read so far, and the shared read in flight. */
export class FinishedHistoryCache {
  readonly #sources: HistorySources;
  /** Minute start → rows of that minute (closed minutes only). */
  readonly #closed = new Map<number, FinishedMinute[]>();
  /** The first minute not cached as closed; null before the first read. */
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
    let open: FinishedMinute[] = [];
    let windowEnd: number;
    try {
      const since = this.#closedUntil === null ? null : new Date(this.#closedUntil);
      const read = await this.#sources.finished(since);
      windowEnd = floorMinute(read.now.getTime());
      const windowStart = read.windowStart.getTime();
      const closedUntil = floorMinute(read.now.getTime() - SETTLE_MS);
      const complete = read.minutes.length < (this.#sources.rowLimit ?? 3000);
      if (!complete) problems.push('more queue-minutes finished than one history read returns: the charts show part of them');
      for (const row of read.minutes) {
        const minute = row.minute.getTime();
        if (complete && minute < closedUntil) {
          const rows = this.#closed.get(minute) ?? [];
          rows.push(row);
          this.#closed.set(minute, rows);
        } else open.push(row);
      }
      for (const minute of this.#closed.keys()) if (minute < windowStart) this.#closed.delete(minute);
      if (complete) this.#closedUntil = Math.max(closedUntil, windowStart);
    } catch (error) {
      // The minutes already held are still true; the recent ones are missing, and the page says so.
      problems.push(`finished-job history unavailable: ${messageOf(error)}`);
      windowEnd = floorMinute(Date.now());
      open = [];
    }
    return this.#assemble(windowEnd, open, problems);
  }

  #assemble(windowEnd: number, open: readonly FinishedMinute[], problems: string[]): StatusHistory {
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
    for (const queue of [...this.#sources.knownQueues, ...this.#sources.depth.queues()]) queueOf(queue);
    for (const row of [...[...this.#closed.values()].flat(), ...open]) {
      const i = (row.minute.getTime() - from) / MINUTE_MS;
      if (i < 0 || i >= WINDOW_MINUTES) continue;
      const history = queueOf(row.queue);
      history.completed[i] = row.completed;
      history.failed[i] = row.failed;
      history.p50Ms[i] = row.p50Ms;
      history.p95Ms[i] = row.p95Ms;
    }
    const queues = [...byQueue.values()].sort((a, b) => a.queue.localeCompare(b.queue));
    return { generatedAt: new Date().toISOString(), from: new Date(from).toISOString(), minuteMs: MINUTE_MS, minutes: WINDOW_MINUTES, queues, problems };
  }
}
