/**
 * Restarting after an exit: counting it against the intensity, taking down the siblings the strategy
 * names, waiting out the backoff, and bringing the group back in start order.
 *
 * A restart is an *episode*. Its decisions (count, stop siblings, claim the group, start attempts) run
 * in the supervisor's mailbox, one at a time, like every other supervisor operation; its waits (the
 * backoff between attempts) run outside it, so a child waiting out a long backoff does not hold up
 * the restart of an unrelated child (one_for_one), `terminateChild`, `restartChild` or `stop` —
 * and `stop` cancels the wait at once through the supervisor's AbortSignal.
 *
 * Each waiting child points at the episode that owns it. A later crash whose group overlaps (a
 * rest_for_one child before it, any child under one_for_all) claims those children for its own
 * episode; the older episode then finds nothing left to start. That keeps start order intact when
 * exits interleave with backoffs, without cancelling anything.
 */
import { sleep, type Mailbox } from './async.ts';
import type { ChildRecord, ChildRun } from './child.ts';
import type { RestartReason, SupervisorEvents } from './events.ts';
import { restartGroup, RestartIntensity } from './policy.ts';
import type { Strategy } from './types.ts';

/** What the restarter needs from its supervisor. */
export interface RestartHost {
  readonly strategy: Strategy;
  readonly children: readonly ChildRecord[];
  readonly mailbox: Mailbox;
  readonly events: SupervisorEvents;
  /** Aborted once the supervisor stops or fails. */
  readonly signal: AbortSignal;
  /** Whether the supervisor is stopping or failing (nothing may restart). */
  terminating(): boolean;
  /** Intensity exceeded by `child`'s exit or failed restart: stop everything and fail. Runs in the mailbox. */
  giveUp(restarts: number, cause: unknown, child: string, failures: readonly ChildFailure[]): Promise<void>;
  /** A bug in supervision itself; fails the supervisor rather than leaving a rejection unhandled. */
  crashed(error: unknown): void;
}

/** A child's exit or failed restart, as an intensity failure reports it. */
export interface ChildFailure {
  readonly child: string;
  /** `crash: <message>`, `start failed: <message>`, `normal` or `shutdown`. */
  readonly error: string;
}

/** Failures kept for the report of an intensity failure. */
const keptFailures = 5;

/** One pending restart: the child whose exit caused it and the group it brings back. */
class RestartEpisode {
  readonly trigger: ChildRecord;
  readonly reason: RestartReason;
  /** `performance.now()` of the exit that caused it. */
  readonly since: number;
  /** In start order. */
  readonly members: readonly ChildRecord[];

  constructor(trigger: ChildRecord, reason: RestartReason, since: number, members: readonly ChildRecord[]) {
    this.trigger = trigger;
    this.reason = reason;
    this.since = since;
    this.members = members;
  }
}

/** Runs the restarts of one supervisor. */
export class Restarter {
  readonly #host: RestartHost;
  readonly #intensity: RestartIntensity;
  readonly #waiting = new Set<Promise<void>>();
  /** The latest exits and failed restarts, newest last: the "why" of an intensity failure. */
  readonly #failures: ChildFailure[] = [];

  constructor(host: RestartHost, maxRestarts: number, periodMs: number) {
    this.#host = host;
    this.#intensity = new RestartIntensity(maxRestarts, periodMs);
  }

  /** Restarts in the current intensity window. */
  restartsInWindow(): number {
    return this.#intensity.count(performance.now());
  }

  /** Resolves once no episode is waiting or running (after a stop, they end promptly). */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.#waiting]);
  }

  /**
   * In the mailbox: `trigger` ended on its own with `run`, and its restart type says restart. Counts
   * the restart, stops the siblings of its group (latest started first) and schedules the group.
   */
  async restart(trigger: ChildRecord, run: ChildRun): Promise<void> {
    const reason = run.exit?.kind ?? 'crash';
    this.#noteFailure(trigger.id, reason === 'crash' ? `crash: ${messageOf(run.exit?.error)}` : reason);
    const { restarts, exceeded } = this.#intensity.record(performance.now());
    if (exceeded) return this.#host.giveUp(restarts, run.exit?.error, trigger.id, this.#failures);
    const delay = trigger.backoff.next(run.endedAt - run.startedAt);
    const group = restartGroup(this.#host.strategy, this.#host.children, trigger.index);
    // Siblings come back only if they were up (or about to be): a temporary one, or one that ended
    // for good or was terminated by hand, stays down.
    const members = group.filter(
      (c) => c === trigger || (c.spec.restart !== 'temporary' && (c.run !== null || c.state === 'restarting')),
    );
    for (let i = group.length - 1; i >= 0; i--) {
      const sibling = group[i]!;
      if (sibling !== trigger) await sibling.stop();
    }
    if (this.#host.terminating()) return;
    const episode = new RestartEpisode(trigger, reason, run.endedAt, members);
    for (const member of members) {
      member.episode = episode;
      member.state = 'restarting';
    }
    const waiting = this.#run(episode, delay);
    this.#waiting.add(waiting);
    void waiting.finally(() => this.#waiting.delete(waiting));
  }

  #noteFailure(child: string, error: string): void {
    this.#failures.push({ child, error });
    if (this.#failures.length > keptFailures) this.#failures.shift();
  }

  /** Outside the mailbox: wait, attempt, and wait again after each failed attempt. */
  async #run(episode: RestartEpisode, delayMs: number): Promise<void> {
    try {
      let delay: number | null = delayMs;
      while (delay !== null) {
        await sleep(delay, this.#host.signal);
        delay = await this.#host.mailbox.run(() => this.#attempt(episode));
      }
    } catch (error) {
      // An aborted sleep means the supervisor is stopping: there is nothing left to restart.
      if (!this.#host.signal.aborted) this.#host.crashed(error);
    }
  }

  /**
   * In the mailbox: starts the episode's children that are still waiting, in start order. Returns
   * the delay before the next attempt when one fails to start, null when the episode is over.
   */
  async #attempt(episode: RestartEpisode): Promise<number | null> {
    for (const child of episode.members) {
      if (this.#host.terminating()) return null;
      // Claimed by a later episode, or started/terminated by hand meanwhile.
      if (child.episode !== episode || child.state !== 'restarting') continue;
      try {
        await child.start();
      } catch (error) {
        if (this.#host.terminating()) return null;
        // OTP counts a failed restart as a restart, so a child that cannot start exhausts the
        // intensity and escalates instead of being retried for ever.
        this.#noteFailure(child.id, `start failed: ${messageOf(error)}`);
        const { restarts, exceeded } = this.#intensity.record(performance.now());
        if (exceeded) {
          await this.#host.giveUp(restarts, error, child.id, this.#failures);
          return null;
        }
        return child.backoff.next(null);
      }
      child.episode = null;
      child.restarts++;
      const reason: RestartReason = child === episode.trigger ? episode.reason : 'shutdown';
      this.#host.events.restarted(child.id, reason, performance.now() - episode.since, this.restartsInWindow());
    }
    return null;
  }
}

/** An exit's error as one line of text (a child may crash with anything). */
function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return error === undefined ? 'no error given' : String(error);
}
