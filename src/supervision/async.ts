/**
 * The three asynchronous primitives supervision is built from: a mailbox that runs operations one
 * at a time (an Erlang supervisor handles one message at a time, which is what makes its ordering
 * guarantees easy to reason about), an abortable sleep and a bounded wait. Timers come from
 * `node:timers/promises`, whose AbortSignal support cancels them without bookkeeping.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { MAX_TIMER_MS } from './spec.ts';

const noop = (): void => {};

/** Runs operations strictly one after another, in the order they were posted. */
export class Mailbox {
  #tail: Promise<void> = Promise.resolve();

  /** Queues `op` behind every operation posted before it; settles with its outcome. */
  run<T>(op: () => Promise<T> | T): Promise<T> {
    const result = this.#tail.then(op);
    this.#tail = result.then(noop, noop);
    return result;
  }
}

/** Waits `ms`; rejects with the signal's reason as soon as `signal` aborts. */
export async function sleep(ms: number, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted();
  if (ms <= 0) return;
  await delay(Math.min(ms, MAX_TIMER_MS), undefined, { signal });
}

/** What `within` returns when the time ran out (or the wait was cut short). */
export const TIMED_OUT: unique symbol = Symbol('timed out');

/**
 * Waits for `promise` at most `ms` (`Infinity`: no limit), and not at all once `cutShort` aborts.
 * `promise` must not reject.
 */
export async function within<T>(promise: Promise<T>, ms: number, cutShort?: AbortSignal): Promise<T | typeof TIMED_OUT> {
  if (cutShort?.aborted === true) return TIMED_OUT;
  const timer = new AbortController();
  const stopTimer = (): void => timer.abort();
  cutShort?.addEventListener('abort', stopTimer, { once: true });
  const expiry: Promise<typeof TIMED_OUT> =
    ms > MAX_TIMER_MS
      ? new Promise((resolve) => timer.signal.addEventListener('abort', () => resolve(TIMED_OUT), { once: true }))
      : delay(ms, TIMED_OUT, { signal: timer.signal }).catch(() => TIMED_OUT);
  try {
    return await Promise.race([promise, expiry]);
  } finally {
    // Clears the pending timer so a finished wait does not hold the event loop open.
    timer.abort();
    cutShort?.removeEventListener('abort', stopTimer);
  }
}
