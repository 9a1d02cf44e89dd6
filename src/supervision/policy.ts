/**
 * The pure rules of supervision, kept apart from the machinery so they can be read (and tested)
 * against OTP's and pm2's documentation: which exits restart, which siblings restart with a child,
 * when a crash loop is a crash loop, and how long to wait before the next attempt.
 */
import type { NormalizedBackoff } from './spec.ts';
import type { ChildExitKind, RestartType, Strategy } from './types.ts';

/** OTP: permanent children always restart, transient ones only after a crash, temporary ones never. */
export function shouldRestart(restart: RestartType, exit: ChildExitKind): boolean {
  if (restart === 'permanent') return true;
  return restart === 'transient' && exit === 'crash';
}

/**
 * The children (in start order) a restart of the child at `index` takes down and brings back up:
 * just it, everything, or it and everything started after it.
 */
export function restartGroup<T>(strategy: Strategy, children: readonly T[], index: number): T[] {
  if (strategy === 'one_for_all') return [...children];
  if (strategy === 'rest_for_one') return children.slice(index);
  const child = children[index];
  return child === undefined ? [] : [child];
}

/**
 * The delay before restart attempt number `streak + 1` of a failure streak: `initialMs × factor^streak`,
 * capped at `maxMs` (0 without backoff).
 */
export function backoffDelay(backoff: NormalizedBackoff | null, streak: number): number {
  if (backoff === null) return 0;
  return Math.min(Math.round(backoff.initialMs * backoff.factor ** streak), backoff.maxMs);
}

/**
 * One child's consecutive-failure streak. A crash after a run of at least `resetAfterMs` counts as a
 * fresh start (pm2 resets its restart delay once the app stayed up long enough); a failed start
 * never resets, because the child never ran.
 */
export class BackoffStreak {
  readonly #backoff: NormalizedBackoff | null;
  #streak = 0;
  /** The delay chosen for the latest failure. */
  lastDelayMs = 0;

  constructor(backoff: NormalizedBackoff | null) {
    this.#backoff = backoff;
  }

  /** Records a failure and returns how long to wait before the next start attempt. */
  next(ranMs: number | null): number {
    if (this.#backoff === null) return 0;
    if (ranMs !== null && ranMs >= this.#backoff.resetAfterMs) this.#streak = 0;
    this.lastDelayMs = backoffDelay(this.#backoff, this.#streak);
    this.#streak++;
    return this.lastDelayMs;
  }
}

/**
 * Restart intensity as in OTP: a sliding window of restart times. More than `maxRestarts` within
 * `periodMs` means restarting is not helping, and the supervisor must give up and escalate.
 */
export class RestartIntensity {
  readonly #maxRestarts: number;
  readonly #periodMs: number;
  #times: number[] = [];

  constructor(maxRestarts: number, periodMs: number) {
    this.#maxRestarts = maxRestarts;
    this.#periodMs = periodMs;
  }

  /** Counts a restart at `now` (monotonic ms); returns the restarts in the window and whether that is too many. */
  record(now: number): { restarts: number; exceeded: boolean } {
    const restarts = this.count(now) + 1;
    this.#times.push(now);
    return { restarts, exceeded: restarts > this.#maxRestarts };
  }

  /** Restarts within the window ending at `now`. */
  count(now: number): number {
    const since = now - this.#periodMs;
    // Times are appended in order, so the expired ones are a prefix.
    let expired = 0;
    while (expired < this.#times.length && this.#times[expired]! <= since) expired++;
    if (expired > 0) this.#times = this.#times.slice(expired);
    return this.#times.length;
  }
}
