/**
 * What both backends do around a consumer's `process` call: turn whatever it did into an outcome,
 * and count the calls still running so `close(timeoutMs)` can wait for them.
 *
 * A processor that throws (or returns something that is not an outcome) is treated as
 * `{ kind: 'retry', delayMs: failureRetryDelayMs }`: dispatch never drops a job because its
 * processor failed. Only `done` removes a job; the store's attempt counter, checked by the consumer
 * when it claims, is what finally ends a job that keeps failing.
 */
import type { DispatchedJob, DispatchOutcome } from '../types.ts';
import { DispatchError } from '../../errors/classes.ts';

/** An outcome with the retry delay checked and rounded. */
export type SettledOutcome = { readonly kind: 'done' } | { readonly kind: 'retry'; readonly delayMs: number };

/** Receives errors dispatch handles itself (processor failures, backend errors); must not throw. */
export type DispatchErrorHandler = (error: Error) => void;

const DONE: SettledOutcome = Object.freeze({ kind: 'done' });

/** Calls `onError` and swallows anything it throws: reporting must never break dispatch. */
export function report(onError: DispatchErrorHandler, error: unknown): void {
  try {
    onError(error instanceof Error ? error : new Error(String(error)));
  } catch {
    // A broken error handler has nowhere left to report to.
  }
}

function settle(outcome: unknown): SettledOutcome | null {
  if (typeof outcome !== 'object' || outcome === null) return null;
  const { kind, delayMs } = outcome as { kind?: unknown; delayMs?: unknown };
  if (kind === 'done') return DONE;
  if (kind === 'retry' && typeof delayMs === 'number' && !Number.isNaN(delayMs)) {
    // Infinity is a caller bug, but a huge finite delay keeps the job instead of losing it.
    return { kind: 'retry', delayMs: Math.min(Math.max(0, Math.round(delayMs)), 2 ** 31 - 1) };
  }
  return null;
}

/** Runs `process` for one job and returns what dispatch should do next; never rejects. */
export async function runProcessor(
  process: (job: DispatchedJob) => Promise<DispatchOutcome>,
  job: DispatchedJob,
  failureRetryDelayMs: number,
  onError: DispatchErrorHandler,
): Promise<SettledOutcome> {
  const retry: SettledOutcome = { kind: 'retry', delayMs: failureRetryDelayMs };
  let outcome: unknown;
  try {
    outcome = await process(job);
  } catch (error) {
    const message = `queue ${job.queue}: processor threw for job ${job.id}; handing it out again in ${failureRetryDelayMs} ms`;
    report(onError, new DispatchError('PITBOSS_DISPATCH_PROCESSOR_FAILED', message, { cause: error }));
    return retry;
  }
  const settled = settle(outcome);
  if (settled !== null) return settled;
  const message = `queue ${job.queue}: processor returned ${JSON.stringify(outcome) ?? String(outcome)} for job ${job.id}, not a DispatchOutcome; handing it out again in ${failureRetryDelayMs} ms`;
  report(onError, new DispatchError('PITBOSS_DISPATCH_PROCESSOR_FAILED', message));
  return retry;
}

/** Counts running processor calls and lets `close` wait until there are none. */
export class InFlight {
  #count = 0;
  #idleWaiters: (() => void)[] = [];

  get size(): number {
    return this.#count;
  }

  /** Marks one call as started; the returned function marks it finished (call it exactly once). */
  begin(): () => void {
    this.#count++;
    return () => {
      this.#count--;
      if (this.#count > 0 || this.#idleWaiters.length === 0) return;
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const wake of waiters) wake();
    };
  }

  /** Resolves true once nothing is in flight, or false when `timeoutMs` passes first (no limit when undefined). */
  drained(timeoutMs?: number): Promise<boolean> {
    if (this.#count === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | null = null;
      const wake = (): void => {
        if (timer !== null) clearTimeout(timer);
        resolve(true);
      };
      this.#idleWaiters.push(wake);
      if (timeoutMs === undefined) return;
      timer = setTimeout(() => {
        this.#idleWaiters = this.#idleWaiters.filter((w) => w !== wake);
        resolve(false);
      }, timeoutMs);
    });
  }
}
