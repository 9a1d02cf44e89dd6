/** When a failed attempt runs again: the job's backoff policy applied to the attempt that failed. */
import type { BackoffPolicy } from './types.ts';

/** Cap on any single retry wait, so a long exponential chain stays operable. */
const maxRetryDelayMs = 60 * 60_000;

/** Delay before the attempt after `failedAttempt` (1-based): fixed, or doubling per attempt. */
export function retryDelayMs(backoff: BackoffPolicy, failedAttempt: number): number {
  const delay = backoff.type === 'fixed' ? backoff.delayMs : backoff.delayMs * 2 ** Math.max(0, failedAttempt - 1);
  return Math.min(maxRetryDelayMs, Math.max(0, Math.round(delay)));
}
