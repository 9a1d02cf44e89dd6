/** Small helpers for the dispatch tests: job builders, a recording processor, polling. */
import { randomBytes } from 'node:crypto';
import type { DispatchedJob, DispatchJob, DispatchOutcome } from '../../../src/jobs/types.ts';

/** A BullMQ key prefix of its own, so tests sharing one Redis DB never see each other's jobs. */
export const uniquePrefix = (): string => `pbt-${randomBytes(4).toString('hex')}`;

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it returns true; fails after `timeoutMs` naming `what`. */
export async function eventually(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

/** A dispatch job with defaults (priority 0, no delay, 3 attempts). */
export function job(id: string, overrides: Partial<DispatchJob> = {}): DispatchJob {
  return { id, queue: 'q', name: 'work', priority: 0, maxAttempts: 3, backoff: { type: 'fixed', delayMs: 100 }, delayMs: 0, ...overrides };
}

/** A promise with its resolve exposed. */
export function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** One call of a processor, with its start time (performance.now()). */
export interface Delivery {
  readonly job: DispatchedJob;
  readonly at: number;
}

/**
 * A processor that records every delivery and answers with `decide` (default: done). It also tracks
 * how many calls run at once.
 */
export function recorder(decide: (job: DispatchedJob, delivery: number) => Promise<DispatchOutcome> | DispatchOutcome = () => ({ kind: 'done' })) {
  const deliveries: Delivery[] = [];
  let running = 0;
  let maxRunning = 0;
  const process = async (dispatched: DispatchedJob): Promise<DispatchOutcome> => {
    deliveries.push({ job: dispatched, at: performance.now() });
    running++;
    maxRunning = Math.max(maxRunning, running);
    try {
      return await decide(dispatched, deliveries.filter((d) => d.job.id === dispatched.id).length);
    } finally {
      running--;
    }
  };
  return {
    process,
    deliveries,
    ids: (): string[] => deliveries.map((d) => d.job.id),
    of: (id: string): Delivery[] => deliveries.filter((d) => d.job.id === id),
    get maxRunning(): number {
      return maxRunning;
    },
  };
}
