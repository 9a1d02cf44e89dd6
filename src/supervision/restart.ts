/**
 * Restarting after an exit, as OTP's `supervisor:restart/2` does: count it against the intensity, take
 * down the group the strategy names (latest started first), and bring the group back in start order.
 * pitboss adds a backoff wait before the group comes back.
 *
 * A restart is an *episode*: one OTP restart, stretched by the backoff. Its decisions (count, stop the
 * group, claim it, start it) run in the supervisor's mailbox, one at a time, like every other
 * supervisor operation; its wait runs outside it, so a child waiting out a long backoff does not hold
 * up an unrelated child's restart (one_for_one), `terminateChild`, `restartChild` or `stop` — and
 * `stop` cancels the wait at once through the supervisor's AbortSignal.
 *
 * OTP handles one exit at a time and a restart runs to its end before the next exit is looked at.
 * So an exit whose group would take down a child an episode is still bringing back (under
 * rest_for_one, a child started before the episode's trigger) waits until that episode is over, and
 * is then handled like any exit: the group is stopped again and restarted.
 *
 * A start that fails ends the episode. As OTP's `try_again_restart`, the failed child then becomes
 * the trigger of a new restart of its group, counted against the intensity: under one_for_all that
 * stops again the children the failed attempt started; under rest_for_one the children before the
 * failed one stay up. The new episode waits the failed child's next backoff delay.
 */
import type { ChildFailure } from '../errors/classes.ts';
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

/** Failures kept for the report of an intensity failure. */
const keptFailures = 5;

/** An exit put off until the episode it would disturb is over; `ticket` is void once the child is handled by hand. */
interface DeferredExit {
  readonly child: ChildRecord;
  readonly run: ChildRun;
  readonly ticket: object;
}

/** One restart in progress: the group it brings back, and which of its children come back for their own exit. */
class RestartEpisode {
  /**
   * The children that come back for their own exit, with its kind: the trigger, and after a failed
   * attempt also the earlier trigger if it is still down. The others were shut down by the strategy.
   */
  readonly ownExits: ReadonlyMap<ChildRecord, RestartReason>;
  /** `performance.now()` of the exit that caused it (kept across retries: the restart's duration counts from it). */
  readonly since: number;
  /** In start order. */
  readonly members: readonly ChildRecord[];
  /** Exits handled once this episode is over, in the order they happened. */
  readonly deferred: DeferredExit[] = [];

  constructor(ownExits: ReadonlyMap<ChildRecord, RestartReason>, since: number, members: readonly ChildRecord[]) {
    this.ownExits = ownExits;
    this.since = since;
    this.members = members;
  }

  reasonOf(child: ChildRecord): RestartReason {
    return this.ownExits.get(child) ?? 'shutdown';
  }

  /** Whether `child` still waits for this episode to start it (not claimed elsewhere, nor handled by hand). */
  owns(child: ChildRecord): boolean {
    return child.episode === this && child.state === 'restarting';
  }
}

/** Runs the restarts of one supervisor. */
export class Restarter {
  readonly #host: RestartHost;
  readonly #intensity: RestartIntensity;
  readonly #waiting = new Set<Promise<void>>();
  /** Episodes not yet over (waiting or attempting). */
  readonly #active = new Set<RestartEpisode>();
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
   * the restart, stops its group and schedules the group's return — or, when the group would take
   * down a child an episode in progress is bringing back, puts the exit off until that episode is over.
   */
  async restart(trigger: ChildRecord, run: ChildRun): Promise<void> {
    const group = restartGroup(this.#host.strategy, this.#host.children, trigger.index);
    const busy = [...this.#active].find((episode) => group.some((c) => c !== trigger && episode.owns(c)));
    if (busy !== undefined) {
      const ticket = {};
      trigger.episode = ticket;
      trigger.state = 'restarting';
      busy.deferred.push({ child: trigger, run, ticket });
      return;
    }
    const reason = run.exit?.kind ?? 'crash';
    this.#noteFailure(trigger.id, reason === 'crash' ? `crash: ${messageOf(run.exit?.error)}` : reason);
    const { restarts, exceeded } = this.#intensity.record(performance.now());
    if (exceeded) return this.#host.giveUp(restarts, run.exit?.error, trigger.id, this.#failures);
    const delay = trigger.backoff.next(run.endedAt - run.startedAt);
    await this.#restartGroup(trigger, new Map([[trigger, reason]]), run.endedAt, delay);
  }

  /** In the mailbox: stops `trigger`'s group, latest started first, and schedules its return after `delayMs`. */
  async #restartGroup(trigger: ChildRecord, ownExits: ReadonlyMap<ChildRecord, RestartReason>, since: number, delayMs: number): Promise<void> {
    const group = restartGroup(this.#host.strategy, this.#host.children, trigger.index);
    // As OTP's terminate_children: a temporary sibling is stopped for good; every other child of the
    // group comes back, also one that was down (a transient that ended normally, or one stopped by
    // terminateChild), because its spec stays.
    const members = group.filter((c) => c === trigger || c.spec.restart !== 'temporary');
    for (let i = group.length - 1; i >= 0; i--) {
      const sibling = group[i]!;
      if (sibling !== trigger) await sibling.stop();
    }
    if (this.#host.terminating()) return;
    const episode = new RestartEpisode(ownExits, since, members);
    for (const member of members) {
      member.episode = episode;
      member.state = 'restarting';
    }
    this.#active.add(episode);
    const waiting = this.#run(episode, delayMs);
    this.#waiting.add(waiting);
    void waiting.finally(() => this.#waiting.delete(waiting));
  }

  #noteFailure(child: string, error: string): void {
    this.#failures.push({ child, error });
    if (this.#failures.length > keptFailures) this.#failures.shift();
  }

  /** Outside the mailbox: waits out the backoff, then attempts the restart in the mailbox. */
  async #run(episode: RestartEpisode, delayMs: number): Promise<void> {
    try {
      await sleep(delayMs, this.#host.signal);
      await this.#host.mailbox.run(() => this.#attempt(episode));
    } catch (error) {
      // An aborted sleep means the supervisor is stopping: there is nothing left to restart.
      if (!this.#host.signal.aborted) this.#host.crashed(error);
    } finally {
      this.#active.delete(episode);
    }
  }

  /**
   * In the mailbox: starts the episode's children that still wait for it, in start order. On a failed
   * start, counts it and restarts the failed child's group anew (OTP's try_again_restart); then, or
   * once all are up, handles the exits that waited for this episode.
   */
  async #attempt(episode: RestartEpisode): Promise<void> {
    for (const child of episode.members) {
      if (this.#host.terminating()) return;
      if (!episode.owns(child)) continue;
      try {
        await child.start();
      } catch (error) {
        if (this.#host.terminating()) return;
        // OTP counts a failed restart as a restart, so a child that cannot start exhausts the
        // intensity and escalates instead of being retried for ever.
        this.#noteFailure(child.id, `start failed: ${messageOf(error)}`);
        const { restarts, exceeded } = this.#intensity.record(performance.now());
        this.#active.delete(episode);
        if (exceeded) return this.#host.giveUp(restarts, error, child.id, this.#failures);
        // OTP's retry is a message queued behind the exits already waiting: those go first, and one
        // whose group holds the failed child brings it back itself.
        await this.#handleDeferred(episode);
        if (episode.owns(child) && !this.#host.terminating()) {
          const stillDown = new Map([...episode.ownExits].filter(([c]) => episode.owns(c)));
          await this.#restartGroup(child, stillDown, episode.since, child.backoff.next(null));
        }
        return;
      }
      child.episode = null;
      child.restarts++;
      this.#host.events.restarted(child.id, episode.reasonOf(child), performance.now() - episode.since, this.restartsInWindow());
    }
    this.#active.delete(episode);
    await this.#handleDeferred(episode);
  }

  /** In the mailbox: the exits put off while `episode` was in progress, unless handled by hand meanwhile. */
  async #handleDeferred(episode: RestartEpisode): Promise<void> {
    for (const { child, run, ticket } of episode.deferred) {
      if (this.#host.terminating()) return;
      if (child.episode !== ticket || child.state !== 'restarting') continue;
      child.episode = null;
      await this.restart(child, run);
    }
  }
}

/** An exit's error as one line of text (a child may crash with anything). */
function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return error === undefined ? 'no error given' : String(error);
}
