/**
 * The check both rate-limit tests (conformance, fleet) make of recorded job starts: no stretch
 * between two starts holds more than the limit allows. BullMQ's limiter counts in fixed windows of
 * `perMs` (each begun by the first start after the last ended), the local one in a sliding window;
 * both allow at most `max` per window begun, and windows begin at least `perMs` apart, so a stretch
 * of `span` ms holds at most `max * (floor(span / perMs) + 1)` starts. `jitterMs` covers the time
 * between the hand-out a limiter counts and the `job.start` event the test times (the claim's group
 * commit between them: seen up to ~200 ms on a loaded 2-core machine).
 */
import type { RateLimit } from '../../../src/jobs/types.ts';

export const START_JITTER_MS = 250;

/** The first stretch of starts over the limit, or null when there is none. */
export function worstOverrun(startsAt: readonly number[], limit: RateLimit, jitterMs = START_JITTER_MS): { count: number; allowed: number; spanMs: number } | null {
  const sorted = [...startsAt].sort((a, b) => a - b);
  for (let i = 0; i < sorted.length; i++) {
    for (let j = i; j < sorted.length; j++) {
      const spanMs = sorted[j]! - sorted[i]!;
      const allowed = limit.max * (Math.floor((spanMs + jitterMs) / limit.perMs) + 1);
      if (j - i + 1 > allowed) return { count: j - i + 1, allowed, spanMs };
    }
  }
  return null;
}
