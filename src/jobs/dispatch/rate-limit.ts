/**
 * Per-queue rate limits (`{ max, perMs }`: at most `max` job starts per `perMs`): the one check every
 * place that takes one shares (deployment file, JobSystem options, dispatch), and the window the
 * local dispatcher enforces them with. BullMQ enforces them itself, in Redis, for a whole fleet
 * (bullmq-consumer.ts).
 */
import type { RateLimit } from '../types.ts';

const MAX_STARTS = 1_000_000;
const MAX_WINDOW_MS = 86_400_000;

/** What is wrong with `value` as the rate limit at `key`, as a sentence naming the key; null when it is valid. */
export function rateLimitProblem(key: string, value: unknown): string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return `${key} must be { max, perMs }, got ${JSON.stringify(value)}`;
  const { max, perMs, ...rest } = value as Record<string, unknown>;
  const extra = Object.keys(rest);
  if (extra.length > 0) return `${key} has an unknown key ${extra[0]} (it takes max and perMs)`;
  if (typeof max !== 'number' || !Number.isInteger(max) || max < 1 || max > MAX_STARTS) return `${key}.max must be an integer in 1..${MAX_STARTS}, got ${String(max)}`;
  if (typeof perMs !== 'number' || !Number.isInteger(perMs) || perMs < 1 || perMs > MAX_WINDOW_MS) {
    return `${key}.perMs must be an integer number of milliseconds in 1..${MAX_WINDOW_MS}, got ${String(perMs)}`;
  }
  return null;
}

/**
 * The last `max` starts of one local consumer, as a ring of timestamps: a start is allowed when the
 * oldest of them is at least `perMs` old — a sliding window, so no interval of `perMs` ever holds
 * more than `max` starts.
 */
export class StartWindow {
  readonly #limit: RateLimit;
  readonly #starts: number[] = [];
  #next = 0;

  constructor(limit: RateLimit) {
    this.#limit = limit;
  }

  /** Milliseconds until a start is allowed (0: now). */
  waitMs(now = performance.now()): number {
    if (this.#starts.length < this.#limit.max) return 0;
    return Math.max(0, (this.#starts[this.#next] as number) + this.#limit.perMs - now);
  }

  /** Records a start (the caller checked `waitMs() === 0`). */
  started(now = performance.now()): void {
    if (this.#starts.length < this.#limit.max) this.#starts.push(now);
    else this.#starts[this.#next] = now;
    this.#next = (this.#next + 1) % this.#limit.max;
  }
}
