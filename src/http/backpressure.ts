/**
 * Backpressure for `POST /jobs`: while a queue has `max` or more waiting jobs (queued or failed
 * awaiting retry, delayed ones included), submissions to it are answered 429 with `Retry-After`,
 * instead of being accepted without bound (527k jobs accepted in 120 s with nothing bounding the
 * queue, /metrics scrape latency growing with it).
 *
 * The check must stay cheap at high submission rates, so it never queries per request: each queue's
 * count is read at most once per `refreshMs` (one shared query, awaited by the requests that find it
 * stale), and the jobs this process admitted since that read are added to it, so a burst inside one
 * interval cannot overshoot the bound by more than other supervisors' admissions.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';

export interface WaitingBoundOptions {
  /** Waiting jobs per queue at which submissions are refused (`PITBOSS_MAX_WAITING_JOBS`). */
  readonly max: number;
  /** Reads the waiting jobs of a queue (the store's `countClaimable`). */
  readonly count: (queue: string) => Promise<number>;
  /** How long a count is trusted (default 1000 ms). */
  readonly refreshMs?: number;
  readonly now?: () => number;
}

/** What a submission to `queue` of `jobs` jobs gets: admitted, or refused with the waiting count. */
export type Admission = { readonly admitted: true } | { readonly admitted: false; readonly waiting: number };

interface QueueCount {
  waiting: number;
  readAt: number;
  admittedSince: number;
  reading: Promise<void> | null;
}

/** The per-queue bound with its cached counts. */
export class WaitingBound {
  readonly #options: WaitingBoundOptions;
  readonly #refreshMs: number;
  readonly #now: () => number;
  readonly #queues = new Map<string, QueueCount>();

  constructor(options: WaitingBoundOptions) {
    this.#options = options;
    this.#refreshMs = options.refreshMs ?? 1000;
    this.#now = options.now ?? Date.now;
  }

  async admit(queue: string, jobs: number): Promise<Admission> {
    let entry = this.#queues.get(queue);
    if (entry === undefined) {
      entry = { waiting: 0, readAt: Number.NEGATIVE_INFINITY, admittedSince: 0, reading: null };
      this.#queues.set(queue, entry);
    }
    if (this.#now() - entry.readAt >= this.#refreshMs) await (entry.reading ??= this.#read(queue, entry));
    const waiting = entry.waiting + entry.admittedSince;
    if (waiting + jobs > this.#options.max) return { admitted: false, waiting };
    entry.admittedSince += jobs;
    return { admitted: true };
  }

  /** Takes back an admission (a multi-queue array refused for another queue): it writes nothing, so it must not count. */
  release(queue: string, jobs: number): void {
    const entry = this.#queues.get(queue);
    if (entry !== undefined) entry.admittedSince = Math.max(0, entry.admittedSince - jobs);
  }

  async #read(queue: string, entry: QueueCount): Promise<void> {
    try {
      entry.waiting = await this.#options.count(queue);
      entry.admittedSince = 0;
    } catch {
      // A store that cannot count cannot take the job either: the enqueue answers that (503 with
      // the reason); refusing here as well would only hide the cause. The last count stays.
    } finally {
      entry.readAt = this.#now();
      entry.reading = null;
    }
  }
}

/** Queue → jobs in a `POST /jobs` body (one job, or an array of jobs). */
function queuesOf(body: unknown): Map<string, number> {
  const jobs = new Map<string, number>();
  for (const item of Array.isArray(body) ? body : [body]) {
    const queue = (item as { queue?: unknown } | null)?.queue;
    if (typeof queue === 'string') jobs.set(queue, (jobs.get(queue) ?? 0) + 1);
  }
  return jobs;
}

/** Seconds a refused client is told to wait: about as long as a backed-up queue takes to move. */
const RETRY_AFTER_S = 5;

/** A preHandler applying the bound to `POST /jobs` (the body is validated by then). */
export function waitingBoundHook(bound: WaitingBound, max: number) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (request.method !== 'POST' || request.routeOptions.url !== '/jobs') return;
    const admitted: [string, number][] = [];
    for (const [queue, jobs] of queuesOf(request.body)) {
      const admission = await bound.admit(queue, jobs);
      if (!admission.admitted) {
        // An array is all or nothing: the queues it was admitted to before this one get nothing either.
        for (const [other, count] of admitted) bound.release(other, count);
        await reply.code(429).header('retry-after', String(RETRY_AFTER_S)).send({
          error: 'too_many_requests',
          reason: `queue ${queue} has ${admission.waiting} waiting jobs, at its bound of ${max} (PITBOSS_MAX_WAITING_JOBS): retry later`,
        });
        return;
      }
      admitted.push([queue, jobs]);
    }
  };
}
